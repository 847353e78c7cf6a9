//! Task handles, task errors, and the Go-like conveniences built on them:
//! [`WaitGroup`] and [`TaskGroup`] / [`join_all`].

use crate::context::assert_may_block;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// The payload of a panic caught in a task (or in a [`compute`](crate::compute)
/// job), with its message when the payload is a string.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let err = interp.spawn(|| async { panic!("boom") }).join_blocking().unwrap_err();
/// match err {
///     subinterp::TaskError::Panicked(p) => assert_eq!(p.message(), "boom"),
///     other => panic!("{other}"),
/// }
/// ```
pub struct Panic {
    message: String,
    payload: Mutex<Box<dyn Any + Send>>,
}

impl Panic {
    pub(crate) fn new(payload: Box<dyn Any + Send>) -> Panic {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic with a non-string payload".to_string()
        };
        Panic {
            message,
            payload: Mutex::new(payload),
        }
    }

    /// The panic message (`"a panic with a non-string payload"` for other payloads).
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let r = interp.call(|| panic!("bad {}", 1));
    /// assert_eq!(r.unwrap_err().panic().unwrap().message(), "bad 1");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The original payload, as `std::panic::catch_unwind` would give it.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let p = interp.call(|| std::panic::panic_any(7u8)).unwrap_err().into_panic().unwrap();
    /// assert_eq!(p.into_payload().downcast_ref::<u8>(), Some(&7));
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.payload.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// Resumes unwinding with the original payload (re-raises the panic here).
    ///
    /// ```should_panic
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// if let Err(e) = interp.call(|| panic!("again")) {
    ///     e.into_panic().unwrap().resume();
    /// }
    /// ```
    pub fn resume(self) -> ! {
        std::panic::resume_unwind(self.into_payload())
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&self.message).finish()
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a task produced no value.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let t = interp.spawn(|| async { panic!("oops") });
/// let e = t.join_blocking().unwrap_err();
/// assert!(e.is_panic());
/// assert_eq!(e.to_string(), "task panicked: oops");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task panicked; the panic is here.
    #[error("task panicked: {0}")]
    Panicked(Panic),
    /// The task was cancelled before it finished: its interpreter shut down
    /// (or had already, when it was spawned). A task cancelled through its
    /// handle ([`Task::cancel`], or dropping the [`Task`]) has no handle left
    /// to report it; a [`TaskGroup`] reports its members this way when their
    /// interpreter goes away.
    #[error("task was cancelled")]
    Cancelled,
}

impl TaskError {
    /// True if the task panicked.
    ///
    /// ```
    /// assert!(!subinterp::TaskError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// True if the task was cancelled.
    ///
    /// ```
    /// assert!(subinterp::TaskError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The panic, if the task panicked.
    ///
    /// ```
    /// assert!(subinterp::TaskError::Cancelled.panic().is_none());
    /// ```
    pub fn panic(&self) -> Option<&Panic> {
        match self {
            TaskError::Panicked(p) => Some(p),
            TaskError::Cancelled => None,
        }
    }

    /// The panic, by value, if the task panicked.
    ///
    /// ```
    /// assert!(subinterp::TaskError::Cancelled.into_panic().is_none());
    /// ```
    pub fn into_panic(self) -> Option<Panic> {
        match self {
            TaskError::Panicked(p) => Some(p),
            TaskError::Cancelled => None,
        }
    }
}

/// A handle to a spawned task: a future of its result.
///
/// Await it (from a task) or [`join_blocking`](Task::join_blocking) (from a
/// thread) for `Ok(output)`, `Err(TaskError::Panicked)` or
/// `Err(TaskError::Cancelled)`.
///
/// **Dropping the handle cancels the task** (as in async-task and smol):
/// call [`detach`](Task::detach) to let it run on its own, like a goroutine.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let task = interp.spawn(|| async { 6 * 7 });
/// assert_eq!(task.join_blocking().unwrap(), 42);
/// ```
#[must_use = "dropping a Task cancels it; call .detach() to let it run"]
pub struct Task<T> {
    pub(crate) inner:
        async_task::FallibleTask<Result<T, Panic>, std::sync::Arc<super::executor::Shared>>,
}

impl<T> Task<T> {
    /// Makes the cell of a task of interpreter `shared` running `body` (a
    /// `task_body`), schedules its first run and returns its handle.
    ///
    /// # Safety
    ///
    /// async-task's contract for a `!Send` future and output: the caller
    /// guarantees that `body`'s runnable is run and dropped only on the
    /// thread that can own it, and that a `!Send` output stays there (each
    /// call site says how). The schedule function and the metadata are this
    /// function's part: a plain `fn` and an `Arc<Shared>`, both
    /// `Send + Sync + 'static`.
    pub(crate) unsafe fn start<B>(shared: Arc<super::executor::Shared>, body: B) -> Task<T>
    where
        B: Future<Output = Result<T, Panic>> + 'static,
        T: 'static,
    {
        // SAFETY: the caller's contract (above) and the `'static` bounds.
        let (runnable, task) = unsafe {
            async_task::Builder::new().metadata(shared).spawn_unchecked(
                move |_| body,
                async_task::WithInfo(super::executor::schedule_task),
            )
        };
        runnable.schedule();
        Task {
            inner: task.fallible(),
        }
    }

