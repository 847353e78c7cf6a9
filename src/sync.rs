//! The synchronization primitives the crate is built on, swapped for loom's
//! model-checked versions under `--cfg loom` (as tokio's `src/loom` does).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

/// Thread parking, as a waiter needs it.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, park_timeout, yield_now, Thread};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, Thread};

    /// loom has no timed park; models never use deadlines, so a plain park is exact there.
    #[cfg(loom)]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        park();
    }
}
