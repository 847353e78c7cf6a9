//! Stress: many senders and receivers, threads and tasks, close racing with
//! sends. Every value is received exactly once or given back to its sender,
//! never both, never neither; per sender, each receiver sees values in order.
//!
//! Sizes are fixed (not build-profile dependent) and scaled down under Miri.

mod common;

use common::{chan, name, scaled, watchdog};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use subinterp::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};

/// Values moved per flavor by the main MPMC test.
const TOTAL: usize = scaled(1_000_000, 8_000);
/// Values offered per flavor by the close race and the mixed test.
const RACE_TOTAL: usize = scaled(100_000, 4_000);
const SENDERS: usize = 4;
/// `try_send`/`try_recv` attempts before falling back to blocking.
const TRIES: usize = 20;
const RECEIVERS: usize = 4;

/// How a party uses the channel.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `send_blocking` / `recv_blocking`.
    Blocking,
    /// `send().await` / `recv().await` under `futures::executor::block_on`.
    Async,
    /// A rotation over every form: blocking, timeout, try (with retry), async.
    Rotate,
}

/// Value `i` of sender `s`.
fn value(s: usize, i: usize, per: usize) -> u64 {
    (s * per + i) as u64
}

/// Sends `per` values as sender `s`. Returns the values given back in errors.
fn send_all(tx: Sender<u64>, s: usize, per: usize, mode: Mode) -> Vec<u64> {
    let mut back = Vec::new();
    let send = |i: usize| -> Result<(), u64> {
        let v = value(s, i, per);
        let m = match mode {
            Mode::Rotate => i % 4,
            Mode::Blocking => 0,
            Mode::Async => 3,
        };
        match m {
            0 => tx.send_blocking(v).map_err(|e| e.into_inner()),
            1 => loop {
                match tx.send_timeout(v, Duration::from_millis(1)) {
                    Err(SendTimeoutError::Timeout(_)) => continue,
                    r => break r.map_err(|e| e.into_inner()),
                }
            },
            // A few tries, then block: with every party in a try loop on a
            // rendezvous channel, nobody would ever wait, and nothing move.
            2 => {
                let mut v = v;
                for _ in 0..TRIES {
                    match tx.try_send(v) {
                        Err(TrySendError::Full(back)) => v = back,
                        r => return r.map_err(|e| e.into_inner()),
                    }
                    thread::yield_now();
                }
                tx.send_blocking(v).map_err(|e| e.into_inner())
            }
            _ => futures::executor::block_on(tx.send(v)).map_err(|e| e.into_inner()),
        }
    };
    if let Mode::Async = mode {
        // One task for the whole run, not one block_on per value.
        return futures::executor::block_on(async {
            let mut back = Vec::new();
            for i in 0..per {
                let v = value(s, i, per);
                if let Err(e) = tx.send(v).await {
                    assert_eq!(e.0, v, "the error holds the value sent");
                    back.push(e.0);
                }
            }
            back
        });
    }
    for i in 0..per {
        if let Err(v) = send(i) {
            assert_eq!(v, value(s, i, per), "the error holds the value sent");
            back.push(v);
        }
    }
    back
}

/// Receives until the channel is closed and drained.
fn recv_all(rx: Receiver<u64>, mode: Mode, progress: &AtomicUsize) -> Vec<u64> {
    let mut got = Vec::new();
    match mode {
        Mode::Blocking => {
            while let Ok(v) = rx.recv_blocking() {
                got.push(v);
                progress.fetch_add(1, Ordering::Relaxed);
            }
        }
        Mode::Async => futures::executor::block_on(async {
            while let Ok(v) = rx.recv().await {
                got.push(v);
                progress.fetch_add(1, Ordering::Relaxed);
            }
        }),
        Mode::Rotate => {
            for k in 0.. {
                let r = match k % 4 {
                    0 => rx.recv_blocking().ok(),
                    1 => loop {
                        match rx.recv_timeout(Duration::from_millis(1)) {
                            Err(RecvTimeoutError::Timeout) => continue,
                            r => break r.ok(),
                        }
                    },
                    2 => (0..TRIES)
                        .find_map(|_| match rx.try_recv() {
                            Err(e) if e.is_empty() => {
                                thread::yield_now();
                                None
                            }
                            r => Some(r.ok()),
                        })
                        .unwrap_or_else(|| rx.recv_blocking().ok()),
                    _ => futures::executor::block_on(rx.recv()).ok(),
                };
                match r {
                    Some(v) => {
                        got.push(v);
                        progress.fetch_add(1, Ordering::Relaxed);
                    }
                    None => break,
                }
            }
        }
    }
    got
}

