//! Where a command goes: a pool command runs as its own task
//! (`pool_command`, started by `start_pool_commands` with its place in the
//! pool's queue already decided on the JS thread in submit()); the router task takes everything that
//! concerns lent connections in JS's order and hands each command to its
//! connection's worker (lending.rs), behind what that connection queued.
use crate::attachment::Attachment;
use crate::boundary::{Completion, Payload, Submission};
use crate::command::run_op;
use crate::completions::Completions;
use crate::convert;
use crate::error::{self, ErrInfo};
use crate::lending::{first_use, start_lent, ConnJob};
use crate::metrics::Metrics;
use crate::ops::Op;
use crate::pipeline::{self, JobSlot, PipeJob};
use crate::pool::{PooledConn, Ticket};
use crate::runtime;
use crate::sync::lock;
use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub(crate) enum Routed {
    /// Commands on lent connections (and commands JS sent malformed), in
    /// call order. Pool commands do not come here: submit() starts them.
    Batch(Vec<Submission>),
    GetConnection(u32, u32, Ticket),
    /// release()/destroy() of a lent connection: through the router, so
    /// commands JS sent before it reach the connection first.
    GiveBack(u32, bool),
}

/// Wraps a task: its payload (if any) goes to the completions, and a panic
/// becomes an error completion instead of unwinding into the runtime.
pub(crate) async fn guarded<F>(completions: Arc<Completions>, id: u32, fut: F)
where
    F: Future<Output = Option<Payload>> + Send + 'static,
{
    let payload = match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(panic) => Payload::Error(error::from_panic(panic)),
    };
    completions.push(Completion { id, payload });
}

/// A pool.query()/execute() that failed before a byte of it reached the
/// server: the peer had already closed the idle connection (a proxy or load
/// balancer cut it), or unread bytes were waiting, so the command was not
/// written. Running it on another connection cannot run it twice. Never for
/// lent connections (their session would silently change).
fn retry_safe(payload: &Option<Payload>) -> bool {
    matches!(payload, Some(Payload::Error(e)) if e.never_sent)
}

/// One pool.query()/execute(): finish its acquisition (decided on the JS
/// thread in submit()), run it, put the connection back before the answer is
/// queued. Its place among other commands was settled by its ticket, on the JS
/// thread.
pub(crate) async fn pool_command(at: Arc<Attachment>, id: u32, op: Source, timeout_ms: f64, ticket: Ticket) {
    let completions = at.completions.clone();
    guarded(completions, id, async move {
        let pool = &at.pool;
        let mut ticket = ticket;
        let asked = (op.flags() & convert::flags::POOL_WAIT != 0).then(|| ticket.asked_at());
        let mut op = op;
        // At most one retry, and only of a command that was certainly never
        // written (see `retry_safe`).
        for attempt in 0..2 {
            let got = match pool.finish_acquire(ticket).await {
                Ok(c) => first_use(c, &at).await,
                // Another command's pipeline runs it (pipeline.rs).
                Err(e) if e.code == crate::pool::codes::PIPELINED => return None,
                Err(e) => Err(e),
            };
            let mut c = match got {
                Ok(c) => c,
                Err(e) => return Some(Payload::Error(e)),
            };
            let Some(op) = op.get() else {
                // Not reachable: a pipeline takes the op only from a waiter it
                // removed from the queue, which then gets no connection.
                pool.release_settled(c, false);
                return None;
            };
            if let (0, Some(asked)) = (attempt, asked) {
                let us = asked.elapsed().as_secs_f64() * 1e6;
                at.completions.push(Completion { id, payload: Payload::Waited(us) });
            }
            let mut payload = run_op(&at, &mut c, op, timeout_ms, id).await;
            let may_retry = attempt == 0 && retry_safe(&payload);
            if !may_retry {
                ride(&at, &mut c, id, &mut payload).await;
            }
            // As mysql2: the connection is back in the idle set (LIFO) before
            // the promise resolves, so the caller's next query finds it. A
            // reset due on release (opt-in) comes first, while nobody else can
            // have the connection.
            let conn = c.id;
            c.undelivered = payload.is_some() && !may_retry;
            let settled = if pool.needs_settling(&c, false) {
                pool.settle_release(c, false, false).await.map(|c| (c, true))
            } else {
                Some((c, false))
            };
            let give_back = || match settled {
                Some((c, true)) => pool.put_back_settled(c, false),
                Some((c, false)) => pool.release_settled(c, false),
                None => {}
            };
            match payload {
                Some(payload) if !may_retry => {
                    at.completions.push_with(Completion { id, payload }, conn, give_back);
                    return None;
                }
                payload => {
                    give_back();
                    // Only with a connection at hand or one to open: never by
                    // joining the queue (an outage would hold the caller until
                    // acquireTimeout instead of failing fast).
                    let next = may_retry.then(|| pool.begin_acquire_now()).flatten();
                    if let Some(next) = next {
                        Metrics::inc(&pool.metrics.retried);
                        ticket = next;
                        continue;
                    }
                    if let Some(payload) = payload {
                        at.completions.push_from(Completion { id, payload }, Some(conn));
                    }
                    return None;
                }
            }
        }
        None
    })
    .await
}

