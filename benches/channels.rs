//! Criterion micro-benchmarks of the channel workloads (BENCH.md), subinterp
//! and its peers in the same group so the report draws them side by side:
//! one group per workload × flavor, one function per channel implementation.
//!
//! Smaller counts than `examples/bench_table` (which runs the full workloads
//! and prints the ratio table); the workloads and peer adapters are the same
//! code, shared from `examples/bench_table/chan_peers.rs`.
//!
//! ```text
//! cargo bench --bench channels                  # everything (~5 min on 2 cores)
//! cargo bench --bench channels -- spsc/bounded0 # one group
//! ```

#[path = "../examples/bench_table/chan_peers.rs"]
mod chan_peers;
// The select workloads (and the report types their file names) are shared
// with bench_table's `select` and `select_async` groups.
#[allow(dead_code)]
#[path = "../examples/bench_table/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../examples/bench_table/select.rs"]
mod select;

use chan_peers::{for_each_peer, run, supports, Flavor, ForEachPeer, Peer, Workload};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use std::time::Duration;

/// Messages per iteration for the buffered flavors.
const MESSAGES: usize = 100_000;
/// Messages (round trips for ping-pong) per iteration for the handoff
/// flavors, where a parked thread costs microseconds per message.
const HANDOFF_MESSAGES: usize = 10_000;

struct BenchPeer<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
    workload: Workload,
    flavor: Flavor,
    messages: usize,
}

impl ForEachPeer for BenchPeer<'_, '_> {
    type Out = ();
    fn call<P: Peer>(&mut self) {
        let (workload, flavor, messages) = (self.workload, self.flavor, self.messages);
        if !supports::<P>(workload, flavor) {
            return;
        }
        self.group.bench_function(P::NAME, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run::<P>(workload, flavor, messages).expect("supported"))
                    .sum()
            })
        });
    }
}

fn channels(c: &mut Criterion) {
    for workload in [
        Workload::Seq,
        Workload::Spsc,
        Workload::Mpsc,
        Workload::Mpmc,
        Workload::PingPong,
    ] {
        for &flavor in workload.flavors() {
            let handoff = workload == Workload::PingPong
                || matches!(flavor, Flavor::Bounded0 | Flavor::Bounded1);
            let messages = if handoff { HANDOFF_MESSAGES } else { MESSAGES };
            let mut group = c.benchmark_group(format!("{}/{}", workload.name(), flavor.name()));
            group
                .throughput(Throughput::Elements(messages as u64))
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            for_each_peer(&mut BenchPeer {
                group: &mut group,
                workload,
                flavor,
                messages,
            });
            group.finish();
        }
    }
}

/// One select workload × flavor for one implementation.
struct BenchSelPeer<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
    workload: select::SelWorkload,
    flavor: Flavor,
    messages: usize,
}

impl select::ForEachSelPeer for BenchSelPeer<'_, '_> {
    type Out = ();
    fn call<P: select::SelPeer>(&mut self)
    where
        P::Tx: Sync,
        P::Rx: Sync,
    {
        let (workload, flavor, messages) = (self.workload, self.flavor, self.messages);
        // flume's Selector cannot run select_both (see select.rs).
        if select::run_select::<P>(workload, flavor, 1_000).is_none() {
            return;
        }
        self.group.bench_function(P::NAME, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        select::run_select::<P>(workload, flavor, messages).expect("supported")
                    })
                    .sum()
            })
        });
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, messages: usize) {
    group
        .throughput(Throughput::Elements(messages as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// select_rx and select_both: subinterp `select_blocking!`, crossbeam-channel
/// `select!` and flume `Selector` side by side; then the async select loop,
/// subinterp `select!` vs `tokio::select!` over tokio mpsc on one tokio
/// current_thread runtime.
fn selects(c: &mut Criterion) {
    for workload in select::SelWorkload::ALL {
        for flavor in Flavor::ALL {
            let handoff = matches!(flavor, Flavor::Bounded0 | Flavor::Bounded1);
            let messages = if handoff { HANDOFF_MESSAGES } else { MESSAGES };
            let mut group = c.benchmark_group(format!("{}/{}", workload.name(), flavor.name()));
            configure(&mut group, messages);
            select::for_each_sel_peer(&mut BenchSelPeer {
                group: &mut group,
                workload,
                flavor,
                messages,
            });
            group.finish();
        }
    }
    for flavor in Flavor::ALL {
        let handoff = matches!(flavor, Flavor::Bounded0 | Flavor::Bounded1);
        let messages = if handoff { HANDOFF_MESSAGES } else { MESSAGES };
        let mut group = c.benchmark_group(format!("select_async/{}", flavor.name()));
        configure(&mut group, messages);
        for (col, name) in select::ASYNC_COLUMNS.iter().enumerate() {
            if select::run_async(col, flavor, 1_000).is_none() {
                continue; // tokio mpsc has no capacity 0
            }
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| select::run_async(col, flavor, messages).expect("supported"))
                        .sum()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, channels, selects);
criterion_main!(benches);
