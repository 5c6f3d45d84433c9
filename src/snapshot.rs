//! What JS reads about a pool, as named objects (cold path: stats(),
//! health(), metrics, pool.pool): a field added here is one edit on each
//! side, and no index can shift silently.
use crate::error::ErrInfo;
use crate::metrics::{Histogram, Metrics};
use crate::pool::Pool;

#[napi(object)]
pub struct PoolCounts {
    /// Open plus being opened.
    pub total: u32,
    /// Lent out (including those released by JS and still on their way back).
    pub active: u32,
    pub idle: u32,
    /// Released by JS, not back in the idle set yet (mysql2's free list has them).
    pub returning: u32,
    pub connecting: u32,
    pub waiting: u32,
    pub closed: bool,
    pub breaker_open: bool,
    pub limit: u32,
}

#[napi(object)]
pub struct HistogramSnapshot {
    pub count: f64,
    pub sum_seconds: f64,
    /// Per bucket (not cumulative), one more than histogramBuckets(): +Inf.
    pub buckets: Vec<f64>,
}

#[napi(object)]
pub struct PoolMetrics {
    pub acquired: f64,
    pub released: f64,
    pub created: f64,
    pub destroyed: f64,
    pub timed_out: f64,
    pub rejected: f64,
    pub queries: f64,
    pub connect_failures: f64,
    pub validation_failures: f64,
    pub resets: f64,
    pub failover_closed: f64,
    pub retried: f64,
    pub pipelined: f64,
    pub uptime_seconds: f64,
    pub acquire_wait: HistogramSnapshot,
    pub query_time: HistogramSnapshot,
    pub connect_time: HistogramSnapshot,
}

#[napi(object)]
pub struct ConnectError {
    pub message: String,
    pub code: String,
}

fn n(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

pub fn counts(pool: &Pool) -> PoolCounts {
    let c = pool.counts();
    PoolCounts {
        total: n(c.total),
        active: n(c.active),
        idle: n(c.idle),
        returning: n(c.returning),
        connecting: n(c.connecting),
        waiting: n(c.waiting),
        closed: c.closed,
        breaker_open: c.breaker_open,
        limit: n(pool.settings.limit),
    }
}

fn histogram(h: &Histogram) -> HistogramSnapshot {
    let (count, sum_seconds, buckets) = h.snapshot();
    HistogramSnapshot { count, sum_seconds, buckets }
}

pub fn metrics(pool: &Pool) -> PoolMetrics {
    let m = &pool.metrics;
    PoolMetrics {
        acquired: Metrics::get(&m.acquired),
        released: Metrics::get(&m.released),
        created: Metrics::get(&m.created),
        destroyed: Metrics::get(&m.destroyed),
        timed_out: Metrics::get(&m.timed_out),
        rejected: Metrics::get(&m.rejected),
        queries: Metrics::get(&m.queries),
        connect_failures: Metrics::get(&m.connect_failures),
        validation_failures: Metrics::get(&m.validation_failures),
        resets: Metrics::get(&m.resets),
        failover_closed: Metrics::get(&m.failover_closed),
        retried: Metrics::get(&m.retried),
        pipelined: Metrics::get(&m.pipelined),
        uptime_seconds: pool.started.elapsed().as_secs_f64(),
        acquire_wait: histogram(&m.acquire_wait),
        query_time: histogram(&m.query_time),
        connect_time: histogram(&m.connect_time),
    }
}

pub fn connect_error(e: ErrInfo) -> ConnectError {
    ConnectError { message: e.message, code: e.code }
}
