//! Phase timings for profiling: once [`enable`]d (the CLI does it when
//! `AIBNET_PHASES` is set), each timed phase prints its wall time on stderr
//! (`aibnet: phase finish: 41.9 ms`). Off by default; nothing else depends
//! on it. benches/RESULTS.md quotes these lines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Whether timings are printed: instrumentation for the whole process, not
/// a run option, so a flag in one place rather than a parameter everywhere.
static ON: AtomicBool = AtomicBool::new(false);

/// Print phase timings from now on.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Run `f`, printing how long it took when phase timings are on.
pub fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let start = Instant::now();
    let r = f();
    eprintln!(
        "aibnet: phase {name}: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    r
}
