use std::time::Duration;
use subinterp::{bounded, select, select_blocking, unbounded, Select};

/// Miri runs these too, at a size it finishes in seconds.
const N: u32 = if cfg!(miri) { 30 } else { 1000 };

#[test]
fn blocking_recv_and_send() {
    let (tx, rx) = bounded::<u32>(0);
    let (tx2, rx2) = bounded::<u32>(0);
    let t = std::thread::spawn(move || {
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        for _ in 0..N {
            rx2.recv_blocking().unwrap();
        }
    });
    let mut got = 0;
    let mut sent = 0;
    while got < N || sent < N {
        let r = if got < N { Some(&rx) } else { None };
        let s = if sent < N { Some(&tx2) } else { None };
        select_blocking! {
            v = recv(r) => { v.unwrap(); got += 1; },
            res = send(s, 5) => { res.unwrap(); sent += 1; },
        }
    }
    t.join().unwrap();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "after() starts the shared timer thread, which outlives the test; Miri rejects threads alive at exit"
)]
fn self_select_blocks() {
    let (tx, rx) = bounded::<u32>(0);
    let r = select_blocking! {
        _ = recv(&rx) => 1,
        _ = send(&tx, 1) => 2,
        _ = recv(subinterp::after(Duration::from_millis(20))) => 3,
    };
    assert_eq!(r, 3);
}

#[test]
fn select_meets_select_rendezvous() {
    let (tx, rx) = bounded::<u32>(0);
    let t = std::thread::spawn(move || {
        for i in 0..2 * N {
            select_blocking! { r = send(&tx, i) => r.unwrap() }
        }
    });
    futures::executor::block_on(async {
        for i in 0..2 * N {
            let v = select! { v = recv(&rx) => v.unwrap() };
            assert_eq!(v, i);
        }
    });
    t.join().unwrap();
}

#[test]
fn default_and_builder() {
    let (tx, rx) = unbounded::<u8>();
    let none = select_blocking! { _ = recv(&rx) => false, default => true };
    assert!(none);
    tx.try_send(4).unwrap();
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    assert_eq!(sel.wait_blocking(), i);
    assert_eq!(sel.take_recv(i, &rx), Ok(4));
}
