//! Row groups "select" and "select_async": BENCH.md's select workloads.
//!
//! - `select`: select_rx and select_both on every flavor, plain OS threads,
//!   subinterp's `select_blocking!` against crossbeam-channel's `select!` and
//!   flume's `Selector`, each with four fixed cases.
//! - `select_async`: one task running a select loop over four channels fed by
//!   four tasks, all on one tokio current_thread runtime: subinterp's async
//!   `select!` over subinterp channels against `tokio::select!` over tokio mpsc.
//!
//! The workloads are written once over [`SelPeer`] (a [`Peer`] that can
//! select); `benches/channels.rs` (criterion) includes this file too.

use crate::chan_peers::{Crossbeam, Flavor, Flume, Peer, Subinterp, THREADS};
use crate::report::{measure, progress, Cell, Class, Config, Group, Row};
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

const GROUP: &str = "select";
const ASYNC_GROUP: &str = "select_async";

/// Values per run (BENCH.md: 5_000_000; bounded(0): 1_000_000).
const MESSAGES: usize = 5_000_000;
const MESSAGES_RENDEZVOUS: usize = 1_000_000;
/// `--quick`: the same shape, smaller.
const QUICK_MESSAGES: usize = 500_000;
const QUICK_MESSAGES_RENDEZVOUS: usize = 100_000;

// The selects below name their four cases one by one.
const _: () = assert!(THREADS == 4);

/// The bar: each select cell at most crossbeam-channel's time.
pub static SELECT: Class = Class {
    name: "select",
    description: "select_rx/select_both × bounded0/bounded1/boundedN/unbounded",
    cell_max_vs_reference: 1.0,
    geomean_bars: &[],
};

/// The shape of a select run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelWorkload {
    /// [`THREADS`] channels, a sender thread on each (plain `send`), one
    /// receiver thread selecting a receive over all of them.
    SelectRx,
    /// [`THREADS`] channels; [`THREADS`] sender threads each selecting a send
    /// over all of them, [`THREADS`] receiver threads each selecting a
    /// receive over all of them.
    SelectBoth,
}

impl SelWorkload {
    pub const ALL: [SelWorkload; 2] = [SelWorkload::SelectRx, SelWorkload::SelectBoth];

    pub fn name(self) -> &'static str {
        match self {
            SelWorkload::SelectRx => "select_rx",
            SelWorkload::SelectBoth => "select_both",
        }
    }
}

/// A channel implementation with a select over four cases.
pub trait SelPeer: Peer
where
    Self::Tx: Sync,
    Self::Rx: Sync,
{
    /// Why this implementation cannot run select_both, if it cannot.
    const NO_SELECT_SEND: Option<&'static str> = None;
    /// Receives one value from whichever of the four channels is ready.
    fn select_recv(rx: &[Self::Rx; THREADS]) -> u64;
    /// Sends `v` on whichever of the four channels is ready.
    fn select_send(tx: &[Self::Tx; THREADS], v: u64);
}

impl SelPeer for Subinterp {
    fn select_recv(rx: &[Self::Rx; THREADS]) -> u64 {
        subinterp::select_blocking! {
            v = recv(&rx[0]) => v.unwrap(),
            v = recv(&rx[1]) => v.unwrap(),
            v = recv(&rx[2]) => v.unwrap(),
            v = recv(&rx[3]) => v.unwrap(),
        }
    }
    fn select_send(tx: &[Self::Tx; THREADS], v: u64) {
        subinterp::select_blocking! {
            r = send(&tx[0], v) => r.unwrap(),
            r = send(&tx[1], v) => r.unwrap(),
            r = send(&tx[2], v) => r.unwrap(),
            r = send(&tx[3], v) => r.unwrap(),
        }
    }
}

impl SelPeer for Crossbeam {
    fn select_recv(rx: &[Self::Rx; THREADS]) -> u64 {
        crossbeam_channel::select! {
            recv(rx[0]) -> v => v.unwrap(),
            recv(rx[1]) -> v => v.unwrap(),
            recv(rx[2]) -> v => v.unwrap(),
            recv(rx[3]) -> v => v.unwrap(),
        }
    }
    fn select_send(tx: &[Self::Tx; THREADS], v: u64) {
        crossbeam_channel::select! {
            send(tx[0], v) -> r => r.unwrap(),
            send(tx[1], v) -> r => r.unwrap(),
            send(tx[2], v) -> r => r.unwrap(),
            send(tx[3], v) -> r => r.unwrap(),
        }
    }
}

