//! Drop accounting: every value is dropped exactly once, whichever path it
//! takes (received; returned in an error; left in the buffer; dropped with a
//! send future; handed to a recv future that is dropped; accepted by a Sink),
//! for every flavor.

mod common;

use common::{chan, name, scaled, watchdog, DropTracker, Tracked, XorShift, FLAVORS};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

/// How many values a flavor takes without waiting (capped for unbounded).
fn room(cap: Option<usize>) -> usize {
    cap.unwrap_or(32)
}

#[test]
fn received_values_dropped_once() {
    watchdog(60, "received", || {
        for cap in FLAVORS {
            let what = name(cap);
            let n = scaled(200, 20);
            let t = DropTracker::new(n);
            let (tx, rx) = chan::<Tracked>(cap);
            let producer = {
                let t = t.clone();
                thread::spawn(move || {
                    for i in 0..n {
                        match i % 3 {
                            0 => tx.send_blocking(t.make(i)).unwrap(),
                            1 => futures::executor::block_on(tx.send(t.make(i))).unwrap(),
                            _ => tx.send_timeout(t.make(i), Duration::from_secs(30)).unwrap(),
                        }
                    }
                })
            };
            for i in 0..n {
                let v = match i % 4 {
                    0 => rx.recv_blocking().unwrap(),
                    1 => futures::executor::block_on(rx.recv()).unwrap(),
                    2 => rx.recv_timeout(Duration::from_secs(30)).unwrap(),
                    _ => rx.iter().next().unwrap(),
                };
                assert_eq!(v.id, i, "{what}");
                assert_eq!(t.drops(i), 0, "{what}: dropped before received");
                drop(v);
                assert_eq!(t.drops(i), 1, "{what}");
            }
            producer.join().unwrap();
            t.assert_each_dropped_once(&what);
        }
    });
}

#[test]
fn values_returned_in_errors_dropped_once() {
    watchdog(60, "errors", || {
        for cap in FLAVORS {
            let what = name(cap);
            let t = DropTracker::new(room(cap) + 10);
            let (tx, rx) = chan::<Tracked>(cap);
            let mut next = 0;
            let mut make = || {
                next += 1;
                t.make(next - 1)
            };
            if cap.is_some() {
                for _ in 0..room(cap) {
                    tx.try_send(make()).unwrap();
                }
                // Full.
                let e = tx.try_send(make()).unwrap_err();
                assert!(e.is_full(), "{what}");
                let id = e.into_inner().id;
                assert_eq!(t.drops(id), 1, "{what}: Full value");
                // Timeout.
                let e = tx
                    .send_timeout(make(), Duration::from_millis(1))
                    .unwrap_err();
                assert!(e.is_timeout(), "{what}");
                let v = e.into_inner();
                assert_eq!(t.drops(v.id), 0, "{what}: dropped while in the error");
                drop(v);
                let e = tx
                    .send_deadline(make(), Instant::now() + Duration::from_millis(1))
                    .unwrap_err();
                assert!(e.is_timeout(), "{what}");
                drop(e);
            } else {
                for _ in 0..room(cap) {
                    tx.try_send(make()).unwrap();
                }
            }
            tx.close();
            // Closed, by every send form.
            let e = tx.try_send(make()).unwrap_err();
            assert!(e.is_closed(), "{what}");
            drop(e);
            drop(tx.send_blocking(make()).unwrap_err());
            let e = tx.send_timeout(make(), Duration::from_secs(1)).unwrap_err();
            assert!(e.is_closed(), "{what}");
            drop(e);
            drop(futures::executor::block_on(tx.send(make())).unwrap_err());
            // The buffered values are still received (and dropped here).
            assert_eq!(rx.try_iter().count(), room(cap), "{what}");
            drop((tx, rx));
            let made = next;
            for id in 0..made {
                assert_eq!(t.drops(id), 1, "{what}: value {id}");
            }
            for id in made..room(cap) + 10 {
                assert_eq!(t.drops(id), 0, "{what}: value {id} never made");
            }
        }
    });
}

