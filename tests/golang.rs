//! Go's channel tests, rewritten for subinterp from the semantics of Go's
//! `test/chan/*.go`, `test/closedchan.go` and `src/runtime/chan_test.go`.
//! Each test names its origin above it. Goroutines are OS threads here.
//! Tests that need `select` (select*.go, doubleselect.go, TestSelfSelect,
//! TestPseudoRandomSend, TestSelectDuplicateChannel, ...) arrive with `select`.
//!
//! Where Go panics (send on a closed channel, double close), subinterp
//! returns an error or `false` instead; those tests check the Rust form.

mod common;

use common::{scaled, watchdog};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use subinterp::{
    bounded, unbounded, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError,
};

/// Long enough for a spawned thread to reach its blocking call.
const SETTLE: Duration = Duration::from_millis(10);

// runtime/chan_test.go: TestChan, for capacities 0..=N.
#[test]
fn test_chan() {
    watchdog(120, "TestChan", || {
        let n = scaled(20, 3);
        for cap in 0..=n {
            test_chan_cap(cap);
        }
    });
}

fn test_chan_cap(cap: usize) {
    {
        // Receive from an empty channel blocks.
        let (tx, rx) = bounded::<i32>(cap);
        let recv1 = Arc::new(AtomicBool::new(false));
        let recv2 = Arc::new(AtomicBool::new(false));
        let t1 = {
            let (rx, recv1) = (rx.clone(), recv1.clone());
            thread::spawn(move || {
                rx.recv_blocking().unwrap();
                recv1.store(true, Ordering::SeqCst);
            })
        };
        let t2 = {
            let (rx, recv2) = (rx.clone(), recv2.clone());
            thread::spawn(move || {
                futures::executor::block_on(rx.recv()).unwrap();
                recv2.store(true, Ordering::SeqCst);
            })
        };
        thread::sleep(SETTLE);
        assert!(
            !recv1.load(Ordering::SeqCst) && !recv2.load(Ordering::SeqCst),
            "chan[{cap}]: receive from empty chan"
        );
        // A non-blocking receive does not block.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "chan[{cap}]");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "chan[{cap}]");
        tx.send_blocking(0).unwrap();
        tx.send_blocking(0).unwrap();
        t1.join().unwrap();
        t2.join().unwrap();
    }

    {
        // Send to a full channel blocks.
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send_blocking(i).unwrap();
        }
        let sent = Arc::new(AtomicBool::new(false));
        let t = {
            let (tx, sent) = (tx.clone(), sent.clone());
            thread::spawn(move || {
                tx.send_blocking(0).unwrap();
                sent.store(true, Ordering::SeqCst);
            })
        };
        thread::sleep(SETTLE);
        assert!(
            !sent.load(Ordering::SeqCst),
            "chan[{cap}]: send to full chan"
        );
        // A non-blocking send does not block.
        assert_eq!(tx.try_send(0), Err(TrySendError::Full(0)), "chan[{cap}]");
        rx.recv_blocking().unwrap();
        t.join().unwrap();
        assert!(sent.load(Ordering::SeqCst));
    }

    {
        // Receive from a closed channel drains, then fails.
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send_blocking(i).unwrap();
        }
        tx.close();
        for i in 0..cap {
            assert_eq!(rx.recv_blocking(), Ok(i), "chan[{cap}]");
        }
        assert_eq!(rx.recv_blocking(), Err(RecvError), "chan[{cap}]");
        assert_eq!(rx.recv_blocking(), Err(RecvError), "chan[{cap}]");
    }

    {
        // Close unblocks a receive.
        let (tx, rx) = bounded::<usize>(cap);
        let t = thread::spawn(move || rx.recv_blocking());
        thread::sleep(SETTLE);
        assert!(tx.close());
        assert_eq!(t.join().unwrap(), Err(RecvError), "chan[{cap}]");
    }

    {
        // 100 integers arrive uncorrupted in FIFO order, twice (Go checks the
        // `v, ok := <-c` form the second time; here the async form).
        let (tx, rx) = bounded::<usize>(cap);
        let t = {
            let tx = tx.clone();
            thread::spawn(move || (0..100).for_each(|i| tx.send_blocking(i).unwrap()))
        };
        for i in 0..100 {
            assert_eq!(rx.recv_blocking(), Ok(i), "chan[{cap}]");
        }
        t.join().unwrap();
        let t = {
            let tx = tx.clone();
            thread::spawn(move || (0..100).for_each(|i| tx.send_blocking(i).unwrap()))
        };
        futures::executor::block_on(async {
            for i in 0..100 {
                assert_eq!(rx.recv().await, Ok(i), "chan[{cap}]");
            }
        });
        t.join().unwrap();

        // 1000 integers from each of 4 threads, received by 4 threads: each
        // integer arrives exactly 4 times.
        const P: usize = 4;
        let l = scaled(1000, 50);
        let senders: Vec<_> = (0..P)
            .map(|_| {
                let tx = tx.clone();
                thread::spawn(move || (0..l).for_each(|i| tx.send_blocking(i).unwrap()))
            })
            .collect();
        let receivers: Vec<_> = (0..P)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut recv = HashMap::new();
                    for _ in 0..l {
                        *recv.entry(rx.recv_blocking().unwrap()).or_insert(0) += 1;
                    }
                    recv
                })
            })
            .collect();
        let mut recv: HashMap<usize, usize> = HashMap::new();
        for r in receivers {
            for (k, v) in r.join().unwrap() {
                *recv.entry(k).or_insert(0) += v;
            }
        }
        for s in senders {
            s.join().unwrap();
        }
        assert_eq!(recv.len(), l, "chan[{cap}]: received {} values", recv.len());
        for (k, v) in recv {
            assert_eq!(v, P, "chan[{cap}]: value {k} received {v} times");
        }
    }

    {
        // len and cap.
        let (tx, rx) = bounded::<usize>(cap);
        assert_eq!((tx.len(), tx.capacity()), (0, Some(cap)), "chan[{cap}]");
        for i in 0..cap {
            tx.send_blocking(i).unwrap();
        }
        assert_eq!((rx.len(), rx.capacity()), (cap, Some(cap)), "chan[{cap}]");
    }
}