impl SelPeer for Flume {
    const NO_SELECT_SEND: Option<&'static str> = Some(FLUME_NO_SEND);
    fn select_recv(rx: &[Self::Rx; THREADS]) -> u64 {
        flume::Selector::new()
            .recv(&rx[0], |v| v.unwrap())
            .recv(&rx[1], |v| v.unwrap())
            .recv(&rx[2], |v| v.unwrap())
            .recv(&rx[3], |v| v.unwrap())
            .wait()
    }
    fn select_send(tx: &[Self::Tx; THREADS], v: u64) {
        flume::Selector::new()
            .send(&tx[0], v, |r| r.unwrap())
            .send(&tx[1], v, |r| r.unwrap())
            .send(&tx[2], v, |r| r.unwrap())
            .send(&tx[3], v, |r| r.unwrap())
            .wait()
    }
}

/// Why flume has no select_both cells. `select_send` above is what flume
/// offers (`Selector::send`); it is kept so the finding can be re-checked by
/// dropping `NO_SELECT_SEND`.
const FLUME_NO_SEND: &str = "flume 0.11's `Selector` send cases hang select_both: \
     10 of 13 --quick runs here, on every flavor, never finished (a value lost or a \
     selector never woken, cf. flume#135), so the cell cannot be timed";

/// Runs `workload` on `flavor` of `P` with `messages` messages and returns the
/// wall time, or `None` if `P` cannot run it.
pub fn run_select<P: SelPeer>(
    workload: SelWorkload,
    flavor: Flavor,
    messages: usize,
) -> Option<Duration>
where
    P::Tx: Sync,
    P::Rx: Sync,
{
    if workload == SelWorkload::SelectBoth && P::NO_SELECT_SEND.is_some() {
        return None;
    }
    let mut txs = Vec::with_capacity(THREADS);
    let mut rxs = Vec::with_capacity(THREADS);
    for _ in 0..THREADS {
        let (tx, rx) = P::channel(flavor.cap(messages))?;
        txs.push(tx);
        rxs.push(rx);
    }
    let txs: [P::Tx; THREADS] = txs.try_into().ok()?;
    let rxs: [P::Rx; THREADS] = rxs.try_into().ok()?;
    let per_thread = messages / THREADS;
    let start = Instant::now();
    match workload {
        // Senders borrow their channel: a channel whose last sender is gone
        // is closed, and a closed channel's case is always ready.
        SelWorkload::SelectRx => thread::scope(|s| {
            for tx in &txs {
                s.spawn(move || {
                    for i in 0..per_thread {
                        P::send(tx, i as u64);
                    }
                });
            }
            let mut sum = 0u64;
            for _ in 0..per_thread * THREADS {
                sum = sum.wrapping_add(P::select_recv(&rxs));
            }
            black_box(sum);
        }),
        SelWorkload::SelectBoth => thread::scope(|s| {
            for _ in 0..THREADS {
                let txs: [P::Tx; THREADS] = std::array::from_fn(|i| P::clone_tx(&txs[i]));
                s.spawn(move || {
                    for i in 0..per_thread {
                        P::select_send(&txs, i as u64);
                    }
                });
            }
            for _ in 0..THREADS {
                let rxs: [P::Rx; THREADS] =
                    std::array::from_fn(|i| P::clone_rx(&rxs[i]).expect("shared receivers"));
                s.spawn(move || {
                    let mut sum = 0u64;
                    for _ in 0..per_thread {
                        sum = sum.wrapping_add(P::select_recv(&rxs));
                    }
                    black_box(sum);
                });
            }
        }),
    }
    Some(start.elapsed())
}

/// Something to do once per implementation with a select (a generic closure).
pub trait ForEachSelPeer {
    type Out;
    fn call<P: SelPeer>(&mut self) -> Self::Out
    where
        P::Tx: Sync,
        P::Rx: Sync;
}

