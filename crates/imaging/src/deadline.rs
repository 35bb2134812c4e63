//! The deadline of the `process` call running on this thread, checked by the decoders (between
//! scans and rows) and by the pipeline (between steps). A thread-local, because libjpeg's
//! callbacks receive nothing of ours; `process` runs synchronously on one thread.

use std::cell::Cell;
use std::time::Instant;

use crate::ImageError;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` in force on this thread, and restores the previous one after.
pub(crate) fn run<T>(deadline: Option<Instant>, f: impl FnOnce() -> T) -> T {
    let previous = DEADLINE.replace(deadline);
    let result = f();
    DEADLINE.set(previous);
    result
}

pub(crate) fn passed() -> bool {
    DEADLINE.get().is_some_and(|d| Instant::now() >= d)
}

pub(crate) fn check() -> Result<(), ImageError> {
    if passed() {
        Err(ImageError::TimedOut)
    } else {
        Ok(())
    }
}
