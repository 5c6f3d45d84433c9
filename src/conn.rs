//! One physical connection and what is done to it alone (HikariCP's
//! PoolBase): open it within connectTimeout, validate it with a ping, reset
//! its session (COM_RESET_CONNECTION plus the 'connection' listeners'
//! statements again), roll back a transaction left open. The pool (pool.rs)
//! decides when; this file knows how.
use crate::error::{self, ErrInfo};
use crate::pool::Pool;
use futures_util::FutureExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Weak;
use std::time::{Duration, Instant};

const SERVER_STATUS_IN_TRANS: u16 = 0x0001;

/// `fut` within `limit` (None: no limit); None when the time ran out. The
/// one place an optional deadline is applied.
pub(crate) async fn within<F: Future>(limit: Option<Duration>, fut: F) -> Option<F::Output> {
    match limit {
        Some(t) => tokio::time::timeout(t, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// Opens a connection (handshake, TLS, setup statements) within `limit`.
pub(crate) async fn open(opts: &Opts, limit: Option<Duration>) -> Result<Conn, ErrInfo> {
    // A panic in mysql_async's handshake (what a server answers decides the
    // path) is this attempt's error: unwound further, it would skip the
    // pool's count of connections being opened and leave that place taken.
    let attempt = AssertUnwindSafe(Conn::new(opts.clone())).catch_unwind();
    match within(Some(limit.unwrap_or(Duration::from_secs(3600))), attempt).await {
        Some(Ok(Ok(conn))) => Ok(conn),
        Some(Ok(Err(e))) => Err(error::from_mysql(&e, true)),
        Some(Err(panic)) => {
            let mut e = error::from_panic(panic);
            e.handshake = true;
            Err(e)
        }
        None => {
            // mysql2's connectTimeout error (JS adds its errorno and syscall).
            let mut e = ErrInfo::new("ETIMEDOUT", "connect ETIMEDOUT").fatal();
            e.handshake = true;
            Err(e)
        }
    }
}

/// A connection's place in the pool's counts (`total`, and `active` while
/// lent). The pool disarms it when it takes the connection back or closes
/// it; dropped armed (a task that panicked, a waiter that went away with a
/// connection in its channel) it gives the place back itself, so a failure
/// can cost a connection but never shrink the pool for good.
pub struct Slot {
    pub(crate) pool: Weak<Pool>,
    pub(crate) armed: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.armed {
            if let Some(pool) = self.pool.upgrade() {
                pool.slot_lost();
            }
        }
    }
}

pub struct PooledConn {
    pub conn: Conn,
    pub(crate) slot: Slot,
    /// Pool-local sequence number; seeds the lifetime jitter.
    pub id: u64,
    /// Back in the pool, its answer not yet handed to JS: the caller whose
    /// answer it carries will want it next (see `delivered`).
    pub undelivered: bool,
    pub(crate) expires: Option<Instant>,
    pub(crate) last_used: Instant,
    /// Set when an error left the connection unusable.
    pub broken: bool,
    /// The session's client character set: the `charset` option, then what
    /// the server reports after a SET NAMES (see `track_session`).
    pub charset: crate::charset::Charset,
    /// Not used yet: JS may want to see it first ('connection' event).
    pub fresh: bool,
    /// Statements 'connection' listeners ran on it (sql, positional params),
    /// run again after each session reset.
    pub replay: Vec<(String, Vec<mysql_async::Value>)>,
    /// The session's max_allowed_packet once a large command asked
    /// (ops::fits_packet); 0 until then. The server caps it at 1 GiB.
    pub max_packet: u32,
}

impl PooledConn {
    pub fn thread_id(&self) -> u32 {
        self.conn.id()
    }

    /// Ends this connection's claim on the pool's counts (the caller
    /// updates them).
    pub(crate) fn disarm(&mut self) {
        self.slot.armed = false;
    }

    /// Follows character_set_client as the server reports it in OK packets
    /// (session tracking), as mysql2 does: SQL and string parameters are
    /// then encoded in the session's set. Unknown sets are ignored, as there.
    pub fn track_session(&mut self) {
        let Some(ok) = self.conn.last_ok_packet() else { return };
        if ok.session_state_info_ref().is_none() {
            return;
        }
        let Ok(infos) = ok.session_state_info() else { return };
        for info in infos {
            if let Ok(mysql_async::SessionStateChange::SystemVariables(vars)) = info.decode() {
                for v in vars {
                    if v.name_bytes() == b"character_set_client" {
                        let name = String::from_utf8_lossy(v.value_bytes()).to_ascii_lowercase();
                        let cs = crate::charset::of_name(&name);
                        if !matches!(cs, crate::charset::Charset::Unsupported(_)) {
                            self.charset = cs;
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn in_transaction(&self) -> bool {
        self.conn.last_ok_packet().map(|ok| ok.status_flags().bits() & SERVER_STATUS_IN_TRANS != 0).unwrap_or(false)
    }
}

impl PooledConn {
    /// A ping answered within `limit`.
    pub(crate) async fn validate(&mut self, limit: Duration) -> bool {
        matches!(within(Some(limit), self.conn.ping()).await, Some(Ok(())))
    }

    /// COM_RESET_CONNECTION (mysql_async runs the setup list again: SET
    /// NAMES, initSql), then what 'connection' listeners ran, which belongs
    /// to the session like initSql. False: the connection is unusable.
    pub(crate) async fn reset_session(&mut self, limit: Duration, charset: crate::charset::Charset) -> bool {
        matches!(within(Some(limit), self.reset(charset)).await, Some(Ok(())))
    }

    /// The reset itself (also conn.reset(), whose caller gets the error).
    /// `charset`: the pool's, which the setup list sets again.
    pub(crate) async fn reset(&mut self, charset: crate::charset::Charset) -> Result<(), mysql_async::Error> {
        if !self.conn.reset().await? {
            // MariaDB before 10.2.4 or MySQL before 5.7.3: what they answer
            // COM_RESET_CONNECTION (mysql2 sends it anyway).
            return Err(mysql_async::Error::Server(mysql_async::ServerError {
                code: 1047,
                message: "Unknown command".into(),
                state: "08S01".into(),
            }));
        }
        self.charset = charset;
        for (sql, params) in &self.replay {
            if params.is_empty() {
                self.conn.query_drop(sql.as_str()).await?;
            } else {
                self.conn.exec_drop(sql.as_str(), params.clone()).await?;
            }
        }
        Ok(())
    }

    /// ROLLBACK of a transaction a single statement left open.
    pub(crate) async fn rollback(&mut self, limit: Duration) -> bool {
        matches!(within(Some(limit), self.conn.query_drop("ROLLBACK")).await, Some(Ok(_)))
    }
}

/// Spreads expiry so connections opened together do not all close together
/// (up to 10% earlier than maxLifetime).
pub(crate) fn jittered(life: Duration, seed: u64) -> Duration {
    let nanos = Instant::now().elapsed().subsec_nanos() as u64 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let x = nanos.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33;
    let frac = (x % 1000) as f64 / 10_000.0; // 0 .. 0.1
    life.mul_f64(1.0 - frac)
}
