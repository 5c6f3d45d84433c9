//! napi-mysql-pool: the native half. JS hands over commands in batches
//! (`submit`, once per microtask) and returns at once; work runs on a tokio
//! runtime; finished work is queued and handed back in batches through one
//! threadsafe function per pool (no promise or threadsafe function per call:
//! JS keeps its own promise table keyed by `id`).
#[macro_use]
extern crate napi_derive;

mod boundary;
mod charset;
mod collations;
mod config;
mod convert;
mod errcodes;
mod error;
mod json_columns;
mod metrics;
mod ops;
mod pool;
mod runtime;
mod shapes;
mod tls;

use boundary::{Batch, Completion, Payload, Raw, Submission};
use config::PoolConfig;
use error::ErrInfo;
use futures_util::FutureExt;
use metrics::Metrics;
use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use ops::Op;
use pool::{Pool, PooledConn, Ticket};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Wake = ThreadsafeFunction<u32, (), u32, Status, false>;

/// Work for a lent connection. Each lent connection has one worker task
/// that runs these in submission order, as mysql2 queues commands.
enum ConnJob {
    Run(u32, Op, f64),
    Release,
    Destroy,
}
type Lent = tokio::sync::mpsc::UnboundedSender<ConnJob>;

/// Ids for lent connections, and whether JS wants to see each new connection
/// before its first use (a 'connection' listener: mysql2 hands that event a
/// usable connection, and handlers run SQL such as SET SESSION on it).
struct Lending {
    next_id: std::sync::atomic::AtomicU32,
    announce: std::sync::atomic::AtomicBool,
}

impl Lending {
    fn next(&self) -> u32 {
        loop {
            let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_add(1);
            if id != 0 {
                return id;
            }
        }
    }
}

/// A connection's first use. With a 'connection' listener, the connection is
/// lent to JS first; JS runs the handlers, queues HandBack behind whatever
/// they sent, and the connection comes back here for the waiting command.
async fn first_use(
    mut c: PooledConn,
    pool: &Arc<Pool>,
    outbox: &Arc<Outbox>,
    lent: &Arc<Mutex<HashMap<u32, Lent>>>,
    lending: &Lending,
) -> std::result::Result<PooledConn, ErrInfo> {
    if !std::mem::take(&mut c.fresh) || !lending.announce.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(c);
    }
    let conn_id = lending.next();
    let thread_id = c.thread_id();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (back_tx, back_rx) = tokio::sync::oneshot::channel();
    lock(lent).insert(conn_id, tx);
    tokio::spawn(conn_worker(pool.clone(), c, rx, outbox.clone(), Some(back_tx)));
    outbox.push(Completion { id: 0, payload: Payload::NewConn { conn_id, thread_id } });
    match back_rx.await {
        Ok(c) if !c.broken => Ok(c),
        Ok(c) => {
            pool.destroy(c);
            Err(ErrInfo::new("PROTOCOL_CONNECTION_LOST", "Connection lost in a 'connection' event handler").fatal())
        }
        // The pool ended while JS held it.
        Err(_) => Err(ErrInfo::new("POOL_CLOSED", "Pool is closed.")),
    }
}

/// Completed work waiting for the JS thread, and the credit that thread's
/// streams give back (see `stream_ack`).
struct Outbox {
    queue: Mutex<Queue>,
    wake: Wake,
    /// Streaming commands by id: after each chunk the command waits for a
    /// permit, which JS adds when its stream wants more rows.
    streams: Mutex<HashMap<u32, Arc<tokio::sync::Semaphore>>>,
}

/// Completions, and the pooled connections (Pool-local ids) that answered
/// pool.query/execute commands among them, in answer order.
#[derive(Default)]
struct Queue {
    list: Vec<Completion>,
    conns: Vec<u64>,
}

impl Outbox {
    fn open_stream(&self, id: u32) -> Arc<tokio::sync::Semaphore> {
        // One permit: the next chunk may be read while JS holds the last one.
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        lock(&self.streams).insert(id, gate.clone());
        gate
    }