/// Runs senders and receivers with the given modes over one channel, closes
/// it explicitly once `close_after` values were received (if `Some`), and
/// checks exactly-once delivery and per-sender order.
fn run(
    cap: Option<usize>,
    total: usize,
    senders: &[Mode],
    receivers: &[Mode],
    close_after: Option<usize>,
) {
    let what = format!("{} {senders:?}/{receivers:?}", name(cap));
    let per = total / senders.len();
    let total = per * senders.len();
    let (tx, rx) = chan::<u64>(cap);
    let progress = Arc::new(AtomicUsize::new(0));

    let send_threads: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(s, &mode)| {
            let tx = tx.clone();
            thread::spawn(move || send_all(tx, s, per, mode))
        })
        .collect();
    let recv_threads: Vec<_> = receivers
        .iter()
        .map(|&mode| {
            let (rx, progress) = (rx.clone(), progress.clone());
            thread::spawn(move || recv_all(rx, mode, &progress))
        })
        .collect();

    match close_after {
        Some(n) => {
            while progress.load(Ordering::Relaxed) < n {
                thread::yield_now();
            }
            assert!(rx.close(), "{what}: nobody else closes");
            drop((tx, rx));
        }
        // The last Sender (in the threads) closes the channel.
        None => drop((tx, rx)),
    }

    let mut seen = vec![0u8; total];
    for t in send_threads {
        for v in t.join().unwrap() {
            seen[v as usize] += 1;
        }
    }
    let returned = seen.iter().filter(|&&c| c > 0).count();
    for t in recv_threads {
        let got = t.join().unwrap();
        // Per sender, one receiver sees values in the order sent.
        let mut last = vec![None; senders.len()];
        for &v in &got {
            let s = v as usize / per;
            assert!(
                !matches!(last[s], Some(l) if l >= v),
                "{what}: sender {s}'s values out of order: {v} after {:?}",
                last[s]
            );
            last[s] = Some(v);
            seen[v as usize] += 1;
        }
    }
    for (v, &c) in seen.iter().enumerate() {
        assert!(
            c == 1,
            "{what}: value {v} was received or returned {c} times (expected exactly once)"
        );
    }
    if close_after.is_none() {
        assert_eq!(returned, 0, "{what}: values returned without a close");
    }
}

fn mpmc(cap: Option<usize>) {
    watchdog(300, "stress mpmc", move || {
        run(
            cap,
            TOTAL,
            &[Mode::Blocking; SENDERS],
            &[Mode::Blocking; RECEIVERS],
            None,
        )
    });
}

#[test]
fn mpmc_rendezvous() {
    mpmc(Some(0));
}

#[test]
fn mpmc_bounded_1() {
    mpmc(Some(1));
}

#[test]
fn mpmc_bounded_16() {
    mpmc(Some(16));
}

#[test]
fn mpmc_unbounded() {
    mpmc(None);
}

/// `close()` races with sends of every form: each value is received once or
/// given back once.
#[test]
fn close_races_sends() {
    watchdog(300, "close races sends", || {
        for cap in common::FLAVORS {
            for close_at in [0, RACE_TOTAL / 3] {
                run(
                    cap,
                    RACE_TOTAL,
                    &[Mode::Rotate; SENDERS],
                    &[Mode::Rotate; RECEIVERS],
                    Some(close_at),
                );
            }
        }
    });
}

/// Async tasks (each under `block_on` on its own thread) and blocking
/// threads on the same channel, on both sides, with and without a close race.
#[test]
fn mixed_tasks_and_threads() {
    watchdog(300, "mixed tasks and threads", || {
        let senders = [Mode::Async, Mode::Blocking, Mode::Async, Mode::Rotate];
        let receivers = [Mode::Blocking, Mode::Async, Mode::Rotate, Mode::Async];
        for cap in common::FLAVORS {
            run(cap, RACE_TOTAL, &senders, &receivers, None);
            run(cap, RACE_TOTAL, &senders, &receivers, Some(RACE_TOTAL / 2));
        }
    });
}