#[test]
fn buffered_values_dropped_with_channel() {
    watchdog(30, "buffered_values_dropped_with_channel", || {
        for cap in FLAVORS {
            for order in ["sender first", "receiver first", "clones last"] {
                let what = format!("{} ({order})", name(cap));
                let n = room(cap);
                let t = DropTracker::new(n);
                let (tx, rx) = chan::<Tracked>(cap);
                for i in 0..n {
                    tx.try_send(t.make(i)).unwrap();
                }
                // Take one out and put nothing back: n - 1 stay buffered.
                if n > 0 {
                    drop(rx.try_recv().unwrap());
                }
                assert_eq!(t.total(), n.min(1), "{what}");
                match order {
                    "sender first" => {
                        drop(tx);
                        assert_eq!(t.total(), n.min(1), "{what}: dropped before the channel");
                        drop(rx);
                    }
                    "receiver first" => {
                        drop(rx);
                        // The last receiver is gone: the buffer is dropped now.
                        assert_eq!(t.total(), n, "{what}");
                        drop(tx);
                    }
                    _ => {
                        let (tx2, rx2) = (tx.clone(), rx.clone());
                        drop((tx, rx));
                        assert_eq!(t.total(), n.min(1), "{what}: dropped before the channel");
                        drop((rx2, tx2));
                    }
                }
                t.assert_each_dropped_once(&what);
            }
        }
    });
}

