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
//!
//! ## select
//!
//! [`select!`] waits on several channel operations and runs exactly one, as
//! Go's `select`: uniformly at random among the ready ones, `default` only if
//! none is ready at that moment, `Option` cases that are `None` never fire,
//! and a send case that does not run keeps its value. [`select_blocking!`] is
//! the same for threads; [`Select`] takes a number of cases known at run time.
//!
//! ```
//! use std::time::Duration;
//! let (jobs_tx, jobs) = subinterp::bounded::<u32>(4);
//! let (quit_tx, quit) = subinterp::bounded::<()>(0);
//! jobs_tx.try_send(7).unwrap();
//! drop(quit_tx); // a closed channel's case is ready: it yields Err
//! let mut done = 0;
//! while done < 2 {
//!     subinterp::select_biased_blocking! {
//!         job = recv(&jobs) => assert_eq!(job, Ok(7)),
//!         q = recv(&quit) => assert!(q.is_err()),
//!         _ = recv(subinterp::after(Duration::from_secs(1))) => panic!("timed out"),
//!     }
//!     done += 1;
//! }
//! ```
//!
//! ## Subinterpreters and tasks
//!
//! An [`Interpreter`] is an isolated domain: its own thread, a single-threaded
//! executor, a timer queue and its own [`state`]. Tasks never leave their
//! interpreter, so they may hold `Rc` and `RefCell`; interpreters run in
//! parallel and talk through channels. [`run`] is a program's `main`, and
//! reports a deadlock (Go's "all goroutines are asleep") instead of hanging.
//!
//! ```
//! use std::rc::Rc;
//! let total = subinterp::run(async {
//!     let rt = subinterp::Runtime::current().unwrap();
//!     let (tx, rx) = subinterp::bounded(16);
//!     for worker in 0..4u64 {
//!         let tx = tx.clone();
//!         // Spread over the runtime's interpreters; each task may use Rc.
//!         rt.spawn(move || async move {
//!             let local = Rc::new(worker * 10);
//!             tx.send(*local).await.unwrap();
//!         })
//!         .detach();
//!     }
//!     drop(tx);
//!     let mut sum = 0;
//!     while let Ok(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     sum
//! });
//! assert_eq!(total.unwrap(), 60);
//! ```
//!
//! ## Transfer
//!
//! Values that cross from one interpreter to another go through the
//! [`transfer`] layer: immutable values are shared zero-copy ([`transfer::Frozen`],
//! `Arc`), uniquely owned ones are moved zero-copy (`Vec<u8>`, `String`),
//! and interpreter-local graphs (`Rc`, `RefCell`) are deep-copied with their
//! sharing kept. Transfer channels count which happened.
//!
//! ```
//! use std::rc::Rc;
//! let (tx, rx) = subinterp::transfer::unbounded::<Rc<Vec<u8>>>();
//! let a = subinterp::Interpreter::new().unwrap();
//! let b = subinterp::Interpreter::new().unwrap();
//! a.spawn(move || async move {
//!     tx.send(Rc::new(vec![1, 2, 3])).await.unwrap(); // deep-copied
//! })
//! .join_blocking()
//! .unwrap();
//! let len = b.call(move || rx.try_recv().unwrap().len()).unwrap();
//! assert_eq!(len, 3);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod chan;
mod context;
mod interp;
mod macros;
mod select;
mod sync;
mod time;
pub mod transfer;

pub use chan::local;
pub use chan::{
    bounded, unbounded, IntoIter, Iter, Receiver, RecvError, RecvFuture, RecvTimeoutError,
    SendError, SendFuture, SendTimeoutError, Sender, TryIter, TryRecvError, TrySendError,
};
#[cfg(loom)]
#[doc(hidden)]
pub use interp::executor::Inbox as __LoomInbox;
pub use interp::{
    compute, join_all, run, spawn, state, yield_now, Builder, Deadlock, Interpreter,
    InterpreterStats, Panic, Placement, Runtime, RuntimeBuilder, Task, TaskError, TaskGroup,
    WaitGroup,
};
#[doc(hidden)]
pub use select::__private;
pub use select::Select;
pub use time::{after, never, sleep, sleep_until, tick, timeout, Elapsed, Sleep};
pub use transfer::Transfer;