// runtime/chan_test.go: TestNonblockRecvRace. A non-blocking receive racing
// with close on a channel that holds a value never sees "empty".
#[test]
fn test_nonblock_recv_race() {
    watchdog(60, "TestNonblockRecvRace", || {
        for _ in 0..scaled(1000, 20) {
            let (tx, rx) = bounded::<i32>(1);
            tx.send_blocking(1).unwrap();
            let t = {
                let rx = rx.clone();
                thread::spawn(move || match rx.try_recv() {
                    Ok(v) => Some(v),
                    Err(TryRecvError::Closed) => None,
                    Err(TryRecvError::Empty) => panic!("chan is not ready"),
                })
            };
            tx.close();
            let mine = rx.recv_blocking().ok();
            let theirs = t.join().unwrap();
            // Exactly one of the two got the value.
            assert!(
                matches!((mine, theirs), (Some(1), None) | (None, Some(1))),
                "mine {mine:?}, theirs {theirs:?}"
            );
        }
    });
}

// runtime/chan_test.go: TestMultiConsumer. 23 workers between a feeder and a
// consumer; the count and the sum of what arrives are exact. niter scaled
// down from 271828 for debug builds on 2 cores.
#[test]
fn test_multi_consumer() {
    watchdog(120, "TestMultiConsumer", || {
        const NWORK: usize = 23;
        let niter = scaled(27_183, 500);
        const PN: [u64; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];

        let (q_tx, q_rx) = bounded::<u64>(NWORK * 3);
        let (r_tx, r_rx) = bounded::<u64>(NWORK * 3);

        let workers: Vec<_> = (0..NWORK)
            .map(|w| {
                let (q_rx, r_tx) = (q_rx.clone(), r_tx.clone());
                thread::spawn(move || {
                    for v in &q_rx {
                        // Mess with the FIFO-ish nature of the iteration.
                        if PN[w % PN.len()] == v {
                            thread::yield_now();
                        }
                        r_tx.send_blocking(v).unwrap();
                    }
                })
            })
            .collect();
        drop((q_rx, r_tx));

        let feeder = thread::spawn(move || {
            let mut expect = 0;
            for i in 0..niter {
                let v = PN[i % PN.len()];
                expect += v;
                q_tx.send_blocking(v).unwrap();
            }
            q_tx.close(); // no more work
            for w in workers {
                w.join().unwrap(); // workers done
            }
            // The last r_tx went with the workers: r is closed now.
            expect
        });

        let (mut n, mut s) = (0, 0);
        for v in &r_rx {
            n += 1;
            s += v;
        }
        let expect = feeder.join().unwrap();
        assert_eq!(
            (n, s),
            (niter, expect),
            "expected sum {expect} from {niter} iterations"
        );
    });
}