    fn close_stream(&self, id: u32) {
        if let Some(gate) = lock(&self.streams).remove(&id) {
            gate.close();
        }
    }

    fn push(&self, c: Completion) {
        self.push_from(c, None)
    }

    /// The next completions for JS, within boundary::DRAIN_BYTES (at least
    /// one); what is left gets a wake-up of its own.
    fn take(&self) -> (Vec<Completion>, Vec<u64>) {
        let mut q = lock(&self.queue);
        let mut budget = 0usize;
        let n = q
            .list
            .iter()
            .position(|c| {
                budget += c.bytes();
                budget > boundary::DRAIN_BYTES
            })
            .unwrap_or(q.list.len())
            .max(1)
            .min(q.list.len());
        if n == q.list.len() {
            let Queue { list, conns } = std::mem::take(&mut *q);
            return (list, conns);
        }
        let rest = q.list.split_off(n);
        let list = std::mem::replace(&mut q.list, rest);
        // Connections of answers still waiting stay listed for their drain.
        let conns = std::mem::take(&mut q.conns);
        drop(q);
        self.wake.call(0, ThreadsafeFunctionCallMode::NonBlocking);
        (list, conns)
    }

    /// `conn`: the pooled connection that answered (already back in the pool).
    fn push_from(&self, c: Completion, conn: Option<u64>) {
        let first = {
            let mut q = lock(&self.queue);
            q.list.push(c);
            if let Some(conn) = conn {
                q.conns.push(conn);
            }
            q.list.len() == 1
        };
        // One wake-up per empty->non-empty transition; JS drains everything.
        if first {
            self.wake.call(0, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

#[napi(object)]
pub struct CacheStats {
    pub shapes: f64,
    pub shapes_capacity: f64,
    pub shapes_evicted: f64,
    pub json_tables: f64,
    pub json_tables_capacity: f64,
    pub json_tables_evicted: f64,
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
    detached: Arc<std::sync::atomic::AtomicBool>,
    outbox: Arc<Outbox>,
    lent: Arc<Mutex<HashMap<u32, Lent>>>,
    lending: Arc<Lending>,
    inflight: Cell<u32>,
    /// Result shapes already sent to this thread's JS (see boundary::Batch).
    shapes: RefCell<shapes::Shapes>,
    /// Hands commands to the router task, which decides each acquisition in
    /// the order JS made the requests (FIFO across batches and threads).
    router: tokio::sync::mpsc::UnboundedSender<Routed>,
}

enum Routed {
    /// Commands, each pool-path one with its place in the pool's queue
    /// already decided on the JS thread (in call order, as mysql2 decides).
    Batch(Vec<(Submission, Option<Ticket>)>),
    GetConnection(u32, u32, Ticket),
    /// release()/destroy() of a lent connection: through the router, so
    /// commands JS sent before it reach the connection first.
    GiveBack(u32, bool),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const QUERY_TIMEOUT_MSG: &str = "Query inactivity timeout";

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Why a command was stopped before it finished.
enum Cut {
    /// No packet from the server for `socketTimeout`.
    Silent(Duration),
    /// end()'s grace period ran out.
    Killed,
}

/// Runs one command. Returns its answer, or None when the answer was
/// already sent (a query `timeout`: as in mysql2 the promise rejects at the
/// deadline while the command keeps running, so the connection stays usable
/// for what is queued behind it).
async fn run_op(
    pool: &Pool,
    c: &mut PooledConn,
    op: Op,
    timeout_ms: f64,
    outbox: &Arc<Outbox>,
    id: u32,
) -> Option<Payload> {
    let t0 = Instant::now();
    let mut sink = |set: usize, rows: convert::RowBatch| {
        outbox.push(Completion { id, payload: Payload::Chunk(set as u32, rows) });
    };
    let json = &pool.json;
    let gate = match &op {
        Op::Query(_, fl) | Op::Execute(_, _, fl) if fl & convert::flags::STREAM != 0 => Some(outbox.open_stream(id)),
        _ => None,
    };
    // DDL (through query() or, as Drizzle's migrator sends it, execute())
    // may change which columns are JSON; even a failed statement may have.
    let ddl = matches!(&op, Op::Query(sql, _) | Op::Execute(sql, _, _) if json_columns::is_ddl(sql));
    let activity = ops::Activity::new();
    let charset = c.charset;
    let fut = async {
        let gate = gate.as_deref();
        let activity = &activity;
        match op {
            Op::Query(sql, flags) => {
                ops::query(&mut c.conn, &sql, ops::Reading { flags, json, gate, sink: &mut sink, activity, charset })
                    .await
            }
            Op::Execute(sql, params, flags) => {
                let r = ops::Reading { flags, json, gate, sink: &mut sink, activity, charset };
                ops::execute(&mut c.conn, &sql, params, r).await
            }
            Op::Ping => {
                use mysql_async::prelude::Queryable;
                c.conn.ping().await.map(|_| Vec::new())
            }
            Op::Prepare(sql) => {
                use mysql_async::prelude::Queryable;
                c.conn.prep(sql).await.map(|_| Vec::new())
            }
            // Only meaningful to conn_worker; nothing to run.
            Op::HandBack => Ok(Vec::new()),
        }
    };
    let query_deadline = (timeout_ms > 0.0).then(|| t0 + Duration::from_micros((timeout_ms.min(1e12) * 1000.0) as u64));
    let silent_limit = pool.settings.socket_timeout;
    let mut killed = pool.killed();
    let mut answered = false;
    // In a block: the command's borrow of the connection ends with it.
    let res = {
        tokio::pin!(fut);
        loop {
            let silent_at = silent_limit.map(|t| activity.last() + t);
            tokio::select! {
                r = &mut fut => break Ok(r),
                _ = sleep_until(query_deadline), if !answered && query_deadline.is_some() => {
                    answered = true;
                    // A stream must not stay paused on a command JS gave up on.
                    outbox.close_stream(id);
                    pool.metrics.error("PROTOCOL_SEQUENCE_TIMEOUT");
                    let e = ErrInfo::new("PROTOCOL_SEQUENCE_TIMEOUT", QUERY_TIMEOUT_MSG);
                    outbox.push(Completion { id, payload: Payload::Error(e) });
                }
                _ = sleep_until(silent_at), if silent_at.is_some() => {
                    if let Some(t) = silent_limit {
                        if activity.last().elapsed() >= t {
                            break Err(Cut::Silent(t));
                        }
                    }
                }
                Ok(_) = killed.wait_for(|k| *k) => break Err(Cut::Killed),
            }
        }
    };
    if gate.is_some() {
        outbox.close_stream(id);
    }
    if res.is_ok() {
        c.track_session();
    }
    if ddl {
        json.invalidate();
    }
    Metrics::inc(&pool.metrics.queries);
    pool.metrics.query_time.observe(t0.elapsed());
    let payload = match res {
        Ok(Ok(sets)) => Payload::Results(sets),
        Ok(Err(e)) => {
            let info = error::from_mysql(&e, false);
            // After a client-side driver error mysql_async may have dropped
            // the socket or left the stream mid-command: never reuse it.
            c.broken |= info.fatal || matches!(e, mysql_async::Error::Driver(_));
            pool.metrics.error(&info.code);
            Payload::Error(info)
        }
        Err(cut) => {
            // The command is cut mid-flight; the connection cannot be reused.
            c.broken = true;
            let info = match cut {
                Cut::Silent(t) => ErrInfo::new(
                    "PROTOCOL_SEQUENCE_TIMEOUT",
                    format!(
                        "Socket inactivity timeout: no data from the server for {} ms (socketTimeout)",
                        t.as_millis()
                    ),
                ),
                Cut::Killed => ErrInfo::new(
                    "POOL_CLOSED",
                    "Pool is closed: the command did not finish within endTimeout and was cut off.",
                ),
            }
            .fatal();
            pool.metrics.error(&info.code);
            Payload::Error(info)
        }
    };
    (!answered).then_some(payload)
}

/// Wraps a task: its payload (if any) goes to the outbox, and a panic
/// becomes an error completion instead of unwinding into the runtime.
async fn guarded<F>(outbox: Arc<Outbox>, id: u32, fut: F)
where
    F: Future<Output = Option<Payload>> + Send + 'static,
{
    let payload = match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(panic) => Payload::Error(error::from_panic(panic)),
    };
    outbox.push(Completion { id, payload });
}

/// One per NativePool: takes each request's place in the pool's queue in
/// the order JS made them, then lets the rest run concurrently.
async fn route(
    pool: Arc<Pool>,
    outbox: Arc<Outbox>,
    lent: Arc<Mutex<HashMap<u32, Lent>>>,
    lending: Arc<Lending>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Routed>,
) {
    while let Some(msg) = rx.recv().await {
        match msg {
            Routed::GiveBack(conn_id, destroy) => {
                // Queued behind the connection's pending commands, so they finish first.
                let sent = lock(&lent)
                    .remove(&conn_id)
                    .is_some_and(|tx| tx.send(if destroy { ConnJob::Destroy } else { ConnJob::Release }).is_ok());
                if !destroy && !sent {
                    // JS counted a release that will not come (the worker is gone).
                    pool.returned_now();
                }
            }
            Routed::GetConnection(id, conn_id, ticket) => {
                let (pool, lent, outbox2, lending) = (pool.clone(), lent.clone(), outbox.clone(), lending.clone());
                tokio::spawn(guarded(outbox.clone(), id, async move {
                    let got = match pool.finish_acquire(ticket).await {
                        Ok(c) => first_use(c, &pool, &outbox2, &lent, &lending).await,
                        Err(e) => Err(e),
                    };
                    match got {
                        Ok(c) => {
                            let thread_id = c.thread_id();
                            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                            lock(&lent).insert(conn_id, tx);
                            tokio::spawn(conn_worker(pool, c, rx, outbox2, None));
                            Some(Payload::Conn { conn_id, thread_id })
                        }
                        Err(e) => Some(Payload::Error(e)),
                    }
                }));
            }
            Routed::Batch(batch) => {
                for (job, ticket) in batch {
                    let Submission { id, conn_id, op, timeout_ms, error } = job;
                    if let Some(e) = error {
                        outbox.push(Completion { id, payload: Payload::Error(e) });
                        continue;
                    }
                    if let Some(ticket) = ticket {
                        let (pool, outbox2, lent, lending) =
                            (pool.clone(), outbox.clone(), lent.clone(), lending.clone());
                        tokio::spawn(guarded(outbox.clone(), id, async move {
                            let got = match pool.finish_acquire(ticket).await {
                                Ok(c) => first_use(c, &pool, &outbox2, &lent, &lending).await,
                                Err(e) => Err(e),
                            };
                            let mut c = match got {
                                Ok(c) => c,
                                Err(e) => return Some(Payload::Error(e)),
                            };
                            let payload = run_op(&pool, &mut c, op, timeout_ms, &outbox2, id).await;
                            // As mysql2: the connection is back in the idle set (LIFO)
                            // before the promise resolves, so the caller's next query
                            // finds it. A reset due on release (opt-in) comes first too.
                            let conn = c.id;
                            c.undelivered = payload.is_some();
                            if let Some(c) = pool.release_now(c, false, false) {
                                pool.finish_release(c, false, false).await;
                            }
                            if let Some(payload) = payload {
                                outbox2.push_from(Completion { id, payload }, Some(conn));
                            }
                            None
                        }));
                        continue;
                    }
                    // HandBack ends JS's use of a connection it was shown.
                    let tx = if matches!(op, Op::HandBack) {
                        lock(&lent).remove(&conn_id)
                    } else {
                        lock(&lent).get(&conn_id).cloned()
                    };
                    let sent = tx.map(|tx| tx.send(ConnJob::Run(id, op, timeout_ms)));
                    if !matches!(sent, Some(Ok(()))) {
                        outbox.push(Completion {
                            id,
                            payload: Payload::Error(ErrInfo::new(
                                "ERR_CONNECTION_RELEASED",
                                "Connection was released to the pool; get a new one with getConnection().",
                            )),
                        });
                    }
                }
            }
        }
    }
}

/// Owns one lent connection and runs its commands in order until released.
async fn conn_worker(
    pool: Arc<Pool>,
    mut c: PooledConn,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<ConnJob>,
    outbox: Arc<Outbox>,
    mut back: Option<tokio::sync::oneshot::Sender<PooledConn>>,
) {
    loop {
        match rx.recv().await {
            Some(ConnJob::Run(id, Op::HandBack, _)) => {
                outbox.push(Completion { id, payload: Payload::Done });
                if let Some(tx) = back.take() {
                    // The waiting command is gone: the connection goes back.
                    if let Err(c) = tx.send(c) {
                        pool.release(c, false, false).await;
                    }
                    return;
                }
            }
            Some(ConnJob::Run(id, op, timeout_ms)) => {
                if back.is_some() {
                    // A 'connection' listener's statement: part of the session setup.
                    c.replay.extend(op.replay());
                }
                let payload = if c.broken {
                    Some(Payload::Error(
                        ErrInfo::new(
                            "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
                            "Can't add new command when connection is in closed state",
                        )
                        .fatal(),
                    ))
                } else {
                    match AssertUnwindSafe(run_op(&pool, &mut c, op, timeout_ms, &outbox, id)).catch_unwind().await {
                        Ok(p) => p,
                        Err(panic) => {
                            c.broken = true;
                            Some(Payload::Error(error::from_panic(panic)))
                        }
                    }
                };
                if let Some(payload) = payload {
                    outbox.push(Completion { id, payload });
                }
            }
            Some(ConnJob::Destroy) => return pool.destroy(c),
            Some(ConnJob::Release) => return pool.release(c, true, true).await,
            // The pool's JS side went away (end(), thread exit).
            None => return pool.release(c, true, false).await,
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
        let rt = runtime::start(worker_threads).map_err(|e| Error::new(Status::GenericFailure, e))?;
        tls::install_crypto_provider();
        let opts =
            config.mysql_opts().map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", e.code, e.message)))?;
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
        let outbox =
            Arc::new(Outbox { queue: Mutex::new(Queue::default()), wake, streams: Mutex::new(HashMap::new()) });
        let lent: Arc<Mutex<HashMap<u32, Lent>>> = Arc::new(Mutex::new(HashMap::new()));
        let (router, rx) = tokio::sync::mpsc::unbounded_channel();
        let lending = Arc::new(Lending { next_id: 0.into(), announce: false.into() });
        let detached = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandon = Abandon {
            pool: Arc::downgrade(&pool),
            share: share.clone(),
            detached: detached.clone(),
            lent: Arc::downgrade(&lent),
            outbox: Arc::downgrade(&outbox),
        };
        env.add_env_cleanup_hook(abandon, Abandon::run)?;
        rt.spawn(route(pool.clone(), outbox.clone(), lent.clone(), lending.clone(), rx));
        Ok(NativePool {
            pool,
            share,
            router,
            detached,
            outbox,
            lent,
            lending,
            inflight: Cell::new(0),
            shapes: RefCell::new(shapes::Shapes::default()),
        })
    }

    fn begin(&self, env: &Env, n: u32) {
        let before = self.inflight.get();
        if before == 0 && n > 0 {
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), self.outbox.wake.raw()) };
        }
        self.inflight.set(before + n);
    }

    /// Runs `fut` on the runtime; a panic inside becomes an error completion.
    fn spawn<F>(&self, id: u32, fut: F)
    where
        F: Future<Output = Option<Payload>> + Send + 'static,
    {
        runtime::spawn(guarded(self.outbox.clone(), id, fut));
    }

    /// Commands from JS, batched per microtask: each entry is
    /// [op (0 query, 1 execute, 2 ping), id, connId, sql, flags, timeoutMs, params].
    /// One hand-over to the runtime per batch, so one thread wake-up.
    #[napi]
    pub fn submit(&self, env: Env, batch: Vec<Submission>) {
        self.begin(&env, batch.len() as u32);
        // Decided here, synchronously: the connection a caller's previous
        // answer freed is the one its next command gets (mysql2's LIFO), and
        // nothing that happens on the runtime meanwhile can take it first.
        let batch = batch
            .into_iter()
            .map(|job| {
                let ticket = (job.conn_id == 0 && job.error.is_none()).then(|| self.pool.begin_acquire());
                (job, ticket)
            })
            .collect();
        let _ = self.router.send(Routed::Batch(batch));
    }

    /// Lends a connection; completes with [connId, threadId].
    #[napi]
    pub fn get_connection(&self, env: Env, id: u32) {
        self.begin(&env, 1);
        let conn_id = self.lending.next();
        let ticket = self.pool.begin_acquire();
        let _ = self.router.send(Routed::GetConnection(id, conn_id, ticket));
    }

    /// Returns a lent connection after its queued commands finish. Counted
    /// as idle at once (mysql2 frees it synchronously; see Pool::note_returning).
    #[napi]
    pub fn release(&self, conn_id: u32) {
        self.pool.note_returning();
        self.give_back(conn_id, false);
    }

    /// conn.destroy() after conn.release(): closes that connection (by its
    /// server thread id) when it is idle in the pool, as mysql2 does.
    #[napi]
    pub fn destroy_released(&self, thread_id: u32) {
        // Now, so pool.pool counts drop at once as mysql2's do.
        self.pool.destroy_released(thread_id);
    }

    /// Closes a lent connection instead of returning it.
    #[napi]
    pub fn destroy(&self, conn_id: u32) {
        self.give_back(conn_id, true);
    }

    fn give_back(&self, conn_id: u32, destroy: bool) {
        let _ = self.router.send(Routed::GiveBack(conn_id, destroy));
    }

    /// Drops this thread's attachment to a shared pool; true if it was the last.
    fn detach(&self) -> bool {
        detach(&self.pool, self.share.as_deref(), &self.detached)
    }

    /// Stops the pool (or, for a shared pool other threads still use, only
    /// this thread's use of it); lent connections still out after
    /// `grace_ms` are closed.
    #[napi]
    pub fn end(&self, env: Env, id: u32, grace_ms: f64) {
        self.begin(&env, 1);
        // Paused streams must not hold their connections past end().
        for (_, gate) in lock(&self.outbox.streams).drain() {
            gate.close();
        }
        let pool = self.pool.clone();
        let lent = self.lent.clone();
        let close = self.detach();
        if !close {
            // Other threads keep the pool: this thread's lent connections go
            // back once their queued commands are done.
            lock(&lent).clear();
        }
        self.spawn(id, async move {
            if close {
                // Lent connections count as active: they get the grace
                // period to finish (a transaction between statements, say).
                pool.end(Duration::from_millis(grace_ms.max(0.0) as u64)).await;
                // Then whatever is still lent is closed after its queued work.
                lock(&lent).clear();
            }
            Some(Payload::Done)
        });
    }

    /// JS listens for 'connection' (true) or no longer does (false).
    #[napi]
    pub fn set_connection_hook(&self, on: bool) {
        self.lending.announce.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// A stream (query with the STREAM flag) took a chunk: `done` = it wants
    /// no more gating (ended or destroyed), else let one more chunk come.
    #[napi]
    pub fn stream_ack(&self, id: u32, done: bool) {
        if done {
            self.outbox.close_stream(id);
        } else if let Some(gate) = lock(&self.outbox.streams).get(&id) {
            gate.add_permits(1);
        }
    }

    /// Everything finished since the last call, as
    /// [[id, kind, ...payload], ...] (see boundary.rs).
    #[napi]
    pub fn drain(&self, env: Env) -> Result<Raw> {
        let (list, conns) = self.outbox.take();
        // Their callers' next commands come in this order: hand each its own
        // connection back first, as mysql2's synchronous release does.
        if !conns.is_empty() {
            self.pool.delivered(&conns);
        }
        // Chunks are extra completions of a command still in flight, and a
        // new connection shown to JS answers no request.
        let n =
            list.iter().filter(|c| !matches!(c.payload, Payload::Chunk(..) | Payload::NewConn { .. })).count() as u32;
        let v = Batch::build(list, &mut self.shapes.borrow_mut()).into_js(env.raw())?;
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

    /// Sizes and evictions of the bounded per-pool caches, for stats().
    #[napi]
    pub fn cache_stats(&self) -> CacheStats {
        let shapes = self.shapes.borrow();
        let (json_tables, json_evicted) = self.pool.json.sizes();
        CacheStats {
            shapes: shapes.len() as f64,
            shapes_capacity: shapes::CAPACITY as f64,
            shapes_evicted: shapes.evicted() as f64,
            json_tables: json_tables as f64,
            json_tables_capacity: json_columns::CAPACITY as f64,
            json_tables_evicted: json_evicted as f64,
        }
    }

    #[napi]
    pub fn error_counts(&self) -> Vec<ErrorCount> {
        self.pool.metrics.errors().into_iter().map(|(code, count)| ErrorCount { code, count: count as f64 }).collect()
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
            runtime::spawn(async move { pool.end(Duration::from_secs(5)).await });
        }
    }
}

/// Drops one thread's attachment to a (shared) pool, once; true if it was
/// the last one, so the pool itself should close.
fn detach(pool: &Arc<Pool>, share: Option<&str>, detached: &std::sync::atomic::AtomicBool) -> bool {
    if detached.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return false;
    }
    let Some(name) = share else { return true };
    let mut reg = lock(&SHARED);
    let last = match reg.get_mut(name) {
        Some(e) if Arc::ptr_eq(&e.pool, pool) => {
            e.attached = e.attached.saturating_sub(1);
            e.attached == 0
        }
        _ => true,
    };
    if last && matches!(reg.get(name), Some(e) if Arc::ptr_eq(&e.pool, pool)) {
        reg.remove(name);
    }
    last
}

/// What a thread's env teardown (worker.terminate(), thread exit) must
/// reclaim at once, held weakly so an ended pool is not kept alive.
struct Abandon {
    pool: std::sync::Weak<Pool>,
    share: Option<String>,
    detached: Arc<std::sync::atomic::AtomicBool>,
    lent: std::sync::Weak<Mutex<HashMap<u32, Lent>>>,
    outbox: std::sync::Weak<Outbox>,
}

impl Abandon {
    /// The thread is gone: its paused streams stop pausing, its lent
    /// connections go back after the commands already queued on them, and
    /// the pool closes if no other thread is attached. Other threads never
    /// wait on what the dead one held.
    fn run(self) {
        let Some(pool) = self.pool.upgrade() else { return };
        if let Some(outbox) = self.outbox.upgrade() {
            for (_, gate) in lock(&outbox.streams).drain() {
                gate.close();
            }
        }
        if let Some(lent) = self.lent.upgrade() {
            lock(&lent).clear();
        }
        if detach(&pool, self.share.as_deref(), &self.detached) && !pool.is_closed() {
            runtime::spawn(async move { pool.end(Duration::from_secs(5)).await });
        }
    }
}

/// Histogram bucket bounds (seconds), for the JS metrics renderer.
#[napi]
pub fn histogram_buckets() -> Vec<f64> {
    metrics::BUCKETS.to_vec()
}