    /// Cancels the task: its future is dropped on its interpreter without
    /// being polled again (if it is being polled right now, right after that
    /// poll). Its output, if it had finished already, is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let task = interp.spawn(|| async {
    ///     subinterp::sleep(Duration::from_secs(3600)).await;
    /// });
    /// task.cancel(); // returns at once; the hour-long sleep never ends
    /// ```
    pub fn cancel(self) {
        drop(self);
    }

    /// Lets the task run to completion on its own; its output is dropped.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let (tx, rx) = subinterp::bounded(1);
    /// interp.spawn(move || async move { tx.send(1).await.unwrap() }).detach();
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// ```
    pub fn detach(self) {
        self.inner.detach();
    }

    /// True once the task has finished (its result is ready) or was cancelled.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let t = interp.spawn(|| async { 1 });
    /// while !t.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(t.join_blocking().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Blocks this thread until the task finishes.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task, where it would stall the interpreter: use
    /// `task.await` there.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let t = interp.spawn(|| async { "done" });
    /// assert_eq!(t.join_blocking().unwrap(), "done");
    /// ```
    pub fn join_blocking(self) -> Result<T, TaskError> {
        assert_may_block("Task::join_blocking", "task.await");
        block_on_thread(self)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner).poll(cx).map(|r| match r {
            Some(Ok(v)) => Ok(v),
            Some(Err(p)) => Err(TaskError::Panicked(p)),
            None => Err(TaskError::Cancelled),
        })
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

/// Wakes a parked thread.
struct ThreadWaker {
    thread: std::thread::Thread,
    woken: std::sync::atomic::AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, std::sync::atomic::Ordering::Release);
        self.thread.unpark();
    }
}

/// Polls `fut` to completion on this thread, parking between polls.
pub(crate) fn block_on_thread<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let w = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: std::sync::atomic::AtomicBool::new(false),
    });
    let waker = Waker::from(w.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        while !w.woken.swap(false, std::sync::atomic::Ordering::Acquire) {
            std::thread::park();
        }
    }
}

// ---------------------------------------------------------------------------
// WaitGroup
// ---------------------------------------------------------------------------

struct WgState {
    count: usize,
    wakers: Vec<Waker>,
}

struct WgInner {
    state: Mutex<WgState>,
    zero: Condvar,
}

/// Go's `sync.WaitGroup`: [`add`](WaitGroup::add) before starting work,
/// [`done`](WaitGroup::done) when a piece finishes, and
/// [`wait`](WaitGroup::wait)`.await` (or [`wait_blocking`](WaitGroup::wait_blocking))
/// until the count is back to zero. Clones share the count.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let wg = subinterp::WaitGroup::new();
/// for _ in 0..4 {
///     wg.add(1);
///     let wg = wg.clone();
///     interp.spawn(move || async move { wg.done() }).detach();
/// }
/// wg.wait_blocking();
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<WgInner>,
}

impl WaitGroup {
    /// A wait group with a count of zero.
    ///
    /// ```
    /// let wg = subinterp::WaitGroup::new();
    /// wg.wait_blocking(); // zero: returns at once
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(WgInner {
                state: Mutex::new(WgState {
                    count: 0,
                    wakers: Vec::new(),
                }),
                zero: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WgState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `n` to the count.
    ///
    /// ```
    /// let wg = subinterp::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn add(&self, n: usize) {
        self.lock().count += n;
    }

    /// Subtracts one from the count, waking the waiters when it reaches zero.
    ///
    /// # Panics
    ///
    /// If the count is already zero (Go: "negative WaitGroup counter").
    ///
    /// ```
    /// let wg = subinterp::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn done(&self) {
        let wakers = {
            let mut s = self.lock();
            assert!(s.count > 0, "WaitGroup::done called more times than add");
            s.count -= 1;
            if s.count > 0 {
                return;
            }
            std::mem::take(&mut s.wakers)
        };
        self.inner.zero.notify_all();
        for w in wakers {
            w.wake();
        }
    }

    /// The current count.
    ///
    /// ```
    /// assert_eq!(subinterp::WaitGroup::new().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.lock().count
    }

    /// Waits until the count is zero.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let wg = subinterp::WaitGroup::new();
    /// wg.add(1);
    /// let w2 = wg.clone();
    /// let waiter = interp.spawn(move || async move { w2.wait().await; "all done" });
    /// wg.done();
    /// assert_eq!(waiter.join_blocking().unwrap(), "all done");
    /// ```
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            let mut s = self.lock();
            if s.count == 0 {
                return Poll::Ready(());
            }
            if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                s.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// Blocks this thread until the count is zero.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task: use `wg.wait().await` there.
    ///
    /// ```
    /// let wg = subinterp::WaitGroup::new();
    /// wg.add(1);
    /// let w2 = wg.clone();
    /// std::thread::spawn(move || w2.done());
    /// wg.wait_blocking();
    /// ```
    pub fn wait_blocking(&self) {
        assert_may_block("WaitGroup::wait_blocking", "wg.wait().await");
        let mut s = self.lock();
        while s.count > 0 {
            s = self.inner.zero.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// TaskGroup and join_all
// ---------------------------------------------------------------------------

/// Waits for every task and reports every result, in the order given.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let tasks: Vec<_> = (0..3).map(|i| interp.spawn(move || async move { i * 10 })).collect();
/// let results = futures::executor::block_on(subinterp::join_all(tasks));
/// assert_eq!(results.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 10, 20]);
/// ```
pub async fn join_all<T>(tasks: impl IntoIterator<Item = Task<T>>) -> Vec<Result<T, TaskError>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await);
    }
    out
}

