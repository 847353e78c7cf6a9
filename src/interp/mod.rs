//! Subinterpreters and lightweight tasks.
//!
//! An [`Interpreter`] is an isolated domain: one OS thread running a
//! single-threaded executor, a timer queue, and a state registry
//! ([`state`]). Tasks are `'static` futures bound to one interpreter for
//! life, so they may hold `Rc` and `RefCell`. A [`Runtime`] is a set of
//! interpreters with a placement policy; [`run`] is a program's `main`.
//!
//! | file | room |
//! |---|---|
//! | `interpreter.rs` | [`Interpreter`], its builder and [`InterpreterStats`] |
//! | `executor.rs` | the run loop, wake paths, injection queue, shutdown |
//! | `task.rs` | [`Task`], [`TaskError`], [`WaitGroup`], [`TaskGroup`] |
//! | `runtime.rs` | [`Runtime`], [`run`], deadlock detection |
//! | `state.rs` | [`state`] |
//!
//! ```
//! use std::rc::Rc;
//! let interp = subinterp::Interpreter::new().unwrap();
//! let total = interp.spawn(|| async {
//!     let (tx, rx) = subinterp::local::bounded(1); // !Send handles, no atomics
//!     let counter = Rc::new(std::cell::Cell::new(0));
//!     let c = counter.clone();
//!     let producer = subinterp::spawn(async move {
//!         for i in 1..=10 {
//!             c.set(c.get() + 1);
//!             tx.send(i).await.unwrap();
//!         }
//!     });
//!     let mut sum = 0;
//!     while let Ok(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     producer.await.unwrap();
//!     (sum, counter.get())
//! });
//! assert_eq!(total.join_blocking().unwrap(), (55, 10));
//! ```

pub(crate) mod executor;
pub(crate) mod interpreter;
pub(crate) mod runtime;
pub(crate) mod state;
pub(crate) mod task;

pub use interpreter::{Builder, Interpreter, InterpreterStats};
pub use runtime::{run, Deadlock, Placement, Runtime, RuntimeBuilder};
pub use state::state;
pub use task::{join_all, Panic, Task, TaskError, TaskGroup, WaitGroup};

use executor::task_body;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

/// `compute` jobs running on the rayon pool (read by the deadlock monitor).
pub(crate) static COMPUTE_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Spawns a task on the current interpreter. The future may be `!Send` (and
/// so may its output: the [`Task`] handle is then `!Send` too).
///
/// # Panics
///
/// Outside an interpreter: from a plain thread use
/// [`Interpreter::spawn`], or start one with [`run`].
///
/// ```
/// use std::rc::Rc;
/// let interp = subinterp::Interpreter::new().unwrap();
/// let t = interp.spawn(|| async {
///     let data = Rc::new(vec![1, 2, 3]);
///     let d = data.clone();
///     let child = subinterp::spawn(async move { d.iter().sum::<i32>() });
///     child.await.unwrap() + data.len() as i32
/// });
/// assert_eq!(t.join_blocking().unwrap(), 9);
/// ```
pub fn spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = executor::with_local(|l| l.shared.clone()).unwrap_or_else(|| {
        panic!(
            "subinterp::spawn called outside an interpreter: from a plain thread use \
             Interpreter::spawn(|| async {{ .. }}) or Runtime::spawn, or start a program with \
             subinterp::run(async {{ .. }})"
        )
    });
    // SAFETY: `Task::start`'s contract: the runnable of a `!Send` future is
    // used and dropped on the thread that owns it, and a `!Send` output
    // stays on that thread.
    // 1. The output: `Task<T>` is `Send` only if `T` is, so a `!Send` output
    //    stays on this thread with its handle (enforced by the type system).
    // 2. The future was made on this thread, which is the interpreter's. Its
    //    first runnable is scheduled right here, through the local path onto
    //    this interpreter's run queue (or dropped here, during shutdown).
    //    Every later runnable comes from a wake after it was first polled,
    //    when it is in the live-task registry; the schedule function delivers
    //    those only to this thread, and shutdown (executor.rs, module docs)
    //    runs or drops them all here before the thread exits.
    unsafe { Task::start(shared, task_body(move || fut)) }
}

/// Runs CPU-bound `f` on rayon's thread pool and waits for its result
/// without blocking the interpreter (or the thread of any other executor).
/// A panic in `f` comes back as `Err(TaskError::Panicked)`. Dropping the
/// future does not stop `f`; its result is then dropped.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let t = interp.spawn(|| async {
///     subinterp::compute(|| (1..=1_000u64).sum::<u64>()).await
/// });
/// assert_eq!(t.join_blocking().unwrap().unwrap(), 500_500);
/// ```
pub async fn compute<F, R>(f: F) -> Result<R, TaskError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = crate::bounded(1);
    COMPUTE_IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    rayon::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.try_send(r);
        drop(tx);
        COMPUTE_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    });
    match rx.recv().await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(p)) => Err(TaskError::Panicked(Panic::new(p))),
        Err(_) => Err(TaskError::Cancelled),
    }
}

/// Lets the other ready tasks of this interpreter run before this one
/// continues (Go's `runtime.Gosched`).
///
/// The task goes behind every task that is ready now. If the others keep
/// waking each other, it still runs again within 128 picks of the run
/// queue: every 64th pick takes the oldest waiting task, in turn from the
/// run queue and from the yielded tasks.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let t = interp.spawn(|| async {
///     let flag = std::rc::Rc::new(std::cell::Cell::new(false));
///     let f = flag.clone();
///     subinterp::spawn(async move { f.set(true) }).detach();
///     subinterp::yield_now().await;
///     flag.get()
/// });
/// assert!(t.join_blocking().unwrap());
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}
