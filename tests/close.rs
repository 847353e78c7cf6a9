//! Closing a channel, for every flavor: explicit `close()` from either side,
//! the last `Sender` dropping, the last `Receiver` dropping, and the waking of
//! blocked threads and tasks.

mod common;

use common::{chan, name, watchdog, DropTracker, FLAVORS};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};
use subinterp::{
    Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

/// Long enough for a spawned thread to reach its blocking call.
const SETTLE: Duration = Duration::from_millis(20);

/// How many values a flavor can buffer in these tests.
fn buffered(cap: Option<usize>) -> usize {
    cap.unwrap_or(5).min(5)
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (c.clone(), Waker::from(c))
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// After the channel is closed and drained: every receive form fails at once
/// (even with a long deadline), every send form gives its value back.
fn assert_closed_and_drained(tx: &Sender<u32>, rx: &Receiver<u32>, what: &str) {
    let t0 = Instant::now();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{what}");
    assert_eq!(rx.recv_blocking(), Err(RecvError), "{what}");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)),
        Err(RecvTimeoutError::Closed),
        "{what}"
    );
    assert_eq!(
        rx.recv_deadline(Instant::now() + Duration::from_secs(30)),
        Err(RecvTimeoutError::Closed),
        "{what}"
    );
    assert_eq!(
        futures::executor::block_on(rx.recv()),
        Err(RecvError),
        "{what}"
    );
    assert_eq!(rx.iter().next(), None, "{what}");
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)), "{what}");
    assert_eq!(tx.send_blocking(2), Err(SendError(2)), "{what}");
    assert_eq!(
        tx.send_timeout(3, Duration::from_secs(30)),
        Err(SendTimeoutError::Closed(3)),
        "{what}"
    );
    assert_eq!(
        tx.send_deadline(4, Instant::now() + Duration::from_secs(30)),
        Err(SendTimeoutError::Closed(4)),
        "{what}"
    );
    assert_eq!(
        futures::executor::block_on(tx.send(5)),
        Err(SendError(5)),
        "{what}"
    );
    assert!(tx.is_closed() && rx.is_closed(), "{what}");
    assert!(rx.is_empty() && tx.is_empty(), "{what}");
    assert_eq!(rx.len(), 0, "{what}");
    // None of the refused values got in.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{what}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "{what}: operations on a closed channel waited"
    );
}

/// Fills what the flavor can buffer, closes through `close`, drains, and
/// checks the closed state.
fn close_then_drain(close: impl Fn(&Sender<u32>, &Receiver<u32>) -> bool, side: &str) {
    for cap in FLAVORS {
        let what = format!("{} closed from the {side}", name(cap));
        let (tx, rx) = chan::<u32>(cap);
        let n = buffered(cap) as u32;
        for i in 0..n {
            tx.try_send(i).unwrap();
        }
        assert!(!tx.is_closed() && !rx.is_closed(), "{what}");
        assert!(close(&tx, &rx), "{what}: the first close returns true");
        assert!(
            !tx.close() && !rx.close(),
            "{what}: later closes return false"
        );
        assert!(tx.is_closed() && rx.is_closed(), "{what}");
        // Sends fail at once, values given back, even with room in the buffer.
        assert_eq!(tx.try_send(99), Err(TrySendError::Closed(99)), "{what}");
        assert_eq!(rx.len(), n as usize, "{what}");
        // Receivers drain what was buffered, in order, by every receive form.
        for i in 0..n {
            let got = match i % 4 {
                0 => rx.try_recv().ok(),
                1 => rx.recv_blocking().ok(),
                2 => futures::executor::block_on(rx.recv()).ok(),
                _ => rx.recv_timeout(Duration::from_secs(10)).ok(),
            };
            assert_eq!(got, Some(i), "{what}: drain after close");
        }
        assert_closed_and_drained(&tx, &rx, &what);
    }
}

#[test]
fn close_from_sender() {
    watchdog(60, "close from sender", || {
        close_then_drain(|tx, _| tx.close(), "sender")
    });
}

