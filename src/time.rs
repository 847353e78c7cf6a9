//! Time: [`sleep`], [`timeout`], and the timer channels [`after`], [`tick`]
//! and [`never`], usable as `select!` cases.
//!
//! Inside an interpreter the deadlines are kept in that interpreter's own
//! timer queue (a binary heap, fired by its executor loop, with no lock and
//! no other thread involved). Outside one they are kept by one shared timer
//! thread (a binary heap under a condvar), never a thread per timer.

use crate::chan::{bounded, Receiver, Sender, TrySendError};
use crate::interp::executor::with_local;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A receiver that gets one `Instant` (the time it fired) once `delay` has
/// passed, like Go's `time.After`. Use it as a timeout case in a select. The
/// channel never closes: after its one value it stays empty.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let fired = subinterp::after(Duration::from_millis(10)).recv_blocking().unwrap();
/// assert!(fired >= start + Duration::from_millis(10));
/// ```
pub fn after(delay: Duration) -> Receiver<Instant> {
    let (tx, rx) = bounded(1);
    match Instant::now().checked_add(delay) {
        Some(at) => match try_local_insert(at, LocalTimer::After(tx)) {
            Ok(()) => {}
            Err(LocalTimer::After(tx)) => timers().insert(at, Timer::After(tx)),
            Err(_) => unreachable!(),
        },
        // Too far in the future to ever fire.
        None => tx.keep_open(),
    }
    rx
}

/// A receiver that gets an `Instant` every `period`, like Go's `time.Tick`.
/// When the receiver falls behind, ticks are dropped rather than queued (the
/// channel holds at most one). The ticker stops when the receiver is dropped.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// let ticks = subinterp::tick(Duration::from_millis(2));
/// let a = ticks.recv_blocking().unwrap();
/// let b = ticks.recv_blocking().unwrap();
/// assert!(b > a);
/// ```
pub fn tick(period: Duration) -> Receiver<Instant> {
    assert!(
        !period.is_zero(),
        "subinterp::tick: the period must be non-zero"
    );
    let (tx, rx) = bounded(1);
    match Instant::now().checked_add(period) {
        Some(at) => match try_local_insert(at, LocalTimer::Tick(tx, period)) {
            Ok(()) => {}
            Err(LocalTimer::Tick(tx, period)) => timers().insert(at, Timer::Tick(tx, period)),
            Err(_) => unreachable!(),
        },
        None => tx.keep_open(),
    }
    rx
}

/// A receiver that never gets a value and never closes: a select case that
/// never fires (a nil channel in Go).
///
/// ```
/// use std::time::Duration;
/// let rx = subinterp::never::<u8>();
/// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
/// ```
pub fn never<T>() -> Receiver<T> {
    let (tx, rx) = bounded(0);
    tx.keep_open();
    rx
}

enum Timer {
    After(Sender<Instant>),
    Tick(Sender<Instant>, Duration),
    Wake(Arc<GlobalSleep>),
}

impl Timer {
    /// Nobody can receive from this timer's channel any more.
    fn is_dead(&self) -> bool {
        match self {
            Timer::After(tx) | Timer::Tick(tx, _) => tx.is_closed(),
            Timer::Wake(_) => false,
        }
    }
}

struct Entry {
    at: Instant,
    seq: u64,
    timer: Timer,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and the earliest deadline goes first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Timers {
    heap: Mutex<(BinaryHeap<Entry>, u64)>,
    changed: Condvar,
    /// Heap size at which timers nobody listens to any more are purged.
    purge_at: std::sync::atomic::AtomicUsize,
}

/// Timers are purged of dead entries when the heap doubles past this.
const PURGE_MIN: usize = 1024;

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(|| {
        GLOBAL_STARTED.store(true, AtomicOrdering::Release);
        std::thread::Builder::new()
            .name("subinterp-timer".into())
            .spawn(|| timers().run())
            .expect("subinterp: cannot start the timer thread");
        Timers {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            changed: Condvar::new(),
            purge_at: std::sync::atomic::AtomicUsize::new(PURGE_MIN),
        }
    })
}

impl Timers {
    fn pending(&self) -> usize {
        self.heap.lock().unwrap_or_else(|e| e.into_inner()).0.len()
    }

