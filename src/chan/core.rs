//! The channel core: one design serves every flavor.
//!
//! The flavors differ only in capacity (as tokio's `chan.rs` is one queue
//! generic over a capacity policy): `cap == 0` is a rendezvous, `cap == n` is
//! bounded, `cap == usize::MAX` is unbounded. The state is in two halves,
//! each under a lock of its own:
//!
//! - the *receive side* ([`RecvSide`], the `head` lock): `receivers`, blocked
//!   receivers each with an empty slot (a sender hands a value over by
//!   claiming the waiter and filling the slot), values given back by
//!   cancelled receives, and the wake-ups owed;
//! - the *send side* ([`SendSide`], the `tail` lock): `senders`, *offers*,
//!   each a blocked sender's value parked beside its [`Entry`] (a receiver
//!   takes an offer by claiming the entry's waiter, so the value stays with
//!   its owner until a running party takes it);
//! - between them the buffer, a [`Queue`] that one producer (holding `tail`)
//!   and one consumer (holding `head`) use at once.
//!
//! A channel with room for two values or more is *split*: a send that finds
//! room takes only `tail`, a receive that finds a value only `head`, so
//! senders and receivers do not contend (the two-lock queue of Michael and
//! Scott). Everything else (waiting, closing, `select`) holds both, head
//! first; that view is [`Locked`]. A rendezvous or `bounded(1)` channel is
//! *unified*: every operation holds `head` alone, which then guards both
//! halves (with at most one value buffered there is nothing to overlap), and
//! its buffer is a `VecDeque` on the receive side instead of the queue.
//!
//! Invariants, all under both locks (in a unified channel, under `head`):
//! 1. A receiver entry waits only while the buffer is empty and no offer can
//!    be taken; an offer waits only while the buffer is full and no receiver
//!    can take it. Every path that changes the buffer or the queues restores
//!    this before it lets go of `head` (a pop from a full buffer pulls the
//!    oldest offer in; a push to an empty buffer is handed to the oldest
//!    waiting receiver).
//! 2. A claimed offer is removed by its claimer (nothing is left to return),
//!    so an async sender that sees its waiter claimed is done without
//!    locking again. A claimed receiver entry stays, holding the value,
//!    until its owner removes it: the owner then finds its value there;
//!    except a *direct* entry (a single async receive whose `T` fits a
//!    waiter's slot), which its claimer removes after moving the value into
//!    the waiter, where the woken owner takes it without locking again.
//! 3. Entries of aborted waiters are skipped (the claim CAS fails) and removed
//!    by their owners, who take their values back.
//! 4. After `closed`, no offer is taken: blocked senders fail with their value.
//! 5. Split channels only: `SendSide::receivers_waiting` is true while a
//!    receiver entry may wait, and `RecvSide::offers_waiting` while an offer
//!    may wait. Both are set under both locks, when the entry is queued, and
//!    read by the one-lock paths: a send reads the first under `tail` after
//!    its push, a receive the second under `head` after its pop, and each
//!    then takes the other lock to hand over (invariant 1). A registration
//!    holds both locks, so it either sees the value pushed or its flag is
//!    seen by the push.

use super::error::{TryRecvError, TrySendError};
use super::lock::{Held, Lock, RawGuard, RawLock};
use super::queue::{Padded, Queue};
use super::waiters::{find_entry, with_thread_waiter, Deferred, DeferredList, Entry, Waiter};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, RawSlot};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Capacity that marks an unbounded channel.
pub(crate) const UNBOUNDED: usize = usize::MAX;

pub(crate) struct SendEntry<T> {
    pub(crate) entry: Entry,
    pub(crate) value: T,
}

pub(crate) struct RecvEntry<T> {
    pub(crate) entry: Entry,
    /// Filled by the sender that claimed this entry.
    pub(crate) slot: Option<T>,
}

/// The receive side, under the `head` lock.
pub(crate) struct RecvSide<T> {
    /// Values handed to a receiver that went away before taking them (a
    /// dropped `recv()` future or `select!`): they come out before the queue.
    /// A unified channel buffers here alone (its queue stays unused): with at
    /// most one value buffered, a `VecDeque` under the one lock is cheapest.
    front: VecDeque<T>,
    pub(crate) receivers: VecDeque<RecvEntry<T>>,
    /// Wake-ups and waker drops owed once the locks are released; the guard
    /// returned by [`Chan::lock`] runs them.
    pub(crate) deferred: DeferredList,
    /// Split channels: an offer may wait (invariant 5).
    offers_waiting: bool,
}

