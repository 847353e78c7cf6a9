//! Row group "transfer": BENCH.md's transfer workloads (copy against
//! transfer) across two interpreters, beside `Vec<u8>::clone()` of the same
//! bytes measured in the same run (a fresh allocation plus a memcpy: the
//! physical limit of a deep copy).
//!
//! Each workload is a ring: values made on interpreter `left` circulate
//! between a task on `left` and a task on `right` over two transfer
//! channels (async `send`/`send_copy`/`recv`); one row is the time per
//! crossing. Up to 32 values are in flight, so that a row measures the
//! transfer rather than one interpreter waking the other (a wake costs
//! ~17 µs on these machines): share_frozen and move_vec keep 32 at every
//! size (zeroed, untouched buffers), the copies keep up to 4 MiB (2 at
//! 64 MiB).
//!
//! The bars (BENCH.md, issue 5): share_frozen ≈ move_vec at 64 B and 64 MiB;
//! deep_copy_flat ≥ 0.8× the GB/s of `Vec<u8>::clone()` at 1 MiB and 64 MiB
//! (the `bar` column: time ≤ 1.25× clone's); deep_copy_graph < 1 ms.

#[path = "transfer_work.rs"]
mod transfer_work;

use crate::report::{progress, Cell, Class, Config, Group, Row};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};
use subinterp::transfer::{Frozen, Packed};
use subinterp::Interpreter;
use transfer_work::*;

const GROUP: &str = "transfer";
const CLONE: &str = "Vec<u8>::clone()";
const WORKLOADS: [&str; 4] = ["share_frozen", "move_vec", "deep_copy_flat", "send_copy"];
/// share_frozen and move_vec run this many times `max_rounds` rounds.
const O1_ROUNDS_PER_MAX: usize = 25;
const GRAPH_ROW: &str = "deep_copy_graph/10,001 nodes";

static COPY_BAR: Class = Class {
    name: "deep_copy_flat vs clone",
    description: "deep_copy_flat at 1 MiB and 64 MiB: at least 0.8x the GB/s of \
                  Vec<u8>::clone() of the same bytes, i.e. at most 1.25x its time",
    cell_max_vs_reference: 1.25,
    geomean_bars: &[(CLONE, 1.25)],
};