    fn insert(&self, at: Instant, timer: Timer) {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        let (heap, seq) = &mut *guard;
        // A select loop makes an `after(d)` per iteration and drops it when
        // another case fires: without this, dead timers would pile up until
        // their deadlines (Go fixed the same in 1.23). Purging when the heap
        // doubles keeps it within twice the live timers, at O(1) amortized.
        let purge_at = self.purge_at.load(AtomicOrdering::Relaxed);
        if heap.len() >= purge_at {
            heap.retain(|e| !e.timer.is_dead());
            self.purge_at
                .store((heap.len() * 2).max(PURGE_MIN), AtomicOrdering::Relaxed);
        }
        *seq += 1;
        let earliest = heap.peek().is_none_or(|e| at < e.at);
        heap.push(Entry {
            at,
            seq: *seq,
            timer,
        });
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            match guard.0.peek().map(|e| e.at) {
                None => guard = self.changed.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(at) if at > now => {
                    guard = self
                        .changed
                        .wait_timeout(guard, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                Some(_) => {
                    let entry = guard.0.pop().expect("peeked");
                    // Fire outside the lock: a send may wake a thread at once.
                    drop(guard);
                    let again = fire(entry.timer, now);
                    guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some((timer, period)) = again {
                        let (heap, seq) = &mut *guard;
                        *seq += 1;
                        // A late ticker skips the ticks it missed.
                        let next = (entry.at + period).max(now);
                        heap.push(Entry {
                            at: next,
                            seq: *seq,
                            timer,
                        });
                    }
                }
            }
        }
    }
}

/// Delivers one timer event; a ticker that should go on is handed back.
fn fire(timer: Timer, now: Instant) -> Option<(Timer, Duration)> {
    match timer {
        Timer::After(tx) => {
            let _ = tx.try_send(now);
            tx.keep_open();
            None
        }
        Timer::Tick(tx, period) => match tx.try_send(now) {
            Err(TrySendError::Closed(_)) => None,
            // Ok, or Full: the receiver is behind and this tick is dropped.
            _ => Some((Timer::Tick(tx, period), period)),
        },
        Timer::Wake(slot) => {
            slot.fired.store(true, AtomicOrdering::Release);
            let waker = slot.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(w) = waker {
                w.wake();
            }
            None
        }
    }
}

/// Timers pending on the shared timer thread (for the deadlock monitor).
pub(crate) fn global_pending() -> usize {
    // Do not start the timer thread just to learn that it has nothing to do.
    if GLOBAL_STARTED.load(AtomicOrdering::Acquire) {
        timers().pending()
    } else {
        0
    }
}

static GLOBAL_STARTED: AtomicBool = AtomicBool::new(false);

/// A sleep kept by the shared timer thread.
struct GlobalSleep {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

// ---------------------------------------------------------------------------
// The timer queue of one interpreter
// ---------------------------------------------------------------------------

enum LocalTimer {
    /// Wakes the sleep in slot `index` if its generation is still `gen`.
    Wake {
        index: usize,
        gen: u64,
    },
    After(Sender<Instant>),
    Tick(Sender<Instant>, Duration),
}

struct LocalEntry {
    at: Instant,
    seq: u64,
    timer: LocalTimer,
}

impl PartialEq for LocalEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for LocalEntry {}
impl PartialOrd for LocalEntry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for LocalEntry {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Waiting,
    Fired,
    /// The `Sleep` was dropped before firing; freed when its entry pops.
    Cancelled,
}

struct SleepSlot {
    gen: u64,
    state: SlotState,
    waker: Option<Waker>,
}

/// One interpreter's timers: a binary heap of deadlines, and the slots of the
/// sleeps waiting on them. Used only from the interpreter's thread.
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<LocalEntry>,
    seq: u64,
    slots: Vec<SleepSlot>,
    free: Vec<usize>,
    /// Heap entries whose sleep was dropped before firing.
    cancelled: usize,
}

impl TimerQueue {
    fn push(&mut self, at: Instant, timer: LocalTimer) {
        self.seq += 1;
        self.heap.push(LocalEntry {
            at,
            seq: self.seq,
            timer,
        });
    }

    /// No entry at all (not even cancelled ones).
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Timers that will still do something when they fire.
    pub(crate) fn live(&self) -> usize {
        self.heap.len() - self.cancelled
    }

    /// The earliest deadline (possibly of a cancelled entry: an early wake-up).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    fn new_sleep(&mut self, at: Instant, waker: Waker) -> (usize, u64) {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(SleepSlot {
                    gen: 0,
                    state: SlotState::Free,
                    waker: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.state = SlotState::Waiting;
        slot.waker = Some(waker);
        let gen = slot.gen;
        self.push(at, LocalTimer::Wake { index, gen });
        (index, gen)
    }

