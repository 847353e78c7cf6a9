//! The channel core: one locked queue serves every flavor.
//!
//! The flavors differ only in capacity (as tokio's `chan.rs` is one queue
//! generic over a capacity policy): `cap == 0` is a rendezvous, `cap == n` is
//! bounded, `cap == usize::MAX` is unbounded. Under the lock there are three
//! queues:
//!
//! - `buf`: values sent and not yet received;
//! - `senders`: *offers*, each a blocked sender's value parked in the channel
//!   beside its [`Entry`]. A receiver takes an offer by claiming the entry's
//!   waiter, so the value stays with its owner until a running party takes it;
//! - `receivers`: blocked receivers, each with an empty slot. A sender hands a
//!   value over by claiming the waiter and filling the slot.
//!
//! Invariants, all under the lock:
//! 1. A receiver entry waits only while `buf` is empty and no offer can be
//!    taken; an offer waits only while `buf` is full and no receiver can take
//!    it. Every path that changes `buf` or the queues keeps this (a pop from a
//!    full `buf` pulls the oldest offer in; a send to an empty `buf` goes
//!    straight to the oldest waiting receiver).
//! 2. A claimed offer is removed by its claimer (nothing is left to return).
//!    A claimed receiver entry stays, holding the value, until its owner
//!    removes it: the owner then finds its value there.
//! 3. Entries of aborted waiters are skipped (the claim CAS fails) and removed
//!    by their owners, who take their values back.
//! 4. After `closed`, no offer is taken: blocked senders fail with their value.

use super::error::{TryRecvError, TrySendError};
use super::lock::{Lock, LockGuard, RawLock};
use super::waiters::{with_thread_waiter, DeferredList, Entry, Waiter};
use crate::sync::{Arc, AtomicUsize};
use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Instant;

/// Capacity that marks an unbounded channel.
pub(crate) const UNBOUNDED: usize = usize::MAX;

/// A bounded channel's buffer is allocated up front, as Go's `make` does (so
/// sends never reallocate), up to this many bytes; a larger bound grows on
/// demand, so `bounded(huge)` costs nothing until it is used.
const PREALLOC_BYTES: usize = 64 << 20;

pub(crate) struct SendEntry<T> {
    pub(crate) entry: Entry,
    pub(crate) value: T,
}

pub(crate) struct RecvEntry<T> {
    pub(crate) entry: Entry,
    /// Filled by the sender that claimed this entry.
    pub(crate) slot: Option<T>,
}

pub(crate) struct Inner<T> {
    pub(crate) buf: VecDeque<T>,
    pub(crate) closed: bool,
    pub(crate) senders: VecDeque<SendEntry<T>>,
    pub(crate) receivers: VecDeque<RecvEntry<T>>,
    /// Wake-ups and waker drops owed once the lock is released; the guard
    /// returned by [`Chan::lock`] runs them.
    pub(crate) deferred: DeferredList,
}

/// The shared state behind every `Sender` and `Receiver` of one channel.
pub(crate) struct Chan<T> {
    inner: Lock<Inner<T>>,
    pub(crate) cap: usize,
    pub(crate) sender_count: AtomicUsize,
    pub(crate) receiver_count: AtomicUsize,
}

impl<T> Inner<T> {
    /// Takes the oldest offer, claiming its waiter.
    fn take_offer(&mut self) -> Option<T> {
        let i = self.senders.iter().position(|s| s.entry.try_claim())?;
        let mut s = self.senders.remove(i)?;
        self.deferred.push(s.entry.wake());
        Some(s.value)
    }

    /// Gives `value` to the oldest waiting receiver, claiming its waiter.
    fn give_to_receiver(&mut self, value: T) -> Result<(), T> {
        for r in self.receivers.iter_mut() {
            if r.slot.is_none() && r.entry.try_claim() {
                r.slot = Some(value);
                self.deferred.push(r.entry.wake());
                return Ok(());
            }
        }
        Err(value)
    }

    pub(crate) fn try_recv(&mut self, cap: usize) -> Result<T, TryRecvError> {
        if let Some(v) = self.buf.pop_front() {
            // Room appeared: the oldest blocked sender's value moves in (invariant 1).
            if !self.closed && !self.senders.is_empty() && self.buf.len() < cap {
                if let Some(next) = self.take_offer() {
                    self.buf.push_back(next);
                }
            }
            return Ok(v);
        }
        if self.closed {
            return Err(TryRecvError::Closed);
        }
        self.take_offer().ok_or(TryRecvError::Empty)
    }

