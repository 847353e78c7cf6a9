//! Semantics of `select`, ported from Go's select tests: the tests of
//! `test/chan/select*.go`, `doubleselect.go`, and the Select* tests of
//! `runtime/chan_test.go`, each with its origin named above it. Written from
//! the semantics, not translated line by line; every test runs under a
//! watchdog so that a hang fails with a message instead of stalling CI.
//!
//! Async executors and cancel safety are in `select_cancel.rs`; memory growth
//! is in `select_memory.rs` (it needs its own global allocator).

mod common;

use common::{chan, name, watchdog, DropTracker, XorShift, FLAVORS};
use futures::executor::block_on;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use subinterp::{
    bounded, select, select_biased, select_biased_blocking, select_blocking, unbounded, Receiver,
    RecvError, Select, SendError, Sender,
};

// ---------------------------------------------------------------------------
// Fairness
// ---------------------------------------------------------------------------

const TRIALS: usize = 10_000;

/// Critical value of the chi-square distribution with 3 degrees of freedom
/// at p = 1e-6: a fair select fails this test once in a million runs.
const CHI2_DF3_P1E6: f64 = 30.66;
/// The same with 15 degrees of freedom (16 cells).
const CHI2_DF15_P1E6: f64 = 56.49;

/// Pearson's chi-square statistic of `counts` against a uniform distribution.
fn chi_square(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum()
}

/// Asserts that the choices among 4 always-ready cases are uniform: the
/// counts pass a chi-square test at p = 1e-6 (so each count lies within
/// `TRIALS/4 ± sqrt(30.66 · TRIALS/4)` = 2500 ± 277), and so do the 16
/// (previous, next) pairs of consecutive non-overlapping trials, which a
/// round-robin or "sticky" choice would fail although its counts are even.
fn assert_uniform(what: &str, choices: &[usize]) {
    assert_eq!(choices.len(), TRIALS);
    let mut counts = [0usize; 4];
    for &c in choices {
        counts[c] += 1;
    }
    let band = (CHI2_DF3_P1E6 * (TRIALS / 4) as f64).sqrt();
    for (case, &n) in counts.iter().enumerate() {
        let dev = (n as f64 - (TRIALS / 4) as f64).abs();
        assert!(
            dev <= band,
            "{what}: unfair select: case {case} fired {n} times in {TRIALS} trials \
             (expected {} ± {band:.0}); counts {counts:?}",
            TRIALS / 4
        );
    }
    let chi = chi_square(&counts);
    assert!(
        chi <= CHI2_DF3_P1E6,
        "{what}: unfair select: chi-square {chi:.1} > {CHI2_DF3_P1E6} (p < 1e-6); counts {counts:?}"
    );
    let mut pairs = [0usize; 16];
    for p in choices.chunks_exact(2) {
        pairs[p[0] * 4 + p[1]] += 1;
    }
    let chi = chi_square(&pairs);
    assert!(
        chi <= CHI2_DF15_P1E6,
        "{what}: consecutive choices are not independent: chi-square {chi:.1} > \
         {CHI2_DF15_P1E6} (p < 1e-6); (previous, next) pair counts {pairs:?}"
    );
}

// Origin: runtime/chan_test.go TestSelectFairness (there: 2 ready cases of 4,
// a 10-sigma band). Here 4 always-ready receive cases, 10,000 trials, and a
// chi-square band. `select_blocking!`.
#[test]
fn fairness_four_ready_recv_cases_blocking() {
    watchdog(30, "fairness (select_blocking!)", || {
        let chans: Vec<(Sender<u8>, Receiver<u8>)> = (0..4).map(|_| unbounded()).collect();
        for (i, (tx, _)) in chans.iter().enumerate() {
            for _ in 0..TRIALS {
                tx.try_send(i as u8).unwrap();
            }
        }
        let [r0, r1, r2, r3] = [&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1];
        let mut choices = Vec::with_capacity(TRIALS);
        for _ in 0..TRIALS {
            let c = select_blocking! {
                v = recv(r0) => { assert_eq!(v, Ok(0)); 0 },
                v = recv(r1) => { assert_eq!(v, Ok(1)); 1 },
                v = recv(r2) => { assert_eq!(v, Ok(2)); 2 },
                v = recv(r3) => { assert_eq!(v, Ok(3)); 3 },
            };
            choices.push(c);
        }
        assert_uniform("select_blocking! over 4 ready receives", &choices);
    });
}

// Origin: runtime/chan_test.go TestSelectFairness, with send cases: 2 ready
// receives and 2 ready sends (bounded with room, unbounded), async `select!`.
#[test]
fn fairness_two_recv_two_send_async() {
    watchdog(30, "fairness (select!)", || {
        let (tx0, rx0) = bounded::<u32>(TRIALS);
        let (tx1, rx1) = unbounded::<u32>();
        let (tx2, rx2) = bounded::<u32>(TRIALS);
        let (tx3, rx3) = unbounded::<u32>();
        for i in 0..TRIALS as u32 {
            tx0.try_send(i).unwrap();
            tx1.try_send(i).unwrap();
        }
        let choices = block_on(async {
            let mut choices = Vec::with_capacity(TRIALS);
            for i in 0..TRIALS as u32 {
                let c = select! {
                    v = recv(&rx0) => { v.unwrap(); 0 },
                    v = recv(&rx1) => { v.unwrap(); 1 },
                    r = send(&tx2, i) => { r.unwrap(); 2 },
                    r = send(&tx3, i) => { r.unwrap(); 3 },
                };
                choices.push(c);
            }
            choices
        });
        assert_uniform("select! over 2 ready receives and 2 ready sends", &choices);
        // Every send case that fired delivered its value; none that did not.
        let sent2 = choices.iter().filter(|&&c| c == 2).count();
        let sent3 = choices.iter().filter(|&&c| c == 3).count();
        assert_eq!(rx2.len(), sent2);
        assert_eq!(rx3.len(), sent3);
    });
}

// Origin: runtime/chan_test.go TestSelectFairness, for the dynamic `Select`
// (Go's reflect.Select), over mixed flavors.
#[test]
fn fairness_builder() {
    watchdog(30, "fairness (Select builder)", || {
        let chans: Vec<(Sender<u8>, Receiver<u8>)> = vec![
            bounded(TRIALS),
            unbounded(),
            bounded(TRIALS + 1),
            unbounded(),
        ];
        for (tx, _) in &chans {
            for _ in 0..TRIALS {
                tx.try_send(0).unwrap();
            }
        }
        let mut sel = Select::new();
        let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
        let mut choices = Vec::with_capacity(TRIALS);
        for _ in 0..TRIALS {
            let k = sel.wait_blocking();
            let case = idx.iter().position(|&i| i == k).unwrap();
            assert_eq!(sel.take_recv(k, &chans[case].1), Ok(0));
            choices.push(case);
        }
        assert_uniform("Select::wait_blocking over 4 ready receives", &choices);
    });
}

// Origin: the biased form (crossbeam/tokio users' request; issue item 3):
// with several cases ready, the first ready one in declaration order always
// runs — for `select_biased_blocking!`, `select_biased!` and `Select::new_biased`.
#[test]
fn biased_always_picks_first_ready_case() {
    watchdog(30, "biased select", || {
        let (tx0, rx0) = bounded::<u8>(0); // never ready: nobody sends
        let (tx1, rx1) = unbounded::<u8>();
        let (tx2, rx2) = unbounded::<u8>();
        let (tx3, rx3) = unbounded::<u8>();
        let none: Option<&Receiver<u8>> = None;
        for _ in 0..1000 {
            tx2.try_send(2).unwrap();
            tx3.try_send(3).unwrap();
        }
        // Cases 0 (not ready), 1 (None), 2 and 3 ready: always 2.
        for _ in 0..300 {
            let c = select_biased_blocking! {
                _ = recv(&rx0) => 0,
                _ = recv(none) => 1,
                v = recv(&rx2) => { assert_eq!(v, Ok(2)); 2 },
                v = recv(&rx3) => { assert_eq!(v, Ok(3)); 3 },
            };
            assert_eq!(c, 2, "select_biased_blocking! skipped the first ready case");
        }
        block_on(async {
            for _ in 0..300 {
                let c = select_biased! {
                    _ = recv(&rx0) => 0,
                    _ = recv(none) => 1,
                    _ = recv(&rx2) => 2,
                    _ = recv(&rx3) => 3,
                };
                assert_eq!(c, 2, "select_biased! skipped the first ready case");
            }
        });
        // A send case first in order wins over ready receives.
        for i in 0..300 {
            let c = select_biased_blocking! {
                r = send(&tx1, i as u8) => { r.unwrap(); 1 },
                _ = recv(&rx2) => 2,
                _ = recv(&rx3) => 3,
            };
            assert_eq!(
                c, 1,
                "select_biased_blocking! skipped a ready first send case"
            );
        }
        assert_eq!(rx1.len(), 300);
        let mut sel = Select::new_biased();
        let _a = sel.recv(&rx0);
        let b = sel.recv(&rx1);
        let c2 = sel.recv(&rx2);
        for _ in 0..300 {
            assert_eq!(sel.try_wait(), Some(b), "Select::new_biased skipped case 1");
            sel.take_recv(b, &rx1).unwrap();
        }
        // Case 1 drained: case 2 is now the first ready one.
        assert_eq!(sel.try_wait(), Some(c2));
        assert_eq!(sel.take_recv(c2, &rx2), Ok(2));
        drop((tx0, tx2, tx3));
    });
}

