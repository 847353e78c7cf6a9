//! [`Interpreter`]: an isolated domain with its own thread, executor, timer
//! queue and state registry.

use super::executor::{current_local, task_body, Local, Shared};
use super::runtime::Monitor;
use super::task::{block_on_thread, Panic, Task, TaskError};
use crate::context::assert_may_block;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// Process-wide interpreter ids (interpreters and `block_on` executors).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn next_id() -> usize {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The owner of an interpreter: dropping the last handle shuts it down.
pub(crate) struct Owner {
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Owner {
    pub(crate) fn new(shared: Arc<Shared>) -> Owner {
        Owner {
            shared,
            thread: Mutex::new(None),
        }
    }

    fn stop(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.inbox.notify_always();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            // The last handle may be dropped by one of the interpreter's own
            // tasks: the thread is then already on its way out.
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A subinterpreter: one OS thread running a single-threaded executor for
/// its tasks, with its own timer queue and its own [`state`](crate::state).
/// At most one of its tasks runs at a time; different interpreters run in
/// parallel.
///
/// The handle is `Clone + Send + Sync`. **Shutdown cancels**: when
/// [`shutdown`](Interpreter::shutdown) is called or the last handle is
/// dropped, tasks that have not finished are cancelled (their futures are
/// dropped on the interpreter's thread, their [`Task`]s resolve to
/// `Err(TaskError::Cancelled)`), then its state is dropped and its thread
/// joined. Nothing is leaked. Call [`Task::join_blocking`] first to drain.
///
/// ```
/// use std::rc::Rc;
/// let interp = subinterp::Interpreter::new().unwrap();
/// // The closure is Send; the future it makes may hold !Send values.
/// let task = interp.spawn(|| async {
///     let shared = Rc::new(5);
///     let other = subinterp::spawn({
///         let shared = shared.clone();
///         async move { *shared * 2 }
///     });
///     other.await.unwrap() + *shared
/// });
/// assert_eq!(task.join_blocking().unwrap(), 15);
/// ```
#[derive(Clone)]
pub struct Interpreter {
    pub(crate) owner: Arc<Owner>,
}

/// Configures and starts an [`Interpreter`].
///
/// ```
/// let interp = subinterp::Interpreter::builder().name("parser").build().unwrap();
/// assert_eq!(interp.name(), "parser");
/// let thread_name = interp.call(|| std::thread::current().name().map(String::from));
/// assert_eq!(thread_name.unwrap().as_deref(), Some("parser"));
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
    pub(crate) monitor: Option<Arc<Monitor>>,
}

impl Builder {
    /// The interpreter's name, also its thread's name (default `subinterp-<id>`).
    ///
    /// ```
    /// let b = subinterp::Interpreter::builder().name("sink");
    /// assert_eq!(b.build().unwrap().name(), "sink");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// The stack size of the interpreter's thread, in bytes.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::builder().stack_size(1 << 20).build().unwrap();
    /// assert_eq!(interp.call(|| 1).unwrap(), 1);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the interpreter's thread.
    ///
    /// # Errors
    ///
    /// If the OS cannot start the thread.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::builder().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Interpreter> {
        let id = next_id();
        let name = self.name.unwrap_or_else(|| format!("subinterp-{id}"));
        let mut thread = std::thread::Builder::new().name(name.clone());
        if let Some(s) = self.stack_size {
            thread = thread.stack_size(s);
        }
        let monitor = self.monitor;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Owner>>(1);
        let handle = thread.spawn(move || {
            let shared = Arc::new(Shared::new(id, name, monitor));
            let local = Local::new(shared.clone());
            let owner = Arc::new(Owner::new(shared));
            *local.owner.borrow_mut() = Some(Arc::downgrade(&owner));
            let guard = local.enter();
            if tx.send(owner).is_err() {
                return;
            }
            let _ = local.run::<std::future::Pending<()>>(None, None);
            local.shutdown();
            drop(guard);
        })?;
        let owner = rx.recv().map_err(|_| {
            io::Error::other("subinterp: the interpreter thread exited while starting")
        })?;
        *owner.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(Interpreter { owner })
    }
}

impl Interpreter {
    /// Starts an interpreter with the default settings.
    ///
    /// # Errors
    ///
    /// If the OS cannot start its thread.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new()?;
    /// assert_eq!(interp.call(|| 2 + 2).unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Interpreter> {
        Builder::default().build()
    }

