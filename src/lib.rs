//! napi-mysql-pool: the native half. JS hands over commands in batches
//! (`submit`, once per microtask) and returns at once; work runs on a tokio
//! runtime; finished work is queued and handed back in batches through one
//! threadsafe function per pool (no promise or threadsafe function per call:
//! JS keeps its own promise table keyed by `id`).
#[macro_use]
extern crate napi_derive;

mod attachment;
mod boundary;
mod charset;
mod collations;
mod command;
mod completions;
mod config;
mod conn;
mod convert;
mod credentials;
mod dispatch;
mod errcodes;
mod error;
mod fast_calls;
mod json_columns;
mod lending;
mod maintain;
mod metrics;
mod ops;
mod pipeline;
mod pool;
mod registry;
mod runtime;
mod shapes;
mod snapshot;
mod sync;
mod text;
mod tls;
mod wake;
mod wire;

use attachment::Attachment;
use boundary::{Batch, Payload, Raw};
use completions::{Completions, Queue};
use config::PoolConfig;
use credentials::Credentials;
use dispatch::{guarded, route, start_pool_commands, Routed};
use error::ErrInfo;
use json_columns::JsonColumns;
use lending::Lending;
use napi::bindgen_prelude::*;
use napi::sys;
use pool::LendTag;
use pool::Pool;
use registry::{detach, Abandon, SharedEntry, SHARED};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sync::lock;
use wake::{UvWake, Waker};

#[napi(object)]
pub struct CacheStats {
    pub shapes: f64,
    pub shapes_capacity: f64,
    pub shapes_evicted: f64,
    pub json_tables: f64,
    pub json_tables_capacity: f64,
    pub json_tables_evicted: f64,
    /// execute() SQL texts native code keeps by number (this pool and thread).
    pub sql_texts: f64,
    pub sql_texts_capacity: f64,
    /// Result templates (process-wide: every pool's column lists).
    pub templates: f64,
    pub templates_capacity: f64,
    pub templates_evicted: f64,
}

#[napi(object)]
pub struct ErrorCount {
    pub code: String,
    pub count: f64,
}

#[napi]
pub struct NativePool {
    pool: Arc<Pool>,
    share: Option<String>,
    detached: Arc<std::sync::atomic::AtomicBool>,
    completions: Arc<Completions>,
    at: Arc<Attachment>,
    inflight: Cell<u32>,
    /// This pool's number for fast_calls.rs (0 until JS asks for it).
    fast_handle: Cell<u32>,
    /// Result shapes already sent to this thread's JS (see boundary::Batch).
    shapes: RefCell<shapes::Shapes>,
    /// SQL texts JS refers to by number (boundary::SqlTexts).
    sql_texts: RefCell<boundary::SqlTexts>,
    /// Hands commands on lent connections, lending and giving back to the
    /// router task, in the order JS made them.
    router: tokio::sync::mpsc::UnboundedSender<Routed>,
}

