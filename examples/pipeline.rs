//! A three-stage pipeline of threads over channels: generate, square, sum.
//!
//! `cargo run --release --example pipeline`
use std::time::Instant;

fn main() {
    const N: u64 = 1_000_000;
    let start = Instant::now();
    let (numbers_tx, numbers_rx) = subinterp::bounded::<u64>(128);
    let (squares_tx, squares_rx) = subinterp::bounded::<u64>(128);

    let generate = std::thread::spawn(move || {
        for i in 0..N {
            numbers_tx.send_blocking(i).unwrap();
        }
        // Dropping the sender closes the channel: the next stage drains and ends.
    });
    let square = std::thread::spawn(move || {
        for n in &numbers_rx {
            squares_tx.send_blocking(n * n % 1_000_003).unwrap();
        }
    });
    let total: u64 = squares_rx.iter().sum();
    generate.join().unwrap();
    square.join().unwrap();

    let elapsed = start.elapsed();
    println!("pipeline: {N} items through 3 stages in {elapsed:?}");
    println!(
        "throughput: {:.1} M items/s, sum of squares mod p: {total}",
        N as f64 / elapsed.as_secs_f64() / 1e6
    );
}
