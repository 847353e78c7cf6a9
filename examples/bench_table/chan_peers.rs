//! The channel workloads of BENCH.md ("the crossbeam-channel benchmark
//! suite's shape") and the channels they run on.
//!
//! Every channel, ours and the peers', is adapted through one small trait,
//! [`Peer`]; every workload is written once, generic over it. This file is
//! shared by `examples/bench_table` (full workloads, Markdown table) and
//! `benches/channels.rs` (criterion), so both measure the same code.

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Worker threads on each side of the mpsc/mpmc workloads.
pub const THREADS: usize = 4;

/// The capacity of a channel under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `bounded(0)`: a rendezvous.
    Bounded0,
    /// `bounded(1)`.
    Bounded1,
    /// `bounded(n)` with room for every message of the run.
    BoundedN,
    /// `unbounded()`.
    Unbounded,
}

impl Flavor {
    pub const ALL: [Flavor; 4] = [
        Flavor::Bounded0,
        Flavor::Bounded1,
        Flavor::BoundedN,
        Flavor::Unbounded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Bounded0 => "bounded0",
            Flavor::Bounded1 => "bounded1",
            Flavor::BoundedN => "boundedN",
            Flavor::Unbounded => "unbounded",
        }
    }

    /// The capacity for a run of `messages` values; `None` is unbounded.
    pub fn cap(self, messages: usize) -> Option<usize> {
        match self {
            Flavor::Bounded0 => Some(0),
            Flavor::Bounded1 => Some(1),
            Flavor::BoundedN => Some(messages),
            Flavor::Unbounded => None,
        }
    }
}

/// The shape of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One thread sends every message, then receives them all.
    Seq,
    /// One sender thread, one receiver thread.
    Spsc,
    /// [`THREADS`] senders, one receiver.
    Mpsc,
    /// [`THREADS`] senders, [`THREADS`] receivers.
    Mpmc,
    /// Two threads bounce a value over two `bounded(1)` channels; one message
    /// is one round trip.
    PingPong,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Seq => "seq",
            Workload::Spsc => "spsc",
            Workload::Mpsc => "mpsc",
            Workload::Mpmc => "mpmc",
            Workload::PingPong => "pingpong",
        }
    }

    /// The flavors this workload runs on. `seq` must buffer everything it
    /// sends; ping-pong is defined on `bounded(1)`.
    pub fn flavors(self) -> &'static [Flavor] {
        match self {
            Workload::Seq => &[Flavor::BoundedN, Flavor::Unbounded],
            Workload::PingPong => &[Flavor::Bounded1],
            _ => &Flavor::ALL,
        }
    }
}

/// A channel implementation under test, reduced to what the workloads need:
/// make a channel, clone its handles, send and receive a `u64` blocking the
/// thread.
pub trait Peer: 'static {
    /// The column title.
    const NAME: &'static str;
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    /// A channel of capacity `cap` (`None`: unbounded), or `None` if this
    /// implementation has no such flavor.
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)>;
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// `None` if receivers cannot be shared (a single-consumer channel).
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx>;
    fn send(tx: &Self::Tx, v: u64);
    fn recv(rx: &Self::Rx) -> u64;
}

/// Runs `workload` on `flavor` of `P` with `messages` messages and returns the
/// wall time, or `None` if `P` lacks the flavor or cannot run the workload.
pub fn run<P: Peer>(workload: Workload, flavor: Flavor, messages: usize) -> Option<Duration> {
    if !supports::<P>(workload, flavor) {
        return None;
    }
    let (tx, rx) = P::channel(flavor.cap(messages))?;
    let start = Instant::now();
    match workload {
        Workload::Seq => seq::<P>(tx, rx, messages),
        Workload::Spsc => spsc::<P>(tx, rx, messages),
        Workload::Mpsc => mpsc::<P>(tx, rx, messages),
        Workload::Mpmc => mpmc::<P>(tx, rx, messages),
        Workload::PingPong => {
            let back = P::channel(flavor.cap(messages))?;
            ping_pong::<P>((tx, rx), back, messages)
        }
    }
    Some(start.elapsed())
}

/// Can `P` run `workload` on `flavor`?
pub fn supports<P: Peer>(workload: Workload, flavor: Flavor) -> bool {
    match P::channel(flavor.cap(1)) {
        None => false,
        Some((_, rx)) => workload != Workload::Mpmc || P::clone_rx(&rx).is_some(),
    }
}

fn seq<P: Peer>(tx: P::Tx, rx: P::Rx, messages: usize) {
    for i in 0..messages {
        P::send(&tx, i as u64);
    }
    let mut sum = 0u64;
    for _ in 0..messages {
        sum = sum.wrapping_add(P::recv(&rx));
    }
    black_box(sum);
}

fn spsc<P: Peer>(tx: P::Tx, rx: P::Rx, messages: usize) {
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..messages {
                P::send(&tx, i as u64);
            }
        });
        let mut sum = 0u64;
        for _ in 0..messages {
            sum = sum.wrapping_add(P::recv(&rx));
        }
        black_box(sum);
    });
}

