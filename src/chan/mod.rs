//! Typed MPMC channels with Go's semantics: bounded, rendezvous and unbounded.
//!
//! One channel serves OS threads (the `*_blocking` and `*_timeout` methods),
//! tasks of any executor (the `async` methods), and [`select!`](crate::select!).
//! A parked thread and a task wait through the same [`waiters`] mechanism, so
//! a rendezvous between a thread and a task works in either direction.
//!
//! ```
//! let (tx, rx) = subinterp::bounded(0); // a rendezvous
//! let t = std::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.send_blocking(i).unwrap();
//!     }
//! }); // dropping the last Sender closes the channel
//! assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
//! t.join().unwrap();
//! ```
//!
//! Layout (a deviation from the `array.rs`/`list.rs`/`zero.rs` split of the
//! design notes): every flavor is one core, `core.rs`, over one buffer,
//! `queue.rs`, with the locks in `lock.rs`. `select` must lock all of its
//! channels at once to decide atomically that no case is ready (Go's
//! `TestNonblockSelectRace`), and a waiter registered in several channels
//! must be claimed by exactly one, so all flavors share one locking and
//! claiming protocol; the flavors differ only in capacity and in whether
//! the buffer's two ends have a lock each (see `core.rs`).

mod core;
mod error;
mod future;
mod iter;
pub mod local;
mod lock;
mod queue;
pub(crate) mod waiters;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use future::{RecvFuture, SendFuture};
pub use iter::{IntoIter, Iter, TryIter};

pub(crate) use self::core::{Chan, Registration, UNBOUNDED};
pub(crate) use lock::RawLock;

use crate::context::assert_may_block;
use crate::sync::{Arc, Ordering};
use std::fmt;
use std::time::{Duration, Instant};

/// Creates a channel that holds at most `cap` values; `cap == 0` makes a
/// rendezvous channel, where `send` completes only when a receiver takes the
/// value (Go's unbuffered channel).
///
/// # Panics
///
/// If `cap` is larger than the number of `T` that fit in memory
/// (`isize::MAX` bytes), with a message that names the capacity. Capacity is
/// allocated on demand, so a large bound costs nothing until it is used.
///
/// ```
/// let (tx, rx) = subinterp::bounded(2);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert!(tx.try_send(3).unwrap_err().is_full());
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let max = isize::MAX as usize / std::mem::size_of::<T>().max(1);
    assert!(
        cap <= max && cap != UNBOUNDED,
        "subinterp::bounded: capacity {cap} is too large (at most {max} values of this type \
         fit in memory); use subinterp::unbounded() for a channel without a bound"
    );
    new(cap)
}

/// Creates a channel without a bound: `send` never waits.
///
/// ```
/// let (tx, rx) = subinterp::unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.capacity(), None);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(UNBOUNDED)
}

fn new<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (
        Sender {
            chan: chan.clone(),
            sink: Registration::default(),
        },
        Receiver {
            chan,
            stream: Registration::default(),
        },
    )
}

/// The sending half of a channel. Clone it for more senders; the channel
/// closes when the last one is dropped (or on [`close`](Sender::close)).
///
/// ```
/// let (tx, rx) = subinterp::unbounded();
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.iter().sum::<i32>(), 3);
/// ```
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The pending send of this handle's `Sink`, if any.
    pub(crate) sink: Registration,
}

