//! Compile-time facts about the public types (as tokio's
//! `tests/async_send_sync.rs`), `Debug` without `T: Debug`, and bad input.
#![allow(clippy::extra_unused_type_parameters)]

mod common;

use common::watchdog;
use std::cell::Cell;
use std::rc::Rc;
use subinterp::{
    Receiver, RecvError, RecvFuture, RecvTimeoutError, SendError, SendFuture, SendTimeoutError,
    Sender, TryRecvError, TrySendError,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn clone<T: Clone>() {}
fn unpin<T: Unpin>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

/// Fails to compile if `$t` implements `$tr` (the ambiguity trick of
/// static_assertions' `assert_not_impl_any!`).
macro_rules! assert_not_impl {
    ($t:ty: $tr:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            #[allow(dead_code)]
            struct Invalid;
            impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

/// `Send` but not `Sync`: handles must still be `Send + Sync`.
type NotSync = Cell<u32>;
/// Neither `Send` nor `Sync`: handles must be neither.
type NotSend = Rc<u32>;
/// No `Debug`.
struct NoDebug;

#[test]
fn handles_are_send_sync_clone_for_send_t() {
    send::<Sender<u32>>();
    sync::<Sender<u32>>();
    clone::<Sender<u32>>();
    send::<Receiver<u32>>();
    sync::<Receiver<u32>>();
    clone::<Receiver<u32>>();
    // T: Send is enough; T need not be Sync.
    send::<Sender<NotSync>>();
    sync::<Sender<NotSync>>();
    send::<Receiver<NotSync>>();
    sync::<Receiver<NotSync>>();
    clone::<Sender<NoDebug>>();
    clone::<Receiver<NoDebug>>();
    unpin::<Sender<NotSend>>();
    unpin::<Receiver<NotSend>>();
}

assert_not_impl!(Sender<NotSend>: Send);
assert_not_impl!(Sender<NotSend>: Sync);
assert_not_impl!(Receiver<NotSend>: Send);
assert_not_impl!(Receiver<NotSend>: Sync);

#[test]
fn futures_are_send_for_send_t() {
    send::<SendFuture<'static, u32>>();
    send::<RecvFuture<'static, u32>>();
    send::<SendFuture<'static, NotSync>>();
    send::<RecvFuture<'static, NotSync>>();
    unpin::<SendFuture<'static, NotSend>>();
    unpin::<RecvFuture<'static, NotSend>>();

    // The futures of async fns that use the channel are Send too, so they
    // can be spawned on a multi-thread executor.
    fn is_send<F: std::future::Future + Send>(_: &F) {}
    let (tx, rx) = subinterp::bounded::<NotSync>(1);
    let f = async move {
        tx.send(Cell::new(1)).await.unwrap();
        rx.recv().await.unwrap()
    };
    is_send(&f);
    assert_eq!(futures::executor::block_on(f).get(), 1);
}

assert_not_impl!(SendFuture<'static, NotSend>: Send);
assert_not_impl!(RecvFuture<'static, NotSend>: Send);

#[cfg(feature = "futures")]
#[test]
fn stream_and_sink_are_implemented() {
    fn stream<S: futures::Stream<Item = u32> + futures::stream::FusedStream + Send + Unpin>() {}
    fn sink<S: futures::Sink<u32> + Send + Unpin>() {}
    stream::<Receiver<u32>>();
    sink::<Sender<u32>>();
}

#[test]
fn errors_are_send_sync_static_errors() {
    error::<SendError<u32>>();
    error::<TrySendError<u32>>();
    error::<SendTimeoutError<u32>>();
    error::<SendError<NoDebug>>();
    error::<TrySendError<NoDebug>>();
    error::<SendTimeoutError<NoDebug>>();
    error::<RecvError>();
    error::<TryRecvError>();
    error::<RecvTimeoutError>();
    // Boxed into the usual error type.
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(SendError(NoDebug));
    assert!(!e.to_string().is_empty());
}

#[test]
fn debug_does_not_need_t_debug() {
    let s = format!("{:?}", SendError(NoDebug));
    assert!(s.contains("SendError"), "{s}");
    let s = format!("{:?}", TrySendError::Full(NoDebug));
    assert!(s.contains("Full"), "{s}");
    let s = format!("{:?}", TrySendError::Closed(NoDebug));
    assert!(s.contains("Closed"), "{s}");
    let s = format!("{:?}", SendTimeoutError::Timeout(NoDebug));
    assert!(s.contains("Timeout"), "{s}");
    let s = format!("{:?}", SendTimeoutError::Closed(NoDebug));
    assert!(s.contains("Closed"), "{s}");
    let (tx, rx) = subinterp::bounded::<NoDebug>(3);
    assert!(format!("{tx:?}").contains("Sender"));
    assert!(format!("{rx:?}").contains("Receiver"));
    assert!(format!("{:?}", tx.send(NoDebug)).contains("SendFuture"));
    assert!(format!("{:?}", rx.recv()).contains("RecvFuture"));
    assert!(!format!("{:?}", rx.iter()).is_empty());
    assert!(!format!("{:?}", rx.try_iter()).is_empty());
    // Display says what happened.
    assert!(SendError(NoDebug).to_string().contains("closed"));
    assert!(TrySendError::Full(NoDebug).to_string().contains("full"));
    assert!(RecvError.to_string().contains("closed"));
}

#[test]
fn errors_give_the_value_back() {
    assert_eq!(SendError(5).into_inner(), 5);
    assert_eq!(TrySendError::Full(6).into_inner(), 6);
    assert_eq!(TrySendError::Closed(7).into_inner(), 7);
    assert_eq!(SendTimeoutError::Timeout(8).into_inner(), 8);
    assert_eq!(SendTimeoutError::Closed(9).into_inner(), 9);
}

// Bad input: a bound that cannot fit in memory fails with a clear message
// (a panic, not an allocation abort).
#[test]
#[should_panic(expected = "is too large")]
fn bounded_usize_max_panics_clearly() {
    let _ = subinterp::bounded::<u64>(usize::MAX);
}

#[test]
#[should_panic(expected = "subinterp::bounded: capacity")]
fn bounded_beyond_memory_panics_clearly() {
    let _ = subinterp::bounded::<u64>(isize::MAX as usize / 8 + 1);
}

// A large bound that fits is fine: capacity is allocated on demand.
#[test]
fn bounded_large_but_possible() {
    watchdog(30, "bounded_large_but_possible", || {
        let (tx, rx) = subinterp::bounded::<u64>(1 << 40);
        assert_eq!(tx.capacity(), Some(1 << 40));
        tx.try_send(1).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
    });
}

// Bad input that is not an error: try_send on a full channel gives the value
// back as Full; a send on a closed channel gives it back as Closed.
#[test]
fn full_and_closed_give_values_back() {
    watchdog(30, "full_and_closed_give_values_back", || {
        let (tx, rx) = subinterp::bounded::<String>(1);
        tx.try_send("a".into()).unwrap();
        assert_eq!(tx.try_send("b".into()), Err(TrySendError::Full("b".into())));
        rx.close();
        assert_eq!(
            tx.try_send("c".into()),
            Err(TrySendError::Closed("c".into()))
        );
        assert_eq!(tx.send_blocking("d".into()), Err(SendError("d".into())));
    });
}