/// A pool command's op: its own, or offered to pipelines while it waits.
pub(crate) enum Source {
    Own(Op),
    Offered(JobSlot, Option<Op>),
}

impl Source {
    fn flags(&self) -> u32 {
        match self {
            Source::Own(op) => op.flags(),
            Source::Offered(slot, _) => lock(slot).as_ref().map_or(0, |j| j.op.flags()),
        }
    }

    /// The op to run, taken back from the offer the first time.
    fn get(&mut self) -> Option<&Op> {
        match self {
            Source::Own(op) => Some(op),
            Source::Offered(slot, mine) => {
                if mine.is_none() {
                    *mine = pipeline::take(slot).map(|j| j.op);
                }
                mine.as_ref()
            }
        }
    }
}

/// After a pool command: while the queue's head holds commands that may
/// ride (pipeline.rs), run them on this connection before it goes back. The
/// command's own answer is queued first.
async fn ride(at: &Arc<Attachment>, c: &mut PooledConn, id: u32, payload: &mut Option<Payload>) {
    let depth = at.pool.settings.pipeline_depth;
    if depth == 0 {
        return;
    }
    let mut first = true;
    loop {
        let expired = matches!(c.expires, Some(t) if t <= std::time::Instant::now());
        if c.broken || expired || at.pool.needs_settling(c, false) {
            return;
        }
        let jobs = at.pool.adopt(depth, Arc::as_ptr(at) as usize);
        if jobs.is_empty() {
            return;
        }
        if first {
            first = false;
            if let Some(p) = payload.take() {
                at.completions.push(Completion { id, payload: p });
            }
        }
        let Some(unsent) = pipeline::run(at, c, jobs).await else { continue };
        // Never written, or written behind the one that was running when the
        // connection was lost and safe to run twice: each goes back to the
        // place it had, the front of the queue (last first, so they keep
        // their order), and runs as a command of its own, as a command whose
        // connection failed before its write is run again. This connection
        // is broken: closing it makes room.
        for job in unsent.jobs.into_iter().rev() {
            Metrics::inc(&at.pool.metrics.retried);
            Metrics::inc(&at.pool.metrics.released);
            let ticket = at.pool.requeue(job.asked);
            runtime::spawn_here(own_command(at.clone(), job.id, job.op, ticket));
        }
    }
}

/// A pool command as a task of its own, behind a plain boxed type: a
/// pipeline that hands a job back starts one from inside pool_command.
fn own_command(at: Arc<Attachment>, id: u32, op: Op, ticket: Ticket) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(pool_command(at, id, Source::Own(op), 0.0, ticket))
}