    pub(crate) fn try_send(&mut self, value: T, cap: usize) -> Result<(), TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(value));
        }
        let value = if self.buf.is_empty() && !self.receivers.is_empty() {
            match self.give_to_receiver(value) {
                Ok(()) => return Ok(()),
                Err(v) => v,
            }
        } else {
            value
        };
        if self.buf.len() < cap {
            self.buf.push_back(value);
            Ok(())
        } else {
            Err(TrySendError::Full(value))
        }
    }

    /// Would a receive complete now (a value, an offer, or closed)?
    pub(crate) fn recv_ready(&self) -> bool {
        !self.buf.is_empty()
            || self.closed
            || self.senders.iter().any(|s| s.entry.waiter.is_waiting())
    }

    /// Removes `waiter`'s receiver entry for `case`. `Some(slot)` if it was there.
    pub(crate) fn remove_recv(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<Option<T>> {
        let i = self
            .receivers
            .iter()
            .position(|r| r.entry.is(waiter, case))?;
        let mut r = self.receivers.remove(i)?;
        self.defer_drop(&mut r.entry);
        Some(r.slot)
    }

    /// Removes `waiter`'s offer for `case`, giving the value back. `None`: the
    /// offer is gone because a receiver took it.
    pub(crate) fn remove_send(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<T> {
        let i = self.senders.iter().position(|s| s.entry.is(waiter, case))?;
        let mut s = self.senders.remove(i)?;
        self.defer_drop(&mut s.entry);
        Some(s.value)
    }

    /// A removed entry's waker is dropped after the unlock (see `Deferred`).
    fn defer_drop(&mut self, entry: &mut Entry) {
        if let Some(w) = entry.waker.take() {
            self.deferred.push(super::waiters::Deferred::Drop(w));
        }
    }

    pub(crate) fn find_send(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<usize> {
        self.senders.iter().position(|s| s.entry.is(waiter, case))
    }

    pub(crate) fn find_recv(&mut self, waiter: &Arc<Waiter>, case: usize) -> Option<usize> {
        self.receivers.iter().position(|r| r.entry.is(waiter, case))
    }

    /// Puts back a value that was handed to a receiver which went away before
    /// taking it (a dropped `recv()` future or `select!`): it goes to the next
    /// waiting receiver, or to the front of the buffer, so the next receiver
    /// gets it first. The buffer may exceed its capacity by these values.
    pub(crate) fn redeliver(&mut self, value: T) {
        if self.buf.is_empty() {
            if let Err(v) = self.give_to_receiver(value) {
                self.buf.push_front(v);
            }
        } else {
            self.buf.push_front(value);
        }
    }

    /// Marks the channel closed and wakes every waiter. False if it already was.
    pub(crate) fn close(&mut self) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        for s in self.senders.iter_mut() {
            self.deferred.push(s.entry.notify());
        }
        for r in self.receivers.iter_mut() {
            self.deferred.push(r.entry.notify());
        }
        true
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        let mut buf = VecDeque::new();
        if cap != UNBOUNDED {
            let slots = cap.min(PREALLOC_BYTES / std::mem::size_of::<T>().max(1));
            // Out of memory here is not an error: the buffer grows as it fills.
            let _ = buf.try_reserve_exact(slots);
        }
        Chan {
            inner: Lock::new(Inner {
                buf,
                closed: false,
                senders: VecDeque::new(),
                receivers: VecDeque::new(),
                deferred: DeferredList::new(),
            }),
            cap,
            sender_count: AtomicUsize::new(1),
            receiver_count: AtomicUsize::new(1),
        }
    }

    /// Locks the channel; the deferred work is done when the guard drops.
    #[inline]
    pub(crate) fn lock(&self) -> ChanGuard<'_, T> {
        ChanGuard {
            guard: Some(self.inner.lock()),
        }
    }

    /// The lock alone, for a select that locks all of its channels at once.
    pub(crate) fn raw_lock(&self) -> &RawLock {
        self.inner.raw()
    }

    /// The state, for a caller that holds [`raw_lock`](Chan::raw_lock).
    ///
    /// # Safety
    ///
    /// As [`Lock::assume_locked`]: the caller holds this channel's `RawGuard`
    /// while the reference lives and makes no other reference to the state.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn assume_locked(&self) -> &mut Inner<T> {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.inner.assume_locked() }
    }

    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.lock().try_send(value, self.cap)
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.lock().try_recv(self.cap)
    }

    pub(crate) fn close(&self) -> bool {
        self.lock().close()
    }

    /// The last receiver went away: close, and drop the buffered values now
    /// (outside the lock, since their destructors are user code).
    pub(crate) fn disconnect_receivers(&self) {
        let drained = {
            let mut inner = self.lock();
            inner.close();
            std::mem::take(&mut inner.buf)
        };
        drop(drained);
    }

    /// Blocks the current thread until the value is sent, the channel closes,
    /// or `deadline` passes. The error is `Full(v)` on the deadline.
    pub(crate) fn send_blocking(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), TrySendError<T>> {
        let mut inner = self.lock();
        let value = match inner.try_send(value, self.cap) {
            Err(TrySendError::Full(v)) => v,
            done => return done,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(TrySendError::Full(value));
        }
        with_thread_waiter(|waiter| {
            let mut value = value;
            loop {
                waiter.reset();
                inner.senders.push_back(SendEntry {
                    entry: Entry::new(waiter, 0, None),
                    value,
                });
                drop(inner);
                let in_time = waiter.wait(deadline);
                inner = self.lock();
                // A receiver that took the offer removed it (invariant 2).
                match inner.remove_send(waiter, 0) {
                    None => return Ok(()),
                    Some(v) => value = v,
                }
                // Still ours, and nobody can take it now that it is out of the queue.
                value = match inner.try_send(value, self.cap) {
                    Err(TrySendError::Full(v)) if in_time => v,
                    done => return done,
                };
            }
        })
    }

    /// Blocks the current thread until a value arrives, the channel is closed
    /// and drained, or `deadline` passes (`Err(Empty)`).
    pub(crate) fn recv_blocking(&self, deadline: Option<Instant>) -> Result<T, TryRecvError> {
        let mut inner = self.lock();
        match inner.try_recv(self.cap) {
            Err(TryRecvError::Empty) => {}
            done => return done,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(TryRecvError::Empty);
        }
        with_thread_waiter(|waiter| loop {
            waiter.reset();
            inner.receivers.push_back(RecvEntry {
                entry: Entry::new(waiter, 0, None),
                slot: None,
            });
            drop(inner);
            let in_time = waiter.wait(deadline);
            inner = self.lock();
            if let Some(Some(v)) = inner.remove_recv(waiter, 0) {
                return Ok(v);
            }
            match inner.try_recv(self.cap) {
                Err(TryRecvError::Empty) if in_time => {}
                done => return done,
            }
        })
    }

    /// One poll of an async receive; `reg` remembers a registration between polls.
    pub(crate) fn poll_recv(
        &self,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, TryRecvError>> {
        let mut inner = self.lock();
        if reg.registered {
            let waiter = reg.waiter.as_ref().expect("registered without a waiter");
            let ready = inner.recv_ready();
            if let Some(i) = inner.find_recv(waiter, 0) {
                if inner.receivers[i].slot.is_none() && !ready {
                    // Still waiting and nothing to take: keep our place in the queue.
                    let inner = &mut *inner;
                    let entry = &mut inner.receivers[i].entry;
                    if let Some(old) = entry.update_waker(cx.waker()) {
                        inner.deferred.push(old);
                    }
                    return Poll::Pending;
                }
            }
            reg.registered = false;
            if let Some(Some(v)) = inner.remove_recv(waiter, 0) {
                return Poll::Ready(Ok(v));
            }
        }
        match inner.try_recv(self.cap) {
            Err(TryRecvError::Empty) => {
                let waiter = reg.prepare();
                inner.receivers.push_back(RecvEntry {
                    entry: Entry::new(waiter, 0, Some(cx.waker())),
                    slot: None,
                });
                reg.registered = true;
                Poll::Pending
            }
            done => Poll::Ready(done),
        }
    }

    /// Cancels an async receive: a value already handed to it goes back to
    /// the channel for the next receiver (cancel safety).
    pub(crate) fn cancel_recv(&self, reg: &mut Registration) {
        if !reg.registered {
            return;
        }
        reg.registered = false;
        let mut inner = self.lock();
        if let Some(Some(v)) = inner.remove_recv(reg.waiter(), 0) {
            inner.redeliver(v);
        }
    }

    /// One poll of an async send. `value` holds the value until it is offered.
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        reg: &mut Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let mut inner = self.lock();
        if reg.registered {
            let waiter = reg.waiter.as_ref().expect("registered without a waiter");
            let closed = inner.closed;
            match inner.find_send(waiter, 0) {
                // Taken by a receiver (invariant 2).
                None => {
                    reg.registered = false;
                    return Poll::Ready(Ok(()));
                }
                Some(i) if !closed => {
                    let inner = &mut *inner;
                    if let Some(old) = inner.senders[i].entry.update_waker(cx.waker()) {
                        inner.deferred.push(old);
                    }
                    return Poll::Pending;
                }
                Some(_) => {
                    reg.registered = false;
                    let v = inner.remove_send(waiter, 0).expect("offer present");
                    return Poll::Ready(Err(v));
                }
            }
        }
        let v = value.take().expect("send future polled after completion");
        match inner.try_send(v, self.cap) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(TrySendError::Closed(v)) => Poll::Ready(Err(v)),
            Err(TrySendError::Full(v)) => {
                let waiter = reg.prepare();
                inner.senders.push_back(SendEntry {
                    entry: Entry::new(waiter, 0, Some(cx.waker())),
                    value: v,
                });
                reg.registered = true;
                Poll::Pending
            }
        }
    }

    /// `Sink::start_send`: sends now if possible, else leaves `value` as an
    /// offer that `poll_send` then waits on. `Err(value)` if closed.
    #[cfg_attr(not(feature = "futures"), allow(dead_code))]
    pub(crate) fn start_send(&self, value: T, reg: &mut Registration) -> Result<(), T> {
        let mut inner = self.lock();
        match inner.try_send(value, self.cap) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(v),
            Err(TrySendError::Full(v)) => {
                let waiter = reg.prepare();
                // The waker comes with the next poll_ready/poll_flush.
                inner.senders.push_back(SendEntry {
                    entry: Entry::new(waiter, 0, None),
                    value: v,
                });
                reg.registered = true;
                Ok(())
            }
        }
    }

    /// Cancels an async send: the value, if no receiver took it, is returned.
    pub(crate) fn cancel_send(&self, reg: &mut Registration) -> Option<T> {
        if !reg.registered {
            return None;
        }
        reg.registered = false;
        let v = self.lock().remove_send(reg.waiter(), 0);
        v
    }
}