/// Calls `f.call::<P>()` for ours and each peer with a select, in column order.
pub fn for_each_sel_peer<F: ForEachSelPeer>(f: &mut F) -> Vec<F::Out> {
    vec![
        f.call::<Subinterp>(),
        f.call::<Crossbeam>(),
        f.call::<Flume>(),
    ]
}

/// The `tokio::select!` loop over four tokio mpsc receivers (bounded and
/// unbounded differ in type and in how a send is awaited).
macro_rules! tokio_loop {
    ($rt:expr, $txs:expr, $rxs:expr, $per_task:expr, |$tx:ident, $v:ident| $send:expr) => {{
        let per_task = $per_task;
        let mut rxs = $rxs.into_iter();
        let (mut r0, mut r1, mut r2, mut r3) = (
            rxs.next().unwrap(),
            rxs.next().unwrap(),
            rxs.next().unwrap(),
            rxs.next().unwrap(),
        );
        let start = Instant::now();
        $rt.block_on(async move {
            for $tx in &$txs {
                let $tx = $tx.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let $v = i as u64;
                        $send;
                    }
                });
            }
            let mut sum = 0u64;
            for _ in 0..per_task * THREADS {
                let v = tokio::select! {
                    Some(v) = r0.recv() => v,
                    Some(v) = r1.recv() => v,
                    Some(v) = r2.recv() => v,
                    Some(v) = r3.recv() => v,
                };
                sum = sum.wrapping_add(v);
            }
            black_box(sum);
        });
        start.elapsed()
    }};
}

/// The async select loop: the column titles, ours first.
pub const ASYNC_COLUMNS: [&str; 2] = ["subinterp select!", "tokio::select!"];

/// Runs the async select loop of column `col` ([`ASYNC_COLUMNS`]) on `flavor`
/// with `messages` messages, on a fresh tokio current_thread runtime (not
/// timed), or `None` if the column's channels lack the flavor (tokio mpsc
/// has no capacity 0).
pub fn run_async(col: usize, flavor: Flavor, messages: usize) -> Option<Duration> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let per_task = messages / THREADS;
    let cap = flavor.cap(messages);
    match (col, cap) {
        (0, _) => {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS)
                .map(|_| cap.map_or_else(subinterp::unbounded::<u64>, subinterp::bounded))
                .unzip();
            let [r0, r1, r2, r3]: [subinterp::Receiver<u64>; THREADS] = rxs.try_into().ok()?;
            let start = Instant::now();
            rt.block_on(async move {
                // Clones: the channels stay open while the loop runs.
                for tx in &txs {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..per_task {
                            tx.send(i as u64).await.unwrap();
                        }
                    });
                }
                let mut sum = 0u64;
                for _ in 0..per_task * THREADS {
                    let v = subinterp::select! {
                        v = recv(&r0) => v.unwrap(),
                        v = recv(&r1) => v.unwrap(),
                        v = recv(&r2) => v.unwrap(),
                        v = recv(&r3) => v.unwrap(),
                    };
                    sum = sum.wrapping_add(v);
                }
                black_box(sum);
            });
            Some(start.elapsed())
        }
        (_, Some(0)) => None,
        (_, Some(n)) => {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS)
                .map(|_| tokio::sync::mpsc::channel::<u64>(n))
                .unzip();
            Some(tokio_loop!(rt, txs, rxs, per_task, |tx, v| tx
                .send(v)
                .await
                .unwrap()))
        }
        (_, None) => {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS)
                .map(|_| tokio::sync::mpsc::unbounded_channel::<u64>())
                .unzip();
            Some(tokio_loop!(rt, txs, rxs, per_task, |tx, v| tx
                .send(v)
                .unwrap()))
        }
    }
}

fn messages(cfg: &Config, flavor: Flavor) -> usize {
    match (flavor, cfg.quick) {
        (Flavor::Bounded0, false) => MESSAGES_RENDEZVOUS,
        (Flavor::Bounded0, true) => QUICK_MESSAGES_RENDEZVOUS,
        (_, false) => MESSAGES,
        (_, true) => QUICK_MESSAGES,
    }
}

/// Times one row's cell for one implementation.
struct TimeCell<'a> {
    cfg: &'a Config,
    row: &'a str,
    workload: SelWorkload,
    flavor: Flavor,
    messages: usize,
}

