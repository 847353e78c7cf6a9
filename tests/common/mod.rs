//! Helpers shared by the integration tests: a watchdog for anything that could
//! hang, the list of channel flavors, a drop-counting value and a tiny PRNG.
//!
//! Each test file uses only some of these, hence the `dead_code` allowances.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use subinterp::{Receiver, Sender};

/// Runs `f` on its own thread and returns its result. Panics with a message
/// naming `what` if `f` has not finished after `secs` seconds (a hang: a lost
/// wake-up, a lost value, a deadlock). A panic inside `f` is re-raised here
/// with its original payload, so `#[should_panic(expected = ..)]` still works.
///
/// The watchdog itself waits on `std::sync::mpsc`, never on the channel under
/// test. A hung thread is leaked; the test fails and the process exits.
pub fn watchdog<T, F>(secs: u64, what: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    // Miri runs ~100x slower than a native debug build.
    let limit = if cfg!(miri) { secs * 100 } else { secs };
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("watchdog: {what}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done_tx.send(r);
        })
        .expect("spawn the watched thread");
    match done_rx.recv_timeout(Duration::from_secs(limit)) {
        Ok(Ok(v)) => {
            handle.join().expect("watched thread");
            v
        }
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!(
            "watchdog: `{what}` did not finish within {limit} s: it hangs \
             (a lost wake-up, a lost value, or a deadlock)"
        ),
    }
}

/// Every flavor of channel the tests run over: `Some(n)` is `bounded(n)`,
/// `None` is `unbounded()`.
pub const FLAVORS: [Option<usize>; 4] = [Some(0), Some(1), Some(16), None];

/// Makes a channel of the given flavor.
pub fn chan<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match cap {
        Some(n) => subinterp::bounded(n),
        None => subinterp::unbounded(),
    }
}

/// A readable name of a flavor for assertion messages.
pub fn name(cap: Option<usize>) -> String {
    match cap {
        Some(n) => format!("bounded({n})"),
        None => "unbounded()".to_string(),
    }
}

/// Counts the drops of every [`Tracked`] value it made, by id.
#[derive(Clone)]
pub struct DropTracker {
    drops: Arc<Vec<AtomicUsize>>,
}

/// A value whose drop is counted by its [`DropTracker`].
pub struct Tracked {
    pub id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

impl DropTracker {
    /// A tracker for ids `0..n`.
    pub fn new(n: usize) -> DropTracker {
        DropTracker {
            drops: Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
        }
    }

    /// A value with this id; each id should be made once.
    pub fn make(&self, id: usize) -> Tracked {
        Tracked {
            id,
            drops: self.drops.clone(),
        }
    }

    /// How many times the value `id` was dropped so far.
    pub fn drops(&self, id: usize) -> usize {
        self.drops[id].load(Ordering::SeqCst)
    }

    /// Total drops over all ids.
    pub fn total(&self) -> usize {
        self.drops.iter().map(|d| d.load(Ordering::SeqCst)).sum()
    }

    /// Panics unless every id in `0..n` was dropped exactly once.
    pub fn assert_each_dropped_once(&self, what: &str) {
        for (id, d) in self.drops.iter().enumerate() {
            let d = d.load(Ordering::SeqCst);
            assert_eq!(
                d, 1,
                "{what}: value {id} was dropped {d} times, expected once"
            );
        }
    }
}

/// A deterministic xorshift64* PRNG for "random moments" that reproduce.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Scales a loop count down under Miri.
pub const fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}
