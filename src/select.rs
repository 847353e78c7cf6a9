//! Go's `select`: wait on several send and receive cases, run exactly one.
//!
//! Three forms share one protocol: [`select!`](crate::select!) (async),
//! [`select_blocking!`](crate::select_blocking!) (parks the thread), and the
//! [`Select`] builder for a number of cases known only at run time.
//!
//! # The protocol
//!
//! One select is one [`Waiter`] whose state all its cases share.
//!
//! 1. *Fast path.* In a random order (Go's fairness; declaration order when
//!    biased), each case tries to complete at once, locking only its own
//!    channel. The first that can, runs.
//! 2. *Atomic check.* Otherwise every channel of the select is locked, in
//!    address order (Go's `sellock`: no deadlock between selects, and a
//!    channel named twice is locked once), and the cases are tried again.
//!    Only if none is ready *at this moment* does `default` run — so when some
//!    case is always ready, `default` never fires (Go's TestNonblockSelectRace).
//! 3. *Wait.* Still under all locks, every case leaves an entry in its channel:
//!    a receive leaves an empty slot, a send leaves an *offer* holding its
//!    value. The locks are released and the select waits.
//! 4. *Claim.* A counterpart that can complete case `i` claims the waiter with
//!    one CAS (`WAITING -> selected(i)`) and moves the value into the slot or
//!    out of the offer. Every other case fails its claim: no case fires twice,
//!    and an offer that was not taken still holds its value.
//! 5. *Resolve.* The select aborts its waiter (CAS `WAITING -> ABORTED`); if
//!    that fails, the case that won is the one that fired. It removes its
//!    entries: unsent values come back, the fired receive's value comes out
//!    of its slot. A select never claims its own entries (Go's
//!    TestSelfSelect), so a select that sends and receives on one rendezvous
//!    channel waits for somebody else.
//!
//! A select closed over by a channel's `close` is notified and starts over:
//! a case on a closed channel is ready (receive: `Err(RecvError)`; send:
//! `Err(SendError(v))`).

use crate::chan::waiters::{with_thread_waiter, DeferredList, Entry, Waiter};
use crate::chan::RawLock;
use crate::chan::{Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError};
use crate::context::assert_may_block;
use crate::sync::Arc;
use crate::transfer::{self, Mode, Transfer, Unpack};
use smallvec::SmallVec;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

type Order = SmallVec<[usize; 8]>;

mod sealed {
    pub trait Sealed {}
}

/// One case of a select. Implemented by the crate's receive and send cases
/// only (sealed); public so that the macros can name it.
#[doc(hidden)]
#[allow(private_interfaces)]
pub trait Case: sealed::Sealed {
    /// Pushes the channel's locks (none for a case that never fires).
    fn raw_locks(&self, out: &mut SmallVec<[*const RawLock; 8]>);
    /// Completes the case now if it is ready, locking its channel.
    fn try_now(&mut self) -> bool;
    /// As `try_now`, with the channel already locked.
    ///
    /// # Safety
    /// The caller holds the lock named by `raw_lock`.
    unsafe fn try_locked(&mut self) -> bool;
    /// Leaves this case's entry in its channel.
    ///
    /// # Safety
    /// The caller holds the lock named by `raw_lock`.
    unsafe fn register_locked(&mut self, waiter: &Arc<Waiter>, index: usize, waker: Option<&Waker>);
    /// Moves the wake-ups that this case's channel owes into `out`, to run
    /// after the locks are released.
    ///
    /// # Safety
    /// The caller holds the lock named by `raw_lock`.
    unsafe fn take_deferred(&mut self, out: &mut DeferredList);
    /// Removes this case's entry, taking back an unsent value, or taking the
    /// received value if this case fired. With `redeliver`, a received value
    /// goes back to the channel instead (the select was dropped).
    fn unregister(&mut self, waiter: &Arc<Waiter>, index: usize, redeliver: bool);
    /// True while a received value or a send's outcome waits to be taken.
    fn has_result(&self) -> bool;
}

/// Where a case's channel handle lives.
enum Target<'a, H> {
    None,
    Borrowed(&'a H),
    Owned(H),
}

impl<H> Target<'_, H> {
    fn get(&self) -> Option<&H> {
        match self {
            Target::None => None,
            Target::Borrowed(h) => Some(h),
            Target::Owned(h) => Some(h),
        }
    }
}

/// What a receive case may name: `&Receiver<T>`, an owned `Receiver<T>`
/// (such as `after(d)`), or an `Option` of either, where `None` never fires
/// (Go's nil channel).
#[doc(hidden)]
pub trait IntoRecvTarget<'a, T> {
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn into_target(self) -> Target<'a, Receiver<T>>;
}

/// What a send case may name: `&Sender<T>`, an owned `Sender<T>`, or an
/// `Option` of either, where `None` never fires (Go's nil channel).
#[doc(hidden)]
pub trait IntoSendTarget<'a, T> {
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn into_target(self) -> Target<'a, Sender<T>>;
}

