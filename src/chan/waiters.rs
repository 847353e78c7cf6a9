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
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, RawSlot};
use std::ptr::NonNull;
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

/// How many times a blocked thread yields its core before it parks. It does
/// not spin first.
///
/// Measured with `examples/bench_table` on the 2-vCPU machines, where waking a
/// parked thread costs 1.4–50 µs, a spinning round trip ~130 ns and a
/// `yield_now` ~0.5 µs. The handoff workloads run more threads than cores
/// (mpsc/mpmc: 5 and 8 threads; and other processes share the cores), so a
/// spinning waiter burns the time slice its counterpart needs in order to
/// hand it anything. The former 64 spin rounds (~1,000 `spin_loop`s, 15–20 µs)
/// then 32 yields put the handoff rows at 5.4x kanal (geometric mean; cells up
/// to 17x, the time going to spinning, not to parking); yielding from the
/// first check puts them at 1.2–1.3x, and a spin phase of even ~1 µs made
/// them 2–3x again. kanal does the same (256 yields, no spin). 256 yields last
/// ~0.1 ms on an idle core before the thread parks.
#[cfg(not(loom))]
const YIELDS: u32 = 256;

/// One party waiting on one or more channel operations.
pub(crate) struct Waiter {
    state: AtomicUsize,
    notified: AtomicBool,
    /// The thread to unpark; `None` for a task, whose entries carry a `Waker`.
    thread: Option<Thread>,
    /// Solo entries (see [`Entry::solo`]): set with `Release` by the claimer
    /// when it is done with the waiter (for a direct receive: the value is
    /// in `slot`); cleared by the owner, who then takes the value.
    done: AtomicBool,
    slot: RawSlot,
}

// SAFETY: every field but `slot` is `Sync`. `slot` has one writer, the
// counterpart that claimed the direct entry (one per round, under the
// channel lock), which writes it before publishing `done` with `Release`;
// and one reader, the owner, after it has read `done == true` with
// `Acquire`, or under that lock (see `Entry::release_with` and `take`).
unsafe impl Sync for Waiter {}

impl Waiter {
    /// A waiter for the current thread.
    pub(crate) fn for_thread() -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicBool::new(false),
            thread: Some(thread::current()),
            done: AtomicBool::new(false),
            slot: RawSlot::new(),
        }
    }

    /// A waiter for a task; its entries carry the task's `Waker`.
    pub(crate) fn for_task() -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicBool::new(false),
            thread: None,
            done: AtomicBool::new(false),
            slot: RawSlot::new(),
        }
    }

    /// Starts a new round. Only the owner calls it, and only while no channel
    /// holds an entry of this waiter, so nobody races with the stores.
    pub(crate) fn reset(&self) {
        debug_assert!(
            !self.done.load(Ordering::Relaxed),
            "a solo round's end not taken by its owner"
        );
        self.state.store(WAITING, Ordering::Relaxed);
        self.notified.store(false, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Relaxed) == WAITING
    }

    /// A counterpart claims case `case`: true if it won.
    #[inline]
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

    /// The owner of a solo entry: true if a claimer released it (see
    /// [`Entry::solo`]); clears the mark. After a direct receive, the value
    /// is then in the slot: take it with [`take`](Waiter::take) instead.
    #[inline]
    pub(crate) fn take_done(&self) -> bool {
        if !self.done.load(Ordering::Acquire) {
            return false;
        }
        self.done.store(false, Ordering::Relaxed);
        true
    }

    /// The owner of a direct entry takes the value a claimer moved in, if
    /// there is one. `T` must be the type of that entry's channel.
    #[inline]
    pub(crate) fn take<T>(&self) -> Option<T> {
        if !RawSlot::fits::<T>() || !self.take_done() {
            return None;
        }
        // SAFETY: `done` was published after the write of a `T` (the owner
        // registered this waiter's direct entry on a channel of `T`, and its
        // claimer moved that channel's value in: `Entry::release_with`),
        // and only the owner reads it.
        Some(unsafe { self.slot.read::<T>() })
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

    /// Marks the waiter as asked to look again without claiming it (a
    /// channel closed); the caller then wakes it.
    pub(crate) fn set_notified(&self) {
        self.notified.store(true, Ordering::Release);
    }

    /// True once a case fired or the waiter was notified.
    fn done(&self) -> bool {
        self.state.load(Ordering::Acquire) != WAITING || self.notified.load(Ordering::Acquire)
    }

    /// Blocks the owning thread until a case fires, the waiter is notified,
    /// or `deadline` passes. Returns false only on the deadline.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        #[cfg(not(loom))]
        for _ in 0..YIELDS {
            if self.done() {
                return true;
            }
            // A yield can give the core away for a whole time slice: keep
            // the deadline (a vDSO clock read is cheap beside the syscall).
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return self.done();
            }
            thread::yield_now();
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

/// A task waiter, from this thread's pool when it has one.
///
/// Every `send().await`/`recv().await` that has to wait needs a waiter; tasks
/// of one interpreter wait and finish on the same thread, so a small pool
/// turns an allocation and a free per wait into two `Vec` operations.
pub(crate) fn task_waiter() -> Arc<Waiter> {
    #[cfg(not(loom))]
    if let Some(w) = TASK_WAITERS
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
    {
        return w;
    }
    Arc::new(Waiter::for_task())
}

/// Gives a task waiter back to this thread's pool, unless a channel still
/// holds it (then it is simply dropped when that reference goes).
#[inline(never)]
pub(crate) fn recycle_task_waiter(w: Arc<Waiter>) {
    #[cfg(not(loom))]
    if Arc::strong_count(&w) == 1 {
        let _ = TASK_WAITERS.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < TASK_POOL {
                p.push(w);
            }
        });
    }
    #[cfg(loom)]
    drop(w);
}

