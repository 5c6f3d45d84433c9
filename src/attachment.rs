//! One JS thread's attachment to a pool: everything a command's tasks need
//! to reach, in one value instead of five parameters. The pool (queue and
//! policy) and its MariaDB JSON-column cache are shared by every thread
//! attached to a shared pool; completions, lent connections and their ids
//! are this thread's.
use crate::completions::Completions;
use crate::json_columns::JsonColumns;
use crate::lending::{Lending, LentEntry};
use crate::pool::Pool;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) struct Attachment {
    pub(crate) pool: Arc<Pool>,
    pub(crate) json: Arc<JsonColumns>,
    pub(crate) completions: Arc<Completions>,
    /// Lent connections by JS's id: the sender to each one's worker.
    pub(crate) lent: Mutex<LentConns>,
    pub(crate) lending: Lending,
}

#[derive(Default)]
pub(crate) struct LentConns {
    pub(crate) map: HashMap<u32, LentEntry>,
    /// This thread let go (end(), thread gone): nothing more is lent to it.
    closed: bool,
}

impl Attachment {
    /// Registers a lent connection's worker. False once this thread has let
    /// go: the caller then returns the connection, or it would wait forever
    /// for a release nobody can send (its worker holds this attachment).
    pub(crate) fn lend(&self, conn_id: u32, entry: LentEntry) -> bool {
        let mut l = lock(&self.lent);
        if l.closed {
            return false;
        }
        l.map.insert(conn_id, entry);
        true
    }

    /// The JS side is done: every lent connection goes back after the
    /// commands already queued on it, and none is lent again.
    pub(crate) fn let_go(&self) {
        let mut l = lock(&self.lent);
        l.closed = true;
        l.map.clear();
    }
}