// test/chan/fifo.go: AsynchFifo. A buffered channel is a FIFO.
#[test]
fn fifo_asynch() {
    watchdog(30, "fifo_asynch", || {
        const N: usize = 10;
        let (tx, rx) = bounded(N);
        for i in 0..N {
            tx.try_send(i).unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.try_recv(), Ok(i), "bad receive");
        }
    });
}

// test/chan/fifo.go: SynchFifo. A daisy chain of threads, each waiting for
// its turn and then receiving from one rendezvous channel, sees the values in
// the order they were sent.
#[test]
fn fifo_synch() {
    watchdog(30, "fifo.go SynchFifo", || {
        const N: usize = 10;
        let (ch_tx, ch_rx) = bounded::<usize>(0);
        let (start_tx, mut in_rx) = bounded::<usize>(0);
        let mut chain = Vec::new();
        for i in 0..N {
            let (out_tx, out_rx) = bounded::<usize>(0);
            let ch_rx = ch_rx.clone();
            let prev = std::mem::replace(&mut in_rx, out_rx);
            chain.push(thread::spawn(move || {
                prev.recv_blocking().unwrap();
                assert_eq!(ch_rx.recv_blocking(), Ok(i));
                out_tx.send_blocking(1).unwrap();
            }));
        }
        start_tx.send_blocking(0).unwrap();
        for i in 0..N {
            ch_tx.send_blocking(i).unwrap();
        }
        assert_eq!(in_rx.recv_blocking(), Ok(1));
        for t in chain {
            t.join().unwrap();
        }
    });
}

// test/chan/goroutines.go: many goroutines threaded together by rendezvous
// channels, torn down cleanly. 1,000 threads rather than 10,000.
#[test]
fn goroutines_chain() {
    watchdog(120, "goroutines.go", || {
        let n = scaled(1000, 10);
        let (leftmost_tx, leftmost_rx) = bounded::<i32>(0);
        let mut left = leftmost_tx;
        let mut threads = Vec::with_capacity(n);
        for _ in 0..n {
            let (right_tx, right_rx) = bounded::<i32>(0);
            threads.push(
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || {
                        let v = right_rx.recv_blocking().unwrap();
                        left.send_blocking(v).unwrap();
                    })
                    .expect("spawn a chain thread"),
            );
            left = right_tx;
        }
        let right = left;
        let last = thread::spawn(move || right.send_blocking(1).unwrap());
        assert_eq!(leftmost_rx.recv_blocking(), Ok(1));
        last.join().unwrap();
        for t in threads {
            t.join().unwrap();
        }
    });
}

