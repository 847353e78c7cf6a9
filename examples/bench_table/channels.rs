//! Row group "channels": BENCH.md's channel workloads (seq, spsc, mpsc, mpmc
//! on every flavor, and a thread ping-pong), subinterp against
//! crossbeam-channel, flume, kanal, std mpsc and async-channel, all on plain
//! OS threads through the blocking API.

use crate::chan_peers::{for_each_peer, run, Flavor, ForEachPeer, Peer, Workload, THREADS};
use crate::report::{measure, progress, Class, Config, Group, Row, BEST_PEER};

const GROUP: &str = "channels";

/// Values per run (BENCH.md: 5_000_000; bounded(0): 1_000_000).
const MESSAGES: usize = 5_000_000;
const MESSAGES_RENDEZVOUS: usize = 1_000_000;
const ROUND_TRIPS: usize = 1_000_000;
/// `--quick`: the same shape, smaller.
const QUICK_MESSAGES: usize = 500_000;
const QUICK_MESSAGES_RENDEZVOUS: usize = 100_000;
const QUICK_ROUND_TRIPS: usize = 100_000;

/// The bar for buffered rows: seq, and spsc/mpsc/mpmc on
/// bounded(N)/unbounded.
pub static BUFFERED: Class = Class {
    name: "buffered",
    description: "seq; spsc/mpsc/mpmc × boundedN/unbounded",
    cell_max_vs_reference: 1.10,
    geomean_bars: &[(BEST_PEER, 1.0)],
};

/// The bar for handoff rows: spsc/mpsc/mpmc on bounded(0)/bounded(1),
/// and the ping-pong.
pub static HANDOFF: Class = Class {
    name: "handoff",
    description: "spsc/mpsc/mpmc × bounded0/bounded1, and ping-pong",
    cell_max_vs_reference: 1.0,
    geomean_bars: &[("kanal", 1.5)],
};

const WORKLOADS: [Workload; 5] = [
    Workload::Seq,
    Workload::Spsc,
    Workload::Mpsc,
    Workload::Mpmc,
    Workload::PingPong,
];

fn class(workload: Workload, flavor: Flavor) -> &'static Class {
    match (workload, flavor) {
        (Workload::PingPong, _) | (_, Flavor::Bounded0 | Flavor::Bounded1) => &HANDOFF,
        _ => &BUFFERED,
    }
}

fn messages(cfg: &Config, workload: Workload, flavor: Flavor) -> usize {
    match (workload, flavor, cfg.quick) {
        (Workload::PingPong, _, false) => ROUND_TRIPS,
        (Workload::PingPong, _, true) => QUICK_ROUND_TRIPS,
        (_, Flavor::Bounded0, false) => MESSAGES_RENDEZVOUS,
        (_, Flavor::Bounded0, true) => QUICK_MESSAGES_RENDEZVOUS,
        (_, _, false) => MESSAGES,
        (_, _, true) => QUICK_MESSAGES,
    }
}

/// Times one row's cell for one peer.
struct TimeCell<'a> {
    cfg: &'a Config,
    row: &'a str,
    workload: Workload,
    flavor: Flavor,
    messages: usize,
}

impl ForEachPeer for TimeCell<'_> {
    type Out = Option<crate::report::Cell>;
    fn call<P: Peer>(&mut self) -> Self::Out {
        let (workload, flavor) = (self.workload, self.flavor);
        let cell = measure(self.cfg, self.messages, |n| run::<P>(workload, flavor, n));
        progress(self.cfg, &format!("{GROUP}/{} {}", self.row, P::NAME), cell);
        cell
    }
}

/// The column titles, in [`for_each_peer`] order.
struct Name;

impl ForEachPeer for Name {
    type Out = &'static str;
    fn call<P: Peer>(&mut self) -> &'static str {
        P::NAME
    }
}

pub fn group(cfg: &Config) -> Group {
    let mut rows = Vec::new();
    for workload in WORKLOADS {
        for &flavor in workload.flavors() {
            let name = format!("{}/{}", workload.name(), flavor.name());
            if !cfg.wants(GROUP, &name) {
                continue;
            }
            let cells = for_each_peer(&mut TimeCell {
                cfg,
                row: &name,
                workload,
                flavor,
                messages: messages(cfg, workload, flavor),
            });
            rows.push(Row {
                name,
                class: Some(class(workload, flavor)),
                cells,
            });
        }
    }
    let (m, m0, rt) = if cfg.quick {
        (QUICK_MESSAGES, QUICK_MESSAGES_RENDEZVOUS, QUICK_ROUND_TRIPS)
    } else {
        (MESSAGES, MESSAGES_RENDEZVOUS, ROUND_TRIPS)
    };
    Group {
        name: GROUP,
        title: "Channel workloads".into(),
        notes: format!(
            "ns per message (ping-pong: per round trip over two bounded(1) channels). \
             {m} u64 messages per run (bounded0: {m0}; ping-pong: {rt} round trips), \
             THREADS = {THREADS}, plain OS threads, blocking API; median of {} run(s). \
             boundedN = bounded(messages). – = the peer lacks the flavor \
             (std mpsc: no shared receiver; async-channel: no capacity 0).",
            cfg.runs
        ),
        columns: for_each_peer(&mut Name),
        reference: Some("crossbeam-channel"),
        unit: "ns",
        rows,
    }
}
