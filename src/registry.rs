//! Pools shared by name across worker threads of one process, and what a
//! thread leaving (end(), GC, worker.terminate()) gives back.
use crate::attachment::Attachment;
use crate::json_columns::JsonColumns;
use crate::pool::Pool;
use crate::runtime;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Pools shared by name across worker threads of one process: the native
/// pool (connections, queue, counters) is process-wide; each thread attaches
/// with its own completions. The pool closes when its last attachment ends.
pub(crate) struct SharedEntry {
    pub(crate) pool: Arc<Pool>,
    pub(crate) json: Arc<JsonColumns>,
    pub(crate) fingerprint: String,
    pub(crate) attached: usize,
}

pub(crate) static SHARED: once_cell::sync::Lazy<Mutex<HashMap<String, SharedEntry>>> =
    once_cell::sync::Lazy::new(|| Mutex::new(HashMap::new()));

/// Drops one thread's attachment to a (shared) pool, once; true if it was
/// the last one, so the pool itself should close.
pub(crate) fn detach(pool: &Arc<Pool>, share: Option<&str>, detached: &AtomicBool) -> bool {
    if detached.swap(true, Ordering::AcqRel) {
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

/// Closes a pool whose last attachment ended: the pool (waiters failed,
/// idle closed, lent ones get `grace`), then its JSON-column side connection.
pub(crate) async fn close(pool: &Arc<Pool>, json: &JsonColumns, grace: Duration) {
    pool.end(grace).await;
    json.close().await;
}

/// What a thread's env teardown (worker.terminate(), thread exit) must
/// reclaim at once, held weakly so an ended pool is not kept alive.
pub(crate) struct Abandon {
    pub(crate) at: Weak<Attachment>,
    pub(crate) share: Option<String>,
    pub(crate) detached: Arc<AtomicBool>,
}

impl Abandon {
    /// The thread is gone: its paused streams stop pausing, its lent
    /// connections go back after the commands already queued on them, and
    /// the pool closes if no other thread is attached. Other threads never
    /// wait on what the dead one held.
    pub(crate) fn run(self) {
        let Some(at) = self.at.upgrade() else { return };
        for (_, gate) in lock(&at.completions.streams).drain() {
            gate.close();
        }
        at.let_go();
        if detach(&at.pool, self.share.as_deref(), &self.detached) && !at.pool.is_closed() {
            runtime::spawn(async move { close(&at.pool, &at.json, Duration::from_secs(5)).await });
        }
    }
}