    /// A builder for a named or otherwise configured interpreter.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::builder().name("worker").build().unwrap();
    /// assert_eq!(interp.name(), "worker");
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The interpreter this code runs on (inside a task, an
    /// [`Interpreter::call`] closure, or a `block_on`/`run` main future), or
    /// `None` on a plain thread.
    ///
    /// A task that keeps the handle of its own interpreter keeps that
    /// interpreter alive until [`shutdown`](Interpreter::shutdown) is called.
    ///
    /// ```
    /// assert!(subinterp::Interpreter::current().is_none());
    /// let interp = subinterp::Interpreter::builder().name("here").build().unwrap();
    /// let name = interp.call(|| subinterp::Interpreter::current().unwrap().name().to_string());
    /// assert_eq!(name.unwrap(), "here");
    /// ```
    pub fn current() -> Option<Interpreter> {
        let local = current_local()?;
        let owner = local.owner.borrow().as_ref().and_then(Weak::upgrade)?;
        Some(Interpreter { owner })
    }

    /// The interpreter's name (also its thread's name).
    ///
    /// ```
    /// let i = subinterp::Interpreter::new().unwrap();
    /// assert!(i.name().starts_with("subinterp-"));
    /// ```
    pub fn name(&self) -> &str {
        &self.owner.shared.name
    }

    /// A process-wide unique id.
    ///
    /// ```
    /// let a = subinterp::Interpreter::new().unwrap();
    /// let b = subinterp::Interpreter::new().unwrap();
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> usize {
        self.owner.shared.id
    }

    /// Spawns a task on this interpreter. `make` is `Send` and runs there;
    /// the future it returns may be `!Send` (it never leaves the interpreter).
    /// The output crosses back, so it must be `Send`.
    ///
    /// After shutdown the task is cancelled at once.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let t = interp.spawn(|| async {
    ///     let log = RefCell::new(Vec::new()); // !Sync, held across an await
    ///     log.borrow_mut().push(1);
    ///     subinterp::sleep(std::time::Duration::from_millis(1)).await;
    ///     log.borrow_mut().push(2);
    ///     log.into_inner()
    /// });
    /// assert_eq!(t.join_blocking().unwrap(), [1, 2]);
    /// ```
    pub fn spawn<M, F>(&self, make: M) -> Task<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let shared = self.owner.shared.clone();
        let body = task_body(make);
        // SAFETY: `Task::start`'s contract: the runnable of a `!Send` future
        // is used and dropped only on the thread that can own it, and a
        // `!Send` output stays there too.
        // 1. The output is `Send` (bound above), so the `Task` may go anywhere.
        // 2. The future is `task_body(make)`. Until its first poll it holds
        //    only `make`, which is `Send`: dropping such a runnable on any
        //    thread is sound. It is first polled on this interpreter's thread
        //    (the schedule function delivers runnables only there), and from
        //    then on the task is in the live-task registry, whose shutdown
        //    protocol (executor.rs, module docs) guarantees that its runnable
        //    is only ever run or dropped on that thread.
        unsafe { Task::start(shared, body) }
    }

    /// Runs `f` on this interpreter and waits for its result (PEP 734's
    /// `Interpreter.call`). A panic in `f` comes back as
    /// `Err(TaskError::Panicked)`. Called on the interpreter itself, it runs
    /// `f` directly.
    ///
    /// # Panics
    ///
    /// Inside a task of another interpreter, where waiting would stall it:
    /// use `interp.spawn(..).await` there.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// assert_eq!(interp.call(|| "ran there").unwrap(), "ran there");
    /// assert!(interp.call(|| panic!("no")).unwrap_err().is_panic());
    /// ```
    pub fn call<F, R>(&self, f: F) -> Result<R, TaskError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let here = current_local().is_some_and(|l| l.shared.id == self.id());
        if here {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|p| TaskError::Panicked(Panic::new(p)));
        }
        assert_may_block("Interpreter::call", "interp.spawn(..).await");
        block_on_thread(self.spawn(move || async move { f() }))
    }

    /// Cancels every task, drops the interpreter's state and joins its
    /// thread, even if other handles exist (they then spawn cancelled tasks).
    /// Called from one of its own tasks, it only requests the shutdown.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// let pending = interp.spawn(|| std::future::pending::<()>());
    /// interp.shutdown();
    /// assert!(pending.join_blocking().unwrap_err().is_cancelled());
    /// ```
    pub fn shutdown(&self) {
        self.owner.stop();
    }

    /// A snapshot of this interpreter's counters, its
    /// [transfers](crate::transfer) included: `stats().transfer` counts the
    /// values packed on this interpreter's thread (sends on transfer
    /// channels from its tasks, [`Packed`](crate::transfer::Packed) values
    /// made there), by mode, with the bytes deep-copied.
    ///
    /// ```
    /// let interp = subinterp::Interpreter::new().unwrap();
    /// interp.call(|| ()).unwrap();
    /// let s = interp.stats();
    /// assert_eq!((s.spawned, s.completed, s.live), (1, 1, 0));
    /// ```
    ///
    /// Transfers count on the interpreter that packs them, the sender's:
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use subinterp::transfer::{self, TransferStats};
    ///
    /// let (a, b) = (subinterp::Interpreter::new().unwrap(), subinterp::Interpreter::new().unwrap());
    /// let (tx, rx) = transfer::bounded::<Rc<RefCell<Vec<u8>>>>(1);
    /// let sender = a.spawn(move || async move {
    ///     let local = Rc::new(RefCell::new(vec![0u8; 1000])); // interpreter-local
    ///     tx.send(local).await.unwrap(); // deep-copied here, on `a`
    ///     tx.send_copy(&Rc::new(RefCell::new(vec![1u8; 24]))).await.unwrap();
    /// });
    /// let receiver = b.spawn(move || async move {
    ///     let first = rx.recv().await.unwrap(); // rebuilt here, on `b`
    ///     let second = rx.recv().await.unwrap();
    ///     let len = first.borrow().len() + second.borrow().len();
    ///     len
    /// });
    /// sender.join_blocking().unwrap();
    /// assert_eq!(receiver.join_blocking().unwrap(), 1024);
    ///
    /// let vec_header = std::mem::size_of::<RefCell<Vec<u8>>>() as u64; // each Rc node's contents
    /// let expect = TransferStats { copied: 2, bytes_copied: 1024 + 2 * vec_header, ..Default::default() };
    /// assert_eq!(a.stats().transfer, expect);
    /// assert_eq!(b.stats().transfer, TransferStats::default()); // receiving packs nothing
    /// ```
    pub fn stats(&self) -> InterpreterStats {
        self.owner.shared.stats()
    }

    /// Tasks queued or live on this interpreter (the load that
    /// [`Placement::LeastLoaded`](crate::Placement::LeastLoaded) compares).
    pub(crate) fn load(&self) -> usize {
        let s = &self.owner.shared;
        s.stats().live as usize + s.inbox.len()
    }
}

