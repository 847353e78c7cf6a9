//! The task workloads of BENCH.md, written once over two small traits: an
//! executor ([`Exec`]: subinterp, tokio current_thread, tokio multi_thread
//! with 2 workers) and a channel family ([`Ch`]: subinterp's, tokio::sync's,
//! kanal's async channels). Shared by `benches/tasks.rs` (criterion) and the
//! `tasks` group of bench_table.

#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A channel family usable from `Send` tasks.
pub trait Ch: 'static {
    type Tx<T: Send + 'static>: Clone + Send + Sync + 'static;
    type Rx<T: Send + 'static>: Send + 'static;
    fn bounded<T: Send + 'static>(n: usize) -> (Self::Tx<T>, Self::Rx<T>);
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) -> impl Future<Output = bool> + Send + '_;
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>)
        -> impl Future<Output = Option<T>> + Send + '_;
}

pub struct SubCh;
impl Ch for SubCh {
    type Tx<T: Send + 'static> = subinterp::Sender<T>;
    type Rx<T: Send + 'static> = subinterp::Receiver<T>;
    fn bounded<T: Send + 'static>(n: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        subinterp::bounded(n)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        subinterp::unbounded()
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) -> bool {
        tx.send(v).await.is_ok()
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}

pub struct TokioCh;
pub enum TokioTx<T> {
    B(tokio::sync::mpsc::Sender<T>),
    U(tokio::sync::mpsc::UnboundedSender<T>),
}
impl<T> Clone for TokioTx<T> {
    fn clone(&self) -> Self {
        match self {
            TokioTx::B(s) => TokioTx::B(s.clone()),
            TokioTx::U(s) => TokioTx::U(s.clone()),
        }
    }
}
pub enum TokioRx<T> {
    B(tokio::sync::mpsc::Receiver<T>),
    U(tokio::sync::mpsc::UnboundedReceiver<T>),
}
impl Ch for TokioCh {
    type Tx<T: Send + 'static> = TokioTx<T>;
    type Rx<T: Send + 'static> = TokioRx<T>;
    fn bounded<T: Send + 'static>(n: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        let (s, r) = tokio::sync::mpsc::channel(n.max(1));
        (TokioTx::B(s), TokioRx::B(r))
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        let (s, r) = tokio::sync::mpsc::unbounded_channel();
        (TokioTx::U(s), TokioRx::U(r))
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) -> bool {
        match tx {
            TokioTx::B(s) => s.send(v).await.is_ok(),
            TokioTx::U(s) => s.send(v).is_ok(),
        }
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        match rx {
            TokioRx::B(r) => r.recv().await,
            TokioRx::U(r) => r.recv().await,
        }
    }
}

pub struct KanalCh;
impl Ch for KanalCh {
    type Tx<T: Send + 'static> = kanal::AsyncSender<T>;
    type Rx<T: Send + 'static> = kanal::AsyncReceiver<T>;
    fn bounded<T: Send + 'static>(n: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        kanal::bounded_async(n)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        kanal::unbounded_async()
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) -> bool {
        tx.send(v).await.is_ok()
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}

/// An executor: runs a main future, spawns detached tasks, optionally on a
/// given worker (`spawn_on`, for the cross-thread workloads).
pub trait Exec: Sized {
    fn new(workers: usize) -> Self;
    fn block_on<F: Future + Send + 'static>(&self, f: F) -> F::Output
    where
        F::Output: Send + 'static;
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F);
    /// Spawns on worker `i` where the executor can place tasks; else like `spawn`.
    fn spawn_on<F: Future<Output = ()> + Send + 'static>(i: usize, f: F);
    /// Can tasks run on two threads at once?
    const PARALLEL: bool;
}

/// subinterp: a runtime of `workers` interpreters; the main future runs on
/// interpreter 0.
pub struct SubExec(subinterp::Runtime);
impl Exec for SubExec {
    const PARALLEL: bool = true;
    fn new(workers: usize) -> Self {
        SubExec(
            subinterp::Runtime::builder()
                .interpreters(workers)
                .deadlock_detection(false)
                .build()
                .unwrap(),
        )
    }
    fn block_on<F: Future + Send + 'static>(&self, f: F) -> F::Output
    where
        F::Output: Send + 'static,
    {
        // The main future runs as a task of interpreter 0, where the tasks
        // it spawns live (as a Go program's goroutines do).
        self.0
            .interpreter(0)
            .spawn(move || f)
            .join_blocking()
            .unwrap()
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
        subinterp::spawn(f).detach();
    }
    fn spawn_on<F: Future<Output = ()> + Send + 'static>(i: usize, f: F) {
        let rt = subinterp::Runtime::current().unwrap();
        rt.interpreter(i % rt.len()).spawn(move || f).detach();
    }
}

