//! Interpreter-local channels: semantics, `!Send` payloads, cancel safety,
//! and the wake path between tasks of one interpreter.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use subinterp::Interpreter;

fn on_interp<T: Send + 'static, F: std::future::Future<Output = T> + 'static>(
    make: impl FnOnce() -> F + Send + 'static,
) -> T {
    let interp = Interpreter::new().unwrap();
    interp.spawn(make).join_blocking().unwrap()
}

#[test]
fn fifo_across_tasks_for_every_capacity() {
    for cap in [0usize, 1, 3, usize::MAX] {
        let got = on_interp(move || async move {
            let (tx, rx) = if cap == usize::MAX {
                subinterp::local::unbounded()
            } else {
                subinterp::local::bounded(cap)
            };
            let producer = subinterp::spawn(async move {
                for i in 0..1000u32 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut got = Vec::new();
            while let Ok(v) = rx.recv().await {
                got.push(v);
            }
            producer.await.unwrap();
            got
        });
        assert_eq!(got, (0..1000).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn rendezvous_send_waits_for_a_receiver() {
    on_interp(|| async {
        let (tx, rx) = subinterp::local::bounded::<u8>(0);
        let sent = Rc::new(RefCell::new(false));
        let s = sent.clone();
        let sender = subinterp::spawn(async move {
            tx.send(1).await.unwrap();
            *s.borrow_mut() = true;
        });
        for _ in 0..10 {
            subinterp::yield_now().await;
        }
        assert!(
            !*sent.borrow(),
            "a rendezvous send completed with no receiver"
        );
        assert_eq!(rx.recv().await, Ok(1));
        sender.await.unwrap();
        assert!(*sent.borrow());
    });
}

#[test]
fn carries_non_send_values() {
    let n = on_interp(|| async {
        let (tx, rx) = subinterp::local::bounded::<Rc<RefCell<Vec<u8>>>>(2);
        let shared = Rc::new(RefCell::new(vec![]));
        for i in 0..2 {
            shared.borrow_mut().push(i);
            tx.send(shared.clone()).await.unwrap();
        }
        let a = rx.recv().await.unwrap();
        let b = rx.recv().await.unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        Rc::strong_count(&shared)
    });
    assert_eq!(n, 3);
}

#[test]
fn close_and_drop_semantics() {
    on_interp(|| async {
        let (tx, rx) = subinterp::local::bounded(2);
        tx.send(1).await.unwrap();
        assert!(tx.close());
        assert!(!tx.close());
        assert!(tx.send(2).await.is_err());
        assert_eq!(rx.recv().await, Ok(1));
        assert!(rx.recv().await.is_err());

        // Blocked sender fails when the receiver goes away; value returned.
        let (tx, rx) = subinterp::local::bounded::<String>(0);
        let sender = subinterp::spawn(async move { tx.send("kept".to_string()).await });
        subinterp::yield_now().await;
        drop(rx);
        let err = sender.await.unwrap().unwrap_err();
        assert_eq!(err.0, "kept");

        // Blocked receivers wake on close.
        let (tx, rx) = subinterp::local::unbounded::<u8>();
        let r1 = subinterp::spawn({
            let rx = rx.clone();
            async move { rx.recv().await }
        });
        let r2 = subinterp::spawn(async move { rx.recv().await });
        subinterp::yield_now().await;
        drop(tx);
        assert!(r1.await.unwrap().is_err());
        assert!(r2.await.unwrap().is_err());
    });
}

#[test]
fn cancelled_receive_loses_nothing() {
    on_interp(|| async {
        let (tx, rx) = subinterp::local::bounded::<u32>(1);
        let rx2 = rx.clone();
        // A receive that times out, then a value: the next receiver gets it.
        assert!(subinterp::timeout(Duration::from_millis(5), rx.recv())
            .await
            .is_err());
        let waiting = subinterp::spawn(async move { rx2.recv().await });
        subinterp::yield_now().await;
        tx.send(9).await.unwrap();
        assert_eq!(waiting.await.unwrap(), Ok(9));

        // A receive woken and then dropped passes the wake-up on.
        let (tx, rx) = subinterp::local::bounded::<u32>(1);
        let rx_b = rx.clone();
        let a = subinterp::spawn(async move {
            let _ = subinterp::timeout(Duration::from_millis(1), rx.recv()).await;
        });
        let b = subinterp::spawn(async move { rx_b.recv().await });
        subinterp::yield_now().await;
        a.await.unwrap();
        tx.send(5).await.unwrap();
        assert_eq!(b.await.unwrap(), Ok(5));

        // A cancelled send leaves nothing behind.
        let (tx, rx) = subinterp::local::bounded::<u32>(0);
        assert!(subinterp::timeout(Duration::from_millis(2), tx.send(1))
            .await
            .is_err());
        assert!(rx.try_recv().unwrap_err().is_empty());
    });
}

#[test]
fn works_under_another_single_threaded_executor() {
    let mut pool = futures::executor::LocalPool::new();
    let (tx, rx) = subinterp::local::bounded::<u32>(0);
    use futures::task::LocalSpawnExt;
    pool.spawner()
        .spawn_local(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        })
        .unwrap();
    let sum = pool.run_until(async move {
        let mut s = 0;
        while let Ok(v) = rx.recv().await {
            s += v;
        }
        s
    });
    assert_eq!(sum, 4950);
}

#[test]
fn local_wakes_take_the_local_path() {
    let interp = Interpreter::new().unwrap();
    interp
        .spawn(|| async {
            let (tx, rx) = subinterp::local::bounded::<u32>(1);
            let (back_tx, back_rx) = subinterp::local::bounded::<u32>(1);
            let echo = subinterp::spawn(async move {
                while let Ok(v) = rx.recv().await {
                    back_tx.send(v + 1).await.unwrap();
                }
            });
            for i in 0..10_000 {
                tx.send(i).await.unwrap();
                assert_eq!(back_rx.recv().await, Ok(i + 1));
            }
            drop(tx);
            echo.await.unwrap();
        })
        .join_blocking()
        .unwrap();
    let s = interp.stats();
    assert!(s.local_wakes >= 10_000, "{s}");
    assert!(s.remote_wakes <= 2, "{s}");
}