fn clone_time(size: usize, iters: usize) -> Duration {
    let v = vec![1u8; size];
    let start = Instant::now();
    for _ in 0..iters {
        black_box(black_box(&v).clone());
    }
    start.elapsed() / iters as u32
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn cell(d: Duration) -> Option<Cell> {
    Some(Cell {
        ns: d.as_nanos() as f64,
        reduced: false,
    })
}

fn fmt_time(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// One timed ring of `workload` at `size`: the time per crossing.
fn one_run(
    sides: &Sides,
    workload: &str,
    size: usize,
    rounds: usize,
    in_flight: usize,
) -> Duration {
    match workload {
        // The buffers are zeroed (`calloc`: untouched pages) and never read,
        // so 32 in flight at 64 MiB cost address space, not memory.
        "share_frozen" => {
            let make = move || {
                (0..in_flight)
                    .map(|_| Frozen::from(vec![0u8; size]))
                    .collect()
            };
            ring::<Frozen<Vec<u8>>>(sides, make, rounds, false).0
        }
        "move_vec" => {
            let make = move || (0..in_flight).map(|_| vec![0u8; size]).collect();
            ring::<Vec<u8>>(sides, make, rounds, false).0
        }
        "deep_copy_flat" => {
            let make = move || {
                (0..in_flight)
                    .map(|_| Rc::new(RefCell::new(vec![1u8; size])))
                    .collect()
            };
            ring::<Rc<RefCell<Vec<u8>>>>(sides, make, rounds, false).0
        }
        _ => {
            let make = move || (0..in_flight).map(|_| vec![1u8; size]).collect();
            ring::<Vec<u8>>(sides, make, rounds, true).0
        }
    }
}

pub fn group(cfg: &Config) -> Group {
    let any_row = SIZES.iter().any(|&s| {
        WORKLOADS
            .iter()
            .any(|w| cfg.wants(GROUP, &format!("{w}/{}", fmt_size(s))))
    }) || cfg.wants(GROUP, GRAPH_ROW);
    if !any_row {
        return Group {
            name: GROUP,
            title: String::new(),
            notes: String::new(),
            columns: vec!["subinterp", CLONE],
            reference: Some(CLONE),
            unit: "ns",
            rows: Vec::new(),
        };
    }
    // glibc returns a freed buffer of 128 KiB or more to the kernel when its
    // heap top grows past a threshold, and a buffer freed by the *other*
    // interpreter's thread (as every transferred copy is) defeats glibc's
    // adaptive thresholds: each 1 MiB copy then page-faults its way in afresh.
    // This group raises both thresholds (`mallopt`) before it measures, for
    // `clone()` and the transfers alike, so that the rows compare copying, not
    // the kernel (as `examples/copy_vs_transfer.rs` does). It runs last, so the
    // other groups keep glibc's defaults. The environment variable
    // `SUBINTERP_BENCH_DEFAULT_MALLOC` (any value) skips it.
    let tuned = std::env::var_os("SUBINTERP_BENCH_DEFAULT_MALLOC").is_none() && tune_malloc();
    let sides = Sides {
        left: Interpreter::builder()
            .name("left")
            .build()
            .expect("start left"),
        right: Interpreter::builder()
            .name("right")
            .build()
            .expect("start right"),
    };
    // Bytes crossing per timed run, and the cap on rounds: a 64 MiB row
    // runs a few rounds, a 64 B row a few thousand.
    let (budget, max_rounds) = if cfg.quick {
        (128usize << 20, 2_000)
    } else {
        (256 << 20, 4_000)
    };
    let runs = cfg.runs;
    let (o1_runs, o1_rounds) = (runs.max(5), O1_ROUNDS_PER_MAX * max_rounds);
    let mut rows = Vec::new();
    let mut details = String::new();
    let _ = writeln!(
        details,
        "| workload | size | ns/transfer | GB/s | clone GB/s | ratio to clone (GB/s) |\n\
         |---|---|---:|---:|---:|---:|"
    );
    // (workload, size) -> time, for the bars.
    let mut times: Vec<(&str, usize, Duration)> = Vec::new();

    for &size in &SIZES {
        let rounds = (budget / size).clamp(3, max_rounds);
        let in_flight = ((4 << 20) / size).clamp(2, 32);
        let label = fmt_size(size);
        let wanted: Vec<&str> = WORKLOADS
            .into_iter()
            .filter(|w| cfg.wants(GROUP, &format!("{w}/{label}")))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        clone_time(size, 3); // warm-up
        let clone = median((0..runs).map(|_| clone_time(size, rounds)).collect());
        // Sharing and moving copy no bytes: they run the same, larger count
        // of rounds at every size (tens of milliseconds a run, so that a
        // scheduler hiccup is a small part of it), and more runs, taken in
        // turns (share, move, share, ...): their bar compares the two rows,
        // and a machine that drifts between them must not decide it.
        let o1: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| matches!(*w, "share_frozen" | "move_vec"))
            .collect();
        let mut o1_times: Vec<Vec<Duration>> = vec![Vec::new(); o1.len()];
        for round in 0..=o1_runs {
            for (i, &w) in o1.iter().enumerate() {
                let t = one_run(&sides, w, size, o1_rounds, 32);
                // The first round is untimed: the first buffers of a size
                // page-fault their way in.
                if round > 0 {
                    o1_times[i].push(t);
                }
            }
        }
        for workload in wanted {
            let t = match o1.iter().position(|&w| w == workload) {
                Some(i) => median(std::mem::take(&mut o1_times[i])),
                None => {
                    // One untimed run first, as above (and `--quick` times
                    // a single run).
                    one_run(&sides, workload, size, rounds, in_flight);
                    median(
                        (0..runs)
                            .map(|_| one_run(&sides, workload, size, rounds, in_flight))
                            .collect(),
                    )
                }
            };
            let name = format!("{workload}/{label}");
            let copies = matches!(workload, "deep_copy_flat" | "send_copy");
            let class = (workload == "deep_copy_flat" && size >= 1 << 20).then_some(&COPY_BAR);
            let row = Row {
                name: name.clone(),
                class,
                cells: vec![cell(t), cell(clone)],
            };
            progress(cfg, &format!("{GROUP}/{name}"), row.cells[0]);
            rows.push(row);
            times.push((workload, size, t));
            let (gb, cgb) = (gbps(size, t), gbps(size, clone));
            let _ = writeln!(
                details,
                "| {workload} | {label} | {} | {} | {cgb:.2} | {} |",
                fmt_time(t),
                if copies {
                    format!("{gb:.2}")
                } else {
                    "–".into()
                },
                if copies {
                    format!("{:.2}x", gb / cgb)
                } else {
                    "–".into()
                },
            );
        }
    }

    let mut graph = None;
    if cfg.wants(GROUP, GRAPH_ROW) {
        let rounds = if cfg.quick { 20 } else { 50 };
        let t = median(
            (0..runs)
                .map(|_| {
                    let make = || (0..2).map(|_| dag(100, 100)).collect();
                    ring::<Rc<GNode>>(&sides, make, rounds, false).0
                })
                .collect(),
        );
        // The same copy on one interpreter, split: pack, unpack, drop.
        let iters: u32 = if cfg.quick { 10 } else { 30 };
        let split = sides
            .left
            .call(move || {
                let g = dag(100, 100);
                let (mut pack, mut unpack, mut drop_) =
                    (Duration::ZERO, Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let p = Packed::copy(&g);
                    let t1 = Instant::now();
                    let copy = p.unpack();
                    let t2 = Instant::now();
                    drop(black_box(copy));
                    let t3 = Instant::now();
                    pack += t1 - t0;
                    unpack += t2 - t1;
                    drop_ += t3 - t2;
                }
                (pack / iters, unpack / iters, drop_ / iters)
            })
            .expect("graph split");
        let row = Row {
            name: GRAPH_ROW.into(),
            class: None,
            cells: vec![cell(t), None],
        };
        progress(cfg, &format!("{GROUP}/{}", row.name), row.cells[0]);
        rows.push(row);
        let _ = writeln!(
            details,
            "| deep_copy_graph | 10,001 nodes | {} | – | – | – |",
            fmt_time(t)
        );
        graph = Some((t, split));
    }

    // The bars that are not "ours against a column".
    let find = |w: &str, s: usize| times.iter().find(|x| x.0 == w && x.1 == s).map(|x| x.2);
    let mut bars = String::new();
    for size in [64, 64 << 20] {
        if let (Some(s), Some(m)) = (find("share_frozen", size), find("move_vec", size)) {
            let r = s.as_secs_f64() / m.as_secs_f64();
            // Both are O(1); "the same within noise": within 1.5x either way
            // (a wake between interpreters varies by more than that alone).
            let ok = (1.0 / 1.5..=1.5).contains(&r);
            let _ = writeln!(
                bars,
                "- share_frozen ≈ move_vec at {}: {} vs {} ({r:.2}x): {}",
                fmt_size(size),
                fmt_time(s),
                fmt_time(m),
                if ok { "met" } else { "**MISSED**" }
            );
        }
    }
    for size in [1 << 20, 64 << 20] {
        if let (Some(d), Some(row)) = (
            find("deep_copy_flat", size),
            rows.iter()
                .find(|r| r.name == format!("deep_copy_flat/{}", fmt_size(size))),
        ) {
            let clone = Duration::from_nanos(row.cells[1].map_or(0.0, |c| c.ns) as u64);
            let r = gbps(size, d) / gbps(size, clone);
            let _ = writeln!(
                bars,
                "- deep_copy_flat ≥ 0.8x clone GB/s at {}: {r:.2}x: {}",
                fmt_size(size),
                if r >= 0.8 { "met" } else { "**MISSED**" }
            );
        }
    }
    if let Some((t, (pack, unpack, drop_))) = graph {
        let _ =
            writeln!(
            bars,
            "- deep_copy_graph < 1 ms: {}: {} (one interpreter, no handoff: pack {}, unpack {}, \
             drop of the copy {})",
            fmt_time(t),
            if t < Duration::from_millis(1) { "met" } else { "**MISSED**" },
            fmt_time(pack),
            fmt_time(unpack),
            fmt_time(drop_),
        );
    }

    Group {
        name: GROUP,
        title: "Transfer workloads: copy against transfer, across two interpreters".into(),
        notes: format!(
            "A task on interpreter `left` and one on `right` pass values over two transfer \
             channels (async API); ns per crossing, median of {runs} run(s); share_frozen and \
             move_vec: median of {o1_runs} runs of {o1_rounds} round trips, the two taken in \
             turns. The clone column is `Vec<u8>::clone()` of the same bytes, from this run; \
             `ratio` = our time / clone's (below 1.0 for share and move: no bytes are copied). \
             32 values in flight for share and move, up to 4 MiB of them for copies (2 at 64 MiB). deep_copy_graph: an Rc DAG of 100 layers × 100 nodes (each child \
             shared by two parents) under one root. malloc thresholds raised (see \
             `tune_malloc`): {tuned}.\n\n{details}\n**Bars**\n\n{bars}"
        ),
        columns: vec!["subinterp", CLONE],
        reference: Some(CLONE),
        unit: "ns",
        rows,
    }
}
