//! A log-processing pipeline across subinterpreters: generate -> parse (two
//! interpreters) -> aggregate, connected by bounded channels of batches.
//!
//! Each stage is a task on its own interpreter; the parsers keep their own
//! interpreter-local state (`subinterp::state`), and the aggregator folds the
//! parsed records into per-service statistics. At the end it prints the
//! throughput and every interpreter's counters.
//!
//! `cargo run --release --example pipeline [lines]`

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Instant;
use subinterp::{bounded, Runtime};

const BATCH: usize = 512;
const SERVICES: [&str; 5] = ["api", "auth", "billing", "search", "storage"];
const PATHS: [&str; 4] = ["/users", "/orders", "/items", "/health"];

/// One parsed log line.
struct Record {
    service: &'static str,
    status: u16,
    latency_ms: u32,
}

/// Per-service aggregate.
#[derive(Default)]
struct Agg {
    requests: u64,
    errors: u64,
    latency: Vec<u32>,
}

/// A parser interpreter's own counters (one instance per interpreter).
#[derive(Default)]
struct ParserState {
    lines: Cell<u64>,
    bad: Cell<u64>,
}

/// A deterministic generator of log lines (xorshift).
fn line(i: u64, rng: &mut u64, out: &mut String) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = *rng;
    let service = SERVICES[(r % 5) as usize];
    let path = PATHS[((r >> 8) % 4) as usize];
    let status = match (r >> 16) % 100 {
        0..=1 => 500,
        2..=4 => 404,
        _ => 200,
    };
    let latency = 1 + (r >> 24) % 250;
    let level = if status >= 500 { "ERROR" } else { "INFO" };
    use std::fmt::Write;
    let _ = write!(
        out,
        "2026-11-25T20:{:02}:{:02}Z {level} service={service} method=GET path={path}/{} \
         status={status} latency_ms={latency}",
        (i / 60) % 60,
        i % 60,
        r % 10_000
    );
}

fn parse(line: &str) -> Option<Record> {
    let mut service = None;
    let mut status = None;
    let mut latency = None;
    for field in line.split(' ').skip(2) {
        let (k, v) = field.split_once('=')?;
        match k {
            "service" => service = SERVICES.iter().find(|s| **s == v).copied(),
            "status" => status = v.parse().ok(),
            "latency_ms" => latency = v.parse().ok(),
            _ => {}
        }
    }
    Some(Record {
        service: service?,
        status: status?,
        latency_ms: latency?,
    })
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let lines: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let rt = Runtime::builder()
        .interpreters(4)
        .name_prefix("stage")
        .build()
        .expect("start the interpreters");
    let roles = ["generate", "parse", "parse", "aggregate"];

    let start = Instant::now();
    let (raw_tx, raw_rx) = bounded::<Vec<String>>(16);
    let (rec_tx, rec_rx) = bounded::<Vec<Record>>(16);

    // Stage 1: generate the corpus, in batches.
    let generator = rt.interpreter(0).spawn(move || async move {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = 0u64;
        let mut i = 0;
        while i < lines {
            let n = BATCH.min((lines - i) as usize);
            let mut batch = Vec::with_capacity(n);
            for _ in 0..n {
                let mut s = String::with_capacity(112);
                line(i, &mut rng, &mut s);
                bytes += s.len() as u64 + 1;
                batch.push(s);
                i += 1;
            }
            raw_tx.send(batch).await.expect("parsers alive");
        }
        bytes
    });

    // Stage 2: two parsers on two interpreters share the input channel.
    let parsers: Vec<_> = (1..=2)
        .map(|i| {
            let raw_rx = raw_rx.clone();
            let rec_tx = rec_tx.clone();
            rt.interpreter(i).spawn(move || async move {
                let st = subinterp::state::<ParserState>();
                while let Ok(batch) = raw_rx.recv().await {
                    let mut out = Vec::with_capacity(batch.len());
                    for l in &batch {
                        st.lines.set(st.lines.get() + 1);
                        match parse(l) {
                            Some(r) => out.push(r),
                            None => st.bad.set(st.bad.get() + 1),
                        }
                    }
                    rec_tx.send(out).await.expect("aggregator alive");
                }
                (st.lines.get(), st.bad.get())
            })
        })
        .collect();
    drop((raw_rx, rec_tx));

    // Stage 3: aggregate per service.
    let aggregator = rt.interpreter(3).spawn(move || async move {
        let mut by_service: BTreeMap<&'static str, Agg> = BTreeMap::new();
        while let Ok(batch) = rec_rx.recv().await {
            for r in batch {
                let a = by_service.entry(r.service).or_default();
                a.requests += 1;
                a.errors += u64::from(r.status >= 500);
                a.latency.push(r.latency_ms);
            }
        }
        // Percentiles are CPU-bound: off the interpreter, on rayon.
        subinterp::compute(move || {
            by_service
                .into_iter()
                .map(|(s, mut a)| {
                    a.latency.sort_unstable();
                    (
                        s,
                        a.requests,
                        a.errors,
                        percentile(&a.latency, 0.5),
                        percentile(&a.latency, 0.99),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("no panic")
    });

    let bytes = generator.join_blocking().expect("generator");
    let parsed: Vec<(u64, u64)> = parsers
        .into_iter()
        .map(|p| p.join_blocking().expect("parser"))
        .collect();
    let report = aggregator.join_blocking().expect("aggregator");
    let elapsed = start.elapsed();

    println!("pipeline: {lines} log lines, generate -> parse x2 -> aggregate, on 4 interpreters");
    println!(
        "elapsed {:.3} s: {:.2} M lines/s, {:.1} MB/s",
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64() / 1e6,
        bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    for (i, (n, bad)) in parsed.iter().enumerate() {
        println!("parser {}: {n} lines, {bad} unparsable", i + 1);
    }
    println!("\n| service | requests | errors | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|");
    let mut total = 0;
    for (s, req, err, p50, p99) in &report {
        total += req;
        println!("| {s} | {req} | {err} | {p50} | {p99} |");
    }
    assert_eq!(total, lines, "every line aggregated");
    println!("\nper-interpreter stats:");
    for (interp, role) in rt.interpreters().iter().zip(roles) {
        println!("  {} ({role:9}): {}", interp.name(), interp.stats());
    }
}
