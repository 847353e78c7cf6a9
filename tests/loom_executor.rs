//! Loom models of the executor's injection queue and of its wake/park
//! handshake (`Inbox` in src/interp/executor.rs).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_executor
//! ```
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use subinterp::__LoomInbox as Inbox;

/// The owner's loop: drain, and park while nothing is there, until `want`
/// items arrived. A lost wake-up shows up as a loom deadlock.
fn owner_loop(inbox: &Inbox<u32>, want: usize) -> Vec<u32> {
    let mut got = Vec::new();
    loop {
        if inbox.take_notification() {
            got.extend(inbox.drain());
        }
        if got.len() >= want {
            return got;
        }
        inbox.park(None);
        got.extend(inbox.drain());
        if got.len() >= want {
            return got;
        }
    }
}

#[test]
fn wake_while_parking_is_never_lost() {
    loom::model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let i2 = inbox.clone();
        let pusher = thread::spawn(move || i2.push(1));
        let got = owner_loop(&inbox, 1);
        pusher.join().unwrap();
        assert_eq!(got, [1]);
    });
}

#[test]
fn injection_queue_delivers_everything_once_in_order() {
    loom::model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let a = inbox.clone();
        let b = inbox.clone();
        let ta = thread::spawn(move || {
            a.push(1);
            a.push(2);
        });
        let tb = thread::spawn(move || b.push(10));
        let got = owner_loop(&inbox, 3);
        ta.join().unwrap();
        tb.join().unwrap();
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 10], "lost or duplicated: {got:?}");
        // FIFO per producer.
        let pos = |v| got.iter().position(|&x| x == v).unwrap();
        assert!(pos(1) < pos(2));
    });
}

#[test]
fn notify_without_items_wakes_the_owner() {
    // `notify` alone (the main future's waker) must unpark a parking owner.
    loom::model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let (i2, f2) = (inbox.clone(), flag.clone());
        let waker = thread::spawn(move || {
            f2.store(true, loom::sync::atomic::Ordering::Release);
            i2.notify_always();
        });
        while !flag.load(loom::sync::atomic::Ordering::Acquire) {
            inbox.park(None);
        }
        waker.join().unwrap();
    });
}

#[test]
fn shutdown_flag_is_seen_after_a_stale_notification() {
    // The executor consumes notifications in more than one place before it
    // parks; a flag set with `notify_always` (shutdown) must be seen even
    // when a notification with nothing queued was already pending.
    loom::model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        inbox.notify();
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let (i2, f2) = (inbox.clone(), flag.clone());
        let stopper = thread::spawn(move || {
            f2.store(true, loom::sync::atomic::Ordering::SeqCst);
            i2.notify_always();
        });
        loop {
            if flag.load(loom::sync::atomic::Ordering::Acquire) {
                break;
            }
            if inbox.take_notification() {
                drop(inbox.drain());
            }
            if flag.load(loom::sync::atomic::Ordering::Acquire) {
                break;
            }
            inbox.park(None);
        }
        stopper.join().unwrap();
    });
}