macro_rules! targets {
    ($trait:ident, $handle:ident) => {
        #[allow(private_interfaces)]
        impl<'a, T> $trait<'a, T> for &'a $handle<T> {
            fn into_target(self) -> Target<'a, $handle<T>> {
                Target::Borrowed(self)
            }
        }
        #[allow(private_interfaces)]
        impl<'a, T> $trait<'a, T> for $handle<T> {
            fn into_target(self) -> Target<'a, $handle<T>> {
                Target::Owned(self)
            }
        }
        #[allow(private_interfaces)]
        impl<'a, T> $trait<'a, T> for Option<&'a $handle<T>> {
            fn into_target(self) -> Target<'a, $handle<T>> {
                self.map_or(Target::None, Target::Borrowed)
            }
        }
        #[allow(private_interfaces)]
        impl<'a, T> $trait<'a, T> for Option<$handle<T>> {
            fn into_target(self) -> Target<'a, $handle<T>> {
                self.map_or(Target::None, Target::Owned)
            }
        }
    };
}
targets!(IntoRecvTarget, Receiver);
targets!(IntoSendTarget, Sender);

/// A receive case: its result is `Result<T, RecvError>`.
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    rx: Target<'a, Receiver<T>>,
    result: Option<Result<T, RecvError>>,
    /// An entry of this case is in its channel (this round).
    registered: bool,
}

/// A send case: it holds its value until the case runs, and gives it back
/// if it did not.
#[doc(hidden)]
pub struct SendCase<'a, T> {
    tx: Target<'a, Sender<T>>,
    value: Option<T>,
    result: Option<Result<(), SendError<T>>>,
    /// This case's offer is in its channel (this round).
    registered: bool,
}

impl<'a, T> RecvCase<'a, T> {
    #[doc(hidden)]
    pub fn new(rx: impl IntoRecvTarget<'a, T>) -> Self {
        RecvCase {
            rx: rx.into_target(),
            result: None,
            registered: false,
        }
    }

    /// The outcome of a case that fired.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<T, RecvError> {
        self.result.expect("subinterp: select case did not fire")
    }

    fn settle(&mut self, r: Result<T, TryRecvError>) -> bool {
        match r {
            Ok(v) => self.result = Some(Ok(v)),
            Err(TryRecvError::Closed) => self.result = Some(Err(RecvError)),
            Err(TryRecvError::Empty) => return false,
        }
        true
    }
}

impl<'a, T> SendCase<'a, T> {
    #[doc(hidden)]
    pub fn new(tx: impl IntoSendTarget<'a, T>, value: T) -> Self {
        SendCase {
            tx: tx.into_target(),
            value: Some(value),
            result: None,
            registered: false,
        }
    }

    /// The outcome of a case that fired.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<(), SendError<T>> {
        self.result.expect("subinterp: select case did not fire")
    }

    fn settle(&mut self, r: Result<(), TrySendError<T>>) -> bool {
        match r {
            Ok(()) => self.result = Some(Ok(())),
            Err(TrySendError::Closed(v)) => self.result = Some(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                self.value = Some(v);
                return false;
            }
        }
        true
    }
}

impl<T> sealed::Sealed for RecvCase<'_, T> {}
impl<T> sealed::Sealed for SendCase<'_, T> {}

#[allow(private_interfaces)]
impl<T> Case for RecvCase<'_, T> {
    // SAFETY: the contract of `Case::take_deferred`: the caller holds this channel's lock.
    unsafe fn take_deferred(&mut self, out: &mut DeferredList) {
        let Some(h) = self.rx.get() else { return };
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { h.chan.assume_locked() };
        inner.take_deferred(out);
    }

    fn raw_locks(&self, out: &mut SmallVec<[*const RawLock; 8]>) {
        if let Some(rx) = self.rx.get() {
            rx.chan.raw_locks(out);
        }
    }

    fn try_now(&mut self) -> bool {
        let Some(rx) = self.rx.get() else {
            return false;
        };
        if self.result.is_some() {
            return false;
        }
        let r = rx.chan.try_recv();
        self.settle(r)
    }

    // SAFETY: the contract of `Case::try_locked`: the caller holds this channel's lock.
    unsafe fn try_locked(&mut self) -> bool {
        let Some(rx) = self.rx.get() else {
            return false;
        };
        if self.result.is_some() {
            return false;
        }
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { rx.chan.assume_locked() };
        let r = inner.try_recv();
        self.settle(r)
    }

    // SAFETY: the contract of `Case::register_locked`: the caller holds this channel's lock.
    unsafe fn register_locked(
        &mut self,
        waiter: &Arc<Waiter>,
        index: usize,
        waker: Option<&Waker>,
    ) {
        let Some(rx) = self.rx.get() else { return };
        if self.result.is_some() {
            return;
        }
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { rx.chan.assume_locked() };
        inner.push_receiver(Entry::new(waiter, index, waker));
        self.registered = true;
    }

    fn unregister(&mut self, waiter: &Arc<Waiter>, index: usize, redeliver: bool) {
        let Some(rx) = self.rx.get() else { return };
        if !std::mem::take(&mut self.registered) {
            return;
        }
        let mut inner = rx.chan.lock();
        if let Some(Some(v)) = inner.remove_recv(waiter, index) {
            if redeliver {
                inner.redeliver(v);
            } else {
                self.result = Some(Ok(v));
            }
        }
    }

    fn has_result(&self) -> bool {
        self.result.is_some()
    }
}

