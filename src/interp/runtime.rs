//! [`Runtime`]: a set of interpreters with a placement policy, `block_on`,
//! [`run`], and deadlock detection.

use super::executor::{current_local, Local, MainWaker, Shared};
use super::interpreter::{next_id, Builder as InterpBuilder, Interpreter, Owner};
use super::task::Task;
use super::COMPUTE_IN_FLIGHT;
use crate::context::assert_may_block;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long everything must stay idle, with nothing happening, before
/// `block_on` reports a deadlock.
const DEFAULT_GRACE: Duration = Duration::from_millis(100);

/// Where [`Runtime::spawn`] puts a task.
///
/// ```
/// let rt = subinterp::Runtime::builder()
///     .interpreters(2)
///     .placement(subinterp::Placement::LeastLoaded)
///     .build()
///     .unwrap();
/// assert_eq!(rt.spawn(|| async { 1 }).join_blocking().unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Each spawn goes to the next interpreter in turn.
    #[default]
    RoundRobin,
    /// Each spawn goes to the interpreter with the fewest live and queued tasks.
    LeastLoaded,
}

/// `block_on` (or [`run`]) found the program deadlocked: its main future
/// waits, and nothing in the runtime can ever wake it. The message starts
/// like Go's: `all goroutines are asleep - deadlock!`.
///
/// ```
/// let r = subinterp::run(async {
///     let (_tx, rx) = subinterp::bounded::<u8>(0);
///     rx.recv().await // nobody will ever send
/// });
/// let err = r.unwrap_err();
/// assert!(err.to_string().starts_with("all goroutines are asleep - deadlock!"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Deadlock {
    message: String,
    blocked: u64,
}

impl Deadlock {
    /// The number of tasks blocked forever (the main future included).
    ///
    /// ```
    /// let err = subinterp::run(std::future::pending::<()>()).unwrap_err();
    /// assert_eq!(err.blocked_tasks(), 1);
    /// ```
    pub fn blocked_tasks(&self) -> u64 {
        self.blocked
    }
}

/// The deadlock monitor of one runtime.
///
/// Rule: the main executor of a `block_on`, when idle with its main future
/// pending and no timer of its own, checks that every interpreter of the
/// runtime is parked with an empty injection queue and no live timer, that no
/// `compute` job is in flight and that the shared timer thread has nothing
/// pending. If two such checks at least `grace` apart both succeed and no
/// wake-up reached any interpreter of the runtime in between (`activity`
/// unchanged), nothing can ever run again from inside the process's view of
/// the runtime: deadlock.
pub(crate) struct Monitor {
    members: Mutex<Vec<Weak<Shared>>>,
    /// Bumped by every remote wake or spawn into any member.
    activity: AtomicU64,
    enabled: AtomicBool,
    grace: Duration,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

impl Monitor {
    fn new(enabled: bool, grace: Duration) -> Monitor {
        Monitor {
            members: Mutex::new(Vec::new()),
            activity: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
            grace,
        }
    }