pub struct TokioCt(tokio::runtime::Runtime);
impl Exec for TokioCt {
    const PARALLEL: bool = false;
    fn new(_: usize) -> Self {
        TokioCt(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        )
    }
    fn block_on<F: Future + Send + 'static>(&self, f: F) -> F::Output
    where
        F::Output: Send + 'static,
    {
        self.0.block_on(f)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
        tokio::spawn(f);
    }
    fn spawn_on<F: Future<Output = ()> + Send + 'static>(_: usize, f: F) {
        tokio::spawn(f);
    }
}

pub struct TokioMt(tokio::runtime::Runtime);
impl Exec for TokioMt {
    const PARALLEL: bool = true;
    fn new(_: usize) -> Self {
        TokioMt(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        )
    }
    fn block_on<F: Future + Send + 'static>(&self, f: F) -> F::Output
    where
        F::Output: Send + 'static,
    {
        // The main future as a task, so that it runs on the workers.
        self.0.block_on(async { tokio::spawn(f).await.unwrap() })
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
        tokio::spawn(f);
    }
    fn spawn_on<F: Future<Output = ()> + Send + 'static>(_: usize, f: F) {
        tokio::spawn(f);
    }
}

// ---------------------------------------------------------------------------
// Workloads, generic over executor and channels. Each returns its wall time.
// ---------------------------------------------------------------------------

/// Two tasks, `n` round trips over two bounded(1) channels. `cross`: the
/// tasks on two different workers.
pub fn pingpong<E: Exec, C: Ch>(exec: &E, n: usize, cross: bool) -> Duration {
    exec.block_on(async move {
        let (ping_tx, mut ping_rx) = C::bounded::<u64>(1);
        let (pong_tx, mut pong_rx) = C::bounded::<u64>(1);
        let (done_tx, mut done_rx) = C::bounded::<Duration>(1);
        let echo = async move {
            while let Some(v) = C::recv(&mut ping_rx).await {
                if !C::send(&pong_tx, v + 1).await {
                    break;
                }
            }
        };
        let driver = async move {
            let t = Instant::now();
            for i in 0..n as u64 {
                C::send(&ping_tx, i).await;
                C::recv(&mut pong_rx).await;
            }
            C::send(&done_tx, t.elapsed()).await;
        };
        if cross {
            E::spawn_on(0, echo);
            E::spawn_on(1, driver);
        } else {
            E::spawn_on(0, echo);
            E::spawn_on(0, driver);
        }
        C::recv(&mut done_rx).await.unwrap()
    })
}

/// subinterp only: the same over interpreter-local channels, both tasks on
/// one interpreter.
pub fn pingpong_local_channels(exec: &SubExec, n: usize) -> Duration {
    exec.0
        .interpreter(0)
        .spawn(move || async move {
            let (ping_tx, ping_rx) = subinterp::local::bounded::<u64>(1);
            let (pong_tx, pong_rx) = subinterp::local::bounded::<u64>(1);
            subinterp::spawn(async move {
                while let Ok(v) = ping_rx.recv().await {
                    if pong_tx.send(v + 1).await.is_err() {
                        break;
                    }
                }
            })
            .detach();
            let t = Instant::now();
            for i in 0..n as u64 {
                ping_tx.send(i).await.unwrap();
                pong_rx.recv().await.unwrap();
            }
            t.elapsed()
        })
        .join_blocking()
        .unwrap()
}

