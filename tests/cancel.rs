//! Cancel safety: `send` and `recv` futures polled a random number of times and
//! dropped at random moments while other parties run. No value a sender was
//! told was delivered is lost, no value is duplicated, and a value whose send
//! future was dropped is either received or dropped with the future, once.
//! Rendezvous channels included (kanal loses values here).
//!
//! "Random" is a deterministic xorshift, one seed per thread, so a failure
//! replays the same decisions (the thread interleaving still varies).

mod common;

use common::{chan, name, scaled, watchdog, XorShift, FLAVORS};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;

/// Values per sending party.
const PER: usize = scaled(5_000, 50);

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

/// Waits a random little while: nothing, some spins, or a yield.
fn jitter(rng: &mut XorShift) {
    match rng.below(4) {
        0 => {}
        1 => (0..rng.below(scaled(64, 4) as u64)).for_each(|_| std::hint::spin_loop()),
        2 => (0..rng.below(scaled(1024, 16) as u64)).for_each(|_| std::hint::spin_loop()),
        _ => thread::yield_now(),
    }
}

/// Where each value ended: received (by a party that marked it) or dropped
/// unreceived (with a send future, an error, or the channel).
struct Fate {
    received: Vec<AtomicUsize>,
    dropped: Vec<AtomicUsize>,
}

/// A value that reports its fate when dropped.
struct Val {
    id: usize,
    delivered: bool,
    fate: Arc<Fate>,
}

impl Fate {
    fn new(n: usize) -> Arc<Fate> {
        Arc::new(Fate {
            received: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            dropped: (0..n).map(|_| AtomicUsize::new(0)).collect(),
        })
    }

    fn val(self: &Arc<Self>, id: usize) -> Val {
        Val {
            id,
            delivered: false,
            fate: self.clone(),
        }
    }

    fn received(&self, id: usize) -> usize {
        self.received[id].load(Ordering::SeqCst)
    }

    fn dropped(&self, id: usize) -> usize {
        self.dropped[id].load(Ordering::SeqCst)
    }

    /// Every value ended exactly once: received once, or dropped once.
    fn assert_exactly_once(&self, what: &str) {
        for id in 0..self.received.len() {
            let (r, d) = (self.received(id), self.dropped(id));
            assert!(
                r + d == 1,
                "{what}: value {id} received {r} times and dropped unreceived {d} times"
            );
        }
    }
}

impl Val {
    /// A receiver got it.
    fn receive(mut self) {
        self.delivered = true;
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        let count = if self.delivered {
            &self.fate.received
        } else {
            &self.fate.dropped
        };
        count[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// A receiver that creates `recv()` futures, polls each 0..=3 times with
/// jitter in between, and drops it whatever its state. Stops once the
/// channel reports closed and drained.
fn cancelling_receiver(rx: subinterp::Receiver<Val>, seed: u64) -> usize {
    let mut rng = XorShift::new(seed);
    let mut got = 0;
    loop {
        let mut f = rx.recv();
        for _ in 0..rng.below(4) {
            match poll_once(&mut f) {
                Poll::Ready(Ok(v)) => {
                    v.receive();
                    got += 1;
                    break;
                }
                Poll::Ready(Err(_)) => return got,
                Poll::Pending => jitter(&mut rng),
            }
        }
        jitter(&mut rng);
        drop(f);
    }
}

/// A sender that creates `send(v)` futures for its values, polls each 0..=3
/// times with jitter in between, and drops it whatever its state. Returns
/// the ids whose future completed with `Ok` (delivered for sure).
fn cancelling_sender(
    tx: subinterp::Sender<Val>,
    fate: Arc<Fate>,
    ids: std::ops::Range<usize>,
    seed: u64,
) -> Vec<usize> {
    let mut rng = XorShift::new(seed);
    let mut ok = Vec::new();
    for id in ids {
        let mut f = tx.send(fate.val(id));
        for _ in 0..rng.below(4) {
            match poll_once(&mut f) {
                Poll::Ready(Ok(())) => {
                    ok.push(id);
                    break;
                }
                Poll::Ready(Err(e)) => panic!("send {id} failed before close: {e:?}"),
                Poll::Pending => jitter(&mut rng),
            }
        }
        jitter(&mut rng);
        drop(f);
    }
    ok
}

fn blocking_sender(tx: subinterp::Sender<Val>, fate: Arc<Fate>, ids: std::ops::Range<usize>) {
    for id in ids {
        if let Err(e) = tx.send_blocking(fate.val(id)) {
            panic!("send {} failed before close", e.0.id);
        }
    }
}

fn blocking_receiver(rx: subinterp::Receiver<Val>) -> usize {
    rx.iter().map(Val::receive).count()
}

/// Recv futures dropped at random moments while blocking senders run. Every
/// sent value (each send returned Ok) is received exactly once: by the
/// cancelling receiver, by a competing blocking receiver, or by the final
/// drain after close.
#[test]
fn dropped_recv_futures_lose_nothing() {
    for cap in FLAVORS {
        for with_blocking_receiver in [false, true] {
            let what = format!(
                "{} (blocking receiver too: {with_blocking_receiver})",
                name(cap)
            );
            watchdog(120, &what.clone(), move || {
                let fate = Fate::new(2 * PER);
                let (tx, rx) = chan::<Val>(cap);
                let senders: Vec<_> = (0..2)
                    .map(|s| {
                        let (tx, fate) = (tx.clone(), fate.clone());
                        thread::spawn(move || blocking_sender(tx, fate, s * PER..(s + 1) * PER))
                    })
                    .collect();
                let canceller = {
                    let rx = rx.clone();
                    thread::spawn(move || cancelling_receiver(rx, 0x5eed))
                };
                let other = with_blocking_receiver.then(|| {
                    let rx = rx.clone();
                    thread::spawn(move || blocking_receiver(rx))
                });
                for s in senders {
                    s.join().unwrap();
                }
                // Every send returned Ok: close, and drain what was put back.
                tx.close();
                let mut got = canceller.join().unwrap();
                got += other.map_or(0, |o| o.join().unwrap());
                got += blocking_receiver(rx);
                fate.assert_exactly_once(&what);
                for id in 0..2 * PER {
                    assert_eq!(
                        fate.received(id),
                        1,
                        "{what}: value {id} was sent (Ok) but never received"
                    );
                }
                assert_eq!(got, 2 * PER, "{what}");
            });
        }
    }
}

/// Send futures dropped at random moments while blocking receivers run. A
/// value whose future returned Ok is received; a value whose future was
/// dropped is received or dropped, once; nothing is duplicated.
#[test]
fn dropped_send_futures_lose_or_duplicate_nothing() {
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(120, &what.clone(), move || {
            let fate = Fate::new(2 * PER);
            let (tx, rx) = chan::<Val>(cap);
            let senders: Vec<_> = (0..2)
                .map(|s| {
                    let (tx, fate) = (tx.clone(), fate.clone());
                    let ids = s * PER..(s + 1) * PER;
                    thread::spawn(move || cancelling_sender(tx, fate, ids, 0xc0ffee + s as u64))
                })
                .collect();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || blocking_receiver(rx))
                })
                .collect();
            let mut ok = Vec::new();
            for s in senders {
                ok.extend(s.join().unwrap());
            }
            tx.close();
            for r in receivers {
                r.join().unwrap();
            }
            drop((tx, rx));
            fate.assert_exactly_once(&what);
            for id in ok {
                assert_eq!(
                    fate.received(id),
                    1,
                    "{what}: value {id} was sent (Ok) but never received"
                );
            }
            let received: usize = (0..2 * PER).map(|id| fate.received(id)).sum();
            let dropped: usize = (0..2 * PER).map(|id| fate.dropped(id)).sum();
            assert_eq!(received + dropped, 2 * PER, "{what}");
        });
    }
}

