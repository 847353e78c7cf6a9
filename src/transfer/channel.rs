//! Channels that transfer: a plain channel of packets, packing on send (in
//! the sender's interpreter) and unpacking on receive (in the receiver's).

use super::stats::{self, ChannelCounters};
use super::{pack_copy_value, pack_value, DeepCopy, Mode, Transfer, TransferStats, Unpack};
use crate::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Creates a transfer channel that holds at most `cap` values (`cap == 0`:
/// a rendezvous), like [`subinterp::bounded`](crate::bounded), for any
/// `T: Transfer`, `Send` or not.
///
/// # Panics
///
/// As [`subinterp::bounded`](crate::bounded), if `cap` is too large.
///
/// ```
/// use std::rc::Rc;
/// let (tx, rx) = subinterp::transfer::bounded::<Rc<String>>(1);
/// let t = std::thread::spawn(move || rx.recv_blocking().unwrap().len());
/// tx.send_blocking(Rc::new("local".to_string())).unwrap();
/// assert_eq!(t.join().unwrap(), 5);
/// ```
pub fn bounded<T: Transfer>(cap: usize) -> (Sender<T>, Receiver<T>) {
    wrap(crate::bounded(cap))
}

/// Creates a transfer channel without a bound, like
/// [`subinterp::unbounded`](crate::unbounded).
///
/// ```
/// let (tx, rx) = subinterp::transfer::unbounded::<Vec<u8>>();
/// tx.try_send(vec![1, 2, 3]).unwrap();
/// assert_eq!(rx.try_recv().unwrap(), [1, 2, 3]);
/// ```
pub fn unbounded<T: Transfer>() -> (Sender<T>, Receiver<T>) {
    wrap(crate::unbounded())
}

fn wrap<T: Transfer>(
    (tx, rx): (crate::Sender<T::Packet>, crate::Receiver<T::Packet>),
) -> (Sender<T>, Receiver<T>) {
    let stats = Arc::new(ChannelCounters::default());
    (
        Sender {
            inner: tx,
            stats: Arc::clone(&stats),
        },
        Receiver { inner: rx, stats },
    )
}

/// The sending half of a transfer channel: it packs each value in the
/// calling interpreter and counts the transfer once it is sent.
///
/// A value that cannot be sent is handed back in the error, unpacked again
/// on the sender's side: moved and shared parts are the originals,
/// deep-copied parts (`Rc` nodes) are fresh copies. Failed sends are not
/// counted.
///
/// The handle is `Send` and `Sync` whatever `T` is: it only carries packets.
///
/// ```
/// use std::rc::Rc;
/// let (tx, rx) = subinterp::transfer::unbounded::<Rc<u8>>();
/// drop(rx);
/// let back = tx.try_send(Rc::new(9)).unwrap_err().into_inner();
/// assert_eq!(*back, 9);
/// assert_eq!(tx.stats().transfers(), 0);
/// ```
pub struct Sender<T: Transfer> {
    inner: crate::Sender<T::Packet>,
    stats: Arc<ChannelCounters>,
}

/// The receiving half of a transfer channel: it unpacks each value in the
/// calling interpreter.
///
/// ```
/// let (tx, rx) = subinterp::transfer::bounded::<String>(2);
/// tx.try_send("a".into()).unwrap();
/// let rx2 = rx.clone();
/// assert_eq!(rx2.try_recv().unwrap(), "a");
/// ```
pub struct Receiver<T: Transfer> {
    inner: crate::Receiver<T::Packet>,
    stats: Arc<ChannelCounters>,
}

fn unpack<T: Transfer>(packet: T::Packet) -> T {
    T::unpack(packet, &mut Unpack::new())
}

impl<T: Transfer> Sender<T> {
    /// Counts a completed send.
    #[inline]
    fn sent<E>(&self, mode: Mode, bytes: u64) -> Result<(), E> {
        self.stats.add(mode, bytes);
        stats::record_thread(mode, bytes);
        Ok(())
    }

    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Cancel safety
    ///
    /// As [`subinterp::Sender::send`](crate::Sender::send): if the future is
    /// dropped before it completes, the value was either received or is
    /// dropped with the future (it is packed when `send` is called).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::transfer::bounded::<Vec<u8>>(1);
    /// tx.send(vec![1]).await.unwrap();
    /// assert_eq!(rx.recv().await.unwrap(), [1]);
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        let (packet, mode, bytes) = pack_value(value);
        SendFuture {
            tx: self,
            inner: self.inner.send(packet),
            mode,
            bytes,
        }
    }

    /// Sends `value`, blocking this thread while the channel is full.
    ///
    /// # Panics
    ///
    /// Inside a subinterp task (use [`send`](Sender::send)`.await`), and on a
    /// strong `Rc` cycle.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::bounded::<String>(1);
    /// tx.send_blocking("x".into()).unwrap();
    /// assert_eq!(rx.recv_blocking().unwrap(), "x");
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        let (packet, mode, bytes) = pack_value(value);
        match self.inner.send_blocking(packet) {
            Ok(()) => self.sent(mode, bytes),
            Err(SendError(p)) => Err(SendError(unpack(p))),
        }
    }

    /// Sends `value` if that can be done without waiting.
    ///
    /// ```
    /// let (tx, _rx) = subinterp::transfer::bounded::<u8>(0);
    /// assert!(tx.try_send(1).unwrap_err().is_full());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let (packet, mode, bytes) = pack_value(value);
        match self.inner.try_send(packet) {
            Ok(()) => self.sent(mode, bytes),
            Err(TrySendError::Full(p)) => Err(TrySendError::Full(unpack(p))),
            Err(TrySendError::Closed(p)) => Err(TrySendError::Closed(unpack(p))),
        }
    }

    /// Sends `value`, blocking this thread for at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = subinterp::transfer::bounded::<u8>(0);
    /// assert!(tx.send_timeout(1, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let (packet, mode, bytes) = pack_value(value);
        let r = self.inner.send_timeout(packet, timeout);
        self.finish_timed(r, mode, bytes)
    }

    /// Sends `value`, blocking this thread until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = subinterp::transfer::bounded::<u8>(0);
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(tx.send_deadline(1, deadline).unwrap_err().is_timeout());
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        let (packet, mode, bytes) = pack_value(value);
        let r = self.inner.send_deadline(packet, deadline);
        self.finish_timed(r, mode, bytes)
    }

    fn finish_timed(
        &self,
        r: Result<(), SendTimeoutError<T::Packet>>,
        mode: Mode,
        bytes: u64,
    ) -> Result<(), SendTimeoutError<T>> {
        match r {
            Ok(()) => self.sent(mode, bytes),
            Err(SendTimeoutError::Timeout(p)) => Err(SendTimeoutError::Timeout(unpack(p))),
            Err(SendTimeoutError::Closed(p)) => Err(SendTimeoutError::Closed(unpack(p))),
        }
    }

    /// Sends a deep copy of `value`; the caller keeps it. Needs
    /// `T: DeepCopy` (every `Transfer` type of this crate and every derived
    /// one has it): shared parts are shared, everything else is copied.
    /// The error carries no value, since the caller still has it.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::transfer::bounded::<Vec<u8>>(1);
    /// let v = vec![1, 2, 3];
    /// tx.send_copy(&v).await.unwrap();
    /// assert_eq!(rx.recv().await.unwrap(), v);
    /// assert_eq!(tx.stats().bytes_copied, 3);
    /// # });
    /// ```
    pub fn send_copy(&self, value: &T) -> SendCopyFuture<'_, T>
    where
        T: DeepCopy,
    {
        let (packet, mode, bytes) = pack_copy_value(value);
        SendCopyFuture {
            tx: self,
            inner: self.inner.send(packet),
            mode,
            bytes,
        }
    }

    /// Sends a deep copy of `value`, blocking this thread while the channel
    /// is full.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::bounded::<String>(1);
    /// let s = String::from("kept");
    /// tx.send_copy_blocking(&s).unwrap();
    /// assert_eq!(rx.recv_blocking().unwrap(), s);
    /// ```
    pub fn send_copy_blocking(&self, value: &T) -> Result<(), SendError<()>>
    where
        T: DeepCopy,
    {
        let (packet, mode, bytes) = pack_copy_value(value);
        match self.inner.send_blocking(packet) {
            Ok(()) => self.sent(mode, bytes),
            Err(_) => Err(SendError(())),
        }
    }

    /// Sends a deep copy of `value` if that can be done without waiting.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::bounded::<Vec<u32>>(1);
    /// tx.try_send_copy(&vec![1]).unwrap();
    /// assert!(tx.try_send_copy(&vec![2]).unwrap_err().is_full());
    /// ```
    pub fn try_send_copy(&self, value: &T) -> Result<(), TrySendError<()>>
    where
        T: DeepCopy,
    {
        let (packet, mode, bytes) = pack_copy_value(value);
        match self.inner.try_send(packet) {
            Ok(()) => self.sent(mode, bytes),
            Err(TrySendError::Full(_)) => Err(TrySendError::Full(())),
            Err(TrySendError::Closed(_)) => Err(TrySendError::Closed(())),
        }
    }

    /// Sends a deep copy of `value`, blocking this thread for at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = subinterp::transfer::bounded::<u8>(0);
    /// assert!(tx.send_copy_timeout(&1, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn send_copy_timeout(
        &self,
        value: &T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<()>>
    where
        T: DeepCopy,
    {
        let (packet, mode, bytes) = pack_copy_value(value);
        match self.inner.send_timeout(packet, timeout) {
            Ok(()) => self.sent(mode, bytes),
            Err(SendTimeoutError::Timeout(_)) => Err(SendTimeoutError::Timeout(())),
            Err(SendTimeoutError::Closed(_)) => Err(SendTimeoutError::Closed(())),
        }
    }

    /// The plain channel of packets underneath (for `select`).
    #[allow(dead_code)]
    pub(crate) fn packets(&self) -> &crate::Sender<T::Packet> {
        &self.inner
    }

    /// Counts a transfer that a `select` send case completed; the packet was
    /// made with `transfer::pack_value` (or `pack_copy_value`).
    #[allow(dead_code)]
    pub(crate) fn note_sent(&self, mode: Mode, bytes: u64) {
        let _: Result<(), ()> = self.sent(mode, bytes);
    }
}

