//! Lent connections (getConnection(), and a new connection shown to a
//! 'connection' listener): one worker task per connection runs its commands
//! in the order JS sent them, as mysql2 queues them, until release/destroy.
use crate::attachment::Attachment;
use crate::boundary::{Completion, Payload};
use crate::command::run_op;
use crate::error::{self, ErrInfo};
use crate::ops::Op;
use crate::pool::PooledConn;
use crate::runtime;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Work for a lent connection. Each lent connection has one worker task
/// that runs these in submission order, as mysql2 queues commands.
pub(crate) enum ConnJob {
    Run(u32, Op, f64),
    Release,
    Destroy,
}
pub(crate) type Lent = tokio::sync::mpsc::UnboundedSender<ConnJob>;

/// A lent connection as its JS thread sees it: the way to its worker, and
/// what a release() must know to hand it straight to a waiting
/// getConnection() (lib.rs `hand_over`) without asking the worker.
pub(crate) struct LentEntry {
    pub(crate) tx: Lent,
    pub(crate) thread_id: u32,
    pub(crate) expires: Option<Instant>,
    /// Set by the worker after each command: an error left it unusable.
    pub(crate) broken: Arc<AtomicBool>,
}

impl LentEntry {
    pub(crate) fn new(tx: Lent, c: &PooledConn) -> (LentEntry, Arc<AtomicBool>) {
        let broken = Arc::new(AtomicBool::new(c.broken));
        (LentEntry { tx, thread_id: c.thread_id(), expires: c.expires, broken: broken.clone() }, broken)
    }

    /// Healthy and within its lifetime (pool.rs would lend it again).
    pub(crate) fn reusable(&self) -> bool {
        !self.broken.load(Ordering::Relaxed) && !matches!(self.expires, Some(t) if t <= Instant::now())
    }
}

/// Ids for lent connections, and whether JS wants to see each new connection
/// before its first use (a 'connection' listener: mysql2 hands that event a
/// usable connection, and handlers run SQL such as SET SESSION on it).
pub(crate) struct Lending {
    pub(crate) next_id: std::sync::atomic::AtomicU32,
    pub(crate) announce: std::sync::atomic::AtomicBool,
}

impl Lending {
    pub(crate) fn next(&self) -> u32 {
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
pub(crate) async fn first_use(mut c: PooledConn, at: &Arc<Attachment>) -> std::result::Result<PooledConn, ErrInfo> {
    let lending = &at.lending;
    if !std::mem::take(&mut c.fresh) || !lending.announce.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(c);
    }
    let conn_id = lending.next();
    let thread_id = c.thread_id();
    let (back_tx, back_rx) = tokio::sync::oneshot::channel();
    if let Err(c) = start_lent(at, conn_id, c, Some(back_tx)) {
        at.pool.release(c, false, false).await;
        return Err(ErrInfo::closed());
    }
    at.completions.push(Completion { id: 0, payload: Payload::NewConn { conn_id, thread_id } });
    match back_rx.await {
        Ok(c) if !c.broken => Ok(c),
        Ok(c) => {
            at.pool.destroy(c);
            Err(ErrInfo::new("PROTOCOL_CONNECTION_LOST", "Connection lost in a 'connection' event handler").fatal())
        }
        // The pool ended while JS held it.
        Err(_) => Err(ErrInfo::closed()),
    }
}

/// Registers `c` as this thread's lent connection `conn_id` and starts its
/// worker. Err(c) when the thread has let go (the caller returns it).
pub(crate) fn start_lent(
    at: &Arc<Attachment>,
    conn_id: u32,
    c: PooledConn,
    back: Option<tokio::sync::oneshot::Sender<PooledConn>>,
) -> Result<(), PooledConn> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (entry, broken) = LentEntry::new(tx, &c);
    if !at.lend(conn_id, entry) {
        return Err(c);
    }
    runtime::spawn_here(conn_worker(at.clone(), c, rx, back, broken));
    Ok(())
}

/// Owns one lent connection and runs its commands in order until released.
async fn conn_worker(
    at: Arc<Attachment>,
    mut c: PooledConn,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<ConnJob>,
    mut back: Option<tokio::sync::oneshot::Sender<PooledConn>>,
    broken: Arc<AtomicBool>,
) {
    let (pool, completions) = (&at.pool, &at.completions);
    loop {
        match rx.recv().await {
            Some(ConnJob::Run(id, Op::HandBack, _)) => {
                completions.push(Completion { id, payload: Payload::Done });
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
                    match AssertUnwindSafe(run_op(&at, &mut c, &op, timeout_ms, id)).catch_unwind().await {
                        Ok(p) => p,
                        Err(panic) => {
                            c.broken = true;
                            Some(Payload::Error(error::from_panic(panic)))
                        }
                    }
                };
                // Before the answer is queued: JS, having every answer, sees it.
                broken.store(c.broken, Ordering::Relaxed);
                if let Some(payload) = payload {
                    completions.push(Completion { id, payload });
                }
            }
            Some(ConnJob::Destroy) => return pool.destroy(c),
            Some(ConnJob::Release) => return pool.release(c, true, true).await,
            // The pool's JS side went away (end(), thread exit).
            None => return pool.release(c, true, false).await,
        }
    }
}