/// subinterp only: pipeline_3 on one interpreter over interpreter-local
/// channels (the fast path between tasks of one interpreter).
pub fn pipeline_local_channels(exec: &SubExec, n: usize) -> Duration {
    exec.0
        .interpreter(0)
        .spawn(move || async move {
            let t = Instant::now();
            let (a_tx, a_rx) = subinterp::local::bounded::<u64>(128);
            let (b_tx, b_rx) = subinterp::local::bounded::<u64>(128);
            subinterp::spawn(async move {
                for i in 0..n as u64 {
                    a_tx.send(i).await.unwrap();
                }
            })
            .detach();
            subinterp::spawn(async move {
                while let Ok(v) = a_rx.recv().await {
                    b_tx.send(v.wrapping_mul(v) % 1_000_003).await.unwrap();
                }
            })
            .detach();
            let mut sum = 0u64;
            while let Ok(v) = b_rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            std::hint::black_box(sum);
            t.elapsed()
        })
        .join_blocking()
        .unwrap()
}

/// Spawn `n` tasks that each send one u64 into an unbounded channel; time
/// until all are received.
pub fn spawn_many<E: Exec, C: Ch>(exec: &E, n: usize) -> Duration {
    exec.block_on(async move {
        let t = Instant::now();
        let (tx, mut rx) = C::unbounded::<u64>();
        for i in 0..n as u64 {
            let tx = tx.clone();
            E::spawn(async move {
                C::send(&tx, i).await;
            });
        }
        drop(tx);
        let mut got = 0;
        while C::recv(&mut rx).await.is_some() {
            got += 1;
        }
        assert_eq!(got, n);
        t.elapsed()
    })
}

/// Skynet: a tree with fan-out 10 down to `leaves` leaves; each node sends
/// the sum of its subtree to its parent through a bounded(1) channel.
pub fn skynet<E: Exec, C: Ch>(exec: &E, leaves: usize) -> Duration {
    fn node<E: Exec, C: Ch>(
        out: C::Tx<u64>,
        num: u64,
        size: u64,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            if size == 1 {
                C::send(&out, num).await;
                return;
            }
            let (tx, mut rx) = C::bounded::<u64>(1);
            let child = size / 10;
            for i in 0..10 {
                E::spawn(node::<E, C>(tx.clone(), num + i * child, child));
            }
            drop(tx);
            let mut sum = 0;
            for _ in 0..10 {
                sum += C::recv(&mut rx).await.unwrap();
            }
            C::send(&out, sum).await;
        })
    }
    let size = leaves as u64;
    exec.block_on(async move {
        let t = Instant::now();
        let (tx, mut rx) = C::bounded::<u64>(1);
        E::spawn(node::<E, C>(tx, 0, size));
        let sum = C::recv(&mut rx).await.unwrap();
        assert_eq!(sum, size * (size - 1) / 2);
        t.elapsed()
    })
}

/// generator -> map -> sink over bounded(128) channels, `n` items; `spread`:
/// each stage on its own worker.
pub fn pipeline<E: Exec, C: Ch>(exec: &E, n: usize, spread: bool) -> Duration {
    exec.block_on(async move {
        let t = Instant::now();
        let (a_tx, mut a_rx) = C::bounded::<u64>(128);
        let (b_tx, mut b_rx) = C::bounded::<u64>(128);
        let (done_tx, mut done_rx) = C::bounded::<u64>(1);
        let w = |i: usize| if spread { i } else { 0 };
        E::spawn_on(w(0), async move {
            for i in 0..n as u64 {
                C::send(&a_tx, i).await;
            }
        });
        E::spawn_on(w(1), async move {
            while let Some(v) = C::recv(&mut a_rx).await {
                C::send(&b_tx, v.wrapping_mul(v) % 1_000_003).await;
            }
        });
        E::spawn_on(w(2), async move {
            let mut sum = 0u64;
            while let Some(v) = C::recv(&mut b_rx).await {
                sum = sum.wrapping_add(v);
            }
            C::send(&done_tx, sum).await;
        });
        C::recv(&mut done_rx).await.unwrap();
        t.elapsed()
    })
}