/// One round of nonblock.go for one type: a non-blocking receive on an
/// empty channel fails; a non-blocking send succeeds once a receiver waits;
/// a non-blocking receive succeeds once a sender waits (or has buffered).
fn nonblock_case<T>(buffer: usize, to_receiver: T, from_sender: T)
where
    T: PartialEq + std::fmt::Debug + Clone + Send + 'static,
{
    let (tx, rx) = bounded::<T>(buffer);
    let (sync_tx, sync_rx) = bounded::<bool>(0);

    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "blocked sender");

    // A receiver thread waits; a non-blocking send reaches it.
    let receiver = {
        let (rx, sync_tx, want) = (rx.clone(), sync_tx.clone(), to_receiver.clone());
        thread::spawn(move || {
            assert_eq!(rx.recv_blocking(), Ok(want), "receiver value");
            sync_tx.send_blocking(true).unwrap();
        })
    };
    let started = Instant::now();
    let mut v = to_receiver;
    loop {
        match tx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => v = back,
            Err(TrySendError::Closed(_)) => panic!("closed"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "buffer={buffer}: a non-blocking send never met the waiting receiver"
        );
        thread::sleep(Duration::from_micros(100));
    }
    assert_eq!(sync_rx.recv_blocking(), Ok(true));
    receiver.join().unwrap();

    // A sender thread sends; a non-blocking receive gets its value.
    let sender = {
        let (tx, sync_tx, v) = (tx.clone(), sync_tx.clone(), from_sender.clone());
        thread::spawn(move || {
            tx.send_blocking(v).unwrap();
            sync_tx.send_blocking(true).unwrap();
        })
    };
    if buffer > 0 {
        assert_eq!(sync_rx.recv_blocking(), Ok(true));
    }
    let started = Instant::now();
    let got = loop {
        match rx.try_recv() {
            Ok(v) => break v,
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Closed) => panic!("closed"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "buffer={buffer}: a non-blocking receive never met the waiting sender"
        );
        thread::sleep(Duration::from_micros(100));
    };
    assert_eq!(got, from_sender, "sender value");
    if buffer == 0 {
        assert_eq!(sync_rx.recv_blocking(), Ok(true));
    }
    sender.join().unwrap();
}

// test/chan/nonblock.go: non-blocking operations over several operand types
// and sizes, buffered and not.
#[test]
fn nonblock() {
    watchdog(60, "nonblock.go", || {
        for buffer in 0..2 {
            nonblock_case::<i32>(buffer, 123, 234);
            nonblock_case::<i64>(buffer, 123_456, 234_567);
            nonblock_case::<bool>(buffer, true, true);
            nonblock_case::<String>(buffer, "hello".into(), "hello again".into());
        }
    });
}

// test/chan/nonblock.go, for the timed forms: a deadline already past makes
// a receive or send non-blocking, yet it still completes when it can at once
// (a buffered value, a waiting sender or receiver, room in the buffer).
#[test]
fn nonblock_past_deadline() {
    watchdog(60, "nonblock.go with past deadlines", || {
        let past = Instant::now();
        for cap in [0usize, 1] {
            let (tx, rx) = bounded::<i32>(cap);
            assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
            assert_eq!(
                rx.recv_timeout(Duration::ZERO),
                Err(RecvTimeoutError::Timeout)
            );
            // A sender waits (cap 0) or has buffered (cap 1).
            let sender = {
                let tx = tx.clone();
                thread::spawn(move || tx.send_blocking(5))
            };
            let started = Instant::now();
            let got = loop {
                match rx.recv_deadline(past) {
                    Ok(v) => break v,
                    Err(RecvTimeoutError::Timeout) => thread::sleep(Duration::from_micros(100)),
                    Err(RecvTimeoutError::Closed) => panic!("closed"),
                }
                assert!(started.elapsed() < Duration::from_secs(10), "chan[{cap}]");
            };
            assert_eq!(got, 5, "chan[{cap}]");
            assert_eq!(sender.join().unwrap(), Ok(()));
            // A receiver waits (cap 0) or there is room (cap 1).
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv_blocking())
            };
            let started = Instant::now();
            let mut v = 6;
            loop {
                match tx.send_deadline(v, past) {
                    Ok(()) => break,
                    Err(SendTimeoutError::Timeout(back)) => v = back,
                    Err(SendTimeoutError::Closed(_)) => panic!("closed"),
                }
                assert!(started.elapsed() < Duration::from_secs(10), "chan[{cap}]");
                thread::sleep(Duration::from_micros(100));
            }
            assert_eq!(receiver.join().unwrap(), Ok(6), "chan[{cap}]");
            if cap == 1 {
                tx.try_send(7).unwrap();
                assert_eq!(
                    tx.send_timeout(8, Duration::ZERO),
                    Err(SendTimeoutError::Timeout(8))
                );
            }
        }
    });
}

