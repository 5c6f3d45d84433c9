//! napi-mysql-pool: the native half. JS calls return at once; work runs on a
//! tokio runtime; finished work is queued and handed to JS in batches
//! through one threadsafe function per pool (no promise or threadsafe
//! function per call: JS keeps its own promise table keyed by `id`).
#[macro_use]
extern crate napi_derive;

mod boundary;
mod config;
mod convert;
mod errcodes;
mod error;
mod metrics;
mod ops;
mod pool;
mod runtime;
mod tls;

use boundary::{Builder, Completion, ParamIn, Payload, Raw};
use config::PoolConfig;
use error::ErrInfo;
use futures_util::FutureExt;
use metrics::Metrics;
use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use pool::{Pool, PooledConn};
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Wake = ThreadsafeFunction<u32, (), u32, Status, false>;
type Lent = Arc<tokio::sync::Mutex<Option<PooledConn>>>;

/// Completed work waiting for the JS thread.
struct Outbox {
    queue: Mutex<Vec<Completion>>,
    wake: Wake,
}

impl Outbox {
    fn push(&self, c: Completion) {
        let first = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.push(c);
            q.len() == 1
        };
        // One wake-up per empty->non-empty transition; JS drains everything.
        if first {
            self.wake.call(0, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

#[napi(object)]
pub struct ErrorCount {
    pub code: String,
    pub count: f64,
}

/// Pools shared by name across worker threads of one process: the native
/// pool (connections, queue, counters) is process-wide; each thread attaches
/// with its own outbox. The pool closes when its last attachment ends.
struct SharedEntry {
    pool: Arc<Pool>,
    fingerprint: String,
    attached: usize,
}

static SHARED: once_cell::sync::Lazy<Mutex<HashMap<String, SharedEntry>>> =
    once_cell::sync::Lazy::new(|| Mutex::new(HashMap::new()));

#[napi]
pub struct NativePool {
    pool: Arc<Pool>,
    share: Option<String>,
    detached: Cell<bool>,
    outbox: Arc<Outbox>,
    lent: Arc<Mutex<HashMap<u32, Lent>>>,
    next_conn: Cell<u32>,
    inflight: Cell<u32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const QUERY_TIMEOUT_MSG: &str = "Query inactivity timeout";

enum Op {
    Query(String, u32),
    Execute(String, Vec<ops::Param>, u32),
    Ping,
}

async fn run_op(pool: &Pool, c: &mut PooledConn, op: Op, timeout_ms: f64) -> Payload {
    let t0 = Instant::now();
    let fut = async {
        match op {
            Op::Query(sql, fl) => ops::query(&mut c.conn, &sql, fl).await,
            Op::Execute(sql, params, fl) => ops::execute(&mut c.conn, &sql, params, fl).await,
            Op::Ping => {
                use mysql_async::prelude::Queryable;
                c.conn.ping().await.map(|_| Vec::new())
            }
        }
    };
    let res = if timeout_ms > 0.0 {
        match tokio::time::timeout(Duration::from_micros((timeout_ms * 1000.0) as u64), fut).await {
            Ok(r) => Ok(r),
            Err(_) => Err(()),
        }
    } else {
        Ok(fut.await)
    };
    Metrics::inc(&pool.metrics.queries);
    pool.metrics.query_time.observe(t0.elapsed());
    match res {
        Ok(Ok(sets)) => Payload::Results(sets),
        Ok(Err(e)) => {
            let info = error::from_mysql(&e, false);
            // After a client-side driver error mysql_async may have dropped
            // the socket or left the stream mid-command: never reuse it.
            c.broken |= info.fatal || matches!(e, mysql_async::Error::Driver(_));
            pool.metrics.error(&info.code);
            Payload::Error(info)
        }
        Err(()) => {
            // The command is cut mid-flight; the connection cannot be reused.
            c.broken = true;
            pool.metrics.error("PROTOCOL_SEQUENCE_TIMEOUT");
            Payload::Error(ErrInfo::new("PROTOCOL_SEQUENCE_TIMEOUT", QUERY_TIMEOUT_MSG).fatal())
        }
    }
}

#[napi]
impl NativePool {
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: PoolConfig,
        on_wake: Function<u32, ()>,
        worker_threads: Option<u32>,
        share: Option<Vec<String>>,
    ) -> Result<Self> {
        let rt = runtime::get(worker_threads);
        tls::install_crypto_provider();
        let opts = config.mysql_opts().map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", e.code, e.message)))?;
        let wake: Wake = on_wake.build_threadsafe_function().callee_handled::<false>().build()?;
        // Unreferenced while idle: an idle pool does not keep Node alive.
        unsafe { sys::napi_unref_threadsafe_function(env.raw(), wake.raw()) };
        let _guard = rt.enter();
        // share = [name, fingerprint of the connection settings]
        let (pool, share) = match share.as_deref() {
            Some([name, fingerprint]) => {
                let mut reg = lock(&SHARED);
                match reg.get_mut(name) {
                    Some(e) if !e.pool.is_closed() => {
                        if &e.fingerprint != fingerprint {
                            return Err(Error::new(
                                Status::InvalidArg,
                                format!("ERR_SHARED_POOL_MISMATCH: shared pool \"{name}\" exists with other connection settings"),
                            ));
                        }
                        e.attached += 1;
                        (e.pool.clone(), Some(name.clone()))
                    }
                    _ => {
                        let pool = Pool::new(config.settings(), opts);
                        reg.insert(
                            name.clone(),
                            SharedEntry { pool: pool.clone(), fingerprint: fingerprint.clone(), attached: 1 },
                        );
                        (pool, Some(name.clone()))
                    }
                }
            }
            _ => (Pool::new(config.settings(), opts), None),
        };
        Ok(NativePool {
            pool,
            share,
            detached: Cell::new(false),
            outbox: Arc::new(Outbox { queue: Mutex::new(Vec::new()), wake }),
            lent: Arc::new(Mutex::new(HashMap::new())),
            next_conn: Cell::new(0),
            inflight: Cell::new(0),
        })
    }

    fn begin(&self, env: &Env) {
        let n = self.inflight.get();
        if n == 0 {
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), self.outbox.wake.raw()) };
        }
        self.inflight.set(n + 1);
    }

