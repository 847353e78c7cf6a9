//! A server-like select loop: requests arrive on a channel, a ticker reports
//! progress, a shutdown channel stops the loop, and an idle timeout ends it
//! if nothing happens for a while.
//!
//! `cargo run --release --example select_loop`
use std::time::{Duration, Instant};
use subinterp::{after, bounded, select_blocking, tick, Sender};

/// A request carries its reply channel, as in Go.
struct Request {
    n: u64,
    reply: Sender<u64>,
}

fn main() {
    let (requests_tx, requests) = bounded::<Request>(16);
    let (shutdown_tx, shutdown) = bounded::<()>(0);

    // Clients: each sends requests and waits for every reply.
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let requests_tx = requests_tx.clone();
            std::thread::spawn(move || {
                let (reply, replies) = bounded(1);
                let mut sum = 0;
                for i in 0..2_000u64 {
                    let n = c * 10_000 + i;
                    requests_tx
                        .send_blocking(Request {
                            n,
                            reply: reply.clone(),
                        })
                        .expect("server is running");
                    sum += replies.recv_blocking().expect("server replies");
                }
                sum
            })
        })
        .collect();
    drop(requests_tx);

    // Stop the server once the clients are done.
    let stopper = std::thread::spawn(move || {
        let total: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
        shutdown_tx.send_blocking(()).unwrap();
        total
    });

    let start = Instant::now();
    let ticker = tick(Duration::from_millis(20));
    let mut served = 0u64;
    let mut ticks = 0;
    let reason = loop {
        select_blocking! {
            req = recv(&requests) => match req {
                Ok(Request { n, reply }) => {
                    served += 1;
                    let _ = reply.send_blocking(n * 2);
                }
                Err(_) => break "all clients hung up",
            },
            _ = recv(&ticker) => {
                ticks += 1;
                println!("tick {ticks}: {served} requests served");
            },
            _ = recv(&shutdown) => break "shutdown requested",
            _ = recv(after(Duration::from_secs(2))) => break "idle for 2 s",
        }
    };
    let total = stopper.join().unwrap();
    println!(
        "stopped ({reason}) after {served} requests in {:?}; clients saw a total of {total}",
        start.elapsed()
    );
}
