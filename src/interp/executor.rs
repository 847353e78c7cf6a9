//! The single-threaded executor at the heart of every interpreter.
//!
//! Each interpreter owns one [`Local`] (its run queue, its live-task registry,
//! its timer queue and its state registry), reachable only from its own
//! thread through a thread-local, and one [`Shared`] (its [`Inbox`] and
//! counters), reachable from anywhere.
//!
//! Tasks are async-task cells. Their schedule function decides the wake path:
//!
//! - **local**: the waker runs on the interpreter's own thread (a task woke a
//!   neighbour, a local channel, a local timer). The runnable is pushed on the
//!   `RefCell<VecDeque>` run queue: no lock, no atomic beyond async-task's own
//!   state word;
//! - **remote**: any other thread. The runnable goes through the [`Inbox`]
//!   (a mutex-protected injection queue) and the interpreter's thread is
//!   unparked if, and only if, it is parked.
//!
//! # Run order
//!
//! The most recent wake runs first (the front of the run queue), as Go's
//! `runnext` slot and the LIFO end of a work-stealing deque do: the woken
//! task finds in the cache what its waker just wrote, and a spawned task
//! runs before its spawner's older neighbours, as a call would, so a tree of
//! tasks is explored depth first and holds a few thousand tasks at once
//! instead of all of them. Remote wakes drained from the inbox count as new.
//! Two rules keep it fair (see [`Local::next_runnable`]): every 64th pick
//! takes the oldest runnable, so none waits forever behind a busy pair; and
//! a task that woke itself while being polled (`yield_now`) goes to a
//! separate `yielded` queue, behind every other ready task.
//!
//! # Shutdown and thread confinement
//!
//! A task's future may be `!Send`, so it must be polled and dropped on its
//! interpreter's thread only. Every task that has been polled once is in the
//! `tasks` registry until its future is dropped. Shutdown cancels: it wakes
//! every registered task and drops every runnable it finds (in the run queue
//! and the inbox) without running it, until the registry is empty. Only then
//! does the thread exit. A runnable that reaches the inbox afterwards belongs
//! to a task that was never polled (its future is still the `Send` closure
//! given to [`Interpreter::spawn`](crate::Interpreter::spawn)), so it may be
//! dropped by whichever thread finds it.

use super::runtime::Monitor;
use super::state::StateMap;
use super::task::Panic;
use crate::context::TaskScope;
use crate::time::TimerQueue;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as StdOrdering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

#[cfg(loom)]
use loom::sync::Mutex;
#[cfg(not(loom))]
use std::sync::Mutex;

use crate::sync::thread::{self as sthread, Thread};
use crate::sync::{AtomicUsize, Ordering};

/// How many runnables one turn of the loop runs before it looks at the inbox
/// and the timers again (fairness between local and remote work).
const BUDGET: usize = 64;
/// Every this many picks, the run queue takes its oldest runnable instead of
/// its newest (see `Local::next_runnable`).
const FAIR_EVERY: u32 = 64;
/// How long an idle interpreter spins, watching its inbox, before it parks.
///
/// Parking at once (a 1 µs spin) was chosen on a loaded 2-vCPU machine. On a
/// quiet one, a parked thread lets its vCPU halt and waking it costs tens of
/// microseconds. bench_table, same binaries, 1 µs against 20 µs:
/// pingpong_cross 52 µs against 1.6 µs per round trip on the quiet machine
/// and 9.7–12.6 µs against 4.5 µs with two CPU hogs running; share_frozen at
/// 64 B between two interpreters 791 ns against 114 ns quiet. Spinning and
/// then yielding for 50 µs did as well quiet, but with the hogs each
/// `yield_now` handed them a time slice: pingpong_cross 38–100 µs.
const IDLE_SPIN: Duration = Duration::from_micros(20);

/// `Shared::cpu` when the CPU is not known.
const NO_CPU: u32 = u32::MAX;