// test/chan/sieve1.go: the prime sieve, a daisy chain of filter threads.
// Shutdown is by dropping the primes receiver: each stage's send then fails
// and the stage exits, dropping its receiver, which stops the stage before it.
#[test]
fn sieve1() {
    watchdog(60, "sieve1.go", || {
        fn generate(tx: Sender<u32>) {
            for i in 2.. {
                if tx.send_blocking(i).is_err() {
                    return;
                }
            }
        }
        fn filter(rx: Receiver<u32>, tx: Sender<u32>, prime: u32) {
            for i in &rx {
                if i % prime != 0 && tx.send_blocking(i).is_err() {
                    return;
                }
            }
        }
        let (primes_tx, primes_rx) = bounded::<u32>(0);
        let sieve = thread::spawn(move || {
            let mut threads = Vec::new();
            let (tx, mut ch) = bounded(0);
            threads.push(thread::spawn(move || generate(tx)));
            while let Ok(prime) = ch.recv_blocking() {
                if primes_tx.send_blocking(prime).is_err() {
                    break;
                }
                let (tx1, ch1) = bounded(0);
                let input = std::mem::replace(&mut ch, ch1);
                threads.push(thread::spawn(move || filter(input, tx1, prime)));
            }
            drop(ch);
            threads
        });
        let want = [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97,
        ];
        for p in want {
            assert_eq!(primes_rx.recv_blocking(), Ok(p));
        }
        drop(primes_rx);
        for t in sieve.join().unwrap() {
            t.join().unwrap();
        }
    });
}

// test/chan/zerosize.go: channels of zero-sized types work (Go: making them
// does not panic). Here they also carry values, and a huge bound is fine
// since any number of them fits in memory.
#[test]
fn zerosize() {
    watchdog(30, "zerosize", || {
        #[derive(Debug, PartialEq)]
        struct Empty;
        let _ = bounded::<[u8; 0]>(0);
        let _ = bounded::<[u8; 0]>(1);
        let _ = bounded::<()>(0);
        let _ = bounded::<()>(1);
        let (tx, rx) = unbounded::<Empty>();
        for _ in 0..1000 {
            tx.try_send(Empty).unwrap();
        }
        assert_eq!(rx.len(), 1000);
        assert_eq!(rx.try_iter().count(), 1000);
        let (tx, rx) = bounded::<()>(1 << 40);
        assert_eq!(tx.capacity(), Some(1 << 40));
        tx.try_send(()).unwrap();
        assert_eq!(rx.try_recv(), Ok(()));
        let (tx, rx) = bounded::<[u8; 0]>(2);
        tx.try_send([]).unwrap();
        tx.try_send([]).unwrap();
        assert!(tx.try_send([]).unwrap_err().is_full());
        assert_eq!(rx.try_recv(), Ok([]));
    });
}

// runtime/chan_test.go: TestChanSendInterface (without select). Interface
// values (here `Box<dyn Any>`) go through, and a refused send gives back the
// very same box.
#[test]
fn chan_send_interface() {
    watchdog(30, "chan_send_interface", || {
        use std::any::Any;
        struct Mt;
        let (tx, rx) = bounded::<Box<dyn Any + Send>>(1);
        let m: Box<dyn Any + Send> = Box::new(Mt);
        tx.try_send(m).unwrap();
        let m2: Box<dyn Any + Send> = Box::new(Mt);
        let p = &*m2 as *const (dyn Any + Send) as *const u8;
        let back = tx.try_send(m2).unwrap_err().into_inner();
        assert_eq!(&*back as *const (dyn Any + Send) as *const u8, p);
        assert!(rx.try_recv().unwrap().is::<Mt>());
    });
}