/// Both sides cancel at random at once, with a blocking party on each side
/// to keep things moving; a final drain after close.
#[test]
fn both_sides_cancelling() {
    for cap in FLAVORS {
        let what = name(cap);
        watchdog(120, &what.clone(), move || {
            let fate = Fate::new(3 * PER);
            let (tx, rx) = chan::<Val>(cap);
            let cancel_senders: Vec<_> = (0..2)
                .map(|s| {
                    let (tx, fate) = (tx.clone(), fate.clone());
                    let ids = s * PER..(s + 1) * PER;
                    thread::spawn(move || cancelling_sender(tx, fate, ids, 77 + s as u64))
                })
                .collect();
            let plain_sender = {
                let (tx, fate) = (tx.clone(), fate.clone());
                thread::spawn(move || blocking_sender(tx, fate, 2 * PER..3 * PER))
            };
            let cancel_receivers: Vec<_> = (0..2)
                .map(|s| {
                    let rx = rx.clone();
                    thread::spawn(move || cancelling_receiver(rx, 99 + s))
                })
                .collect();
            let plain_receiver = {
                let rx = rx.clone();
                thread::spawn(move || blocking_receiver(rx))
            };
            let mut ok: Vec<usize> = (2 * PER..3 * PER).collect();
            for s in cancel_senders {
                ok.extend(s.join().unwrap());
            }
            plain_sender.join().unwrap();
            tx.close();
            for r in cancel_receivers {
                r.join().unwrap();
            }
            plain_receiver.join().unwrap();
            blocking_receiver(rx);
            drop(tx);
            fate.assert_exactly_once(&what);
            for id in ok {
                assert_eq!(
                    fate.received(id),
                    1,
                    "{what}: value {id} was sent (Ok) but never received"
                );
            }
        });
    }
}

/// The bar of the issue, deterministically on one thread: on a rendezvous, a
/// pending `recv()` future is handed a value (the sender is told Ok), then
/// dropped before it is polled again. The value is not lost.
#[test]
fn rendezvous_pending_recv_dropped_after_handoff() {
    let fate = Fate::new(3);
    let (tx, rx) = subinterp::bounded::<Val>(0);
    // A sender thread is told Ok only once a receiver took the value.
    let mut f = rx.recv();
    assert!(poll_once(&mut f).is_pending());
    assert!(
        tx.try_send(fate.val(0)).is_ok(),
        "handed to the pending future"
    );
    drop(f);
    // The value is there for the next receiver, by any receive form.
    match rx.try_recv() {
        Ok(v) => v.receive(),
        Err(e) => panic!("value lost after the future was dropped: {e:?}"),
    }
    // Same with an async sender whose future completes.
    let mut r = rx.recv();
    assert!(poll_once(&mut r).is_pending());
    let mut s = tx.send(fate.val(1));
    assert!(matches!(poll_once(&mut s), Poll::Ready(Ok(()))));
    drop(r);
    drop(s);
    let v = futures::executor::block_on(async { rx.recv().await }).expect("value lost");
    assert_eq!(v.id, 1);
    v.receive();
    // A pending send future meets a receiver, then is dropped: it was sent.
    let mut s = tx.send(fate.val(2));
    assert!(poll_once(&mut s).is_pending());
    let v = rx.try_recv().expect("an offer is taken by try_recv");
    drop(s);
    v.receive();
    drop((tx, rx));
    fate.assert_exactly_once("rendezvous");
    assert!((0..3).all(|id| fate.received(id) == 1));
}