#[allow(private_interfaces)]
impl<T> Case for SendCase<'_, T> {
    // SAFETY: the contract of `Case::take_deferred`: the caller holds this channel's lock.
    unsafe fn take_deferred(&mut self, out: &mut DeferredList) {
        let Some(h) = self.tx.get() else { return };
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { h.chan.assume_locked() };
        inner.take_deferred(out);
    }

    fn raw_locks(&self, out: &mut SmallVec<[*const RawLock; 8]>) {
        if let Some(tx) = self.tx.get() {
            tx.chan.raw_locks(out);
        }
    }

    fn try_now(&mut self) -> bool {
        let Some(tx) = self.tx.get() else {
            return false;
        };
        let Some(v) = self.value.take() else {
            return false;
        };
        let r = tx.chan.try_send(v);
        self.settle(r)
    }

    // SAFETY: the contract of `Case::try_locked`: the caller holds this channel's lock.
    unsafe fn try_locked(&mut self) -> bool {
        let Some(tx) = self.tx.get() else {
            return false;
        };
        let Some(v) = self.value.take() else {
            return false;
        };
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { tx.chan.assume_locked() };
        let r = inner.try_send(v);
        self.settle(r)
    }

    // SAFETY: the contract of `Case::register_locked`: the caller holds this channel's lock.
    unsafe fn register_locked(
        &mut self,
        waiter: &Arc<Waiter>,
        index: usize,
        waker: Option<&Waker>,
    ) {
        let Some(tx) = self.tx.get() else { return };
        let Some(value) = self.value.take() else {
            return;
        };
        // SAFETY: the caller holds this channel's lock (this method's contract).
        let mut inner = unsafe { tx.chan.assume_locked() };
        inner.push_sender(Entry::new(waiter, index, waker), value);
        self.registered = true;
    }

    fn unregister(&mut self, waiter: &Arc<Waiter>, index: usize, _redeliver: bool) {
        let Some(tx) = self.tx.get() else { return };
        if !std::mem::take(&mut self.registered) {
            return;
        }
        match tx.chan.lock().remove_send(waiter, index) {
            Some(v) => self.value = Some(v),
            // A receiver took the offer (and removed it): this case fired.
            None => self.result = Some(Ok(())),
        }
    }

    fn has_result(&self) -> bool {
        self.result.is_some()
    }
}

/// The cases of one select, indexable. The macros build a nested tuple
/// `(&mut c0, (&mut c1, ()))`, so a select future is `Send` exactly when its
/// cases are; the builder uses a `Vec` of boxed cases.
#[doc(hidden)]
pub trait CaseList {
    /// The number of cases.
    fn len(&self) -> usize;
    /// Case `i`.
    fn case(&mut self, i: usize) -> &mut dyn Case;
    /// True if there are no cases.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CaseList for () {
    fn len(&self) -> usize {
        0
    }
    fn case(&mut self, _: usize) -> &mut dyn Case {
        unreachable!("select case index out of range")
    }
}

impl<C: Case, Rest: CaseList> CaseList for (&mut C, Rest) {
    fn len(&self) -> usize {
        1 + self.1.len()
    }
    fn case(&mut self, i: usize) -> &mut dyn Case {
        if i == 0 {
            self.0
        } else {
            self.1.case(i - 1)
        }
    }
}

type BoxedCase<'a> = Box<dyn Case + Send + 'a>;

impl CaseList for Vec<BoxedCase<'_>> {
    fn len(&self) -> usize {
        <[BoxedCase<'_>]>::len(self)
    }
    fn case(&mut self, i: usize) -> &mut dyn Case {
        &mut *self[i]
    }
}

/// A small xorshift generator per thread: the random order of the cases.
fn random_below(n: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            x = seed();
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        // Lemire's multiply-shift: unbiased enough for case counts.
        (((x >> 32) * n as u64) >> 32) as usize
    })
}

/// A distinct odd seed per thread: a global counter mixed with the clock.
fn seed() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 =
        std::sync::atomic::AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let n = NEXT.fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
    // Miri's isolation has no wall clock; the counter alone still gives
    // every thread its own sequence there.
    #[cfg(not(miri))]
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    #[cfg(miri)]
    let t = 0u64;
    (n ^ t.rotate_left(29)) | 1
}