impl<T> RecvSide<T> {
    /// Hands `value` to receiver entry `i`, whose waiter the caller has just
    /// claimed, and owes its owner a wake-up. A direct entry is removed and
    /// its value moved into the waiter; any other keeps the value in its
    /// slot until the owner removes it (invariant 2). Returns whether the
    /// entry was removed.
    #[inline]
    fn fill(&mut self, i: usize, value: T) -> bool {
        if self.receivers[i].entry.direct {
            if let Some(w) = self.hand_direct(i, value) {
                self.deferred.push(Deferred::Wake(w));
            }
            true
        } else {
            let r = &mut self.receivers[i];
            r.slot = Some(value);
            self.deferred.push(r.entry.wake());
            false
        }
    }

    /// Hands `value` to the direct entry `i`, whose waiter the caller has
    /// just claimed: removes the entry and moves the value into the waiter.
    /// Returns the owner's waker, to wake once the lock is released.
    #[inline(always)]
    fn hand_direct(&mut self, i: usize, value: T) -> Option<Waker> {
        let mut r = take_at(&mut self.receivers, i).expect("a receiver entry at i");
        // The waker first: releasing the entry ends our use of it.
        let waker = r.entry.waker.take();
        // SAFETY: the caller claimed it; a direct entry is made only by
        // `poll_recv` on this channel of `T`, when `T` fits the slot.
        unsafe { r.entry.release_with(value) };
        waker
    }
}

/// Takes the oldest offer whose waiter it can claim, removing it and owing
/// its owner a wake-up (invariant 2).
#[inline]
fn claim_offer<T>(senders: &mut VecDeque<SendEntry<T>>, deferred: &mut DeferredList) -> Option<T> {
    let i = senders.iter().position(|s| s.entry.try_claim())?;
    let SendEntry { mut entry, value } = take_at(senders, i)?;
    deferred.push(entry.wake());
    entry.release();
    Some(value)
}

/// The send side, under the `tail` lock.
pub(crate) struct SendSide<T> {
    pub(crate) senders: VecDeque<SendEntry<T>>,
    /// Split channels: a receiver entry may wait (invariant 5).
    receivers_waiting: bool,
}

/// The shared state behind every `Sender` and `Receiver` of one channel.
// `repr(C)`, in this order: the fields every operation reads and few write
// come first, padded off from the receive side, then the send side, then the
// queue (its two ends padded off from each other and from its block
// recycling). Keeping `cap`/`closed` off the lines that the queue or the
// locks write saves a cache miss per operation under contention (measured:
// a third of `recv_blocking`'s samples on reading `split` when it shared a
// line with the queue's spare-block pointer). And `head` precedes `tail`, so
// locking both in address order (as a select does across channels) is
// locking head first.
#[repr(C)]
pub(crate) struct Chan<T> {
    pub(crate) cap: usize,
    /// See the module docs: `cap >= 2`.
    split: bool,
    /// Set under both locks; read under either.
    closed: AtomicBool,
    pub(crate) sender_count: AtomicUsize,
    pub(crate) receiver_count: Padded<AtomicUsize>,
    head: Padded<Lock<RecvSide<T>>>,
    tail: Padded<Lock<SendSide<T>>>,
    queue: Queue<T>,
}

/// Both halves of a channel, with every lock it needs held: the state that
/// the invariants are stated over.
pub(crate) struct Locked<'a, T> {
    chan: &'a Chan<T>,
    pub(crate) h: Held<'a, RecvSide<T>>,
    pub(crate) t: Held<'a, SendSide<T>>,
}

