//! # subinterp
//!
//! Goroutine-style Communicating Sequential Processes for Rust.
//!
//! ## Channels
//!
//! Typed MPMC channels with Go's semantics, usable from OS threads (blocking),
//! from tasks of any executor (async), and from both at once:
//!
//! ```
//! // A rendezvous: each send completes only when a receiver takes the value.
//! let (tx, rx) = subinterp::bounded::<u64>(0);
//! let producer = std::thread::spawn(move || {
//!     for i in 1..=100 {
//!         tx.send_blocking(i).unwrap();
//!     }
//!     // Dropping the last Sender closes the channel.
//! });
//! let total: u64 = rx.iter().sum();
//! assert_eq!(total, 5050);
//! producer.join().unwrap();
//! ```
//!
//! The same channel from async code, under any executor:
//!
//! ```
//! # futures::executor::block_on(async {
//! let (tx, rx) = subinterp::unbounded();
//! tx.send("hello").await.unwrap();
//! assert_eq!(rx.recv().await, Ok("hello"));
//! # });
//! ```
//!
//! | constructor | `send` waits | Go |
//! |---|---|---|
//! | [`bounded(0)`](bounded) | until a receiver takes the value | `make(chan T)` |
//! | [`bounded(n)`](bounded) | while `n` values are buffered | `make(chan T, n)` |
//! | [`unbounded()`](unbounded) | never | — |
//!
//! Closing ([`Sender::close`], or dropping the last `Sender`) makes sends fail
//! with the value given back; receivers drain what is buffered, then get
//! [`RecvError`]. No value is ever lost or duplicated: each is received once,
//! returned in an error, or dropped once with the channel.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod chan;
mod context;
mod macros;
mod select;
mod sync;
mod time;
pub mod transfer;

pub use chan::{
    bounded, unbounded, IntoIter, Iter, Receiver, RecvError, RecvFuture, RecvTimeoutError,
    SendError, SendFuture, SendTimeoutError, Sender, TryIter, TryRecvError, TrySendError,
};
#[doc(hidden)]
pub use select::__private;
pub use select::Select;
pub use time::{after, never, tick};
pub use transfer::Transfer;