    pub(crate) fn activity(&self) {
        self.activity.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn recheck_at(&self) -> Option<Instant> {
        Some(Instant::now() + self.grace / 2)
    }

    fn members(&self) -> Vec<Arc<Shared>> {
        self.members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn all_idle(&self, me: &Shared) -> bool {
        COMPUTE_IN_FLIGHT.load(Ordering::SeqCst) == 0
            && crate::time::global_pending() == 0
            && self.members().iter().all(|s| {
                std::ptr::eq(&**s, me)
                    || s.dead.load(Ordering::SeqCst)
                    || (s.inbox.is_parked()
                        && s.inbox.is_empty()
                        && s.timers.load(Ordering::SeqCst) == 0)
            })
    }

    /// One check by an idle main executor (see the type's docs).
    pub(crate) fn check(
        &self,
        me: &Shared,
        suspect: &Cell<Option<(u64, Instant)>>,
    ) -> Option<Deadlock> {
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let seen = self.activity.load(Ordering::SeqCst);
        if !self.all_idle(me) {
            suspect.set(None);
            return None;
        }
        match suspect.get() {
            Some((before, since)) if before == seen => {
                if since.elapsed() >= self.grace {
                    suspect.set(None);
                    return Some(self.report(me));
                }
            }
            _ => suspect.set(Some((seen, Instant::now()))),
        }
        None
    }

    fn report(&self, me: &Shared) -> Deadlock {
        let main_tasks = me.stats().live + 1;
        let mut blocked = main_tasks;
        let mut detail = format!("main ({main_tasks} incl. the main future)");
        for s in self.members() {
            if std::ptr::eq(&*s, me) {
                continue;
            }
            let live = s.stats().live;
            blocked += live;
            if live > 0 {
                detail.push_str(&format!(", \"{}\" ({live})", s.name));
            }
        }
        Deadlock {
            message: format!(
                "all goroutines are asleep - deadlock!\n\n{blocked} subinterp task(s) are \
                 blocked forever: {detail}. Every interpreter of the runtime is idle, no \
                 timer is pending and no compute job is running, and nothing woke any of \
                 them for {:?}.",
                self.grace
            ),
            blocked,
        }
    }
}

pub(crate) struct RtInner {
    interpreters: Vec<Interpreter>,
    placement: Placement,
    next: AtomicUsize,
    monitor: Arc<Monitor>,
}

/// A set of interpreters (default: one per core) with a placement policy:
/// Go's runtime with `GOMAXPROCS`. Cloning gives another handle to the same
/// runtime; dropping the last one shuts every interpreter down (cancelling
/// their tasks, see [`Interpreter`]).
///
/// ```
/// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
/// let a = rt.spawn(|| async { 1 });
/// let b = rt.spawn(|| async { 2 });
/// assert_eq!(a.join_blocking().unwrap() + b.join_blocking().unwrap(), 3);
/// assert_eq!(rt.len(), 2);
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RtInner>,
}

/// Configures a [`Runtime`].
///
/// ```
/// let rt = subinterp::Runtime::builder()
///     .interpreters(3)
///     .name_prefix("stage")
///     .build()
///     .unwrap();
/// assert_eq!(rt.interpreter(2).name(), "stage-2");
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    interpreters: Option<usize>,
    placement: Placement,
    prefix: String,
    detect: bool,
    grace: Duration,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            interpreters: None,
            placement: Placement::RoundRobin,
            prefix: "subinterp".into(),
            detect: true,
            grace: DEFAULT_GRACE,
        }
    }
}

impl RuntimeBuilder {
    /// The number of interpreters (default: one per available core). At
    /// least one.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(1).build().unwrap();
    /// assert_eq!(rt.len(), 1);
    /// ```
    pub fn interpreters(mut self, n: usize) -> Self {
        self.interpreters = Some(n.max(1));
        self
    }

    /// The placement policy of [`Runtime::spawn`] (default round-robin).
    ///
    /// ```
    /// let b = subinterp::Runtime::builder().placement(subinterp::Placement::LeastLoaded);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Interpreter names are `<prefix>-<index>` (default prefix `subinterp`).
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(1).name_prefix("io").build().unwrap();
    /// assert_eq!(rt.interpreter(0).name(), "io-0");
    /// ```
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Turns deadlock detection on or off (default on). Turn it off when a
    /// thread outside the runtime may wake its tasks after a long silence.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().deadlock_detection(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn deadlock_detection(mut self, on: bool) -> Self {
        self.detect = on;
        self
    }

    /// How long everything must stay silent before a deadlock is reported
    /// (default 100 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = subinterp::Runtime::builder().deadlock_grace(Duration::from_secs(1)).build();
    /// assert!(rt.is_ok());
    /// ```
    pub fn deadlock_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Starts the interpreters.
    ///
    /// # Errors
    ///
    /// If the OS cannot start a thread.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let n = self.interpreters.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let monitor = Arc::new(Monitor::new(self.detect, self.grace));
        let mut interpreters = Vec::with_capacity(n);
        for i in 0..n {
            let mut b = InterpBuilder::default().name(format!("{}-{i}", self.prefix));
            b.monitor = Some(monitor.clone());
            let interp = b.build()?;
            monitor
                .members
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::downgrade(&interp.owner.shared));
            interpreters.push(interp);
        }
        let inner = Arc::new(RtInner {
            interpreters,
            placement: self.placement,
            next: AtomicUsize::new(0),
            monitor,
        });
        for interp in &inner.interpreters {
            let _ = interp.owner.shared.runtime.set(Arc::downgrade(&inner));
        }
        Ok(Runtime { inner })
    }
}

