//! The channel locks: a test-and-test-and-set spinlock that backs off to
//! `yield_now`, never to the kernel.
//!
//! Every channel operation holds one for a few dozen instructions (a queue
//! push or pop and a scan of a short waiter queue), so parking on contention
//! would cost far more than the critical section. On 2-vCPU machines a holder
//! can be preempted; backing off to `yield_now` lets it run again.
//!
//! A `select` locks all of its channels at once (in address order, as Go's
//! `sellock` does) to decide atomically that no case is ready: the
//! [`RawLock`] half serves that, without knowing the channel's type.
//! Under loom the flag is a loom `Mutex<()>`: loom cannot explore a spin
//! loop, and its mutex has the same acquire/release edges.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

/// The type-independent half of a [`Lock`]: the flag.
#[cfg(not(loom))]
pub(crate) struct RawLock {
    locked: std::sync::atomic::AtomicBool,
}

#[cfg(not(loom))]
impl RawLock {
    fn new() -> RawLock {
        RawLock {
            locked: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Locks without access to the value: see [`Lock::held`].
    #[inline]
    pub(crate) fn lock(&self) -> RawGuard<'_> {
        use std::sync::atomic::Ordering;
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        RawGuard { raw: self }
    }

    #[cold]
    fn lock_contended(&self) {
        use std::sync::atomic::Ordering;
        let backoff = crossbeam_utils::Backoff::new();
        loop {
            // Spin on a plain load so waiting cores share the line read-only.
            while self.locked.load(Ordering::Relaxed) {
                backoff.snooze();
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
}

/// Holds a [`RawLock`] until dropped.
#[cfg(not(loom))]
pub(crate) struct RawGuard<'a> {
    raw: &'a RawLock,
}

#[cfg(not(loom))]
impl Drop for RawGuard<'_> {
    // Inline across crates: without it every unlock in a caller's generic
    // channel code is a call (seen in profiles of the seq workload).
    #[inline]
    fn drop(&mut self) {
        self.raw
            .locked
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

/// Under loom the flag is loom's `Mutex<()>`: loom cannot explore spin
/// loops, and its mutex checks the same acquire/release edges.
#[cfg(loom)]
pub(crate) struct RawLock(loom::sync::Mutex<()>);

#[cfg(loom)]
pub(crate) struct RawGuard<'a>(#[allow(dead_code)] loom::sync::MutexGuard<'a, ()>);

#[cfg(loom)]
impl RawLock {
    fn new() -> RawLock {
        RawLock(loom::sync::Mutex::new(()))
    }

    pub(crate) fn lock(&self) -> RawGuard<'_> {
        RawGuard(self.0.lock().unwrap())
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
            raw: RawLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        LockGuard {
            _held: self.raw.lock(),
            lock: self,
        }
    }

    pub(crate) fn raw(&self) -> &RawLock {
        &self.raw
    }

    /// The value as a [`Held`] handle, for a caller that holds the lock.
    ///
    /// # Safety
    ///
    /// The caller holds this lock for as long as the handle lives, and makes
    /// no other reference to the value meanwhile (through another handle or
    /// a `LockGuard`).
    pub(crate) unsafe fn held(&self) -> Held<'_, T> {
        Held {
            // SAFETY: `UnsafeCell::get` is never null.
            ptr: unsafe { std::ptr::NonNull::new_unchecked(self.value.get()) },
            _lock: std::marker::PhantomData,
        }
    }
}

/// Access to a locked value that makes its `&mut` only when used, for as
/// long as each use lasts. A guard that kept a `&mut T` for its whole life
/// would hand that reference, as a field, into every function it is passed
/// to by value: the reference would stay live (protected, in Stacked
/// Borrows terms) after the guard unlocked inside that function, while the
/// next holder of the lock made its own (Miri reports exactly that).
pub(crate) struct Held<'a, T> {
    ptr: std::ptr::NonNull<T>,
    _lock: std::marker::PhantomData<&'a mut T>,
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the lock is held while the handle lives (`Lock::held`'s
        // contract), and this borrow of the handle bounds the reference.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for Held<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // made through the handle.
        unsafe { self.ptr.as_mut() }
    }
}

pub(crate) struct LockGuard<'a, T> {
    /// Released when the guard drops.
    _held: RawGuard<'a>,
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
