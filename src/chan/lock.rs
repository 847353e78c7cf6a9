//! The per-channel lock: a test-and-test-and-set spinlock that backs off to
//! `yield_now`, never to the kernel.
//!
//! Every channel operation holds it for a few dozen instructions (a `VecDeque`
//! push or pop and a scan of a short waiter queue), so parking on contention
//! would cost far more than the critical section. On 2-vCPU machines a holder
//! can be preempted; backing off to `yield_now` lets it run again.
//!
//! A `select` locks all of its channels at once (in address order, as Go's
//! `sellock` does) to decide atomically that no case is ready: the
//! [`RawLock`] half serves that, without knowing the channel's type.
//! Under loom the flag is loom's atomic and the backoff is loom's
//! `yield_now`, so the models check the lock itself too.

use crate::sync::{AtomicBool, Ordering};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

/// The type-independent half of a [`Lock`]: the flag.
pub(crate) struct RawLock {
    locked: AtomicBool,
}

impl RawLock {
    #[inline]
    fn acquire(&self) {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.acquire_contended();
        }
    }

    #[cold]
    fn acquire_contended(&self) {
        #[cfg(not(loom))]
        let backoff = crossbeam_utils::Backoff::new();
        loop {
            // Spin on a plain load so waiting cores share the line read-only.
            while self.locked.load(Ordering::Relaxed) {
                #[cfg(not(loom))]
                backoff.snooze();
                #[cfg(loom)]
                loom::thread::yield_now();
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    #[inline]
    fn release(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Locks without access to the value: see [`Lock::assume_locked`].
    pub(crate) fn lock(&self) -> RawGuard<'_> {
        self.acquire();
        RawGuard { raw: self }
    }
}

/// Holds a [`RawLock`] until dropped.
pub(crate) struct RawGuard<'a> {
    raw: &'a RawLock,
}

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        self.raw.release();
    }
}

pub(crate) struct Lock<T> {
    raw: RawLock,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to the value to one holder at a time (the
// flag is taken by an Acquire CAS and released by a Release store), so
// `&Lock<T>` gives `&mut T` to one thread at a time: what `Mutex<T>: Sync`
// needs, with `T: Send`.
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: moving the lock moves the `T` it owns.
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Lock {
            raw: RawLock {
                locked: AtomicBool::new(false),
            },
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        self.raw.acquire();
        LockGuard { lock: self }
    }

    pub(crate) fn raw(&self) -> &RawLock {
        &self.raw
    }

    /// The value, for a caller that already holds the lock through a
    /// [`RawGuard`] of [`raw`](Lock::raw).
    ///
    /// # Safety
    ///
    /// The caller must hold this lock's `RawGuard` for as long as the returned
    /// reference lives, and must not create another reference to the value
    /// (through this method or a `LockGuard`) in that time.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn assume_locked(&self) -> &mut T {
        // SAFETY: the caller holds the lock and keeps this the only
        // reference (this function's contract).
        unsafe { &mut *self.value.get() }
    }
}

pub(crate) struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while it holds the lock (see `lock`),
        // so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow
        // through this guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.release();
    }
}