fn order(n: usize, biased: bool) -> Order {
    // Up to 8 cases: from a constant buffer, without `collect`'s generic
    // growth path (it cost ~75 instructions per select).
    const IDENTITY: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
    let mut order = if n <= IDENTITY.len() {
        let mut o = Order::from_buf(IDENTITY);
        o.truncate(n);
        o
    } else {
        (0..n).collect()
    };
    // loom replays schedules and needs every run to make the same choices.
    if !biased && !cfg!(loom) {
        for i in (1..n).rev() {
            order.swap(i, random_below(i + 1));
        }
    }
    order
}

/// Outcome of one attempt under all locks.
enum Attempt {
    Fired(usize),
    NoneReady,
    Registered,
}

/// Tries every case with all channels locked; if none is ready and the
/// select may wait, registers every case before the locks are released.
fn attempt_locked(
    list: &mut dyn CaseList,
    order: &Order,
    register: Option<(&Arc<Waiter>, Option<&Waker>)>,
) -> Attempt {
    let mut locks: SmallVec<[*const RawLock; 8]> = SmallVec::new();
    for i in 0..list.len() {
        list.case(i).raw_locks(&mut locks);
    }
    locks.sort_unstable();
    locks.dedup();
    let guards: SmallVec<[_; 8]> = locks
        .iter()
        // SAFETY: each pointer is the lock of a channel held (borrowed or
        // owned) by a case in `list`, which this function borrows for its
        // whole run and never shrinks, so every lock outlives `guards`.
        .map(|&l| unsafe { &*l }.lock())
        .collect();
    let mut outcome = Attempt::NoneReady;
    for &i in order {
        // SAFETY: all channels of the cases are locked by `guards`.
        if unsafe { list.case(i).try_locked() } {
            outcome = Attempt::Fired(i);
            break;
        }
    }
    if let (Attempt::NoneReady, Some((waiter, waker))) = (&outcome, register) {
        for &i in order {
            // SAFETY: as above.
            unsafe { list.case(i).register_locked(waiter, i, waker) };
        }
        outcome = Attempt::Registered;
    }
    let mut deferred = DeferredList::new();
    for i in 0..list.len() {
        // SAFETY: as above.
        unsafe { list.case(i).take_deferred(&mut deferred) };
    }
    drop(guards);
    // Wake-ups run with no lock held (see `Deferred`).
    deferred.run_all();
    outcome
}

fn try_fast(list: &mut dyn CaseList, order: &Order) -> Option<usize> {
    order.iter().copied().find(|&i| list.case(i).try_now())
}

fn check_results(list: &mut dyn CaseList) {
    for i in 0..list.len() {
        assert!(
            !list.case(i).has_result(),
            "subinterp::Select: take the result of case {i} before waiting again"
        );
    }
}

/// When a blocking select gives up.
#[derive(Clone, Copy)]
enum Until {
    Forever,
    Now,
    Deadline(Instant),
}

/// The fast path for up to 16 cases without materializing an order: an
/// incremental Fisher-Yates over indices packed as nibbles in a register,
/// drawing a random number only for each case actually tried. The tried
/// cases form a prefix of a uniform random permutation, so the first ready
/// case is uniform among the ready ones, as with [`order`].
#[inline]
fn try_fast_packed(list: &mut dyn CaseList, n: usize, biased: bool) -> Option<usize> {
    debug_assert!(n <= 16);
    let shuffle = !biased && !cfg!(loom);
    let mut perm: u64 = 0xFEDC_BA98_7654_3210;
    for k in 0..n {
        if shuffle && n - k > 1 {
            let j = k + random_below(n - k);
            let d = ((perm >> (4 * k)) ^ (perm >> (4 * j))) & 0xF;
            perm ^= (d << (4 * k)) | (d << (4 * j));
        }
        let i = ((perm >> (4 * k)) & 0xF) as usize;
        if list.case(i).try_now() {
            return Some(i);
        }
    }
    None
}

fn run_blocking(list: &mut dyn CaseList, biased: bool, until: Until) -> Option<usize> {
    let n = list.len();
    let mut packed = n <= 16;
    if packed {
        if let Some(i) = try_fast_packed(list, n, biased) {
            return Some(i);
        }
    }
    let order = order(n, biased);
    loop {
        if !std::mem::take(&mut packed) {
            if let Some(i) = try_fast(list, &order) {
                return Some(i);
            }
        }
        let deadline = match until {
            Until::Forever => None,
            Until::Now => {
                return match attempt_locked(list, &order, None) {
                    Attempt::Fired(i) => Some(i),
                    _ => None,
                }
            }
            Until::Deadline(d) => Some(d),
        };
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        let outcome = with_thread_waiter(|waiter| {
            let register = (!expired).then_some((waiter, None));
            match attempt_locked(list, &order, register) {
                Attempt::Fired(i) => Some(Some(i)),
                Attempt::NoneReady => Some(None),
                Attempt::Registered => {
                    waiter.wait(deadline);
                    let fired = waiter.abort().err();
                    for &i in &order {
                        list.case(i).unregister(waiter, i, false);
                    }
                    // Not fired: notified (a channel closed) or timed out; look again.
                    fired.map(Some)
                }
            }
        });
        if let Some(result) = outcome {
            return result;
        }
    }
}

