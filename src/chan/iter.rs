//! Blocking iterators over a `Receiver`.

use super::Receiver;
use std::fmt;

/// A blocking iterator over received values, made by [`Receiver::iter`]. It
/// ends when the channel is closed and drained.
///
/// ```
/// let (tx, rx) = subinterp::unbounded();
/// tx.try_send(1).unwrap();
/// drop(tx);
/// let it: subinterp::Iter<'_, i32> = rx.iter();
/// assert_eq!(it.collect::<Vec<_>>(), [1]);
/// ```
pub struct Iter<'a, T> {
    pub(crate) rx: &'a Receiver<T>,
}

/// A non-blocking iterator over the values ready now, made by [`Receiver::try_iter`].
///
/// ```
/// let (tx, rx) = subinterp::unbounded();
/// tx.try_send(1).unwrap();
/// let it: subinterp::TryIter<'_, i32> = rx.try_iter();
/// assert_eq!(it.count(), 1);
/// ```
pub struct TryIter<'a, T> {
    pub(crate) rx: &'a Receiver<T>,
}

/// An owning blocking iterator, made by `Receiver::into_iter`.
///
/// ```
/// let (tx, rx) = subinterp::unbounded();
/// tx.try_send(1).unwrap();
/// drop(tx);
/// let it: subinterp::IntoIter<i32> = rx.into_iter();
/// assert_eq!(it.collect::<Vec<_>>(), [1]);
/// ```
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter { .. }")
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryIter { .. }")
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntoIter { .. }")
    }
}