impl<T: Transfer> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty; `Err`
    /// once the channel is closed and drained.
    ///
    /// # Cancel safety
    ///
    /// As [`subinterp::Receiver::recv`](crate::Receiver::recv): a value is
    /// unpacked only once it is received, so dropping the future loses
    /// nothing.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = subinterp::transfer::unbounded::<String>();
    /// tx.send("a".into()).await.unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv().await.unwrap(), "a");
    /// assert!(rx.recv().await.is_err());
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            inner: self.inner.recv(),
        }
    }

    /// Receives the next value, blocking this thread while the channel is empty.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::bounded::<Vec<u8>>(0);
    /// std::thread::spawn(move || tx.send_blocking(vec![1]).unwrap());
    /// assert_eq!(rx.recv_blocking().unwrap(), [1]);
    /// ```
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        self.inner.recv_blocking().map(unpack)
    }

    /// Receives a value if one is ready now.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::bounded::<u8>(1);
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map(unpack)
    }

    /// Receives a value, blocking this thread for at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = subinterp::transfer::bounded::<u8>(1);
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.inner.recv_timeout(timeout).map(unpack)
    }

    /// Receives a value, blocking this thread until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = subinterp::transfer::unbounded::<u8>();
    /// assert!(rx.recv_deadline(Instant::now() + Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.inner.recv_deadline(deadline).map(unpack)
    }

    /// A blocking iterator over received values; it ends when the channel is
    /// closed and drained.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::unbounded::<String>();
    /// std::thread::spawn(move || tx.send_blocking("a".into()).unwrap());
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), ["a"]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; it never blocks.
    ///
    /// ```
    /// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// The plain channel of packets underneath (for `select`); unpack what
    /// it yields with `T::unpack(p, &mut Unpack::new())`.
    #[allow(dead_code)]
    pub(crate) fn packets(&self) -> &crate::Receiver<T::Packet> {
        &self.inner
    }
}

