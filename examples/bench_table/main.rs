//! The comparison harness of BENCH.md: full workloads, subinterp beside its
//! peers in one process, printed as Markdown with ratio columns.
//!
//! ```text
//! cargo run --release --example bench_table                   # full, under 10 min on 2 cores
//! cargo run --release --example bench_table -- --quick        # same shape, under 60 s
//! cargo run --release --example bench_table -- --filter spsc  # rows whose group/row contains "spsc"
//! ```
//!
//! Progress goes to stderr, the report to stdout.
//!
//! Each row group lives in its own file and is one function
//! `fn group(&Config) -> Group` (see `channels.rs`); `report.rs` times cells
//! and prints tables, geometric means and bars. To add a group (select_rx and
//! select_both, the task workloads, the transfer workloads), write its file
//! and add it to `GROUPS` below.

mod chan_peers;
mod channels;
mod report;
mod select;
mod tasks;
mod transfer;

use report::{Config, Group};

/// The row groups, in report order.
const GROUPS: &[fn(&Config) -> Group] = &[
    channels::group,
    tasks::group,
    select::group,
    select::async_group,
    transfer::group,
];

fn main() {
    let cfg = match Config::from_args() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let groups: Vec<Group> = GROUPS.iter().map(|g| g(&cfg)).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "## subinterp bench_table{}\n\n{cores} CPUs available; every figure beside its peers' \
         from this same run. Ratio = subinterp / best peer (below 1.0: subinterp is faster).\n",
        if cfg.quick { " (--quick)" } else { "" }
    );
    for g in groups.iter().filter(|g| !g.rows.is_empty()) {
        println!("{}", g.markdown());
    }
    eprintln!("done in {:.1} s", cfg.started.elapsed().as_secs_f64());
}