    /// Runs `fut` on the runtime; a panic inside becomes an error completion.
    fn spawn<F>(&self, id: u32, fut: F)
    where
        F: Future<Output = Option<Payload>> + Send + 'static,
    {
        let outbox = self.outbox.clone();
        runtime::get(None).spawn(async move {
            let payload = match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(panic) => Payload::Error(error::from_panic(panic)),
            };
            outbox.push(Completion { id, payload });
        });
    }

    fn run(&self, env: &Env, id: u32, conn_id: u32, op: Op, timeout_ms: f64) {
        self.begin(env);
        let pool = self.pool.clone();
        if conn_id == 0 {
            let outbox = self.outbox.clone();
            self.spawn(id, async move {
                let mut c = match pool.acquire().await {
                    Ok(c) => c,
                    Err(e) => return Some(Payload::Error(e)),
                };
                let payload = run_op(&pool, &mut c, op, timeout_ms).await;
                // Answer first; returning the connection may take a round trip.
                outbox.push(Completion { id, payload });
                pool.release(c, false).await;
                None
            });
            return;
        }
        let lent = lock(&self.lent).get(&conn_id).cloned();
        self.spawn(id, async move {
            let Some(lent) = lent else {
                return Some(Payload::Error(ErrInfo::new(
                    "ERR_CONNECTION_RELEASED",
                    "Connection was released to the pool; get a new one with getConnection().",
                )));
            };
            let mut guard = lent.lock().await;
            let Some(c) = guard.as_mut() else {
                return Some(Payload::Error(ErrInfo::new("ERR_CONNECTION_RELEASED", "Connection was released.")));
            };
            if c.broken {
                return Some(Payload::Error(
                    ErrInfo::new(
                        "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
                        "Can't add new command when connection is in closed state",
                    )
                    .fatal(),
                ));
            }
            Some(run_op(&pool, c, op, timeout_ms).await)
        });
    }

    /// Text-protocol query; `conn_id` 0 means "any pooled connection".
    #[napi]
    pub fn query(&self, env: Env, id: u32, conn_id: u32, sql: String, flags: u32, timeout_ms: f64) {
        self.run(&env, id, conn_id, Op::Query(sql, flags), timeout_ms);
    }

    /// Prepared statement (cached per connection) with positional params.
    #[napi]
    pub fn execute(&self, env: Env, id: u32, conn_id: u32, sql: String, params: Vec<ParamIn>, flags: u32, timeout_ms: f64) {
        let params = params.into_iter().map(|p| p.0).collect();
        self.run(&env, id, conn_id, Op::Execute(sql, params, flags), timeout_ms);
    }

    #[napi]
    pub fn ping(&self, env: Env, id: u32, conn_id: u32) {
        self.run(&env, id, conn_id, Op::Ping, 0.0);
    }

    /// Lends a connection; completes with [connId, threadId].
    #[napi]
    pub fn get_connection(&self, env: Env, id: u32) {
        self.begin(&env);
        let conn_id = self.next_conn.get().wrapping_add(1).max(1);
        self.next_conn.set(conn_id);
        let pool = self.pool.clone();
        let lent = self.lent.clone();
        self.spawn(id, async move {
            match pool.acquire().await {
                Ok(c) => {
                    let thread_id = c.thread_id();
                    lock(&lent).insert(conn_id, Arc::new(tokio::sync::Mutex::new(Some(c))));
                    Some(Payload::Conn { conn_id, thread_id })
                }
                Err(e) => Some(Payload::Error(e)),
            }
        });
    }

    /// Returns a lent connection after its queued commands finish.
    #[napi]
    pub fn release(&self, conn_id: u32) {
        self.give_back(conn_id, false);
    }

    /// Closes a lent connection instead of returning it.
    #[napi]
    pub fn destroy(&self, conn_id: u32) {
        self.give_back(conn_id, true);
    }

    fn give_back(&self, conn_id: u32, destroy: bool) {
        let Some(lent) = lock(&self.lent).remove(&conn_id) else { return };
        let pool = self.pool.clone();
        runtime::get(None).spawn(async move {
            let taken = lent.lock().await.take();
            if let Some(c) = taken {
                if destroy {
                    pool.destroy(c);
                } else {
                    pool.release(c, true).await;
                }
            }
        });
    }

    /// Drops this thread's attachment to a shared pool; true if it was the last.
    fn detach(&self) -> bool {
        if self.detached.replace(true) {
            return false;
        }
        let Some(name) = &self.share else { return true };
        let mut reg = lock(&SHARED);
        let last = match reg.get_mut(name) {
            Some(e) if Arc::ptr_eq(&e.pool, &self.pool) => {
                e.attached = e.attached.saturating_sub(1);
                e.attached == 0
            }
            _ => true,
        };
        if last {
            if matches!(reg.get(name), Some(e) if Arc::ptr_eq(&e.pool, &self.pool)) {
                reg.remove(name);
            }
        }
        last
    }

    /// Stops the pool (or, for a shared pool other threads still use, only
    /// this thread's use of it); lent connections still out after
    /// `grace_ms` are closed.
    #[napi]
    pub fn end(&self, env: Env, id: u32, grace_ms: f64) {
        self.begin(&env);
        let pool = self.pool.clone();
        let lent = self.lent.clone();
        let close = self.detach();
        self.spawn(id, async move {
            if !close {
                // Others still use the pool: hand this thread's connections back.
                let left: Vec<Lent> = lock(&lent).drain().map(|(_, l)| l).collect();
                for l in left {
                    let taken = l.lock().await.take();
                    if let Some(c) = taken {
                        pool.release(c, true).await;
                    }
                }
                return Some(Payload::Done);
            }
            pool.end(Duration::from_millis(grace_ms.max(0.0) as u64)).await;
            let left: Vec<Lent> = lock(&lent).drain().map(|(_, l)| l).collect();
            for l in left {
                if let Ok(mut g) = l.try_lock() {
                    if let Some(c) = g.take() {
                        pool.destroy(c);
                    }
                }
            }
            Some(Payload::Done)
        });
    }

    /// Everything finished since the last call, as
    /// [[id, kind, ...payload], ...] (see boundary.rs).
    #[napi]
    pub fn drain(&self, env: Env) -> Result<Raw> {
        let list = std::mem::take(&mut *lock(&self.outbox.queue));
        let n = list.len() as u32;
        let v = Builder::new(env.raw()).completions(list)?;
        let left = self.inflight.get().saturating_sub(n);
        self.inflight.set(left);
        if left == 0 && n > 0 {
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), self.outbox.wake.raw()) };
        }
        Ok(Raw(v))
    }

    /// [total, active, idle, connecting, waiting, closed, breakerOpen, limit]
    #[napi]
    pub fn counts(&self) -> Vec<f64> {
        let c = self.pool.counts();
        vec![
            c.total as f64,
            c.active as f64,
            c.idle as f64,
            c.connecting as f64,
            c.waiting as f64,
            c.closed as u8 as f64,
            c.breaker_open as u8 as f64,
            self.pool.settings.limit as f64,
        ]
    }

    /// Lifetime counters then three histograms (acquire wait, query time,
    /// connect time), each [count, sumSeconds, ...bucket counts].
    #[napi]
    pub fn metrics(&self) -> Vec<f64> {
        let m = &self.pool.metrics;
        let mut v = vec![
            Metrics::get(&m.acquired),
            Metrics::get(&m.released),
            Metrics::get(&m.created),
            Metrics::get(&m.destroyed),
            Metrics::get(&m.timed_out),
            Metrics::get(&m.rejected),
            Metrics::get(&m.queries),
            Metrics::get(&m.connect_failures),
            Metrics::get(&m.validation_failures),
            Metrics::get(&m.resets),
            self.pool.started.elapsed().as_secs_f64(),
        ];
        v.extend(m.acquire_wait.snapshot());
        v.extend(m.query_time.snapshot());
        v.extend(m.connect_time.snapshot());
        v
    }

    #[napi]
    pub fn error_counts(&self) -> Vec<ErrorCount> {
        self.pool
            .metrics
            .errors()
            .into_iter()
            .map(|(code, count)| ErrorCount { code, count: count as f64 })
            .collect()
    }

    /// The last connection failure (message, code), for health().
    #[napi]
    pub fn last_connect_error(&self) -> Option<Vec<String>> {
        self.pool.last_connect_error().map(|e| vec![e.message, e.code])
    }
}

impl Drop for NativePool {
    /// A thread that exits without end() must not pin a shared pool forever.
    fn drop(&mut self) {
        if self.detach() && !self.pool.is_closed() {
            let pool = self.pool.clone();
            runtime::get(None).spawn(async move { pool.end(Duration::from_secs(5)).await });
        }
    }
}

/// Histogram bucket bounds (seconds), for the JS metrics renderer.
#[napi]
pub fn histogram_buckets() -> Vec<f64> {
    metrics::BUCKETS.to_vec()
}
