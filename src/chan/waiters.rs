//! The one wait/wake mechanism behind every blocking and async operation.
//!
//! A [`Waiter`] is one party waiting for one of several operations: a parked
//! thread (`recv_blocking`, `select_blocking!`) or a task (`recv().await`,
//! `select!`). It is registered in the wait queues of one or more channels as
//! [`Entry`]s, one per case, all sharing the waiter's `state`. A counterpart
//! that can complete case `i` *claims* the waiter with one CAS on that state
//! (`WAITING -> selected(i)`), so at most one case of a select ever fires, and
//! then hands the value over in the entry, under that channel's lock.
//! The owner gives up (timeout, drop, re-poll) with the CAS
//! `WAITING -> ABORTED`; when that CAS fails, a case has already fired.
//! This is the claim step of crossbeam-channel's `Context::try_select` and of
//! Go's `selectgo`.
//!
//! Notifications that are not claims (a channel closed; a select must look
//! again) set `notified` and wake the waiter without touching `state`.

use crate::sync::thread::{self, Thread};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Instant;

/// `state`: the waiter is registered and no case has fired. Owners set it
/// (with a plain store) only while no channel holds an entry of theirs.
pub(crate) const WAITING: usize = 0;
/// `state`: the owner gave up this round (timed out, was dropped, or is
/// re-polling). Set by the owner's CAS from `WAITING`; no counterpart may
/// claim the waiter afterwards. Cleared by the owner's next `reset`.
pub(crate) const ABORTED: usize = 1;
/// `state >= SELECTED_BASE`: case `state - SELECTED_BASE` fired. Set by the
/// counterpart's CAS from `WAITING`, while it holds the lock of that case's
/// channel; it then moves the value into or out of the entry before unlocking.
pub(crate) const SELECTED_BASE: usize = 2;

/// How many `spin_loop` rounds and `yield_now` calls a blocked thread tries
/// before it parks. On 2-vCPU machines waking a parked thread costs 1.4–50 µs
/// while a spinning handoff costs ~130 ns, so a short spin-then-yield phase
/// turns most handoffs into the cheap kind (kanal does the same).
#[cfg(not(loom))]
const SPINS: u32 = 64;
#[cfg(not(loom))]
const YIELDS: u32 = 32;

/// One party waiting on one or more channel operations.
pub(crate) struct Waiter {
    state: AtomicUsize,
    notified: AtomicBool,
    /// The thread to unpark; `None` for a task, whose entries carry a `Waker`.
    thread: Option<Thread>,
}

impl Waiter {
    /// A waiter for the current thread.
    pub(crate) fn for_thread() -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicBool::new(false),
            thread: Some(thread::current()),
        }
    }

    /// A waiter for a task; its entries carry the task's `Waker`.
    pub(crate) fn for_task() -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicBool::new(false),
            thread: None,
        }
    }

    /// Starts a new round. Only the owner calls it, and only while no channel
    /// holds an entry of this waiter, so nobody races with the stores.
    pub(crate) fn reset(&self) {
        self.state.store(WAITING, Ordering::Relaxed);
        self.notified.store(false, Ordering::Relaxed);
    }

    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Relaxed) == WAITING
    }

    /// A counterpart claims case `case`: true if it won.
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        self.state
            .compare_exchange(
                WAITING,
                SELECTED_BASE + case,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The owner gives up this round. `Ok(())`: no case fired and none can
    /// now. `Err(case)`: `case` fired first.
    pub(crate) fn abort(&self) -> Result<(), usize> {
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(ABORTED) => Ok(()),
            Err(s) => Err(s - SELECTED_BASE),
        }
    }

    /// Asks the owner to look again without claiming it (a channel closed).
    pub(crate) fn notify(&self, waker: Option<&Waker>) {
        self.notified.store(true, Ordering::Release);
        self.wake(waker);
    }

    pub(crate) fn wake(&self, waker: Option<&Waker>) {
        match (waker, &self.thread) {
            (Some(w), _) => w.wake_by_ref(),
            (None, Some(t)) => t.unpark(),
            (None, None) => {}
        }
    }

    /// True once a case fired or the waiter was notified.
    fn done(&self) -> bool {
        self.state.load(Ordering::Acquire) != WAITING || self.notified.load(Ordering::Acquire)
    }

    /// Blocks the owning thread until a case fires, the waiter is notified,
    /// or `deadline` passes. Returns false only on the deadline.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        #[cfg(not(loom))]
        {
            for i in 0..SPINS {
                if self.done() {
                    return true;
                }
                for _ in 0..(1 << i.min(4)) {
                    std::hint::spin_loop();
                }
            }
            for _ in 0..YIELDS {
                if self.done() {
                    return true;
                }
                thread::yield_now();
            }
        }
        loop {
            if self.done() {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return self.done();
                    }
                    thread::park_timeout(d - now);
                }
            }
        }
    }
}

/// Runs `f` with this thread's waiter, reset for a new round.
///
/// The waiter is cached per thread (as crossbeam caches its `Context`), so a
/// blocking operation allocates nothing. A waiter still referenced from a
/// channel is never reused: `f` always removes its entries before returning,
/// and a fresh waiter is made if anything still holds the cached one.
pub(crate) fn with_thread_waiter<R>(f: impl FnOnce(&Arc<Waiter>) -> R) -> R {
    #[cfg(not(loom))]
    {
        thread_local! {
            static CACHED: std::cell::RefCell<Option<Arc<Waiter>>> = const { std::cell::RefCell::new(None) };
        }
        let cached = CACHED
            .try_with(|c| {
                let mut c = c.borrow_mut();
                match c.as_ref() {
                    Some(w) if Arc::strong_count(w) == 1 => Some(w.clone()),
                    _ => {
                        let w = Arc::new(Waiter::for_thread());
                        *c = Some(w.clone());
                        Some(w)
                    }
                }
            })
            .ok()
            .flatten();
        let waiter = cached.unwrap_or_else(|| Arc::new(Waiter::for_thread()));
        waiter.reset();
        f(&waiter)
    }
    #[cfg(loom)]
    {
        let waiter = Arc::new(Waiter::for_thread());
        f(&waiter)
    }
}

/// One case of one waiter, queued in one channel.
pub(crate) struct Entry {
    pub(crate) waiter: Arc<Waiter>,
    pub(crate) case: usize,
    /// The task to wake; `None` for a thread waiter (it is unparked).
    pub(crate) waker: Option<Waker>,
}

impl Entry {
    pub(crate) fn new(waiter: &Arc<Waiter>, case: usize, waker: Option<&Waker>) -> Entry {
        Entry {
            waiter: waiter.clone(),
            case,
            waker: waker.cloned(),
        }
    }

    pub(crate) fn is(&self, waiter: &Arc<Waiter>, case: usize) -> bool {
        self.case == case && Arc::ptr_eq(&self.waiter, waiter)
    }

    pub(crate) fn try_claim(&self) -> bool {
        self.waiter.try_claim(self.case)
    }

    pub(crate) fn wake(&self) {
        self.waiter.wake(self.waker.as_ref());
    }

    pub(crate) fn notify(&self) {
        self.waiter.notify(self.waker.as_ref());
    }

    /// Replaces the stored waker if the task's waker changed.
    pub(crate) fn update_waker(&mut self, waker: &Waker) {
        match &self.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }
}