/// A select in progress inside a task, between polls.
#[doc(hidden)]
pub struct SelectFuture<'c, L: CaseList> {
    list: &'c mut L,
    biased: bool,
    nonblocking: bool,
    waiter: Option<Arc<Waiter>>,
    registered: Option<Order>,
}

impl<'c, L: CaseList> SelectFuture<'c, L> {
    #[doc(hidden)]
    pub fn new(list: &'c mut L, biased: bool, nonblocking: bool) -> Self {
        SelectFuture {
            list,
            biased,
            nonblocking,
            waiter: None,
            registered: None,
        }
    }

    fn unregister_all(&mut self, redeliver: bool) -> Option<usize> {
        let order = self.registered.take()?;
        let waiter = self.waiter.as_ref().expect("registered without a waiter");
        let fired = waiter.abort().err();
        for &i in &order {
            self.list.case(i).unregister(waiter, i, redeliver);
        }
        fired
    }
}

impl<L: CaseList> Future for SelectFuture<'_, L> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let this = self.get_mut();
        if this.registered.is_some() {
            if let Some(i) = this.unregister_all(false) {
                return Poll::Ready(Some(i));
            }
        }
        let n = this.list.len();
        let fast = if n <= 16 {
            try_fast_packed(&mut *this.list as &mut dyn CaseList, n, this.biased)
        } else {
            try_fast(&mut *this.list as &mut dyn CaseList, &order(n, this.biased))
        };
        if let Some(i) = fast {
            return Poll::Ready(Some(i));
        }
        let order = order(n, this.biased);
        let register = if this.nonblocking {
            None
        } else {
            let waiter = this
                .waiter
                .get_or_insert_with(|| Arc::new(Waiter::for_task()));
            waiter.reset();
            Some((&*waiter, Some(cx.waker())))
        };
        match attempt_locked(&mut *this.list as &mut dyn CaseList, &order, register) {
            Attempt::Fired(i) => Poll::Ready(Some(i)),
            Attempt::NoneReady => Poll::Ready(None),
            Attempt::Registered => {
                this.registered = Some(order);
                Poll::Pending
            }
        }
    }
}

impl<L: CaseList> Drop for SelectFuture<'_, L> {
    fn drop(&mut self) {
        // Cancel safety: unsent values come back to their cases; a value
        // already handed to a receive case goes back to its channel.
        self.unregister_all(true);
    }
}

/// What a receive case of the macros may name, and the case it makes: a
/// plain channel's handle (see [`IntoRecvTarget`]) or a transfer channel's.
#[doc(hidden)]
pub trait RecvArg<'a> {
    /// The case.
    type Case: Case;
    /// Makes the case.
    fn into_case(self) -> Self::Case;
}

/// What a send case of the macros may name, and the case it makes.
#[doc(hidden)]
pub trait SendArg<'a, V> {
    /// The case.
    type Case: Case;
    /// Makes the case, holding `value`.
    fn into_case(self, value: V) -> Self::Case;
}

macro_rules! plain_args {
    ($($arg:ty),*) => {$(
        impl<'a, T: 'a> RecvArg<'a> for $arg where $arg: IntoRecvTarget<'a, T> {
            type Case = RecvCase<'a, T>;
            fn into_case(self) -> RecvCase<'a, T> {
                RecvCase::new(self)
            }
        }
    )*};
}
plain_args!(
    &'a Receiver<T>,
    Receiver<T>,
    Option<&'a Receiver<T>>,
    Option<Receiver<T>>
);

macro_rules! plain_send_args {
    ($($arg:ty),*) => {$(
        impl<'a, T: 'a> SendArg<'a, T> for $arg where $arg: IntoSendTarget<'a, T> {
            type Case = SendCase<'a, T>;
            fn into_case(self, value: T) -> SendCase<'a, T> {
                SendCase::new(self, value)
            }
        }
    )*};
}
plain_send_args!(
    &'a Sender<T>,
    Sender<T>,
    Option<&'a Sender<T>>,
    Option<Sender<T>>
);

/// A receive case on a transfer channel: it waits for a packet like any
/// receive case, and unpacks the value in the selecting domain when it fires.
#[doc(hidden)]
pub struct TransferRecvCase<'a, T: Transfer> {
    inner: RecvCase<'a, T::Packet>,
}

impl<T: Transfer> TransferRecvCase<'_, T> {
    /// The outcome of a case that fired, unpacked.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<T, RecvError> {
        self.inner
            .into_result()
            .map(|p| T::unpack(p, &mut Unpack::new()))
    }
}

