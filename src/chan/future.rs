//! The async faces of a channel: `send`/`recv` futures, and `Stream`/`Sink`
//! behind the `futures` feature. They work under any executor: all they need
//! is the `Waker` they are polled with.

use super::{Receiver, RecvError, SendError, Sender};
use crate::chan::core::Registration;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of [`Sender::send`]. See there for cancel safety.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::unbounded();
/// let fut: subinterp::SendFuture<'_, i32> = tx.send(1);
/// fut.await.unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    tx: &'a Sender<T>,
    value: Option<T>,
    reg: Registration,
}

/// The future of [`Receiver::recv`]. See there for cancel safety.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::unbounded();
/// tx.try_send(1).unwrap();
/// let fut: subinterp::RecvFuture<'_, i32> = rx.recv();
/// assert_eq!(fut.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    rx: &'a Receiver<T>,
    reg: Registration,
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendFuture {
            tx,
            value: Some(value),
            reg: Registration::default(),
        }
    }
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(rx: &'a Receiver<T>) -> Self {
        RecvFuture {
            rx,
            reg: Registration::default(),
        }
    }
}

// The value is never pinned: it is moved into the channel or back out by value.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    // Always inline: the no-wait paths are short, and as a call the poll
    // paid a prologue and an epilogue as long as a whole receive (profiled).
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.tx
            .chan
            .poll_send(&mut this.value, &mut this.reg, cx)
            .map_err(SendError)
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.rx
            .chan
            .poll_recv(&mut this.reg, cx)
            .map_err(|_| RecvError)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Taken back from the channel if no receiver took it; dropped here.
        drop(self.tx.chan.cancel_send(&mut self.reg));
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.rx.chan.cancel_recv(&mut self.reg);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// A `Stream` of received values that ends when the channel is closed and
/// drained. Cancel-safe as [`Receiver::recv`] is.
///
/// ```
/// use futures::StreamExt;
/// # futures::executor::block_on(async {
/// let (tx, mut rx) = subinterp::unbounded();
/// tx.try_send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.next().await, Some(1));
/// assert_eq!(rx.next().await, None);
/// # });
/// ```
#[cfg(feature = "futures")]
impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan.poll_recv(&mut this.stream, cx).map(Result::ok)
    }
}

#[cfg(feature = "futures")]
impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        let inner = self.chan.lock();
        inner.closed() && inner.len() == 0
    }
}

/// A `Sink` of values. `start_send` always accepts a value once `poll_ready`
/// said so; `poll_flush` waits until a receiver has taken it (or it fits in
/// the buffer). `poll_close` flushes: the channel itself closes when the last
/// `Sender` drops or on [`Sender::close`], as other senders may still be
/// sending. A value accepted but not flushed is dropped with the `Sender`.
///
/// ```
/// use futures::SinkExt;
/// # futures::executor::block_on(async {
/// let (mut tx, rx) = subinterp::bounded(1);
/// tx.send(7).await.unwrap(); // SinkExt::send: start_send + flush
/// assert_eq!(rx.try_recv(), Ok(7));
/// # });
/// ```
#[cfg(feature = "futures")]
impl<T> futures_sink::Sink<T> for Sender<T> {
    type Error = SendError<()>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if !this.sink.registered {
            return if this.is_closed() {
                Poll::Ready(Err(SendError(())))
            } else {
                Poll::Ready(Ok(()))
            };
        }
        // The pending value either went through or is dropped: this sink
        // reports the channel closed, as a send after close would.
        let mut none = None;
        match this.chan.poll_send(&mut none, &mut this.sink, cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(_dropped)) => Poll::Ready(Err(SendError(()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        assert!(
            !this.sink.registered,
            "Sink::start_send called before poll_ready"
        );
        this.chan
            .start_send(item, &mut this.sink)
            .map_err(|_| SendError(()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_ready(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_ready(cx)
    }
}