#[test]
fn blocked_senders_values_when_receiver_drops() {
    watchdog(60, "blocked senders, receiver drops", || {
        for cap in FLAVORS.into_iter().filter(Option::is_some) {
            let what = name(cap);
            let n = room(cap);
            let t = DropTracker::new(n + 4);
            let (tx, rx) = chan::<Tracked>(cap);
            for i in 0..n {
                tx.try_send(t.make(i)).unwrap();
            }
            let blocked: Vec<_> = (n..n + 4)
                .map(|i| {
                    let (tx, v) = (tx.clone(), t.make(i));
                    thread::spawn(move || match i % 2 {
                        0 => tx.send_blocking(v).map_err(|e| e.into_inner().id),
                        _ => futures::executor::block_on(tx.send(v)).map_err(|e| e.0.id),
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(20));
            drop(rx);
            for (b, i) in blocked.into_iter().zip(n..) {
                assert_eq!(b.join().unwrap(), Err(i), "{what}");
            }
            drop(tx);
            t.assert_each_dropped_once(&what);
        }
    });
}

#[test]
fn dropped_send_futures() {
    watchdog(30, "dropped_send_futures", || {
        for cap in FLAVORS {
            let what = name(cap);
            let n = room(cap);
            let t = DropTracker::new(n + 3);
            let (tx, rx) = chan::<Tracked>(cap);
            // Never polled: the value goes with the future.
            drop(tx.send(t.make(n)));
            assert_eq!(t.drops(n), 1, "{what}: unpolled send future");
            // Completed at once: the value is in the channel, not dropped.
            for i in 0..n {
                let mut f = tx.send(t.make(i));
                assert!(matches!(poll_once(&mut f), Poll::Ready(Ok(()))), "{what}");
                drop(f);
                assert_eq!(t.drops(i), 0, "{what}: a sent value was dropped");
            }
            if cap.is_some() {
                // Pending on a full channel, then dropped: value dropped, not sent.
                let mut f = tx.send(t.make(n + 1));
                assert!(poll_once(&mut f).is_pending(), "{what}");
                assert!(poll_once(&mut f).is_pending(), "{what}");
                drop(f);
                assert_eq!(t.drops(n + 1), 1, "{what}: pending send future dropped");
            } else {
                drop(t.make(n + 1));
            }
            // Pending, then the channel closes, then dropped without a re-poll.
            if cap.is_some() {
                let mut f = tx.send(t.make(n + 2));
                assert!(poll_once(&mut f).is_pending(), "{what}");
                tx.close();
                drop(f);
                assert_eq!(t.drops(n + 2), 1, "{what}");
            } else {
                drop(t.make(n + 2));
                tx.close();
            }
            let got: Vec<usize> = rx.try_iter().map(|v| v.id).collect();
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{what}");
            drop((tx, rx));
            t.assert_each_dropped_once(&what);
        }
    });
}

/// A recv future that was handed a value and is then dropped puts the value
/// back: the next receiver gets it.
#[test]
fn dropped_recv_futures_put_values_back() {
    watchdog(30, "dropped_recv_futures_put_values_back", || {
        for cap in FLAVORS {
            let what = name(cap);
            let t = DropTracker::new(8);
            let (tx, rx) = chan::<Tracked>(cap);

            // Never polled: nothing happens.
            drop(rx.recv());

            // Registered, handed a value by try_send, dropped.
            let mut f = rx.recv();
            assert!(poll_once(&mut f).is_pending(), "{what}");
            tx.try_send(t.make(0))
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            drop(f);
            assert_eq!(t.drops(0), 0, "{what}: a handed-over value was dropped");
            let v = rx.try_recv().expect("the value was put back");
            assert_eq!(v.id, 0, "{what}");
            drop(v);

            // Two registered futures; the first is handed a value and dropped:
            // the value moves on to the second.
            let mut f1 = rx.recv();
            let mut f2 = rx.recv();
            assert!(poll_once(&mut f1).is_pending(), "{what}");
            assert!(poll_once(&mut f2).is_pending(), "{what}");
            tx.try_send(t.make(1)).unwrap();
            drop(f1);
            match poll_once(&mut f2) {
                Poll::Ready(Ok(v)) => assert_eq!(v.id, 1, "{what}"),
                other => panic!("{what}: second future got {other:?}"),
            }
            drop(f2);

            // Handed a value, then the channel closes, then dropped: the value
            // is still drained.
            let mut f = rx.recv();
            assert!(poll_once(&mut f).is_pending(), "{what}");
            tx.try_send(t.make(2)).unwrap();
            tx.close();
            drop(f);
            assert_eq!(rx.try_recv().map(|v| v.id), Ok(2), "{what}");
            assert!(rx.try_recv().unwrap_err().is_closed(), "{what}");

            // Handed a value, dropped while the last receiver goes away: the
            // value is dropped with the channel, once.
            let (tx, rx) = chan::<Tracked>(cap);
            let mut f = rx.recv();
            assert!(poll_once(&mut f).is_pending(), "{what}");
            tx.try_send(t.make(3)).unwrap();
            drop(f);
            drop(rx);
            assert_eq!(t.drops(3), 1, "{what}");
            drop(tx);

            // A blocked thread receiver gets the value of a dropped future.
            let (tx, rx) = chan::<Tracked>(cap);
            let mut f = rx.recv();
            assert!(poll_once(&mut f).is_pending(), "{what}");
            let th = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv_blocking().map(|v| v.id))
            };
            thread::sleep(Duration::from_millis(20));
            // f registered first, so it is handed the value.
            tx.try_send(t.make(4)).unwrap();
            drop(f);
            let got = watchdog(30, "redelivery to a thread", move || th.join().unwrap());
            assert_eq!(got, Ok(4), "{what}");

            for id in 5..8 {
                drop(t.make(id));
            }
            t.assert_each_dropped_once(&what);
        }
    });
}

/// Random interleavings on one thread of every operation, with futures kept
/// pending and dropped at random; at the end every value is dropped once and
/// received at most once.
#[test]
fn random_interleavings_drop_once() {
    watchdog(30, "random_interleavings_drop_once", || {
        for cap in FLAVORS {
            for seed in 1..=scaled(20, 2) as u64 {
                let what = format!("{} seed {seed}", name(cap));
                let n = scaled(300, 60);
                let t = DropTracker::new(n);
                let mut rng = XorShift::new(seed);
                let (tx, rx) = chan::<Tracked>(cap);
                let mut sends = Vec::new();
                let mut recvs = Vec::new();
                let mut received = vec![false; n];
                let mut next = 0;
                let note = |v: Tracked, received: &mut Vec<bool>| {
                    assert!(!received[v.id], "{what}: value {} received twice", v.id);
                    received[v.id] = true;
                };
                while next < n {
                    match rng.below(6) {
                        0 => {
                            let _ = tx.try_send(t.make(next));
                            next += 1;
                        }
                        1 => {
                            let mut f = tx.send(t.make(next));
                            next += 1;
                            if poll_once(&mut f).is_pending() {
                                sends.push(f);
                            }
                        }
                        2 => {
                            if let Ok(v) = rx.try_recv() {
                                note(v, &mut received);
                            }
                        }
                        3 => {
                            let mut f = rx.recv();
                            match poll_once(&mut f) {
                                Poll::Ready(Ok(v)) => note(v, &mut received),
                                Poll::Ready(Err(_)) => panic!("{what}: closed"),
                                Poll::Pending => recvs.push(f),
                            }
                        }
                        4 if !sends.is_empty() => {
                            let i = rng.below(sends.len() as u64) as usize;
                            let finished = rng.below(2) == 0
                                || match poll_once(&mut sends[i]) {
                                    Poll::Ready(r) => {
                                        assert!(r.is_ok(), "{what}: closed");
                                        true
                                    }
                                    Poll::Pending => false,
                                };
                            if finished {
                                drop(sends.swap_remove(i));
                            }
                        }
                        5 if !recvs.is_empty() => {
                            let i = rng.below(recvs.len() as u64) as usize;
                            if rng.below(2) == 0 {
                                drop(recvs.swap_remove(i));
                            } else {
                                match poll_once(&mut recvs[i]) {
                                    Poll::Ready(Ok(v)) => {
                                        note(v, &mut received);
                                        drop(recvs.swap_remove(i));
                                    }
                                    Poll::Ready(Err(_)) => panic!("{what}: closed"),
                                    Poll::Pending => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                drop(sends);
                drop(recvs);
                tx.close();
                for v in rx.try_iter() {
                    note(v, &mut received);
                }
                drop((tx, rx));
                t.assert_each_dropped_once(&what);
            }
        }
    });
}

#[cfg(feature = "futures")]
#[test]
fn sink_value_accepted_then_sender_dropped() {
    watchdog(30, "sink_value_accepted_then_sender_dropped", || {
        use futures::Sink;
        for cap in FLAVORS {
            for keep_clone in [false, true] {
                let what = format!("{} (another sender alive: {keep_clone})", name(cap));
                let t = DropTracker::new(1);
                let (mut tx, rx) = chan::<Tracked>(cap);
                let other = keep_clone.then(|| tx.clone());
                let mut cx = Context::from_waker(futures::task::noop_waker_ref());
                assert!(matches!(
                    Pin::new(&mut tx).poll_ready(&mut cx),
                    Poll::Ready(Ok(()))
                ));
                Pin::new(&mut tx).start_send(t.make(0)).unwrap();
                drop(tx);
                // Either it went into the buffer (and is received), or it was
                // pending as an offer and is dropped with the Sender. Never both.
                let got = rx.try_recv().ok().map(|v| v.id);
                match cap {
                    Some(0) => assert_eq!(got, None, "{what}"),
                    _ => assert_eq!(got, Some(0), "{what}"),
                }
                drop((rx, other));
                t.assert_each_dropped_once(&what);
            }
        }
    });
}

#[cfg(feature = "futures")]
#[test]
fn sink_value_taken_by_receiver_then_sender_dropped() {
    watchdog(
        30,
        "sink_value_taken_by_receiver_then_sender_dropped",
        || {
            use futures::Sink;
            for cap in FLAVORS {
                let what = name(cap);
                let t = DropTracker::new(1);
                let (mut tx, rx) = chan::<Tracked>(cap);
                let mut cx = Context::from_waker(futures::task::noop_waker_ref());
                let mut f = rx.recv();
                assert!(poll_once(&mut f).is_pending(), "{what}");
                assert!(Pin::new(&mut tx).poll_ready(&mut cx).is_ready());
                Pin::new(&mut tx).start_send(t.make(0)).unwrap();
                drop(tx);
                match poll_once(&mut f) {
                    Poll::Ready(Ok(v)) => assert_eq!(v.id, 0, "{what}"),
                    other => panic!("{what}: {other:?}"),
                }
                drop(f);
                drop(rx);
                t.assert_each_dropped_once(&what);
            }
        },
    );
}

#[cfg(feature = "futures")]
#[test]
fn stream_registration_dropped_with_receiver() {
    watchdog(30, "stream_registration_dropped_with_receiver", || {
        use futures::Stream;
        for cap in FLAVORS {
            let what = name(cap);
            let t = DropTracker::new(2);
            let (tx, mut rx) = chan::<Tracked>(cap);
            let rx2 = rx.clone();
            let mut cx = Context::from_waker(futures::task::noop_waker_ref());
            assert!(Pin::new(&mut rx).poll_next(&mut cx).is_pending(), "{what}");
            tx.try_send(t.make(0)).unwrap();
            // The stream was handed the value; its Receiver goes away unpolled:
            // the value goes to the other receiver.
            drop(rx);
            assert_eq!(rx2.try_recv().map(|v| v.id), Ok(0), "{what}");
            // Same with the last receiver: the value is dropped once.
            let mut rx2 = rx2;
            assert!(Pin::new(&mut rx2).poll_next(&mut cx).is_pending(), "{what}");
            tx.try_send(t.make(1)).unwrap();
            drop(rx2);
            assert_eq!(t.drops(1), 1, "{what}");
            drop(tx);
            t.assert_each_dropped_once(&what);
        }
    });
}

thread_local! {
    /// A handle a `Reentrant` value uses from its destructor, if set.
    static PROBE: std::cell::RefCell<Option<subinterp::Sender<Reentrant>>> =
        const { std::cell::RefCell::new(None) };
}

/// A value whose destructor uses the channel it travelled on: the channel must
/// drop values outside its lock, or this deadlocks (its lock is not reentrant).
struct Reentrant(#[allow(dead_code)] common::Tracked); // held for its counted drop

impl Drop for Reentrant {
    fn drop(&mut self) {
        PROBE.with(|p| {
            if let Some(tx) = p.borrow().as_ref() {
                let _ = (tx.len(), tx.is_closed(), tx.is_full());
            }
        });
    }
}

#[test]
fn values_are_dropped_outside_the_lock() {
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(30, &what.clone(), move || {
            let t = DropTracker::new(6);
            let (tx, rx) = chan::<Reentrant>(cap);
            PROBE.with(|p| *p.borrow_mut() = Some(tx.clone()));
            // A pending send future dropped (or, unbounded, a completed one).
            let mut f = tx.send(Reentrant(t.make(0)));
            let _ = poll_once(&mut f);
            drop(f);
            // A send refused on a closed channel, by every form.
            let (tx2, rx2) = chan::<Reentrant>(cap);
            rx2.close();
            drop(tx2.try_send(Reentrant(t.make(1))));
            drop(futures::executor::block_on(tx2.send(Reentrant(t.make(2)))));
            // A recv future handed a value, then dropped (the value moves on).
            let mut r = rx.recv();
            if poll_once(&mut r).is_pending() {
                let _ = tx.try_send(Reentrant(t.make(3)));
            } else {
                drop(t.make(3));
            }
            drop(r);
            // Buffered values dropped when the last receiver goes.
            let _ = tx.try_send(Reentrant(t.make(4)));
            drop(rx);
            drop(rx2);
            drop(tx2);
            // Values refused after the receivers left.
            drop(tx.try_send(Reentrant(t.make(5))));
            PROBE.with(|p| p.borrow_mut().take());
            drop(tx);
            t.assert_each_dropped_once(&what);
        });
    }
}