fn mpsc<P: Peer>(tx: P::Tx, rx: P::Rx, messages: usize) {
    let per_sender = messages / THREADS;
    thread::scope(|s| {
        for _ in 0..THREADS {
            let tx = P::clone_tx(&tx);
            s.spawn(move || {
                for i in 0..per_sender {
                    P::send(&tx, i as u64);
                }
            });
        }
        let mut sum = 0u64;
        for _ in 0..per_sender * THREADS {
            sum = sum.wrapping_add(P::recv(&rx));
        }
        black_box(sum);
    });
}

fn mpmc<P: Peer>(tx: P::Tx, rx: P::Rx, messages: usize) {
    let per_thread = messages / THREADS;
    thread::scope(|s| {
        for _ in 0..THREADS {
            let tx = P::clone_tx(&tx);
            s.spawn(move || {
                for i in 0..per_thread {
                    P::send(&tx, i as u64);
                }
            });
        }
        for _ in 0..THREADS {
            let rx = P::clone_rx(&rx).expect("checked in run()");
            s.spawn(move || {
                let mut sum = 0u64;
                for _ in 0..per_thread {
                    sum = sum.wrapping_add(P::recv(&rx));
                }
                black_box(sum);
            });
        }
    });
}

fn ping_pong<P: Peer>(there: (P::Tx, P::Rx), back: (P::Tx, P::Rx), round_trips: usize) {
    let (ping_tx, ping_rx) = there;
    let (pong_tx, pong_rx) = back;
    thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..round_trips {
                let v = P::recv(&ping_rx);
                P::send(&pong_tx, v + 1);
            }
        });
        let mut v = 0;
        for _ in 0..round_trips {
            P::send(&ping_tx, v);
            v = P::recv(&pong_rx);
        }
        assert_eq!(v, round_trips as u64);
    });
}

/// Something to do once per channel implementation (a generic closure).
pub trait ForEachPeer {
    type Out;
    fn call<P: Peer>(&mut self) -> Self::Out;
}

/// Calls `f.call::<P>()` for each channel implementation, ours first, in the
/// column order of the report.
pub fn for_each_peer<F: ForEachPeer>(f: &mut F) -> Vec<F::Out> {
    vec![
        f.call::<Subinterp>(),
        f.call::<Crossbeam>(),
        f.call::<Flume>(),
        f.call::<Kanal>(),
        f.call::<StdMpsc>(),
        f.call::<AsyncChannel>(),
    ]
}

pub struct Subinterp;
impl Peer for Subinterp {
    const NAME: &'static str = "subinterp";
    type Tx = subinterp::Sender<u64>;
    type Rx = subinterp::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        Some(cap.map_or_else(subinterp::unbounded, subinterp::bounded))
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send_blocking(v).unwrap();
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv_blocking().unwrap()
    }
}

pub struct Crossbeam;
impl Peer for Crossbeam {
    const NAME: &'static str = "crossbeam-channel";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        Some(cap.map_or_else(crossbeam_channel::unbounded, crossbeam_channel::bounded))
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).unwrap();
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

pub struct Flume;
impl Peer for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        Some(cap.map_or_else(flume::unbounded, flume::bounded))
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).unwrap();
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

pub struct Kanal;
impl Peer for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::Sender<u64>;
    type Rx = kanal::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        Some(cap.map_or_else(kanal::unbounded, kanal::bounded))
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).unwrap();
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

/// `std::sync::mpsc`: `sync_channel(n)` for the bounded flavors, `channel()`
/// for unbounded; its receiver cannot be shared, so it has no mpmc cells.
pub struct StdMpsc;
pub enum StdTx {
    Bounded(mpsc::SyncSender<u64>),
    Unbounded(mpsc::Sender<u64>),
}
impl Peer for StdMpsc {
    const NAME: &'static str = "std mpsc";
    type Tx = StdTx;
    type Rx = mpsc::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        Some(match cap {
            Some(n) => {
                let (tx, rx) = mpsc::sync_channel(n);
                (StdTx::Bounded(tx), rx)
            }
            None => {
                let (tx, rx) = mpsc::channel();
                (StdTx::Unbounded(tx), rx)
            }
        })
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        match tx {
            StdTx::Bounded(tx) => StdTx::Bounded(tx.clone()),
            StdTx::Unbounded(tx) => StdTx::Unbounded(tx.clone()),
        }
    }
    fn clone_rx(_: &Self::Rx) -> Option<Self::Rx> {
        None
    }
    fn send(tx: &Self::Tx, v: u64) {
        match tx {
            StdTx::Bounded(tx) => tx.send(v).unwrap(),
            StdTx::Unbounded(tx) => tx.send(v).unwrap(),
        }
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

/// async-channel through its blocking API; it has no capacity 0.
pub struct AsyncChannel;
impl Peer for AsyncChannel {
    const NAME: &'static str = "async-channel";
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn channel(cap: Option<usize>) -> Option<(Self::Tx, Self::Rx)> {
        match cap {
            Some(0) => None,
            Some(n) => Some(async_channel::bounded(n)),
            None => Some(async_channel::unbounded()),
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send_blocking(v).unwrap();
    }
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv_blocking().unwrap()
    }
}
