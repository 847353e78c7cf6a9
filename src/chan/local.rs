//! Interpreter-local channels: the fast path between tasks of one interpreter.
//!
//! The handles are `!Send` and `!Sync` (they share an `Rc<RefCell<..>>`), so
//! they carry any `T`, even `!Send` ones, and use no atomics and no locks. A
//! waiting task is woken through its `Waker`, which on a subinterp
//! interpreter takes the local path (a run-queue push). They work under any
//! single-threaded executor too. There are no blocking methods: on one
//! thread, blocking could only deadlock.
//!
//! Semantics are those of [`bounded`](crate::bounded) channels (Go's): FIFO,
//! `bounded(0)` is a rendezvous, `close` is idempotent, dropping the last
//! sender closes, dropping the last receiver makes sends fail and drops the
//! buffered values.
//!
//! The handles cannot leave their thread:
//!
//! ```compile_fail
//! let (tx, _rx) = subinterp::local::bounded::<u8>(1);
//! std::thread::spawn(move || drop(tx)); // error: `Rc<..>` cannot be sent between threads
//! ```
//!
//! ```compile_fail
//! let (_tx, rx) = subinterp::local::unbounded::<u8>();
//! fn needs_sync<T: Sync>(_: &T) {}
//! needs_sync(&rx); // error: not Sync
//! ```
//!
//! ```
//! use std::rc::Rc;
//! let interp = subinterp::Interpreter::new().unwrap();
//! let n = interp.spawn(|| async {
//!     let (tx, rx) = subinterp::local::bounded::<Rc<u32>>(0); // !Send payload
//!     subinterp::spawn(async move {
//!         for i in 0..3 {
//!             tx.send(Rc::new(i)).await.unwrap();
//!         }
//!     })
//!     .detach();
//!     let mut got = vec![];
//!     while let Ok(v) = rx.recv().await {
//!         got.push(*v);
//!     }
//!     got
//! });
//! assert_eq!(n.join_blocking().unwrap(), [0, 1, 2]);
//! ```

use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use super::waiters::find_entry;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A blocked sender's value, waiting for a receiver (or for room).
struct Offer<T> {
    id: u64,
    /// `None` once a receiver took it: the send completed.
    value: Option<T>,
    waker: Waker,
}

struct State<T> {
    buf: VecDeque<T>,
    cap: usize,
    closed: bool,
    senders: usize,
    receivers: usize,
    offers: VecDeque<Offer<T>>,
    /// Receivers waiting for a value, oldest first.
    recv_waiters: VecDeque<(u64, Waker)>,
    next_id: u64,
    /// Wakers kept after use, so that a task that waits on this channel again
    /// (the common case: a loop) registers without cloning its waker.
    spare_recv: Option<Waker>,
    spare_send: Option<Waker>,
}

impl<T> State<T> {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn wake_one_receiver(&mut self) {
        if let Some((_, w)) = self.recv_waiters.pop_front() {
            w.wake_by_ref();
            self.spare_recv = Some(w);
        }
    }

    /// `waker`, reusing a spare one that wakes the same task if there is one.
    fn waker_from(spare: &mut Option<Waker>, waker: &Waker) -> Waker {
        match spare.take() {
            Some(w) if w.will_wake(waker) => w,
            _ => waker.clone(),
        }
    }

    /// The oldest offer still holding its value: takes it, wakes its sender.
    fn take_offer(&mut self) -> Option<T> {
        // Most polls find no blocked sender: skip building the iterator.
        if self.offers.is_empty() {
            return None;
        }
        let o = self.offers.iter_mut().find(|o| o.value.is_some())?;
        let v = o.value.take();
        o.waker.wake_by_ref();
        v
    }

    fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(v) = self.buf.pop_front() {
            if !self.closed && self.buf.len() < self.cap {
                // Room appeared: the oldest blocked sender's value moves in.
                if let Some(next) = self.take_offer() {
                    self.buf.push_back(next);
                }
            }
            return Ok(v);
        }
        if let Some(v) = (!self.closed).then(|| self.take_offer()).flatten() {
            return Ok(v);
        }
        if self.closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(value));
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            self.wake_one_receiver();
            return Ok(());
        }
        if self.cap == 0 && self.buf.is_empty() && !self.recv_waiters.is_empty() {
            // A rendezvous with a waiting receiver: hand it over through the
            // buffer, which the woken receiver empties first.
            self.buf.push_back(value);
            self.wake_one_receiver();
            return Ok(());
        }
        Err(TrySendError::Full(value))
    }

    fn close(&mut self) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        for (_, w) in self.recv_waiters.drain(..) {
            w.wake();
        }
        for o in &self.offers {
            o.waker.wake_by_ref();
        }
        true
    }
}

/// Creates an interpreter-local channel holding at most `cap` values;
/// `cap == 0` is a rendezvous.
///
/// ```
/// let (tx, rx) = subinterp::local::bounded(1);
/// tx.try_send(1).unwrap();
/// assert!(tx.try_send(2).unwrap_err().is_full());
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    new(cap)
}

/// Creates an interpreter-local channel without a bound.
///
/// ```
/// let (tx, rx) = subinterp::local::unbounded();
/// for i in 0..100 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 100);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(usize::MAX)
}

fn new<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let state = Rc::new(RefCell::new(State {
        buf: VecDeque::with_capacity(cap.min(64)),
        cap,
        closed: false,
        senders: 1,
        receivers: 1,
        offers: VecDeque::new(),
        recv_waiters: VecDeque::new(),
        next_id: 0,
        spare_recv: None,
        spare_send: None,
    }));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state },
    )
}

/// The sending half of an interpreter-local channel (`!Send`). Clone it for
/// more senders.
///
/// ```
/// let (tx, rx) = subinterp::local::unbounded();
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// assert!(rx.try_recv().unwrap_err().is_closed());
/// ```
pub struct Sender<T> {
    state: Rc<RefCell<State<T>>>,
}

/// The receiving half of an interpreter-local channel (`!Send`). Clone it
/// for more receivers; each value goes to one of them.
///
/// ```
/// let (tx, rx) = subinterp::local::bounded(2);
/// let rx2 = rx.clone();
/// tx.try_send('a').unwrap();
/// tx.try_send('b').unwrap();
/// assert_eq!((rx.try_recv(), rx2.try_recv()), (Ok('a'), Ok('b')));
/// ```
pub struct Receiver<T> {
    state: Rc<RefCell<State<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full (for a rendezvous,
    /// until a receiver takes it).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes never loses or duplicates the
    /// value: either a receiver took it (the send happened) or it is dropped
    /// with the future.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::local::bounded(1);
    /// tx.send(5).await.unwrap();
    /// assert_eq!(rx.recv().await, Ok(5));
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            tx: self,
            value: Some(value),
            offer: None,
        }
    }

    /// Sends `value` if that can be done without waiting.
    ///
    /// ```
    /// let (tx, rx) = subinterp::local::bounded::<i32>(0);
    /// assert!(tx.try_send(1).unwrap_err().is_full()); // no receiver waiting
    /// drop(rx);
    /// assert!(tx.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.state.borrow_mut().try_send(value)
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty;
    /// `Err(RecvError)` once it is closed and drained.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future never loses a value: values stay in the channel
    /// until a running receiver takes them, and a wake-up meant for a dropped
    /// receiver is passed on to the next one.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::local::unbounded();
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Ok(1));
    /// assert!(rx.recv().await.is_err());
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            rx: self,
            waiting: None,
        }
    }

    /// Receives a value if one is ready now.
    ///
    /// ```
    /// let (tx, rx) = subinterp::local::bounded(1);
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.state.borrow_mut().try_recv()
    }
}

