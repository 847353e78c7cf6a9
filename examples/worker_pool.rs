//! A worker pool: one job queue shared by workers spread over the runtime's
//! interpreters, results fanned back in, a WaitGroup for completion, and
//! CPU-heavy jobs offloaded with `compute`.
//!
//! `cargo run --release --example worker_pool`

use std::time::{Duration, Instant};
use subinterp::{bounded, unbounded, Runtime, WaitGroup};

enum Job {
    /// I/O-like: waits, then answers.
    Lookup(u64),
    /// CPU-bound: sent to rayon with `compute`.
    Hash(u64),
}

fn heavy_hash(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn main() {
    let rt = Runtime::builder()
        .interpreters(2)
        .name_prefix("pool")
        .build()
        .expect("start the interpreters");
    let workers = 8;
    let jobs = 400u64;
    let start = Instant::now();

    let (job_tx, job_rx) = bounded::<Job>(32);
    let (result_tx, result_rx) = unbounded::<(usize, u64)>();
    let wg = WaitGroup::new();
    for w in 0..workers {
        wg.add(1);
        let (job_rx, result_tx, wg) = (job_rx.clone(), result_tx.clone(), wg.clone());
        // Round-robin placement: the workers are spread over the interpreters.
        rt.spawn(move || async move {
            while let Ok(job) = job_rx.recv().await {
                let out = match job {
                    Job::Lookup(k) => {
                        subinterp::sleep(Duration::from_millis(1)).await;
                        k * 2
                    }
                    Job::Hash(k) => subinterp::compute(move || heavy_hash(k)).await.unwrap(),
                };
                result_tx.send((w, out)).await.unwrap();
            }
            wg.done();
        })
        .detach();
    }
    drop((job_rx, result_tx));

    // The producer runs on this thread, with the blocking API.
    for k in 0..jobs {
        let job = if k % 4 == 0 {
            Job::Hash(k)
        } else {
            Job::Lookup(k)
        };
        job_tx.send_blocking(job).unwrap();
    }
    drop(job_tx); // closing the queue stops the workers once it is drained
    wg.wait_blocking();

    let mut per_worker = vec![0u64; workers];
    let mut n = 0;
    for (w, _) in result_rx.iter() {
        per_worker[w] += 1;
        n += 1;
    }
    assert_eq!(n, jobs);
    println!(
        "{jobs} jobs on {workers} workers over {} interpreters in {:.1} ms",
        rt.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    println!("jobs per worker: {per_worker:?}");
    for i in rt.interpreters() {
        println!("  {}: {}", i.name(), i.stats());
    }
}
