//! Lifetime counters and latency histograms. Lock-free on the hot path
//! (atomics only); the JS layer renders stats(), Prometheus text and JSON.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Bucket upper bounds in seconds, shared by every histogram so Prometheus
/// output and percentile estimates use one scheme (50 µs .. 30 s).
pub const BUCKETS: [f64; 20] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    15.0, 20.0, 30.0,
];

#[derive(Default)]
pub struct Histogram {
    /// One more slot than BUCKETS: the +Inf bucket.
    counts: [AtomicU64; 21],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS.iter().position(|b| s <= *b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// (count, sum seconds, per-bucket counts: not cumulative, +Inf last)
    pub fn snapshot(&self) -> (f64, f64, Vec<f64>) {
        (
            self.count.load(Relaxed) as f64,
            self.sum_us.load(Relaxed) as f64 / 1e6,
            self.counts.iter().map(|c| c.load(Relaxed) as f64).collect(),
        )
    }
}

#[derive(Default)]
pub struct Metrics {
    pub acquired: AtomicU64,
    pub released: AtomicU64,
    pub created: AtomicU64,
    pub destroyed: AtomicU64,
    pub timed_out: AtomicU64,
    pub rejected: AtomicU64,
    pub queries: AtomicU64,
    pub connect_failures: AtomicU64,
    pub validation_failures: AtomicU64,
    pub resets: AtomicU64,
    /// Connections closed because the server answered read-only or
    /// shutting down (a failover behind the same endpoint).
    pub failover_closed: AtomicU64,
    /// pool.query/execute commands run again after their first connection
    /// failed before the command was written (dispatch::retry_safe).
    pub retried: AtomicU64,
    /// pool.query/execute commands run in another command's pipeline (pipeline.rs).
    pub pipelined: AtomicU64,
    pub acquire_wait: Histogram,
    pub query_time: Histogram,
    pub connect_time: Histogram,
    errors: Mutex<HashMap<String, u64>>,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub fn error(&self, code: &str) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(code.to_string()).or_insert(0) += 1;
        }
    }

    pub fn errors(&self) -> Vec<(String, u64)> {
        self.errors.lock().map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect()).unwrap_or_default()
    }

    pub fn get(c: &AtomicU64) -> f64 {
        c.load(Relaxed) as f64
    }
}
