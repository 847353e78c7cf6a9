//! Selects must not consume memory: after Go's `test/chan/select2.go`, which
//! runs 100,000 selects twice and fails if the second run grows the heap by
//! more than 110 KB. Here a counting global allocator (per test binary,
//! hence this file of its own) measures the bytes live before and after
//! the second run of each scenario.
//!
//! The tests of this file run one at a time (a lock), so that one test's
//! allocations do not show in another's measurement.

mod common;

use common::watchdog;
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Context;
use std::thread;
use std::time::Duration;
use subinterp::{bounded, select, select_blocking, unbounded, Select};

/// Wraps the system allocator, counting the bytes live and the calls.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments,
// so `System`'s guarantees hold; the counters have no effect on the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from this method's contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from this method's contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from this method's contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from this method's contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Go's bar: the second 100,000 selects may grow the heap by at most 110 KB.
const BAR: isize = 110_000;
const SELECTS: usize = 100_000;

static SERIAL: Mutex<()> = Mutex::new(());

/// Selects of the warm-up run: enough for every queue and cache to reach
/// its steady size (Go warms up with a full run; a tenth keeps this file
/// fast on a loaded machine).
const WARM_UP: usize = SELECTS / 10;

/// Runs `round(n)` (n selects) twice, a warm-up then the measured run of
/// 100,000, and asserts that the bytes live grew by less than Go's bar over
/// the measured run.
fn assert_no_growth(what: &str, round: impl Fn(usize)) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    round(WARM_UP);
    let start = std::time::Instant::now();
    let (live0, allocs0) = (LIVE.load(Ordering::SeqCst), ALLOCS.load(Ordering::SeqCst));
    round(SELECTS);
    let (live1, allocs1) = (LIVE.load(Ordering::SeqCst), ALLOCS.load(Ordering::SeqCst));
    let growth = live1 - live0;
    eprintln!(
        "{what}: {SELECTS} selects grew the heap by {growth} bytes ({} allocations, {:?})",
        allocs1 - allocs0,
        start.elapsed()
    );
    assert!(
        growth < BAR,
        "{what}: too much memory for {SELECTS} selects: the heap grew by {growth} bytes \
         (Go's select2.go allows {BAR})"
    );
}

// Origin: test/chan/select2.go: a sender sends 100,000 values on a
// rendezvous; the receiver takes them with a select over that channel and a
// dummy one. select_blocking! on threads.
#[test]
fn select2_blocking_recv() {
    watchdog(120, "select2 (select_blocking!)", || {
        assert_no_growth("select_blocking! recv", |n| {
            let (tx, rx) = bounded::<i32>(0);
            let (_dummy_tx, dummy) = bounded::<i32>(0);
            let sender = thread::spawn(move || {
                for _ in 0..n {
                    tx.send_blocking(1).unwrap();
                }
            });
            for _ in 0..n {
                select_blocking! {
                    v = recv(&rx) => assert_eq!(v, Ok(1)),
                    _ = recv(&dummy) => panic!("dummy"),
                }
            }
            sender.join().unwrap();
        });
    });
}

// Origin: test/chan/select2.go with the async select! (futures::executor).
#[test]
fn select2_async_recv() {
    watchdog(120, "select2 (select!)", || {
        assert_no_growth("select! recv", |n| {
            let (tx, rx) = bounded::<i32>(0);
            let (_dummy_tx, dummy) = bounded::<i32>(0);
            let sender = thread::spawn(move || {
                for _ in 0..n {
                    tx.send_blocking(1).unwrap();
                }
            });
            block_on(async {
                for _ in 0..n {
                    select! {
                        v = recv(&rx) => assert_eq!(v, Ok(1)),
                        _ = recv(&dummy) => panic!("dummy"),
                    }
                }
            });
            sender.join().unwrap();
        });
    });
}