#[test]
fn close_from_receiver() {
    watchdog(60, "close from receiver", || {
        close_then_drain(|_, rx| rx.close(), "receiver")
    });
}

#[test]
fn close_from_a_clone() {
    watchdog(60, "close from a clone", || {
        close_then_drain(|tx, _| tx.clone().close(), "sender clone");
        close_then_drain(|_, rx| rx.clone().close(), "receiver clone");
    });
}

#[test]
fn last_sender_drop_closes() {
    watchdog(60, "last sender drop", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let tx2 = tx.clone();
            let n = buffered(cap) as u32;
            for i in 0..n {
                tx2.try_send(i).unwrap();
            }
            drop(tx2);
            assert!(!rx.is_closed(), "{what}: a sender is still alive");
            let keep = tx.clone();
            drop(tx);
            assert!(!rx.is_closed(), "{what}: a sender is still alive");
            drop(keep);
            assert!(rx.is_closed(), "{what}: the last sender dropped");
            assert_eq!(rx.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
            assert_eq!(rx.recv_blocking(), Err(RecvError), "{what}");
            assert!(!rx.close(), "{what}: already closed by the drop");
        }
    });
}

#[test]
fn last_sender_drop_wakes_blocked_receivers() {
    watchdog(60, "last sender drop wakes receivers", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.recv_blocking())
                })
                .collect();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || futures::executor::block_on(rx.recv()))
                })
                .collect();
            thread::sleep(SETTLE);
            let tx2 = tx.clone();
            drop(tx);
            thread::sleep(SETTLE);
            assert!(!rx.is_closed(), "{what}");
            drop(tx2);
            for t in threads.into_iter().chain(tasks) {
                assert_eq!(t.join().unwrap(), Err(RecvError), "{what}");
            }
        }
    });
}

#[test]
fn last_receiver_drop_fails_sends_and_drops_buffer() {
    watchdog(60, "last receiver drop", || {
        for cap in FLAVORS {
            let what = name(cap);
            let n = buffered(cap);
            let tracker = DropTracker::new(n + 1);
            let (tx, rx) = chan(cap);
            for i in 0..n {
                tx.try_send(tracker.make(i)).unwrap();
            }
            let rx2 = rx.clone();
            drop(rx);
            assert!(!tx.is_closed(), "{what}: a receiver is still alive");
            assert_eq!(tracker.total(), 0, "{what}");
            drop(rx2);
            // The buffered values are dropped now, though a Sender lives on.
            assert_eq!(tracker.total(), n, "{what}: buffered values not dropped");
            assert!(tx.is_closed(), "{what}");
            assert_eq!(tx.len(), 0, "{what}");
            let back = tx.try_send(tracker.make(n)).unwrap_err();
            assert!(back.is_closed(), "{what}");
            assert_eq!(back.into_inner().id, n, "{what}");
            let spare = DropTracker::new(2);
            let back = tx.send_blocking(spare.make(0)).unwrap_err();
            assert_eq!(back.0.id, 0, "{what}");
            drop(back);
            let back = futures::executor::block_on(tx.send(spare.make(1))).unwrap_err();
            assert_eq!(back.0.id, 1, "{what}");
            drop(back);
            tracker.assert_each_dropped_once(&what);
            spare.assert_each_dropped_once(&what);
        }
    });
}

#[test]
fn last_receiver_drop_wakes_blocked_senders() {
    watchdog(60, "last receiver drop wakes senders", || {
        for cap in FLAVORS.into_iter().filter(Option::is_some) {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            for i in 0..cap.unwrap() as u32 {
                tx.try_send(i).unwrap();
            }
            let threads: Vec<_> = (100..102)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || (v, tx.send_blocking(v)))
                })
                .collect();
            let tasks: Vec<_> = (200..202)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || (v, futures::executor::block_on(tx.send(v))))
                })
                .collect();
            thread::sleep(SETTLE);
            drop(rx);
            for t in threads.into_iter().chain(tasks) {
                let (v, r) = t.join().unwrap();
                assert_eq!(r, Err(SendError(v)), "{what}");
            }
            assert!(tx.is_closed(), "{what}");
        }
    });
}

