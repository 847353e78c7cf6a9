//! Copy against transfer (BENCH.md, transfer workloads), with criterion.
//!
//! One group, `transfer`, with the size as the parameter, so that the report
//! draws time against size for each mode, beside `Vec<u8>::clone()` of the
//! same bytes (a fresh allocation plus a memcpy). Throughput is in bytes, so
//! criterion prints GB/s for each row.
//!
//! Each transfer workload runs a ring: two values circulate between the
//! bench thread and an echo thread over two transfer channels; one iteration
//! is one crossing. `examples/copy_vs_transfer.rs` prints the same rows as a
//! table with the ratio to `clone()`.

#[path = "../examples/bench_table/transfer_work.rs"]
mod transfer_work;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use subinterp::transfer::{self, DeepCopy, Frozen};
use transfer_work::{dag, SIZES};

const IN_FLIGHT: usize = 2;

/// Sends `v` on, as its type says or as a deep copy.
fn forward<T: DeepCopy>(tx: &transfer::Sender<T>, v: T, copy: bool) {
    if copy {
        tx.send_copy_blocking(&v).unwrap();
    } else if tx.send_blocking(v).is_err() {
        unreachable!("the ring is open while it runs");
    }
}

/// `crossings` crossings of a ring of `values`; returns the time they took.
fn ring<T: DeepCopy>(values: Vec<T>, crossings: u64, copy: bool) -> Duration {
    let rounds = crossings.div_ceil(2).max(1);
    let (to_tx, to_rx) = transfer::bounded::<T>(values.len());
    let (back_tx, back_rx) = transfer::bounded::<T>(values.len());
    let echo = thread::spawn(move || {
        for v in to_rx.iter() {
            forward(&back_tx, v, copy);
        }
    });
    for v in values {
        forward(&to_tx, v, copy);
    }
    let start = Instant::now();
    for _ in 0..rounds {
        let v = back_rx.recv_blocking().unwrap();
        forward(&to_tx, v, copy);
    }
    let elapsed = start.elapsed();
    drop(to_tx);
    while back_rx.recv_blocking().is_ok() {}
    echo.join().unwrap();
    // Per crossing: two per round.
    elapsed * crossings as u32 / (2 * rounds) as u32
}

/// Raises glibc's trim and mmap thresholds, for `clone()` and the transfers
/// alike: otherwise each buffer freed by the other thread (as every
/// transferred copy is) goes back to the kernel and the next copy
/// page-faults it in again. See `examples/copy_vs_transfer.rs`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only sets allocator parameters (thread-safe in glibc),
    // with values glibc documents as valid: a 1 GiB trim threshold and the
    // maximum mmap threshold, 32 MiB.
    unsafe {
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn transfer_by_size(c: &mut Criterion) {
    tune_malloc();
    let mut group = c.benchmark_group("transfer");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("clone", size), &size, |b, &size| {
            let v = vec![1u8; size];
            b.iter(|| black_box(black_box(&v).clone()));
        });
        group.bench_with_input(BenchmarkId::new("share_frozen", size), &size, |b, &size| {
            b.iter_custom(|n| {
                let values = (0..IN_FLIGHT).map(|_| Frozen::from(vec![1u8; size]));
                ring(values.collect(), n, false)
            });
        });
        group.bench_with_input(BenchmarkId::new("move_vec", size), &size, |b, &size| {
            b.iter_custom(|n| ring((0..IN_FLIGHT).map(|_| vec![1u8; size]).collect(), n, false));
        });
        group.bench_with_input(
            BenchmarkId::new("deep_copy_flat", size),
            &size,
            |b, &size| {
                b.iter_custom(|n| {
                    let values = (0..IN_FLIGHT).map(|_| Rc::new(RefCell::new(vec![1u8; size])));
                    ring(values.collect(), n, false)
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("send_copy", size), &size, |b, &size| {
            b.iter_custom(|n| ring((0..IN_FLIGHT).map(|_| vec![1u8; size]).collect(), n, true));
        });
    }
    group.finish();
}

fn graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("transfer_graph");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let nodes = 100 * 100;
    group.throughput(Throughput::Elements(nodes as u64));
    group.bench_with_input(
        BenchmarkId::new("deep_copy_graph", nodes),
        &nodes,
        |b, _| {
            b.iter_custom(|n| ring((0..IN_FLIGHT).map(|_| dag(100, 100)).collect(), n, false));
        },
    );
    group.finish();
}

criterion_group!(benches, transfer_by_size, graph);
criterion_main!(benches);