/// A group of tasks whose results are all reported, like tokio's `JoinSet`
/// (and Go's `errgroup` without the cancellation). Dropping the group
/// cancels the tasks still in it.
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// let mut group = subinterp::TaskGroup::new();
/// for i in 0..4u64 {
///     group.push(interp.spawn(move || async move { i * i }));
/// }
/// let mut sum = 0;
/// for r in group.join_all_blocking() {
///     sum += r.unwrap();
/// }
/// assert_eq!(sum, 0 + 1 + 4 + 9);
/// ```
pub struct TaskGroup<T> {
    tasks: Vec<Task<T>>,
}

impl<T> TaskGroup<T> {
    /// An empty group.
    ///
    /// ```
    /// let g = subinterp::TaskGroup::<()>::new();
    /// assert!(g.is_empty());
    /// ```
    pub fn new() -> TaskGroup<T> {
        TaskGroup { tasks: Vec::new() }
    }

    /// Adds a task to the group.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let mut g = subinterp::TaskGroup::new();
    /// g.push(interp.spawn(|| async { 1 }));
    /// assert_eq!(g.len(), 1);
    /// ```
    pub fn push(&mut self, task: Task<T>) {
        self.tasks.push(task);
    }

    /// Spawns `fut` on the current interpreter and adds it to the group.
    ///
    /// # Panics
    ///
    /// Outside an interpreter (see [`spawn`](crate::spawn)).
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let total = interp.spawn(|| async {
    ///     let mut g = subinterp::TaskGroup::new();
    ///     for i in 1..=3 {
    ///         g.spawn(async move { i });
    ///     }
    ///     g.join_all().await.into_iter().map(Result::unwrap).sum::<i32>()
    /// });
    /// assert_eq!(total.join_blocking().unwrap(), 6);
    /// ```
    pub fn spawn<F>(&mut self, fut: F)
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.tasks.push(crate::spawn(fut));
    }

    /// The number of tasks not yet reported.
    ///
    /// ```
    /// assert_eq!(subinterp::TaskGroup::<u8>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if no task is left to report.
    ///
    /// ```
    /// assert!(subinterp::TaskGroup::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The result of the next task to finish (in completion order), or
    /// `None` when the group is empty.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let out = interp.spawn(|| async {
    ///     let mut g = subinterp::TaskGroup::new();
    ///     g.spawn(async { 1 });
    ///     let mut seen = vec![];
    ///     while let Some(r) = g.join_next().await {
    ///         seen.push(r.unwrap());
    ///     }
    ///     seen
    /// });
    /// assert_eq!(out.join_blocking().unwrap(), [1]);
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        if self.tasks.is_empty() {
            return None;
        }
        std::future::poll_fn(|cx| {
            for i in 0..self.tasks.len() {
                if let Poll::Ready(r) = Pin::new(&mut self.tasks[i]).poll(cx) {
                    drop(self.tasks.swap_remove(i));
                    return Poll::Ready(Some(r));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Waits for every task; results in the order the tasks were added.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let mut g = subinterp::TaskGroup::new();
    /// g.push(interp.spawn(|| async { 'a' }));
    /// let r = interp.spawn(move || async move { g.join_all().await });
    /// assert_eq!(r.join_blocking().unwrap()[0].as_ref().unwrap(), &'a');
    /// ```
    pub async fn join_all(&mut self) -> Vec<Result<T, TaskError>> {
        join_all(std::mem::take(&mut self.tasks)).await
    }

    /// Blocks this thread until every task finishes; results in the order
    /// the tasks were added.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task: use `group.join_all().await` there.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let mut g = subinterp::TaskGroup::new();
    /// g.push(interp.spawn(|| async { 5 }));
    /// assert_eq!(g.join_all_blocking()[0].as_ref().unwrap(), &5);
    /// ```
    pub fn join_all_blocking(&mut self) -> Vec<Result<T, TaskError>> {
        assert_may_block("TaskGroup::join_all_blocking", "group.join_all().await");
        block_on_thread(self.join_all())
    }

    /// Cancels every task still in the group.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let mut g = subinterp::TaskGroup::new();
    /// g.push(interp.spawn(|| std::future::pending::<()>()));
    /// g.cancel_all();
    /// assert!(g.is_empty());
    /// ```
    pub fn cancel_all(&mut self) {
        self.tasks.clear();
    }
}

impl<T> Default for TaskGroup<T> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("len", &self.tasks.len())
            .finish()
    }
}
