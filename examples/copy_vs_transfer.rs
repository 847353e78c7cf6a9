//! Copy against transfer: what it costs to send a value from one
//! subinterpreter to another by sharing, moving and deep-copying it, beside
//! `Vec<u8>::clone()` of the same bytes (a fresh allocation plus a memcpy:
//! the physical limit of a deep copy).
//!
//! ```text
//! cargo run --release --example copy_vs_transfer            # about 6 s
//! cargo run --release --example copy_vs_transfer -- --quick # about 2 s
//! cargo run --release --example copy_vs_transfer -- --default-malloc
//! ```
//!
//! Two interpreters, `left` and `right`, each run one task of every
//! workload: a *ring* where values circulate between the two tasks over two
//! transfer channels (the async API: `send`, `send_copy`, `recv`), so each
//! value crosses the boundary twice per round and the two interpreters work
//! in parallel. Share and move keep 32 values in flight; copies up to 4 MiB
//! of them (2 at 64 MiB: see `in_flight`), so that a row measures the
//! transfer rather than one interpreter waking the other. Values are made
//! on `left` (an `Rc` graph never leaves the interpreter that made it: only
//! its copies cross). A row reports the median over 3 runs (1 with
//! `--quick`) of the time per transfer (one crossing), and for copies the
//! GB/s and the ratio to `Vec<u8>::clone()`.
//!
//! | workload | value | each crossing |
//! |---|---|---|
//! | share_frozen | `Frozen<Vec<u8>>` | shared: a new handle to the same bytes |
//! | move_vec | `Vec<u8>` | moved: the same buffer changes hands |
//! | deep_copy_flat | `Rc<RefCell<Vec<u8>>>` | deep copy, rebuilt on the other side |
//! | send_copy | `Vec<u8>` sent with `send_copy(&v)` | deep copy, the sender keeps `v` |
//! | deep_copy_graph | `Rc` DAG of 10,000 nodes, 2 shared children each | deep copy keeping the sharing |
//!
//! The "one interpreter" rows pack and unpack on `left` without a handoff:
//! the cost of the copy itself, apart from the time the other interpreter
//! takes to wake up. Under the table: each interpreter's
//! [`InterpreterStats`](subinterp::InterpreterStats) (its `transfer` field
//! counts what was packed there, so `left` + `right` = the two channels of
//! every ring), what the transfer layer adds to a plain channel (an identity
//! pack/unpack and the counting), and the global statistics.

#[path = "bench_table/transfer_work.rs"]
mod transfer_work;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use subinterp::transfer::{self, Frozen, Packed, TransferStats};
use subinterp::Interpreter;
use transfer_work::*;

/// Values in flight in a copying ring of `size`-byte values: up to 32 (and 4 MiB),
/// so that a small row measures the transfer rather than one interpreter
/// waking the other (~17 µs on a 2-vCPU VM); 2 at 64 MiB.
fn in_flight(size: usize) -> usize {
    ((4 << 20) / size).clamp(2, 32)
}

/// Wall time of one measurement, per transfer.
type Cost = Duration;

fn median(mut xs: Vec<Cost>) -> Cost {
    xs.sort();
    xs[xs.len() / 2]
}

fn clone_time(size: usize, iters: usize) -> Cost {
    let v = vec![1u8; size];
    let start = Instant::now();
    for _ in 0..iters {
        let c = black_box(&v).clone();
        black_box(&c);
    }
    start.elapsed() / iters as u32
}

/// A deep copy on one thread: pack, unpack, drop (no handoff).
fn local_copy_time(size: usize, iters: usize) -> Cost {
    let v = Rc::new(RefCell::new(vec![1u8; size]));
    let start = Instant::now();
    for _ in 0..iters {
        black_box(Packed::copy(black_box(&v)).unpack());
    }
    start.elapsed() / iters as u32
}

struct Row {
    workload: &'static str,
    size: String,
    per: Cost,
    bytes: Option<usize>,
    clone: Option<Cost>,
    stats: TransferStats,
}

