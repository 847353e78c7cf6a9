//! The async faces under real executors: tokio (current-thread and
//! multi-thread runtimes) and `futures::executor`; rendezvous between a task
//! and a blocking thread in both directions; futures dropped by tokio's
//! `timeout`; `Stream`/`Sink` under the `futures` feature.

mod common;

use common::{chan, name, scaled, watchdog, XorShift, FLAVORS};
use std::thread;
use std::time::Duration;

const N: u64 = scaled(2_000, 50) as u64;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// A producer task and a consumer task on one runtime thread: every wake-up
/// has to go through the tasks' wakers.
#[test]
fn tokio_current_thread_producer_consumer() {
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(60, &what.clone(), move || {
            current_thread().block_on(async move {
                let (tx, rx) = chan::<u64>(cap);
                let producer = tokio::spawn(async move {
                    for i in 0..N {
                        tx.send(i).await.unwrap();
                    }
                });
                let consumer = tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        got.push(v);
                    }
                    got
                });
                producer.await.unwrap();
                let got = consumer.await.unwrap();
                assert_eq!(got, (0..N).collect::<Vec<_>>(), "{what}");
            })
        });
    }
}

/// 4 producer and 4 consumer tasks on a 2-worker runtime.
#[test]
fn tokio_multi_thread_mpmc() {
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(60, &what.clone(), move || {
            multi_thread().block_on(async move {
                let (tx, rx) = chan::<u64>(cap);
                let producers: Vec<_> = (0..4)
                    .map(|p| {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..N {
                                tx.send(p * N + i).await.unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let consumers: Vec<_> = (0..4)
                    .map(|_| {
                        let rx = rx.clone();
                        tokio::spawn(async move {
                            let mut got = Vec::new();
                            while let Ok(v) = rx.recv().await {
                                got.push(v);
                            }
                            got
                        })
                    })
                    .collect();
                drop(rx);
                for p in producers {
                    p.await.unwrap();
                }
                let mut all = Vec::new();
                for c in consumers {
                    all.extend(c.await.unwrap());
                }
                all.sort_unstable();
                assert_eq!(all, (0..4 * N).collect::<Vec<_>>(), "{what}");
            })
        });
    }
}

/// Tasks on a `futures::executor::LocalPool`, one thread.
#[test]
fn futures_local_pool() {
    use futures::task::LocalSpawnExt;
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(60, &what.clone(), move || {
            let mut pool = futures::executor::LocalPool::new();
            let spawner = pool.spawner();
            let (tx, rx) = chan::<u64>(cap);
            let (done_tx, done_rx) = subinterp::bounded::<Vec<u64>>(1);
            for _ in 0..2 {
                let tx = tx.clone();
                spawner
                    .spawn_local(async move {
                        for i in 0..N {
                            tx.send(i).await.unwrap();
                        }
                    })
                    .unwrap();
            }
            drop(tx);
            spawner
                .spawn_local(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        got.push(v);
                    }
                    done_tx.send(got).await.unwrap();
                })
                .unwrap();
            pool.run();
            let mut got = done_rx.try_recv().expect("the consumer finished");
            got.sort_unstable();
            let mut want: Vec<u64> = (0..N).chain(0..N).collect();
            want.sort_unstable();
            assert_eq!(got, want, "{what}");
        });
    }
}