macro_rules! shared_methods {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// Closes the channel: sends fail from now on, receivers drain what
            /// is buffered, then get `RecvError`; every waiting task is woken.
            /// Returns true if this call closed it.
            ///
            /// ```
            /// let (tx, rx) = subinterp::local::bounded(1);
            /// tx.try_send(1).unwrap();
            /// assert!(tx.close());
            /// assert!(!rx.close());
            /// assert_eq!(rx.try_recv(), Ok(1));
            /// assert!(rx.try_recv().unwrap_err().is_closed());
            /// ```
            pub fn close(&self) -> bool {
                self.state.borrow_mut().close()
            }

            /// True once the channel is closed.
            ///
            /// ```
            /// let (tx, rx) = subinterp::local::unbounded::<()>();
            /// drop(tx);
            /// assert!(rx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.state.borrow().closed
            }

            /// The number of buffered values.
            ///
            /// ```
            /// let (tx, rx) = subinterp::local::bounded(2);
            /// tx.try_send(0).unwrap();
            /// assert_eq!((tx.len(), rx.len()), (1, 1));
            /// ```
            pub fn len(&self) -> usize {
                self.state.borrow().buf.len()
            }

            /// True if no value is buffered.
            ///
            /// ```
            /// let (tx, _rx) = subinterp::local::bounded::<u8>(2);
            /// assert!(tx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.state.borrow().buf.is_empty()
            }

            /// The bound, or `None` for an unbounded channel.
            ///
            /// ```
            /// assert_eq!(subinterp::local::bounded::<u8>(3).0.capacity(), Some(3));
            /// assert_eq!(subinterp::local::unbounded::<u8>().0.capacity(), None);
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                let cap = self.state.borrow().cap;
                (cap != usize::MAX).then_some(cap)
            }
        }

        impl<T> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("local::", stringify!($handle)))
                    .field("capacity", &self.capacity())
                    .finish_non_exhaustive()
            }
        }
    };
}

shared_methods!(Sender);
shared_methods!(Receiver);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.state.borrow_mut().senders += 1;
        Sender {
            state: self.state.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.state.borrow_mut().receivers += 1;
        Receiver {
            state: self.state.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.senders -= 1;
        if s.senders == 0 {
            s.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let drained = {
            let mut s = self.state.borrow_mut();
            s.receivers -= 1;
            if s.receivers > 0 {
                return;
            }
            s.close();
            std::mem::take(&mut s.buf)
        };
        // User destructors run outside the borrow.
        drop(drained);
    }
}

/// The future of [`Sender::send`] on a local channel.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::local::unbounded();
/// let f: subinterp::local::SendFuture<'_, u8> = tx.send(1);
/// f.await.unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    tx: &'a Sender<T>,
    value: Option<T>,
    /// The id of our offer, once we left one in the channel.
    offer: Option<u64>,
}

/// The future of [`Receiver::recv`] on a local channel.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::local::unbounded();
/// tx.try_send(1).unwrap();
/// let f: subinterp::local::RecvFuture<'_, u8> = rx.recv();
/// assert_eq!(f.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    rx: &'a Receiver<T>,
    /// Our id in `recv_waiters`, once registered.
    waiting: Option<u64>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> SendFuture<'_, T> {
    /// Every poll but a first one that finds room: an offer to leave, look
    /// at, or withdraw.
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let mut s = self.tx.state.borrow_mut();
        if let Some(id) = self.offer {
            let i =
                find_entry(&s.offers, |o| o.id == id).expect("our offer stays until we remove it");
            if s.offers[i].value.is_none() {
                if let Some(o) = s.offers.remove(i) {
                    s.spare_send = Some(o.waker);
                }
                self.offer = None;
                return Poll::Ready(Ok(()));
            }
            if s.closed {
                let v = s.offers.remove(i).and_then(|o| o.value).expect("checked");
                self.offer = None;
                return Poll::Ready(Err(SendError(v)));
            }
            if !s.offers[i].waker.will_wake(cx.waker()) {
                s.offers[i].waker = cx.waker().clone();
            }
            return Poll::Pending;
        }
        let v = self
            .value
            .take()
            .expect("send future polled after completion");
        match s.try_send(v) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                let id = s.id();
                let waker = State::<T>::waker_from(&mut s.spare_send, cx.waker());
                s.offers.push_back(Offer {
                    id,
                    value: Some(v),
                    waker,
                });
                self.offer = Some(id);
                // A waiting receiver can take the offer.
                s.wake_one_receiver();
                Poll::Pending
            }
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The common case, kept small enough to inline into the caller:
        // a first poll that finds room in the buffer.
        if this.offer.is_none() && this.value.is_some() {
            let mut s = this.tx.state.borrow_mut();
            if !s.closed && s.buf.len() < s.cap {
                if let Some(v) = this.value.take() {
                    s.buf.push_back(v);
                    s.wake_one_receiver();
                    return Poll::Ready(Ok(()));
                }
            }
        }
        this.poll_slow(cx)
    }
}