// test/chan/sendstmt.go: chanchan. A channel of channels: receive a channel
// and send on it at once.
#[test]
fn sendstmt_chanchan() {
    watchdog(30, "sendstmt_chanchan", || {
        let (cc_tx, cc_rx) = bounded::<Sender<i32>>(1);
        let (c_tx, c_rx) = bounded::<i32>(1);
        cc_tx.try_send(c_tx).unwrap();
        cc_rx
            .try_recv()
            .expect("nonblock")
            .try_send(2)
            .expect("nonblock");
        assert_eq!(c_rx.try_recv(), Ok(2), "bad receive");
    });
}

// runtime/chan_test.go: TestShrinkStackDuringBlockedSend. A sender that uses
// lots of stack between sends, then blocks, delivers intact values.
#[test]
fn blocked_send_with_deep_stack() {
    fn recurse(n: u32) -> u64 {
        let pad = [n as u64; 64];
        if n == 0 {
            return pad.iter().sum();
        }
        std::hint::black_box(recurse(n - 1)) + pad[3]
    }
    watchdog(30, "TestShrinkStackDuringBlockedSend", || {
        const N: u64 = 10;
        let (tx, rx) = bounded::<u64>(0);
        let (done_tx, done_rx) = bounded::<()>(0);
        let t = thread::spawn(move || {
            for i in 0..N {
                tx.send_blocking(i).unwrap();
                std::hint::black_box(recurse(20));
            }
            done_tx.send_blocking(()).unwrap();
        });
        for i in 0..N {
            assert_eq!(rx.recv_blocking(), Ok(i), "bad channel read");
            thread::sleep(Duration::from_millis(1));
        }
        done_rx.recv_blocking().unwrap();
        t.join().unwrap();
    });
}