// Every method is `catch_unwind`: a panic that reached Node-API's C frames
// would abort the process ("failed to initiate panic"); caught, it is a
// thrown Error. None is known to panic (__test__/resilience/native-methods).
#[napi]
impl NativePool {
    #[napi(catch_unwind, constructor)]
    pub fn new(
        env: Env,
        config: PoolConfig,
        on_wake: Function<u32, ()>,
        worker_threads: Option<u32>,
        share: Option<Vec<String>>,
        dynamic_credentials: Option<bool>,
        uv_wake: Option<bool>,
    ) -> Result<Self> {
        let hooks = runtime::Hooks {
            park: completions::worker_parking,
            stop: completions::flush_deferred,
            after_poll: completions::flush_stale,
        };
        let rt = runtime::start(worker_threads, hooks).map_err(|e| Error::new(Status::GenericFailure, e))?;
        tls::install_crypto_provider();
        let opts =
            config.mysql_opts().map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", e.code, e.message)))?;
        // A libuv async handle where lib/pool.js says the runtime is Node
        // (wake.rs), else a threadsafe function.
        let uv = if uv_wake.unwrap_or(false) { UvWake::new(env.raw(), on_wake.raw()) } else { None };
        // A constructor that fails from here on closes the handle at once
        // (it would hold the wake function until the thread's end).
        let mut close_on_error = wake::CloseOnDrop(uv.clone());
        let wake = match uv {
            Some(u) => {
                // Closed with the environment if the pool is not finalized first.
                env.add_env_cleanup_hook(u.clone(), |u| u.close())?;
                Waker::Uv(u)
            }
            None => Waker::Tsfn(on_wake.build_threadsafe_function().callee_handled::<false>().build()?),
        };
        // Unreferenced while idle: an idle pool does not keep Node alive.
        wake.set_ref(env.raw(), false);
        let _guard = rt.enter();
        // share = [name, fingerprint of the connection settings]
        let completions =
            Arc::new(Completions { queue: Mutex::new(Queue::default()), wake, streams: Mutex::new(HashMap::new()) });
        // Credentials from JS functions are asked of this thread; a shared
        // pool has no single thread to ask (lib/config.js refuses it).
        let credentials = || {
            let to = Arc::downgrade(&completions);
            let ask: credentials::Ask = Box::new(move |request| match to.upgrade() {
                Some(c) => {
                    c.push(boundary::Completion { id: 0, payload: Payload::NeedCredentials(request) });
                    true
                }
                None => false,
            });
            dynamic_credentials.unwrap_or(false).then(|| Credentials::new(ask))
        };
        let new_json = |pool: &Arc<Pool>| {
            let json = Arc::new(JsonColumns::new(config.mariadb_json_columns, opts.clone(), pool.metrics.clone()));
            json.start();
            json
        };
        let (pool, json, share) = match share.as_deref() {
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
                        (e.pool.clone(), e.json.clone(), Some(name.clone()))
                    }
                    _ => {
                        let pool = Pool::new(config.settings(), opts.clone(), credentials());
                        let json = new_json(&pool);
                        let entry = SharedEntry {
                            pool: pool.clone(),
                            json: json.clone(),
                            fingerprint: fingerprint.clone(),
                            attached: 1,
                        };
                        reg.insert(name.clone(), entry);
                        (pool, json, Some(name.clone()))
                    }
                }
            }
            _ => {
                let pool = Pool::new(config.settings(), opts.clone(), credentials());
                let json = new_json(&pool);
                (pool, json, None)
            }
        };
        let at = Arc::new(Attachment {
            pool: pool.clone(),
            json,
            completions: completions.clone(),
            lent: Mutex::default(),
            lending: Lending { next_id: 0.into(), announce: false.into() },
        });
        let (router, rx) = tokio::sync::mpsc::unbounded_channel();
        let detached = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandon = Abandon { at: Arc::downgrade(&at), share: share.clone(), detached: detached.clone() };
        env.add_env_cleanup_hook(abandon, Abandon::run)?;
        rt.spawn(runtime::checked(route(at.clone(), rx)));
        close_on_error.0 = None;
        Ok(NativePool {
            pool,
            at,
            share,
            router,
            detached,
            completions,
            inflight: Cell::new(0),
            fast_handle: Cell::new(0),
            shapes: RefCell::new(shapes::Shapes::default()),
            sql_texts: RefCell::new(boundary::SqlTexts::default()),
        })
    }

    fn begin(&self, env: sys::napi_env, n: u32) {
        let before = self.inflight.get();
        if before == 0 && n > 0 {
            self.completions.wake.set_ref(env, true);
        }
        self.inflight.set(before + n);
    }

    /// Runs `fut` on the runtime; a panic inside becomes an error completion.
    fn spawn<F>(&self, id: u32, fut: F)
    where
        F: Future<Output = Option<Payload>> + Send + 'static,
    {
        runtime::spawn(guarded(self.completions.clone(), id, fut));
    }

    /// Commands from JS, batched per microtask (entry layout and ops:
    /// src/wire.rs SUB_*, OP_*). One hand-over to the runtime per batch, so
    /// one thread wake-up.
    /// (Called through fast_calls.rs, not as a method.)
    pub(crate) fn submit_batch(
        &self,
        env: sys::napi_env,
        nums: sys::napi_value,
        count: u32,
        texts: sys::napi_value,
        params: sys::napi_value,
    ) -> Result<()> {
        // Reading the arrays can run JS (a getter or a Proxy passed by a
        // caller of the raw call), which could call submit() again: refused,
        // never a second borrow.
        let mut sql_texts = self.sql_texts.try_borrow_mut().map_err(|_| {
            Error::new(Status::GenericFailure, "ERR_REENTRANT: submit() called while reading a submit()".to_string())
        })?;
        let batch = unsafe { boundary::read_submissions(env, nums, count, texts, params, &mut sql_texts) }?;
        drop(sql_texts);
        self.begin(env, batch.len() as u32);
        // Each pool command's place is decided here, synchronously: the
        // connection a caller's previous answer freed is the one its next
        // command gets (mysql2's LIFO), and nothing that happens on the
        // runtime meanwhile can take it first. With their places fixed, pool
        // commands need nothing from the router: one task per batch starts
        // them on the runtime (spawning each there, not here, costs the JS
        // thread one trip through tokio's shared queue per batch, not per
        // command; answer order is kept by
        // Completions::push_with). Commands on lent connections still go
        // through the router, in order with release()/destroy().
        let mut pooled = Vec::new();
        let mut routed = Vec::new();
        for job in batch {
            if job.conn_id == 0 && job.error.is_none() {
                let ticket = self.pool.begin_acquire();
                pooled.push((job, ticket));
            } else {
                routed.push(job);
            }
        }
        if !pooled.is_empty() {
            runtime::spawn(start_pool_commands(self.at.clone(), pooled));
        }
        if !routed.is_empty() {
            let _ = self.router.send(Routed::Batch(routed));
        }
        Ok(())
    }

    /// Lends a connection; completes with [connId, threadId].
    #[napi(catch_unwind)]
    pub fn get_connection(&self, env: Env, id: u32) {
        self.begin(env.raw(), 1);
        let conn_id = self.at.lending.next();
        let tag = LendTag { owner: self.owner(), js_id: id, conn_id };
        let ticket = self.pool.begin_acquire_for(Some(tag));
        let _ = self.router.send(Routed::GetConnection(id, conn_id, ticket));
    }

    /// This thread's attachment, as pool.rs tags its waiting getConnection()s.
    fn owner(&self) -> usize {
        Arc::as_ptr(&self.at) as usize
    }

    /// Returns a lent connection after its queued commands finish. Counted
    /// as idle at once (mysql2 frees it synchronously; see Pool::note_returning).
    /// `idle`: JS has every answer of this connection. Then, when the next
    /// caller in line is a getConnection() of this thread, that caller gets
    /// the connection now: [its call id, its new connection id, the server
    /// thread id] is returned and JS settles it (no runtime round trip).
    #[napi(catch_unwind)]
    pub fn release(&self, env: Env, conn_id: u32, idle: Option<bool>) -> Option<Vec<u32>> {
        if idle == Some(true) {
            if let Some(handed) = self.hand_over(env.raw(), conn_id) {
                return Some(handed);
            }
        }
        self.pool.note_returning();
        self.give_back(conn_id, false);
        None
    }

    /// See `release`. The connection's worker keeps it; only the id JS knows
    /// it by changes, so a command on the released object is refused.
    fn hand_over(&self, env: sys::napi_env, conn_id: u32) -> Option<Vec<u32>> {
        let mut lent = lock(&self.at.lent);
        let entry = lent.map.get(&conn_id)?;
        if !entry.reusable() {
            return None;
        }
        let tag = self.pool.hand_over(self.owner(), entry.thread_id)?;
        let entry = lent.map.remove(&conn_id)?;
        let thread_id = entry.thread_id;
        lent.map.insert(tag.conn_id, entry);
        drop(lent);
        // Its getConnection() was counted in flight; no completion will come.
        let left = self.inflight.get().saturating_sub(1);
        self.inflight.set(left);
        if left == 0 {
            self.completions.wake.set_ref(env, false);
        }
        Some(vec![tag.js_id, tag.conn_id, thread_id])
    }

    /// conn.destroy() after conn.release(): closes that connection (by its
    /// server thread id) when it is idle in the pool, as mysql2 does; one
    /// the release handed to a waiting caller closes when that caller
    /// releases it (mysql2 would close it under that caller).
    #[napi(catch_unwind)]
    pub fn destroy_released(&self, thread_id: u32) {
        // Now, so pool.pool counts drop at once as mysql2's do.
        let lent_again = lock(&self.at.lent).map.values().any(|e| e.thread_id == thread_id);
        self.pool.destroy_released(thread_id, lent_again);
    }

    /// Closes a lent connection instead of returning it.
    #[napi(catch_unwind)]
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
    #[napi(catch_unwind)]
    pub fn end(&self, env: Env, id: u32, grace_ms: f64) {
        self.begin(env.raw(), 1);
        // Paused streams must not hold their connections past end().
        for (_, gate) in lock(&self.completions.streams).drain() {
            gate.close();
        }
        let at = self.at.clone();
        let close = self.detach();
        if !close {
            // Other threads keep the pool: this thread's lent connections go
            // back once their queued commands are done.
            at.let_go();
        }
        self.spawn(id, async move {
            if close {
                // Lent connections count as active: they get the grace
                // period to finish (a transaction between statements, say).
                registry::close(&at.pool, &at.json, Duration::from_millis(grace_ms.max(0.0) as u64)).await;
                // Then whatever is still lent is closed after its queued work.
                at.let_go();
            }
            Some(Payload::Done)
        });
    }

    /// JS's answer to a credentials request (credentials.rs): the values
    /// for one handshake; None keeps the configured one.
    #[napi(catch_unwind)]
    pub fn provide_credentials(&self, request: u32, user: Option<String>, password: Option<String>) {
        if let Some(c) = &self.pool.credentials {
            c.answer(request, Ok((user, password)));
        }
    }

    /// The credential functions failed: the waiting caller gets this message.
    #[napi(catch_unwind)]
    pub fn fail_credentials(&self, request: u32, message: String) {
        if let Some(c) = &self.pool.credentials {
            c.answer(request, Err(ErrInfo::new(credentials::CODE, message)));
        }
    }

    /// JS listens for 'connection' (true) or no longer does (false).
    #[napi(catch_unwind)]
    pub fn set_connection_hook(&self, on: bool) {
        self.at.lending.announce.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// A stream (query with the STREAM flag) took a chunk: `done` = it wants
    /// no more gating (ended or destroyed), else let one more chunk come.
    #[napi(catch_unwind)]
    pub fn stream_ack(&self, id: u32, done: bool) {
        if done {
            self.completions.close_stream(id);
        } else if let Some(gate) = lock(&self.completions.streams).get(&id) {
            gate.add_permits(1);
        }
    }

    /// Everything finished since the last call: its text, with the directory
    /// in `scratch`, or [dir, text, bytes, extra] (see boundary::Batch).
    /// (Called through fast_calls.rs, not as a method.)
    pub(crate) fn drain_batch(&self, env: sys::napi_env, scratch: sys::napi_value) -> Result<sys::napi_value> {
        // Before anything is taken from the queue: a refused call loses nothing.
        let mut shapes = self.shapes.try_borrow_mut().map_err(|_| {
            Error::new(Status::GenericFailure, "ERR_REENTRANT: drain() called while a drain() runs".to_string())
        })?;
        let (list, conns) = self.completions.take();
        // Their callers' next commands come in this order: hand each its own
        // connection back first, as mysql2's synchronous release does.
        if !conns.is_empty() {
            self.pool.delivered(&conns);
        }
        // Chunks are extra completions of a command still in flight, and a
        // new connection shown to JS answers no request.
        let n = list
            .iter()
            .filter(|c| {
                !matches!(
                    c.payload,
                    Payload::Chunk(..) | Payload::NewConn { .. } | Payload::NeedCredentials(_) | Payload::Waited(_)
                )
            })
            .count() as u32;
        let batch = Batch::build(list, &mut shapes);
        drop(shapes);
        let v = unsafe { batch.into_js_scratch(env, scratch) }?;
        let left = self.inflight.get().saturating_sub(n);
        self.inflight.set(left);
        if left == 0 && n > 0 {
            self.completions.wake.set_ref(env, false);
        }
        Ok(v)
    }

    /// How the runtime wakes this pool's JS thread: "uv" or "tsfn" (wake.rs).
    #[napi(catch_unwind)]
    pub fn wake_kind(&self) -> String {
        self.completions.wake.kind().to_string()
    }

    /// This pool's number for the boundary calls (fast_calls.rs).
    #[napi(catch_unwind)]
    pub fn fast_handle(&self, env: Env, this: This) -> Result<u32> {
        fast_calls::handle_of(env.raw(), this.object.raw(), self, &self.fast_handle)
    }

    /// `{ submit, drain }`: the boundary calls, taking fastHandle()'s number
    /// (made once per thread by lib/transport.js).
    #[napi(catch_unwind, ts_return_type = "{ submit: Function; drain: Function }")]
    pub fn fast_calls(env: Env) -> Result<Raw> {
        fast_calls::make(env)
    }

    #[napi(catch_unwind)]
    pub fn counts(&self) -> snapshot::PoolCounts {
        snapshot::counts(&self.pool)
    }

    /// Lifetime counters and the acquire-wait, query-time and connect-time histograms.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> snapshot::PoolMetrics {
        snapshot::metrics(&self.pool)
    }

    /// Sizes and evictions of the bounded per-pool caches, for stats().
    #[napi(catch_unwind)]
    pub fn cache_stats(&self) -> CacheStats {
        // Empty while a submit() or drain() holds them (stats() called from
        // JS those ran); a snapshot, not worth a panic.
        let shapes = self.shapes.try_borrow().ok();
        let (json_tables, json_evicted) = self.at.json.sizes();
        let (templates, templates_capacity, templates_evicted) = convert::template_sizes();
        CacheStats {
            shapes: shapes.as_ref().map_or(0.0, |s| s.len() as f64),
            shapes_capacity: shapes::CAPACITY as f64,
            shapes_evicted: shapes.as_ref().map_or(0.0, |s| s.evicted() as f64),
            json_tables: json_tables as f64,
            json_tables_capacity: json_columns::CAPACITY as f64,
            json_tables_evicted: json_evicted as f64,
            sql_texts: self.sql_texts.try_borrow().map_or(0.0, |t| t.len() as f64),
            sql_texts_capacity: f64::from(wire::SUB_SQL_SLOTS),
            templates: templates as f64,
            templates_capacity: templates_capacity as f64,
            templates_evicted: templates_evicted as f64,
        }
    }

    #[napi(catch_unwind)]
    pub fn error_counts(&self) -> Vec<ErrorCount> {
        self.pool.metrics.errors().into_iter().map(|(code, count)| ErrorCount { code, count: count as f64 }).collect()
    }

    /// The last connection failure, for health().
    #[napi(catch_unwind)]
    pub fn last_connect_error(&self) -> Option<snapshot::ConnectError> {
        self.pool.last_connect_error().map(snapshot::connect_error)
    }
}

impl Drop for NativePool {
    /// A thread that exits without end() must not pin a shared pool forever.
    fn drop(&mut self) {
        fast_calls::forget(self.fast_handle.get());
        // On the JS thread (a finalizer): no wake-up can reach JS any more.
        self.completions.wake.close();
        if self.detach() && !self.pool.is_closed() {
            let at = self.at.clone();
            runtime::spawn(async move { registry::close(&at.pool, &at.json, Duration::from_secs(5)).await });
        }
    }
}

/// Histogram bucket bounds (seconds), for the JS metrics renderer.
#[napi(catch_unwind)]
pub fn histogram_buckets() -> Vec<f64> {
    metrics::BUCKETS.to_vec()
}
