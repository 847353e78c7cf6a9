//! Criterion micro-benchmarks of the task workloads (BENCH.md), subinterp
//! beside tokio current_thread and multi_thread (2 workers), each with
//! tokio::sync channels and kanal's async channels, in one group per
//! workload. Sizes are smaller than bench_table's; the shapes are the same.
//!
//! `cargo bench --bench tasks`

#[path = "../examples/bench_table/task_peers.rs"]
#[macro_use]
mod task_peers;

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use task_peers::*;

const ROUND_TRIPS: usize = 20_000;
const SPAWNS: usize = 100_000;
const LEAVES: usize = 100_000;
const ITEMS: usize = 100_000;
const HOPS: usize = 100_000;

/// Registers one workload for every column; `run(column, iters)` returns the
/// total time of `iters` repetitions.
fn bench(c: &mut Criterion, name: &str, run: impl Fn(usize, u64) -> Option<Duration>) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    for (col, title) in [
        "subinterp",
        "tokio_ct+tokio",
        "tokio_ct+kanal",
        "tokio_mt2+tokio",
        "tokio_mt2+kanal",
    ]
    .iter()
    .enumerate()
    {
        // A single-threaded runtime has no second thread for the cross rows.
        if name.contains("cross") && (col == 1 || col == 2) {
            continue;
        }
        g.bench_function(*title, |b| {
            b.iter_custom(|iters| run(col, iters).expect("available"))
        });
    }
    g.finish();
}

fn repeat(iters: u64, mut f: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| f()).sum()
}

fn tasks(c: &mut Criterion) {
    bench(c, "pingpong_local_bounded", |col, it| {
        Some(by_column!(col, 1, |e, C| repeat(it, || pingpong::<_, C>(
            &e,
            ROUND_TRIPS,
            false
        ))))
    });
    bench(c, "pingpong_local_local", |col, it| {
        Some(if col == 0 {
            let e = SubExec::new(1);
            repeat(it, || pingpong_local_channels(&e, ROUND_TRIPS))
        } else {
            by_column!(col, 1, |e, C| repeat(it, || pingpong::<_, C>(
                &e,
                ROUND_TRIPS,
                false
            )))
        })
    });
    bench(c, "pingpong_cross", |col, it| {
        (col != 1 && col != 2).then(|| {
            by_column!(col, 2, |e, C| repeat(it, || pingpong::<_, C>(
                &e,
                ROUND_TRIPS / 10,
                true
            )))
        })
    });
    bench(c, "spawn_1m", |col, it| {
        Some(by_column!(col, 1, |e, C| repeat(
            it,
            || spawn_many::<_, C>(&e, SPAWNS)
        )))
    });
    bench(c, "skynet_1m", |col, it| {
        Some(by_column!(col, 1, |e, C| repeat(it, || skynet::<_, C>(
            &e, LEAVES
        ))))
    });
    bench(c, "pipeline_3_one", |col, it| {
        Some(by_column!(col, 1, |e, C| repeat(it, || pipeline::<_, C>(
            &e, ITEMS, false
        ))))
    });
    bench(c, "pipeline_3_three", |col, it| {
        Some(by_column!(col, 3, |e, C| repeat(it, || pipeline::<_, C>(
            &e, ITEMS, true
        ))))
    });
    bench(c, "ring", |col, it| {
        Some(by_column!(col, 1, |e, C| repeat(it, || ring::<_, C>(
            &e, 1000, HOPS
        ))))
    });
    // Memory per idle task, printed (criterion times the spawning).
    let n = 200_000;
    let bytes = [
        ("subinterp", memory::<_, SubCh>(&SubExec::new(1), n)),
        ("tokio_ct+tokio", memory::<_, TokioCh>(&TokioCt::new(1), n)),
        ("tokio_ct+kanal", memory::<_, KanalCh>(&TokioCt::new(1), n)),
    ];
    for (name, b) in bytes {
        println!("memory/{name}: {b:.0} resident bytes per idle task ({n} tasks)");
    }
}

criterion_group!(benches, tasks);
criterion_main!(benches);
