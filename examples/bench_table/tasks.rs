//! Row group "tasks": BENCH.md's task workloads, subinterp against tokio
//! current_thread and multi_thread (2 workers), each with tokio::sync
//! channels and with kanal's async channels.

#[path = "task_peers.rs"]
#[macro_use]
mod task_peers;

use crate::report::{measure, progress, Cell, Class, Config, Group, Row, BEST_PEER};
use std::time::Duration;
use task_peers::*;

const GROUP: &str = "tasks";

const COLUMNS: [&str; 5] = [
    "subinterp",
    "tokio ct + tokio",
    "tokio ct + kanal",
    "tokio mt2 + tokio",
    "tokio mt2 + kanal",
];

/// The bars are per row against the best peer; the `ratio` column
/// shows that, and the `bar` column holds each row against tokio
/// current_thread + kanal, the fastest pairing on most rows here.
static HALF: Class = Class {
    name: "pingpong_local over local channels",
    description: "at most 0.5x the best peer",
    cell_max_vs_reference: 0.5,
    geomean_bars: &[(BEST_PEER, 0.5)],
};

static PAR: Class = Class {
    name: "at most the best peer",
    description: "each of pingpong_local over bounded, spawn_1m, skynet_1m, pipeline_3 on one \
                  interpreter",
    cell_max_vs_reference: 1.0,
    geomean_bars: &[(BEST_PEER, 1.0)],
};

/// A timed workload: `f(exec_column, n)` -> wall time of `n` operations.
fn row(
    cfg: &Config,
    rows: &mut Vec<Row>,
    name: &str,
    class: Option<&'static Class>,
    ops: usize,
    run: &dyn Fn(usize, usize) -> Option<Duration>,
) {
    if !cfg.wants(GROUP, name) {
        return;
    }
    let cells: Vec<Option<Cell>> = (0..COLUMNS.len())
        .map(|col| {
            let cell = measure(cfg, ops, |n| run(col, n));
            progress(cfg, &format!("{GROUP}/{name} {}", COLUMNS[col]), cell);
            cell
        })
        .collect();
    rows.push(Row {
        name: name.to_string(),
        class,
        cells,
    });
}

/// The memory probe runs in a fresh process per column, so that memory freed
/// by an earlier run (kept by the allocator) does not hide the growth.
const PROBE_ENV: &str = "SUBINTERP_BENCH_MEMORY_PROBE";