impl<T> SendFuture<'_, T> {
    #[inline(never)]
    fn withdraw(&mut self, id: u64) {
        let offer = {
            let mut s = self.tx.state.borrow_mut();
            let i = find_entry(&s.offers, |o| o.id == id);
            i.and_then(|i| s.offers.remove(i))
        };
        // The value, if no receiver took it, is dropped here.
        drop(offer);
    }
}

impl<T> Drop for SendFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(id) = self.offer {
            self.withdraw(id);
        }
    }
}

impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> RecvFuture<'_, T> {
    /// Every poll that finds the buffer empty.
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut s = self.rx.state.borrow_mut();
        match s.try_recv() {
            Ok(v) => {
                if let Some(id) = self.waiting.take() {
                    if let Some(i) = find_entry(&s.recv_waiters, |(i, _)| *i == id) {
                        s.recv_waiters.remove(i);
                    }
                }
                Poll::Ready(Ok(v))
            }
            Err(TryRecvError::Closed) => {
                self.waiting = None;
                Poll::Ready(Err(RecvError))
            }
            Err(TryRecvError::Empty) => {
                let id = match self.waiting {
                    Some(id) => {
                        // Polled again while still registered: refresh the
                        // waker. If a wake-up took us off the list, fall
                        // through and register again under the same id.
                        let listed = find_entry(&s.recv_waiters, |(i, _)| *i == id);
                        if let Some(w) = listed.map(|i| &mut s.recv_waiters[i].1) {
                            if !w.will_wake(cx.waker()) {
                                *w = cx.waker().clone();
                            }
                            return Poll::Pending;
                        }
                        id
                    }
                    None => {
                        // First registration: a fresh id cannot be listed.
                        let id = s.id();
                        self.waiting = Some(id);
                        id
                    }
                };
                let waker = State::<T>::waker_from(&mut s.spare_recv, cx.waker());
                s.recv_waiters.push_back((id, waker));
                Poll::Pending
            }
        }
    }

    #[inline(never)]
    fn cancel(&mut self, id: u64) {
        let mut s = self.rx.state.borrow_mut();
        let listed = find_entry(&s.recv_waiters, |(i, _)| *i == id);
        let was_woken = listed.is_none();
        if let Some(i) = listed {
            s.recv_waiters.remove(i);
        }
        // A wake-up meant for us is passed on, so none is lost.
        if was_woken && (!s.buf.is_empty() || s.offers.iter().any(|o| o.value.is_some())) {
            s.wake_one_receiver();
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The common case, kept small enough to inline into the caller: a
        // buffered value, no blocked sender to move in, nothing registered
        // (or, after a wake-up, our entry already taken off the list).
        {
            let mut s = this.rx.state.borrow_mut();
            if s.offers.is_empty() && (this.waiting.is_none() || s.recv_waiters.is_empty()) {
                if let Some(v) = s.buf.pop_front() {
                    this.waiting = None;
                    return Poll::Ready(Ok(v));
                }
            }
        }
        this.poll_slow(cx)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(id) = self.waiting {
            self.cancel(id);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("local::SendFuture").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("local::RecvFuture").finish_non_exhaustive()
    }
}
