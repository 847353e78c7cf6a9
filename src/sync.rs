//! The synchronization primitives the crate is built on, swapped for loom's
//! model-checked versions under `--cfg loom` (as tokio's `src/loom` does).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

/// Thread parking, as a waiter needs it.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, park_timeout, yield_now, Thread};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, Thread};

    /// loom has no timed park; models never use deadlines, so a plain park is exact there.
    #[cfg(loom)]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        park();
    }
}

/// A few words of storage that one thread fills and another empties, with
/// the hand-over ordered by an atomic flag beside it (see `Waiter`'s direct
/// hand-off). Under loom it is loom's `UnsafeCell`, so models check that the
/// two accesses never race.
pub(crate) struct RawSlot {
    #[cfg(not(loom))]
    cell: std::cell::UnsafeCell<std::mem::MaybeUninit<[usize; RawSlot::WORDS]>>,
    #[cfg(loom)]
    cell: loom::cell::UnsafeCell<std::mem::MaybeUninit<[usize; RawSlot::WORDS]>>,
}

impl RawSlot {
    const WORDS: usize = 3;

    pub(crate) fn new() -> RawSlot {
        RawSlot {
            #[cfg(not(loom))]
            cell: std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()),
            #[cfg(loom)]
            cell: loom::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()),
        }
    }

    /// Whether a `T` fits: at most three words, aligned to at most a word
    /// (a `u64`, a `Box`, a `String` or `Vec`).
    pub(crate) const fn fits<T>() -> bool {
        std::mem::size_of::<T>() <= std::mem::size_of::<[usize; RawSlot::WORDS]>()
            && std::mem::align_of::<T>() <= std::mem::align_of::<usize>()
    }

    /// Moves `value` in.
    ///
    /// # Safety
    ///
    /// `fits::<T>()`; the slot is empty, and no other thread accesses it
    /// until this write is published (by a `Release` store the reader
    /// `Acquire`s).
    #[inline]
    pub(crate) unsafe fn write<T>(&self, value: T) {
        debug_assert!(Self::fits::<T>());
        #[cfg(not(loom))]
        // SAFETY: the caller's contract: a `T` fits the (word-aligned) cell,
        // and this thread has it to itself.
        unsafe {
            self.cell.get().cast::<T>().write(value)
        };
        #[cfg(loom)]
        // SAFETY: as above.
        self.cell
            .with_mut(|p| unsafe { p.cast::<T>().write(value) });
    }

    /// Moves the value out, leaving the slot empty.
    ///
    /// # Safety
    ///
    /// The slot holds a `T` written by [`write`](RawSlot::write), whose
    /// publication this thread has acquired, and nobody else reads it.
    #[inline]
    pub(crate) unsafe fn read<T>(&self) -> T {
        #[cfg(not(loom))]
        // SAFETY: the caller's contract: a `T` is there, and ours alone.
        return unsafe { self.cell.get().cast::<T>().read() };
        #[cfg(loom)]
        // SAFETY: as above.
        return self.cell.with_mut(|p| unsafe { p.cast::<T>().read() });
    }
}