fn fmt_dur(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 10_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let tuned = !std::env::args().any(|a| a == "--default-malloc") && tune_malloc();
    let runs = if quick { 1 } else { 3 };
    // Rounds per timed run: enough for a stable time, few for 64 MiB.
    let budget: usize = if quick { 64 << 20 } else { 128 << 20 };
    let max_rounds = if quick { 2_000 } else { 4_000 };
    let global_before = transfer::global_stats();
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
    // Every ring's two channels, summed: left's and right's stats add up to it.
    let mut channels = TransferStats::default();
    let mut rows = Vec::new();
    // Deep copies packed by the one-interpreter rows (on left).
    let mut local_copies = 0u64;

    for &size in &SIZES {
        let rounds = (budget / size).clamp(3, max_rounds);
        let clone = median((0..runs).map(|_| clone_time(size, rounds * 2)).collect());
        let label = fmt_size(size);
        let mut push = |workload, per, bytes, stats| {
            rows.push(Row {
                workload,
                size: label.clone(),
                per,
                bytes,
                clone: Some(clone),
                stats,
            })
        };
        push(
            "Vec<u8>::clone()",
            clone,
            Some(size),
            TransferStats::default(),
        );

        let mut measure = |f: &dyn Fn() -> (Cost, TransferStats)| {
            let mut stats = TransferStats::default();
            let per = median(
                (0..runs)
                    .map(|_| {
                        let (d, s) = f();
                        stats += s;
                        d
                    })
                    .collect(),
            );
            channels += stats;
            (per, stats)
        };

        // Sharing and moving touch no bytes: 32 values in flight and the
        // full count of rounds at every size, over zeroed buffers (`calloc`:
        // untouched pages, so 32 × 64 MiB costs address space, not memory).
        let (per, st) = measure(&|| {
            let make = move || (0..32).map(|_| Frozen::from(vec![0u8; size])).collect();
            ring(&sides, make, max_rounds, false)
        });
        push("share_frozen", per, None, st);

        let (per, st) = measure(&|| {
            let make = move || (0..32).map(|_| vec![0u8; size]).collect();
            ring::<Vec<u8>>(&sides, make, max_rounds, false)
        });
        push("move_vec", per, None, st);

        let (per, st) = measure(&|| {
            let make = move || {
                (0..in_flight(size))
                    .map(|_| Rc::new(RefCell::new(vec![1u8; size])))
                    .collect()
            };
            ring::<Rc<RefCell<Vec<u8>>>>(&sides, make, rounds, false)
        });
        push("deep_copy_flat", per, Some(size), st);

        let (per, st) = measure(&|| {
            let make = move || (0..in_flight(size)).map(|_| vec![1u8; size]).collect();
            ring::<Vec<u8>>(&sides, make, rounds, true)
        });
        push("send_copy", per, Some(size), st);

        let per = median(
            (0..runs)
                .map(|_| {
                    let iters = rounds * 2;
                    local_copies += iters as u64;
                    sides
                        .left
                        .call(move || local_copy_time(size, iters))
                        .unwrap()
                })
                .collect(),
        );
        push(
            "deep_copy_flat, one interpreter (pack + unpack)",
            per,
            Some(size),
            TransferStats::default(),
        );
    }

    // The graph: a root over 100 layers of 100 nodes.
    let graph_rounds = if quick { 50 } else { 40 };
    let mut stats = TransferStats::default();
    let per = median(
        (0..runs)
            .map(|_| {
                let make = || (0..2).map(|_| dag(100, 100)).collect();
                let (d, s) = ring::<Rc<GNode>>(&sides, make, graph_rounds, false);
                stats += s;
                channels += s;
                d
            })
            .collect(),
    );
    rows.push(Row {
        workload: "deep_copy_graph",
        size: "10,001 nodes".into(),
        per,
        bytes: None,
        clone: None,
        stats,
    });
    // The same graph on one interpreter: pack, unpack, drop the copy.
    let iters: u32 = if quick { 20 } else { 50 };
    local_copies += u64::from(iters);
    let per = sides
        .left
        .call(move || {
            let g = dag(100, 100);
            let start = Instant::now();
            for _ in 0..iters {
                black_box(Packed::copy(&g).unpack());
            }
            start.elapsed() / iters
        })
        .unwrap();
    rows.push(Row {
        workload: "deep_copy_graph, one interpreter (pack + unpack)",
        size: "10,001 nodes".into(),
        per,
        bytes: None,
        clone: None,
        stats: TransferStats::default(),
    });

    println!(
        "| workload | size | time/transfer | GB/s | ratio to clone | shared | moved | copied | bytes copied |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let (gb, ratio) = match (r.bytes, r.clone) {
            (Some(b), Some(c)) => {
                let g = gbps(b, r.per);
                (format!("{g:.2}"), format!("{:.2}×", g / gbps(b, c)))
            }
            _ => ("—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            r.size,
            fmt_dur(r.per),
            gb,
            ratio,
            r.stats.shared,
            r.stats.moved,
            r.stats.copied,
            r.stats.bytes_copied
        );
    }
    println!(
        "\nratio to clone: GB/s relative to Vec<u8>::clone() of the same bytes. Transfers cross \
         between two interpreters, 32 values in flight for share and move, up to 4 MiB of them for copies (2 at 64 MiB), {runs} run(s), median. \
         malloc thresholds raised: {tuned}."
    );

    // What the transfer layer adds (identity pack/unpack of a Vec + counting):
    // a 64-byte Vec through a plain channel and through a transfer channel, on
    // one thread so that no handoff hides it.
    let n = if quick { 1_000_000 } else { 3_000_000 };
    let plain = || {
        let (tx, rx) = subinterp::unbounded::<Vec<u8>>();
        let mut v = vec![0u8; 64];
        let start = Instant::now();
        for _ in 0..n {
            tx.try_send(v).unwrap();
            v = rx.try_recv().unwrap();
        }
        start.elapsed().as_nanos() as f64 / n as f64
    };
    let counted = || {
        let (tx, rx) = transfer::unbounded::<Vec<u8>>();
        let mut v = vec![0u8; 64];
        let start = Instant::now();
        for _ in 0..n {
            tx.try_send(v).unwrap();
            v = rx.try_recv().unwrap();
        }
        start.elapsed().as_nanos() as f64 / n as f64
    };
    let mut p = Vec::new();
    let mut c = Vec::new();
    for _ in 0..5 {
        p.push(plain());
        c.push(counted());
    }
    p.sort_by(f64::total_cmp);
    c.sort_by(f64::total_cmp);
    let (p, c) = (p[2], c[2]);
    let move_64 = rows
        .iter()
        .find(|r| r.workload == "move_vec")
        .map_or(f64::NAN, |r| r.per.as_nanos() as f64);
    println!();
    println!(
        "transfer layer cost, 64 B Vec<u8> try_send + try_recv on one thread: plain channel \
         {p:.1} ns, transfer channel {c:.1} ns (+{:.1} ns, {:.2}% of a 64 B move_vec crossing \
         between interpreters, {move_64:.0} ns)",
        c - p,
        (c - p) / move_64 * 100.0
    );
    // Each interpreter counts what was packed on it: left sends the values
    // out, right sends them back, and the one-interpreter rows pack on left.
    let (left, right) = (sides.left.stats(), sides.right.stats());
    println!();
    for (name, s) in [("left", &left), ("right", &right)] {
        println!("interpreter {name}: {s}");
    }
    let extra = left.transfer + right.transfer - channels;
    println!(
        "left + right = the rings' channels ({} transfers) + the one-interpreter rows' {} \
         deep copies: {}",
        channels.transfers(),
        local_copies,
        if extra.transfers() == local_copies && extra.copied == local_copies {
            "adds up"
        } else {
            "MISMATCH"
        }
    );
    let g = transfer::global_stats() - global_before;
    println!(
        "global stats of this run: shared {}, moved {}, copied {}, bytes copied {}",
        g.shared, g.moved, g.copied, g.bytes_copied
    );
}
