//! Pipelining: pool query()s and execute()s that wait for a connection ride
//! one that is free now. When a pool command finishes and the queue's head
//! holds commands that may ride, its task takes up to `pipelining` of them
//! (`Pool::adopt`), writes them all, then reads their answers in order
//! (ops::run_pipelined) before the connection goes back. The server reads
//! several commands per wake-up and the client several answers per read:
//! less CPU on both sides per statement, which is what limits a busy pool
//! on a small machine. Only commands that need nothing of a connection of
//! their own ride (`eligible`): no query `timeout`, no stream, no DDL, small,
//! and nothing JS marked ALONE (LOAD, a character-set change, several
//! statements); by default only plain SELECTs (REPLAYABLE), which go back to
//! the queue if the connection is lost while they wait behind another.
use crate::attachment::Attachment;
use crate::boundary::{Completion, Payload};
use crate::command::{within_deadlines, Cut};
use crate::convert::{self, ResultSet};
use crate::error::{self, ErrInfo};
use crate::metrics::Metrics;
use crate::ops::{self, Op, Param, PipeOut, PipeStop, Piped};
use crate::pool::PooledConn;
use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A queued pool command that another command's connection may run: its
/// task takes the op back when the pool serves it normally, an adopting
/// pipeline takes it otherwise (one of the two, under the slot's lock).
pub(crate) type JobSlot = Arc<Mutex<Option<PipeJob>>>;

pub(crate) struct PipeJob {
    pub(crate) id: u32,
    pub(crate) op: Op,
    /// When JS asked (for traced commands' waits).
    pub(crate) asked: Instant,
}

/// SQL or values larger than this never ride (mysql_async sends very large
/// values as commands of their own, which cannot be pipelined; and a big
/// command gains nothing from sharing a write).
const VALUE_BYTES_MAX: usize = 64 << 10;

/// Whether a pool command may ride another's connection: with `writes` off
/// (the default) only one that may run twice does, so that a lost
/// connection fails no more commands than it would without pipelining.
pub(crate) fn eligible(op: &Op, timeout_ms: f64, writes: bool) -> bool {
    let (params, flags): (&[Param], u32) = match op {
        Op::Execute(_, params, flags) => (params, *flags),
        Op::Query(sql, flags) => (&[], *flags | if sql.len() > VALUE_BYTES_MAX { convert::flags::ALONE } else { 0 }),
        _ => return false,
    };
    if timeout_ms > 0.0 || flags & (convert::flags::STREAM | convert::flags::DDL | convert::flags::ALONE) != 0 {
        return false;
    }
    if !writes && flags & convert::flags::REPLAYABLE == 0 {
        return false;
    }
    let mut bytes = 0usize;
    for p in params {
        bytes += match p {
            Param::Bytes(b) => b.len(),
            Param::Text(t) => t.len(),
            _ => 8,
        };
    }
    bytes <= VALUE_BYTES_MAX
}

/// Jobs of a pipeline to run elsewhere: none was written (the peer had
/// closed, or unread bytes were waiting), or they were written behind the
/// one running when the connection was lost and may run twice.
pub(crate) struct Unsent {
    pub(crate) jobs: Vec<PipeJob>,
}