#[cfg(not(loom))]
const TASK_POOL: usize = 32;

#[cfg(not(loom))]
thread_local! {
    static TASK_WAITERS: std::cell::RefCell<Vec<Arc<Waiter>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One case of one waiter, queued in one channel.
pub(crate) struct Entry {
    waiter: WaiterRef,
    pub(crate) case: usize,
    /// The task to wake; `None` for a thread waiter (it is unparked).
    pub(crate) waker: Option<Waker>,
    /// A receive that takes its value from the waiter: see [`Entry::solo`].
    pub(crate) direct: bool,
}

/// How an entry refers to its waiter.
enum WaiterRef {
    /// With a reference of its own: blocking operations and selects, whose
    /// owners count on `Arc::strong_count` to reuse their waiters.
    Counted(Arc<Waiter>),
    /// Borrowed from a single async operation's `Registration`, which keeps
    /// its `Arc` until the entry is gone (see [`Entry::solo`]).
    Solo(NonNull<Waiter>),
}

// SAFETY: a `Solo` pointer is a shared reference to a `Waiter` (which is
// `Sync`) that its owner keeps alive while the entry exists (`Entry::solo`);
// sending the entry to another thread sends that reference.
unsafe impl Send for WaiterRef {}

impl Entry {
    #[inline]
    pub(crate) fn new(waiter: &Arc<Waiter>, case: usize, waker: Option<&Waker>) -> Entry {
        Entry {
            waiter: WaiterRef::Counted(waiter.clone()),
            case,
            waker: waker.cloned(),
            direct: false,
        }
    }

    /// The entry of a single async operation (case 0, not a select), which
    /// costs no reference count. Only the channel lock orders its claim, so
    /// the claim is a store, not a CAS; and whoever claims it finishes with
    /// the waiter by one `Release` store of `done`, after which it never
    /// touches the waiter again:
    ///
    /// - a claimed offer is removed, then `done` is set: the woken sender
    ///   completes without locking the channel again;
    /// - a `direct` receive (one whose `T` fits the waiter's slot) is
    ///   removed, its value moved into the waiter, then `done` is set: the
    ///   woken receiver takes the value without locking the channel again
    ///   (kanal's and Go's direct hand-off to a parked receiver).
    ///
    /// # Safety
    ///
    /// The caller (a `Registration`) keeps `waiter` alive, and does not
    /// reuse it for another round, until the entry is gone: until it removed
    /// the entry under the channel lock, or found it removed under that
    /// lock, or read `done == true`. It never aborts the round outside the
    /// lock.
    #[inline]
    pub(crate) unsafe fn solo(waiter: &Arc<Waiter>, waker: Option<&Waker>, direct: bool) -> Entry {
        Entry {
            waiter: WaiterRef::Solo(NonNull::from(&**waiter)),
            case: 0,
            waker: waker.cloned(),
            direct,
        }
    }

    #[inline]
    pub(crate) fn waiter(&self) -> &Waiter {
        match &self.waiter {
            WaiterRef::Counted(w) => w,
            // SAFETY: the owner keeps the waiter alive while the entry
            // exists (`Entry::solo`'s contract).
            WaiterRef::Solo(p) => unsafe { p.as_ref() },
        }
    }

    #[inline]
    pub(crate) fn is(&self, waiter: &Arc<Waiter>, case: usize) -> bool {
        self.case == case && std::ptr::eq(self.waiter(), &**waiter)
    }

    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        match &self.waiter {
            WaiterRef::Counted(w) => w.try_claim(self.case),
            WaiterRef::Solo(_) => {
                // Queued, a solo entry is always waiting: its owner neither
                // aborts nor leaves a claimed one queued unless it holds a
                // value (and claimers skip those).
                let w = self.waiter();
                debug_assert!(w.is_waiting(), "a claimed solo entry still queued");
                w.state.store(SELECTED_BASE, Ordering::Relaxed);
                true
            }
        }
    }

    /// The claimer is done with a removed entry: a solo owner may now
    /// complete without the lock. The entry must not be used afterwards.
    #[inline]
    pub(crate) fn release(self) {
        if let WaiterRef::Solo(_) = self.waiter {
            self.waiter().done.store(true, Ordering::Release);
        }
    }

    /// The claimer of a direct entry, removed from its queue, moves the
    /// value into the waiter and releases it.
    ///
    /// # Safety
    ///
    /// The entry was made by [`Entry::solo`] with `direct` on a channel of
    /// `T`, and the caller claimed it.
    #[inline]
    pub(crate) unsafe fn release_with<T>(self, value: T) {
        debug_assert!(self.direct && RawSlot::fits::<T>());
        // SAFETY: the caller's contract: this is the round's one claimer,
        // of a direct entry on a channel of `T`, whose owner emptied the
        // slot before registering.
        unsafe { self.waiter().slot.write(value) };
        self.release();
    }

    /// The wake-up owed to this entry's owner, to run once the channel's lock
    /// is released. A task's waker is taken: a claimed or notified entry is
    /// never woken twice, and a re-poll that finds it waiting stores a new one.
    #[inline]
    pub(crate) fn wake(&mut self) -> Deferred {
        match (self.waker.take(), &self.waiter) {
            (Some(w), _) => Deferred::Wake(w),
            // A solo entry is a task's, with a waker, or without one yet
            // (a `Sink` accepted the value but was not polled since).
            (None, WaiterRef::Solo(_)) => Deferred::Nothing,
            // The thread handle, not the waiter: holding a reference to the
            // waiter until after the unlock would make its owner, woken
            // already, see it shared and allocate a fresh one (measured: 4x
            // slower buffered mpmc).
            (None, WaiterRef::Counted(w)) => match &w.thread {
                Some(t) => Deferred::Unpark(t.clone()),
                None => Deferred::Nothing,
            },
        }
    }

    /// As [`wake`](Entry::wake), for a notification that claims nothing.
    pub(crate) fn notify(&mut self) -> Deferred {
        self.waiter().set_notified();
        self.wake()
    }

    /// Replaces the stored waker if the task's waker changed.
    /// The old waker is returned, to be dropped outside the lock.
    pub(crate) fn update_waker(&mut self, waker: &Waker) -> Option<Deferred> {
        match &self.waker {
            Some(w) if w.will_wake(waker) => None,
            _ => self.waker.replace(waker.clone()).map(Deferred::Drop),
        }
    }
}