    fn free_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.gen += 1;
        slot.state = SlotState::Free;
        slot.waker = None;
        self.free.push(index);
    }

    /// Fires every entry due at `now`; returns how many did something.
    pub(crate) fn fire_due(&mut self, now: Instant) -> usize {
        let mut fired = 0;
        while self.heap.peek().is_some_and(|e| e.at <= now) {
            let entry = self.heap.pop().expect("peeked");
            match entry.timer {
                LocalTimer::Wake { index, gen } => {
                    let slot = &mut self.slots[index];
                    if slot.gen != gen {
                        continue;
                    }
                    match slot.state {
                        SlotState::Cancelled => {
                            self.cancelled -= 1;
                            self.free_slot(index);
                        }
                        SlotState::Waiting => {
                            slot.state = SlotState::Fired;
                            if let Some(w) = slot.waker.take() {
                                w.wake();
                            }
                            fired += 1;
                        }
                        SlotState::Free | SlotState::Fired => {}
                    }
                }
                LocalTimer::After(tx) => {
                    let _ = tx.try_send(now);
                    tx.keep_open();
                    fired += 1;
                }
                LocalTimer::Tick(tx, period) => match tx.try_send(now) {
                    Err(TrySendError::Closed(_)) => {}
                    _ => {
                        fired += 1;
                        let next = entry.at + period;
                        // A late ticker skips the ticks it missed.
                        let next = if next > now { next } else { now + period };
                        self.push(next, LocalTimer::Tick(tx, period));
                    }
                },
            }
        }
        fired
    }

    /// A sleep was dropped before it fired.
    fn cancel_sleep(&mut self, index: usize, gen: u64) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        if slot.gen != gen {
            return;
        }
        match slot.state {
            SlotState::Waiting => {
                slot.state = SlotState::Cancelled;
                slot.waker = None;
                self.cancelled += 1;
                self.compact();
            }
            SlotState::Fired => self.free_slot(index),
            SlotState::Free | SlotState::Cancelled => {}
        }
    }

    /// Drops cancelled entries once they are most of the heap, so that a loop
    /// of `timeout`s that finish early does not grow it without bound.
    fn compact(&mut self) {
        if self.cancelled < 64 || self.cancelled * 2 < self.heap.len() {
            return;
        }
        let entries = std::mem::take(&mut self.heap).into_vec();
        let mut freed = Vec::new();
        for e in entries {
            match e.timer {
                LocalTimer::Wake { index, gen }
                    if self.slots[index].gen == gen
                        && self.slots[index].state == SlotState::Cancelled =>
                {
                    freed.push(index)
                }
                _ => self.heap.push(e),
            }
        }
        self.cancelled -= freed.len();
        for i in freed {
            self.free_slot(i);
        }
    }
}

impl Drop for TimerQueue {
    fn drop(&mut self) {
        // Timer channels never close: their senders are let go without closing.
        for e in std::mem::take(&mut self.heap) {
            match e.timer {
                LocalTimer::After(tx) | LocalTimer::Tick(tx, _) => tx.keep_open(),
                LocalTimer::Wake { .. } => {}
            }
        }
    }
}

/// Inserts into the current interpreter's timer queue; gives the timer back
/// outside an interpreter.
fn try_local_insert(at: Instant, timer: LocalTimer) -> Result<(), LocalTimer> {
    let mut timer = Some(timer);
    let done = with_local(|l| {
        let t = timer.take().expect("once");
        let mut q = l.timers.borrow_mut();
        q.push(at, t);
        l.shared
            .timers
            .store(q.live(), std::sync::atomic::Ordering::Relaxed);
    });
    match done {
        Some(()) => Ok(()),
        None => Err(timer.take().expect("not taken outside")),
    }
}

// ---------------------------------------------------------------------------
// sleep and timeout
// ---------------------------------------------------------------------------

/// Waits until `duration` has passed, without blocking the thread: inside an
/// interpreter on its own timer queue, elsewhere (any executor) on the shared
/// timer thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// let interp = subinterp::Interpreter::new().unwrap();
/// let waited = interp.spawn(|| async {
///     let start = Instant::now();
///     subinterp::sleep(Duration::from_millis(5)).await;
///     start.elapsed()
/// });
/// assert!(waited.join_blocking().unwrap() >= Duration::from_millis(5));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(duration),
        reg: SleepReg::None,
    }
}

