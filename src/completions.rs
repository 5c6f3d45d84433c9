//! Finished work on its way to the JS thread: completions queue here and one
//! threadsafe-function call wakes JS when the queue turns non-empty; JS
//! takes them in bounded drains. Also the credit JS's streams give back.
//! (Direction: native -> JS. Commands go the other way through dispatch.rs.)
use crate::boundary::{self, Completion};
use crate::sync::lock;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) type Wake = ThreadsafeFunction<u32, (), u32, Status, false>;

/// Completed work waiting for the JS thread, and the credit that thread's
/// streams give back (see `stream_ack`).
pub(crate) struct Completions {
    pub(crate) queue: Mutex<Queue>,
    pub(crate) wake: Wake,
    /// Streaming commands by id: after each chunk the command waits for a
    /// permit, which JS adds when its stream wants more rows.
    pub(crate) streams: Mutex<HashMap<u32, Arc<tokio::sync::Semaphore>>>,
}

/// Completions, and the pooled connections (Pool-local ids) that answered
/// pool.query/execute commands among them, in answer order.
#[derive(Default)]
pub(crate) struct Queue {
    list: Vec<Completion>,
    conns: Vec<u64>,
}

impl Completions {
    pub(crate) fn open_stream(&self, id: u32) -> Arc<tokio::sync::Semaphore> {
        // One permit: the next chunk may be read while JS holds the last one.
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        lock(&self.streams).insert(id, gate.clone());
        gate
    }

    pub(crate) fn close_stream(&self, id: u32) {
        if let Some(gate) = lock(&self.streams).remove(&id) {
            gate.close();
        }
    }

    pub(crate) fn push(&self, c: Completion) {
        self.push_from(c, None)
    }

    /// The next completions for JS, within boundary::DRAIN_BYTES (at least
    /// one); what is left gets a wake-up of its own.
    pub(crate) fn take(&self) -> (Vec<Completion>, Vec<u64>) {
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

    /// Runs `give_back` (which may hand the answering connection to the next
    /// waiter) and queues `c`, both under the queue's lock: an answer of a
    /// command that got the connection after this one cannot be queued
    /// first (answers settle in the order the server gave them, as in
    /// mysql2), and JS never sees this answer before the connection is back.
    pub(crate) fn push_with(&self, c: Completion, conn: u64, give_back: impl FnOnce()) {
        let first = {
            let mut q = lock(&self.queue);
            give_back();
            q.list.push(c);
            q.conns.push(conn);
            q.list.len() == 1
        };
        if first {
            self.wake.call(0, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// `conn`: the pooled connection that answered (already back in the pool).
    pub(crate) fn push_from(&self, c: Completion, conn: Option<u64>) {
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