/// The CPU this thread runs on, or `NO_CPU` where that cannot be asked.
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn current_cpu() -> u32 {
    // SAFETY: sched_getcpu takes no arguments and touches no memory of ours;
    // it returns -1 on failure, which maps to NO_CPU.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).unwrap_or(NO_CPU)
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn current_cpu() -> u32 {
    NO_CPU
}

// ---------------------------------------------------------------------------
// The inbox: injection queue + park/unpark handshake
// ---------------------------------------------------------------------------

/// The largest buffer an inbox keeps after a drain (see `Inbox::drain_to_front`).
const SPARE_QUEUE: usize = 1024;

/// `Inbox::state`: nothing pushed since the owner last looked.
const EMPTY: usize = 0;
/// `Inbox::state`: the owner is parked (or about to) and must be unparked.
const PARKED: usize = 1;
/// `Inbox::state`: something was pushed (or a wake-up requested) since the
/// owner last consumed the notification; the owner must drain the queue.
const NOTIFIED: usize = 2;

/// The injection queue of one interpreter, with the handshake that parks and
/// unparks its thread.
///
/// Protocol: a pusher appends under the mutex, then calls `notify`, which
/// sets `NOTIFIED` and unparks the owner if the state was `PARKED`. The owner
/// consumes the notification (`NOTIFIED -> EMPTY`) *before* draining the
/// queue, so whatever was pushed before a consumed notification is seen by
/// the drain, and whatever is pushed after it sets `NOTIFIED` again. The owner
/// parks only through `EMPTY -> PARKED`; a failed CAS means a notification
/// arrived and it must not park. Thread unpark tokens cover the window
/// between `-> PARKED` and the actual park. This is the handshake of tokio's
/// `park` and is checked by `tests/loom_executor.rs`.
pub struct Inbox<T> {
    queue: Mutex<VecDeque<T>>,
    state: AtomicUsize,
    thread: Thread,
}

impl<T> Inbox<T> {
    /// An inbox owned by the current thread.
    pub fn new() -> Inbox<T> {
        Inbox {
            queue: Mutex::new(VecDeque::new()),
            state: AtomicUsize::new(EMPTY),
            thread: sthread::current(),
        }
    }

    /// Appends `item` (from any thread) and wakes the owner.
    pub fn push(&self, item: T) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(item);
        self.notify();
    }

    /// Asks the owner to look at its queues, unparking it if it is parked.
    pub fn notify(&self) {
        // Already notified: the owner will drain after consuming it, and our
        // push (under the mutex) is ordered before that drain.
        if self.state.load(Ordering::Acquire) == NOTIFIED {
            return;
        }
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            self.thread.unpark();
        }
    }

    /// Like [`notify`](Inbox::notify), without its already-notified
    /// shortcut: for a flag written outside the queue's mutex (shutdown).
    /// Its read-modify-write is ordered with the owner's consuming one, so
    /// the owner either consumes this notification (and then sees the flag)
    /// or finds it when it tries to park.
    pub fn notify_always(&self) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            self.thread.unpark();
        }
    }

    /// Owner only: consumes a pending notification. True if there was one:
    /// the owner must then [`drain`](Inbox::drain).
    pub fn take_notification(&self) -> bool {
        self.state.load(Ordering::Acquire) == NOTIFIED
            && self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// True if a notification is pending (a cheap check for idle spinning).
    pub fn is_notified(&self) -> bool {
        self.state.load(Ordering::Acquire) == NOTIFIED
    }

    /// Takes every queued item (from any thread).
    pub fn drain(&self) -> VecDeque<T> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Moves every queued item to the front of `out`, oldest first; returns
    /// how many. Whatever `out` held stays behind them, in its order (the
    /// run queue's fair picks rely on nothing being put behind a waiting
    /// runnable).
    ///
    /// When `out` is empty the two buffers are swapped, so the queue keeps
    /// `out`'s allocation: a pusher then writes into memory that is already
    /// there instead of allocating a buffer per batch (which the owner would
    /// free, a cross-thread free per wake-up). A large buffer left behind
    /// after a burst is given back.
    pub fn drain_to_front(&self, out: &mut VecDeque<T>) -> usize {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.len();
        if n == 0 {
            return 0;
        }
        if out.is_empty() {
            std::mem::swap(out, &mut *q);
            if q.capacity() > SPARE_QUEUE {
                q.shrink_to(SPARE_QUEUE);
            }
        } else {
            for item in q.drain(..).rev() {
                out.push_front(item);
            }
        }
        n
    }

    /// Number of queued items (from any thread).
    pub fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owner only: parks until notified or until `deadline`. Returns early at
    /// once if a notification is pending. The notification is consumed: the
    /// caller drains afterwards.
    pub fn park(&self, deadline: Option<Instant>) {
        if self.take_notification() {
            return;
        }
        if self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Only a pusher changes EMPTY, and only to NOTIFIED.
            self.state.store(EMPTY, Ordering::Release);
            return;
        }
        loop {
            match deadline {
                None => sthread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        // Timed out: leave PARKED, consuming any late notification.
                        self.state.swap(EMPTY, Ordering::AcqRel);
                        return;
                    }
                    sthread::park_timeout(d - now);
                }
            }
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
            // A spurious wake-up, or the timeout: loop to check the deadline.
        }
    }

    /// True if the owner is parked right now.
    pub fn is_parked(&self) -> bool {
        self.state.load(Ordering::Acquire) == PARKED
    }
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox::new()
    }
}