/// Rendezvous: an async task sends, a blocking thread receives, and back;
/// under tokio (current-thread) and under `futures::executor::block_on`.
#[test]
fn rendezvous_task_and_thread_both_directions() {
    watchdog(60, "task <-> thread rendezvous", || {
        for executor in ["tokio", "futures"] {
            let (to_thread_tx, to_thread_rx) = subinterp::bounded::<u64>(0);
            let (to_task_tx, to_task_rx) = subinterp::bounded::<u64>(0);
            // The thread: receives (blocking), sends back (blocking).
            let echo = thread::spawn(move || {
                let mut n = 0;
                for v in &to_thread_rx {
                    to_task_tx.send_blocking(v * 2).unwrap();
                    n += 1;
                }
                n
            });
            let task = async move {
                for i in 0..N {
                    to_thread_tx.send(i).await.unwrap();
                    assert_eq!(to_task_rx.recv().await, Ok(i * 2));
                }
            };
            match executor {
                "tokio" => current_thread().block_on(task),
                _ => futures::executor::block_on(task),
            }
            assert_eq!(echo.join().unwrap(), N, "{executor}");
        }
        // One direction at a time, with the other party arriving late.
        for late in ["task", "thread"] {
            let (tx, rx) = subinterp::bounded::<u64>(0);
            let receiver = thread::spawn(move || {
                if late == "thread" {
                    thread::sleep(Duration::from_millis(20));
                }
                rx.recv_blocking()
            });
            current_thread().block_on(async {
                if late == "task" {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                tx.send(7).await.unwrap();
            });
            assert_eq!(receiver.join().unwrap(), Ok(7), "late {late}");

            let (tx, rx) = subinterp::bounded::<u64>(0);
            let sender = thread::spawn(move || {
                if late == "thread" {
                    thread::sleep(Duration::from_millis(20));
                }
                tx.send_blocking(8)
            });
            let got = current_thread().block_on(async {
                if late == "task" {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                rx.recv().await
            });
            assert_eq!(got, Ok(8), "late {late}");
            assert_eq!(sender.join().unwrap(), Ok(()), "late {late}");
        }
    });
}

/// A blocking sender thread; a tokio task receives through
/// `tokio::time::timeout`, which drops the recv future whenever it fires.
/// Nothing is lost and the order is kept.
#[test]
fn tokio_timeout_drops_recv_futures() {
    for cap in [Some(0), Some(1), None] {
        let what = name(cap);
        watchdog(60, &what.clone(), move || {
            let n = scaled(500, 20) as u64;
            let (tx, rx) = chan::<u64>(cap);
            let sender = thread::spawn(move || {
                let mut rng = XorShift::new(3);
                for i in 0..n {
                    // tokio's timer has a 1 ms resolution: pause longer at times.
                    if rng.below(8) == 0 {
                        thread::sleep(Duration::from_micros(rng.below(3000)));
                    }
                    tx.send_blocking(i).unwrap();
                }
            });
            let (got, timeouts) = current_thread().block_on(async {
                let mut rng = XorShift::new(4);
                let (mut got, mut timeouts) = (Vec::new(), 0);
                loop {
                    let d = Duration::from_micros(rng.below(100));
                    match tokio::time::timeout(d, rx.recv()).await {
                        Ok(Ok(v)) => got.push(v),
                        Ok(Err(_)) => break,
                        Err(_) => timeouts += 1,
                    }
                }
                (got, timeouts)
            });
            sender.join().unwrap();
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{what}");
            assert!(timeouts > 0, "{what}: no recv future was ever dropped");
        });
    }
}

/// Same, with the send side cancelled by `timeout`: a send that timed out
/// may still have been delivered only if a receiver took it before the drop;
/// every value the task was told was sent is received, nothing twice.
#[test]
fn tokio_timeout_drops_send_futures() {
    for cap in [Some(0), Some(1)] {
        let what = name(cap);
        watchdog(60, &what.clone(), move || {
            let n = scaled(500, 20) as u64;
            let (tx, rx) = chan::<u64>(cap);
            let receiver = thread::spawn(move || {
                let mut rng = XorShift::new(5);
                let mut got = Vec::new();
                while let Ok(v) = rx.recv_blocking() {
                    got.push(v);
                    // tokio's timer has a 1 ms resolution: pause longer at times.
                    if rng.below(8) == 0 {
                        thread::sleep(Duration::from_micros(rng.below(3000)));
                    }
                }
                got
            });
            let sent = current_thread().block_on(async {
                let mut rng = XorShift::new(6);
                let mut sent = Vec::new();
                for i in 0..n {
                    let d = Duration::from_micros(rng.below(100));
                    if let Ok(r) = tokio::time::timeout(d, tx.send(i)).await {
                        r.unwrap();
                        sent.push(i);
                    }
                }
                sent
            });
            drop(tx);
            let got = receiver.join().unwrap();
            // Received values are a subsequence of 0..n, in order, and
            // include every value the sender was told was sent.
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{what}: {got:?}");
            let mut it = got.iter();
            for s in &sent {
                assert!(it.any(|g| g == s), "{what}: sent {s} (Ok) was lost");
            }
            assert!(
                sent.len() < n as usize,
                "{what}: no send future was ever dropped"
            );
        });
    }
}

#[cfg(feature = "futures")]
mod stream_sink {
    use super::*;
    use futures::{SinkExt, StreamExt};
    use std::time::Instant;

    /// `Stream` for `Receiver`: yields every value in order and ends when the
    /// channel is closed and drained; fused afterwards.
    #[test]
    fn stream_collects_until_closed() {
        use futures::stream::FusedStream;
        for cap in FLAVORS {
            let what = name(cap);
            watchdog(60, &what.clone(), move || {
                let (tx, mut rx) = chan::<u64>(cap);
                let sender = thread::spawn(move || {
                    for i in 0..N {
                        tx.send_blocking(i).unwrap();
                    }
                });
                let got: Vec<u64> = current_thread().block_on(async { (&mut rx).collect().await });
                sender.join().unwrap();
                assert_eq!(got, (0..N).collect::<Vec<_>>(), "{what}");
                assert!(rx.is_terminated(), "{what}");
                assert_eq!(futures::executor::block_on(rx.next()), None, "{what}");
            });
        }
    }

    /// `Sink` for `Sender`: `send_all` delivers everything in order.
    #[test]
    fn sink_send_all() {
        for cap in FLAVORS {
            let what = name(cap);
            watchdog(60, &what.clone(), move || {
                let (mut tx, rx) = chan::<u64>(cap);
                let receiver = thread::spawn(move || rx.iter().collect::<Vec<_>>());
                current_thread().block_on(async {
                    let mut values = futures::stream::iter(0..N).map(Ok);
                    tx.send_all(&mut values).await.unwrap();
                    SinkExt::close(&mut tx).await.unwrap();
                });
                drop(tx);
                assert_eq!(
                    receiver.join().unwrap(),
                    (0..N).collect::<Vec<_>>(),
                    "{what}"
                );
            });
        }
    }

    /// On a rendezvous, `SinkExt::send` (start_send + flush) completes only
    /// once a receiver has taken the value.
    #[test]
    fn sink_flush_waits_for_rendezvous_receiver() {
        watchdog(60, "sink flush on a rendezvous", || {
            let (mut tx, rx) = subinterp::bounded::<u64>(0);
            let receiver = thread::spawn(move || {
                // Let the sink go first and wait.
                thread::sleep(Duration::from_millis(50));
                let receiving_from = Instant::now();
                (receiving_from, rx.recv_blocking())
            });
            futures::executor::block_on(SinkExt::send(&mut tx, 1)).unwrap();
            let flushed_at = Instant::now();
            let (receiving_from, got) = receiver.join().unwrap();
            assert_eq!(got, Ok(1));
            assert!(
                flushed_at >= receiving_from,
                "the sink flushed before any receiver came to take the value"
            );
        });
    }

    /// A sink on a closed channel reports an error.
    #[test]
    fn sink_on_closed_channel_errors() {
        watchdog(30, "sink on a closed channel", || {
            for cap in FLAVORS {
                let (mut tx, rx) = chan::<u64>(cap);
                rx.close();
                let r = futures::executor::block_on(SinkExt::send(&mut tx, 1));
                assert!(r.is_err(), "{}", name(cap));
                assert!(rx.try_recv().unwrap_err().is_closed());
            }
        });
    }

    /// A pipeline of stages connected by `forward` under the multi-thread
    /// runtime: Stream into Sink.
    #[test]
    fn forward_pipeline() {
        for cap in FLAVORS {
            let what = name(cap);
            watchdog(60, &what.clone(), move || {
                multi_thread().block_on(async move {
                    let (tx1, rx1) = chan::<u64>(cap);
                    let (tx2, rx2) = chan::<u64>(cap);
                    let (tx3, rx3) = chan::<u64>(cap);
                    let stage1 = tokio::spawn(rx1.map(|v| Ok(v + 1)).forward(tx2));
                    let stage2 = tokio::spawn(rx2.map(|v| Ok(v * 2)).forward(tx3));
                    let feeder = tokio::spawn(async move {
                        for i in 0..N {
                            tx1.send(i).await.unwrap();
                        }
                    });
                    let got: Vec<u64> = rx3.collect().await;
                    feeder.await.unwrap();
                    stage1.await.unwrap().unwrap();
                    stage2.await.unwrap().unwrap();
                    assert_eq!(
                        got,
                        (0..N).map(|i| (i + 1) * 2).collect::<Vec<_>>(),
                        "{what}"
                    );
                })
            });
        }
    }
}

/// A waker whose `wake` looks at the channel it is waiting on (an executor
/// may run arbitrary code on wake, e.g. poll inline or take its own locks).
struct ChannelPeekingWaker {
    rx: subinterp::Receiver<u64>,
    woken: std::sync::atomic::AtomicUsize,
}

impl std::task::Wake for ChannelPeekingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let _ = (self.rx.len(), self.rx.is_closed());
        self.woken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Wakers are user code: a channel must not call them while holding its own
/// (non-reentrant) lock, or a waker that touches the channel deadlocks.
/// Covers the wake by a send (handoff to a waiting receiver), by close, and
/// by a receive (a waiting sender's offer taken).
#[test]
fn wakers_run_outside_the_channel_lock() {
    use std::future::Future;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::task::{Context, Waker};
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(30, &what.clone(), move || {
            let (tx, rx) = chan::<u64>(cap);
            let peek = Arc::new(ChannelPeekingWaker {
                rx: rx.clone(),
                woken: Default::default(),
            });
            let waker = Waker::from(peek.clone());
            let mut cx = Context::from_waker(&waker);
            // Woken by a send handing it a value.
            let mut f = rx.recv();
            assert!(std::pin::Pin::new(&mut f).poll(&mut cx).is_pending());
            tx.try_send(1).unwrap();
            assert!(peek.woken.load(Ordering::SeqCst) >= 1, "{what}");
            drop(f);
            assert_eq!(rx.try_recv(), Ok(1), "{what}");
            // Woken by close.
            let mut f = rx.recv();
            assert!(std::pin::Pin::new(&mut f).poll(&mut cx).is_pending());
            let before = peek.woken.load(Ordering::SeqCst);
            let (tx2, rx2) = (tx.clone(), rx.clone());
            tx.close();
            assert!(peek.woken.load(Ordering::SeqCst) > before, "{what}");
            drop(f);
            drop((tx, rx, tx2, rx2));
            // Woken by a receive taking its offer (bounded flavors only).
            if let Some(n) = cap {
                let (tx, rx) = chan::<u64>(cap);
                let peek = Arc::new(ChannelPeekingWaker {
                    rx: rx.clone(),
                    woken: Default::default(),
                });
                let waker = Waker::from(peek.clone());
                let mut cx = Context::from_waker(&waker);
                for i in 0..n as u64 {
                    tx.try_send(i).unwrap();
                }
                let mut s = tx.send(99);
                assert!(std::pin::Pin::new(&mut s).poll(&mut cx).is_pending());
                let first = rx.try_recv();
                assert!(first.is_ok(), "{what}");
                assert!(peek.woken.load(Ordering::SeqCst) >= 1, "{what}");
                assert!(std::pin::Pin::new(&mut s).poll(&mut cx).is_ready());
            }
        });
    }
}
