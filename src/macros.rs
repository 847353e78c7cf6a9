//! `select!`, `select_blocking!` and their biased forms: a thin parser that
//! expands to the same case list and protocol as [`Select`](crate::Select).
//!
//! Each case becomes a local `RecvCase`/`SendCase` (its channel and value
//! expressions evaluated once, in order), the cases are chained into a nested
//! tuple, the select runs, and the fired case's body runs with its result
//! bound to the pattern. Bodies are inlined at the call site, so `return`,
//! `break`, `continue` and `?` work in them as in a `match`.

/// Waits on several channel operations and runs exactly one, like Go's
/// `select`. The async form: it awaits, so it goes inside `async` code (any
/// executor).
///
/// Cases:
/// - `pat = recv(rx) => body`: `pat` binds `Result<T, RecvError>`
///   (`Err` once the channel is closed and drained);
/// - `pat = send(tx, value) => body`: `pat` binds `Result<(), SendError<T>>`;
///   `value` is sent only if this case runs, and dropped with the select otherwise
///   (use [`Select`](crate::Select) to get unsent values back);
/// - `default => body`: runs when no case is ready, making the select non-blocking.
///
/// A channel may be given as `&Receiver`/`&Sender`, an owned handle (such as
/// [`after`](crate::after)`(d)` for a timeout), or an `Option` of either;
/// `None` never fires (Go's nil channel). Among ready cases one is chosen
/// uniformly at random; [`select_biased!`](crate::select_biased!) takes the first.
///
/// # Cancel safety
///
/// Dropping the select future at any point loses no value: offers of send
/// cases that did not run are withdrawn, and a value already handed to a
/// receive case goes back to the front of its channel.
///
/// ```
/// use std::time::Duration;
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::bounded::<u32>(1);
/// let (done_tx, done_rx) = subinterp::bounded::<()>(0);
/// tx.send(1).await.unwrap();
/// let got = subinterp::select! {
///     v = recv(&rx) => v.unwrap(),
///     _ = recv(&done_rx) => 0,
///     _ = recv(subinterp::after(Duration::from_secs(1))) => panic!("timed out"),
/// };
/// assert_eq!(got, 1);
/// # drop(done_tx);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    ($($cases:tt)*) => {
        $crate::__select_parse!(@async false [] [] $($cases)*)
    };
}

/// [`select!`](crate::select!) choosing the first ready case in declaration
/// order instead of a random one.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = subinterp::bounded::<u8>(2);
/// tx.try_send(1).unwrap();
/// let first = subinterp::select_biased! {
///     _ = recv(&rx) => "first",
///     _ = recv(&rx) => "second",
/// };
/// assert_eq!(first, "first");
/// # });
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($cases:tt)*) => {
        $crate::__select_parse!(@async true [] [] $($cases)*)
    };
}

/// [`select!`](crate::select!) for OS threads: it parks the thread until a
/// case runs.
///
/// # Panics
///
/// Inside a subinterp task, where it would stall the interpreter (use `select!`).
///
/// ```
/// let (tx, rx) = subinterp::bounded::<&str>(0);
/// let t = std::thread::spawn(move || tx.send_blocking("hello").unwrap());
/// let msg = subinterp::select_blocking! {
///     m = recv(&rx) => m.unwrap(),
///     default => "nothing yet",
/// };
/// let msg = if msg == "nothing yet" { rx.recv_blocking().unwrap() } else { msg };
/// assert_eq!(msg, "hello");
/// t.join().unwrap();
/// ```
#[macro_export]
macro_rules! select_blocking {
    ($($cases:tt)*) => {
        $crate::__select_parse!(@blocking false [] [] $($cases)*)
    };
}

