//! Per-stage timings of one `process` call, for the benchmark's profile (`process_profiled`).
//! Off unless asked for: a thread-local check per stage.

use std::cell::RefCell;
use std::time::Instant;

/// (stage name, milliseconds), in order.
pub type Stages = Vec<(String, f64)>;

thread_local! {
    static STAGES: RefCell<Option<(Instant, Stages)>> = const { RefCell::new(None) };
}

/// Ends the current stage, named `name` (milliseconds since the previous mark).
pub(crate) fn mark(name: impl FnOnce() -> String) {
    STAGES.with_borrow_mut(|stages| {
        if let Some((last, list)) = stages {
            let now = Instant::now();
            list.push((name(), (now - *last).as_secs_f64() * 1000.0));
            *last = now;
        }
    });
}

/// Runs `f` with stage timing on, returning its result and the stages in order.
pub(crate) fn profiled<T>(f: impl FnOnce() -> T) -> (T, Stages) {
    STAGES.set(Some((Instant::now(), Vec::new())));
    let result = f();
    let stages = STAGES.take().map(|(_, list)| list).unwrap_or_default();
    (result, stages)
}