impl<T> Locked<'_, T> {
    #[inline]
    fn buf_is_empty(&self) -> bool {
        self.h.front.is_empty() && (!self.chan.split || self.chan.queue.is_empty())
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        match self.h.front.pop_front() {
            Some(v) => Some(v),
            // SAFETY: `head` is held: this is the queue's only consumer.
            None if self.chan.split => unsafe { self.chan.queue.pop() },
            None => None,
        }
    }

    #[inline]
    fn push(&mut self, value: T) {
        if self.chan.split {
            // SAFETY: `tail` is held: this is the queue's only producer.
            unsafe { self.chan.queue.push(value) }
        } else {
            self.h.front.push_back(value);
        }
    }

    /// The values that count against the capacity: a split channel's queue
    /// (values given back by cancelled receives come on top), or a unified
    /// channel's whole buffer.
    #[inline]
    fn queued(&self) -> usize {
        if self.chan.split {
            self.chan.queue.len()
        } else {
            self.h.front.len()
        }
    }

    #[inline]
    pub(crate) fn closed(&self) -> bool {
        self.chan.closed.load(Ordering::Relaxed)
    }

    /// Takes the oldest offer, claiming its waiter.
    #[inline]
    fn take_offer(&mut self) -> Option<T> {
        if self.t.senders.is_empty() {
            return None;
        }
        claim_offer(&mut self.t.senders, &mut self.h.deferred)
    }

    /// The hot path of a send on a unified channel: the oldest receiver is a
    /// parked single `recv().await` (a direct entry, always waiting), so the
    /// value goes straight into its waiter. Returns the wake-up it owes, to
    /// run after the unlock; `Err` if the general path must decide.
    #[inline]
    pub(crate) fn hand_to_direct(&mut self, value: T) -> Result<Option<Waker>, T> {
        let h = &mut *self.h;
        if self.chan.closed.load(Ordering::Relaxed)
            || !h
                .receivers
                .front()
                .is_some_and(|r| r.entry.direct && r.entry.try_claim())
        {
            return Err(value);
        }
        // Invariant 1: a receiver waits, so the buffer is empty; and a
        // queued direct entry is always waiting, so the claim succeeded.
        Ok(h.hand_direct(0, value))
    }

    /// Gives `value` to the oldest waiting receiver, claiming its waiter.
    fn give_to_receiver(&mut self, value: T) -> Result<(), T> {
        let h = &mut *self.h;
        for i in 0..h.receivers.len() {
            let r = &h.receivers[i];
            if r.slot.is_none() && r.entry.try_claim() {
                h.fill(i, value);
                return Ok(());
            }
        }
        Err(value)
    }

    #[inline(always)]
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(v) = self.pop() {
            // Room appeared: the oldest blocked sender's value moves in (invariant 1).
            if !self.closed() && !self.t.senders.is_empty() && self.queued() < self.chan.cap {
                if let Some(next) = self.take_offer() {
                    self.push(next);
                }
            }
            return Ok(v);
        }
        if self.closed() {
            return Err(TryRecvError::Closed);
        }
        self.take_offer().ok_or(TryRecvError::Empty)
    }

    #[inline]
    pub(crate) fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        if self.closed() {
            return Err(TrySendError::Closed(value));
        }
        let value = if self.buf_is_empty() && !self.h.receivers.is_empty() {
            match self.give_to_receiver(value) {
                Ok(()) => return Ok(()),
                Err(v) => v,
            }
        } else {
            value
        };
        if self.queued() < self.chan.cap {
            self.push(value);
            Ok(())
        } else {
            Err(TrySendError::Full(value))
        }
    }

    /// Would a receive complete now (a value, an offer, or closed)?
    pub(crate) fn recv_ready(&self) -> bool {
        !self.buf_is_empty()
            || self.closed()
            || self.t.senders.iter().any(|s| s.entry.waiter().is_waiting())
    }

    /// The number of buffered values.
    #[cfg_attr(not(feature = "futures"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.h.front.len()
            + if self.chan.split {
                self.chan.queue.len()
            } else {
                0
            }
    }

    /// Queues a blocked receiver (invariant 5: a split channel's senders
    /// now look for it).
    pub(crate) fn push_receiver(&mut self, entry: Entry) {
        self.h.receivers.push_back(RecvEntry { entry, slot: None });
        self.t.receivers_waiting = true;
    }

    /// Queues an offer (invariant 5: a split channel's receivers now pull
    /// it in when they make room).
    pub(crate) fn push_sender(&mut self, entry: Entry, value: T) {
        self.t.senders.push_back(SendEntry { entry, value });
        self.h.offers_waiting = true;
    }

    /// Removes `waiter`'s receiver entry for `case`. `Some(slot)` if it was there.
    pub(crate) fn remove_recv(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<Option<T>> {
        remove_recv(&mut self.h, waiter, case)
    }

    /// Removes `waiter`'s offer for `case`, giving the value back. `None`: the
    /// offer is gone because a receiver took it.
    pub(crate) fn remove_send(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<T> {
        let i = find_entry(&self.t.senders, |s| s.entry.is(waiter, case))?;
        let mut s = take_at(&mut self.t.senders, i)?;
        defer_drop(&mut self.h.deferred, &mut s.entry);
        Some(s.value)
    }

    pub(crate) fn find_send(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<usize> {
        find_entry(&self.t.senders, |s| s.entry.is(waiter, case))
    }

    pub(crate) fn find_recv(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<usize> {
        find_entry(&self.h.receivers, |r| r.entry.is(waiter, case))
    }

    /// Puts back a value that was handed to a receiver which went away before
    /// taking it (a dropped `recv()` future or `select!`): it goes to the next
    /// waiting receiver, or to the front of the buffer, so the next receiver
    /// gets it first. The buffer may exceed its capacity by these values.
    pub(crate) fn redeliver(&mut self, value: T) {
        if self.buf_is_empty() {
            if let Err(v) = self.give_to_receiver(value) {
                self.h.front.push_front(v);
            }
        } else {
            self.h.front.push_front(value);
        }
    }

    /// Marks the channel closed and wakes every waiter. False if it already was.
    pub(crate) fn close(&mut self) -> bool {
        if self.closed() {
            return false;
        }
        self.chan.closed.store(true, Ordering::Release);
        let h = &mut *self.h;
        for s in self.t.senders.iter_mut() {
            h.deferred.push(s.entry.notify());
        }
        for r in h.receivers.iter_mut() {
            h.deferred.push(r.entry.notify());
        }
        true
    }

    /// Moves the deferred work out, to run after the locks are released.
    pub(crate) fn take_deferred(&mut self, out: &mut DeferredList) {
        self.h.deferred.move_to(out);
    }
}

fn remove_recv<T>(h: &mut RecvSide<T>, waiter: &Arc<Waiter>, case: usize) -> Option<Option<T>> {
    let i = find_entry(&h.receivers, |r| r.entry.is(waiter, case))?;
    let mut r = take_at(&mut h.receivers, i)?;
    defer_drop(&mut h.deferred, &mut r.entry);
    Some(r.slot)
}

/// Removes entry `i` of a wait queue: usually the oldest, which
/// `pop_front` takes without `remove`'s general shifting.
#[inline]
fn take_at<E>(q: &mut VecDeque<E>, i: usize) -> Option<E> {
    match i {
        0 => q.pop_front(),
        _ => q.remove(i),
    }
}

/// A removed entry's waker is dropped after the unlock (see `Deferred`).
fn defer_drop(deferred: &mut DeferredList, entry: &mut Entry) {
    if let Some(w) = entry.waker.take() {
        deferred.push(Deferred::Drop(w));
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            head: Padded::new(Lock::new(RecvSide {
                // A unified channel buffers here (at most one value).
                front: VecDeque::with_capacity(if cap < 2 { cap } else { 0 }),
                receivers: VecDeque::new(),
                deferred: DeferredList::new(),
                offers_waiting: false,
            })),
            tail: Padded::new(Lock::new(SendSide {
                senders: VecDeque::new(),
                receivers_waiting: false,
            })),
            queue: Queue::new(),
            closed: AtomicBool::new(false),
            split: cap >= 2,
            cap,
            sender_count: AtomicUsize::new(1),
            receiver_count: Padded::new(AtomicUsize::new(1)),
        }
    }

    /// Takes every lock the channel has (head first); the deferred work is
    /// done when the guard drops.
    #[inline(always)]
    pub(crate) fn lock(&self) -> ChanGuard<'_, T> {
        let head = self.head.raw().lock();
        let tail = self.split.then(|| self.tail.raw().lock());
        // SAFETY: the locks are held until the guard drops, which also ends
        // the view's borrow.
        let view = unsafe { self.assume_locked() };
        ChanGuard {
            view,
            head: Some(head),
            tail,
        }
    }

    /// The locks alone (head first), for a select that locks all of its
    /// channels at once, in address order.
    pub(crate) fn raw_locks(&self, out: &mut smallvec::SmallVec<[*const RawLock; 8]>) {
        out.push(self.head.raw());
        if self.split {
            out.push(self.tail.raw());
        }
    }

    /// The state, for a caller that holds every lock of
    /// [`raw_locks`](Chan::raw_locks).
    ///
    /// # Safety
    ///
    /// The caller holds those locks while the view lives and makes no other
    /// reference to the state meanwhile.
    pub(crate) unsafe fn assume_locked(&self) -> Locked<'_, T> {
        Locked {
            chan: self,
            // SAFETY: `head` is held (this function's contract).
            h: unsafe { self.head.held() },
            // SAFETY: `tail` is held, or the channel is unified and `head`,
            // which is held, guards the send side too.
            t: unsafe { self.tail.held() },
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn len(&self) -> usize {
        let h = self.head.lock();
        h.front.len() + self.queue.len()
    }

    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.split {
            self.send_split(value)
        } else {
            self.lock().try_send(value)
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.split {
            self.recv_split()
        } else {
            self.lock().try_recv()
        }
    }

    /// A send on a split channel, holding `tail` only. `Full` if there is no
    /// room: the caller may then wait under both locks.
    #[inline(always)]
    fn send_split(&self, value: T) -> Result<(), TrySendError<T>> {
        let t = self.tail.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(TrySendError::Closed(value));
        }
        // A stale `head` only makes the queue look fuller: a spurious `Full`
        // is settled under both locks by a blocking send.
        // SAFETY: `tail` is held: this is the queue's only producer.
        if !unsafe { self.queue.has_room(self.cap) } {
            return Err(TrySendError::Full(value));
        }
        // SAFETY: `tail` is held: this is the queue's only producer.
        unsafe { self.queue.push(value) };
        let hand_over = t.receivers_waiting;
        drop(t);
        if hand_over {
            self.hand_to_receivers();
        }
        Ok(())
    }

    /// After a push found a receiver waiting: gives buffered values to the
    /// waiting receivers (invariant 1), under `head`.
    #[cold]
    fn hand_to_receivers(&self) {
        let mut guard = self.head_guard();
        let h = &mut *guard.h;
        let mut waiting = false;
        let mut i = 0;
        while i < h.receivers.len() {
            let r = &h.receivers[i];
            if r.slot.is_some() || !r.entry.waiter().is_waiting() {
                i += 1;
                continue;
            }
            if h.front.is_empty() && self.queue.is_empty() {
                waiting = true;
                break;
            }
            if r.entry.try_claim() {
                // The buffer is not empty (checked above, and only
                // consumers take, under `head`).
                let v = self.pop_split(h).expect("checked non-empty");
                if h.fill(i, v) {
                    continue; // removed: entry `i` is the next one now
                }
            }
            i += 1;
        }
        if !waiting {
            // Nobody is left waiting: senders stop looking (invariant 5).
            self.tail.lock().receivers_waiting = false;
        }
        if h.offers_waiting {
            self.pull_offers(h);
        }
    }

    /// The oldest value of a split channel: a given-back one first, then
    /// the queue's. For a caller that holds `head` (the `h` it passes).
    #[inline(always)]
    fn pop_split(&self, h: &mut RecvSide<T>) -> Option<T> {
        match h.front.pop_front() {
            Some(v) => Some(v),
            // SAFETY: the caller holds `head`, which makes it the queue's
            // only consumer.
            None => unsafe { self.queue.pop() },
        }
    }

    /// A receive on a split channel, holding `head` only.
    #[inline(always)]
    fn recv_split(&self) -> Result<T, TryRecvError> {
        let mut guard = self.head_guard();
        let h = &mut *guard.h;
        match self.pop_split(h) {
            Some(v) => {
                if h.offers_waiting {
                    self.pull_offers(h);
                }
                Ok(v)
            }
            // Closing holds `head`, and every value sent before it is in the
            // queue: closed and empty is drained.
            None if self.closed.load(Ordering::Relaxed) => Err(TryRecvError::Closed),
            // No offer waits while the buffer is empty (invariant 1).
            None => Err(TryRecvError::Empty),
        }
    }

    /// [`recv_split`](Chan::recv_split) for an async receive, in fewer
    /// instructions: it holds `head` without a guard (whose `Option` and
    /// test for owed wake-ups cost a share of a receive's path) and lets go
    /// as soon as it knows the outcome. No wake-up is owed when `head` is
    /// taken (every holder runs or moves out its own before it lets go), so
    /// only `pull_offers` can owe one here. Measured: a one-interpreter
    /// pipeline of tasks 4% faster.
    ///
    /// The blocking receive keeps the guarded form. With this one, four
    /// threads receiving from four sending threads on two CPUs drained the
    /// buffer faster than it filled, found it empty, and parked 350 to 1,455
    /// times per million messages instead of 0 to 34: 20-40% slower (and a
    /// spin before parking was slower still: it takes the CPU the senders
    /// need).
    #[inline(always)]
    fn recv_split_async(&self) -> Result<T, TryRecvError> {
        let raw = self.head.raw().lock();
        // SAFETY: `head` is held until `raw` drops; `h` is not used after.
        let mut h = unsafe { self.head.held() };
        debug_assert!(h.deferred.is_empty(), "wake-ups owed by an earlier holder");
        let Some(v) = self.pop_split(&mut h) else {
            // As in `recv_split`: closed and empty is drained, and no offer
            // waits while the buffer is empty.
            let closed = self.closed.load(Ordering::Relaxed);
            drop(raw);
            return Err(if closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        };
        if h.offers_waiting {
            self.pull_offers(&mut h);
            unlock_then_run_deferred(&mut h, &mut Some(raw));
        } else {
            drop(raw);
        }
        Ok(v)
    }

    /// After a pop found an offer waiting: moves offers into the room made
    /// (invariant 1), taking `tail` while `head` is held.
    #[cold]
    fn pull_offers(&self, h: &mut RecvSide<T>) {
        let mut t = self.tail.lock();
        while !self.closed.load(Ordering::Relaxed) && self.queue.len() < self.cap {
            let Some(value) = claim_offer(&mut t.senders, &mut h.deferred) else {
                break;
            };
            // SAFETY: `tail` is held: the only producer.
            unsafe { self.queue.push(value) };
        }
        h.offers_waiting = t.senders.iter().any(|s| s.entry.waiter().is_waiting());
    }

    /// `head` alone, with the deferred work run after the unlock.
    #[inline]
    fn head_guard(&self) -> HeadGuard<'_, T> {
        let raw = self.head.raw().lock();
        HeadGuard {
            // SAFETY: `head` is held until the guard drops.
            h: unsafe { self.head.held() },
            raw: Some(raw),
        }
    }

    pub(crate) fn close(&self) -> bool {
        self.lock().close()
    }

    /// The last receiver went away: close, and drop the buffered values now
    /// (outside the lock, since their destructors are user code).
    pub(crate) fn disconnect_receivers(&self) {
        let mut drained = Vec::new();
        {
            let mut inner = self.lock();
            inner.close();
            while let Some(v) = inner.pop() {
                drained.push(v);
            }
        }
        drop(drained);
    }
    /// Blocks the current thread until the value is sent, the channel closes,
    /// or `deadline` passes. The error is `Full(v)` on the deadline.
    pub(crate) fn send_blocking(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), TrySendError<T>> {
        // A split channel first tries under `tail` alone.
        let value = if self.split {
            match self.send_split(value) {
                Err(TrySendError::Full(v)) => v,
                done => return done,
            }
        } else {
            value
        };
        let mut inner = self.lock();
        let value = match inner.try_send(value) {
            Err(TrySendError::Full(v)) => v,
            done => return done,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(TrySendError::Full(value));
        }
        with_thread_waiter(|waiter| {
            let mut value = value;
            loop {
                waiter.reset();
                inner.push_sender(Entry::new(waiter, 0, None), value);
                drop(inner);
                let in_time = waiter.wait(deadline);
                inner = self.lock();
                // A receiver that took the offer removed it (invariant 2).
                match inner.remove_send(waiter, 0) {
                    None => return Ok(()),
                    Some(v) => value = v,
                }
                // Still ours, and nobody can take it now that it is out of the queue.
                value = match inner.try_send(value) {
                    Err(TrySendError::Full(v)) if in_time => v,
                    done => return done,
                };
            }
        })
    }

    /// Blocks the current thread until a value arrives, the channel is closed
    /// and drained, or `deadline` passes (`Err(Empty)`).
    pub(crate) fn recv_blocking(&self, deadline: Option<Instant>) -> Result<T, TryRecvError> {
        if self.split {
            match self.recv_split() {
                Err(TryRecvError::Empty) => {}
                done => return done,
            }
        }
        let mut inner = self.lock();
        match inner.try_recv() {
            Err(TryRecvError::Empty) => {}
            done => return done,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(TryRecvError::Empty);
        }
        with_thread_waiter(|waiter| loop {
            waiter.reset();
            inner.push_receiver(Entry::new(waiter, 0, None));
            drop(inner);
            let in_time = waiter.wait(deadline);
            inner = self.lock();
            if let Some(Some(v)) = inner.remove_recv(waiter, 0) {
                return Ok(v);
            }
            match inner.try_recv() {
                Err(TryRecvError::Empty) if in_time => {}
                done => return done,
            }
        })
    }

    /// One poll of an async receive; `reg` remembers a registration between polls.
    ///
    /// The two paths that take no waiting (a split channel's buffered value,
    /// a value handed straight to our waiter) are inlined into the future;
    /// the rest is a call.
    #[inline(always)]
    pub(crate) fn poll_recv(
        &self,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, TryRecvError>> {
        if !reg.registered {
            if self.split {
                match self.recv_split_async() {
                    Err(TryRecvError::Empty) => {}
                    done => return Poll::Ready(done),
                }
            }
        } else if let Some(v) = reg.waiter().take::<T>() {
            // A sender moved the value into our waiter and removed our
            // entry: no need to lock the channel again.
            reg.registered = false;
            return Poll::Ready(Ok(v));
        }
        self.poll_recv_locked(reg, cx)
    }

    /// [`poll_recv`](Chan::poll_recv) under the lock.
    #[inline(never)]
    fn poll_recv_locked(
        &self,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, TryRecvError>> {
        let mut inner = self.lock();
        if reg.registered {
            let waiter = reg.waiter.as_ref().expect("registered without a waiter");
            let ready = inner.recv_ready();
            if let Some(i) = inner.find_recv(waiter, 0) {
                if inner.h.receivers[i].slot.is_none() && !ready {
                    // Still waiting and nothing to take: keep our place in the queue.
                    let h = &mut *inner.h;
                    if let Some(old) = h.receivers[i].entry.update_waker(cx.waker()) {
                        h.deferred.push(old);
                    }
                    return Poll::Pending;
                }
            }
            reg.registered = false;
            match inner.remove_recv(waiter, 0) {
                Some(Some(v)) => return Poll::Ready(Ok(v)),
                Some(None) => {}
                // Gone: a sender claimed our direct entry, and its value,
                // moved in under the lock we now hold, is in the waiter.
                None => {
                    if let Some(v) = waiter.take::<T>() {
                        return Poll::Ready(Ok(v));
                    }
                }
            }
        }
        match inner.try_recv() {
            Err(TryRecvError::Empty) => {
                let waiter = reg.prepare();
                // SAFETY: this registration keeps the waiter until the entry
                // is gone: it removes it, finds it removed, or takes the
                // value (`take`), always before `registered` goes false,
                // and it never aborts.
                let entry = unsafe { Entry::solo(waiter, Some(cx.waker()), RawSlot::fits::<T>()) };
                inner.push_receiver(entry);
                reg.registered = true;
                Poll::Pending
            }
            done => Poll::Ready(done),
        }
    }

    /// Cancels an async receive: a value already handed to it goes back to
    /// the channel for the next receiver (cancel safety).
    #[inline]
    pub(crate) fn cancel_recv(&self, reg: &mut Registration) {
        if reg.registered {
            self.cancel_registered_recv(reg);
        }
    }

    #[cold]
    fn cancel_registered_recv(&self, reg: &mut Registration) {
        reg.registered = false;
        let mut inner = self.lock();
        let v = match inner.remove_recv(reg.waiter(), 0) {
            Some(slot) => slot,
            // A sender claimed our direct entry: the value is in the waiter.
            None => reg.waiter().take::<T>(),
        };
        if let Some(v) = v {
            inner.redeliver(v);
        }
    }

    /// One poll of an async send. `value` holds the value until it is offered.
    ///
    /// As with `poll_recv`, the paths that take no waiting are inlined.
    #[inline(always)]
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        if !reg.registered {
            if self.split {
                let v = value.take().expect("send future polled after completion");
                match self.send_split(v) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(TrySendError::Closed(v)) => return Poll::Ready(Err(v)),
                    Err(TrySendError::Full(v)) => *value = Some(v),
                }
            }
        } else if reg.waiter().take_done() {
            // A receiver that claims our offer takes it (invariant 2) and
            // then releases our entry: done, without locking again.
            reg.registered = false;
            return Poll::Ready(Ok(()));
        }
        self.poll_send_locked(value, reg, cx)
    }

    /// [`poll_send`](Chan::poll_send) under the lock.
    #[inline(never)]
    fn poll_send_locked(
        &self,
        value: &mut Option<T>,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let mut inner = self.lock();
        if reg.registered {
            let waiter = reg.waiter.as_ref().expect("registered without a waiter");
            let closed = inner.closed();
            match inner.find_send(waiter, 0) {
                // Taken by a receiver (invariant 2), which released it.
                None => {
                    reg.registered = false;
                    waiter.take_done();
                    return Poll::Ready(Ok(()));
                }
                Some(i) if !closed => {
                    let inner = &mut *inner;
                    if let Some(old) = inner.t.senders[i].entry.update_waker(cx.waker()) {
                        inner.h.deferred.push(old);
                    }
                    return Poll::Pending;
                }
                Some(_) => {
                    reg.registered = false;
                    let v = inner.remove_send(waiter, 0).expect("offer present");
                    return Poll::Ready(Err(v));
                }
            }
        }
        let v = value.take().expect("send future polled after completion");
        let v = if self.split {
            v
        } else {
            match inner.hand_to_direct(v) {
                Ok(waker) => {
                    drop(inner);
                    if let Some(w) = waker {
                        w.wake();
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(v) => v,
            }
        };
        match inner.try_send(v) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(TrySendError::Closed(v)) => Poll::Ready(Err(v)),
            Err(TrySendError::Full(v)) => {
                let waiter = reg.prepare();
                // SAFETY: as in `poll_recv`: the entry is gone before
                // `registered` goes false (removed, or taken and released).
                let entry = unsafe { Entry::solo(waiter, Some(cx.waker()), false) };
                inner.push_sender(entry, v);
                reg.registered = true;
                Poll::Pending
            }
        }
    }

    /// `Sink::start_send`: sends now if possible, else leaves `value` as an
    /// offer that `poll_send` then waits on. `Err(value)` if closed.
    #[cfg_attr(not(feature = "futures"), allow(dead_code))]
    pub(crate) fn start_send(&self, value: T, reg: &mut Registration) -> Result<(), T> {
        let value = if self.split {
            match self.send_split(value) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(v)) => return Err(v),
                Err(TrySendError::Full(v)) => v,
            }
        } else {
            value
        };
        let mut inner = self.lock();
        match inner.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(v),
            Err(TrySendError::Full(v)) => {
                let waiter = reg.prepare();
                // The waker comes with the next poll_ready/poll_flush.
                // SAFETY: as in `poll_send`.
                let entry = unsafe { Entry::solo(waiter, None, false) };
                inner.push_sender(entry, v);
                reg.registered = true;
                Ok(())
            }
        }
    }

    /// Cancels an async send: the value, if no receiver took it, is returned.
    #[inline]
    pub(crate) fn cancel_send(&self, reg: &mut Registration) -> Option<T> {
        if reg.registered {
            self.cancel_registered_send(reg)
        } else {
            None
        }
    }

    #[cold]
    fn cancel_registered_send(&self, reg: &mut Registration) -> Option<T> {
        reg.registered = false;
        let v = self.lock().remove_send(reg.waiter(), 0);
        if v.is_none() {
            // Taken by a receiver, which released the entry.
            reg.waiter().take_done();
        }
        v
    }
}