macro_rules! shared_methods {
    ($handle:ident) => {
        impl<T: Transfer> $handle<T> {
            /// Closes the channel, as [`subinterp::Sender::close`](crate::Sender::close).
            /// Returns true if this call closed it.
            ///
            /// ```
            /// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
            /// assert!(rx.close());
            /// assert!(tx.is_closed());
            /// ```
            pub fn close(&self) -> bool {
                self.inner.close()
            }

            /// True once the channel is closed.
            ///
            /// ```
            /// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
            /// drop(tx);
            /// assert!(rx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// The number of values buffered (Go's `len(ch)`).
            ///
            /// ```
            /// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
            /// tx.try_send(1).unwrap();
            /// assert_eq!((tx.len(), rx.len()), (1, 1));
            /// ```
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// True if no value is buffered.
            ///
            /// ```
            /// let (tx, _rx) = subinterp::transfer::unbounded::<u8>();
            /// assert!(tx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.inner.is_empty()
            }

            /// True if the buffer is at capacity.
            ///
            /// ```
            /// let (tx, _rx) = subinterp::transfer::bounded::<u8>(1);
            /// tx.try_send(1).unwrap();
            /// assert!(tx.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.inner.is_full()
            }

            /// The bound, or `None` for an unbounded channel.
            ///
            /// ```
            /// assert_eq!(subinterp::transfer::bounded::<u8>(3).0.capacity(), Some(3));
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                self.inner.capacity()
            }

            /// True if both handles belong to the same channel.
            ///
            /// ```
            /// let (tx, _rx) = subinterp::transfer::unbounded::<u8>();
            /// assert!(tx.same_channel(&tx.clone()));
            /// ```
            pub fn same_channel(&self, other: &$handle<T>) -> bool {
                self.inner.same_channel(&other.inner)
            }

            /// The transfers sent through this channel so far (by all its
            /// senders; counted when a send succeeds).
            ///
            /// ```
            /// use subinterp::transfer::{self, Frozen};
            /// let (tx, rx) = transfer::unbounded::<Frozen<[u8]>>();
            /// tx.try_send(Frozen::from(&[1u8, 2][..])).unwrap();
            /// assert_eq!(rx.stats().shared, 1);
            /// ```
            pub fn stats(&self) -> TransferStats {
                self.stats.snapshot()
            }
        }

        impl<T: Transfer> Clone for $handle<T> {
            fn clone(&self) -> Self {
                $handle {
                    inner: self.inner.clone(),
                    stats: Arc::clone(&self.stats),
                }
            }
        }

        impl<T: Transfer> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("transfer::", stringify!($handle)))
                    .field("capacity", &self.capacity())
                    .field("stats", &self.stats())
                    .finish()
            }
        }
    };
}

