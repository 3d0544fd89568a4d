//! Phase timings for profiling: with `AIBNET_PHASES` set in the
//! environment, each timed phase prints its wall time on stderr
//! (`aibnet: phase finish: 41.9 ms`). Off by default; nothing else depends
//! on it. benches/RESULTS.md quotes these lines.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("AIBNET_PHASES").is_some())
}

/// Run `f`, printing how long it took when phase timings are on.
pub fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
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