/// The registration of one async operation (a `send`/`recv` future, the
/// `Stream` or `Sink` of a handle) between two polls. It holds no value, so
/// handles that embed it stay `Send + Sync` for any `T: Send`.
#[derive(Default)]
pub(crate) struct Registration {
    waiter: Option<Arc<Waiter>>,
    pub(crate) registered: bool,
}

impl Registration {
    fn waiter(&self) -> &Arc<Waiter> {
        self.waiter.as_ref().expect("registered without a waiter")
    }

    /// The waiter for a new round: taken from this thread's pool once per
    /// operation, reused across its rounds, and given back when it ends.
    fn prepare(&mut self) -> &Arc<Waiter> {
        let w = self.waiter.get_or_insert_with(super::waiters::task_waiter);
        w.reset();
        w
    }
}

impl Drop for Registration {
    #[inline]
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            super::waiters::recycle_task_waiter(w);
        }
    }
}

/// Every lock of one channel, held. When it drops, the locks are released
/// first, then the deferred wake-ups run (see [`Deferred`]).
pub(crate) struct ChanGuard<'a, T> {
    view: Locked<'a, T>,
    head: Option<RawGuard<'a>>,
    tail: Option<RawGuard<'a>>,
}

impl<'a, T> std::ops::Deref for ChanGuard<'a, T> {
    type Target = Locked<'a, T>;
    #[inline]
    fn deref(&self) -> &Locked<'a, T> {
        &self.view
    }
}

