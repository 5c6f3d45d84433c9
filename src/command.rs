//! Runs one command on one connection, with every deadline that can stop it
//! in one place: the query `timeout` (mysql2's: the promise rejects, the
//! command runs on), `socketTimeout` (no packet for that long: cut) and
//! end()'s grace period (cut). Counts it in the metrics.
use crate::attachment::Attachment;
use crate::boundary::{Completion, Payload};
use crate::convert;
use crate::error::{self, ErrInfo};
use crate::metrics::Metrics;
use crate::ops::{self, Op};
use crate::pool::{Pool, PooledConn};
use std::time::{Duration, Instant};

const QUERY_TIMEOUT_MSG: &str = "Query inactivity timeout";

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Why a command was stopped before it finished.
pub(crate) enum Cut {
    /// No packet from the server for `socketTimeout`.
    Silent(Duration),
    /// end()'s grace period ran out.
    Killed,
}

impl Cut {
    /// What the command's caller gets.
    pub(crate) fn error(&self) -> ErrInfo {
        match self {
            Cut::Silent(t) => ErrInfo::new(
                "PROTOCOL_SEQUENCE_TIMEOUT",
                format!("Socket inactivity timeout: no data from the server for {} ms (socketTimeout)", t.as_millis()),
            ),
            Cut::Killed => ErrInfo::new(
                "POOL_CLOSED",
                "Pool is closed: the command did not finish within endTimeout and was cut off.",
            ),
        }
        .fatal()
    }
}

/// Runs one command. Returns its answer, or None when the answer was
/// already sent (a query `timeout`: as in mysql2 the promise rejects at the
/// deadline while the command keeps running, so the connection stays usable
/// for what is queued behind it).
pub(crate) async fn run_op(at: &Attachment, c: &mut PooledConn, op: &Op, timeout_ms: f64, id: u32) -> Option<Payload> {
    let (pool, completions) = (&at.pool, &at.completions);
    let t0 = Instant::now();
    let mut sink = |set: usize, rows: convert::RowBatch| {
        completions.push(Completion { id, payload: Payload::Chunk(set as u32, rows) });
    };
    let json = &*at.json;
    let gate = match op {
        Op::Query(_, fl) | Op::Execute(_, _, fl) if fl & convert::flags::STREAM != 0 => {
            Some(completions.open_stream(id))
        }
        _ => None,
    };
    // DDL (through query() or, as Drizzle's migrator sends it, execute())
    // may change which columns are JSON; even a failed statement may have.
    // JS's SQL tokenizer decides (lib/sql.js isDdl): one lexer, not two.
    let ddl = matches!(op, Op::Query(_, fl) | Op::Execute(_, _, fl) if fl & convert::flags::DDL != 0);
    let activity = ops::Activity::new(pool.settings.socket_timeout.is_some());
    let charset = c.charset;
    let reset_charset = pool.settings.charset;
    let fut = async {
        let gate = gate.as_deref();
        let activity = &activity;
        match op {
            Op::Query(sql, flags) => {
                let r = ops::Reading { flags: *flags, json, gate, sink: &mut sink, activity, charset };
                ops::query(&mut c.conn, &mut c.max_packet, sql, r).await
            }
            Op::Execute(sql, params, flags) => {
                let r = ops::Reading { flags: *flags, json, gate, sink: &mut sink, activity, charset };
                ops::execute(&mut c.conn, &mut c.max_packet, sql, params, r).await
            }
            Op::Ping => {
                use mysql_async::prelude::Queryable;
                c.conn.ping().await.map(|_| Vec::new())
            }
            Op::Prepare(sql) => {
                use mysql_async::prelude::Queryable;
                c.conn.prep(&**sql).await.map(|_| Vec::new())
            }
            Op::Reset => c.reset(reset_charset).await.map(|_| Vec::new()),
            // Only meaningful to conn_worker; nothing to run.
            Op::HandBack => Ok(Vec::new()),
        }
    };
    let query_deadline = (timeout_ms > 0.0).then(|| t0 + Duration::from_micros((timeout_ms.min(1e12) * 1000.0) as u64));
    let mut answered = false;
    let on_deadline = || {
        answered = true;
        // A stream must not stay paused on a command JS gave up on.
        completions.close_stream(id);
        pool.metrics.error("PROTOCOL_SEQUENCE_TIMEOUT");
        let e = ErrInfo::new("PROTOCOL_SEQUENCE_TIMEOUT", QUERY_TIMEOUT_MSG);
        completions.push(Completion { id, payload: Payload::Error(e) });
    };
    // The command's borrow of the connection ends with `fut`.
    let res = within_deadlines(fut, pool, &activity, query_deadline, on_deadline).await;
    if gate.is_some() {
        completions.close_stream(id);
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
            // (Except a refused LOCAL INFILE request, answered in step.)
            c.broken |=
                info.fatal || (matches!(e, mysql_async::Error::Driver(_)) && info.code != error::LOCAL_INFILE_CODE);
            // Not `fatal` (mysql2 does not set it for a server's error packet),
            // but the server hangs up right after it.
            c.broken |= info.errno.is_some_and(error::ends_connection);
            if info.errno.is_some_and(error::means_failover) && !c.broken {
                // This endpoint now leads to a read-only or departing server:
                // a new connection finds the new primary (mysql2 3.17 does the
                // same for Aurora). Not returned to the pool.
                c.broken = true;
                Metrics::inc(&pool.metrics.failover_closed);
            }
            pool.metrics.error(&info.code);
            Payload::Error(info)
        }
        Err(cut) => {
            // The command is cut mid-flight; the connection cannot be reused.
            c.broken = true;
            let info = cut.error();
            pool.metrics.error(&info.code);
            Payload::Error(info)
        }
    };
    (!answered).then_some(payload)
}

/// Runs `fut` unless socketTimeout passes with no packet from the server
/// (`activity`) or end()'s grace period runs out: then it is dropped
/// mid-flight and the connection is unusable. At `query_deadline` (mysql2's
/// query `timeout`) `on_deadline` runs once and the command goes on.
pub(crate) async fn within_deadlines<F: std::future::Future>(
    fut: F,
    pool: &Pool,
    activity: &ops::Activity,
    query_deadline: Option<Instant>,
    mut on_deadline: impl FnMut(),
) -> Result<F::Output, Cut> {
    let silent_limit = pool.settings.socket_timeout;
    let mut killed = pool.killed();
    let mut deadline_passed = false;
    tokio::pin!(fut);
    loop {
        let silent_at = silent_limit.map(|t| activity.last() + t);
        tokio::select! {
            r = &mut fut => break Ok(r),
            _ = sleep_until(query_deadline), if !deadline_passed && query_deadline.is_some() => {
                deadline_passed = true;
                on_deadline();
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
}