impl ForEachSelPeer for TimeCell<'_> {
    type Out = Option<Cell>;
    fn call<P: SelPeer>(&mut self) -> Option<Cell>
    where
        P::Tx: Sync,
        P::Rx: Sync,
    {
        let (workload, flavor) = (self.workload, self.flavor);
        let cell = measure(self.cfg, self.messages, |n| {
            run_select::<P>(workload, flavor, n)
        });
        progress(self.cfg, &format!("{GROUP}/{} {}", self.row, P::NAME), cell);
        cell
    }
}

/// The column titles, in [`for_each_sel_peer`] order.
struct Name;

impl ForEachSelPeer for Name {
    type Out = &'static str;
    fn call<P: SelPeer>(&mut self) -> &'static str
    where
        P::Tx: Sync,
        P::Rx: Sync,
    {
        P::NAME
    }
}

pub fn group(cfg: &Config) -> Group {
    let mut rows = Vec::new();
    for workload in SelWorkload::ALL {
        for flavor in Flavor::ALL {
            let name = format!("{}/{}", workload.name(), flavor.name());
            if !cfg.wants(GROUP, &name) {
                continue;
            }
            let cells = for_each_sel_peer(&mut TimeCell {
                cfg,
                row: &name,
                workload,
                flavor,
                messages: messages(cfg, flavor),
            });
            rows.push(Row {
                name,
                class: Some(&SELECT),
                cells,
            });
        }
    }
    let (m, m0) = if cfg.quick {
        (QUICK_MESSAGES, QUICK_MESSAGES_RENDEZVOUS)
    } else {
        (MESSAGES, MESSAGES_RENDEZVOUS)
    };
    Group {
        name: GROUP,
        title: "Select workloads".into(),
        notes: format!(
            "ns per message. {m} u64 messages per run (bounded0: {m0}), THREADS = {THREADS} \
             channels; select_rx: a sender thread on each channel, one receiver thread \
             selecting over all; select_both: THREADS sender threads each selecting a send \
             over all channels, THREADS receiver threads each selecting a receive over all. \
             Four fixed cases: subinterp `select_blocking!`, crossbeam-channel `select!`, \
             flume `Selector`. boundedN = bounded(messages). Median of {} run(s). \
             flume has no select_both cells (–): {FLUME_NO_SEND}.",
            cfg.runs
        ),
        columns: for_each_sel_peer(&mut Name),
        reference: Some("crossbeam-channel"),
        unit: "ns",
        rows,
    }
}

/// The async select loop: a task selecting over four channels, each fed by
/// a task of its own, all on one tokio current_thread runtime.
pub fn async_group(cfg: &Config) -> Group {
    let mut rows = Vec::new();
    for flavor in Flavor::ALL {
        let name = format!("loop/{}", flavor.name());
        if !cfg.wants(ASYNC_GROUP, &name) {
            continue;
        }
        let ops = messages(cfg, flavor);
        let cells = (0..ASYNC_COLUMNS.len())
            .map(|col| {
                let cell = measure(cfg, ops, |n| run_async(col, flavor, n));
                progress(
                    cfg,
                    &format!("{ASYNC_GROUP}/{name} {}", ASYNC_COLUMNS[col]),
                    cell,
                );
                cell
            })
            .collect();
        rows.push(Row {
            name,
            class: None,
            cells,
        });
    }
    let (m, m0) = if cfg.quick {
        (QUICK_MESSAGES, QUICK_MESSAGES_RENDEZVOUS)
    } else {
        (MESSAGES, MESSAGES_RENDEZVOUS)
    };
    Group {
        name: ASYNC_GROUP,
        title: "Async select loop".into(),
        notes: format!(
            "ns per message. One task selects a receive over {THREADS} channels in a loop, \
             each channel fed by a task of its own; all on one tokio current_thread runtime: \
             subinterp `select!` over subinterp channels vs `tokio::select!` over tokio::sync::mpsc. \
             {m} u64 messages per run (bounded0: {m0}; tokio mpsc has no capacity 0: –), \
             boundedN = bounded(messages). Median of {} run(s).",
            cfg.runs
        ),
        columns: ASYNC_COLUMNS.to_vec(),
        reference: Some("tokio::select!"),
        unit: "ns",
        rows,
    }
}
