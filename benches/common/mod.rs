//! What the benchmark binaries share: their runtime (two workers, as on the project's machine)
//! and percentiles of sorted latencies.

#![allow(dead_code)]

use std::time::Duration;

/// A multi-threaded tokio runtime with two workers and every driver.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The `q` quantile (0 to 1) of `sorted` (ascending, not empty).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}
