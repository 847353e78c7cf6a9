//! Quick end-to-end checks of every flavor from threads and tasks.
use std::time::Duration;

/// Miri runs these too, at a size it finishes in seconds.
const N: u64 = if cfg!(miri) { 50 } else { 10_000 };

#[test]
fn rendezvous_thread_to_thread() {
    let (tx, rx) = subinterp::bounded(0);
    let t = std::thread::spawn(move || {
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
    });
    let got: Vec<u64> = rx.iter().collect();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    t.join().unwrap();
}

#[test]
fn rendezvous_task_to_thread_and_back() {
    let (tx, rx) = subinterp::bounded::<u32>(0);
    let (back_tx, back_rx) = subinterp::bounded::<u32>(0);
    let t = std::thread::spawn(move || {
        for v in rx.iter() {
            back_tx.send_blocking(v + 1).unwrap();
        }
    });
    futures::executor::block_on(async {
        for i in 0..N as u32 {
            tx.send(i).await.unwrap();
            assert_eq!(back_rx.recv().await, Ok(i + 1));
        }
    });
    drop(tx);
    t.join().unwrap();
}

#[test]
fn bounded_mpmc_counts() {
    for cap in [0usize, 1, 7, 1000] {
        let (tx, rx) = subinterp::bounded::<u64>(cap);
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        tx.send_blocking(s * 100_000 + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        drop(rx);
        for s in senders {
            s.join().unwrap();
        }
        let mut all: Vec<u64> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        all.sort_unstable();
        let mut want: Vec<u64> = (0..4)
            .flat_map(|s| (0..N).map(move |i| s * 100_000 + i))
            .collect();
        want.sort_unstable();
        assert_eq!(all, want, "cap {cap}");
    }
}

#[test]
fn timeouts() {
    let (tx, rx) = subinterp::bounded::<u8>(0);
    assert!(rx
        .recv_timeout(Duration::from_millis(5))
        .unwrap_err()
        .is_timeout());
    assert!(tx
        .send_timeout(1, Duration::from_millis(5))
        .unwrap_err()
        .is_timeout());
}