/// [`select_blocking!`](crate::select_blocking!) choosing the first ready
/// case in declaration order.
///
/// ```
/// let (tx, rx) = subinterp::bounded::<u8>(2);
/// tx.try_send(1).unwrap();
/// let first = subinterp::select_biased_blocking! {
///     _ = recv(&rx) => 0,
///     _ = recv(&rx) => 1,
/// };
/// assert_eq!(first, 0);
/// ```
#[macro_export]
macro_rules! select_biased_blocking {
    ($($cases:tt)*) => {
        $crate::__select_parse!(@blocking true [] [] $($cases)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // A receive case without a binding.
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)*] recv($rx:expr) => $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)*] [$($default)*] _ = recv($rx) => $($rest)*)
    };
    // Case bodies: a block with or without a comma, or an expression.
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)*] $pat:pat = $op:ident($($args:tt)*) => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)* (__case, $op($($args)*), $pat, $body)] [$($default)*] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)*] $pat:pat = $op:ident($($args:tt)*) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)* (__case, $op($($args)*), $pat, $body)] [$($default)*] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)*] $pat:pat = $op:ident($($args:tt)*) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)* (__case, $op($($args)*), $pat, { $body })] [$($default)*] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)*] $pat:pat = $op:ident($($args:tt)*) => $body:expr) => {
        $crate::__select_parse!(@$mode $biased [$($cases)* (__case, $op($($args)*), $pat, { $body })] [$($default)*])
    };
    // default.
    (@$mode:ident $biased:tt [$($cases:tt)*] [] default => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)*] [$body] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [] default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)*] [$body] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [] default => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@$mode $biased [$($cases)*] [{ $body }] $($rest)*)
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [] default => $body:expr) => {
        $crate::__select_parse!(@$mode $biased [$($cases)*] [{ $body }])
    };
    (@$mode:ident $biased:tt [$($cases:tt)*] [$($default:tt)+] default => $($rest:tt)*) => {
        ::core::compile_error!("a select may have only one `default` case")
    };
    // All parsed: build the cases in order, run the select, dispatch.
    (@$mode:ident $biased:tt [$(($case:ident, $op:ident($($args:tt)*), $pat:pat, $body:block))*] [$($default:tt)*]) => {{
        $( let mut $case = $crate::__select_case!($op($($args)*)); )*
        let __index = {
            let mut __list = $crate::__select_list!($(&mut $case),*);
            $crate::__select_run!(@$mode __list, $biased, $crate::__select_has_default!($($default)*))
        };
        $crate::__select_dispatch!(__index, 0usize, [$(($case, $pat, $body))*], [$($default)*])
    }};
    (@$mode:ident $($rest:tt)*) => {
        ::core::compile_error!("select cases look like `pat = recv(rx) => body`, `pat = send(tx, value) => body`, or `default => body`")
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_case {
    (recv($rx:expr $(,)?)) => {
        $crate::__private::recv($rx)
    };
    (send($tx:expr, $value:expr $(,)?)) => {
        $crate::__private::send($tx, $value)
    };
    ($op:ident($($args:tt)*)) => {
        ::core::compile_error!(::core::concat!(
            "unknown select operation `",
            ::core::stringify!($op),
            "`: use recv(rx) or send(tx, value)"
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_list {
    () => { () };
    ($head:expr $(, $tail:expr)*) => { ($head, $crate::__select_list!($($tail),*)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_has_default {
    () => {
        false
    };
    ($($default:tt)+) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_run {
    (@async $list:ident, $biased:tt, $nonblocking:expr) => {
        $crate::__private::select_future(&mut $list, $biased, $nonblocking).await
    };
    (@blocking $list:ident, $biased:tt, $nonblocking:expr) => {
        $crate::__private::select_blocking(&mut $list, $biased, $nonblocking)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($index:ident, $n:expr, [($case:ident, $pat:pat, $body:block) $($rest:tt)*], [$($default:tt)*]) => {
        if $index == ::core::option::Option::Some($n) {
            let $pat = $case.into_result();
            $body
        } else {
            $crate::__select_dispatch!($index, $n + 1usize, [$($rest)*], [$($default)*])
        }
    };
    ($index:ident, $n:expr, [], [$default:block]) => {
        $default
    };
    ($index:ident, $n:expr, [], []) => {
        ::core::unreachable!("subinterp: a select without default returned no case")
    };
}
