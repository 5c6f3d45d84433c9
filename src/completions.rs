//! Finished work on its way to the JS thread: completions queue here and one
//! threadsafe-function call wakes JS when the queue turns non-empty; JS
//! takes them in bounded drains. Also the credit JS's streams give back.
//! (Direction: native -> JS. Commands go the other way through dispatch.rs.)
use crate::boundary::{self, Completion};
use crate::sync::lock;
use crate::wake::Waker;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Completed work waiting for the JS thread, and the credit that thread's
/// streams give back (see `stream_ack`).
pub(crate) struct Completions {
    pub(crate) queue: Mutex<Queue>,
    pub(crate) wake: Waker,
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

    pub(crate) fn push(self: &Arc<Self>, c: Completion) {
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
        self.wake.wake();
        (list, conns)
    }

    /// Runs `give_back` (which may hand the answering connection to the next
    /// waiter) and queues `c`, both under the queue's lock: an answer of a
    /// command that got the connection after this one cannot be queued
    /// first (answers settle in the order the server gave them, as in
    /// mysql2), and JS never sees this answer before the connection is back.
    pub(crate) fn push_with(self: &Arc<Self>, c: Completion, conn: u64, give_back: impl FnOnce()) {
        let len = {
            let mut q = lock(&self.queue);
            give_back();
            q.list.push(c);
            q.conns.push(conn);
            q.list.len()
        };
        self.pushed(len);
    }

    /// `conn`: the pooled connection that answered (already back in the pool).
    pub(crate) fn push_from(self: &Arc<Self>, c: Completion, conn: Option<u64>) {
        let len = {
            let mut q = lock(&self.queue);
            q.list.push(c);
            if let Some(conn) = conn {
                q.conns.push(conn);
            }
            q.list.len()
        };
        self.pushed(len);
    }

    /// One wake-up per empty->non-empty transition; JS drains everything.
    /// On a runtime worker that wake-up waits until the worker runs out of
    /// work (see `Deferred`), DEFER_MAX answers queue, or DEFER_MAX_AGE passes.
    fn pushed(self: &Arc<Self>, len: usize) {
        if len == 1 {
            if !defer(self) {
                self.wake.wake();
            }
        } else if len == DEFER_MAX {
            flush_deferred();
        }
    }
}

// ---- wake-ups put off until the worker runs out of work ---------------------
//
// Waking JS the moment an answer is queued makes the two threads take turns
// per answer: on a small machine the woken JS thread preempts the worker (or
// takes an inter-processor interrupt to start elsewhere), drains one answer,
// sleeps, and the worker resumes. Waking it once the worker has nothing
// ready (tokio's before-park hook) hands JS every answer of that burst in one
// drain. Bounds keep a busy worker from holding answers back: DEFER_MAX
// queued answers, or DEFER_MAX_AGE since the first (looked at after every
// poll of this crate's tasks, runtime::checked: every push happens inside one).

/// Queued answers that wake JS at once, deferred or not.
const DEFER_MAX: usize = 32;
/// The longest a deferred wake-up waits while the worker stays busy.
const DEFER_MAX_AGE: Duration = Duration::from_micros(200);

thread_local! {
    /// Set on a runtime worker by its first park (blocking-pool threads and
    /// the JS thread never park there, so they always wake at once).
    static WORKER: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: RefCell<Deferred> = RefCell::new(Deferred::default());
}

/// This thread's put-off wake-ups: one per pool, and when the first was put off.
#[derive(Default)]
struct Deferred {
    wakes: Vec<Arc<Completions>>,
    since: Option<Instant>,
}

impl Deferred {
    /// The oldest put-off wake-up has waited DEFER_MAX_AGE.
    fn is_stale(&self) -> bool {
        matches!(self.since, Some(t) if t.elapsed() >= DEFER_MAX_AGE)
    }
}

/// Puts `c`'s wake-up off when on a runtime worker; false = wake now.
/// (A thread being torn down has no thread-locals left: it wakes at once.)
fn defer(c: &Arc<Completions>) -> bool {
    if !WORKER.try_with(Cell::get).unwrap_or(false) {
        return false;
    }
    DEFERRED
        .try_with(|d| {
            let mut d = d.borrow_mut();
            if !d.wakes.iter().any(|w| Arc::ptr_eq(w, c)) {
                d.wakes.push(c.clone());
            }
            d.since.get_or_insert_with(Instant::now);
        })
        .is_ok()
}

/// Wakes JS for every pool whose wake-up this thread put off.
pub(crate) fn flush_deferred() {
    let Ok(mut wakes) = DEFERRED.try_with(|d| {
        let mut d = d.borrow_mut();
        d.since = None;
        std::mem::take(&mut d.wakes)
    }) else {
        return;
    };
    if wakes.is_empty() {
        return;
    }
    for c in wakes.drain(..) {
        c.wake.wake();
    }
    // Keep the list's allocation for the next burst.
    let _ = DEFERRED.try_with(|d| {
        let mut d = d.borrow_mut();
        if d.wakes.is_empty() {
            d.wakes = wakes;
        }
    });
}

/// flush_deferred() once the oldest put-off wake-up is DEFER_MAX_AGE old.
pub(crate) fn flush_stale() {
    let stale = DEFERRED.try_with(|d| d.borrow().is_stale()).unwrap_or(false);
    if stale {
        flush_deferred();
    }
}

/// tokio's before-park hook: this worker has nothing ready; JS gets its answers.
pub(crate) fn worker_parking() {
    let _ = WORKER.try_with(|w| w.set(true));
    flush_deferred();
}
