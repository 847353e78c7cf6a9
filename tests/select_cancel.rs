//! `select!` under executors (tokio current_thread and multi_thread,
//! `futures::executor`), against blocking threads, and the cancel safety of
//! the async select: dropping a select future at any point loses and
//! duplicates no value. Each test names its origin; every test runs under a
//! watchdog.

mod common;

use common::{watchdog, DropTracker, XorShift};
use futures::executor::{block_on, LocalPool};
use futures::task::{noop_waker_ref, LocalSpawnExt};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;
use subinterp::{bounded, select, select_blocking, unbounded, Receiver, RecvError, Select, Sender};

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

fn assert_send<F: Send>(f: F) -> F {
    f
}

// ---------------------------------------------------------------------------
// Executors
// ---------------------------------------------------------------------------

// Origin: issue item 6 ("select! inside futures under tokio"): two tasks on a
// tokio current_thread runtime — one thread — meet on a rendezvous through
// select!, with a second channel and a timeout case that must not fire.
#[test]
fn tokio_current_thread_tasks_meet_through_select() {
    watchdog(30, "tokio current_thread", || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, rx) = bounded::<u32>(0);
            let (ack_tx, ack_rx) = bounded::<u32>(0);
            let producer = tokio::spawn(async move {
                for i in 0..1000 {
                    select! {
                        r = send(&tx, i) => r.unwrap(),
                        _ = recv(subinterp::after(Duration::from_secs(20))) => panic!("producer timed out"),
                    }
                    let a = select! { a = recv(&ack_rx) => a.unwrap() };
                    assert_eq!(a, i);
                }
            });
            let consumer = tokio::spawn(async move {
                let mut next = 0;
                while next < 1000 {
                    select! {
                        v = recv(&rx) => {
                            assert_eq!(v, Ok(next));
                            select! { r = send(&ack_tx, next) => r.unwrap() }
                            next += 1;
                        },
                        _ = recv(subinterp::after(Duration::from_secs(20))) => panic!("consumer timed out"),
                    }
                }
            });
            producer.await.unwrap();
            consumer.await.unwrap();
        });
    });
}