/// The registration of one async operation (a `send`/`recv` future, the
/// `Stream` or `Sink` of a handle) between two polls. It holds no value, so
/// handles that embed it stay `Send + Sync` for any `T: Send`.
#[derive(Default)]
pub(crate) struct Registration {
    waiter: Option<Arc<Waiter>>,
    pub(crate) registered: bool,
}

impl Registration {
    fn waiter(&self) -> &Arc<Waiter> {
        self.waiter.as_ref().expect("registered without a waiter")
    }

    /// The waiter for a new round: taken from this thread's pool once per
    /// operation, reused across its rounds, and given back when it ends.
    fn prepare(&mut self) -> &Arc<Waiter> {
        let w = self.waiter.get_or_insert_with(super::waiters::task_waiter);
        w.reset();
        w
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            super::waiters::recycle_task_waiter(w);
        }
    }
}

/// The lock of one channel, held. When it drops, the lock is released first,
/// then the deferred wake-ups run (see [`Deferred`](super::waiters::Deferred)).
pub(crate) struct ChanGuard<'a, T> {
    guard: Option<LockGuard<'a, Inner<T>>>,
}

impl<T> std::ops::Deref for ChanGuard<'_, T> {
    type Target = Inner<T>;
    #[inline]
    fn deref(&self) -> &Inner<T> {
        self.guard.as_ref().expect("held until drop")
    }
}

impl<T> std::ops::DerefMut for ChanGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Inner<T> {
        self.guard.as_mut().expect("held until drop")
    }
}

impl<T> Drop for ChanGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if guard.deferred.is_empty() {
            return;
        }
        let deferred = std::mem::take(&mut guard.deferred);
        drop(guard);
        for d in deferred {
            d.run();
        }
    }
}