/// A send case on a transfer channel: the value is packed when the case is
/// made (in the selecting domain); the stats count it only if the case runs,
/// and a value that could not be sent is unpacked back.
#[doc(hidden)]
pub struct TransferSendCase<'a, T: Transfer> {
    inner: SendCase<'a, T::Packet>,
    tx: Option<&'a transfer::Sender<T>>,
    mode: Mode,
    bytes: u64,
}

impl<T: Transfer> TransferSendCase<'_, T> {
    /// The outcome of a case that fired; a value that was not sent comes back.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<(), SendError<T>> {
        match self.inner.into_result() {
            Ok(()) => {
                if let Some(tx) = self.tx {
                    tx.note_sent(self.mode, self.bytes);
                }
                Ok(())
            }
            Err(SendError(p)) => Err(SendError(T::unpack(p, &mut Unpack::new()))),
        }
    }
}

impl<'a, T: Transfer> RecvArg<'a> for &'a transfer::Receiver<T> {
    type Case = TransferRecvCase<'a, T>;
    fn into_case(self) -> Self::Case {
        TransferRecvCase {
            inner: RecvCase::new(self.packets()),
        }
    }
}

impl<'a, T: Transfer> RecvArg<'a> for Option<&'a transfer::Receiver<T>> {
    type Case = TransferRecvCase<'a, T>;
    fn into_case(self) -> Self::Case {
        TransferRecvCase {
            inner: RecvCase::new(self.map(|rx| rx.packets())),
        }
    }
}

impl<'a, T: Transfer> SendArg<'a, T> for &'a transfer::Sender<T> {
    type Case = TransferSendCase<'a, T>;
    fn into_case(self, value: T) -> Self::Case {
        Some(self).into_case(value)
    }
}

impl<'a, T: Transfer> SendArg<'a, T> for Option<&'a transfer::Sender<T>> {
    type Case = TransferSendCase<'a, T>;
    fn into_case(self, value: T) -> Self::Case {
        let (packet, mode, bytes) = transfer::pack_value(value);
        TransferSendCase {
            inner: SendCase::new(self.map(|tx| tx.packets()), packet),
            tx: self,
            mode,
            bytes,
        }
    }
}

macro_rules! delegate_case {
    ($case:ident) => {
        impl<T: Transfer> sealed::Sealed for $case<'_, T> {}

        #[allow(private_interfaces)]
        impl<T: Transfer> Case for $case<'_, T> {
            fn raw_locks(&self, out: &mut SmallVec<[*const RawLock; 8]>) {
                self.inner.raw_locks(out)
            }
            fn try_now(&mut self) -> bool {
                self.inner.try_now()
            }
            // SAFETY: the contract of `Case::try_locked`: the caller holds this channel's lock.
            unsafe fn try_locked(&mut self) -> bool {
                // SAFETY: forwarded from this method's contract.
                unsafe { self.inner.try_locked() }
            }
            // SAFETY: the contract of `Case::register_locked`: the caller holds this channel's lock.
            unsafe fn register_locked(
                &mut self,
                waiter: &Arc<Waiter>,
                index: usize,
                waker: Option<&Waker>,
            ) {
                // SAFETY: forwarded from this method's contract.
                unsafe { self.inner.register_locked(waiter, index, waker) }
            }
            // SAFETY: the contract of `Case::take_deferred`: the caller holds this channel's lock.
            unsafe fn take_deferred(&mut self, out: &mut DeferredList) {
                // SAFETY: forwarded from this method's contract.
                unsafe { self.inner.take_deferred(out) }
            }
            fn unregister(&mut self, waiter: &Arc<Waiter>, index: usize, redeliver: bool) {
                self.inner.unregister(waiter, index, redeliver)
            }
            fn has_result(&self) -> bool {
                self.inner.has_result()
            }
        }
    };
}
delegate_case!(TransferRecvCase);
delegate_case!(TransferSendCase);

/// The machinery the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    use super::{run_blocking, RecvArg, SendArg, Until};
    pub use super::{Case, CaseList, RecvCase, SelectFuture, SendCase};

    pub fn recv<'a, A: RecvArg<'a>>(rx: A) -> A::Case {
        rx.into_case()
    }

    pub fn send<'a, V, A: SendArg<'a, V>>(tx: A, value: V) -> A::Case {
        tx.into_case(value)
    }

    pub fn select_blocking<L: CaseList>(
        list: &mut L,
        biased: bool,
        nonblocking: bool,
    ) -> Option<usize> {
        if !nonblocking {
            crate::context::assert_may_block("select_blocking!", "select!");
        }
        run_blocking(
            list,
            biased,
            if nonblocking {
                Until::Now
            } else {
                Until::Forever
            },
        )
    }

    pub fn select_future<L: CaseList>(
        list: &mut L,
        biased: bool,
        nonblocking: bool,
    ) -> SelectFuture<'_, L> {
        SelectFuture::new(list, biased, nonblocking)
    }
}

