//! The buffer of a channel: a FIFO of blocks that one producer and one
//! consumer use at the same time.
//!
//! The channel serializes its producers with one lock and its consumers with
//! another (the two-lock queue of Michael and Scott, with blocks of slots in
//! place of nodes, as crossbeam's list flavor lays them out). So this queue
//! only has to be correct for one `push` racing one `pop`:
//!
//! - `tail` is written only by the producer, `head` only by the consumer. The
//!   producer writes a slot, then publishes it with a `Release` store of
//!   `tail`; the consumer reads `tail` with `Acquire` before it reads the slot.
//!   The consumer frees a slot with a `Release` store of `head`, which the
//!   producer reads (`Acquire`) only to count the values in flight.
//! - A full block links its successor (`next`, `Release`) before the first
//!   index of the successor is published, so a consumer that reaches that
//!   index finds the link. The consumer frees a block once it has moved past
//!   it: the producer moved past it earlier and never looks back.
//! - One spent block is kept for the producer's next allocation, so a channel
//!   that hovers around a block boundary does not allocate per message.

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr;

/// `value`, then 64 bytes that nothing else occupies: fields on either side
/// of it never share a cache line, so one side's writes do not evict what
/// the other side reads. Padding rather than `CachePadded`'s 128-byte
/// alignment, which makes every channel an over-aligned allocation
/// (glibc's slow `memalign` path: measured 25% slower skynet_1m, whose tasks
/// each make a channel).
#[repr(C)]
pub(crate) struct Padded<T> {
    value: T,
    _pad: [u8; 64],
}

impl<T> Padded<T> {
    pub(crate) const fn new(value: T) -> Padded<T> {
        Padded {
            value,
            _pad: [0; 64],
        }
    }
}

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Slots per block, a power of two so that an index splits with a mask.
/// A block is one allocation; the first is made by the first push, so an
/// unused channel allocates no buffer.
const LAP: usize = 32;

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [UnsafeCell<MaybeUninit<T>>; LAP],
}

impl<T> Block<T> {
    fn alloc() -> *mut Block<T> {
        // On the heap directly: a block of large values would not fit the stack.
        let mut block = Box::<Block<T>>::new_uninit();
        // SAFETY: `next` is written before `assume_init`; the slots are
        // `MaybeUninit`, for which uninitialized memory is a valid value.
        unsafe {
            std::ptr::addr_of_mut!((*block.as_mut_ptr()).next)
                .write(AtomicPtr::new(ptr::null_mut()));
            Box::into_raw(block.assume_init())
        }
    }
}

/// One end of the queue: its index and the block that holds that index.
struct End<T> {
    index: AtomicUsize,
    /// Owned by the side that moves this end (producer or consumer).
    block: Cell<*mut Block<T>>,
    /// The other end's index as this side last read it, owned by this side.
    /// It only lags, so it can only understate the room (producer) or the
    /// values (consumer): each side reads the other's line only when its
    /// copy says full or empty (the index caching of SPSC ring buffers).
    other: Cell<usize>,
}

// `repr(C)`: the spare-block pointers, which both ends swap once per block,
// come after the padded ends, off their lines.
#[repr(C)]
pub(crate) struct Queue<T> {
    head: Padded<End<T>>,
    tail: Padded<End<T>>,
    /// A spent block for the producer to reuse (null if none).
    spare: AtomicPtr<Block<T>>,
    /// The first block, published by the first push for the consumer.
    first: AtomicPtr<Block<T>>,
}

