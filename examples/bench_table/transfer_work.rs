//! The transfer workloads shared by `bench_table`'s transfer group and
//! `examples/copy_vs_transfer.rs`: the two-interpreter ring, the `Rc` DAG,
//! the allocator tuning and the formatting helpers.
#![allow(dead_code)] // each includer uses its own subset

use std::rc::Rc;
use std::time::{Duration, Instant};
use subinterp::transfer::{self, DeepCopy, TransferStats};
use subinterp::Interpreter;

/// The sizes of BENCH.md's transfer workloads.
pub const SIZES: [usize; 4] = [64, 4 << 10, 1 << 20, 64 << 20];

/// glibc returns a freed buffer of 128 KiB or more to the kernel when its
/// heap top grows past a threshold, and a buffer freed by the *other* thread
/// (as every transferred copy is) defeats glibc's adaptive thresholds: each
/// 1 MiB copy then page-faults its way in afresh. This raises both
/// thresholds (`mallopt`), for `clone()` and for the transfers alike, so
/// that the table compares copying, not the kernel. `--default-malloc`
/// skips it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_malloc() -> bool {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only sets allocator parameters, with values glibc documents as valid
    // (a trim threshold of 1 GiB; an mmap threshold of 32 MiB, the maximum);
    // glibc serializes it with allocations.
    unsafe { mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_malloc() -> bool {
    false
}

/// The two sides of every ring.
pub struct Sides {
    pub left: Interpreter,
    pub right: Interpreter,
}

/// Runs `rounds` rounds of the ring: `make` builds the values on `left`,
/// whose task sends them to `right`'s, which sends each back. Returns the
/// cost per crossing and the transfers counted by the two channels.
pub fn ring<T: DeepCopy>(
    sides: &Sides,
    make: impl FnOnce() -> Vec<T> + Send + 'static,
    rounds: usize,
    copy: bool,
) -> (Duration, TransferStats) {
    let (to_tx, to_rx) = transfer::bounded::<T>(32);
    let (back_tx, back_rx) = transfer::bounded::<T>(32);
    let echo = sides.right.spawn(move || async move {
        while let Ok(v) = to_rx.recv().await {
            forward(&back_tx, v, copy).await;
        }
        back_tx.stats()
    });
    let driver = sides.left.spawn(move || async move {
        for v in make() {
            forward(&to_tx, v, copy).await;
        }
        let start = Instant::now();
        for _ in 0..rounds {
            let v = back_rx.recv().await.expect("the echo task runs");
            forward(&to_tx, v, copy).await;
        }
        let elapsed = start.elapsed();
        let stats = to_tx.stats();
        drop(to_tx); // ends the echo task's loop
        while back_rx.recv().await.is_ok() {}
        (elapsed, stats)
    });
    let (elapsed, to_stats) = driver.join_blocking().expect("driver task");
    let back_stats = echo.join_blocking().expect("echo task");
    (elapsed / (2 * rounds) as u32, to_stats + back_stats)
}

/// Sends `v` on: moved/shared/copied as its type says, or as a deep copy
/// (`send_copy`; `v` is then dropped here).
pub async fn forward<T: DeepCopy>(tx: &transfer::Sender<T>, v: T, copy: bool) {
    let sent = if copy {
        tx.send_copy(&v).await.is_ok()
    } else {
        tx.send(v).await.is_ok()
    };
    assert!(sent, "the ring is open while it runs");
}

/// A node of the DAG: a value and shared children.
#[derive(subinterp::Transfer)]
pub struct GNode {
    value: u64,
    children: Vec<Rc<GNode>>,
}

/// A layered DAG of `width × depth` nodes under one root; each node has two
/// children in the next layer, each shared by two parents.
pub fn dag(width: usize, depth: usize) -> Rc<GNode> {
    let mut layer: Vec<Rc<GNode>> = (0..width)
        .map(|i| {
            Rc::new(GNode {
                value: i as u64,
                children: vec![],
            })
        })
        .collect();
    for d in 1..depth {
        layer = (0..width)
            .map(|i| {
                Rc::new(GNode {
                    value: (d * width + i) as u64,
                    children: vec![Rc::clone(&layer[i]), Rc::clone(&layer[(i + 1) % width])],
                })
            })
            .collect();
    }
    Rc::new(GNode {
        value: u64::MAX,
        children: layer,
    })
}

pub fn fmt_size(s: usize) -> String {
    match s {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

pub fn gbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}