// Origin: runtime/chan_test.go TestPseudoRandomSend: a select of two sends
// of different values on one channel must pick both (not always the first),
// for a rendezvous and a buffered channel.
#[test]
fn pseudo_random_send() {
    watchdog(30, "TestPseudoRandomSend", || {
        const N: usize = 100;
        for cap in [0, N] {
            for use_async in [false, true] {
                let (tx, rx) = bounded::<usize>(cap);
                let reader = thread::spawn(move || {
                    (0..N)
                        .map(|_| {
                            thread::yield_now();
                            rx.recv_blocking().unwrap()
                        })
                        .collect::<Vec<_>>()
                });
                if use_async {
                    block_on(async {
                        for _ in 0..N {
                            select! {
                                r = send(&tx, 1) => r.unwrap(),
                                r = send(&tx, 0) => r.unwrap(),
                            }
                        }
                    });
                } else {
                    for _ in 0..N {
                        select_blocking! {
                            r = send(&tx, 1) => r.unwrap(),
                            r = send(&tx, 0) => r.unwrap(),
                        }
                    }
                }
                let got = reader.join().unwrap();
                let ones: usize = got.iter().sum();
                let zeros = N - ones;
                assert!(
                    zeros > N / 10 && ones > N / 10,
                    "want pseudo-random sends, got {zeros} zeros and {ones} ones \
                     (bounded({cap}), async: {use_async})"
                );
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Stress, exactly-once
// ---------------------------------------------------------------------------

/// A value that names who sent it, on which channel, and its sequence number.
fn tag(source: u64, chan: u64, i: u64) -> u64 {
    (source << 40) | (chan << 32) | i
}

/// Origin: runtime/chan_test.go TestSelectStress. Channels 0 and 1 are
/// rendezvous, 2 is bounded(2), 3 is bounded(3). Four threads send N values
/// on each channel, four receive N from each; one more sends N on every
/// channel through a single select, and one receives N from every channel
/// through a single select, each setting a finished case to `None` (Go nils
/// the channel). On top of Go's "does not deadlock", every value is received
/// exactly once. With `async_selects`, the two selecting parties use
/// `select!` under `futures::executor` on their threads.
fn select_stress(async_selects: bool) {
    const N: u64 = 5_000;
    let chans: Vec<(Sender<u64>, Receiver<u64>)> =
        vec![bounded(0), bounded(0), bounded(2), bounded(3)];
    let txs: Vec<Sender<u64>> = chans.iter().map(|c| c.0.clone()).collect();
    let rxs: Vec<Receiver<u64>> = chans.iter().map(|c| c.1.clone()).collect();
    drop(chans);
    let mut handles = Vec::new();
    for k in 0..4u64 {
        let tx = txs[k as usize].clone();
        handles.push(thread::spawn(move || {
            for i in 0..N {
                tx.send_blocking(tag(k, k, i)).unwrap();
            }
            Vec::new()
        }));
        let rx = rxs[k as usize].clone();
        handles.push(thread::spawn(move || {
            (0..N).map(|_| rx.recv_blocking().unwrap()).collect()
        }));
    }
    let select_txs = txs.clone();
    handles.push(thread::spawn(move || {
        let t = &select_txs;
        let mut n = [0u64; 4];
        let mut c: [Option<&Sender<u64>>; 4] = [Some(&t[0]), Some(&t[1]), Some(&t[2]), Some(&t[3])];
        for _ in 0..4 * N {
            let (v0, v1, v2, v3) = (
                tag(4, 0, n[0]),
                tag(4, 1, n[1]),
                tag(4, 2, n[2]),
                tag(4, 3, n[3]),
            );
            let (k, r) = if async_selects {
                block_on(async {
                    select! {
                        r = send(c[3], v3) => (3, r),
                        r = send(c[2], v2) => (2, r),
                        r = send(c[0], v0) => (0, r),
                        r = send(c[1], v1) => (1, r),
                    }
                })
            } else {
                select_blocking! {
                    r = send(c[3], v3) => (3, r),
                    r = send(c[2], v2) => (2, r),
                    r = send(c[0], v0) => (0, r),
                    r = send(c[1], v1) => (1, r),
                }
            };
            let r: Result<(), SendError<u64>> = r;
            r.expect("no channel is closed");
            n[k] += 1;
            assert!(n[k] <= N, "a None (nil) send case fired");
            if n[k] == N {
                c[k] = None;
            }
        }
        Vec::new()
    }));
    let select_rxs = rxs.clone();
    handles.push(thread::spawn(move || {
        let r = &select_rxs;
        let mut n = [0u64; 4];
        let mut c: [Option<&Receiver<u64>>; 4] =
            [Some(&r[0]), Some(&r[1]), Some(&r[2]), Some(&r[3])];
        let mut got = Vec::with_capacity(4 * N as usize);
        for _ in 0..4 * N {
            let (k, v) = if async_selects {
                block_on(async {
                    select! {
                        v = recv(c[0]) => (0, v),
                        v = recv(c[1]) => (1, v),
                        v = recv(c[2]) => (2, v),
                        v = recv(c[3]) => (3, v),
                    }
                })
            } else {
                select_blocking! {
                    v = recv(c[0]) => (0, v),
                    v = recv(c[1]) => (1, v),
                    v = recv(c[2]) => (2, v),
                    v = recv(c[3]) => (3, v),
                }
            };
            let v = v.expect("no channel is closed");
            assert_eq!((v >> 32) & 0xff, k as u64, "value from another channel");
            got.push(v);
            n[k] += 1;
            assert!(n[k] <= N, "a None (nil) receive case fired");
            if n[k] == N {
                c[k] = None;
            }
        }
        got
    }));
    let mut all: Vec<u64> = Vec::new();
    for h in handles {
        all.extend(h.join().expect("a stress thread panicked"));
    }
    all.sort_unstable();
    let mut want: Vec<u64> = (0..4u64)
        .flat_map(|k| (0..N).flat_map(move |i| [tag(k, k, i), tag(4, k, i)]))
        .collect();
    want.sort_unstable();
    assert_eq!(all.len(), want.len(), "values lost or duplicated");
    if let Some(pos) = all.iter().zip(&want).position(|(a, b)| a != b) {
        panic!(
            "values lost or duplicated: first difference at {pos}: got {:#x}, want {:#x}",
            all[pos], want[pos]
        );
    }
}

// Origin: runtime/chan_test.go TestSelectStress, select_blocking! on threads.
#[test]
fn select_stress_blocking() {
    watchdog(60, "TestSelectStress (blocking)", || select_stress(false));
}

// Origin: runtime/chan_test.go TestSelectStress, the selecting parties async
// (select! under futures::executor) against blocking threads.
#[test]
fn select_stress_async() {
    watchdog(60, "TestSelectStress (async)", || select_stress(true));
}

/// Origin: test/chan/doubleselect.go. One sender sends 0..n, each value
/// through a select over four rendezvous channels; four muxes forward them
/// to one channel; the receiver sees every value exactly once (Go checks
/// "no duplicates"; we also check "no loss"). If two cases of one select
/// could both run, a value would arrive twice.
fn double_select(async_sender: bool) {
    const N: u64 = 10_000;
    let (tx1, rx1) = bounded::<u64>(0);
    let (tx2, rx2) = bounded::<u64>(0);
    let (tx3, rx3) = bounded::<u64>(0);
    let (tx4, rx4) = bounded::<u64>(0);
    let (mux_tx, mux_rx) = bounded::<u64>(0);
    let sender = thread::spawn(move || {
        for i in 0..N {
            if async_sender {
                block_on(async {
                    select! {
                        r = send(&tx1, i) => r.unwrap(),
                        r = send(&tx2, i) => r.unwrap(),
                        r = send(&tx3, i) => r.unwrap(),
                        r = send(&tx4, i) => r.unwrap(),
                    }
                });
            } else {
                select_blocking! {
                    r = send(&tx1, i) => r.unwrap(),
                    r = send(&tx2, i) => r.unwrap(),
                    r = send(&tx3, i) => r.unwrap(),
                    r = send(&tx4, i) => r.unwrap(),
                }
            }
        }
        // The senders drop here: the four channels close.
    });
    let muxes: Vec<_> = [rx1, rx2, rx3, rx4]
        .into_iter()
        .map(|rx| {
            let out = mux_tx.clone();
            thread::spawn(move || {
                for v in &rx {
                    out.send_blocking(v).unwrap();
                }
            })
        })
        .collect();
    drop(mux_tx);
    let mut seen = vec![0u8; N as usize];
    for v in &mux_rx {
        seen[v as usize] += 1;
        assert_eq!(seen[v as usize], 1, "doubleselect: got duplicate value {v}");
    }
    sender.join().unwrap();
    for m in muxes {
        m.join().unwrap();
    }
    if let Some(missing) = seen.iter().position(|&s| s == 0) {
        panic!("doubleselect: value {missing} was never received");
    }
}

// Origin: test/chan/doubleselect.go, select_blocking! sender.
#[test]
fn doubleselect_blocking() {
    watchdog(60, "doubleselect (blocking)", || double_select(false));
}

// Origin: test/chan/doubleselect.go, async select! sender.
#[test]
fn doubleselect_async() {
    watchdog(60, "doubleselect (async)", || double_select(true));
}

// ---------------------------------------------------------------------------
// select3.go: blocking and non-blocking expectations
// ---------------------------------------------------------------------------

/// Origin: test/chan/select3.go testBlock. Runs `f` on its own thread.
/// `should_block`: `f` must still be blocked after 50 ms (the thread is then
/// left parked; it holds nothing the other tests use). Otherwise `f` must
/// complete (within a generous 10 s, for a loaded machine).
fn expect_block(should_block: bool, what: &str, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std_mpsc::channel();
    thread::Builder::new()
        .name(format!("select3: {what}"))
        .spawn(move || {
            f();
            let _ = done_tx.send(());
        })
        .unwrap();
    let wait = if should_block {
        Duration::from_millis(50)
    } else {
        Duration::from_secs(10)
    };
    match (should_block, done_rx.recv_timeout(wait)) {
        (true, Err(std_mpsc::RecvTimeoutError::Timeout)) | (false, Ok(())) => {}
        (true, Ok(())) => panic!("select3: `{what}` should block, but it completed"),
        (false, Err(std_mpsc::RecvTimeoutError::Timeout)) => {
            panic!("select3: `{what}` should not block, but it is still blocked after 10 s")
        }
        (_, Err(std_mpsc::RecvTimeoutError::Disconnected)) => {
            panic!("select3: `{what}` panicked (see its message above)")
        }
    }
}

/// One select3 row in both forms: `select_blocking!` on a thread and
/// `select!` under `futures::executor::block_on`.
macro_rules! select3_row {
    ($should_block:expr, $what:literal, [$($setup:tt)*], { $($cases:tt)* }) => {{
        expect_block($should_block, concat!($what, " [select_blocking!]"), move || {
            $($setup)*
            select_blocking! { $($cases)* }
        });
        expect_block($should_block, concat!($what, " [select!]"), move || {
            $($setup)*
            block_on(async { select! { $($cases)* } })
        });
    }};
}

const BLOCKS: bool = true;
const NEVER_BLOCKS: bool = false;

fn nil_tx() -> Option<&'static Sender<i32>> {
    None
}

fn nil_rx() -> Option<&'static Receiver<i32>> {
    None
}

fn closed() -> (Sender<i32>, Receiver<i32>) {
    let (tx, rx) = bounded(0);
    tx.close();
    (tx, rx)
}

// Origin: test/chan/select3.go, its table of blocking and non-blocking
// selects (a nil channel is a `None` case; Go's panic on sending to a closed
// channel is our `Err(SendError(v))`, which does not block).
#[test]
fn select3_table() {
    // Sending/receiving on a nil channel inside a select is never selected.
    select3_row!(NEVER_BLOCKS, "nil send + default", [], {
        _ = send(nil_tx(), 7) => unreachable!("nil send case fired"),
        default => {},
    });
    select3_row!(NEVER_BLOCKS, "nil recv + default", [], {
        _ = recv(nil_rx()) => unreachable!("nil recv case fired"),
        default => {},
    });
    // Sending to a channel with free buffer space never blocks.
    select3_row!(NEVER_BLOCKS, "send with room", [let (tx, _rx) = bounded::<i32>(1);], {
        r = send(&tx, 7) => assert_eq!(r, Ok(())),
    });
    // Receiving from a closed channel never blocks (10 times in a row).
    select3_row!(NEVER_BLOCKS, "recv from closed, once", [let (_tx, rx) = closed();], {
        v = recv(&rx) => assert_eq!(v, Err(RecvError)),
    });
    expect_block(NEVER_BLOCKS, "recv from closed, 10 times", || {
        let (_tx, rx) = closed();
        for _ in 0..10 {
            select_blocking! { v = recv(&rx) => assert_eq!(v, Err(RecvError)) }
            block_on(async {
                select! { v = recv(&rx) => assert_eq!(v, Err(RecvError)) }
            });
        }
    });
    // Receiving from a channel that is not ready always blocks.
    select3_row!(BLOCKS, "recv not ready", [let (_tx, rx) = bounded::<i32>(0);], {
        _ = recv(&rx) => unreachable!(),
    });
    // Empty selects always block.
    select3_row!(BLOCKS, "empty select", [], {});
    // Selects with only nil channels always block.
    select3_row!(BLOCKS, "only a nil recv", [], {
        _ = recv(nil_rx()) => unreachable!(),
    });
    select3_row!(BLOCKS, "only a nil send", [], {
        _ = send(nil_tx(), 7) => unreachable!(),
    });
    select3_row!(BLOCKS, "nil recv and nil send", [], {
        _ = recv(nil_rx()) => unreachable!(),
        _ = send(nil_tx(), 7) => unreachable!(),
    });
    // Selects with non-ready non-nil channels always block.
    select3_row!(BLOCKS, "non-ready recv and full send", [
        let (_tx, rx) = bounded::<i32>(0);
        let (tx2, _rx2) = bounded::<i32>(1);
        tx2.try_send(0).unwrap();
    ], {
        _ = recv(&rx) => unreachable!(),
        _ = send(&tx2, 7) => unreachable!(),
    });
    // Selects with default cases don't block.
    select3_row!(NEVER_BLOCKS, "only default", [], { default => {} });
    select3_row!(NEVER_BLOCKS, "non-ready recv + default", [let (_tx, rx) = bounded::<i32>(0);], {
        _ = recv(&rx) => unreachable!(),
        default => {},
    });
    // Selects with ready channels don't block (and do not take default).
    select3_row!(NEVER_BLOCKS, "ready send + default", [let (tx, rx) = bounded::<i32>(1);], {
        r = send(&tx, 7) => { assert_eq!(r, Ok(())); assert_eq!(rx.try_recv(), Ok(7)); },
        default => unreachable!("default ran with a ready send case"),
    });
    select3_row!(NEVER_BLOCKS, "ready recv + default", [
        let (tx, rx) = bounded::<i32>(1);
        tx.try_send(7).unwrap();
    ], {
        v = recv(&rx) => assert_eq!(v, Ok(7)),
        default => unreachable!("default ran with a ready receive case"),
    });
    // Selects with closed channels behave like ordinary operations.
    select3_row!(NEVER_BLOCKS, "closed recv", [let (_tx, rx) = closed();], {
        v = recv(&rx) => assert_eq!(v, Err(RecvError)),
    });
    select3_row!(NEVER_BLOCKS, "closed send gives the value back", [let (tx, _rx) = closed();], {
        r = send(&tx, 7) => assert_eq!(r, Err(SendError(7))),
    });
    select3_row!(NEVER_BLOCKS, "closed send + default", [let (tx, _rx) = closed();], {
        r = send(&tx, 7) => assert_eq!(r, Err(SendError(7))),
        default => unreachable!("default ran with a closed (ready) send case"),
    });
    // A select should not get confused if it sees itself.
    select3_row!(BLOCKS, "self select on a rendezvous", [let (tx, rx) = bounded::<i32>(0);], {
        _ = send(&tx, 1) => unreachable!("the select sent to itself"),
        _ = recv(&rx) => unreachable!("the select received from itself"),
    });
    // The same with a timeout: the timeout fires, not the self-talk.
    select3_row!(NEVER_BLOCKS, "self select with a timeout", [let (tx, rx) = bounded::<i32>(0);], {
        _ = send(&tx, 1) => unreachable!("the select sent to itself"),
        _ = recv(&rx) => unreachable!("the select received from itself"),
        _ = recv(subinterp::after(Duration::from_millis(5))) => {},
    });
}

// Origin: test/chan/select.go: each case's value expression is evaluated
// exactly once per select, left to right, whether or not its case runs and
// even if its channel is nil; nil-ing a case disables it.
#[test]
fn value_expressions_evaluated_once_in_order() {
    watchdog(10, "select.go", || {
        let counter = std::cell::Cell::new(0u32);
        let shift = std::cell::Cell::new(0u32);
        let log = std::cell::RefCell::new(Vec::new());
        let get_value = |case: &'static str| {
            counter.set(counter.get() + 1);
            log.borrow_mut().push(case);
            1u32 << shift.get()
        };
        let send_all = |mut a: Option<&Sender<u32>>, mut b: Option<&Sender<u32>>| {
            let mut i = 0;
            loop {
                let more = select_blocking! {
                    r = send(a, get_value("a")) => { r.unwrap(); i += 1; a = None; true },
                    r = send(b, get_value("b")) => { r.unwrap(); i += 1; b = None; true },
                    default => false,
                };
                if !more {
                    return i;
                }
                shift.set(shift.get() + 1);
            }
        };
        let (atx, arx) = bounded::<u32>(1);
        let (btx, brx) = bounded::<u32>(1);
        assert_eq!(send_all(Some(&atx), Some(&btx)), 2);
        let (av, bv) = (arx.try_recv().unwrap(), brx.try_recv().unwrap());
        assert_eq!(av | bv, 3, "bad values {av} {bv}");
        assert_eq!(send_all(Some(&atx), None), 1);
        assert_eq!(
            counter.get(),
            10,
            "value expressions evaluated {} times",
            counter.get()
        );
        let log = log.borrow();
        assert!(
            log.chunks(2).all(|p| p == ["a", "b"]),
            "value expressions not evaluated left to right: {log:?}"
        );
    });
}

// ---------------------------------------------------------------------------
// Non-blocking select races: default only when no case is ready
// ---------------------------------------------------------------------------

/// The three non-blocking forms, chosen by `form`: `select_blocking!` with
/// default, `select!` with default, `Select::try_wait`. True if a case ran.
fn nonblocking_recv2(form: usize, c1: &Receiver<i32>, c2: &Receiver<i32>) -> bool {
    match form {
        0 => select_blocking! {
            _ = recv(c1) => true,
            _ = recv(c2) => true,
            default => false,
        },
        1 => block_on(async {
            select! {
                _ = recv(c1) => true,
                _ = recv(c2) => true,
                default => false,
            }
        }),
        _ => {
            let mut sel = Select::new();
            let a = sel.recv(c1);
            let b = sel.recv(c2);
            match sel.try_wait() {
                Some(k) if k == a => sel.take_recv(a, c1).is_ok(),
                Some(k) => {
                    assert_eq!(k, b);
                    let _ = sel.take_recv(b, c2);
                    true
                }
                None => false,
            }
        }
    }
}

/// Origin: runtime/chan_test.go TestNonblockSelectRace (and, with
/// `close_c2`, TestNonblockSelectRace2). c1 holds a value; a worker runs a
/// non-blocking select on c1 and c2 while this thread makes c2 ready (a
/// value, or close) and then steals c1's value. At every moment one of them
/// is ready, so `default` must never run: a select must act on the state of
/// its channels at one moment, not over a smeared window.
fn run_nonblock_select_race(close_c2: bool) {
    const ITERS: usize = 10_000;
    let (work_tx, work_rx) = std_mpsc::channel::<(Receiver<i32>, Receiver<i32>, usize)>();
    let (done_tx, done_rx) = std_mpsc::channel::<bool>();
    let worker = thread::spawn(move || {
        for (c1, c2, i) in work_rx {
            done_tx.send(nonblocking_recv2(i % 3, &c1, &c2)).unwrap();
        }
    });
    for i in 0..ITERS {
        let (tx1, rx1) = bounded::<i32>(1);
        let (tx2, rx2) = bounded::<i32>(if close_c2 { 0 } else { 1 });
        tx1.try_send(1).unwrap();
        work_tx.send((rx1.clone(), rx2.clone(), i)).unwrap();
        if close_c2 {
            tx2.close();
        } else {
            tx2.try_send(1).unwrap();
        }
        select_blocking! {
            _ = recv(&rx1) => {},
            default => {},
        }
        let form = ["select_blocking!", "select!", "Select::try_wait"][i % 3];
        assert!(
            done_rx.recv().unwrap(),
            "iteration {i}: {form} ran default although a case was always ready"
        );
    }
    drop(work_tx);
    worker.join().unwrap();
}

// Origin: runtime/chan_test.go TestNonblockSelectRace.
#[test]
fn nonblock_select_race() {
    watchdog(60, "TestNonblockSelectRace", || {
        run_nonblock_select_race(false)
    });
}

// Origin: runtime/chan_test.go TestNonblockSelectRace2 (close replaces the send).
#[test]
fn nonblock_select_race2() {
    watchdog(60, "TestNonblockSelectRace2", || {
        run_nonblock_select_race(true)
    });
}

// Origin: runtime/chan_test.go TestNonblockRecvRace: a select with default on
// a channel that holds a value and is closed concurrently always receives.
#[test]
fn nonblock_recv_race() {
    watchdog(60, "TestNonblockRecvRace", || {
        let (work_tx, work_rx) = std_mpsc::channel::<Receiver<i32>>();
        let (done_tx, done_rx) = std_mpsc::channel::<bool>();
        let worker = thread::spawn(move || {
            for c in work_rx {
                let ok = select_blocking! { _ = recv(&c) => true, default => false };
                done_tx.send(ok).unwrap();
            }
        });
        for i in 0..2_000 {
            let (tx, rx) = bounded::<i32>(1);
            tx.try_send(1).unwrap();
            work_tx.send(rx.clone()).unwrap();
            tx.close();
            let _ = rx.recv_blocking();
            assert!(
                done_rx.recv().unwrap(),
                "iteration {i}: the channel was ready, default ran"
            );
        }
        drop(work_tx);
        worker.join().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Self select, duplicate channels, select meets select
// ---------------------------------------------------------------------------

/// Origin: runtime/chan_test.go TestSelfSelect. Two parties each run 1000
/// selects that both send their id and receive on one channel; with a
/// rendezvous a party must never receive its own value (talk to itself).
/// Half of party 1's selects list the receive first and are biased, so both
/// declaration orders and both the random and biased forms are exercised.
/// `async_party1`: party 1 is an async `select!` under futures::executor.
fn self_select(cap: usize, async_party1: bool) {
    let (tx, rx) = bounded::<usize>(cap);
    let barrier = Arc::new(Barrier::new(2));
    let parties: Vec<_> = (0..2usize)
        .map(|p| {
            let (tx, rx, barrier) = (tx.clone(), rx.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let (mut sent, mut received) = (0usize, 0usize);
                for i in 0..1000 {
                    let got = if p == 0 || i % 2 == 0 {
                        if p == 1 && async_party1 {
                            block_on(async {
                                select! {
                                    r = send(&tx, p) => { r.unwrap(); None },
                                    v = recv(&rx) => Some(v.unwrap()),
                                }
                            })
                        } else {
                            select_blocking! {
                                r = send(&tx, p) => { r.unwrap(); None },
                                v = recv(&rx) => Some(v.unwrap()),
                            }
                        }
                    } else if async_party1 {
                        block_on(async {
                            select_biased! {
                                v = recv(&rx) => Some(v.unwrap()),
                                r = send(&tx, p) => { r.unwrap(); None },
                            }
                        })
                    } else {
                        select_biased_blocking! {
                            v = recv(&rx) => Some(v.unwrap()),
                            r = send(&tx, p) => { r.unwrap(); None },
                        }
                    };
                    match got {
                        Some(v) => {
                            assert!(
                                !(cap == 0 && v == p),
                                "party {p} received its own value on a rendezvous: self receive"
                            );
                            received += 1;
                        }
                        None => sent += 1,
                    }
                }
                (sent, received)
            })
        })
        .collect();
    let counts: Vec<(usize, usize)> = parties.into_iter().map(|h| h.join().unwrap()).collect();
    if cap == 0 {
        assert_eq!(
            counts[0].0, counts[1].1,
            "party 0 sends != party 1 receives: {counts:?}"
        );
        assert_eq!(
            counts[1].0, counts[0].1,
            "party 1 sends != party 0 receives: {counts:?}"
        );
    } else {
        let sent = counts[0].0 + counts[1].0;
        let received = counts[0].1 + counts[1].1;
        assert_eq!(
            sent,
            received + rx.len(),
            "values lost: {counts:?}, {} buffered",
            rx.len()
        );
    }
}

// Origin: runtime/chan_test.go TestSelfSelect, two threads.
#[test]
fn self_select_threads() {
    watchdog(60, "TestSelfSelect (threads)", || {
        self_select(0, false);
        self_select(10, false);
    });
}

// Origin: runtime/chan_test.go TestSelfSelect, a thread against an async select!.
#[test]
fn self_select_thread_and_async() {
    watchdog(60, "TestSelfSelect (thread + async)", || {
        self_select(0, true);
        self_select(10, true);
    });
}

// Origin: runtime/chan_test.go TestSelectDuplicateChannel: a select queued
// twice on one channel, woken through another channel, must dequeue both
// entries cleanly, so a later plain receiver on that channel is still woken.
#[test]
fn select_duplicate_channel() {
    for use_async in [false, true] {
        watchdog(30, "TestSelectDuplicateChannel", move || {
            let (c_tx, c_rx) = bounded::<i32>(0);
            let (d_tx, d_rx) = bounded::<i32>(0);
            let (e_tx, e_rx) = bounded::<i32>(0);
            let a = {
                let c_rx = c_rx.clone();
                thread::spawn(move || {
                    let case = if use_async {
                        block_on(async {
                            select! {
                                _ = recv(&c_rx) => 0,
                                _ = recv(&c_rx) => 1,
                                v = recv(&d_rx) => { assert_eq!(v, Ok(7)); 2 },
                            }
                        })
                    } else {
                        select_blocking! {
                            _ = recv(&c_rx) => 0,
                            _ = recv(&c_rx) => 1,
                            v = recv(&d_rx) => { assert_eq!(v, Ok(7)); 2 },
                        }
                    };
                    assert_eq!(case, 2, "a duplicate case on c fired, nobody sent on c");
                    e_tx.send_blocking(9).unwrap();
                })
            };
            thread::sleep(Duration::from_millis(10)); // A queues first on c
            let b = thread::spawn(move || c_rx.recv_blocking());
            thread::sleep(Duration::from_millis(10)); // then B
            d_tx.send_blocking(7).unwrap(); // wakes A, which dequeues itself from c twice
            assert_eq!(e_rx.recv_blocking(), Ok(9));
            c_tx.send_blocking(8).unwrap(); // must reach B, not a stale entry of A
            assert_eq!(b.join().unwrap(), Ok(8));
            a.join().unwrap();
        });
    }
}

// Origin: runtime/chan_test.go TestSelectDuplicateChannel, ready form: the
// same channel in several cases of one select (receives and sends); one value
// fires exactly one case.
#[test]
fn duplicate_channel_one_value_fires_one_case() {
    watchdog(30, "duplicate channel", || {
        for cap in FLAVORS {
            let (tx, rx) = chan::<u32>(cap);
            let t = thread::spawn({
                let tx = tx.clone();
                move || {
                    for i in 0..500 {
                        tx.send_blocking(i).unwrap();
                    }
                }
            });
            for i in 0..500 {
                let v = select_blocking! {
                    v = recv(&rx) => v,
                    v = recv(&rx) => v,
                    v = recv(&rx) => v,
                };
                assert_eq!(v, Ok(i), "{}", name(cap));
            }
            t.join().unwrap();
            assert!(
                rx.try_recv().is_err(),
                "{}: a value was duplicated",
                name(cap)
            );
            // Two sends of one value each on one channel: exactly one runs
            // when there is room for one.
            if cap == Some(1) {
                let c = select_blocking! {
                    r = send(&tx, 100) => { r.unwrap(); 0 },
                    r = send(&tx, 200) => { r.unwrap(); 1 },
                };
                assert_eq!(rx.try_recv(), Ok([100, 200][c]));
                assert!(rx.try_recv().is_err(), "both duplicate send cases ran");
            }
        }
    });
}

// Origin: test/chan/select6.go (Go issue 2075): a select that loses on a
// channel with other waiters must leave that channel's queue intact.
#[test]
fn select6_failed_case_keeps_queue_intact() {
    watchdog(30, "select6.go", || {
        let (c1_tx, c1_rx) = bounded::<bool>(0);
        let (c2_tx, c2_rx) = bounded::<bool>(0);
        let (c3_tx, c3_rx) = bounded::<bool>(0);
        let r1 = c1_rx.clone();
        let t1 = thread::spawn(move || r1.recv_blocking().unwrap());
        let r2 = c1_rx.clone();
        let t2 = thread::spawn(move || {
            select_blocking! {
                _ = recv(&r2) => panic!("dummy"),
                v = recv(&c2_rx) => { v.unwrap(); c3_tx.send_blocking(true).unwrap(); },
            }
            r2.recv_blocking().unwrap()
        });
        let t3 = thread::spawn(move || c2_tx.send_blocking(true).unwrap());
        c3_rx.recv_blocking().unwrap();
        c1_tx.send_blocking(true).unwrap();
        c1_tx.send_blocking(true).unwrap();
        for t in [t1, t2] {
            assert!(t.join().unwrap());
        }
        t3.join().unwrap();
    });
}

// Origin: DESIGN.md section 3 ("a select-send and a select-recv on the same
// rendezvous channel in two tasks must meet"), with Go's selectgo as the
// model: a select with a send case on a thread and an async select with a
// receive case meet on a rendezvous, and the reverse; each side also has a
// case that never fires, so both really go through the select protocol.
#[test]
fn select_send_meets_select_recv_on_rendezvous() {
    watchdog(30, "select meets select", || {
        const N: u32 = 2_000;
        let (tx, rx) = bounded::<u32>(0);
        let (back_tx, back_rx) = bounded::<u32>(0);
        let (_never_tx, never_rx) = bounded::<u32>(0);
        let (idle_tx, _idle_rx) = bounded::<u32>(0);
        let t = thread::spawn(move || {
            for i in 0..N {
                select_blocking! {
                    r = send(&tx, i) => r.unwrap(),
                    _ = recv(&never_rx) => unreachable!(),
                }
                let v = select_blocking! {
                    v = recv(&back_rx) => v.unwrap(),
                    _ = recv(&never_rx) => unreachable!(),
                };
                assert_eq!(v, i * 2);
            }
        });
        block_on(async {
            for i in 0..N {
                let v = select! {
                    v = recv(&rx) => v.unwrap(),
                    _ = send(&idle_tx, u32::MAX) => unreachable!(),
                };
                assert_eq!(v, i);
                select! {
                    r = send(&back_tx, v * 2) => r.unwrap(),
                    _ = send(&idle_tx, u32::MAX) => unreachable!(),
                }
            }
        });
        t.join().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Closed channels
// ---------------------------------------------------------------------------

// Origin: test/chan/select3.go ("selects with closed channels behave like
// ordinary operations") and runtime/chan_test.go TestChan: on every flavor,
// buffered values come first, then a receive case is ready with
// Err(RecvError) and a send case is ready with Err(SendError(v)), giving
// `v` back — in all three forms.
#[test]
fn closed_channel_cases_are_ready() {
    watchdog(30, "closed channel cases", || {
        for cap in FLAVORS {
            let (tx, rx) = chan::<String>(cap);
            let buffered = cap.map_or(2, |c| c.min(2));
            for i in 0..buffered {
                tx.try_send(format!("v{i}")).unwrap();
            }
            assert!(tx.close());
            let (_live, other) = bounded::<String>(0); // never ready
            for i in 0..buffered {
                let v = select_blocking! {
                    v = recv(&rx) => v,
                    _ = recv(&other) => unreachable!(),
                };
                assert_eq!(
                    v,
                    Ok(format!("v{i}")),
                    "{}: buffered values first",
                    name(cap)
                );
            }
            for _ in 0..3 {
                let v = select_blocking! { v = recv(&rx) => v, _ = recv(&other) => unreachable!() };
                assert_eq!(v, Err(RecvError), "{}", name(cap));
                let r = select_blocking! { r = send(&tx, "x".to_string()) => r, _ = recv(&other) => unreachable!() };
                assert_eq!(r, Err(SendError("x".to_string())), "{}", name(cap));
            }
            block_on(async {
                let v = select! { v = recv(&rx) => v, default => unreachable!("closed is ready") };
                assert_eq!(v, Err(RecvError));
                let r = select! { r = send(&tx, "y".to_string()) => r, default => unreachable!() };
                assert_eq!(r.unwrap_err().into_inner(), "y");
            });
            let mut sel = Select::new();
            let s = sel.send(&tx, "z".to_string());
            let r = sel.recv(&rx);
            let k = sel.wait_blocking();
            if k == s {
                assert_eq!(sel.take_send(s, &tx).unwrap_err().into_inner(), "z");
            } else {
                assert_eq!(sel.take_recv(r, &rx), Err(RecvError));
            }
        }
    });
}

// Origin: runtime/chan_test.go TestChan ("close unblocks receive"), for
// selects: a select blocked on receive and send cases is woken by close, and
// a blocked send case gets its value back.
#[test]
fn close_wakes_blocked_select() {
    watchdog(30, "close wakes a blocked select", || {
        for cap in [Some(0), Some(1)] {
            for use_async in [false, true] {
                let (tx, rx) = chan::<u32>(cap);
                if cap == Some(1) {
                    tx.try_send(0).unwrap(); // full: the send case blocks
                }
                let (rtx, rrx) = bounded::<u32>(0);
                let waiter = thread::spawn(move || {
                    if use_async {
                        block_on(async {
                            select! {
                                r = send(&tx, 42) => r.map_err(|e| e.into_inner()),
                                v = recv(&rrx) => { assert_eq!(v, Err(RecvError)); Err(0) },
                            }
                        })
                    } else {
                        select_blocking! {
                            r = send(&tx, 42) => r.map_err(|e| e.into_inner()),
                            v = recv(&rrx) => { assert_eq!(v, Err(RecvError)); Err(0) },
                        }
                    }
                });
                thread::sleep(Duration::from_millis(20));
                drop(rx); // the last receiver: sends fail
                let r = waiter.join().unwrap();
                assert_eq!(r, Err(42), "{}: blocked send case after close", name(cap));
                drop(rtx);
            }
        }
        // Close of the receive side's channel wakes a blocked receive case.
        let (tx, rx) = bounded::<u32>(0);
        let (_tx2, rx2) = bounded::<u32>(0);
        let waiter = thread::spawn(move || {
            select_blocking! { v = recv(&rx) => v, v = recv(&rx2) => v }
        });
        thread::sleep(Duration::from_millis(20));
        tx.close();
        assert_eq!(waiter.join().unwrap(), Err(RecvError));
    });
}

// ---------------------------------------------------------------------------
// Drop accounting of send-case values
// ---------------------------------------------------------------------------

// Origin: DESIGN.md section 3 ("no value is ever lost or duplicated") for
// send cases, after crossbeam's drop tests: every value given to a send case
// is dropped exactly once — received, unsent and dropped with the macro
// select, unsent and given back by the builder, or returned in a SendError.
#[test]
fn send_case_values_dropped_exactly_once() {
    watchdog(30, "send-case drop accounting", || {
        let tracker = DropTracker::new(64);
        let used = std::cell::Cell::new(0usize);
        let id = || {
            used.set(used.get() + 1);
            used.get() - 1
        };

        // Macro select: one case runs; the other value is dropped by the
        // end of the select, not later and not twice.
        let (tx1, rx1) = bounded(1);
        let (tx2, rx2) = bounded(0); // nobody receives: not ready
        let (a, b) = (id(), id());
        select_blocking! {
            r = send(&tx1, tracker.make(a)) => r.unwrap(),
            _ = send(&tx2, tracker.make(b)) => unreachable!(),
        }
        assert_eq!(
            tracker.drops(b),
            1,
            "the unsent value was not dropped with the select"
        );
        assert_eq!(tracker.drops(a), 0, "the sent value was dropped");
        drop(rx1.try_recv().unwrap());
        assert_eq!(tracker.drops(a), 1);

        // Default with no ready case (and a nil case): each value dropped once.
        let (c, d, nil) = (id(), id(), id());
        tx1.try_send(tracker.make(id())).unwrap(); // full now
        select_blocking! {
            _ = send(&tx1, tracker.make(c)) => unreachable!(),
            _ = send(&tx2, tracker.make(d)) => unreachable!(),
            _ = send(None::<&Sender<_>>, tracker.make(nil)) => unreachable!(),
            default => {},
        }
        assert_eq!(
            (tracker.drops(c), tracker.drops(d), tracker.drops(nil)),
            (1, 1, 1)
        );
        block_on(async {
            let e = id();
            select! {
                _ = send(&tx1, tracker.make(e)) => unreachable!(),
                default => {},
            }
            assert_eq!(tracker.drops(e), 1, "select! with default");
        });

        // Timeout: the blocked value is withdrawn and dropped once.
        let f = id();
        select_blocking! {
            _ = send(&tx2, tracker.make(f)) => unreachable!(),
            _ = recv(subinterp::after(Duration::from_millis(5))) => {},
        }
        assert_eq!(tracker.drops(f), 1, "a send case that timed out");

        // Closed: the value comes back in the error, dropped with it.
        let (ctx, crx) = bounded(4);
        drop(crx);
        let g = id();
        let err = select_blocking! { r = send(&ctx, tracker.make(g)) => r.unwrap_err() };
        assert_eq!(err.0.id, g);
        assert_eq!(tracker.drops(g), 0);
        drop(err);
        assert_eq!(tracker.drops(g), 1);

        // Builder: unsent values are given back intact, and dropped with the
        // select if not taken.
        let (h, i, j) = (id(), id(), id());
        let mut sel = Select::new();
        let sh = sel.send(&tx2, tracker.make(h));
        let _si = sel.send(&tx2, tracker.make(i));
        let _sj = sel.send(&tx1, tracker.make(j)); // full
        assert_eq!(sel.try_wait(), None);
        assert_eq!(sel.wait_timeout(Duration::from_millis(5)), None);
        let back = sel.take_value(sh, &tx2).expect("unsent value given back");
        assert_eq!(back.id, h);
        assert!(
            sel.take_value(sh, &tx2).is_none(),
            "a value given back twice"
        );
        drop(sel);
        assert_eq!(
            tracker.drops(i),
            1,
            "dropping the Select drops its unsent values"
        );
        assert_eq!(tracker.drops(j), 1);
        assert_eq!(tracker.drops(h), 0);
        drop(back);

        // A builder send that fires: its value is in the channel, once.
        let k = id();
        drop(rx1.try_recv().unwrap()); // room in tx1
        let mut sel = Select::new();
        let sk = sel.send(&tx1, tracker.make(k));
        assert_eq!(sel.wait_blocking(), sk);
        assert!(sel.take_send(sk, &tx1).is_ok());
        assert!(
            sel.take_value(sk, &tx1).is_none(),
            "a sent value was also given back"
        );
        drop(sel);
        assert_eq!(tracker.drops(k), 0);

        // Values still buffered are dropped with the channel.
        drop((tx1, rx1, tx2, rx2, ctx));
        for n in 0..used.get() {
            assert_eq!(
                tracker.drops(n),
                1,
                "value {n} dropped {} times",
                tracker.drops(n)
            );
        }
    });
}

// ---------------------------------------------------------------------------
// The Select builder
// ---------------------------------------------------------------------------

// Origin: Go's reflect.Select (the dynamic select) and crossbeam's `Select`
// tests: try_wait, wait_timeout, reuse across waits, `None` cases.
#[test]
fn builder_try_wait_timeout_and_reuse() {
    watchdog(30, "Select builder", || {
        let (tx1, rx1) = bounded::<u32>(0);
        let (tx2, rx2) = unbounded::<u32>();
        let mut sel = Select::new();
        let a = sel.recv(&rx1);
        let b = sel.recv(&rx2);
        let n = sel.recv(None::<&Receiver<u32>>);
        assert_eq!((a, b, n), (0, 1, 2));
        assert_eq!(sel.len(), 3);

        assert_eq!(sel.try_wait(), None);
        let t0 = Instant::now();
        assert_eq!(sel.wait_timeout(Duration::from_millis(30)), None);
        assert!(
            t0.elapsed() >= Duration::from_millis(30),
            "wait_timeout returned early"
        );

        // Receive cases stay armed across waits.
        for i in 0..5 {
            tx2.try_send(i).unwrap();
            assert_eq!(sel.wait_timeout(Duration::from_secs(5)), Some(b));
            assert_eq!(sel.take_recv(b, &rx2), Ok(i));
        }
        let t = thread::spawn(move || {
            for i in 0..5 {
                tx1.send_blocking(i).unwrap();
            }
        });
        for i in 0..5 {
            let k = sel.wait_blocking();
            assert_eq!(k, a);
            assert_eq!(sel.take_recv(a, &rx1), Ok(i));
        }
        t.join().unwrap();
        // tx1 dropped: the closed case is ready.
        assert_eq!(sel.try_wait(), Some(a));
        assert_eq!(sel.take_recv(a, &rx1), Err(RecvError));

        // An empty select: try_wait and wait_timeout return None.
        let mut empty = Select::new();
        assert!(empty.is_empty());
        assert_eq!(empty.try_wait(), None);
        assert_eq!(empty.wait_timeout(Duration::from_millis(5)), None);
    });
}

// Origin: Go's reflect.Select and the builder's contract ("a send case runs
// at most once"): once a send case has fired and its result was taken, later
// waits — including ones that block and time out — must neither run it again
// nor invent a result for it.
#[test]
fn builder_fired_send_case_stays_quiet_across_waits() {
    watchdog(30, "Select builder, fired send case", || {
        let (out_tx, out_rx) = bounded::<u32>(1);
        let (_tx, rx) = bounded::<u32>(0); // never ready
        let mut sel = Select::new();
        let s = sel.send(&out_tx, 77);
        let _r = sel.recv(&rx);
        assert_eq!(sel.try_wait(), Some(s));
        assert_eq!(sel.take_send(s, &out_tx), Ok(()));
        assert_eq!(out_rx.try_recv(), Ok(77));
        // Nothing is ready; the fired send case does not run again although
        // its channel has room.
        assert_eq!(sel.try_wait(), None);
        assert_eq!(sel.wait_timeout(Duration::from_millis(10)), None);
        assert!(out_rx.try_recv().is_err(), "a send case ran twice");
        // The blocking round above must not have left a result behind: this
        // wait must not panic with "take the result of case 0 before waiting
        // again".
        assert_eq!(sel.try_wait(), None);
        assert_eq!(sel.wait_timeout(Duration::from_millis(10)), None);
    });
}

// Origin: Go's reflect.Select; the builder's wait().await under an executor,
// woken by a thread.
#[test]
fn builder_async_wait() {
    watchdog(30, "Select::wait().await", || {
        let (tx, rx) = bounded::<u32>(0);
        let (tx2, rx2) = bounded::<u32>(0);
        let t = thread::spawn(move || {
            for i in 0..200 {
                if i % 2 == 0 {
                    tx.send_blocking(i).unwrap();
                } else {
                    assert_eq!(rx2.recv_blocking(), Ok(i));
                }
            }
        });
        block_on(async {
            for i in 0..200 {
                let mut sel = Select::new();
                let r = sel.recv(&rx);
                let s = sel.send(&tx2, i);
                let k = sel.wait().await;
                if i % 2 == 0 {
                    assert_eq!(k, r);
                    assert_eq!(sel.take_recv(r, &rx), Ok(i));
                    assert_eq!(sel.take_value(s, &tx2), Some(i), "unsent value given back");
                } else {
                    assert_eq!(k, s);
                    assert_eq!(sel.take_send(s, &tx2), Ok(()));
                    assert_eq!(sel.take_value(s, &tx2), None);
                }
            }
        });
        t.join().unwrap();
    });
}

// Origin: misuse of the builder must fail loudly (crossbeam's SelectedOperation
// panics on a wrong receiver): take_recv on a channel the case does not name.
#[test]
#[should_panic(expected = "is not a receive case on this channel")]
fn builder_take_recv_wrong_channel_panics() {
    let (tx, rx) = unbounded::<u32>();
    let (_tx2, rx2) = unbounded::<u32>();
    tx.try_send(1).unwrap();
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    assert_eq!(sel.wait_blocking(), i);
    let _ = sel.take_recv(i, &rx2);
}

// Origin: as above: take_recv on a send case.
#[test]
#[should_panic(expected = "is not a receive case on this channel")]
fn builder_take_recv_on_send_case_panics() {
    let (tx, _rx) = unbounded::<u32>();
    let rx2 = _rx.clone();
    let mut sel = Select::new();
    let i = sel.send(&tx, 1);
    assert_eq!(sel.wait_blocking(), i);
    let _ = sel.take_recv(i, &rx2);
}

// Origin: as above: take_send on a case of another channel.
#[test]
#[should_panic(expected = "is not a send case on this channel")]
fn builder_take_send_wrong_channel_panics() {
    let (tx, _rx) = unbounded::<u32>();
    let (tx2, _rx2) = unbounded::<u32>();
    let mut sel = Select::new();
    let i = sel.send(&tx, 1);
    assert_eq!(sel.wait_blocking(), i);
    let _ = sel.take_send(i, &tx2);
}

// Origin: as above: taking the result of a case that did not fire.
#[test]
#[should_panic(expected = "did not fire")]
fn builder_take_recv_of_unfired_case_panics() {
    let (tx, rx) = unbounded::<u32>();
    let (_tx2, rx2) = unbounded::<u32>();
    tx.try_send(1).unwrap();
    let mut sel = Select::new();
    let _i = sel.recv(&rx);
    let j = sel.recv(&rx2);
    assert_eq!(sel.wait_blocking(), _i);
    let _ = sel.take_recv(j, &rx2);
}

// Origin: as above: waiting again before taking a fired case's result would
// lose the value; it must panic instead.
#[test]
#[should_panic(expected = "before waiting again")]
fn builder_wait_again_without_taking_panics() {
    let (tx, rx) = unbounded::<u32>();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    assert_eq!(sel.wait_blocking(), i);
    let _ = sel.try_wait();
}

// ---------------------------------------------------------------------------
// Timers as cases
// ---------------------------------------------------------------------------

// Origin: Go's `case <-time.After(d)` idiom: a timeout case fires when
// nothing else does, not before its time, and `never()` never fires.
#[test]
fn after_and_never_cases() {
    watchdog(30, "after/never", || {
        let (_tx, rx) = bounded::<u32>(0);
        let start = Instant::now();
        let c = select_blocking! {
            _ = recv(&rx) => 0,
            _ = recv(subinterp::never::<u32>()) => 1,
            t = recv(subinterp::after(Duration::from_millis(30))) => {
                assert!(t.unwrap() >= start + Duration::from_millis(30));
                2
            }
        };
        assert_eq!(c, 2);
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "the timeout fired early"
        );
        let c = block_on(async {
            select! {
                _ = recv(&rx) => 0,
                _ = recv(subinterp::never::<u32>()) => 1,
                _ = recv(subinterp::after(Duration::from_millis(10))) => 2,
            }
        });
        assert_eq!(c, 2);
        let c = select_blocking! {
            _ = recv(subinterp::never::<u32>()) => 1,
            default => 0,
        };
        assert_eq!(c, 0);
    });
}

// Origin: a select loop with a tick (examples/select_loop.rs shape; Go's
// time.Tick): a ticker fires repeatedly; a ready request channel is still
// served; a shutdown ends the loop.
#[test]
fn select_loop_with_tick_and_shutdown() {
    watchdog(30, "select loop", || {
        let (req_tx, req_rx) = bounded::<u32>(0);
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let served = Arc::new(AtomicUsize::new(0));
        let ticked = Arc::new(AtomicUsize::new(0));
        let server = {
            let (served, ticked) = (served.clone(), ticked.clone());
            thread::spawn(move || {
                let ticks = subinterp::tick(Duration::from_millis(2));
                let mut last = None;
                loop {
                    select_blocking! {
                        r = recv(&req_rx) => { r.unwrap(); served.fetch_add(1, Ordering::SeqCst); },
                        t = recv(&ticks) => {
                            let t = t.unwrap();
                            assert!(last.is_none_or(|l| t > l), "ticks go forward");
                            last = Some(t);
                            ticked.fetch_add(1, Ordering::SeqCst);
                        },
                        _ = recv(&stop_rx) => break,
                    }
                }
            })
        };
        for i in 0..100 {
            req_tx.send_blocking(i).unwrap();
        }
        // The ticker keeps firing while requests are served and after.
        let seen = ticked.load(Ordering::SeqCst);
        while ticked.load(Ordering::SeqCst) < seen + 3 {
            thread::sleep(Duration::from_millis(1));
        }
        stop_tx.send_blocking(()).unwrap();
        server.join().unwrap();
        assert_eq!(served.load(Ordering::SeqCst), 100);
    });
}

// Random mixes of the previous cases, seeded for reproduction: a random
// number of cases over random flavors, each either ready or not, checked
// against a model of which ones are ready.
// Origin: runtime/chan_test.go TestChan's non-blocking selects ("receive from
// empty chan", "send to full chan" never fire; ready ones never take default).
#[test]
fn random_readiness_model() {
    watchdog(30, "readiness model", || {
        let mut rng = XorShift::new(0x5e1ec7);
        for round in 0..2_000 {
            let n = 1 + rng.below(12) as usize; // past 8: the case lists spill to the heap
            let mut chans = Vec::new();
            let mut ready = Vec::new();
            let mut is_send = Vec::new();
            for _ in 0..n {
                let cap = FLAVORS[rng.below(4) as usize];
                let (tx, rx) = chan::<u64>(cap);
                let send = rng.below(2) == 0;
                let r = match (rng.below(3), send, cap) {
                    // Closed: ready for both directions.
                    (2, _, _) => {
                        tx.close();
                        true
                    }
                    // Nobody waits on the other side of a rendezvous.
                    (_, _, Some(0)) => false,
                    // Unbounded always has room.
                    (_, true, None) => true,
                    // Full: a send is not ready.
                    (0, true, Some(c)) => {
                        (0..c).for_each(|_| tx.try_send(0).unwrap());
                        false
                    }
                    (_, true, _) => true,
                    // Empty: a receive is not ready.
                    (0, false, _) => false,
                    (_, false, _) => {
                        tx.try_send(7).unwrap();
                        true
                    }
                };
                ready.push(r);
                is_send.push(send);
                chans.push((tx, rx));
            }
            let mut sel = if rng.below(2) == 0 {
                Select::new()
            } else {
                Select::new_biased()
            };
            for (k, (tx, rx)) in chans.iter().enumerate() {
                if is_send[k] {
                    sel.send(tx, k as u64);
                } else {
                    sel.recv(rx);
                }
            }
            let got = sel.try_wait();
            match got {
                None => assert!(
                    !ready.contains(&true),
                    "round {round}: default ran with ready cases {ready:?} (sends {is_send:?})"
                ),
                Some(k) => assert!(
                    ready[k],
                    "round {round}: case {k} fired but was not ready: {ready:?} (sends {is_send:?})"
                ),
            }
        }
    });
}

// Origin: Go's reflect.Select tests (reflect/all_test.go TestSelect runs
// selects over many cases): a builder with 32 receive cases (past the
// inline size of the case lists), a thread sends on one at random; exactly
// that case fires, blocked or ready, and owned and `Option` receivers work.
#[test]
fn many_cases_builder() {
    watchdog(30, "32-case Select", || {
        const CASES: usize = 32;
        let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..CASES)
            .map(|k| if k % 2 == 0 { bounded(0) } else { bounded(1) })
            .collect();
        let txs: Vec<Sender<usize>> = chans.iter().map(|c| c.0.clone()).collect();
        let mut rng = XorShift::new(32);
        let picks: Vec<usize> = (0..300).map(|_| rng.below(CASES as u64) as usize).collect();
        // One value in flight at a time (an ack after each), so exactly one
        // case is ready at each selection.
        let (ack_tx, ack_rx) = std_mpsc::channel::<()>();
        let sender = {
            let picks = picks.clone();
            thread::spawn(move || {
                for (i, &k) in picks.iter().enumerate() {
                    txs[k].send_blocking(i).unwrap();
                    ack_rx.recv().unwrap();
                }
            })
        };
        let mut sel = Select::new();
        let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
        // Cases that never fire: None, an owned never(), an owned Option.
        sel.recv(None::<&Receiver<usize>>);
        sel.recv(subinterp::never::<usize>());
        sel.recv(Some(subinterp::never::<usize>()));
        for (i, &k) in picks.iter().enumerate() {
            let fired = sel.wait_blocking();
            assert_eq!(fired, idx[k], "selection {i}: wrong case fired");
            assert_eq!(sel.take_recv(fired, &chans[k].1), Ok(i));
            ack_tx.send(()).unwrap();
        }
        sender.join().unwrap();
    });
}

// Origin: test/chan/select3.go ("selects with only nil channels block") for
// owned `Option` receivers, and Go's `case <-time.After(d)` as `Some(after(d))`.
#[test]
fn owned_option_cases() {
    watchdog(30, "owned Option cases", || {
        let c = select_blocking! {
            _ = recv(None::<Receiver<u8>>) => 0,
            _ = recv(Some(subinterp::after(Duration::from_millis(5)))) => 1,
        };
        assert_eq!(c, 1);
        let (tx, rx) = bounded::<u8>(1);
        let c = select_blocking! {
            r = send(Some(tx), 3) => { r.unwrap(); 0 },
            default => 1,
        };
        assert_eq!(c, 0);
        // The owned sender was the only one and went with the select: closed
        // after its value.
        assert_eq!(rx.recv_blocking(), Ok(3));
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

/// Origin: test/chan/nonblock.go, its select parts: a non-blocking receive
/// from an empty channel fails; with a receiver blocked on the other side, a
/// non-blocking send succeeds (within a bounded number of tries); with a
/// sender blocked, a non-blocking receive succeeds — for buffer sizes 0 and
/// 1 and several value types, sync and async.
fn nonblock_go<T>(cap: usize, to_recv: T, to_send: T)
where
    T: Clone + PartialEq + std::fmt::Debug + Send + 'static,
{
    const MAX_TRIES: usize = 10_000;
    let (tx, rx) = bounded::<T>(cap);
    let r = select_blocking! { v = recv(&rx) => Some(v), default => None };
    assert!(
        r.is_none(),
        "bounded({cap}): non-blocking receive from an empty channel succeeded"
    );

    // A blocked receiver: the non-blocking send eventually succeeds.
    let receiver = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv_blocking().unwrap())
    };
    let mut tries = 0;
    loop {
        let sent = if tries % 2 == 0 {
            select_blocking! { r = send(&tx, to_recv.clone()) => { r.unwrap(); true }, default => false }
        } else {
            block_on(async {
                select! { r = send(&tx, to_recv.clone()) => { r.unwrap(); true }, default => false }
            })
        };
        if sent {
            break;
        }
        tries += 1;
        assert!(
            tries < MAX_TRIES,
            "bounded({cap}): non-blocking send to a waiting receiver never succeeded"
        );
        thread::sleep(Duration::from_micros(100));
    }
    assert_eq!(
        receiver.join().unwrap(),
        to_recv,
        "bounded({cap}): receiver value"
    );

    // A blocked sender: the non-blocking receive eventually succeeds.
    let sender = {
        let (tx, v) = (tx.clone(), to_send.clone());
        thread::spawn(move || tx.send_blocking(v).unwrap())
    };
    let mut tries = 0;
    let got = loop {
        let got = if tries % 2 == 0 {
            select_blocking! { v = recv(&rx) => Some(v.unwrap()), default => None }
        } else {
            block_on(async {
                select! { v = recv(&rx) => Some(v.unwrap()), default => None }
            })
        };
        if let Some(v) = got {
            break v;
        }
        tries += 1;
        assert!(
            tries < MAX_TRIES,
            "bounded({cap}): non-blocking receive from a waiting sender never succeeded"
        );
        thread::sleep(Duration::from_micros(100));
    };
    assert_eq!(got, to_send, "bounded({cap}): sender value");
    sender.join().unwrap();
}

// Origin: test/chan/nonblock.go (i32, i64, bool and string channels, buffer 0 and 1).
#[test]
fn nonblock_send_recv_against_blocked_parties() {
    watchdog(60, "nonblock.go", || {
        for cap in [0, 1] {
            nonblock_go::<i32>(cap, 123, 234);
            nonblock_go::<i64>(cap, 123_456, 234_567);
            nonblock_go::<bool>(cap, true, true);
            nonblock_go::<String>(cap, "hello".into(), "hello again".into());
        }
    });
}