shared_methods!(Sender);
shared_methods!(Receiver);

/// The future of [`Sender::send`]: resolves once the packed value is sent,
/// or gives it back unpacked.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
/// let fut: subinterp::transfer::SendFuture<'_, u8> = tx.send(1);
/// fut.await.unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T: Transfer> {
    tx: &'a Sender<T>,
    inner: crate::SendFuture<'a, T::Packet>,
    mode: Mode,
    bytes: u64,
}

impl<T: Transfer> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut this.inner).poll(cx).map(|r| match r {
            Ok(()) => this.tx.sent(this.mode, this.bytes),
            Err(SendError(p)) => Err(SendError(unpack(p))),
        })
    }
}

/// The future of [`Sender::send_copy`].
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::transfer::unbounded::<String>();
/// let fut: subinterp::transfer::SendCopyFuture<'_, String> = tx.send_copy(&"s".to_string());
/// fut.await.unwrap();
/// assert_eq!(rx.try_recv().unwrap(), "s");
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendCopyFuture<'a, T: Transfer> {
    tx: &'a Sender<T>,
    inner: crate::SendFuture<'a, T::Packet>,
    mode: Mode,
    bytes: u64,
}

impl<T: Transfer> Future for SendCopyFuture<'_, T> {
    type Output = Result<(), SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut this.inner).poll(cx).map(|r| match r {
            Ok(()) => this.tx.sent(this.mode, this.bytes),
            Err(_) => Err(SendError(())),
        })
    }
}

