//! Transfer statistics: per channel, per thread (so per interpreter, which
//! runs on one thread), and a global snapshot.
//!
//! Each thread counts into its own slot: single-writer relaxed atomics, so a
//! count is a load and a store, never a contended read-modify-write. The
//! global snapshot sums the live slots under the registry lock, plus what
//! exited threads left behind.

use super::Mode;
use std::cell::OnceCell;
use std::ops::{Add, AddAssign, Sub};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

/// Counts of transfers by mode, and the bytes deep-copied.
///
/// Each transfer counts once, under its most expensive part (see the
/// [module docs](super#statistics)); `bytes_copied` adds the heap bytes of
/// every deep copy.
///
/// ```
/// use subinterp::transfer::{self, Frozen, TransferStats};
/// let (tx, _rx) = transfer::unbounded::<(Frozen<str>, u32)>();
/// tx.try_send((Frozen::from("hi"), 1)).unwrap();
/// assert_eq!(tx.stats(), TransferStats { shared: 1, ..TransferStats::default() });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TransferStats {
    /// Transfers that shared immutable values (and moved or copied nothing).
    pub shared: u64,
    /// Transfers that moved owned buffers or handles (and copied nothing).
    pub moved: u64,
    /// Transfers that deep-copied something.
    pub copied: u64,
    /// Bytes of heap data deep-copied, over all transfers.
    pub bytes_copied: u64,
}

impl TransferStats {
    /// All transfers counted.
    ///
    /// ```
    /// let s = subinterp::transfer::TransferStats { shared: 1, moved: 2, copied: 3, bytes_copied: 9 };
    /// assert_eq!(s.transfers(), 6);
    /// ```
    pub fn transfers(&self) -> u64 {
        self.shared + self.moved + self.copied
    }
}

impl Add for TransferStats {
    type Output = TransferStats;
    fn add(self, o: TransferStats) -> TransferStats {
        TransferStats {
            shared: self.shared + o.shared,
            moved: self.moved + o.moved,
            copied: self.copied + o.copied,
            bytes_copied: self.bytes_copied + o.bytes_copied,
        }
    }
}

impl AddAssign for TransferStats {
    fn add_assign(&mut self, o: TransferStats) {
        *self = *self + o;
    }
}

/// The difference of two snapshots (saturating at zero).
///
/// ```
/// use subinterp::transfer::TransferStats;
/// let a = TransferStats { moved: 5, ..Default::default() };
/// let b = TransferStats { moved: 2, ..Default::default() };
/// assert_eq!((a - b).moved, 3);
/// ```
impl Sub for TransferStats {
    type Output = TransferStats;
    fn sub(self, o: TransferStats) -> TransferStats {
        TransferStats {
            shared: self.shared.saturating_sub(o.shared),
            moved: self.moved.saturating_sub(o.moved),
            copied: self.copied.saturating_sub(o.copied),
            bytes_copied: self.bytes_copied.saturating_sub(o.bytes_copied),
        }
    }
}

/// Atomic counters. `add` is a read-modify-write for counters shared by
/// several writers (a channel's senders); `add_single_writer` is a load and a
/// store, for counters only their owner thread writes.
#[derive(Default)]
pub(crate) struct Counters {
    shared: AtomicU64,
    moved: AtomicU64,
    copied: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    fn counter(&self, mode: Mode) -> &AtomicU64 {
        match mode {
            Mode::Shared => &self.shared,
            Mode::Bits | Mode::Moved => &self.moved,
            Mode::Copied => &self.copied,
        }
    }

    #[inline]
    pub(crate) fn add(&self, mode: Mode, bytes: u64) {
        self.counter(mode).fetch_add(1, Relaxed);
        if bytes != 0 {
            self.bytes.fetch_add(bytes, Relaxed);
        }
    }

