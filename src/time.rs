//! Timer channels: [`after`], [`tick`] and [`never`], usable as `select!` cases.
//!
//! Outside an interpreter the deadlines are kept by one shared timer thread
//! (a binary heap under a condvar), never a thread per timer.

use crate::chan::{bounded, Receiver, Sender, TrySendError};
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
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
        Some(at) => timers().insert(at, Timer::After(tx)),
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
        Some(at) => timers().insert(at, Timer::Tick(tx, period)),
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
}

impl Timer {
    /// Nobody can receive from this timer's channel any more.
    fn is_dead(&self) -> bool {
        match self {
            Timer::After(tx) | Timer::Tick(tx, _) => tx.is_closed(),
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
    purge_at: AtomicUsize,
}

/// Timers are purged of dead entries when the heap doubles past this.
const PURGE_MIN: usize = 1024;

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(|| {
        std::thread::Builder::new()
            .name("subinterp-timer".into())
            .spawn(|| timers().run())
            .expect("subinterp: cannot start the timer thread");
        Timers {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            changed: Condvar::new(),
            purge_at: AtomicUsize::new(PURGE_MIN),
        }
    })
}

impl Timers {
    fn insert(&self, at: Instant, timer: Timer) {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        let (heap, seq) = &mut *guard;
        // A select loop makes an `after(d)` per iteration and drops it when
        // another case fires: without this, dead timers would pile up until
        // their deadlines (Go fixed the same in 1.23). Purging when the heap
        // doubles keeps it within twice the live timers, at O(1) amortized.
        let purge_at = self.purge_at.load(Ordering::Relaxed);
        if heap.len() >= purge_at {
            heap.retain(|e| !e.timer.is_dead());
            self.purge_at
                .store((heap.len() * 2).max(PURGE_MIN), Ordering::Relaxed);
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
    }
}