impl<'a, T> std::ops::DerefMut for ChanGuard<'a, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Locked<'a, T> {
        &mut self.view
    }
}

impl<T> Drop for ChanGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        drop(self.tail.take());
        unlock_then_run_deferred(&mut self.view.h, &mut self.head);
    }
}

/// Releases `head` (the receive side's lock), then runs the work the
/// critical section deferred. Most sections owe one wake-up at most: that
/// one is popped alone rather than moving the list out. The work is taken
/// out while the lock is held, through the `Held` handle: no reference into
/// the locked side is live across the unlock (an argument `&mut` to the list
/// would be, and Miri rejects that).
#[inline(always)]
fn unlock_then_run_deferred<T>(h: &mut Held<'_, RecvSide<T>>, head: &mut Option<RawGuard<'_>>) {
    if h.deferred.is_empty() {
        return;
    }
    match h.deferred.take_single() {
        Some(d) => {
            drop(head.take());
            d.run();
        }
        None => unlock_then_run_all(h, head),
    }
}

/// The rare case of [`unlock_then_run_deferred`]: more than one wake-up.
#[cold]
fn unlock_then_run_all<T>(h: &mut Held<'_, RecvSide<T>>, head: &mut Option<RawGuard<'_>>) {
    let all = std::mem::take(&mut h.deferred);
    drop(head.take());
    all.run_all();
}

/// The `head` lock alone, for the one-lock paths of a split channel.
struct HeadGuard<'a, T> {
    h: Held<'a, RecvSide<T>>,
    raw: Option<RawGuard<'a>>,
}

impl<T> Drop for HeadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        unlock_then_run_deferred(&mut self.h, &mut self.raw);
    }
}
