//! The concurrent prime sieve of Go's tour and test/chan/sieve1.go: a chain
//! of filter tasks, one per prime, connected by rendezvous channels, all on
//! one interpreter (with `!Send`-free local channels, the fast path).
//!
//! `cargo run --release --example prime_sieve [count]`

use std::time::Instant;
use subinterp::local::{bounded, Receiver, Sender};

async fn generate(ch: Sender<u64>) {
    let mut i = 2;
    while ch.send(i).await.is_ok() {
        i += 1;
    }
}

async fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Ok(i) = input.recv().await {
        if i % prime != 0 && out.send(i).await.is_err() {
            return;
        }
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let start = Instant::now();
    let primes = subinterp::run(async move {
        let (tx, mut ch) = bounded(0);
        subinterp::spawn(generate(tx)).detach();
        let mut primes = Vec::with_capacity(count);
        for _ in 0..count {
            let prime = ch.recv().await.unwrap();
            primes.push(prime);
            let (tx1, ch1) = bounded(0);
            subinterp::spawn(filter(ch, tx1, prime)).detach();
            ch = ch1;
        }
        let stats = subinterp::Interpreter::current().unwrap().stats();
        (primes, stats)
    })
    .expect("no deadlock");
    let (primes, stats) = primes;
    println!(
        "first {count} primes in {:.1} ms; the last ones: {:?}",
        start.elapsed().as_secs_f64() * 1e3,
        &primes[count.saturating_sub(5)..]
    );
    println!("main interpreter: {stats}");
}