// SAFETY: the queue owns its values (moved in by `push`, out by `pop`), so it
// may move to or be shared with another thread when `T: Send`; the callers of
// `push` and `pop` serialize each side (see their contracts), and the blocks'
// `Cell`s are touched only by the side that owns them.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Queue<T> {
    pub(crate) fn new() -> Queue<T> {
        Queue {
            head: Padded::new(End {
                index: AtomicUsize::new(0),
                block: Cell::new(ptr::null_mut()),
                other: Cell::new(0),
            }),
            tail: Padded::new(End {
                index: AtomicUsize::new(0),
                block: Cell::new(ptr::null_mut()),
                other: Cell::new(0),
            }),
            spare: AtomicPtr::new(ptr::null_mut()),
            first: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The number of values in the queue. Exact for a caller that is the
    /// producer or the consumer; a snapshot for anyone else.
    pub(crate) fn len(&self) -> usize {
        let head = self.head.index.load(Ordering::Acquire);
        let tail = self.tail.index.load(Ordering::Acquire);
        tail.wrapping_sub(head)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if fewer than `cap` values are in the queue.
    ///
    /// # Safety
    ///
    /// The caller is the only producer until it returns.
    #[inline]
    pub(crate) unsafe fn has_room(&self, cap: usize) -> bool {
        let tail = self.tail.index.load(Ordering::Relaxed);
        if tail.wrapping_sub(self.tail.other.get()) < cap {
            return true;
        }
        let head = self.head.index.load(Ordering::Acquire);
        self.tail.other.set(head);
        tail.wrapping_sub(head) < cap
    }

    /// Appends `value`.
    ///
    /// # Safety
    ///
    /// The caller is the only producer until it returns (it holds the lock
    /// that serializes the channel's senders).
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) {
        let tail = self.tail.index.load(Ordering::Relaxed);
        let offset = tail % LAP;
        if offset == 0 {
            // The tail block is full (or there is none yet): link a fresh
            // one before publishing any of its indices.
            let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
            let next = if spare.is_null() {
                Block::alloc()
            } else {
                // SAFETY: a spare block is owned by whoever took it out of
                // `spare`; its slots hold no values.
                unsafe { (*spare).next.store(ptr::null_mut(), Ordering::Relaxed) };
                spare
            };
            if tail == 0 {
                self.first.store(next, Ordering::Release);
            } else {
                let block = self.tail.block.get();
                // SAFETY: the producer's block is live until the consumer
                // moves past it, which it cannot do before this link is
                // published.
                unsafe { (*block).next.store(next, Ordering::Release) };
            }
            self.tail.block.set(next);
        }
        let block = self.tail.block.get();
        // SAFETY: slot `offset` of the tail block is beyond `tail`, so the
        // consumer does not read it until the store below publishes it.
        unsafe { (*(*block).slots[offset].get()).write(value) };
        self.tail
            .index
            .store(tail.wrapping_add(1), Ordering::Release);
    }

    /// Takes the oldest value.
    ///
    /// # Safety
    ///
    /// The caller is the only consumer until it returns (it holds the lock
    /// that serializes the channel's receivers).
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let head = self.head.index.load(Ordering::Relaxed);
        if head == self.head.other.get() {
            let tail = self.tail.index.load(Ordering::Acquire);
            self.head.other.set(tail);
            if head == tail {
                return None;
            }
        }
        let offset = head % LAP;
        if offset == 0 {
            let next = if head == 0 {
                // Published by the first push, before index 0 was.
                self.first.load(Ordering::Acquire)
            } else {
                let old = self.head.block.get();
                // SAFETY: index `head` is published, so the producer linked
                // the block that holds it (see `push`); `old` is the
                // consumer's.
                let next = unsafe { (*old).next.load(Ordering::Acquire) };
                // The producer has moved on from `old`: keep it as the
                // spare, or free it if there is one already.
                let prev = self.spare.swap(old, Ordering::AcqRel);
                if !prev.is_null() {
                    // SAFETY: a block taken out of `spare` is owned by its
                    // taker and holds no values.
                    drop(unsafe { Box::from_raw(prev) });
                }
                next
            };
            self.head.block.set(next);
        }
        let block = self.head.block.get();
        // SAFETY: `head < tail`, so the producer wrote this slot and published
        // it with its `Release` store of `tail`, which this consumer acquired
        // (now, or when it read the `tail` that `other` holds).
        let value = unsafe { (*(*block).slots[offset].get()).assume_init_read() };
        self.head
            .index
            .store(head.wrapping_add(1), Ordering::Release);
        Some(value)
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // `&mut self`: no producer or consumer is left.
        // SAFETY: exclusive access makes this the only consumer.
        while unsafe { self.pop() }.is_some() {}
        let block = self.head.block.get();
        if !block.is_null() {
            // SAFETY: the head block is the last block (the queue is empty,
            // so head and tail share it) and nobody else owns it. Null: no
            // value was ever pushed, so no block was made.
            drop(unsafe { Box::from_raw(block) });
        }
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the spare block is owned by the queue.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}
