//! Credentials asked of JS for every new connection, when `user` or
//! `password` is a function (AWS RDS IAM tokens, Vault leases, TiDB Cloud
//! rotation). The request crosses to the JS thread that created the pool as
//! a completion; JS calls the functions (they may return promises) and
//! answers through NativePool::provide_credentials / fail_credentials. The
//! values are used for that one handshake and kept nowhere.
use crate::error::ErrInfo;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// (user, password) for one connection; None keeps the configured one.
pub type Answer = Result<(Option<String>, Option<String>), ErrInfo>;

/// Sends a request to JS (a completion); false when that thread is gone.
/// Boxed so the pool does not depend on the napi types behind it.
pub type Ask = Box<dyn Fn(u32) -> bool + Send + Sync>;

pub struct Credentials {
    ask: Ask,
    pending: Mutex<HashMap<u32, oneshot::Sender<Answer>>>,
    next: AtomicU32,
}

pub const CODE: &str = "ERR_CREDENTIALS";

impl Credentials {
    pub fn new(ask: Ask) -> Self {
        Credentials { ask, pending: Mutex::new(HashMap::new()), next: AtomicU32::new(0) }
    }

    /// Asks JS; the caller bounds the wait (connectTimeout).
    pub async fn fetch(&self) -> Answer {
        let id = self.next.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        if !(self.ask)(id) {
            lock(&self.pending).remove(&id);
            return Err(ErrInfo::new(CODE, "The thread that supplies the credentials has ended."));
        }
        let answer = rx.await;
        lock(&self.pending).remove(&id);
        answer.unwrap_or_else(|_| Err(ErrInfo::new(CODE, "The credentials request was dropped.")))
    }

    pub fn answer(&self, id: u32, answer: Answer) {
        if let Some(tx) = lock(&self.pending).remove(&id) {
            let _ = tx.send(answer);
        }
    }
}