impl Shared {
    pub(crate) fn stats(&self) -> InterpreterStats {
        let c = &self.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let spawned = get(&c.spawned);
        let completed = get(&c.completed);
        let panicked = get(&c.panicked);
        let cancelled = get(&c.cancelled);
        InterpreterStats {
            spawned,
            live: spawned.saturating_sub(completed + panicked + cancelled),
            completed,
            panicked,
            cancelled,
            polls: get(&c.polls),
            local_wakes: get(&c.local_wakes),
            remote_wakes: get(&c.remote_wakes),
            parked: Duration::from_nanos(get(&c.parked_nanos)),
            timers_fired: get(&c.timers_fired),
            transfer: self.transfer.0.snapshot() - self.transfer.1,
        }
    }
}

impl fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interpreter")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// Counters of one interpreter, from [`Interpreter::stats`].
///
/// A task counts as spawned when it first runs; `live` is spawned minus
/// completed, panicked and cancelled. Wakes are counted by path: local (from
/// the interpreter's own thread: a queue push) and remote (from any other
/// thread: through the injection queue).
///
/// ```
/// let interp = subinterp::Interpreter::new().unwrap();
/// interp.call(|| ()).unwrap();
/// println!("{}", interp.stats()); // one line, for logs
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InterpreterStats {
    /// Tasks that started running here.
    pub spawned: u64,
    /// Tasks started and not yet finished.
    pub live: u64,
    /// Tasks that returned a value.
    pub completed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Started tasks that were cancelled.
    pub cancelled: u64,
    /// Task polls.
    pub polls: u64,
    /// Wakes from the interpreter's own thread.
    pub local_wakes: u64,
    /// Wakes (and spawns) from other threads, through the injection queue,
    /// counted when the interpreter takes them out of it.
    pub remote_wakes: u64,
    /// Time the thread spent parked, idle.
    pub parked: Duration,
    /// Timers (sleeps, `after`, `tick`) that fired.
    pub timers_fired: u64,
    /// Transfers packed on this interpreter's thread since it started: each
    /// value sent on a [transfer channel](crate::transfer) from one of its
    /// tasks (counted when the send succeeds), and each
    /// [`Packed`](crate::transfer::Packed) made there. A transfer counts on
    /// the sending interpreter; unpacking on the receiver counts nothing.
    /// The sum over all interpreters (and other threads) is
    /// [`transfer::global_stats`](crate::transfer::global_stats).
    pub transfer: crate::transfer::TransferStats,
}

impl fmt::Display for InterpreterStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spawned {} live {} completed {} panicked {} cancelled {} | polls {} | wakes local {} \
             remote {} | parked {:.1} ms | timers {} | transfers shared {} moved {} copied {} \
             ({} bytes copied)",
            self.spawned,
            self.live,
            self.completed,
            self.panicked,
            self.cancelled,
            self.polls,
            self.local_wakes,
            self.remote_wakes,
            self.parked.as_secs_f64() * 1e3,
            self.timers_fired,
            self.transfer.shared,
            self.transfer.moved,
            self.transfer.copied,
            self.transfer.bytes_copied
        )
    }
}
