//! Deadlock detection: `run`/`block_on` return `Err(Deadlock)` instead of
//! hanging. Every test runs under a watchdog, so a hang fails.

use std::sync::mpsc;
use std::time::Duration;
use subinterp::{Runtime, WaitGroup};

/// Runs `f` on a thread; fails the test if it does not finish in time.
fn watchdog<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("watchdog: hung instead of reporting a deadlock")
}

#[test]
fn main_waiting_on_a_channel_nobody_sends_on() {
    let err = watchdog(|| {
        subinterp::run(async {
            let (_tx, rx) = subinterp::bounded::<u8>(0);
            rx.recv().await
        })
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("all goroutines are asleep - deadlock!"),
        "{msg}"
    );
    assert_eq!(err.blocked_tasks(), 1);
}

#[test]
fn tasks_on_other_interpreters_waiting_on_each_other() {
    let err = watchdog(|| {
        let rt = Runtime::builder().interpreters(2).build().unwrap();
        rt.block_on(async {
            let rt = Runtime::current().unwrap();
            let (a_tx, a_rx) = subinterp::bounded::<u8>(0);
            let (b_tx, b_rx) = subinterp::bounded::<u8>(0);
            // Each waits to receive before it sends: a cycle.
            let t1 = rt.interpreter(0).spawn(move || async move {
                let v = a_rx.recv().await.unwrap();
                b_tx.send(v).await.unwrap();
            });
            let t2 = rt.interpreter(1).spawn(move || async move {
                let v = b_rx.recv().await.unwrap();
                a_tx.send(v).await.unwrap();
            });
            let _ = t1.await;
            let _ = t2.await;
        })
    })
    .unwrap_err();
    assert!(err.blocked_tasks() >= 3, "{err}");
    assert!(err.to_string().contains("subinterp-0"), "{err}");
}

#[test]
fn wait_group_never_done() {
    let err = watchdog(|| {
        subinterp::run(async {
            let wg = WaitGroup::new();
            wg.add(1);
            wg.wait().await;
        })
    });
    assert!(err.is_err());
}

#[test]
fn no_false_alarm_while_timers_or_compute_are_pending() {
    let out = watchdog(|| {
        subinterp::run(async {
            // Idle for longer than the grace period, but a timer is pending.
            subinterp::sleep(Duration::from_millis(300)).await;
            // A long compute job: the runtime is idle but work is in flight.
            subinterp::compute(|| std::thread::sleep(Duration::from_millis(300)))
                .await
                .unwrap();
            // A timer on another interpreter wakes us.
            let rt = Runtime::current().unwrap();
            let (tx, rx) = subinterp::bounded(0);
            rt.spawn(move || async move {
                subinterp::sleep(Duration::from_millis(300)).await;
                tx.send(7).await.unwrap();
            })
            .detach();
            rx.recv().await.unwrap()
        })
    });
    assert_eq!(out.unwrap(), 7);
}

#[test]
fn a_thread_that_keeps_sending_prevents_detection() {
    let out = watchdog(|| {
        let (tx, rx) = subinterp::bounded::<u32>(0);
        let feeder = std::thread::spawn(move || {
            for i in 0..10 {
                std::thread::sleep(Duration::from_millis(15));
                tx.send_blocking(i).unwrap();
            }
        });
        // A grace well above the feeder's period, so that a loaded machine
        // delaying the feeder cannot pass for a deadlock.
        let rt = Runtime::builder()
            .interpreters(1)
            .deadlock_grace(Duration::from_millis(500))
            .build()
            .unwrap();
        let sum = rt.block_on(async move {
            let mut sum = 0;
            while let Ok(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        feeder.join().unwrap();
        sum
    });
    assert_eq!(out.unwrap(), 45);
}

#[test]
fn a_slow_external_thread_needs_detection_off() {
    let out = watchdog(|| {
        let (tx, rx) = subinterp::bounded::<u32>(0);
        let feeder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            tx.send_blocking(1).unwrap();
        });
        let rt = Runtime::builder()
            .interpreters(1)
            .deadlock_detection(false)
            .build()
            .unwrap();
        let v = rt.block_on(async move { rx.recv().await.unwrap() });
        feeder.join().unwrap();
        v
    });
    assert_eq!(out.unwrap(), 1);
}