// Origin: issue item 6 ("including inside tokio::spawn, which requires the
// future to be Send"): selecting tasks on a multi_thread runtime, sending and
// receiving through select! over rendezvous, bounded and unbounded channels;
// every value arrives exactly once.
#[test]
fn tokio_multi_thread_spawned_selects() {
    watchdog(60, "tokio multi_thread", || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        const PER: u64 = 1500;
        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new((0..3 * PER).map(|_| AtomicUsize::new(0)).collect());
        rt.block_on(async {
            let (t0, r0) = bounded::<u64>(0);
            let (t1, r1) = bounded::<u64>(1);
            let (t2, r2) = unbounded::<u64>();
            let mut tasks = Vec::new();
            for p in 0..3u64 {
                let (t0, t1, t2) = (t0.clone(), t1.clone(), t2.clone());
                // Proof that a select! future is Send: tokio::spawn requires it.
                tasks.push(tokio::spawn(assert_send(async move {
                    for i in p * PER..(p + 1) * PER {
                        select! {
                            r = send(&t0, i) => r.unwrap(),
                            r = send(&t1, i) => r.unwrap(),
                            r = send(&t2, i) => r.unwrap(),
                        }
                        if i % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })));
            }
            drop((t0, t1, t2));
            for _ in 0..2 {
                let (r0, r1, r2) = (r0.clone(), r1.clone(), r2.clone());
                let seen = seen.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut a, mut b, mut c) = (Some(&r0), Some(&r1), Some(&r2));
                    while a.is_some() || b.is_some() || c.is_some() {
                        select! {
                            v = recv(a) => match v { Ok(v) => { seen[v as usize].fetch_add(1, Ordering::SeqCst); } Err(_) => a = None },
                            v = recv(b) => match v { Ok(v) => { seen[v as usize].fetch_add(1, Ordering::SeqCst); } Err(_) => b = None },
                            v = recv(c) => match v { Ok(v) => { seen[v as usize].fetch_add(1, Ordering::SeqCst); } Err(_) => c = None },
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        for (v, n) in seen.iter().enumerate() {
            let n = n.load(Ordering::SeqCst);
            assert_eq!(n, 1, "value {v} received {n} times");
        }
    });
}

// Origin: issue item 6 ("select! inside futures under futures::executor"):
// two tasks of one LocalPool (one thread) — a select-send and a select-recv
// on the same rendezvous channel — meet; DESIGN.md section 3.
#[test]
fn local_pool_select_send_meets_select_recv() {
    watchdog(30, "futures LocalPool", || {
        let mut pool = LocalPool::new();
        let (tx, rx) = bounded::<u32>(0);
        let (_idle_tx, idle_rx) = bounded::<u32>(0);
        let got = Arc::new(AtomicUsize::new(0));
        {
            let idle_rx = idle_rx.clone();
            pool.spawner()
                .spawn_local(async move {
                    for i in 0..1000 {
                        select! {
                            r = send(&tx, i) => r.unwrap(),
                            _ = recv(&idle_rx) => unreachable!(),
                        }
                    }
                })
                .unwrap();
        }
        {
            let got = got.clone();
            pool.spawner()
                .spawn_local(async move {
                    for i in 0..1000 {
                        let v = select! {
                            v = recv(&rx) => v.unwrap(),
                            _ = recv(&idle_rx) => unreachable!(),
                        };
                        assert_eq!(v, i);
                        got.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .unwrap();
        }
        pool.run();
        assert_eq!(got.load(Ordering::SeqCst), 1000);
    });
}

// Origin: issue item 6 ("select_blocking! on threads") and DESIGN.md section
// 2 ("one channel for threads, tasks and any executor"): a tokio task's
// select! and a thread's select_blocking! play ping-pong over two rendezvous
// channels, each side selecting over both directions.
#[test]
fn async_task_and_blocking_thread_ping_pong() {
    watchdog(30, "task vs thread", || {
        let (ping_tx, ping_rx) = bounded::<u32>(0);
        let (pong_tx, pong_rx) = bounded::<u32>(0);
        let thread_side = thread::spawn(move || {
            for i in 0..1000u32 {
                let v = select_blocking! {
                    v = recv(&ping_rx) => v.unwrap(),
                    _ = recv(subinterp::after(Duration::from_secs(20))) => panic!("thread timed out"),
                };
                assert_eq!(v, i);
                select_blocking! { r = send(&pong_tx, v + 1) => r.unwrap() }
            }
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tokio::spawn(async move {
                for i in 0..1000u32 {
                    select! { r = send(&ping_tx, i) => r.unwrap() }
                    let v = select! {
                        v = recv(&pong_rx) => v.unwrap(),
                        _ = recv(subinterp::after(Duration::from_secs(20))) => panic!("task timed out"),
                    };
                    assert_eq!(v, i + 1);
                }
            })
            .await
            .unwrap();
        });
        thread_side.join().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Deterministic cancellation points
// ---------------------------------------------------------------------------

fn flavor(cap: Option<usize>) -> (Sender<u32>, Receiver<u32>) {
    match cap {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

// Origin: issue item 4 (cancel safety): a select! future that registered,
// had a value handed to its receive case, and is then dropped without being
// polled again gives the value back to the channel (the next receiver gets
// it) — on every flavor.
#[test]
fn dropped_select_after_recv_fired_redelivers() {
    watchdog(30, "recv fired, then dropped", || {
        for cap in [Some(0), Some(1), None] {
            let (tx, rx) = flavor(cap);
            let (_tx2, rx2) = bounded::<u32>(0);
            let mut fut = Box::pin(async {
                select! {
                    v = recv(&rx) => v,
                    v = recv(&rx2) => v,
                }
            });
            assert!(poll_once(fut.as_mut()).is_pending());
            // The only waiting receiver is the select: the send completes by
            // handing the value to it.
            let sender = thread::spawn(move || {
                tx.send_blocking(5).unwrap();
                tx
            });
            let tx = sender.join().unwrap();
            drop(fut);
            assert_eq!(
                rx.try_recv(),
                Ok(5),
                "{cap:?}: the value handed to a dropped select was lost"
            );
            drop(tx);
            assert_eq!(rx.try_recv(), Err(subinterp::TryRecvError::Closed));
        }
    });
}

// Origin: issue item 4: the builder's wait() future, dropped after a case
// fired: a received value goes back to the channel (and the case stays
// armed), a sent value is reported by take_send and not given back.
#[test]
fn dropped_builder_wait_after_fire() {
    watchdog(30, "builder wait dropped after fire", || {
        // Receive side.
        let (tx, rx) = bounded::<u32>(0);
        let mut sel = Select::new();
        let r = sel.recv(&rx);
        {
            let mut fut = pin!(sel.wait());
            assert!(poll_once(fut.as_mut()).is_pending());
            let t = thread::spawn(move || {
                tx.send_blocking(9).unwrap();
                tx
            });
            let _tx = t.join().unwrap();
        }
        assert_eq!(sel.try_wait(), Some(r), "the redelivered value is ready");
        assert_eq!(sel.take_recv(r, &rx), Ok(9));

        // Send side: the offer was taken before the drop.
        let tracker = DropTracker::new(1);
        let (tx, rx) = bounded(0);
        let mut sel = Select::new();
        let s = sel.send(&tx, tracker.make(0));
        {
            let mut fut = pin!(sel.wait());
            assert!(poll_once(fut.as_mut()).is_pending());
            let got = thread::spawn(move || rx.recv_blocking().unwrap())
                .join()
                .unwrap();
            assert_eq!(got.id, 0);
        }
        assert_eq!(tracker.drops(0), 1, "received and dropped by the receiver");
        assert!(
            sel.take_value(s, &tx).is_none(),
            "a sent value was also given back"
        );
        assert!(sel.take_send(s, &tx).is_ok(), "the fired send is reported");
        drop(sel);
        tracker.assert_each_dropped_once("builder send fired then dropped");
    });
}

// Origin: issue item 4 and DESIGN.md section 3 ("a send case that does not
// run keeps its value"): a registered send offer withdrawn by dropping the
// future — the macro drops the value exactly once, the builder gives it back.
#[test]
fn dropped_select_withdraws_send_offer() {
    watchdog(30, "send offer withdrawn", || {
        let tracker = DropTracker::new(2);
        let (tx, rx) = bounded(0);
        {
            let mut fut = pin!(async {
                select! { r = send(&tx, tracker.make(0)) => r.is_ok() }
            });
            assert!(poll_once(fut.as_mut()).is_pending());
            assert!(
                poll_once(fut.as_mut()).is_pending(),
                "a re-poll re-registers"
            );
            assert_eq!(tracker.drops(0), 0);
        }
        assert_eq!(
            tracker.drops(0),
            1,
            "the unsent value dropped with the future"
        );
        assert!(rx.try_recv().is_err(), "a withdrawn offer was still taken");

        let mut sel = Select::new();
        let s = sel.send(&tx, tracker.make(1));
        {
            let mut fut = pin!(sel.wait());
            assert!(poll_once(fut.as_mut()).is_pending());
        }
        assert!(rx.try_recv().is_err(), "a withdrawn offer was still taken");
        let v = sel
            .take_value(s, &tx)
            .expect("the unsent value is given back");
        assert_eq!(v.id, 1);
        drop(v);
        tracker.assert_each_dropped_once("withdrawn offers");
    });
}

// ---------------------------------------------------------------------------
// Cancel safety under load
// ---------------------------------------------------------------------------

/// Per-value bookkeeping of the cancel-safety runs.
struct Ledger {
    /// Times each value was dropped (must end at exactly 1).
    drops: Vec<AtomicUsize>,
    /// Times each value was received.
    received: Vec<AtomicUsize>,
    /// Times each value was dropped without being received.
    unsent: Vec<AtomicUsize>,
    /// The sender saw Ok for this value.
    ok: Vec<AtomicBool>,
    /// A select future holding this value was dropped: it may or may not
    /// have been delivered.
    cancelled: Vec<AtomicBool>,
    /// This value's case lost to another case of a select that completed:
    /// it must not have been delivered.
    lost_the_race: Vec<AtomicBool>,
    /// Unsent values the builder gave back (and that were sent again).
    given_back: AtomicUsize,
    /// Select futures dropped while pending, on either side.
    drops_of_futures: AtomicUsize,
}

impl Ledger {
    fn new(n: usize) -> Arc<Ledger> {
        let v = |_| AtomicUsize::new(0);
        let b = |_| AtomicBool::new(false);
        Arc::new(Ledger {
            drops: (0..n).map(v).collect(),
            received: (0..n).map(v).collect(),
            unsent: (0..n).map(v).collect(),
            ok: (0..n).map(b).collect(),
            cancelled: (0..n).map(b).collect(),
            lost_the_race: (0..n).map(b).collect(),
            given_back: AtomicUsize::new(0),
            drops_of_futures: AtomicUsize::new(0),
        })
    }

    fn mark(flags: &[AtomicBool], id: usize) {
        flags[id].store(true, Ordering::SeqCst);
    }
}

/// A value that knows whether a receiver got it, and tells the ledger when
/// it is dropped.
struct Val {
    id: usize,
    received: bool,
    ledger: Arc<Ledger>,
}

impl Val {
    fn new(id: usize, ledger: &Arc<Ledger>) -> Val {
        Val {
            id,
            received: false,
            ledger: ledger.clone(),
        }
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        self.ledger.drops[self.id].fetch_add(1, Ordering::SeqCst);
        if !self.received {
            self.ledger.unsent[self.id].fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn got(mut v: Val) {
    v.received = true;
    v.ledger.received[v.id].fetch_add(1, Ordering::SeqCst);
}

/// Busy-waits a few microseconds, so that a counterpart can act between a
/// select's poll and its drop.
fn dawdle(rng: &mut XorShift) {
    match rng.below(4) {
        0 => {}
        1 => thread::yield_now(),
        _ => {
            for _ in 0..rng.below(2000) {
                std::hint::spin_loop();
            }
        }
    }
}

/// Which of a two-case send select fired (0: on `a`, 1: on `b`).
type Fired = usize;

/// One sender thread. Each round offers two values, `ids.0` on channel `a`
/// and `ids.1` on channel `b`, through random mixes of: a plain blocking
/// send of one of them; a select! future over both, polled once to three
/// times with pauses and then dropped; the same raced against a short timer;
/// a builder whose wait() is dropped (unsent values come back and are
/// offered again).
fn cancel_sender(
    a: Sender<Val>,
    b: Sender<Val>,
    rounds: std::ops::Range<usize>,
    ledger: Arc<Ledger>,
    seed: u64,
) {
    let mut rng = XorShift::new(seed);
    for round in rounds {
        if rng.below(4) == 0 {
            // Pace the senders now and then, so that receivers also find the
            // channels empty (and wait, and get cancelled) on every flavor.
            thread::sleep(Duration::from_micros(20));
        }
        let (ia, ib) = (2 * round, 2 * round + 1);
        let (mut va, mut vb) = (Val::new(ia, &ledger), Val::new(ib, &ledger));
        // The outcome for both: Some(case that fired) or None (cancelled).
        let outcome: Option<Fired> = loop {
            match rng.below(6) {
                0 => {
                    let (tx, v, other) = if rng.below(2) == 0 {
                        (&a, va, vb)
                    } else {
                        (&b, vb, va)
                    };
                    let first = v.id == ia;
                    tx.send_blocking(v).unwrap_or_else(|_| panic!("closed"));
                    drop(other); // never offered
                    break Some(if first { 0 } else { 1 });
                }
                1 | 2 => {
                    let polls = 1 + rng.below(3);
                    let mut fut = pin!(async {
                        select! {
                            r = send(&a, va) => { assert!(r.is_ok(), "send on an open channel failed"); 0 },
                            r = send(&b, vb) => { assert!(r.is_ok(), "send on an open channel failed"); 1 },
                        }
                    });
                    let mut done = None;
                    for _ in 0..polls {
                        if let Poll::Ready(k) = poll_once(fut.as_mut()) {
                            done = Some(k);
                            break;
                        }
                        dawdle(&mut rng);
                    }
                    if done.is_none() {
                        ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                    }
                    break done;
                }
                3 => {
                    let d = Duration::from_micros(rng.below(300));
                    let sel = pin!(async {
                        select! {
                            r = send(&a, va) => { assert!(r.is_ok()); 0 },
                            r = send(&b, vb) => { assert!(r.is_ok()); 1 },
                        }
                    });
                    let timer = pin!(async { subinterp::after(d).recv().await });
                    match block_on(futures::future::select(sel, timer)) {
                        futures::future::Either::Left((k, _)) => break Some(k),
                        futures::future::Either::Right(_) => {
                            ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                            break None;
                        }
                    }
                }
                _ => {
                    let mut sel = Select::new();
                    let sa = sel.send(&a, va);
                    let sb = sel.send(&b, vb);
                    {
                        let mut fut = pin!(sel.wait());
                        if poll_once(fut.as_mut()).is_pending() {
                            dawdle(&mut rng);
                            ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    match (sel.take_value(sa, &a), sel.take_value(sb, &b)) {
                        (Some(x), Some(y)) => {
                            ledger.given_back.fetch_add(2, Ordering::SeqCst);
                            (va, vb) = (x, y);
                            continue;
                        }
                        (None, Some(y)) => {
                            assert!(sel.take_send(sa, &a).is_ok());
                            drop(y);
                            break Some(0);
                        }
                        (Some(x), None) => {
                            assert!(sel.take_send(sb, &b).is_ok());
                            drop(x);
                            break Some(1);
                        }
                        (None, None) => panic!("both send cases of one select ran"),
                    }
                }
            }
        };
        match outcome {
            Some(0) => {
                Ledger::mark(&ledger.ok, ia);
                Ledger::mark(&ledger.lost_the_race, ib);
            }
            Some(_) => {
                Ledger::mark(&ledger.ok, ib);
                Ledger::mark(&ledger.lost_the_race, ia);
            }
            None => {
                Ledger::mark(&ledger.cancelled, ia);
                Ledger::mark(&ledger.cancelled, ib);
            }
        }
    }
}

/// One receiver thread: receives from both channels until both are closed
/// and drained (a closed one becomes a `None` case), through random mixes
/// of select_blocking! (sometimes with a timeout), select! futures dropped
/// after a poll or two or raced against a timer, and a builder whose wait()
/// is dropped.
fn cancel_receiver(a: Receiver<Val>, b: Receiver<Val>, seed: u64, ledger: Arc<Ledger>) {
    let mut rng = XorShift::new(seed);
    let (mut ra, mut rb) = (Some(&a), Some(&b));
    while ra.is_some() || rb.is_some() {
        // (which channel, what it gave) or None if nothing was received.
        let r: Option<(usize, Result<Val, RecvError>)> = match rng.below(6) {
            0 => Some(select_blocking! {
                v = recv(ra) => (0, v),
                v = recv(rb) => (1, v),
            }),
            1 | 2 => {
                let polls = 1 + rng.below(3);
                let mut fut = pin!(async {
                    select! {
                        v = recv(ra) => (0, v),
                        v = recv(rb) => (1, v),
                    }
                });
                let mut done = None;
                for _ in 0..polls {
                    if let Poll::Ready(r) = poll_once(fut.as_mut()) {
                        done = Some(r);
                        break;
                    }
                    dawdle(&mut rng);
                }
                if done.is_none() {
                    ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                }
                done
            }
            3 => {
                let d = Duration::from_micros(rng.below(300));
                let sel = pin!(async {
                    select! {
                        v = recv(ra) => (0, v),
                        v = recv(rb) => (1, v),
                    }
                });
                let timer = pin!(async { subinterp::after(d).recv().await });
                match block_on(futures::future::select(sel, timer)) {
                    futures::future::Either::Left((r, _)) => Some(r),
                    futures::future::Either::Right(_) => {
                        ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                        None
                    }
                }
            }
            4 => {
                let mut sel = Select::new();
                let ka = sel.recv(ra);
                let kb = sel.recv(rb);
                let fired = {
                    let mut fut = pin!(sel.wait());
                    match poll_once(fut.as_mut()) {
                        Poll::Ready(k) => Some(k),
                        Poll::Pending => {
                            dawdle(&mut rng);
                            ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                            None
                        }
                    }
                };
                fired.map(|k| {
                    if k == ka {
                        (0, sel.take_recv(ka, &a))
                    } else {
                        assert_eq!(k, kb);
                        (1, sel.take_recv(kb, &b))
                    }
                })
            }
            _ => {
                let d = Duration::from_micros(rng.below(300));
                select_blocking! {
                    v = recv(ra) => Some((0, v)),
                    v = recv(rb) => Some((1, v)),
                    _ = recv(subinterp::after(d)) => None,
                }
            }
        };
        match r {
            Some((_, Ok(v))) => got(v),
            Some((0, Err(RecvError))) => ra = None,
            Some((_, Err(RecvError))) => rb = None,
            None => {}
        }
    }
}

/// Checks the ledger after every party finished: each value dropped exactly
/// once; received at most once; received or dropped unsent, never both; a
/// value whose send returned Ok was received; a value whose case lost to
/// the other case of a completed select was not; a received value was sent
/// Ok or was in a select future that was dropped.
fn audit(what: &str, ledger: &Ledger, n: usize) {
    let mut counts = [0usize; 4]; // ok, received, unsent, delivered by dropped futures
    for id in 0..n {
        let drops = ledger.drops[id].load(Ordering::SeqCst);
        let rec = ledger.received[id].load(Ordering::SeqCst);
        let unsent = ledger.unsent[id].load(Ordering::SeqCst);
        let ok = ledger.ok[id].load(Ordering::SeqCst);
        let cancelled = ledger.cancelled[id].load(Ordering::SeqCst);
        let lost = ledger.lost_the_race[id].load(Ordering::SeqCst);
        assert_eq!(
            drops, 1,
            "{what}: value {id} dropped {drops} times (ok {ok}, received {rec}, cancelled {cancelled})"
        );
        assert!(
            rec <= 1,
            "{what}: value {id} received {rec} times (duplicated)"
        );
        assert_eq!(
            rec + unsent,
            1,
            "{what}: value {id}: received {rec}, dropped unsent {unsent}"
        );
        assert!(
            !ok || rec == 1,
            "{what}: value {id} was sent (Ok) but never received: lost"
        );
        assert!(
            !lost || rec == 0,
            "{what}: value {id} was received although its send case did not run \
             (two cases of one select ran)"
        );
        assert_eq!(
            ok as usize + cancelled as usize + lost as usize,
            1,
            "{what}: value {id} has no single outcome (ok {ok}, cancelled {cancelled}, lost {lost})"
        );
        counts[0] += ok as usize;
        counts[1] += rec;
        counts[2] += unsent;
        counts[3] += (rec == 1 && !ok) as usize;
    }
    eprintln!(
        "{what}: {n} values: {} sent Ok, {} received, {} delivered by dropped futures, \
         {} dropped unsent, {} given back by the builder and offered again, \
         {} select futures dropped while pending",
        counts[0],
        counts[1],
        counts[3],
        counts[2],
        ledger.given_back.load(Ordering::SeqCst),
        ledger.drops_of_futures.load(Ordering::SeqCst),
    );
    // sent (Ok) + delivered by dropped futures = received; the rest came
    // back (dropped unsent by their owners).
    assert_eq!(counts[0] + counts[3], counts[1], "{what}: {counts:?}");
    assert_eq!(counts[1] + counts[2], n, "{what}: {counts:?}");
}

/// Origin: issue item 4 and its bar ("drop the select future at random points
/// under load, count values: sent = received + returned"), after flume#135
/// (Selector loses messages on MPMC) and kanal's tokio::select! warning.
/// Three sender threads and three receiver threads on two channels of the
/// given flavors.
fn cancel_under_load(caps: (Option<usize>, Option<usize>), seed: u64) {
    const SENDERS: usize = 3;
    const ROUNDS: usize = 1500;
    let n = 2 * SENDERS * ROUNDS;
    let ledger = Ledger::new(n);
    let (ta, ra) = match caps.0 {
        Some(c) => bounded::<Val>(c),
        None => unbounded::<Val>(),
    };
    let (tb, rb) = match caps.1 {
        Some(c) => bounded::<Val>(c),
        None => unbounded::<Val>(),
    };
    let mut handles = Vec::new();
    for s in 0..SENDERS {
        let (ta, tb, ledger) = (ta.clone(), tb.clone(), ledger.clone());
        let seed = seed ^ ((s as u64 + 1) * 0x9e37);
        handles.push(thread::spawn(move || {
            cancel_sender(ta, tb, s * ROUNDS..(s + 1) * ROUNDS, ledger, seed)
        }));
    }
    drop((ta, tb));
    for r in 0..3u64 {
        let (ra, rb, ledger) = (ra.clone(), rb.clone(), ledger.clone());
        let seed = seed ^ ((r + 11) * 0x7f4a);
        handles.push(thread::spawn(move || cancel_receiver(ra, rb, seed, ledger)));
    }
    for h in handles {
        h.join().expect("a party panicked");
    }
    // Everything is closed and drained: the receivers ran until Err.
    assert_eq!(ra.try_recv().err(), Some(subinterp::TryRecvError::Closed));
    assert_eq!(rb.try_recv().err(), Some(subinterp::TryRecvError::Closed));
    drop((ra, rb));
    let what = format!("cancel safety, {caps:?}");
    audit(&what, &ledger, n);
    assert!(
        ledger.drops_of_futures.load(Ordering::SeqCst) > 50,
        "{what}: too few select futures were dropped to test anything"
    );
}

// Origin: issue item 4 bar, rendezvous flavor.
#[test]
fn cancel_safety_rendezvous() {
    watchdog(60, "cancel safety bounded(0)", || {
        cancel_under_load((Some(0), Some(0)), 0xc0ffee)
    });
}

// Origin: issue item 4 bar, bounded(1) flavor.
#[test]
fn cancel_safety_bounded1() {
    watchdog(60, "cancel safety bounded(1)", || {
        cancel_under_load((Some(1), Some(1)), 0xbead)
    });
}

// Origin: issue item 4 bar, unbounded flavor.
#[test]
fn cancel_safety_unbounded() {
    watchdog(60, "cancel safety unbounded", || {
        cancel_under_load((None, None), 0xfeed)
    });
}

// Origin: issue item 4 bar, flavors mixed in one select.
#[test]
fn cancel_safety_mixed_flavors() {
    watchdog(60, "cancel safety mixed", || {
        cancel_under_load((Some(0), None), 0xabc);
        cancel_under_load((Some(1), Some(0)), 0xdef);
    });
}

/// Origin: as above, under tokio: tasks on a multi_thread runtime race
/// select! against tokio::time::sleep inside tokio::select! (the pattern kanal
/// warns about), and tokio::time::timeout around the builder's wait().
fn cancel_under_tokio(cap: Option<usize>) {
    const SENDERS: usize = 3;
    const PER: usize = 400;
    let n = SENDERS * PER;
    let ledger = Ledger::new(n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = match cap {
        Some(c) => bounded::<Val>(c),
        None => unbounded::<Val>(),
    };
    rt.block_on(async {
        let mut tasks = Vec::new();
        for s in 0..SENDERS {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = XorShift::new(0x51 + s as u64);
                for id in s * PER..(s + 1) * PER {
                    if rng.below(16) == 0 {
                        // Pace: receivers find the channel empty now and then.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let mut v = Val {
                        id,
                        received: false,
                        ledger: ledger.clone(),
                    };
                    loop {
                        let d = Duration::from_micros(rng.below(1500));
                        match rng.below(3) {
                            0 => {
                                // Dropped after one or two polls.
                                tokio::select! {
                                    biased;
                                    ok = async { select! { r = send(&tx, v) => r.is_ok() } } => {
                                        assert!(ok);
                                        ledger.ok[id].store(true, Ordering::SeqCst);
                                    }
                                    _ = tokio::task::yield_now() => {
                                        ledger.cancelled[id].store(true, Ordering::SeqCst);
                                        ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                                break;
                            }
                            1 => {
                                tokio::select! {
                                    ok = async { select! { r = send(&tx, v) => r.is_ok() } } => {
                                        assert!(ok);
                                        ledger.ok[id].store(true, Ordering::SeqCst);
                                    }
                                    _ = tokio::time::sleep(d) => {
                                        ledger.cancelled[id].store(true, Ordering::SeqCst);
                                        ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                                break;
                            }
                            _ => {}
                        }
                        let mut sel = Select::new();
                        let i = sel.send(&tx, v);
                        let _ = tokio::time::timeout(d, sel.wait()).await;
                        match sel.take_value(i, &tx) {
                            Some(back) => {
                                ledger.given_back.fetch_add(1, Ordering::SeqCst);
                                v = back;
                            }
                            None => {
                                assert!(sel.take_send(i, &tx).is_ok());
                                ledger.ok[id].store(true, Ordering::SeqCst);
                                break;
                            }
                        }
                    }
                }
            }));
        }
        drop(tx);
        for r in 0..2u64 {
            let rx = rx.clone();
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                let mut rng = XorShift::new(0x77 + r);
                loop {
                    let d = Duration::from_micros(rng.below(1500));
                    // A slow receiver (arm 3) makes bounded senders block and get
                    // cancelled; on unbounded, fast receivers find it empty instead.
                    let arms = if cap.is_some() { 4 } else { 3 };
                    let outcome = match rng.below(arms) {
                        0 => tokio::select! {
                            biased;
                            v = async { select! { v = recv(&rx) => v } } => Some(v),
                            _ = tokio::task::yield_now() => None,
                        },
                        1 => tokio::select! {
                            v = async { select! { v = recv(&rx) => v } } => Some(v),
                            _ = tokio::time::sleep(d) => None,
                        },
                        2 => tokio::time::timeout(d, async {
                            select! { v = recv(&rx) => v }
                        })
                        .await
                        .ok(),
                        _ => {
                            tokio::time::sleep(d).await;
                            continue;
                        }
                    };
                    match outcome {
                        Some(Ok(v)) => got(v),
                        Some(Err(RecvError)) => return,
                        None => {
                            ledger.drops_of_futures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(rx);
    drop(rt);
    let what = format!("cancel safety under tokio, {cap:?}");
    audit(&what, &ledger, n);
    assert!(
        ledger.drops_of_futures.load(Ordering::SeqCst) > 10,
        "{what}: too few select futures were dropped to test anything"
    );
}

// Origin: issue item 4 bar under tokio::select!, every flavor.
#[test]
fn cancel_safety_tokio_select() {
    watchdog(90, "cancel safety under tokio", || {
        for cap in [Some(0), Some(1), None] {
            cancel_under_tokio(cap);
        }
    });
}

// Origin: DESIGN.md section 3 ("FIFO per channel") and runtime/chan_test.go
// TestChan ("receive them non-corrupted in FIFO order"), under cancellation:
// one sender, one receiver whose select! futures are dropped after a poll
// (a value handed to a dropped select goes back to the front of the
// channel), so the order seen is still exactly the order sent.
#[test]
fn fifo_kept_across_dropped_selects() {
    watchdog(60, "FIFO across dropped selects", || {
        const N: u32 = 3000;
        for cap in [Some(0), Some(1), Some(16), None] {
            let (tx, rx) = flavor(cap);
            let sender = thread::spawn(move || {
                for i in 0..N {
                    tx.send_blocking(i).unwrap();
                }
            });
            let mut rng = XorShift::new(0xf1f0 + cap.unwrap_or(99) as u64);
            let mut next = 0;
            let never = subinterp::never::<u8>();
            while next < N {
                let v = if rng.below(3) == 0 {
                    Some(rx.recv_blocking().unwrap())
                } else {
                    let mut fut = pin!(async {
                        select! {
                            v = recv(&rx) => v.unwrap(),
                            _ = recv(&never) => unreachable!(),
                        }
                    });
                    match poll_once(fut.as_mut()) {
                        Poll::Ready(v) => Some(v),
                        Poll::Pending => {
                            dawdle(&mut rng);
                            None
                        }
                    }
                };
                if let Some(v) = v {
                    assert_eq!(v, next, "{cap:?}: out of order after dropped selects");
                    next += 1;
                }
            }
            sender.join().unwrap();
            assert!(rx.try_recv().is_err());
        }
    });
}

// Origin: DESIGN.md section 3 ("a select-send and a select-recv on the same
// rendezvous channel in two tasks must meet"), for two selects joined in one
// task: they are different parties (only a select's own cases never talk to
// each other), so they meet.
#[test]
fn two_selects_joined_in_one_task_meet() {
    watchdog(30, "two selects in one task", || {
        let (tx, rx) = bounded::<u32>(0);
        block_on(async {
            for i in 0..500 {
                let (a, b) = futures::join!(
                    async {
                        select! { r = send(&tx, i) => r.is_ok() }
                    },
                    async {
                        select! { v = recv(&rx) => v }
                    },
                );
                assert!(a);
                assert_eq!(b, Ok(i));
            }
        });
    });
}

// Origin: issue item 6 ("inside tokio::spawn, which requires the future to
// be Send") for values that are Send but not Sync (`Cell`): the select!
// future holds only `&Receiver`/`&Sender` and the cases, so it is Send.
#[test]
fn select_future_is_send_for_send_not_sync_values() {
    watchdog(30, "Send select future", || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (tx, rx) = bounded::<std::cell::Cell<u32>>(1);
        let got = rt.block_on(async move {
            tokio::spawn(assert_send(async move {
                select! { r = send(&tx, std::cell::Cell::new(5)) => r.unwrap() }
                let mut sel = Select::new();
                let i = sel.recv(&rx);
                assert_eq!(sel.wait().await, i);
                sel.take_recv(i, &rx).unwrap().get()
            }))
            .await
            .unwrap()
        });
        assert_eq!(got, 5);
    });
}