/// A select over a number of cases known only at run time (Go's
/// `reflect.Select`). Add cases, wait, then take the fired case's result.
///
/// Receive cases stay armed across waits; a send case runs at most once and
/// keeps its value until then ([`take_value`](Select::take_value) gives it
/// back). Cases need `T: Send`; for channels of `!Send` values inside one
/// interpreter, use [`select!`](crate::select!).
///
/// ```
/// use subinterp::Select;
/// let (tx1, rx1) = subinterp::bounded::<u32>(1);
/// let (tx2, rx2) = subinterp::bounded::<u32>(1);
/// tx2.try_send(7).unwrap();
///
/// let mut sel = Select::new();
/// let a = sel.recv(&rx1);
/// let b = sel.recv(&rx2);
/// let i = sel.wait_blocking();
/// assert_eq!(i, b);
/// assert_eq!(sel.take_recv(i, &rx2), Ok(7));
/// # let _ = (a, tx1);
/// ```
pub struct Select<'a> {
    cases: Vec<BoxedCase<'a>>,
    /// Per case: the channel it names (for checking `take_*` calls), and
    /// whether it receives.
    meta: Vec<(usize, bool)>,
    biased: bool,
}

impl<'a> Select<'a> {
    /// A select that picks uniformly at random among ready cases.
    ///
    /// ```
    /// let sel = subinterp::Select::new();
    /// assert!(sel.is_empty());
    /// ```
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            meta: Vec::new(),
            biased: false,
        }
    }

    /// A select that picks the first ready case in the order they were added.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded::<u8>(2);
    /// tx.try_send(1).unwrap();
    /// let mut sel = subinterp::Select::new_biased();
    /// let first = sel.recv(&rx);
    /// let _second = sel.recv(&rx);
    /// assert_eq!(sel.try_wait(), Some(first));
    /// ```
    pub fn new_biased() -> Self {
        Select {
            biased: true,
            ..Select::new()
        }
    }

    /// Adds a receive case on `rx` (`&Receiver`, an owned `Receiver` such as
    /// [`after`](crate::after)`(d)`, or an `Option` of either; `None` never
    /// fires). Returns the case's index.
    ///
    /// ```
    /// let (_tx, rx) = subinterp::bounded::<u8>(1);
    /// let mut sel = subinterp::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// assert_eq!(sel.recv(None::<&subinterp::Receiver<u8>>), 1);
    /// ```
    pub fn recv<T: Send + 'a>(&mut self, rx: impl IntoRecvTarget<'a, T>) -> usize {
        let case = RecvCase::new(rx);
        let id = case.rx.get().map_or(0, |rx| Arc::as_ptr(&rx.chan) as usize);
        self.push(Box::new(case), id, true)
    }

    /// Adds a send case of `value` on `tx`. Returns the case's index.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded(1);
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.send(&tx, "hi");
    /// assert_eq!(sel.wait_blocking(), i);
    /// assert_eq!(sel.take_send(i, &tx), Ok(()));
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// ```
    pub fn send<T: Send + 'a>(&mut self, tx: impl IntoSendTarget<'a, T>, value: T) -> usize {
        let case = SendCase::new(tx, value);
        let id = case.tx.get().map_or(0, |tx| Arc::as_ptr(&tx.chan) as usize);
        self.push(Box::new(case), id, false)
    }

    fn push(&mut self, case: BoxedCase<'a>, id: usize, is_recv: bool) -> usize {
        self.cases.push(case);
        self.meta.push((id, is_recv));
        self.cases.len() - 1
    }

    /// The number of cases.
    ///
    /// ```
    /// let (_tx, rx) = subinterp::bounded::<u8>(1);
    /// let mut sel = subinterp::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// True if there are no cases.
    ///
    /// ```
    /// assert!(subinterp::Select::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Waits until a case runs; returns its index.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: send cases that did not run keep
    /// their values, and a value already handed to a receive case goes back
    /// to the front of its channel.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::unbounded::<u8>();
    /// tx.try_send(3).unwrap();
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.wait().await, i);
    /// assert_eq!(sel.take_recv(i, &rx), Ok(3));
    /// # });
    /// ```
    pub async fn wait(&mut self) -> usize {
        check_results(&mut self.cases);
        SelectFuture::new(&mut self.cases, self.biased, false)
            .await
            .expect("a select without default fires")
    }

    /// Blocks this thread until a case runs; returns its index.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (use [`wait`](Select::wait)`.await`), or if a
    /// fired case's result was not taken.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded::<u8>(0);
    /// std::thread::spawn(move || tx.send_blocking(1).unwrap());
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.wait_blocking(), i);
    /// assert_eq!(sel.take_recv(i, &rx), Ok(1));
    /// ```
    pub fn wait_blocking(&mut self) -> usize {
        assert_may_block("Select::wait_blocking", "Select::wait().await");
        check_results(&mut self.cases);
        run_blocking(&mut self.cases, self.biased, Until::Forever)
            .expect("a select without deadline fires")
    }

    /// Runs a case that is ready now, if any (a select with `default`).
    ///
    /// ```
    /// let (_tx, rx) = subinterp::bounded::<u8>(1);
    /// let mut sel = subinterp::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_wait(), None);
    /// ```
    pub fn try_wait(&mut self) -> Option<usize> {
        check_results(&mut self.cases);
        run_blocking(&mut self.cases, self.biased, Until::Now)
    }

    /// Blocks this thread for at most `timeout` until a case runs.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Select::wait_blocking).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = subinterp::bounded::<u8>(0);
    /// let mut sel = subinterp::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.wait_timeout(Duration::from_millis(5)), None);
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<usize> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Some(self.wait_blocking()),
        }
    }

    /// Blocks this thread until `deadline` at the latest until a case runs.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Select::wait_blocking).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = subinterp::bounded::<u8>(0);
    /// let mut sel = subinterp::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.wait_deadline(Instant::now() + Duration::from_millis(5)), None);
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Option<usize> {
        assert_may_block(
            "Select::wait_timeout",
            "subinterp::timeout(d, sel.wait()).await",
        );
        check_results(&mut self.cases);
        run_blocking(&mut self.cases, self.biased, Until::Deadline(deadline))
    }

    fn check(&self, index: usize, id: usize, is_recv: bool) {
        let (case_id, case_recv) = self.meta[index];
        assert!(
            case_id == id && case_recv == is_recv && id != 0,
            "subinterp::Select: case {index} is not a {} case on this channel",
            if is_recv { "receive" } else { "send" }
        );
    }

    /// The value received by receive case `index`, which must have fired
    /// and must be a receive on `rx`'s channel.
    ///
    /// # Panics
    ///
    /// If case `index` is not a receive on that channel, or did not fire.
    ///
    /// ```
    /// let (tx, rx) = subinterp::unbounded::<u8>();
    /// drop(tx);
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.recv(&rx);
    /// sel.wait_blocking();
    /// assert!(sel.take_recv(i, &rx).is_err()); // closed
    /// ```
    pub fn take_recv<T: 'a>(&mut self, index: usize, rx: &Receiver<T>) -> Result<T, RecvError> {
        self.check(index, Arc::as_ptr(&rx.chan) as usize, true);
        let case: *mut (dyn Case + Send + 'a) = &mut *self.cases[index];
        // SAFETY: case `index` was made by `recv::<U>` on a receiver of the
        // channel at the same address as `rx.chan` (checked above). Both
        // handles keep that channel alive, so it is one `Chan` object, whose
        // type is invariant in its parameter: `U` is `T`, and the case is a
        // `RecvCase<'a, T>`.
        let case = unsafe { &mut *(case as *mut RecvCase<'a, T>) };
        case.result
            .take()
            .expect("subinterp::Select: this case did not fire")
    }

    /// The outcome of send case `index`, which must have fired and must be a
    /// send on `tx`'s channel.
    ///
    /// # Panics
    ///
    /// If case `index` is not a send on that channel, or did not fire.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded::<u8>(1);
    /// drop(rx);
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.send(&tx, 9);
    /// sel.wait_blocking();
    /// assert_eq!(sel.take_send(i, &tx).unwrap_err().into_inner(), 9); // closed
    /// ```
    pub fn take_send<T: 'a>(&mut self, index: usize, tx: &Sender<T>) -> Result<(), SendError<T>> {
        let case = self.send_case(index, tx);
        case.result
            .take()
            .expect("subinterp::Select: this case did not fire")
    }

    /// Gives back the value of send case `index` if it has not run.
    ///
    /// ```
    /// let (tx, _rx) = subinterp::bounded::<String>(0);
    /// let mut sel = subinterp::Select::new();
    /// let i = sel.send(&tx, "kept".to_string());
    /// assert_eq!(sel.try_wait(), None);
    /// assert_eq!(sel.take_value(i, &tx).as_deref(), Some("kept"));
    /// ```
    pub fn take_value<T: 'a>(&mut self, index: usize, tx: &Sender<T>) -> Option<T> {
        self.send_case(index, tx).value.take()
    }

    fn send_case<T: 'a>(&mut self, index: usize, tx: &Sender<T>) -> &mut SendCase<'a, T> {
        self.check(index, Arc::as_ptr(&tx.chan) as usize, false);
        let case: *mut (dyn Case + Send + 'a) = &mut *self.cases[index];
        // SAFETY: as in `take_recv`: case `index` is a send on the very
        // channel `tx` names, so it is a `SendCase<'a, T>`.
        unsafe { &mut *(case as *mut SendCase<'a, T>) }
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("biased", &self.biased)
            .finish()
    }
}

impl<L: CaseList> fmt::Debug for SelectFuture<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture").finish_non_exhaustive()
    }
}