    #[inline]
    fn add_single_writer(&self, mode: Mode, bytes: u64) {
        let c = self.counter(mode);
        c.store(c.load(Relaxed) + 1, Relaxed);
        if bytes != 0 {
            self.bytes.store(self.bytes.load(Relaxed) + bytes, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> TransferStats {
        TransferStats {
            shared: self.shared.load(Relaxed),
            moved: self.moved.load(Relaxed),
            copied: self.copied.load(Relaxed),
            bytes_copied: self.bytes.load(Relaxed),
        }
    }
}

/// Live threads' slots, and the sum of the slots of threads that exited.
struct Registry {
    live: Vec<Arc<Counters>>,
    retired: TransferStats,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    retired: TransferStats {
        shared: 0,
        moved: 0,
        copied: 0,
        bytes_copied: 0,
    },
});

fn registry() -> MutexGuard<'static, Registry> {
    // The registry holds plain counters: a panic elsewhere cannot leave it
    // inconsistent, so a poisoned lock is still good.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's slot: registered on first use, retired when the thread exits.
struct Slot(OnceCell<Arc<Counters>>);

impl Slot {
    fn get(&self) -> &Arc<Counters> {
        self.0.get_or_init(|| {
            let counters = Arc::new(Counters::default());
            registry().live.push(Arc::clone(&counters));
            counters
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(counters) = self.0.get() {
            let mut reg = registry();
            reg.retired += counters.snapshot();
            reg.live.retain(|c| !Arc::ptr_eq(c, counters));
        }
    }
}

thread_local! {
    static SLOT: Slot = const { Slot(OnceCell::new()) };
}

/// Counts one transfer packed on this thread.
#[inline]
pub(crate) fn record_thread(mode: Mode, bytes: u64) {
    // During thread teardown the slot may be gone: the count is then lost
    // with the thread, which is no longer observable anyway.
    let _ = SLOT.try_with(|slot| slot.get().add_single_writer(mode, bytes));
}

/// A handle to the current thread's counters, readable from any thread.
///
/// The hook for interpreters: an interpreter takes its thread's handle when
/// its thread starts, and `Interpreter::stats()` reads it from anywhere.
/// Counts of a thread that exited stay readable through the handle.
#[derive(Clone)]
pub(crate) struct ThreadCounter(Arc<Counters>);

impl ThreadCounter {
    /// What this thread has packed so far.
    pub(crate) fn snapshot(&self) -> TransferStats {
        self.0.snapshot()
    }
}

/// The current thread's counter handle (see [`ThreadCounter`]).
pub(crate) fn thread_counter() -> ThreadCounter {
    SLOT.with(|slot| ThreadCounter(Arc::clone(slot.get())))
}

/// The transfers packed on the current thread so far: sends on transfer
/// channels (counted when the send succeeds) and [`Packed`](super::Packed)
/// values made here. Inside an interpreter, the thread is the interpreter's.
///
/// ```
/// use subinterp::transfer::{self, Packed};
/// let before = transfer::thread_stats();
/// let _p = Packed::copy(&vec![0u8; 10]);
/// let d = transfer::thread_stats() - before;
/// assert_eq!((d.copied, d.bytes_copied), (1, 10));
/// ```
pub fn thread_stats() -> TransferStats {
    SLOT.try_with(|slot| slot.0.get().map(|c| c.snapshot()).unwrap_or_default())
        .unwrap_or_default()
}

/// The transfers packed by every thread of the process so far, those that
/// exited included.
///
/// ```
/// use subinterp::transfer::{self, Packed};
/// let before = transfer::global_stats();
/// std::thread::spawn(|| drop(Packed::new(vec![1u8]))).join().unwrap();
/// assert!(transfer::global_stats().moved >= before.moved + 1);
/// ```
pub fn global_stats() -> TransferStats {
    let reg = registry();
    let mut total = reg.retired;
    for c in &reg.live {
        total += c.snapshot();
    }
    total
}

/// A channel's counters, shared by its senders.
#[derive(Default)]
pub(crate) struct ChannelCounters(Counters);

impl ChannelCounters {
    #[inline]
    pub(crate) fn add(&self, mode: Mode, bytes: u64) {
        self.0.add(mode, bytes);
    }
    pub(crate) fn snapshot(&self) -> TransferStats {
        self.0.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_threads_stay_counted() {
        let before = global_stats();
        std::thread::spawn(|| record_thread(Mode::Copied, 10))
            .join()
            .unwrap();
        let after = global_stats();
        assert!(after.copied > before.copied);
        assert!(after.bytes_copied >= before.bytes_copied + 10);
    }

    #[test]
    fn counter_handle_reads_another_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            record_thread(Mode::Shared, 0);
            tx.send(thread_counter()).unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(rx.recv().unwrap().snapshot().shared, 1);
    }
}