/// The receiving half of a channel. Clone it for more receivers; each value
/// goes to exactly one of them. When the last one is dropped, sends fail and
/// buffered values are dropped.
///
/// ```
/// let (tx, rx) = subinterp::bounded(4);
/// let rx2 = rx.clone();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(rx.try_recv().unwrap() + rx2.try_recv().unwrap(), 3);
/// ```
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The pending receive of this handle's `Stream`, if any.
    pub(crate) stream: Registration,
}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    // An overflowing deadline is no deadline at all.
    Instant::now().checked_add(timeout)
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full (for a rendezvous,
    /// until a receiver takes it).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes never loses or duplicates the
    /// value: either a receiver already took it (the send happened), or it is
    /// dropped with the future and no receiver will ever see it.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::bounded(1);
    /// tx.send(5).await.unwrap();
    /// assert_eq!(rx.recv().await, Ok(5));
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self, value)
    }

    /// Sends `value`, blocking this thread while the channel is full.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task, where it would stall the interpreter: use
    /// [`send`](Sender::send)`.await` there.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded(1);
    /// tx.send_blocking(1).unwrap();
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        assert_may_block("Sender::send_blocking", "Sender::send(v).await");
        self.chan
            .send_blocking(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value` if that can be done without waiting.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded::<i32>(0);
    /// assert!(tx.try_send(1).unwrap_err().is_full()); // no receiver waiting
    /// drop(rx);
    /// assert!(tx.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Sends `value`, blocking this thread for at most `timeout`.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (see [`send_blocking`](Sender::send_blocking)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = subinterp::bounded(1);
    /// tx.send_timeout(1, Duration::from_millis(1)).unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, deadline_after(timeout))
    }

    /// Sends `value`, blocking this thread until `deadline` at the latest.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (see [`send_blocking`](Sender::send_blocking)).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = subinterp::bounded(0);
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(tx.send_deadline(1, deadline).unwrap_err().is_timeout());
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        assert_may_block(
            "Sender::send_timeout",
            "subinterp::timeout(d, tx.send(v)).await",
        );
        self.chan
            .send_blocking(value, deadline)
            .map_err(|e| match e {
                TrySendError::Full(v) => SendTimeoutError::Timeout(v),
                TrySendError::Closed(v) => SendTimeoutError::Closed(v),
            })
    }
}

impl<T> Sender<T> {
    /// Lets go of this handle without its drop ever closing the channel: for
    /// timer channels that stay open after firing, and for `never()`. The
    /// channel is freed with its last receiver.
    pub(crate) fn keep_open(self) {
        self.chan.sender_count.fetch_add(1, Ordering::Relaxed);
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty.
    /// `Err(RecvError)` once the channel is closed and drained.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes never loses a value: a value
    /// that a sender had already handed to this receiver is put back at the
    /// front of the channel, where the next receiver gets it first.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::unbounded();
    /// tx.send(1).await.unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Ok(1));
    /// assert!(rx.recv().await.is_err());
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self)
    }

    /// Receives the next value, blocking this thread while the channel is empty.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task, where it would stall the interpreter: use
    /// [`recv`](Receiver::recv)`.await` there.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded(0);
    /// std::thread::spawn(move || tx.send_blocking("ping").unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok("ping"));
    /// ```
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        assert_may_block("Receiver::recv_blocking", "Receiver::recv().await");
        self.chan.recv_blocking(None).map_err(|_| RecvError)
    }

    /// Receives a value if one is ready now.
    ///
    /// ```
    /// let (tx, rx) = subinterp::bounded(1);
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives a value, blocking this thread for at most `timeout`.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (see [`recv_blocking`](Receiver::recv_blocking)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = subinterp::bounded::<u8>(1);
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// drop(tx);
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_closed());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Receives a value, blocking this thread until `deadline` at the latest.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (see [`recv_blocking`](Receiver::recv_blocking)).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = subinterp::unbounded::<u8>();
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(rx.recv_deadline(deadline).unwrap_err().is_timeout());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        assert_may_block(
            "Receiver::recv_timeout",
            "subinterp::timeout(d, rx.recv()).await",
        );
        self.chan.recv_blocking(deadline).map_err(|e| match e {
            TryRecvError::Empty => RecvTimeoutError::Timeout,
            TryRecvError::Closed => RecvTimeoutError::Closed,
        })
    }

    /// A blocking iterator over received values; it ends when the channel is
    /// closed and drained.
    ///
    /// ```
    /// let (tx, rx) = subinterp::unbounded();
    /// std::thread::spawn(move || (0..5).for_each(|i| tx.send_blocking(i).unwrap()));
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; it never blocks.
    ///
    /// ```
    /// let (tx, rx) = subinterp::unbounded();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

macro_rules! shared_methods {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// Closes the channel (Go's `close(ch)`): sends fail from now on,
            /// giving their values back; receivers drain what is buffered, then
            /// get `RecvError`; every blocked sender and receiver is woken.
            /// Returns true if this call closed it, false if it was closed
            /// already (closing twice is not an error, unlike Go).
            ///
            /// ```
            /// let (tx, rx) = subinterp::bounded(1);
            /// tx.try_send(1).unwrap();
            /// assert!(tx.close());
            /// assert!(!rx.close());
            /// assert!(tx.try_send(2).unwrap_err().is_closed());
            /// assert_eq!(rx.recv_blocking(), Ok(1));
            /// assert!(rx.recv_blocking().is_err());
            /// ```
            pub fn close(&self) -> bool {
                self.chan.close()
            }

            /// True once the channel is closed.
            ///
            /// ```
            /// let (tx, rx) = subinterp::unbounded::<()>();
            /// assert!(!rx.is_closed());
            /// drop(tx);
            /// assert!(rx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }

            /// The number of values buffered in the channel (Go's `len(ch)`).
            ///
            /// ```
            /// let (tx, rx) = subinterp::bounded(3);
            /// tx.try_send('a').unwrap();
            /// assert_eq!((tx.len(), rx.len()), (1, 1));
            /// ```
            pub fn len(&self) -> usize {
                self.chan.len()
            }

            /// True if no value is buffered.
            ///
            /// ```
            /// let (tx, rx) = subinterp::bounded::<u8>(3);
            /// assert!(rx.is_empty() && tx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.chan.len() == 0
            }

            /// True if the buffer is at capacity (always for a rendezvous
            /// channel; never for an unbounded one).
            ///
            /// ```
            /// let (tx, _rx) = subinterp::bounded(1);
            /// assert!(!tx.is_full());
            /// tx.try_send(0).unwrap();
            /// assert!(tx.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.chan.len() >= self.chan.cap
            }

            /// The bound (Go's `cap(ch)`), or `None` for an unbounded channel.
            ///
            /// ```
            /// assert_eq!(subinterp::bounded::<u8>(0).0.capacity(), Some(0));
            /// assert_eq!(subinterp::unbounded::<u8>().1.capacity(), None);
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                (self.chan.cap != UNBOUNDED).then_some(self.chan.cap)
            }

            /// True if both handles belong to the same channel.
            ///
            /// ```
            /// let (tx, _rx) = subinterp::unbounded::<u8>();
            /// assert!(tx.same_channel(&tx.clone()));
            /// ```
            pub fn same_channel(&self, other: &$handle<T>) -> bool {
                Arc::ptr_eq(&self.chan, &other.chan)
            }
        }

        impl<T> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($handle))
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
        self.chan.sender_count.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
            sink: Registration::default(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receiver_count.fetch_add(1, Ordering::Relaxed);
        Receiver {
            chan: self.chan.clone(),
            stream: Registration::default(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // A value the Sink accepted but nobody took is dropped with the handle.
        drop(self.chan.cancel_send(&mut self.sink));
        if self.chan.sender_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.cancel_recv(&mut self.stream);
        if self.chan.receiver_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.disconnect_receivers();
        }
    }
}