fn memory_in_child(col: usize, n: usize) -> Option<f64> {
    let out = std::process::Command::new(std::env::current_exe().ok()?)
        .args(["--quick", "--filter", "tasks/memory"])
        .env(PROBE_ENV, format!("{col} {n}"))
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// In a probe child: measure one column, print bytes per task, exit.
fn memory_probe(spec: &str) -> ! {
    let mut it = spec
        .split_whitespace()
        .map(|x| x.parse::<usize>().unwrap_or(0));
    let (col, n) = (it.next().unwrap_or(0), it.next().unwrap_or(1).max(1));
    let bytes = match col {
        0 => memory::<_, SubCh>(&SubExec::new(1), n),
        1 => memory::<_, TokioCh>(&TokioCt::new(1), n),
        2 => memory::<_, KanalCh>(&TokioCt::new(1), n),
        3 => memory::<_, TokioCh>(&TokioMt::new(1), n),
        _ => memory::<_, KanalCh>(&TokioMt::new(1), n),
    };
    println!("{bytes}");
    std::process::exit(0);
}

pub fn group(cfg: &Config) -> Group {
    if let Ok(spec) = std::env::var(PROBE_ENV) {
        memory_probe(&spec);
    }
    let q = |full: usize, quick: usize| if cfg.quick { quick } else { full };
    let mut rows = Vec::new();
    let rt = q(1_000_000, 100_000);
    row(
        cfg,
        &mut rows,
        "pingpong_local/bounded",
        Some(&PAR),
        rt,
        &|col, n| Some(by_column!(col, 1, |e, C| pingpong::<_, C>(&e, n, false))),
    );
    row(
        cfg,
        &mut rows,
        "pingpong_local/local",
        Some(&HALF),
        rt,
        &|col, n| {
            Some(if col == 0 {
                pingpong_local_channels(&SubExec::new(1), n)
            } else {
                by_column!(col, 1, |e, C| pingpong::<_, C>(&e, n, false))
            })
        },
    );
    row(
        cfg,
        &mut rows,
        "pingpong_cross",
        None,
        q(200_000, 20_000),
        &|col, n| {
            // A single-threaded runtime has no second thread to cross to.
            (col != 1 && col != 2).then(|| by_column!(col, 2, |e, C| pingpong::<_, C>(&e, n, true)))
        },
    );
    let spawn_n = q(1_000_000, 100_000);
    row(
        cfg,
        &mut rows,
        "spawn_1m",
        Some(&PAR),
        spawn_n,
        &|col, n| Some(by_column!(col, 1, |e, C| spawn_many::<_, C>(&e, n))),
    );
    row(
        cfg,
        &mut rows,
        "skynet_1m",
        Some(&PAR),
        q(1_000_000, 100_000),
        &|col, n| {
            // A power of ten of leaves, at most n.
            let leaves = 10usize.pow((n as f64).log10().floor() as u32).max(10);
            let t = by_column!(col, 1, |e, C| skynet::<_, C>(&e, leaves));
            Some(t.mul_f64(n as f64 / leaves as f64))
        },
    );
    row(
        cfg,
        &mut rows,
        "pipeline_3/one",
        Some(&PAR),
        q(1_000_000, 100_000),
        &|col, n| Some(by_column!(col, 1, |e, C| pipeline::<_, C>(&e, n, false))),
    );
    row(
        cfg,
        &mut rows,
        "pipeline_3/one/local",
        None,
        q(1_000_000, 100_000),
        &|col, n| {
            Some(if col == 0 {
                pipeline_local_channels(&SubExec::new(1), n)
            } else {
                by_column!(col, 1, |e, C| pipeline::<_, C>(&e, n, false))
            })
        },
    );
    row(
        cfg,
        &mut rows,
        "pipeline_3/three",
        None,
        q(1_000_000, 100_000),
        &|col, n| Some(by_column!(col, 3, |e, C| pipeline::<_, C>(&e, n, true))),
    );
    row(
        cfg,
        &mut rows,
        "ring",
        None,
        q(1_000_000, 100_000),
        &|col, n| Some(by_column!(col, 1, |e, C| ring::<_, C>(&e, 1000, n))),
    );
    if cfg.wants(GROUP, "memory") {
        let n = q(1_000_000, 200_000);
        let cells = (0..COLUMNS.len())
            .map(|col| {
                let cell = memory_in_child(col, n).map(|bytes| Cell {
                    ns: bytes,
                    reduced: false,
                });
                progress(
                    cfg,
                    &format!("{GROUP}/memory {} (bytes)", COLUMNS[col]),
                    cell,
                );
                cell
            })
            .collect();
        rows.push(Row {
            name: "memory (bytes per idle task)".into(),
            class: None,
            cells,
        });
    }
    Group {
        name: GROUP,
        title: "Task workloads".into(),
        notes: format!(
            "ns per operation: per round trip (pingpong), per task (spawn, skynet), per item \
             (pipeline), per hop (ring, 1000 tasks); the memory row is resident bytes per idle \
             task (VmRSS growth / tasks parked on one channel; bar: < 512 B). Counts: {rt} round \
             trips, {spawn_n} tasks. tokio ct = current_thread, mt2 = multi_thread with 2 \
             workers; pingpong_cross and pipeline_3/three put the tasks on different \
             interpreters (tokio mt2: wherever its scheduler puts them); the /local rows run \
             subinterp's tasks over `subinterp::local` channels (the peers as in the row \
             above). Median of {} run(s).",
            cfg.runs
        ),
        columns: COLUMNS.to_vec(),
        reference: Some("tokio ct + kanal"),
        unit: "ns",
        rows,
    }
}