impl Runtime {
    /// A runtime with the default settings (one interpreter per core).
    ///
    /// # Errors
    ///
    /// If the OS cannot start a thread.
    ///
    /// ```
    /// let rt = subinterp::Runtime::new()?;
    /// assert!(rt.len() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        RuntimeBuilder::default().build()
    }

    /// A builder for a configured runtime.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// assert_eq!(rt.len(), 2);
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The runtime this code runs in (inside one of its interpreters or its
    /// `block_on` main future), or `None`.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(1).build().unwrap();
    /// let n = rt.block_on(async { subinterp::Runtime::current().unwrap().len() });
    /// assert_eq!(n.unwrap(), 1);
    /// ```
    pub fn current() -> Option<Runtime> {
        let local = current_local()?;
        let inner = local.shared.runtime.get().and_then(Weak::upgrade)?;
        Some(Runtime { inner })
    }

    /// The number of interpreters.
    ///
    /// ```
    /// assert_eq!(subinterp::Runtime::builder().interpreters(2).build().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.interpreters.len()
    }

    /// Always false: a runtime has at least one interpreter.
    ///
    /// ```
    /// assert!(!subinterp::Runtime::new().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.interpreters.is_empty()
    }

    /// Interpreter `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// let t = rt.interpreter(1).spawn(|| async { 7 });
    /// assert_eq!(t.join_blocking().unwrap(), 7);
    /// ```
    pub fn interpreter(&self, i: usize) -> &Interpreter {
        &self.inner.interpreters[i]
    }

    /// All interpreters, in index order.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// for interp in rt.interpreters() {
    ///     println!("{}: {}", interp.name(), interp.stats());
    /// }
    /// ```
    pub fn interpreters(&self) -> &[Interpreter] {
        &self.inner.interpreters
    }

    /// Spawns a task on the interpreter the placement policy picks (see
    /// [`Interpreter::spawn`]).
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// let tasks: Vec<_> = (0..4).map(|i| rt.spawn(move || async move { i })).collect();
    /// let sum: i32 = tasks.into_iter().map(|t| t.join_blocking().unwrap()).sum();
    /// assert_eq!(sum, 6);
    /// ```
    pub fn spawn<M, F>(&self, make: M) -> Task<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.pick().spawn(make)
    }

    fn pick(&self) -> &Interpreter {
        let all = &self.inner.interpreters;
        match self.inner.placement {
            Placement::RoundRobin => {
                &all[self.inner.next.fetch_add(1, Ordering::Relaxed) % all.len()]
            }
            Placement::LeastLoaded => all
                .iter()
                .min_by_key(|i| i.load())
                .expect("at least one interpreter"),
        }
    }

    /// Runs `fut` to completion on the calling thread, which becomes an
    /// interpreter of this runtime for the duration (so `fut` need not be
    /// `Send`, and [`spawn`](crate::spawn) inside it spawns onto this
    /// thread). Tasks spawned onto the calling thread that are still pending
    /// when `fut` completes are cancelled.
    ///
    /// # Errors
    ///
    /// [`Deadlock`] when `fut` waits and nothing can wake it: the calling
    /// thread and every interpreter of the runtime are idle, no timer is
    /// pending on any of them or on the shared timer thread, no
    /// [`compute`](crate::compute) job is in flight, and no wake-up or
    /// spawn reached any of them for the grace period (100 ms by default,
    /// see [`RuntimeBuilder::deadlock_grace`]).
    ///
    /// Threads outside the runtime are invisible to this check: one that
    /// holds a `Sender` and sends to a blocked task only after a longer
    /// silence is mistaken for a deadlock. A wake from such a thread within
    /// the grace period restarts the check, so a thread that keeps sending
    /// prevents detection; for one that may stay silent longer, disable
    /// detection ([`RuntimeBuilder::deadlock_detection`]) or raise the grace.
    ///
    /// # Panics
    ///
    /// Inside a task (use `.await`), or on a thread already inside `block_on`.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// let out = rt.block_on(async {
    ///     let rt = subinterp::Runtime::current().unwrap();
    ///     let (tx, rx) = subinterp::bounded(0);
    ///     rt.spawn(move || async move { tx.send("from elsewhere").await.unwrap() }).detach();
    ///     rx.recv().await.unwrap()
    /// });
    /// assert_eq!(out.unwrap(), "from elsewhere");
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, Deadlock> {
        assert_may_block("Runtime::block_on", "the future's `.await`");
        let monitor = self.inner.monitor.clone();
        let shared = Arc::new(Shared::new(next_id(), "main".into(), Some(monitor.clone())));
        monitor
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&shared));
        let local = Local::new(shared.clone());
        let owner = Arc::new(Owner::new(shared.clone()));
        *local.owner.borrow_mut() = Some(Arc::downgrade(&owner));
        let _ = shared.runtime.set(Arc::downgrade(&self.inner));
        let guard = local.enter();
        let waker = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared: shared.clone(),
        });
        let fut = std::pin::pin!(fut);
        let result = local.run(Some(fut), Some(&waker));
        local.shutdown();
        drop(guard);
        drop(owner);
        monitor
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), &*shared));
        result.map(|o| o.expect("the main future completed"))
    }

    /// Shuts every interpreter down now (see [`Interpreter::shutdown`]),
    /// even if other handles to this runtime exist.
    ///
    /// ```
    /// let rt = subinterp::Runtime::builder().interpreters(2).build().unwrap();
    /// let t = rt.spawn(|| std::future::pending::<()>());
    /// rt.shutdown();
    /// assert!(t.join_blocking().unwrap_err().is_cancelled());
    /// ```
    pub fn shutdown(&self) {
        for i in &self.inner.interpreters {
            i.shutdown();
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("interpreters", &self.inner.interpreters)
            .field("placement", &self.inner.placement)
            .finish()
    }
}

