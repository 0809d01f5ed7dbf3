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

/// A `kB` field of /proc/<pid>/status (`VmRSS`, `RssAnon`, `RssFile`), or `Threads`.
pub fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the bot runs");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Raise this process's open-file limit to `at_most` (or the hard limit if lower).
pub fn raise_fd_limit(at_most: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(at_most);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}
