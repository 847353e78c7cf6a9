//! The order an interpreter runs its ready tasks in: the most recent wake
//! first (so a tree of tasks runs depth first), with fair picks that bound
//! how long any ready task waits, however busy the others keep it.

mod common;

use common::watchdog;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use subinterp::Interpreter;

/// Live and peak task counts of one interpreter's tree.
#[derive(Default)]
struct Live {
    now: Cell<usize>,
    peak: Cell<usize>,
}

impl Live {
    fn enter(&self) {
        self.now.set(self.now.get() + 1);
        self.peak.set(self.peak.get().max(self.now.get()));
    }
    fn leave(&self) {
        self.now.set(self.now.get() - 1);
    }
}

/// A skynet node: spawns ten children, sums what they send back through a
/// `bounded(1)` channel, and sends the sum to its parent.
fn node(
    out: subinterp::Sender<u64>,
    num: u64,
    size: u64,
    live: Rc<Live>,
) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        live.enter();
        if size == 1 {
            out.send(num).await.unwrap();
            live.leave();
            return;
        }
        let (tx, rx) = subinterp::bounded(1);
        let child = size / 10;
        for i in 0..10 {
            subinterp::spawn(node(tx.clone(), num + i * child, child, live.clone())).detach();
        }
        drop(tx);
        let mut sum = 0;
        for _ in 0..10 {
            sum += rx.recv().await.unwrap();
        }
        out.send(sum).await.unwrap();
        live.leave();
    })
}

/// Runs the future that `f` makes as a task of a fresh interpreter, under a
/// watchdog, and returns its output.
fn on_one_interpreter<T, F, Fut>(what: &'static str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    watchdog(60, what, move || {
        Interpreter::new()
            .unwrap()
            .spawn(f)
            .join_blocking()
            .unwrap()
    })
}

/// Runs `other` beside a pair of tasks that ping-pong until it finishes, or
/// for `limit` round trips; returns how many they made. `other` is spawned
/// first, so it is ready before anything the pair wakes.
async fn beside_a_busy_pair(other: impl Future<Output = ()> + 'static, limit: u64) -> u64 {
    let stop = Rc::new(Cell::new(false));
    let s = stop.clone();
    subinterp::spawn(async move {
        other.await;
        s.set(true);
    })
    .detach();
    subinterp::spawn(ping_pong(stop, limit)).await.unwrap()
}

#[test]
fn a_tree_of_tasks_runs_depth_first() {
    const LEAVES: u64 = 100_000;
    let (sum, peak) = on_one_interpreter("a_tree_of_tasks_runs_depth_first", || async {
        let live = Rc::new(Live::default());
        let (tx, rx) = subinterp::bounded(1);
        subinterp::spawn(node(tx, 0, LEAVES, live.clone())).detach();
        let sum = rx.recv().await.unwrap();
        (sum, live.peak.get())
    });
    assert_eq!(sum, LEAVES * (LEAVES - 1) / 2);
    // Run in the order they were woken, the 111,111 tasks would all be
    // alive at once (each level is spawned before the one below runs).
    // Newest first, a node's children finish before its older neighbours
    // start; only the fair picks start other subtrees early.
    assert!(
        peak < (LEAVES / 10) as usize,
        "{peak} tasks alive at once out of {}",
        LEAVES * 111 / 100
    );
}

/// Two tasks that hand a token back and forth until `stop` is set, or
/// `limit` round trips. Returns the round trips made.
async fn ping_pong(stop: Rc<Cell<bool>>, limit: u64) -> u64 {
    let (a_tx, a_rx) = subinterp::bounded::<u64>(0);
    let (b_tx, b_rx) = subinterp::bounded::<u64>(0);
    let echo = subinterp::spawn(async move {
        while let Ok(v) = a_rx.recv().await {
            if b_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    let mut rounds = 0;
    while !stop.get() && rounds < limit {
        a_tx.send(rounds).await.unwrap();
        b_rx.recv().await.unwrap();
        rounds += 1;
    }
    drop(a_tx);
    echo.await.unwrap();
    rounds
}

#[test]
fn a_busy_pair_does_not_starve_an_older_task() {
    // The older task is ready before the pair exists: behind everything
    // they wake.
    let rounds = on_one_interpreter("a_busy_pair_does_not_starve_an_older_task", || {
        beside_a_busy_pair(async {}, 1_000_000)
    });
    // Every 64th pick takes the oldest runnable; a round trip is a few.
    assert!(rounds < 1_000, "the older task waited {rounds} round trips");
}

#[test]
fn a_task_that_yields_in_a_loop_is_not_starved() {
    let yielder = async {
        for _ in 0..100 {
            subinterp::yield_now().await;
        }
    };
    let rounds = on_one_interpreter("a_task_that_yields_in_a_loop_is_not_starved", || {
        beside_a_busy_pair(yielder, 10_000_000)
    });
    // 100 yields, each served by one of the fair picks (every 128th pick
    // goes to the yielded tasks) while the pair keeps the front busy.
    assert!(rounds < 100 * 1_000, "100 yields took {rounds} round trips");
}

#[test]
fn yield_now_lets_every_ready_task_run_first() {
    let order = on_one_interpreter("yield_now_lets_every_ready_task_run_first", || async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        for i in 0..10 {
            let o = order.clone();
            subinterp::spawn(async move { o.borrow_mut().push(i) }).detach();
        }
        subinterp::yield_now().await;
        order.borrow_mut().push(99);
        Rc::try_unwrap(order).unwrap().into_inner()
    });
    // Newest first, and the yielder after all of them.
    assert_eq!(order, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 99]);
}

#[test]
fn a_task_woken_from_another_thread_runs_beside_a_busy_pair() {
    let rounds = watchdog(
        60,
        "a_task_woken_from_another_thread_runs_beside_a_busy_pair",
        || {
            let (tx, rx) = subinterp::bounded::<u32>(0);
            // Woken through the inbox by this thread, 100 times.
            let receiver = async move {
                let mut got = 0;
                while got < 100 {
                    got += rx.recv().await.unwrap();
                }
            };
            let interp = Interpreter::new().unwrap();
            let task = interp.spawn(move || beside_a_busy_pair(receiver, 5_000_000));
            for _ in 0..100 {
                tx.send_blocking(1).unwrap();
            }
            task.join_blocking().unwrap()
        },
    );
    // The inbox is drained every turn of 64 picks, to the front.
    assert!(rounds < 5_000_000, "the remote wakes were never served");
}