// ---------------------------------------------------------------------------
// Shared: what other threads see of an interpreter
// ---------------------------------------------------------------------------

/// Counters of one interpreter. Each has a single writer (the interpreter's
/// thread) except `remote_wakes`, so most are bumped with a plain load and
/// store: no locked instruction on the hot path.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) local_wakes: AtomicU64,
    pub(crate) remote_wakes: AtomicU64,
    pub(crate) parked_nanos: AtomicU64,
    pub(crate) timers_fired: AtomicU64,
}

/// Single-writer increment: a plain load and store, no locked instruction.
#[inline]
pub(crate) fn bump(c: &AtomicU64, by: u64) {
    c.store(
        c.load(StdOrdering::Relaxed).wrapping_add(by),
        StdOrdering::Relaxed,
    );
}

/// A task's runnable. Its metadata is the interpreter the task belongs to,
/// so that the schedule function ([`schedule_task`]) captures nothing: with a
/// zero-sized schedule function, async-task wakes a task with one CAS,
/// without the reference-count increment and decrement that a capturing one
/// costs per wake.
pub(crate) type Runnable = async_task::Runnable<std::sync::Arc<Shared>>;

/// The schedule function of every task: onto the run queue when woken on
/// its interpreter's thread, else through the interpreter's inbox.
///
/// A task that woke itself while it was being polled (`yield_now`, or a
/// future that asks to be polled again) goes to the `yielded` queue, behind
/// every other ready task; any other local wake goes to the front of the run
/// queue (see [`Local::next_runnable`]).
pub(crate) fn schedule_task(runnable: Runnable, info: async_task::ScheduleInfo) {
    // Local path; during shutdown too, which drops it from the queue:
    // never here, as the waker may run under a channel's lock.
    if let Some(local) = current_local_raw() {
        if std::ptr::eq(&*local.shared, &**runnable.metadata()) {
            local.local_wakes.set(local.local_wakes.get() + 1);
            if info.woken_while_running {
                local.yielded.borrow_mut().push_back(runnable);
            } else {
                local.queue.borrow_mut().push_front(runnable);
            }
            return;
        }
    }
    // Our own reference: once the runnable is in the inbox, the task (and
    // its metadata) may be run and freed before `inject` returns.
    let shared = std::sync::Arc::clone(runnable.metadata());
    shared.inject(runnable);
    if let Some(local) = current_local_raw() {
        // Kept for `idle_spin`; it replaces (and drops) the reference kept
        // by the previous remote wake, so this costs no more atomics than
        // dropping `shared` here would.
        drop(local.peer.replace(Some(shared)));
    }
}

/// The part of an interpreter other threads reach: its inbox and counters.
pub(crate) struct Shared {
    pub(crate) id: usize,
    pub(crate) name: String,
    pub(crate) inbox: Inbox<Runnable>,
    /// Set when shutdown starts: no new task runs from then on.
    pub(crate) closing: AtomicBool,
    /// Set when the executor has exited: runnables found afterwards are
    /// dropped by whoever finds them (they can only be never-polled tasks).
    pub(crate) dead: AtomicBool,
    pub(crate) counters: Counters,
    /// Live timers in the local timer queue (read by the deadlock monitor).
    pub(crate) timers: std::sync::atomic::AtomicUsize,
    /// The deadlock monitor of the runtime this interpreter belongs to.
    pub(crate) monitor: Option<std::sync::Arc<Monitor>>,
    /// The runtime this interpreter belongs to, for `Runtime::current()`.
    pub(crate) runtime: std::sync::OnceLock<std::sync::Weak<super::runtime::RtInner>>,
    /// The transfer counters of the interpreter's thread, and what they held
    /// when the interpreter started on it (a `block_on` executor runs on a
    /// thread that may have transferred before).
    pub(crate) transfer: (
        crate::transfer::ThreadCounter,
        crate::transfer::TransferStats,
    ),
    /// The CPU the interpreter's thread was last seen on (`NO_CPU` if
    /// unknown), written by that thread when it goes idle and when it
    /// wakes: see `Local::idle_spin`.
    pub(crate) cpu: std::sync::atomic::AtomicU32,
}

impl Shared {
    /// Called on the interpreter's own thread: it takes that thread's
    /// transfer counters.
    pub(crate) fn new(id: usize, name: String, monitor: Option<std::sync::Arc<Monitor>>) -> Shared {
        let counter = crate::transfer::thread_counter();
        let baseline = counter.snapshot();
        Shared {
            id,
            name,
            inbox: Inbox::new(),
            closing: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            counters: Counters::default(),
            timers: std::sync::atomic::AtomicUsize::new(0),
            monitor,
            runtime: std::sync::OnceLock::new(),
            transfer: (counter, baseline),
            cpu: std::sync::atomic::AtomicU32::new(NO_CPU),
        }
    }