/// Work owed once a channel's lock is released. Waking a task runs executor
/// code, and dropping a waker may drop a whole task (whose futures use
/// channels): neither may run under the lock, where re-entering the same
/// channel would spin forever. Unparking a thread is a syscall: doing it after
/// the unlock also keeps the critical section short. (tokio's `WakeList`.)
pub(crate) enum Deferred {
    /// Unpark a waiting thread.
    Unpark(Thread),
    /// Wake a task.
    Wake(Waker),
    /// Drop a waker.
    Drop(Waker),
    /// A task entry whose waker was already taken.
    Nothing,
}

impl Deferred {
    pub(crate) fn run(self) {
        match self {
            Deferred::Unpark(t) => t.unpark(),
            Deferred::Nothing => {}
            Deferred::Wake(w) => w.wake(),
            Deferred::Drop(w) => drop(w),
        }
    }
}

/// The deferred work of one critical section. Most sections owe nothing or
/// one wake-up, so the first item is held inline and "anything owed?" is one
/// test of it, which every unlock makes (a `SmallVec`'s length is a branch on
/// whether it spilled). A close that wakes many fills `rest`.
#[derive(Default)]
pub(crate) struct DeferredList {
    /// Set whenever the list is not empty.
    first: Option<Deferred>,
    /// The items after `first`.
    rest: Vec<Deferred>,
}