/// The future of [`Receiver::recv`]: unpacks the value when it arrives.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
/// tx.try_send(1).unwrap();
/// let fut: subinterp::transfer::RecvFuture<'_, u8> = rx.recv();
/// assert_eq!(fut.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T: Transfer> {
    inner: crate::RecvFuture<'a, T::Packet>,
}

impl<T: Transfer> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().inner)
            .poll(cx)
            .map(|r| r.map(unpack))
    }
}

macro_rules! debug_future {
    ($($name:ident),*) => {$(
        impl<T: Transfer> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("transfer::", stringify!($name))).finish_non_exhaustive()
            }
        }
    )*};
}

debug_future!(SendFuture, SendCopyFuture, RecvFuture);

/// A blocking iterator over received values, made by [`Receiver::iter`].
///
/// ```
/// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
/// tx.try_send(1).unwrap();
/// drop(tx);
/// let it: subinterp::transfer::Iter<'_, u8> = rx.iter();
/// assert_eq!(it.count(), 1);
/// ```
pub struct Iter<'a, T: Transfer> {
    rx: &'a Receiver<T>,
}

/// A non-blocking iterator over the values ready now, made by [`Receiver::try_iter`].
///
/// ```
/// let (_tx, rx) = subinterp::transfer::unbounded::<u8>();
/// let it: subinterp::transfer::TryIter<'_, u8> = rx.try_iter();
/// assert_eq!(it.count(), 0);
/// ```
pub struct TryIter<'a, T: Transfer> {
    rx: &'a Receiver<T>,
}

/// An owning blocking iterator, made by `Receiver::into_iter`.
///
/// ```
/// let (tx, rx) = subinterp::transfer::unbounded::<u8>();
/// tx.try_send(2).unwrap();
/// drop(tx);
/// let it: subinterp::transfer::IntoIter<u8> = rx.into_iter();
/// assert_eq!(it.collect::<Vec<_>>(), [2]);
/// ```
pub struct IntoIter<T: Transfer> {
    rx: Receiver<T>,
}

impl<T: Transfer> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<T: Transfer> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T: Transfer> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<'a, T: Transfer> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Transfer> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

macro_rules! debug_iter {
    ($($name:ident $(<$lt:lifetime>)?),*) => {$(
        impl<T: Transfer> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("transfer::", stringify!($name))).finish_non_exhaustive()
            }
        }
    )*};
}

debug_iter!(Iter<'_>, TryIter<'_>, IntoIter);

/// A `Stream` of received values, unpacked as they arrive; it ends when the
/// channel is closed and drained. Cancel-safe as [`Receiver::recv`] is.
///
/// ```
/// use futures::StreamExt;
/// # futures::executor::block_on(async {
/// let (tx, mut rx) = subinterp::transfer::unbounded::<String>();
/// tx.try_send("a".into()).unwrap();
/// drop(tx);
/// assert_eq!(rx.next().await.as_deref(), Some("a"));
/// assert_eq!(rx.next().await, None);
/// # });
/// ```
#[cfg(feature = "futures")]
impl<T: Transfer> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        futures_core::Stream::poll_next(Pin::new(&mut self.get_mut().inner), cx)
            .map(|p| p.map(unpack))
    }
}

#[cfg(feature = "futures")]
impl<T: Transfer> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        futures_core::FusedStream::is_terminated(&self.inner)
    }
}