#[test]
fn close_wakes_blocked_threads() {
    watchdog(60, "close wakes threads", || {
        for cap in FLAVORS {
            let what = name(cap);
            // Receivers blocked on an empty channel, by several forms.
            let (tx, rx) = chan::<u32>(cap);
            let receivers: Vec<_> = (0..3)
                .map(|i| {
                    let rx = rx.clone();
                    thread::spawn(move || match i {
                        0 => rx.recv_blocking().map_err(|_| ()),
                        1 => rx.recv_timeout(Duration::from_secs(60)).map_err(|_| ()),
                        _ => rx.iter().next().ok_or(()),
                    })
                })
                .collect();
            thread::sleep(SETTLE);
            let t0 = Instant::now();
            assert!(tx.close());
            for r in receivers {
                assert_eq!(r.join().unwrap(), Err(()), "{what}");
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "{what}");

            if cap.is_none() {
                continue; // sends never block
            }
            // Senders blocked on a full channel get their values back; the
            // buffered values are still drained.
            let (tx, rx) = chan::<u32>(cap);
            let n = cap.unwrap() as u32;
            for i in 0..n {
                tx.try_send(i).unwrap();
            }
            let senders: Vec<_> = (100..103)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || match v {
                        100 => tx.send_blocking(v).map_err(|e| e.into_inner()),
                        101 => tx.send_timeout(v, Duration::from_secs(60)).map_err(|e| {
                            assert!(e.is_closed());
                            e.into_inner()
                        }),
                        _ => tx
                            .send_deadline(v, Instant::now() + Duration::from_secs(60))
                            .map_err(|e| {
                                assert!(e.is_closed());
                                e.into_inner()
                            }),
                    })
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(rx.close());
            for (s, v) in senders.into_iter().zip(100..) {
                assert_eq!(s.join().unwrap(), Err(v), "{what}");
            }
            assert_eq!(rx.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        }
    });
}

#[test]
fn close_wakes_pending_recv_futures() {
    watchdog(60, "close wakes recv futures", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let (count1, w1) = counting_waker();
            let (count2, w2) = counting_waker();
            let mut f1 = rx.recv();
            let mut f2 = rx.recv();
            assert!(poll_once(&mut f1, &w1).is_pending(), "{what}");
            assert!(poll_once(&mut f2, &w2).is_pending(), "{what}");
            assert!(poll_once(&mut f1, &w1).is_pending(), "{what}: re-poll");
            assert!(tx.close());
            assert!(count1.0.load(Ordering::SeqCst) >= 1, "{what}: f1 not woken");
            assert!(count2.0.load(Ordering::SeqCst) >= 1, "{what}: f2 not woken");
            assert_eq!(poll_once(&mut f1, &w1), Poll::Ready(Err(RecvError)));
            assert_eq!(poll_once(&mut f2, &w2), Poll::Ready(Err(RecvError)));
        }
    });
}

#[test]
fn close_wakes_pending_send_futures() {
    watchdog(60, "close wakes send futures", || {
        for cap in FLAVORS.into_iter().filter(Option::is_some) {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let n = cap.unwrap() as u32;
            for i in 0..n {
                tx.try_send(i).unwrap();
            }
            let (count1, w1) = counting_waker();
            let (count2, w2) = counting_waker();
            let mut f1 = tx.send(100);
            let mut f2 = tx.send(101);
            assert!(poll_once(&mut f1, &w1).is_pending(), "{what}");
            assert!(poll_once(&mut f2, &w2).is_pending(), "{what}");
            assert!(rx.close());
            assert!(count1.0.load(Ordering::SeqCst) >= 1, "{what}: f1 not woken");
            assert!(count2.0.load(Ordering::SeqCst) >= 1, "{what}: f2 not woken");
            assert_eq!(poll_once(&mut f2, &w2), Poll::Ready(Err(SendError(101))));
            assert_eq!(poll_once(&mut f1, &w1), Poll::Ready(Err(SendError(100))));
            assert_eq!(
                rx.try_iter().collect::<Vec<_>>(),
                (0..n).collect::<Vec<_>>()
            );
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{what}");
        }
    });
}