    /// Remote path: through the inbox, unparking the thread if needed.
    ///
    /// Counted as a remote wake by the owner when it takes the runnable out
    /// (`Local::pull_inbox`): an increment here, from the waking thread,
    /// would write the line of counters the owner writes.
    pub(crate) fn inject(&self, runnable: Runnable) {
        self.inbox.push(runnable);
        if let Some(m) = &self.monitor {
            m.activity();
        }
        if self.dead.load(StdOrdering::SeqCst) {
            // The executor is gone (see the module docs): only never-polled
            // tasks can get here, whose futures are `Send`.
            drop(self.inbox.drain());
        }
    }
}

fn drop_quietly<T>(value: T) {
    // A future whose destructor panics must not take the interpreter down.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

// ---------------------------------------------------------------------------
// Local: what only the interpreter's thread sees
// ---------------------------------------------------------------------------

/// A registry of live tasks (those polled at least once), holding their
/// wakers so that shutdown can reach idle ones. A minimal slab.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
    len: usize,
}

impl Registry {
    fn insert(&mut self, waker: Waker) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(waker);
                i
            }
            None => {
                self.slots.push(Some(waker));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, key: usize) -> Option<Waker> {
        let w = self.slots.get_mut(key)?.take()?;
        self.len -= 1;
        self.free.push(key);
        Some(w)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn wakers(&self) -> Vec<Waker> {
        self.slots.iter().flatten().cloned().collect()
    }
}

/// The interpreter-thread side of an executor.
pub(crate) struct Local {
    pub(crate) shared: std::sync::Arc<Shared>,
    /// Ready tasks, the most recently woken at the front: see
    /// [`Local::next_runnable`].
    pub(crate) queue: RefCell<VecDeque<Runnable>>,
    /// Tasks that woke themselves while being polled (`yield_now`), oldest
    /// first.
    pub(crate) yielded: RefCell<VecDeque<Runnable>>,
    /// Runnables taken so far, for the fair picks of `next_runnable`.
    picks: Cell<u32>,
    pub(crate) tasks: RefCell<Registry>,
    pub(crate) timers: RefCell<TimerQueue>,
    pub(crate) state: StateMap,
    /// Set once shutdown has started on this thread.
    pub(crate) closed: Cell<bool>,
    /// The handle of the interpreter, for `Interpreter::current()`.
    pub(crate) owner: RefCell<Option<std::sync::Weak<super::interpreter::Owner>>>,
    /// Deadlock suspicion of a main executor: (activity seen, since when).
    pub(crate) suspect: Cell<Option<(u64, Instant)>>,
    /// Local wakes not yet added to `shared.counters.local_wakes`: counted
    /// here on the hot path, published after each batch.
    pub(crate) local_wakes: Cell<u64>,
    /// The interpreter this thread last woke a task of: the one most likely
    /// to be waiting for this thread's CPU (see `idle_spin`).
    pub(crate) peer: Cell<Option<std::sync::Arc<Shared>>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
    /// The `Local` that `CURRENT` holds, as a raw pointer (null when none):
    /// it has no destructor, so reading it on the wake path is one load,
    /// without the registration check and `RefCell` borrow of `CURRENT`.
    static CURRENT_PTR: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the current interpreter's `Local`, if this thread is one.
///
/// `f` runs under a shared borrow of the thread-local (no reference count
/// is touched); it must not enter or leave an interpreter.
pub(crate) fn with_local<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// The current interpreter's `Local`, if this thread is one, for the wake
/// paths: one load of a destructor-free thread-local, no `RefCell` borrow,
/// no reference count.
///
/// The reference must not be kept past the caller's frame, nor used across
/// code that could leave the interpreter (user code): the wake paths only
/// push on the run queue and count.
#[inline]
fn current_local_raw<'a>() -> Option<&'a Local> {
    let ptr = CURRENT_PTR.with(Cell::get);
    // SAFETY: `CURRENT_PTR` is non-null only while `CURRENT` holds the
    // `Rc<Local>` it points to (set in `Local::enter`, cleared in
    // `EnterGuard::drop` before that `Rc` is released), and it is read only
    // on its own thread; the callers use the reference briefly, running no
    // code that could leave the interpreter (see above).
    unsafe { ptr.as_ref() }
}

/// The current interpreter's `Local`, if this thread is one.
pub(crate) fn current_local() -> Option<Rc<Local>> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().cloned())
        .ok()
        .flatten()
}

