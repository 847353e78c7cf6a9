//! What the current thread is: a plain thread, or an interpreter polling a task.
//!
//! A blocking call made from inside a task would stall every other task of its
//! interpreter, so the blocking APIs check this and panic with a message that
//! names the async form instead of silently stalling.

use std::cell::Cell;

thread_local! {
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as polling a task for as long as the guard lives.
/// The executor holds one around every task poll.
pub(crate) struct TaskScope {
    was: bool,
}

impl TaskScope {
    pub(crate) fn enter() -> TaskScope {
        TaskScope {
            was: IN_TASK.with(|c| c.replace(true)),
        }
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        let was = self.was;
        IN_TASK.with(|c| c.set(was));
    }
}

/// Panics if the current thread is polling a task: `what` would block the
/// whole interpreter. `instead` names the async form to use.
#[track_caller]
#[inline]
pub(crate) fn assert_may_block(what: &str, instead: &str) {
    if IN_TASK.try_with(Cell::get).unwrap_or(false) {
        panic!(
            "{what} called inside a subinterp task: it would block every task of this \
             interpreter; use `{instead}` instead"
        );
    }
}