/// The `main` of a goroutine-style program: starts the default [`Runtime`]
/// (one interpreter per core), runs `main` on the calling thread (which joins
/// the runtime as one more interpreter, so `main` need not be `Send`),
/// returns its output, and shuts everything down (tasks still pending are
/// cancelled, as a Go program exits when `main` returns).
///
/// # Errors
///
/// [`Deadlock`] if `main` waits and nothing can ever wake it; see
/// [`Runtime::block_on`] for exactly when.
///
/// # Panics
///
/// If the runtime's threads cannot be started, or inside a task.
///
/// ```
/// let sum = subinterp::run(async {
///     let rt = subinterp::Runtime::current().unwrap();
///     let (tx, rx) = subinterp::unbounded();
///     for i in 0..10u64 {
///         let tx = tx.clone();
///         rt.spawn(move || async move { tx.send(i).await.unwrap() }).detach();
///     }
///     drop(tx);
///     let mut sum = 0;
///     while let Ok(v) = rx.recv().await {
///         sum += v;
///     }
///     sum
/// });
/// assert_eq!(sum.unwrap(), 45);
/// ```
pub fn run<F: Future>(main: F) -> Result<F::Output, Deadlock> {
    let rt = Runtime::new().expect("subinterp::run: cannot start the runtime's interpreters");
    let out = rt.block_on(main);
    drop(rt);
    out
}