impl Local {
    pub(crate) fn new(shared: std::sync::Arc<Shared>) -> Rc<Local> {
        Rc::new(Local {
            shared,
            queue: RefCell::new(VecDeque::with_capacity(64)),
            yielded: RefCell::new(VecDeque::new()),
            picks: Cell::new(0),
            tasks: RefCell::new(Registry::default()),
            timers: RefCell::new(TimerQueue::default()),
            state: StateMap::default(),
            closed: Cell::new(false),
            owner: RefCell::new(None),
            suspect: Cell::new(None),
            local_wakes: Cell::new(0),
            peer: Cell::new(None),
        })
    }

    /// Makes this the current interpreter of this thread until the guard drops.
    pub(crate) fn enter(self: &Rc<Local>) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        assert!(
            prev.is_none(),
            "subinterp: this thread already runs an interpreter (nested block_on or run)"
        );
        CURRENT_PTR.with(|p| p.set(Rc::as_ptr(self)));
        EnterGuard
    }

    /// Moves everything the inbox holds to the run queue.
    fn pull_inbox(&self) {
        if self.shared.inbox.take_notification() {
            self.drain_inbox();
        }
    }

    /// Moves the inbox's runnables to the run queue, counting them as
    /// remote wakes. Call after consuming a notification.
    fn drain_inbox(&self) {
        let n = self
            .shared
            .inbox
            .drain_to_front(&mut self.queue.borrow_mut());
        if n > 0 {
            bump(&self.shared.counters.remote_wakes, n as u64);
        }
    }

    /// Runs at most `BUDGET` runnables. Returns how many ran.
    fn run_batch(&self) -> usize {
        let _scope = TaskScope::enter();
        let mut ran = 0;
        while ran < BUDGET {
            let Some(runnable) = self.next_runnable() else {
                break;
            };
            ran += 1;
            // No `catch_unwind` here: a task's body catches the panics of
            // its poll and of its destructor (`TaskBody`).
            runnable.run();
        }
        bump(&self.shared.counters.polls, ran as u64);
        self.flush_wakes();
        ran
    }

    /// The next task to run: the most recently woken one, except that every
    /// `FAIR_EVERY`-th pick takes the oldest waiting one.
    ///
    /// Newest first keeps the data a waker just wrote hot in the cache, and
    /// runs a spawned task before its spawner's older neighbours, as a call
    /// would: a tree of tasks is explored depth first (Cilk's work-first
    /// order). A million-leaf skynet peaked at 19 MB resident this way,
    /// against 512 MB run oldest first, and ran 3.5x faster.
    ///
    /// The fair picks bound every wait. Wakes are only ever pushed in front,
    /// so a runnable with `k` others behind it runs within
    /// `2 * (k + 1) * FAIR_EVERY` picks however busy the front is; the
    /// `yielded` queue is served the same way, so a task that yields in a
    /// loop is neither starved nor able to hold anyone back.
    fn next_runnable(&self) -> Option<Runnable> {
        let picks = self.picks.get().wrapping_add(1);
        self.picks.set(picks);
        if picks % FAIR_EVERY == 0 {
            return self.oldest_runnable(picks / FAIR_EVERY % 2 == 0);
        }
        // The common pick touches the yielded queue only when nothing else
        // is ready.
        let newest = self.queue.borrow_mut().pop_front();
        newest.or_else(|| self.yielded.borrow_mut().pop_front())
    }

    /// A fair pick: the oldest of the run queue (its back) or of the yielded
    /// queue (its front), the one `queue_first` says first, else the other.
    #[cold]
    fn oldest_runnable(&self, queue_first: bool) -> Option<Runnable> {
        let mut queue = self.queue.borrow_mut();
        let mut yielded = self.yielded.borrow_mut();
        if queue_first {
            queue.pop_back().or_else(|| yielded.pop_front())
        } else {
            yielded.pop_front().or_else(|| queue.pop_back())
        }
    }

    /// True if no runnable is waiting on this thread.
    fn idle(&self) -> bool {
        self.queue.borrow().is_empty() && self.yielded.borrow().is_empty()
    }

    /// Publishes the local wakes counted since the last call.
    fn flush_wakes(&self) {
        let n = self.local_wakes.replace(0);
        if n > 0 {
            bump(&self.shared.counters.local_wakes, n);
        }
    }

    /// Fires due timers; returns the next deadline, if any.
    fn fire_timers(&self) -> Option<Instant> {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return None;
        }
        let now = Instant::now();
        let fired = timers.fire_due(now);
        if fired > 0 {
            bump(&self.shared.counters.timers_fired, fired as u64);
        }
        self.shared
            .timers
            .store(timers.live(), StdOrdering::Relaxed);
        timers.next_deadline()
    }

    /// Runs tasks until `main` completes (or forever if `main` is `None`,
    /// until shutdown is requested). `Err(Deadlock)` from the monitor.
    pub(crate) fn run<F: Future>(
        &self,
        main: Option<Pin<&mut F>>,
        main_waker: Option<&std::sync::Arc<MainWaker>>,
    ) -> Result<Option<F::Output>, super::runtime::Deadlock> {
        let mut main = main;
        let waker = main_waker.map(|w| Waker::from(w.clone()));
        loop {
            if let (Some(fut), Some(mw), Some(waker)) = (main.as_mut(), main_waker, &waker) {
                if mw.woken.swap(false, StdOrdering::AcqRel) {
                    let _scope = TaskScope::enter();
                    let mut cx = Context::from_waker(waker);
                    bump(&self.shared.counters.polls, 1);
                    if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                        return Ok(Some(v));
                    }
                }
            }
            if main.is_none() && self.shared.closing.load(StdOrdering::Acquire) {
                return Ok(None);
            }
            let ran = self.run_batch();
            self.pull_inbox();
            let next_timer = self.fire_timers();
            if ran > 0 || !self.idle() {
                continue;
            }
            {
                // After a burst of spawns, give the queue's memory back.
                let mut q = self.queue.borrow_mut();
                if q.capacity() > 4096 {
                    q.shrink_to(64);
                }
            }
            if main_waker.is_some_and(|w| w.woken.load(StdOrdering::Acquire)) {
                continue;
            }
            // Idle: spin a little for a remote wake, then park.
            if self.idle_spin() {
                continue;
            }
            // Shutdown may have been requested after the check at the top
            // of the loop, its notification consumed since by `pull_inbox`:
            // look again before parking, or the thread would sleep forever.
            if main.is_none() && self.shared.closing.load(StdOrdering::Acquire) {
                return Ok(None);
            }
            let timers_pending = self.timers.borrow().live() > 0;
            let monitor = self.shared.monitor.as_ref().filter(|_| main.is_some());
            let mut deadline = next_timer;
            if let Some(m) = monitor {
                if timers_pending {
                    self.suspect.set(None);
                } else {
                    if let Some(deadlock) = m.check(&self.shared, &self.suspect) {
                        return Err(deadlock);
                    }
                    // The main executor looks again now and then.
                    deadline = m.recheck_at();
                }
            }
            let parked = Instant::now();
            self.shared.inbox.park(deadline);
            self.shared.cpu.store(current_cpu(), StdOrdering::Relaxed);
            bump(
                &self.shared.counters.parked_nanos,
                parked.elapsed().as_nanos() as u64,
            );
            // The notification was consumed: drain now.
            self.drain_inbox();
        }
    }

    /// Spins briefly waiting for a notification (see `IDLE_SPIN`). True if
    /// one arrived.
    ///
    /// Spinning pays only while the thread we wait for runs on another CPU.
    /// Linux places a woken thread on its waker's CPU when it judges the
    /// other CPUs busy (a spinning thread looks busy), and two interpreters
    /// feeding each other then share one CPU: each spin burns the time the
    /// other needs, and as every wake-up places them together again, the
    /// pair can stay that way for seconds (a two-interpreter ring, 32
    /// values in flight, went from ~100 ns to ~800 ns per crossing: a
    /// 20 µs spin per batch). So the spin watches the interpreter this
    /// thread last woke: if that one is not parked and was last seen on
    /// this CPU, it is waiting for this CPU, and the thread parks at once
    /// to hand it over. (Yielding instead did as well for the ring but made
    /// a three-interpreter pipeline on two CPUs up to 3x slower: the
    /// yielder stays runnable, so three threads time-share two CPUs.)
    fn idle_spin(&self) -> bool {
        let start = Instant::now();
        let cpu = current_cpu();
        self.shared.cpu.store(cpu, StdOrdering::Relaxed);
        // Nothing runs on this thread while it spins, so nothing replaces
        // `peer` before it is put back.
        let peer = self.peer.take();
        let arrived = 'spin: loop {
            for _ in 0..64 {
                if self.shared.inbox.is_notified() {
                    break 'spin true;
                }
                std::hint::spin_loop();
            }
            let peer_waits_for_us = peer.as_ref().is_some_and(|p| {
                cpu != NO_CPU && p.cpu.load(StdOrdering::Relaxed) == cpu && !p.inbox.is_parked()
            });
            if peer_waits_for_us || start.elapsed() >= IDLE_SPIN {
                break false;
            }
        };
        self.peer.set(peer);
        arrived
    }

    /// Cancels every task: drops every runnable and every live task's future
    /// on this thread, then the timers and the state. See the module docs.
    pub(crate) fn shutdown(&self) {
        self.closed.set(true);
        self.shared.closing.store(true, StdOrdering::SeqCst);
        self.cancel_all();
        // Timers hold wakers and timer channels; state holds user values.
        // Their destructors may wake or spawn tasks: cancel those too.
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop_quietly(timers);
        self.shared.timers.store(0, StdOrdering::Relaxed);
        self.state.clear();
        self.cancel_all();
        self.flush_wakes();
        self.shared.dead.store(true, StdOrdering::SeqCst);
        // Runnables that raced with `dead` (never-polled tasks only).
        for r in self.shared.inbox.drain() {
            drop_quietly(r);
        }
    }

    /// Drops every runnable and every live task, on this thread.
    fn cancel_all(&self) {
        loop {
            let mut dropped = 0usize;
            loop {
                let mut q = std::mem::take(&mut *self.queue.borrow_mut());
                q.append(&mut self.yielded.borrow_mut());
                q.extend(self.shared.inbox.drain());
                if q.is_empty() {
                    break;
                }
                for r in q {
                    dropped += 1;
                    drop_quietly(r);
                }
            }
            if self.tasks.borrow().len() == 0 {
                break;
            }
            // Idle tasks have no runnable: wake them so that they get one
            // (pushed on the local queue, then dropped above).
            let wakers = self.tasks.borrow().wakers();
            for w in wakers {
                w.wake();
            }
            if dropped == 0 && self.idle() {
                // A task's runnable is on its way from another thread.
                self.shared
                    .inbox
                    .park(Some(Instant::now() + Duration::from_millis(1)));
            }
        }
    }
}