/// Starts one submit()'s pool commands, a task each, their places in the
/// pool already decided. Boxed: a command's future is ~7.5 KB (mysql_async's
/// state machines), and tokio moves a task's future by value when it is
/// spawned and when it finishes; behind a Box those moves copy a pointer.
pub(crate) async fn start_pool_commands(at: Arc<Attachment>, batch: Vec<(Submission, Ticket)>) {
    let pipelining = at.pool.settings.pipeline_depth > 0;
    let writes = at.pool.settings.pipeline_writes;
    for (job, ticket) in batch {
        let Submission { id, op, timeout_ms, .. } = job;
        let op = match ticket.waiter() {
            Some(waiter) if pipelining && pipeline::eligible(&op, timeout_ms, writes) => {
                let slot: JobSlot = Arc::new(Mutex::new(Some(PipeJob { id, op, asked: ticket.asked_at() })));
                if at.pool.offer(waiter, Arc::as_ptr(&at) as usize, slot.clone()) {
                    Source::Offered(slot, None)
                } else {
                    // Served meanwhile: it runs on its own.
                    match pipeline::take(&slot) {
                        Some(j) => Source::Own(j.op),
                        None => continue,
                    }
                }
            }
            _ => Source::Own(op),
        };
        runtime::spawn_here(Box::pin(pool_command(at.clone(), id, op, timeout_ms, ticket)));
    }
}

/// One per NativePool: takes each request's place in the pool's queue in
/// the order JS made them, then lets the rest run concurrently.
pub(crate) async fn route(at: Arc<Attachment>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Routed>) {
    let (pool, completions, lent) = (&at.pool, &at.completions, &at.lent);
    while let Some(msg) = rx.recv().await {
        match msg {
            Routed::GiveBack(conn_id, destroy) => {
                // Queued behind the connection's pending commands, so they finish first.
                let sent = lock(lent)
                    .map
                    .remove(&conn_id)
                    .is_some_and(|e| e.tx.send(if destroy { ConnJob::Destroy } else { ConnJob::Release }).is_ok());
                if !destroy && !sent {
                    // JS counted a release that will not come (the worker is gone).
                    pool.returned_now();
                }
            }
            Routed::GetConnection(id, conn_id, ticket) => {
                let at = at.clone();
                runtime::spawn_here(guarded(completions.clone(), id, async move {
                    let got = match at.pool.finish_acquire(ticket).await {
                        Ok(c) => first_use(c, &at).await,
                        // A release() on the JS thread served it (lib.rs hand_over).
                        Err(e) if e.code == crate::pool::codes::HANDED_OVER => return None,
                        Err(e) => Err(e),
                    };
                    match got {
                        Ok(c) => {
                            let thread_id = c.thread_id();
                            if let Err(c) = start_lent(&at, conn_id, c, None) {
                                at.pool.release(c, true, false).await;
                                return Some(Payload::Error(ErrInfo::closed()));
                            }
                            Some(Payload::Conn { conn_id, thread_id })
                        }
                        Err(e) => Some(Payload::Error(e)),
                    }
                }));
            }
            Routed::Batch(batch) => {
                for job in batch {
                    let Submission { id, conn_id, op, timeout_ms, error } = job;
                    if let Some(e) = error {
                        completions.push(Completion { id, payload: Payload::Error(e) });
                        continue;
                    }
                    // HandBack ends JS's use of a connection it was shown.
                    let tx = if matches!(op, Op::HandBack) {
                        lock(lent).map.remove(&conn_id).map(|e| e.tx)
                    } else {
                        lock(lent).map.get(&conn_id).map(|e| e.tx.clone())
                    };
                    let sent = tx.map(|tx| tx.send(ConnJob::Run(id, op, timeout_ms)));
                    if !matches!(sent, Some(Ok(()))) {
                        completions.push(Completion {
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