/// Waits until `deadline`; see [`sleep`].
///
/// ```
/// use std::time::{Duration, Instant};
/// # futures::executor::block_on(async {
/// let at = Instant::now() + Duration::from_millis(2);
/// subinterp::sleep_until(at).await;
/// assert!(Instant::now() >= at);
/// # });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: Some(deadline),
        reg: SleepReg::None,
    }
}

enum SleepReg {
    None,
    /// In the timer queue of the interpreter with this id.
    Local {
        interp: usize,
        index: usize,
        gen: u64,
    },
    Global(Arc<GlobalSleep>),
    Done,
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// ```
/// use std::time::Duration;
/// # futures::executor::block_on(async {
/// let s: subinterp::Sleep = subinterp::sleep(Duration::from_millis(1));
/// s.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: too far in the future to ever fire.
    deadline: Option<Instant>,
    reg: SleepReg,
}

impl Sleep {
    /// The instant this sleep ends (`None` if it never does).
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(subinterp::sleep(Duration::from_secs(1)).deadline().is_some());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        match &this.reg {
            SleepReg::Done => return Poll::Ready(()),
            SleepReg::Local { interp, index, gen } => {
                let (interp, index, gen) = (*interp, *index, *gen);
                let polled_here = with_local(|l| {
                    if l.shared.id != interp {
                        return None;
                    }
                    let mut q = l.timers.borrow_mut();
                    let slot = &mut q.slots[index];
                    if slot.gen != gen {
                        return Some(true);
                    }
                    if slot.state == SlotState::Fired {
                        q.free_slot(index);
                        return Some(true);
                    }
                    match &slot.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => slot.waker = Some(cx.waker().clone()),
                    }
                    Some(false)
                })
                .flatten();
                match polled_here {
                    Some(true) => {
                        this.reg = SleepReg::Done;
                        return Poll::Ready(());
                    }
                    Some(false) => return Poll::Pending,
                    // Moved to another thread: fall through and register anew.
                    None => this.reg = SleepReg::None,
                }
            }
            SleepReg::Global(slot) => {
                if slot.fired.load(AtomicOrdering::Acquire) {
                    this.reg = SleepReg::Done;
                    return Poll::Ready(());
                }
                *slot.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
                if slot.fired.load(AtomicOrdering::Acquire) {
                    this.reg = SleepReg::Done;
                    return Poll::Ready(());
                }
                return Poll::Pending;
            }
            SleepReg::None => {}
        }
        if Instant::now() >= deadline {
            this.reg = SleepReg::Done;
            return Poll::Ready(());
        }
        let local = with_local(|l| {
            let (index, gen) = l
                .timers
                .borrow_mut()
                .new_sleep(deadline, cx.waker().clone());
            l.shared.timers.store(
                l.timers.borrow().live(),
                std::sync::atomic::Ordering::Relaxed,
            );
            SleepReg::Local {
                interp: l.shared.id,
                index,
                gen,
            }
        });
        this.reg = match local {
            Some(reg) => reg,
            None => {
                let slot = Arc::new(GlobalSleep {
                    fired: AtomicBool::new(false),
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                timers().insert(deadline, Timer::Wake(slot.clone()));
                SleepReg::Global(slot)
            }
        };
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let SleepReg::Local { interp, index, gen } = self.reg {
            with_local(|l| {
                if l.shared.id == interp {
                    if let Ok(mut q) = l.timers.try_borrow_mut() {
                        q.cancel_sleep(index, gen);
                        l.shared
                            .timers
                            .store(q.live(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The error of [`timeout`]: the time ran out first.
///
/// ```
/// let e = subinterp::Elapsed;
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed;

/// Runs `fut` for at most `duration`: `Ok(output)` if it finished in time,
/// `Err(Elapsed)` otherwise (`fut` is then dropped, which cancels it; the
/// channel futures are cancel-safe).
///
/// ```
/// use std::time::Duration;
/// let interp = subinterp::Interpreter::new().unwrap();
/// let r = interp.spawn(|| async {
///     let (_tx, rx) = subinterp::bounded::<u8>(1);
///     subinterp::timeout(Duration::from_millis(5), rx.recv()).await
/// });
/// assert_eq!(r.join_blocking().unwrap(), Err(subinterp::Elapsed));
/// ```
pub async fn timeout<F: Future>(duration: Duration, fut: F) -> Result<F::Output, Elapsed> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = sleep(duration);
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(&mut timer).poll(cx).map(|()| Err(Elapsed))
    })
    .await
}
