//! `Frozen<T>`: an immutable, `Arc`-backed value that crosses interpreters
//! zero-copy.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable value behind an `Arc`: it crosses interpreters zero-copy (the
/// receiver sees the same allocation), and cloning it is a reference-count
/// increment. Erlang's refcounted binaries and Pony's `val`, typed.
///
/// Converting from an owned value (`Vec<u8>`, `String`, `Box<[T]>`, anything)
/// moves it into the `Arc` without copying its heap buffer.
///
/// ```
/// use subinterp::transfer::{self, Frozen};
/// let data: Frozen<Vec<u8>> = Frozen::from(vec![7u8; 1 << 20]);
/// let ptr = data.as_ptr();
/// let (tx, rx) = transfer::bounded::<Frozen<Vec<u8>>>(1);
/// tx.send_blocking(data).unwrap();
/// let got = std::thread::spawn(move || rx.recv_blocking().unwrap()).join().unwrap();
/// assert_eq!(got.as_ptr(), ptr); // the same bytes, never copied
/// assert_eq!(got[0], 7);
/// ```
pub struct Frozen<T: ?Sized>(Arc<T>);

impl<T> Frozen<T> {
    /// Freezes `value`.
    ///
    /// ```
    /// let f = subinterp::transfer::Frozen::new([1, 2, 3]);
    /// assert_eq!(f.len(), 3);
    /// ```
    pub fn new(value: T) -> Frozen<T> {
        Frozen(Arc::new(value))
    }
}

impl<T: ?Sized> Frozen<T> {
    /// Wraps an existing `Arc`; the value must not be mutated through other
    /// handles (an `Arc` gives shared access only, so without interior
    /// mutability it cannot be).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let f = subinterp::transfer::Frozen::from_arc(Arc::<str>::from("text"));
    /// assert_eq!(&*f, "text");
    /// ```
    pub fn from_arc(arc: Arc<T>) -> Frozen<T> {
        Frozen(arc)
    }

    /// The `Arc` inside.
    ///
    /// ```
    /// let arc = subinterp::transfer::Frozen::new(1u8).into_arc();
    /// assert_eq!(*arc, 1);
    /// ```
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }

    /// True if both handles point at the same allocation.
    ///
    /// ```
    /// use subinterp::transfer::Frozen;
    /// let a = Frozen::new(5);
    /// assert!(Frozen::ptr_eq(&a, &a.clone()));
    /// assert!(!Frozen::ptr_eq(&a, &Frozen::new(5)));
    /// ```
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.0, &other.0)
    }

    /// The address of the value, to check that two handles share it.
    ///
    /// ```
    /// let f = subinterp::transfer::Frozen::new(0u64);
    /// assert_eq!(f.as_ptr(), f.clone().as_ptr());
    /// ```
    pub fn as_ptr(&self) -> *const T {
        Arc::as_ptr(&self.0)
    }
}

impl<T: ?Sized> Clone for Frozen<T> {
    fn clone(&self) -> Self {
        Frozen(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for Frozen<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for Frozen<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> Borrow<T> for Frozen<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

/// Moves `value` into a new `Frozen` (its heap buffer, if any, is not copied).
///
/// ```
/// use subinterp::transfer::Frozen;
/// let v = vec![1u8, 2];
/// let ptr = v.as_ptr();
/// let f: Frozen<Vec<u8>> = v.into();
/// assert_eq!(f.as_slice().as_ptr(), ptr); // the same buffer
/// let s: Frozen<String> = String::from("s").into();
/// let b: Frozen<Box<[u32]>> = vec![1u32].into_boxed_slice().into();
/// assert_eq!((s.len(), b.len()), (1, 1));
/// ```
impl<T> From<T> for Frozen<T> {
    fn from(value: T) -> Self {
        Frozen::new(value)
    }
}

/// Copies a string slice into a new `Frozen<str>`.
///
/// ```
/// let f: subinterp::transfer::Frozen<str> = "abc".into();
/// assert_eq!(&*f, "abc");
/// ```
impl From<&str> for Frozen<str> {
    fn from(s: &str) -> Self {
        Frozen(Arc::from(s))
    }
}

/// Copies a slice into a new `Frozen<[T]>`.
///
/// ```
/// let f: subinterp::transfer::Frozen<[u8]> = (&[1u8, 2][..]).into();
/// assert_eq!(&*f, &[1, 2]);
/// ```
impl<T: Clone> From<&[T]> for Frozen<[T]> {
    fn from(s: &[T]) -> Self {
        Frozen(Arc::from(s))
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Frozen<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Frozen<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Frozen<T> {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

impl<T: ?Sized + Eq> Eq for Frozen<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Frozen<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (*self.0).partial_cmp(&*other.0)
    }
}

impl<T: ?Sized + Ord> Ord for Frozen<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self.0).cmp(&*other.0)
    }
}

impl<T: ?Sized + std::hash::Hash> std::hash::Hash for Frozen<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (*self.0).hash(state)
    }
}

impl<T: Default> Default for Frozen<T> {
    fn default() -> Self {
        Frozen::new(T::default())
    }
}