/// Runs adopted `jobs` on `c`, pushing each answer as it is read. A failure
/// that leaves the stream unusable marks `c` broken and answers the jobs
/// still waiting, except those it hands back: all when none was written,
/// else the replayable ones behind the first.
pub(crate) async fn run(at: &Attachment, c: &mut PooledConn, jobs: Vec<PipeJob>) -> Option<Unsent> {
    let (pool, completions) = (&at.pool, &at.completions);
    // piped[i] is jobs[index[i]]; answered[j] tells whether jobs[j] has its answer.
    let mut index = Vec::with_capacity(jobs.len());
    let mut piped = Vec::with_capacity(jobs.len());
    let mut answered = vec![false; jobs.len()];
    for (j, job) in jobs.iter().enumerate() {
        let p = match &job.op {
            Op::Execute(sql, params, flags) => Piped { sql, params: Some(params), flags: *flags },
            Op::Query(sql, flags) => Piped { sql, params: None, flags: *flags },
            _ => {
                // eligible() lets only query()s and execute()s in; anything
                // else is answered, never left waiting.
                if let Some(done) = answered.get_mut(j) {
                    *done = true;
                }
                let e = ErrInfo::new(
                    "ERR_NATIVE_PANIC",
                    "internal error in napi-mysql-pool: a command that cannot be pipelined was",
                );
                completions.push(Completion { id: job.id, payload: Payload::Error(e) });
                continue;
            }
        };
        if p.flags & convert::flags::POOL_WAIT != 0 {
            let us = job.asked.elapsed().as_secs_f64() * 1e6;
            completions.push(Completion { id: job.id, payload: Payload::Waited(us) });
        }
        index.push(j);
        piped.push(p);
    }
    let ids: Vec<u32> = index.iter().filter_map(|&j| jobs.get(j).map(|job| job.id)).collect();
    let t0 = Instant::now();
    let activity = ops::Activity::new(pool.settings.socket_timeout.is_some());
    let charset = c.charset;
    let res = {
        let mut answer = |i: usize, r: mysql_async::Result<Vec<ResultSet>>| {
            let (Some(&id), Some(done)) = (ids.get(i), index.get(i).and_then(|&j| answered.get_mut(j))) else { return };
            *done = true;
            let payload = match r {
                Ok(sets) => Payload::Results(sets),
                Err(e) => {
                    let info = error::from_mysql(&e, false);
                    pool.metrics.error(&info.code);
                    Payload::Error(info)
                }
            };
            Metrics::inc(&pool.metrics.queries);
            Metrics::inc(&pool.metrics.released);
            completions.push(Completion { id, payload });
        };
        let mut chunk = |i: usize, set: usize, rows: convert::RowBatch| {
            if let Some(&id) = ids.get(i) {
                completions.push(Completion { id, payload: Payload::Chunk(set as u32, rows) });
            }
        };
        let out = PipeOut { answer: &mut answer, chunk: &mut chunk };
        let fut = ops::run_pipelined(&mut c.conn, &piped, &at.json, &activity, charset, out);
        within_deadlines(fut, pool, &activity, None, || {}).await
    };
    pool.metrics.query_time.observe(t0.elapsed());
    drop(piped);
    let (info, replay) = match res {
        Ok(None) => {
            c.track_session();
            return None;
        }
        Ok(Some(PipeStop::Unwritten)) => (None, true),
        Ok(Some(PipeStop::Lost(e))) => (Some(error::from_mysql(&e, false).fatal()), true),
        Err(cut @ Cut::Silent(_)) => (Some(cut.error()), true),
        // end() ran out of time: nothing goes back to a closing pool.
        Err(cut @ Cut::Killed) => (Some(cut.error()), false),
    };
    c.broken = true;
    let waiting = jobs.into_iter().zip(answered).filter(|(_, done)| !*done).map(|(j, _)| j);
    let Some(info) = info else {
        return Some(Unsent { jobs: waiting.collect() });
    };
    // The first unanswered command was the one the server was running: it
    // fails, as the one command on a lost connection fails in mysql2. Those
    // behind it would still be waiting for a connection there; the ones
    // that may run twice (a plain SELECT, lib/replayable.js) go back to the
    // queue, the rest fail with it.
    let mut again = Vec::new();
    pool.metrics.error(&info.code);
    for (k, job) in waiting.enumerate() {
        if replay && k > 0 && job.op.flags() & convert::flags::REPLAYABLE != 0 {
            again.push(job);
            continue;
        }
        Metrics::inc(&pool.metrics.released);
        completions.push(Completion { id: job.id, payload: Payload::Error(info.clone()) });
    }
    (!again.is_empty()).then_some(Unsent { jobs: again })
}

/// Takes a job's op back for its own task (None: a pipeline took it).
pub(crate) fn take(slot: &JobSlot) -> Option<PipeJob> {
    lock(slot).take()
}