#[test]
fn close_wakes_blocked_tasks_on_threads() {
    watchdog(60, "close wakes tasks", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || futures::executor::block_on(rx.recv()))
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(rx.close());
            for r in receivers {
                assert_eq!(r.join().unwrap(), Err(RecvError), "{what}");
            }
            if cap.is_none() {
                continue;
            }
            let (tx2, rx2) = chan::<u32>(cap);
            for i in 0..cap.unwrap() as u32 {
                tx2.try_send(i).unwrap();
            }
            let senders: Vec<_> = (100..102)
                .map(|v| {
                    let tx2 = tx2.clone();
                    thread::spawn(move || futures::executor::block_on(tx2.send(v)))
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(tx2.close());
            for (s, v) in senders.into_iter().zip(100..) {
                assert_eq!(s.join().unwrap(), Err(SendError(v)), "{what}");
            }
            drop((tx, rx2));
        }
    });
}

// A rendezvous closed while a sender waits: the sender's offer is not taken
// after close (the receiver fails, the sender gets its value back).
#[test]
fn close_rendezvous_with_waiting_sender() {
    watchdog(60, "rendezvous close with waiting sender", || {
        let (tx, rx) = subinterp::bounded::<u32>(0);
        let t = {
            let tx = tx.clone();
            thread::spawn(move || tx.send_blocking(7))
        };
        thread::sleep(SETTLE);
        assert!(tx.close());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        assert_eq!(t.join().unwrap(), Err(SendError(7)));
    });
}

// Closing while values flow: a receiver that saw `Err` never gets a value
// afterwards, and every value sent Ok before the close is drained.
#[test]
fn close_during_traffic_then_drain() {
    watchdog(60, "close during traffic", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let sender = {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut ok = Vec::new();
                    for i in 0.. {
                        match tx.send_blocking(i) {
                            Ok(()) => ok.push(i),
                            Err(SendError(v)) => {
                                assert_eq!(v, i);
                                return ok;
                            }
                        }
                    }
                    unreachable!()
                })
            };
            let mut got = Vec::new();
            for _ in 0..100 {
                got.push(rx.recv_blocking().unwrap());
            }
            assert!(tx.close());
            got.extend(rx.iter());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{what}");
            let ok = sender.join().unwrap();
            assert_eq!(got, ok, "{what}: received != sent Ok");
        }
    });
}

// A timeout too large to be a deadline (`Duration::MAX`) waits without one,
// and close still wakes it.
#[test]
fn close_wakes_waits_with_huge_timeouts() {
    watchdog(60, "close wakes Duration::MAX waits", || {
        for cap in FLAVORS {
            let what = name(cap);
            let (tx, rx) = chan::<u32>(cap);
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv_timeout(Duration::MAX))
            };
            thread::sleep(SETTLE);
            tx.close();
            assert_eq!(
                receiver.join().unwrap(),
                Err(RecvTimeoutError::Closed),
                "{what}"
            );
            let Some(n) = cap else { continue };
            let (tx, rx) = chan::<u32>(cap);
            for i in 0..n as u32 {
                tx.try_send(i).unwrap();
            }
            let sender = {
                let tx = tx.clone();
                thread::spawn(move || tx.send_timeout(100, Duration::MAX))
            };
            thread::sleep(SETTLE);
            rx.close();
            assert_eq!(
                sender.join().unwrap(),
                Err(SendTimeoutError::Closed(100)),
                "{what}"
            );
        }
    });
}