// Origin: test/chan/select2.go with send cases: the selecting side sends,
// through a select over that channel and a dummy one nobody receives from.
#[test]
fn select2_blocking_send() {
    watchdog(120, "select2 (send cases)", || {
        assert_no_growth("select_blocking! send", |n| {
            let (tx, rx) = bounded::<i32>(0);
            let (dummy, _dummy_rx) = bounded::<i32>(0);
            let receiver = thread::spawn(move || {
                for _ in 0..n {
                    rx.recv_blocking().unwrap();
                }
            });
            for _ in 0..n {
                select_blocking! {
                    r = send(&tx, 1) => r.unwrap(),
                    _ = send(&dummy, 2) => panic!("dummy"),
                }
            }
            receiver.join().unwrap();
        });
    });
}

// Origin: test/chan/select2.go with the dynamic Select (Go's reflect.Select),
// a new builder per select.
#[test]
fn select2_builder() {
    watchdog(120, "select2 (Select)", || {
        assert_no_growth("Select::wait_blocking", |n| {
            let (tx, rx) = bounded::<i32>(0);
            let (_dummy_tx, dummy) = bounded::<i32>(0);
            let sender = thread::spawn(move || {
                for _ in 0..n {
                    tx.send_blocking(1).unwrap();
                }
            });
            for _ in 0..n {
                let mut sel = Select::new();
                let i = sel.recv(&rx);
                let _d = sel.recv(&dummy);
                assert_eq!(sel.wait_blocking(), i);
                assert_eq!(sel.take_recv(i, &rx), Ok(1));
            }
            sender.join().unwrap();
        });
    });
}

// Origin: test/chan/select2.go, non-blocking: 100,000 selects with default
// over empty channels, and 100,000 select! futures that register in the
// channels' wait queues and are dropped (cancelled) — the queues must not
// keep anything of them.
#[test]
fn select2_default_and_cancelled() {
    watchdog(120, "select2 (default, cancelled)", || {
        let (_tx1, rx1) = bounded::<i32>(0);
        let (tx2, _rx2) = bounded::<i32>(0);
        let (_tx3, rx3) = unbounded::<i32>();
        assert_no_growth("select_blocking! with default", |n| {
            for _ in 0..n {
                select_blocking! {
                    _ = recv(&rx1) => panic!("not ready"),
                    _ = send(&tx2, 1) => panic!("not ready"),
                    _ = recv(&rx3) => panic!("not ready"),
                    default => {},
                }
            }
        });
        assert_no_growth("select! polled once and dropped", |n| {
            for _ in 0..n {
                let mut fut = pin!(async {
                    select! {
                        _ = recv(&rx1) => panic!("not ready"),
                        _ = send(&tx2, 1) => panic!("not ready"),
                        _ = recv(&rx3) => panic!("not ready"),
                    }
                });
                let cx = &mut Context::from_waker(noop_waker_ref());
                assert!(fut.as_mut().poll(cx).is_pending());
            }
        });
        assert_no_growth("Select::wait_timeout(0)", |n| {
            let mut sel = Select::new();
            sel.recv(&rx1);
            sel.recv(&rx3);
            for _ in 0..n {
                assert_eq!(sel.wait_timeout(Duration::ZERO), None);
            }
        });
    });
}

// Origin: Go's select loop idiom `case <-time.After(d):` (since Go 1.23 an
// unreferenced timer's memory is reclaimed before it fires): 100,000 selects,
// each with a ready channel and a timeout case that does not fire. The
// timers of finished selects must not pile up until their deadlines.
#[test]
fn select_loop_with_after_timeout() {
    watchdog(120, "select loop with after()", || {
        let (tx, rx) = unbounded::<i32>();
        assert_no_growth("select_blocking! with an after(1 h) case", |n| {
            for _ in 0..n {
                tx.try_send(1).unwrap();
                select_blocking! {
                    v = recv(&rx) => assert_eq!(v, Ok(1)),
                    _ = recv(subinterp::after(Duration::from_secs(3600))) => panic!("timeout"),
                }
            }
        });
    });
}