/// Clears the thread's current interpreter on drop.
pub(crate) struct EnterGuard;

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // The raw pointer first: it must never outlive the `Rc` it copies.
        CURRENT_PTR.with(|p| p.set(std::ptr::null()));
        let local = CURRENT.try_with(|c| c.borrow_mut().take()).ok().flatten();
        drop(local);
    }
}

/// The waker of a `block_on` main future: sets a flag and notifies.
pub(crate) struct MainWaker {
    pub(crate) woken: AtomicBool,
    pub(crate) shared: std::sync::Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        if !self.woken.swap(true, StdOrdering::AcqRel) {
            if let Some(local) =
                current_local_raw().filter(|l| Arc::ptr_eq(&l.shared, &self.shared))
            {
                local.local_wakes.set(local.local_wakes.get() + 1);
            } else {
                self.shared
                    .counters
                    .remote_wakes
                    .fetch_add(1, StdOrdering::Relaxed);
                self.shared.inbox.notify();
                if let Some(m) = &self.shared.monitor {
                    m.activity();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Spawning
// ---------------------------------------------------------------------------

/// Registers a started task in the live-task registry; returns its key.
fn register(waker: &Waker) -> usize {
    with_local(|l| {
        bump(&l.shared.counters.spawned, 1);
        l.tasks.borrow_mut().insert(waker.clone())
    })
    .expect("subinterp: a task was polled outside its interpreter")
}

/// How a started task ended.
enum Ended {
    Completed,
    Panicked,
    Cancelled,
}

/// Removes a task from the live-task registry and counts how it ended.
fn unregister(key: usize, how: Ended) {
    let waker = with_local(|l| {
        let c = &l.shared.counters;
        bump(
            match how {
                Ended::Completed => &c.completed,
                Ended::Panicked => &c.panicked,
                Ended::Cancelled => &c.cancelled,
            },
            1,
        );
        l.tasks.borrow_mut().remove(key)
    });
    drop(waker);
}

/// The future every task runs: on its first poll it registers itself and
/// calls `make`; then it polls the user's future with panics caught, and
/// counts the outcome. Before its first poll it holds only `make`, so a
/// never-polled task is as `Send` as `make` is.
///
/// A hand-written state machine rather than an `async fn`: the compiler
/// would store both `make` and the future it makes (and the future twice
/// more across `pin!` and `.await`), tripling the memory of an idle task.
pub(crate) struct TaskBody<M, F> {
    state: BodyState<M, F>,
}

enum BodyState<M, F> {
    Start(Option<M>),
    /// `fut` is structurally pinned; `key` is its registry entry.
    Running {
        fut: F,
        key: usize,
    },
    Done,
}

pub(crate) fn task_body<M, F>(make: M) -> TaskBody<M, F> {
    TaskBody {
        state: BodyState::Start(Some(make)),
    }
}

impl<M, F> TaskBody<M, F>
where
    M: FnOnce() -> F,
    F: Future,
{
    /// The first poll: registers the task and makes its future. Out of line
    /// and cold, so that the per-poll path stays small. `Some` if `make`
    /// panicked (the task is then over).
    #[cold]
    #[inline(never)]
    fn start(&mut self, cx: &Context<'_>) -> Option<Result<F::Output, Panic>> {
        let BodyState::Start(make) = &mut self.state else {
            panic!("a task polled after it completed");
        };
        let make = make.take().expect("polled once in Start");
        let key = register(cx.waker());
        match catch_unwind(AssertUnwindSafe(make)) {
            Ok(fut) => {
                self.state = BodyState::Running { fut, key };
                None
            }
            Err(p) => {
                self.state = BodyState::Done;
                unregister(key, Ended::Panicked);
                Some(Err(Panic::new(p)))
            }
        }
    }

    /// The user's future finished (or panicked): drops it, counts the end.
    #[inline(never)]
    fn finish(&mut self, key: usize, out: Result<F::Output, Panic>) -> Result<F::Output, Panic> {
        // Drops the user's future in place, then counts.
        let dropped = catch_unwind(AssertUnwindSafe(|| self.state = BodyState::Done));
        unregister(
            key,
            if out.is_ok() {
                Ended::Completed
            } else {
                Ended::Panicked
            },
        );
        match dropped {
            // Its destructor panicked after it completed: report that panic.
            Err(p) => Err(Panic::new(p)),
            Ok(()) => out,
        }
    }
}

impl<M, F> Future for TaskBody<M, F>
where
    M: FnOnce() -> F,
    F: Future,
{
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is the only structurally pinned field. It is never
        // moved once in `Running`: it is polled through `Pin::new_unchecked`
        // below and leaves only by being dropped in place, when `state` is
        // overwritten with `Done` or the `TaskBody` is dropped. `make` is
        // not pinned (no `Pin<&mut M>` is ever made), so moving it out is fine.
        let this = unsafe { self.get_unchecked_mut() };
        if !matches!(this.state, BodyState::Running { .. }) {
            if let Some(out) = this.start(cx) {
                return Poll::Ready(out);
            }
        }
        let BodyState::Running { fut, key } = &mut this.state else {
            unreachable!("start leaves the body running or returns");
        };
        let key = *key;
        // SAFETY: see above: `fut` stays where it is until dropped in place.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let out = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(p) => Err(Panic::new(p)),
        };
        Poll::Ready(this.finish(key, out))
    }
}

impl<M, F> Drop for TaskBody<M, F> {
    fn drop(&mut self) {
        if let BodyState::Running { key, .. } = self.state {
            // Cancelled: the user's future is dropped in place right after.
            unregister(key, Ended::Cancelled);
        }
        if !matches!(self.state, BodyState::Done) {
            // A destructor that panics (of the user's future, or of what
            // `make` captured) must not take the interpreter down: the run
            // loop polls without a guard of its own, so the guard is here.
            let _ = catch_unwind(AssertUnwindSafe(|| self.state = BodyState::Done));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod inbox_tests {
    use super::*;

    #[test]
    fn drain_to_front_keeps_both_buffers() {
        let inbox = Inbox::new();
        let mut out: VecDeque<u32> = VecDeque::with_capacity(16);
        let out_buf = out.capacity();
        for i in 0..3 {
            inbox.push(i);
        }
        assert_eq!(inbox.drain_to_front(&mut out), 3);
        assert_eq!(out, [0, 1, 2]);
        // The inbox got `out`'s empty buffer: pushes now allocate nothing.
        assert!(inbox.queue.lock().unwrap().capacity() >= out_buf);
        out.clear();
        assert_eq!(inbox.drain_to_front(&mut out), 0);
        // A non-empty `out` keeps its order behind the drained items,
        // which keep theirs.
        out.push_back(9);
        inbox.push(3);
        inbox.push(4);
        assert_eq!(inbox.drain_to_front(&mut out), 2);
        assert_eq!(out, [3, 4, 9]);
    }

    #[test]
    fn drain_to_front_shrinks_a_burst_buffer() {
        let inbox = Inbox::new();
        let mut out: VecDeque<u32> = VecDeque::with_capacity(4 * SPARE_QUEUE);
        inbox.push(1);
        assert_eq!(inbox.drain_to_front(&mut out), 1);
        assert!(inbox.queue.lock().unwrap().capacity() <= SPARE_QUEUE);
    }
}

#[cfg(all(test, target_os = "linux", not(loom), not(miri)))]
mod tests {
    use super::*;

    #[test]
    fn current_cpu_names_an_online_cpu() {
        let cpu = current_cpu();
        assert_ne!(cpu, NO_CPU, "sched_getcpu failed");
        // CPU numbers are below the kernel's configured count.
        let configured = std::fs::read_dir("/sys/devices/system/cpu")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        n.strip_prefix("cpu")
                            .is_some_and(|k| k.chars().all(|c| c.is_ascii_digit()) && !k.is_empty())
                    })
                    .count()
            })
            .unwrap_or(usize::MAX);
        assert!((cpu as usize) < configured, "cpu {cpu} of {configured}");
    }
}