/// Panics at compile time unless `$t` does *not* implement `$tr` (the
/// ambiguity trick of static_assertions' `assert_not_impl_any!`).
macro_rules! assert_not_impl {
    ($t:ty: $tr:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            #[allow(dead_code)]
            struct Invalid;
            impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

// test/chan/perm.go: send-only and receive-only channels. In subinterp the
// two directions are two types: a `Sender` cannot receive (no recv method,
// not iterable, not a Stream) and a `Receiver` cannot send (not a Sink);
// neither converts into the other. Unlike Go, closing from the receive side
// is allowed (tested in `closed_chan_close_idempotent`).
assert_not_impl!(Sender<i32>: IntoIterator);
assert_not_impl!(&'static Sender<i32>: IntoIterator);
assert_not_impl!(Sender<i32>: From<Receiver<i32>>);
assert_not_impl!(Receiver<i32>: From<Sender<i32>>);
#[cfg(feature = "futures")]
assert_not_impl!(Sender<i32>: futures::Stream);
#[cfg(feature = "futures")]
assert_not_impl!(Receiver<i32>: futures::Sink<i32>);

#[test]
fn perm_directions() {
    watchdog(30, "perm_directions", || {
        fn only_receives<T, I: IntoIterator<Item = T>>(i: I) -> Vec<T> {
            i.into_iter().collect()
        }
        let (tx, rx) = bounded::<i32>(2);
        tx.try_send(0).unwrap();
        tx.try_send(1).unwrap();
        drop(tx);
        // `for range cr` is fine on the receive side, by reference and by value.
        assert_eq!(only_receives(&rx), [0, 1]);
        assert_eq!(only_receives(rx), Vec::<i32>::new());
    });
}

/// closedchan.go's checks on a closed, drained channel, through every
/// receive and send form.
fn closed_checks(tx: &Sender<i32>, rx: &Receiver<i32>) {
    for _ in 0..3 {
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        assert_eq!(futures::executor::block_on(rx.recv()), Err(RecvError));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Err(RecvTimeoutError::Closed)
        );
        assert_eq!(
            rx.recv_deadline(Instant::now() + Duration::from_secs(10)),
            Err(RecvTimeoutError::Closed)
        );
        assert_eq!(rx.try_iter().count(), 0);
        assert_eq!(rx.iter().count(), 0);
    }
    // Go panics on a send to a closed channel; here the value comes back,
    // and it is not received afterwards.
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(tx.send_blocking(2), Err(SendError(2)));
    assert_eq!(
        tx.send_timeout(3, Duration::from_secs(10)),
        Err(SendTimeoutError::Closed(3))
    );
    assert_eq!(futures::executor::block_on(tx.send(4)), Err(SendError(4)));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(rx.len(), 0);
}

// test/closedchan.go: test1 over closedsync() (an unbuffered closed channel).
#[test]
fn closed_chan_sync() {
    watchdog(30, "closedchan.go closedsync", || {
        let (tx, rx) = bounded::<i32>(0);
        assert!(tx.close());
        closed_checks(&tx, &rx);
    });
}

// test/closedchan.go: testasync1..4 over closedasync() (a buffered channel
// holding 1, then closed): the last value comes out through each receive
// form, then test1.
#[test]
fn closed_chan_async() {
    watchdog(30, "closedchan.go closedasync", || {
        type Recv = fn(&Receiver<i32>) -> Option<i32>;
        let forms: [(&str, Recv); 4] = [
            ("recv_blocking", |rx| rx.recv_blocking().ok()),
            ("recv().await", |rx| {
                futures::executor::block_on(rx.recv()).ok()
            }),
            ("try_recv", |rx| rx.try_recv().ok()),
            ("recv_timeout", |rx| {
                rx.recv_timeout(Duration::from_secs(10)).ok()
            }),
        ];
        for (form, recv) in forms {
            let (tx, rx) = bounded::<i32>(2);
            tx.try_send(1).unwrap();
            assert!(tx.close());
            assert_eq!(recv(&rx), Some(1), "{form} did not get 1");
            closed_checks(&tx, &rx);
        }
    });
}

// test/closedchan.go: closing twice. Go panics; here the second close (from
// either side) returns false and changes nothing.
#[test]
fn closed_chan_close_idempotent() {
    watchdog(30, "closed_chan_close_idempotent", || {
        let (tx, rx) = bounded::<i32>(1);
        tx.try_send(7).unwrap();
        assert!(!tx.is_closed());
        assert!(rx.close(), "the first close closes");
        assert!(!tx.close(), "a second close returns false");
        assert!(!rx.close(), "a third close returns false");
        assert_eq!(
            rx.try_recv(),
            Ok(7),
            "closing twice lost the buffered value"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

// Go's close semantics (closedchan.go's TODO: blocked senders and receivers):
// a receiver blocked at close time is woken and fails; a sender blocked at
// close time is woken and gets its value back, which nobody receives.
#[test]
fn closed_chan_wakes_blocked() {
    watchdog(60, "close wakes blocked parties", || {
        for cap in [0usize, 1, 4] {
            // Blocked receivers.
            let (tx, rx) = bounded::<usize>(cap);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.recv_blocking())
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(tx.close());
            for r in receivers {
                assert_eq!(r.join().unwrap(), Err(RecvError), "chan[{cap}]");
            }

            // Blocked senders on a full channel.
            let (tx, rx) = bounded::<usize>(cap);
            for i in 0..cap {
                tx.try_send(i).unwrap();
            }
            let senders: Vec<_> = (100..103)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || (v, tx.send_blocking(v)))
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(rx.close());
            for s in senders {
                let (v, r) = s.join().unwrap();
                assert_eq!(r, Err(SendError(v)), "chan[{cap}]");
            }
            for i in 0..cap {
                assert_eq!(rx.recv_blocking(), Ok(i), "chan[{cap}]");
            }
            assert_eq!(rx.recv_blocking(), Err(RecvError), "chan[{cap}]");
        }
    });
}