/// `tasks` tasks in a ring of bounded(1) channels; one token makes `hops` hops.
pub fn ring<E: Exec, C: Ch>(exec: &E, tasks: usize, hops: usize) -> Duration {
    exec.block_on(async move {
        let (first_tx, mut prev_rx) = C::bounded::<u64>(1);
        let (done_tx, mut done_rx) = C::bounded::<Duration>(1);
        for _ in 1..tasks {
            let (tx, rx) = C::bounded::<u64>(1);
            let mut input = std::mem::replace(&mut prev_rx, rx);
            E::spawn(async move {
                while let Some(v) = C::recv(&mut input).await {
                    if !C::send(&tx, v + 1).await {
                        break;
                    }
                }
            });
        }
        // The last task closes the ring and stops it after `hops` hops.
        let mut input = prev_rx;
        let first = first_tx.clone();
        E::spawn(async move {
            let t = Instant::now();
            C::send(&first, 0).await;
            while let Some(v) = C::recv(&mut input).await {
                if v as usize >= hops {
                    break;
                }
                C::send(&first, v + 1).await;
            }
            C::send(&done_tx, t.elapsed()).await;
        });
        drop(first_tx);
        C::recv(&mut done_rx).await.unwrap()
    })
}

/// Resident bytes now (VmRSS).
pub fn rss_bytes() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A channel every task of the memory workload parks on.
pub trait Park: 'static {
    type Rx: Send + 'static;
    type Tx: Send + 'static;
    fn pair() -> (Self::Tx, Self::Rx);
    fn subscribe(tx: &Self::Tx, rx: &Self::Rx) -> Self::Rx;
    fn wait(rx: Self::Rx) -> impl Future<Output = ()> + Send;
}
impl Park for SubCh {
    type Rx = subinterp::Receiver<u8>;
    type Tx = subinterp::Sender<u8>;
    fn pair() -> (Self::Tx, Self::Rx) {
        subinterp::bounded(1)
    }
    fn subscribe(_: &Self::Tx, rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn wait(rx: Self::Rx) {
        let _ = rx.recv().await;
    }
}
impl Park for KanalCh {
    type Rx = kanal::AsyncReceiver<u8>;
    type Tx = kanal::AsyncSender<u8>;
    fn pair() -> (Self::Tx, Self::Rx) {
        kanal::bounded_async(1)
    }
    fn subscribe(_: &Self::Tx, rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn wait(rx: Self::Rx) {
        let _ = rx.recv().await;
    }
}
/// tokio's mpsc has one receiver: its tasks park on a broadcast channel.
impl Park for TokioCh {
    type Rx = tokio::sync::broadcast::Receiver<u8>;
    type Tx = tokio::sync::broadcast::Sender<u8>;
    fn pair() -> (Self::Tx, Self::Rx) {
        tokio::sync::broadcast::channel(1)
    }
    fn subscribe(tx: &Self::Tx, _: &Self::Rx) -> Self::Rx {
        tx.subscribe()
    }
    async fn wait(mut rx: Self::Rx) {
        let _ = rx.recv().await;
    }
}

/// Resident bytes per idle task: `n` tasks parked on one channel, RSS
/// growth / n. Returns bytes per task (as a Duration of that many ns, to fit
/// the timing harness: read `as_nanos()`).
pub fn memory<E: Exec, C: Park>(exec: &E, n: usize) -> f64 {
    exec.block_on(async move {
        let before = rss_bytes().unwrap_or(0);
        let (tx, rx) = C::pair();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let r = C::subscribe(&tx, &rx);
            let s = started.clone();
            E::spawn(async move {
                s.fetch_add(1, Ordering::Relaxed);
                C::wait(r).await;
            });
        }
        while started.load(Ordering::Relaxed) < n {
            yield_once().await;
        }
        let after = rss_bytes().unwrap_or(0);
        drop(tx);
        drop(rx);
        after.saturating_sub(before) as f64 / n as f64
    })
}

/// Lets other tasks run once (works under any executor).
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// Runs a generic workload on the executor and channels of column `col`
/// (shared by `bench_table` and `benches/tasks.rs`).
macro_rules! by_column {
    ($col:expr, $workers:expr, |$e:ident, $C:ident| $body:expr) => {
        match $col {
            0 => {
                let $e = SubExec::new($workers);
                type $C = SubCh;
                $body
            }
            1 => {
                let $e = TokioCt::new($workers);
                type $C = TokioCh;
                $body
            }
            2 => {
                let $e = TokioCt::new($workers);
                type $C = KanalCh;
                $body
            }
            3 => {
                let $e = TokioMt::new($workers);
                type $C = TokioCh;
                $body
            }
            _ => {
                let $e = TokioMt::new($workers);
                type $C = KanalCh;
                $body
            }
        }
    };
}
