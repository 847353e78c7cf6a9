//! One error type per operation. A failed send always hands its value back,
//! and `Debug` never needs `T: Debug`.

use std::fmt;

/// The channel was closed: the value could not be sent and is given back.
///
/// ```
/// let (tx, rx) = subinterp::bounded::<String>(1);
/// drop(rx);
/// let err = tx.send_blocking("hi".to_string()).unwrap_err();
/// assert_eq!(err.into_inner(), "hi");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
#[error("sending on a closed channel")]
pub struct SendError<T>(pub T);

/// Why [`try_send`](crate::Sender::try_send) failed; the value is given back.
///
/// ```
/// use subinterp::TrySendError;
/// let (tx, _rx) = subinterp::bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum TrySendError<T> {
    /// The channel is full (a rendezvous channel: no receiver is waiting).
    #[error("sending on a full channel")]
    Full(T),
    /// The channel is closed.
    #[error("sending on a closed channel")]
    Closed(T),
}

/// Why [`send_timeout`](crate::Sender::send_timeout) failed; the value is given back.
///
/// ```
/// use std::time::Duration;
/// use subinterp::SendTimeoutError;
/// let (tx, _rx) = subinterp::bounded(0);
/// let err = tx.send_timeout(7, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(7));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum SendTimeoutError<T> {
    /// No room appeared (no receiver came) before the deadline.
    #[error("timed out sending on a full channel")]
    Timeout(T),
    /// The channel is closed.
    #[error("sending on a closed channel")]
    Closed(T),
}

/// The channel is closed and drained: no value will ever arrive.
///
/// ```
/// let (tx, rx) = subinterp::unbounded::<i32>();
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Err(subinterp::RecvError));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
#[error("receiving on a closed channel")]
pub struct RecvError;

/// Why [`try_recv`](crate::Receiver::try_recv) failed.
///
/// ```
/// use subinterp::TryRecvError;
/// let (tx, rx) = subinterp::unbounded::<i32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
pub enum TryRecvError {
    /// No value is ready now.
    #[error("receiving on an empty channel")]
    Empty,
    /// The channel is closed and drained.
    #[error("receiving on a closed channel")]
    Closed,
}

/// Why [`recv_timeout`](crate::Receiver::recv_timeout) failed.
///
/// ```
/// use std::time::Duration;
/// use subinterp::RecvTimeoutError;
/// let (_tx, rx) = subinterp::bounded::<i32>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
pub enum RecvTimeoutError {
    /// No value arrived before the deadline.
    #[error("timed out receiving on an empty channel")]
    Timeout,
    /// The channel is closed and drained.
    #[error("receiving on a closed channel")]
    Closed,
}

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
    /// True if the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
    /// True if the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }
    /// True if the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }
    /// True if the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

impl TryRecvError {
    /// True if the channel was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }
    /// True if the channel was closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }
}

impl RecvTimeoutError {
    /// True if the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }
    /// True if the channel was closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, RecvTimeoutError::Closed)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        SendTimeoutError::Closed(e.0)
    }
}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Closed
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Closed
    }
}