impl DeferredList {
    pub(crate) const fn new() -> DeferredList {
        DeferredList {
            first: None,
            rest: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    #[inline]
    pub(crate) fn push(&mut self, d: Deferred) {
        if self.first.is_none() {
            self.first = Some(d);
        } else {
            self.push_rest(d);
        }
    }

    #[cold]
    fn push_rest(&mut self, d: Deferred) {
        self.rest.push(d);
    }

    /// The one item, if the list holds exactly one: it is taken out.
    #[inline(always)]
    pub(crate) fn take_single(&mut self) -> Option<Deferred> {
        if self.rest.is_empty() {
            self.first.take()
        } else {
            None
        }
    }

    /// Moves every item to the end of `out`.
    pub(crate) fn move_to(&mut self, out: &mut DeferredList) {
        if let Some(d) = self.first.take() {
            out.push(d);
            for d in self.rest.drain(..) {
                out.push(d);
            }
        }
    }

    /// Runs every item, in order.
    pub(crate) fn run_all(self) {
        for d in self.first.into_iter().chain(self.rest) {
            d.run();
        }
    }
}

/// The index of the entry of wait queue `q` that `is_it` picks (an owner
/// looking for its own), searched from both ends at once.
///
/// Owners come back for their entries in the order their tasks run, and
/// after a `close` wakes a whole queue that is the queue's order or its
/// reverse (an interpreter runs the most recent wake first). Searched from
/// one end only, a million receivers woken by a close took a quadratic
/// number of steps to leave; from both ends, either order finds every
/// entry at once.
#[inline]
pub(crate) fn find_entry<E>(
    q: &std::collections::VecDeque<E>,
    mut is_it: impl FnMut(&E) -> bool,
) -> Option<usize> {
    let (mut lo, mut hi) = (0, q.len());
    while lo < hi {
        if is_it(&q[lo]) {
            return Some(lo);
        }
        lo += 1;
        if lo == hi {
            break;
        }
        hi -= 1;
        if is_it(&q[hi]) {
            return Some(hi);
        }
    }
    None
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{find_entry, Deferred, DeferredList};
    use std::sync::{Arc, Mutex};
    use std::task::{Wake, Waker};

    /// A waker that appends its number to a shared log when woken.
    struct Logged(u32, Arc<Mutex<Vec<u32>>>);
    impl Wake for Logged {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn wake(n: u32, log: &Arc<Mutex<Vec<u32>>>) -> Deferred {
        Deferred::Wake(Waker::from(Arc::new(Logged(n, log.clone()))))
    }

    #[test]
    fn deferred_list_keeps_order_through_every_path() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut list = DeferredList::new();
        assert!(list.is_empty());
        assert!(list.take_single().is_none());

        list.push(wake(1, &log));
        assert!(!list.is_empty());
        list.take_single().expect("one item").run();
        assert!(list.is_empty());

        for n in 2..=4 {
            list.push(wake(n, &log));
        }
        // More than one: `take_single` leaves them all in place.
        assert!(list.take_single().is_none());
        let mut out = DeferredList::new();
        out.push(wake(5, &log));
        list.move_to(&mut out);
        assert!(list.is_empty());
        out.run_all();
        assert_eq!(*log.lock().unwrap(), [1, 5, 2, 3, 4]);
    }

    #[test]
    fn find_entry_finds_every_entry_and_only_it() {
        for len in 0..9usize {
            let q: std::collections::VecDeque<usize> = (0..len).collect();
            for want in 0..len + 1 {
                let mut looked = 0;
                let got = find_entry(&q, |&x| {
                    looked += 1;
                    x == want
                });
                assert_eq!(got, q.iter().position(|&x| x == want), "len {len}");
                // Each entry is looked at once at most; the two ends at once.
                assert!(looked <= len);
                if want < len {
                    assert!(looked <= 2 * want.min(len - 1 - want) + 2);
                }
            }
        }
    }
}
