//! The borrow queue and the policy around it (HikariCP's HikariPool):
//! who gets which connection and when (idle LIFO, waiters FIFO, breaker,
//! limits, counts). One connection's own operations live in conn.rs
//! (PoolBase), the once-a-second task in maintain.rs. Connections are mysql_async `Conn`s; its
//! own Pool is not used because it has no queue limit, no acquire timeout
//! and only a socket peek for validation.
use crate::config::{ResetPolicy, Settings};
pub use crate::conn::PooledConn;
use crate::conn::{self, Slot};
use crate::credentials::Credentials;
use crate::error::{self, ErrInfo};
use crate::metrics::Metrics;
use crate::pipeline::{JobSlot, PipeJob};
use crate::sync::lock;
use mysql_async::Opts;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

pub mod codes {
    pub const CLOSED: &str = crate::error::CLOSED_CODE;
    pub const QUEUE_LIMIT: &str = "POOL_QUEUE_LIMIT";
    pub const NO_CONNECTIONS: &str = "POOL_NO_CONNECTIONS";
    pub const ACQUIRE_TIMEOUT: &str = "POOL_ACQUIRE_TIMEOUT";
    pub const CIRCUIT_OPEN: &str = "POOL_CIRCUIT_OPEN";
    /// Internal, never shown to JS: a waiting getConnection() was served on
    /// the JS thread by a release() (`Pool::hand_over`); its task ends quietly.
    pub const HANDED_OVER: &str = "HANDED_OVER";
    /// Internal, never shown to JS: a waiting pool command was taken into
    /// another command's pipeline (`Pool::adopt`); its task ends quietly.
    pub const PIPELINED: &str = "PIPELINED";
}

pub enum Step {
    Got(PooledConn),
    Connect,
    Wait(u64, oneshot::Receiver<Result<PooledConn, ErrInfo>>),
}

/// An acquisition whose place in line is decided (see `begin_acquire`).
pub struct Ticket {
    step: Result<Step, ErrInfo>,
    start: Instant,
}

impl Ticket {
    /// When the request was made (on the JS thread, in submit()).
    pub fn asked_at(&self) -> Instant {
        self.start
    }

    /// The queue place it holds, if it has to wait.
    pub fn waiter(&self) -> Option<u64> {
        match &self.step {
            Ok(Step::Wait(id, _)) => Some(*id),
            _ => None,
        }
    }
}

/// A queued getConnection(): the JS thread it came from (its attachment's
/// address) and the ids JS gave it, so that a release() on the same thread
/// can hand its connection straight over (`Pool::hand_over`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LendTag {
    pub owner: usize,
    pub js_id: u32,
    pub conn_id: u32,
}

struct Waiter {
    id: u64,
    tx: oneshot::Sender<Result<PooledConn, ErrInfo>>,
    lend: Option<LendTag>,
    asked: Instant,
    /// A pool command another one's connection may run (pipeline.rs), and
    /// the JS thread it came from (its attachment's address): only a task of
    /// that thread may run it, as only that thread can take its answer.
    job: Option<(usize, JobSlot)>,
}

#[derive(Default)]
struct State {
    idle: VecDeque<PooledConn>,
    /// Open plus being opened.
    total: usize,
    connecting: usize,
    active: usize,
    waiters: VecDeque<Waiter>,
    closed: bool,
    breaker_failures: u32,
    breaker_open_until: Option<Instant>,
    next_conn_id: u64,
    next_waiter_id: u64,
    last_connect_error: Option<ErrInfo>,
    /// Lent connections JS has released whose worker has not handed them
    /// back yet: counted as idle (mysql2 frees synchronously), and an
    /// acquisition waits for one rather than taking or opening another, so
    /// sequential code stays on its connection.
    returning: usize,
    /// Server thread ids JS destroyed after releasing them (mysql2 then
    /// closes the pooled connection): closed when they come back.
    doomed: Vec<u32>,
}

/// Counts for stats(), health() and error messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub total: usize,
    /// Lent, including those JS released that are still on their way back.
    pub active: usize,
    pub idle: usize,
    /// Released by JS, not back yet: mysql2's free list already has them.
    pub returning: usize,
    pub connecting: usize,
    pub waiting: usize,
    pub closed: bool,
    pub breaker_open: bool,
}

pub struct Pool {
    state: Mutex<State>,
    pub settings: Settings,
    opts: Opts,
    pub credentials: Option<Credentials>,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    drained: Notify,
    /// Set by end() once its grace period is over: commands still running
    /// are cut (their sockets closed) so every promise settles.
    killed: tokio::sync::watch::Sender<bool>,
}

impl State {
    fn breaker_open(&self, now: Instant) -> bool {
        matches!(self.breaker_open_until, Some(t) if t > now)
    }
}

impl Pool {
    /// `credentials`: ask JS for user/password per connection (see credentials.rs).
    pub fn new(settings: Settings, opts: Opts, credentials: Option<Credentials>) -> Arc<Pool> {
        let metrics = Arc::new(Metrics::default());
        let pool = Arc::new(Pool {
            state: Mutex::new(State::default()),
            settings,
            opts,
            credentials,
            metrics,
            started: Instant::now(),
            drained: Notify::new(),
            killed: tokio::sync::watch::channel(false).0,
        });
        crate::runtime::spawn_here(crate::maintain::maintain(Arc::downgrade(&pool)));
        pool.replenish();
        pool
    }

    pub fn counts(&self) -> Counts {
        let st = lock(&self.state);
        Counts {
            total: st.total,
            active: st.active,
            idle: st.idle.len(),
            returning: st.returning.min(st.active),
            connecting: st.connecting,
            waiting: st.waiters.len(),
            closed: st.closed,
            breaker_open: st.breaker_open(Instant::now()),
        }
    }

    pub fn last_connect_error(&self) -> Option<ErrInfo> {
        lock(&self.state).last_connect_error.clone()
    }

    fn counts_text(st: &State, limit: usize) -> String {
        format!("active {}, idle {}, limit {}, waiting {}", st.active, st.idle.len(), limit, st.waiters.len())
    }

    fn reject(&self, st: &State, code: &str, message: &str) -> ErrInfo {
        Metrics::inc(&self.metrics.rejected);
        self.metrics.error(code);
        ErrInfo::pool(code, message, &Self::counts_text(st, self.settings.limit))
    }

    /// The locked, synchronous half of acquiring: take an idle connection,
    /// reserve a slot to open one, or join the FIFO queue. Callers make this
    /// decision in request order (see lib.rs `submit`), so waiters queue in
    /// the order requests were made.
    pub fn begin_acquire(self: &Arc<Self>) -> Ticket {
        self.begin_acquire_for(None)
    }

    /// `begin_acquire` for a getConnection(): if it has to wait, it waits
    /// tagged, so a release() on its own thread may serve it at once.
    pub fn begin_acquire_for(self: &Arc<Self>, lend: Option<LendTag>) -> Ticket {
        Ticket { step: self.decide(lend), start: Instant::now() }
    }

    fn decide(self: &Arc<Self>, lend: Option<LendTag>) -> Result<Step, ErrInfo> {
        // With `wait`, a step is always returned (joining the queue at worst).
        self.decide_with(true, lend).map(|step| step.unwrap_or(Step::Connect))
    }

    /// An acquisition that takes an idle connection or opens one, but never
    /// queues: None when it would have to wait (a retry must not turn a fast
    /// failure into a wait for acquireTimeout during an outage).
    pub fn begin_acquire_now(self: &Arc<Self>) -> Option<Ticket> {
        match self.decide_with(false, None) {
            Ok(None) => None,
            Ok(Some(step)) => Some(Ticket { step: Ok(step), start: Instant::now() }),
            Err(e) => Some(Ticket { step: Err(e), start: Instant::now() }),
        }
    }

    /// `wait`: whether the caller may join the queue (a retry may not).
    /// Ok(None): the caller would have to queue and `wait` is false.
    fn decide_with(self: &Arc<Self>, wait: bool, lend: Option<LendTag>) -> Result<Option<Step>, ErrInfo> {
        let mut st = lock(&self.state);
        let now = Instant::now();
        if st.closed {
            return Err(self.reject(&st, codes::CLOSED, error::CLOSED_MESSAGE));
        }
        if st.waiters.len() < st.returning {
            // The most recently released connection is on its way back:
            // mysql2 would hand out that one (LIFO), so wait for it.
            return Ok(wait.then(|| self.enqueue(&mut st, lend, now)));
        }
        // LIFO, by the moment JS saw each connection's last answer.
        let pick = st.idle.iter().rposition(|c| !c.undelivered).or(st.idle.len().checked_sub(1));
        if let Some(c) = pick.and_then(|i| st.idle.remove(i)) {
            st.active += 1;
            return Ok(Some(Step::Got(c)));
        }
        let threshold = self.settings.breaker_threshold;
        if threshold > 0 && st.breaker_failures >= threshold {
            if st.breaker_open(now) {
                let msg = "Circuit breaker open: the server is unreachable, failing fast.";
                return Err(self.reject(&st, codes::CIRCUIT_OPEN, msg));
            }
            // Half-open: this request is the one trial; the window re-arms so
            // others fail fast until a connect succeeds (which closes it).
            st.breaker_open_until = Some(now + self.settings.breaker_reset);
        }
        if st.total < self.settings.limit {
            st.total += 1;
            st.connecting += 1;
            Ok(Some(Step::Connect))
        } else if !self.settings.wait_for_connections {
            Err(self.reject(&st, codes::NO_CONNECTIONS, "No connections available."))
        } else if self.settings.queue_limit > 0 && st.waiters.len() >= self.settings.queue_limit {
            Err(self.reject(&st, codes::QUEUE_LIMIT, "Queue limit reached."))
        } else {
            Ok(wait.then(|| self.enqueue(&mut st, lend, now)))
        }
    }

    fn enqueue(&self, st: &mut State, lend: Option<LendTag>, asked: Instant) -> Step {
        let (tx, rx) = oneshot::channel();
        st.next_waiter_id += 1;
        let id = st.next_waiter_id;
        st.waiters.push_back(Waiter { id, tx, lend, asked, job: None });
        Step::Wait(id, rx)
    }

    /// A command a pipeline took from the queue and hands back unwritten
    /// (pipeline.rs `Unsent`): an idle connection if there is one, else the
    /// front of the queue, the place it had; its acquireTimeout still counts
    /// from `asked`.
    pub fn requeue(&self, asked: Instant) -> Ticket {
        let mut st = lock(&self.state);
        let step = if st.closed {
            Err(self.reject(&st, codes::CLOSED, error::CLOSED_MESSAGE))
        } else if let Some(c) = st.idle.pop_back() {
            st.active += 1;
            Ok(Step::Got(c))
        } else {
            let (tx, rx) = oneshot::channel();
            st.next_waiter_id += 1;
            let id = st.next_waiter_id;
            st.waiters.push_front(Waiter { id, tx, lend: None, asked, job: None });
            Ok(Step::Wait(id, rx))
        };
        Ticket { step, start: asked }
    }

    /// A release() on the JS thread `owner`, of a lent connection that is
    /// healthy, unexpired and has nothing left to run: when the caller the
    /// pool would serve next is a getConnection() of that same thread, it
    /// takes this connection now, without a trip through the runtime (as
    /// mysql2 hands a released connection to its oldest waiter in the same
    /// tick). Its queued task is told to end quietly. Never with a reset on
    /// release (the reset must run first), nor on a closed pool.
    pub fn hand_over(&self, owner: usize, thread_id: u32) -> Option<LendTag> {
        if self.settings.reset != ResetPolicy::Never {
            return None;
        }
        let mut st = lock(&self.state);
        // Doomed: a conn.destroy() after an earlier release() asked for it to close.
        if st.closed || st.doomed.contains(&thread_id) {
            return None;
        }
        loop {
            let tag = st.waiters.front()?.lend.filter(|t| t.owner == owner)?;
            let w = st.waiters.pop_front()?;
            // A waiter whose task is gone (its receiver dropped) is skipped,
            // as serve_waiters does.
            if w.tx.send(Err(ErrInfo::new(codes::HANDED_OVER, ""))).is_ok() {
                Metrics::inc(&self.metrics.released);
                Metrics::inc(&self.metrics.acquired);
                self.metrics.acquire_wait.observe(w.asked.elapsed());
                return Some(tag);
            }
        }
    }

    /// Offers queued pool command `waiter` of JS thread `owner` to
    /// pipelines; false when it is no longer queued (served meanwhile: its
    /// task runs it).
    pub fn offer(&self, waiter: u64, owner: usize, job: JobSlot) -> bool {
        let mut st = lock(&self.state);
        match st.waiters.iter_mut().rev().find(|w| w.id == waiter) {
            Some(w) => {
                w.job = Some((owner, job));
                true
            }
            None => false,
        }
    }

    /// Up to `max` commands that JS thread `owner` offered, from the head of
    /// the queue, for a connection that is free now (pipeline.rs). Stops at
    /// the first waiter that was not offered (a getConnection(), a command
    /// that needs a connection of its own) or is another thread's (a shared
    /// pool), so the queue's order is kept. Each taken waiter's task is told
    /// to end quietly.
    pub fn adopt(&self, max: usize, owner: usize) -> Vec<PipeJob> {
        let mut out = Vec::new();
        let mut st = lock(&self.state);
        if st.closed {
            return out;
        }
        while out.len() < max {
            let Some((_, slot)) = st.waiters.front().and_then(|w| w.job.clone()).filter(|(o, _)| *o == owner) else {
                break;
            };
            let Some(w) = st.waiters.pop_front() else { break };
            let Some(job) = lock(&slot).take() else { continue };
            // A waiter whose task is gone is skipped: nobody waits for its answer.
            if w.tx.send(Err(ErrInfo::new(codes::PIPELINED, ""))).is_ok() {
                Metrics::inc(&self.metrics.acquired);
                Metrics::inc(&self.metrics.pipelined);
                self.metrics.acquire_wait.observe(w.asked.elapsed());
                out.push(job);
            }
        }
        out
    }

    /// JS released a lent connection (its worker returns it shortly).
    pub fn note_returning(&self) {
        lock(&self.state).returning += 1;
        // Counted now, as the counts are: a released connection is free.
        Metrics::inc(&self.metrics.released);
    }

    /// A release noted by `note_returning` is done (or will not happen).
    fn returned(st: &mut State) {
        st.returning = st.returning.saturating_sub(1);
    }

    pub fn returned_now(&self) {
        Self::returned(&mut lock(&self.state));
    }

    /// conn.destroy() after release(): mysql2 closes that pooled connection.
    /// `lent_again`: a release() already handed it to a waiting caller of
    /// this thread (`hand_over`); it is closed when that caller releases it.
    pub fn destroy_released(self: &Arc<Self>, thread_id: u32, lent_again: bool) {
        let found = {
            let mut st = lock(&self.state);
            match st.idle.iter().position(|c| c.thread_id() == thread_id) {
                Some(i) => {
                    let c = st.idle.remove(i);
                    if c.is_some() {
                        st.total -= 1;
                    }
                    c
                }
                None => {
                    if st.returning > 0 || lent_again {
                        st.doomed.push(thread_id);
                    }
                    None
                }
            }
        };
        if let Some(c) = found {
            self.dispose(c);
            self.replenish();
        }
    }

    /// JS took the answers these connections gave, in this order; their
    /// callers' next commands arrive in the same order, so the first goes on
    /// top of the idle stack (mysql2 frees each connection just before its
    /// caller continues, which gives the same result).
    pub fn delivered(&self, conns: &[u64]) {
        let mut st = lock(&self.state);
        let mut found = Vec::new();
        for id in conns.iter().rev() {
            if let Some(i) = st.idle.iter().rposition(|c| c.id == *id) {
                if let Some(mut c) = st.idle.remove(i) {
                    c.undelivered = false;
                    found.push(c);
                }
            }
        }
        st.idle.extend(found);
    }

    /// A watch that turns true when end()'s grace period is over.
    pub fn killed(&self) -> tokio::sync::watch::Receiver<bool> {
        self.killed.subscribe()
    }

    /// A lent connection's Slot was dropped armed: give its place back.
    pub(crate) fn slot_lost(self: &Arc<Self>) {
        {
            let mut st = lock(&self.state);
            st.active = st.active.saturating_sub(1);
            st.total = st.total.saturating_sub(1);
            if st.active == 0 {
                self.drained.notify_waiters();
            }
        }
        Metrics::inc(&self.metrics.destroyed);
        self.replenish();
    }

    fn timeout_error(&self, st: &State) -> ErrInfo {
        Metrics::inc(&self.metrics.timed_out);
        let ms = self.settings.acquire_timeout.map(|d| d.as_millis()).unwrap_or(0);
        let mut e = self.reject(st, codes::ACQUIRE_TIMEOUT, &format!("Timeout acquiring a connection after {ms} ms."));
        if let Some(ce) = &st.last_connect_error {
            if st.breaker_failures > 0 {
                e.message.push_str(&format!(" Last connect error: {}", ce.message));
            }
        }
        e
    }

    /// The asynchronous half: validates, connects or waits, within acquireTimeout.
    pub async fn finish_acquire(self: &Arc<Self>, ticket: Ticket) -> Result<PooledConn, ErrInfo> {
        let start = ticket.start;
        let mut step = ticket.step;
        loop {
            let conn = match step? {
                Step::Got(c) => c,
                Step::Connect => {
                    let left = self.settings.acquire_timeout.map(|t| t.saturating_sub(start.elapsed()));
                    let res = match left {
                        Some(left) => tokio::time::timeout(left, self.connect()).await.ok(),
                        None => Some(self.connect().await),
                    };
                    match res {
                        Some(Ok(c)) => {
                            let mut st = lock(&self.state);
                            st.connecting -= 1;
                            st.active += 1;
                            c
                        }
                        failed => {
                            let err = {
                                let mut st = lock(&self.state);
                                st.connecting -= 1;
                                st.total -= 1;
                                match failed {
                                    Some(Err(e)) => e,
                                    // The connect outlived acquireTimeout; it was cancelled.
                                    _ => self.timeout_error(&st),
                                }
                            };
                            self.replenish();
                            return Err(err);
                        }
                    }
                }
                Step::Wait(id, mut rx) => {
                    let got = match self.settings.acquire_timeout {
                        Some(t) => {
                            let left = t.saturating_sub(start.elapsed());
                            tokio::time::timeout(left, &mut rx).await.ok()
                        }
                        None => Some((&mut rx).await),
                    };
                    match got {
                        Some(Ok(Ok(c))) => c,
                        Some(Ok(Err(e))) => return Err(e),
                        Some(Err(_)) => {
                            let st = lock(&self.state);
                            return Err(self.reject(&st, codes::CLOSED, error::CLOSED_MESSAGE));
                        }
                        None => {
                            // Timed out: leave the queue; a connection handed
                            // over in the same instant goes back to the pool.
                            let err = {
                                let mut st = lock(&self.state);
                                st.waiters.retain(|w| w.id != id);
                                self.timeout_error(&st)
                            };
                            rx.close();
                            match rx.try_recv() {
                                Ok(Ok(c)) => self.put_back(c, false),
                                // Served on the JS thread in that instant: JS has it.
                                Ok(Err(e)) if e.code == codes::HANDED_OVER => return Err(e),
                                // Taken into a pipeline in that instant: it runs there.
                                Ok(Err(e)) if e.code == codes::PIPELINED => return Err(e),
                                _ => {}
                            }
                            return Err(err);
                        }
                    }
                }
            };
            if let Some(c) = self.check_out(conn).await {
                Metrics::inc(&self.metrics.acquired);
                self.metrics.acquire_wait.observe(start.elapsed());
                return Ok(c);
            }
            step = self.decide(None);
        }
    }

    /// Validates a connection about to be lent; None if it was discarded.
    async fn check_out(self: &Arc<Self>, mut c: PooledConn) -> Option<PooledConn> {
        let expired = matches!(c.expires, Some(t) if t <= Instant::now());
        if c.broken || expired {
            self.destroy(c);
            return None;
        }
        if c.last_used.elapsed() >= self.settings.validate_after_idle {
            let deadline = self.settings.connect_timeout.unwrap_or(Duration::from_secs(10));
            if !c.validate(deadline).await {
                Metrics::inc(&self.metrics.validation_failures);
                self.destroy(c);
                return None;
            }
        }
        Some(c)
    }

    async fn connect(self: &Arc<Self>) -> Result<PooledConn, ErrInfo> {
        let t0 = Instant::now();
        let res = match &self.credentials {
            None => conn::open(&self.opts, self.settings.connect_timeout).await,
            Some(src) => {
                let limit = self.settings.connect_timeout;
                match conn::within(limit, src.fetch()).await {
                    Some(Ok((user, pass))) => {
                        let mut b = mysql_async::OptsBuilder::from_opts(self.opts.clone());
                        if user.is_some() {
                            b = b.user(user);
                        }
                        if pass.is_some() {
                            b = b.pass(pass);
                        }
                        let left = limit.map(|l| l.saturating_sub(t0.elapsed()));
                        conn::open(&mysql_async::Opts::from(b), left).await
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(ErrInfo::new(
                        crate::credentials::CODE,
                        "The credentials functions did not answer within connectTimeout.",
                    )),
                }
            }
        };
        let mut st = lock(&self.state);
        match res {
            Ok(conn) => {
                Metrics::inc(&self.metrics.created);
                self.metrics.connect_time.observe(t0.elapsed());
                st.breaker_failures = 0;
                st.breaker_open_until = None;
                // A new connection is never one JS destroyed: an entry with its
                // thread id is stale (the doomed one was closed another way and
                // the server, restarted since, reuses ids).
                let tid = conn.id();
                st.doomed.retain(|t| *t != tid);
                st.next_conn_id += 1;
                let id = st.next_conn_id;
                let expires = self.settings.max_lifetime.map(|life| Instant::now() + conn::jittered(life, id));
                Ok(PooledConn {
                    conn,
                    slot: Slot { pool: Arc::downgrade(self), armed: true },
                    id,
                    expires,
                    last_used: Instant::now(),
                    broken: false,
                    charset: self.settings.charset,
                    undelivered: false,
                    fresh: true,
                    replay: Vec::new(),
                    max_packet: 0,
                })
            }
            Err(e) => {
                Metrics::inc(&self.metrics.connect_failures);
                self.metrics.error(&e.code);
                st.breaker_failures += 1;
                let threshold = self.settings.breaker_threshold;
                if threshold > 0 && st.breaker_failures >= threshold {
                    st.breaker_open_until = Some(Instant::now() + self.settings.breaker_reset);
                }
                st.last_connect_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Returns a lent connection. `borrowed` is true for getConnection()
    /// connections; `returning` when JS counted this release (see
    /// `note_returning`). Without a round trip to make (mysql2's default:
    /// no reset) the connection is back in the idle set, or with a waiter,
    /// before this returns None. Some(c): a session reset or rollback is due
    /// first (`finish_release`).
    pub fn release_now(self: &Arc<Self>, c: PooledConn, borrowed: bool, returning: bool) -> Option<PooledConn> {
        if self.needs_settling(&c, borrowed) {
            return Some(c);
        }
        self.release_settled(c, returning);
        None
    }

    /// Whether releasing `c` takes a round trip first (a reset or rollback
    /// due, see `settle_release`); an unusable connection is closed instead.
    pub fn needs_settling(&self, c: &PooledConn, borrowed: bool) -> bool {
        // The policy first: with no reset (the default) this takes no lock.
        if !self.cleanup_due(c, borrowed) || self.is_closed() || c.broken {
            return false;
        }
        let expired = matches!(c.expires, Some(t) if t <= Instant::now());
        !expired && !lock(&self.state).doomed.contains(&c.thread_id())
    }

    /// Releases a connection whose round trip, if any, is done: closed when
    /// unusable, else to the oldest waiter or the idle set.
    pub fn release_settled(self: &Arc<Self>, c: PooledConn, returning: bool) {
        let expired = matches!(c.expires, Some(t) if t <= Instant::now());
        let doomed = {
            let mut st = lock(&self.state);
            let tid = c.thread_id();
            match st.doomed.iter().position(|t| *t == tid) {
                Some(i) => {
                    st.doomed.swap_remove(i);
                    true
                }
                None => false,
            }
        };
        if self.is_closed() || c.broken || expired || doomed {
            if !returning {
                Metrics::inc(&self.metrics.released);
            }
            self.close_lent(c, returning);
            return;
        }
        self.put_back_lent(c, true, returning);
    }

    /// Releases a lent connection, resetting its session first if due.
    pub async fn release(self: &Arc<Self>, c: PooledConn, borrowed: bool, returning: bool) {
        if let Some(c) = self.release_now(c, borrowed, returning) {
            self.finish_release(c, borrowed, returning).await;
        }
    }

    fn cleanup_due(&self, c: &PooledConn, borrowed: bool) -> bool {
        match self.settings.reset {
            ResetPolicy::Always => true,
            ResetPolicy::Never => false,
            ResetPolicy::Auto => borrowed || c.in_transaction(),
        }
    }

    /// The round trip `release_now` left: a full session reset (policy
    /// 'always', or 'auto' for getConnection()), else a ROLLBACK of an open
    /// transaction ('auto' for pool.query).
    pub async fn finish_release(self: &Arc<Self>, c: PooledConn, borrowed: bool, returning: bool) {
        if let Some(c) = self.settle_release(c, borrowed, returning).await {
            self.put_back_settled(c, returning);
        }
    }

    /// Back to the oldest waiter or the idle set after `settle_release`.
    pub fn put_back_settled(self: &Arc<Self>, c: PooledConn, returning: bool) {
        self.put_back_lent(c, true, returning);
    }

    /// The reset or rollback `release_now` left. Some(c): healthy, for
    /// `put_back_settled`; None: it was closed.
    pub async fn settle_release(
        self: &Arc<Self>,
        mut c: PooledConn,
        borrowed: bool,
        returning: bool,
    ) -> Option<PooledConn> {
        let full_reset = match self.settings.reset {
            ResetPolicy::Always => true,
            ResetPolicy::Never => false,
            ResetPolicy::Auto => borrowed,
        };
        let deadline = self.settings.connect_timeout.unwrap_or(Duration::from_secs(10));
        if full_reset {
            Metrics::inc(&self.metrics.resets);
            c.broken |= !c.reset_session(deadline, self.settings.charset).await;
        } else if self.settings.reset != ResetPolicy::Never && c.in_transaction() {
            // A single pool.query('BEGIN') must not hand an open transaction on.
            Metrics::inc(&self.metrics.resets);
            c.broken |= !c.rollback(deadline).await;
        }
        if c.broken || self.is_closed() {
            if !returning {
                Metrics::inc(&self.metrics.released);
            }
            self.close_lent(c, returning);
            return None;
        }
        Some(c)
    }

    /// Hands a healthy connection to the oldest live waiter, else to idle.
    fn put_back(self: &Arc<Self>, c: PooledConn, count_release: bool) {
        self.put_back_lent(c, count_release, false)
    }

    fn put_back_lent(self: &Arc<Self>, mut c: PooledConn, count_release: bool, returning: bool) {
        let mut st = lock(&self.state);
        if returning {
            Self::returned(&mut st);
        }
        if count_release {
            // Only a real use restarts the idle clock (not a keep-alive ping).
            c.last_used = Instant::now();
            if !returning {
                Metrics::inc(&self.metrics.released);
            }
        }
        st.active -= 1;
        if st.closed {
            st.total -= 1;
            if st.active == 0 {
                self.drained.notify_waiters();
            }
            drop(st);
            return self.dispose(c);
        }
        st.idle.push_back(c);
        self.serve_waiters(&mut st);
        if st.active == 0 {
            self.drained.notify_waiters();
        }
    }

    /// Idle connections go to live waiters, oldest first.
    fn serve_waiters(&self, st: &mut State) {
        while !st.waiters.is_empty() {
            let Some(mut c) = st.idle.pop_back() else { return };
            loop {
                let Some(w) = st.waiters.pop_front() else {
                    st.idle.push_back(c);
                    return;
                };
                st.active += 1;
                match w.tx.send(Ok(c)) {
                    Ok(()) => break,
                    Err(back) => {
                        st.active -= 1;
                        match back {
                            Ok(conn) => c = conn,
                            Err(_) => return,
                        }
                    }
                }
            }
        }
    }

    /// Closes a lent connection (counted as active) and refills if needed.
    pub fn destroy(self: &Arc<Self>, c: PooledConn) {
        self.close_lent(c, false)
    }

    fn close_lent(self: &Arc<Self>, c: PooledConn, returning: bool) {
        {
            let mut st = lock(&self.state);
            if returning {
                Self::returned(&mut st);
                // Waiters that queued for this connection take idle ones.
                self.serve_waiters(&mut st);
            }
            st.active -= 1;
            st.total -= 1;
            if st.active == 0 {
                self.drained.notify_waiters();
            }
        }
        self.dispose(c);
        self.replenish();
    }

    fn dispose(&self, mut c: PooledConn) {
        c.disarm();
        Metrics::inc(&self.metrics.destroyed);
        crate::runtime::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), c.conn.disconnect()).await;
        });
    }

    /// Opens connections in the background for queued waiters and to keep
    /// `minIdle` warm; they retry with backoff until the server is back.
    pub fn replenish(self: &Arc<Self>) {
        let mut st = lock(&self.state);
        while !st.closed
            && st.total < self.settings.limit
            && (st.waiters.len() > st.connecting || st.total < self.settings.min_idle)
        {
            st.total += 1;
            st.connecting += 1;
            let pool = self.clone();
            crate::runtime::spawn(async move { pool.background_connect().await });
        }
    }

    async fn background_connect(self: Arc<Self>) {
        let mut attempt = 0u32;
        loop {
            let wanted = {
                let st = lock(&self.state);
                !st.closed && (!st.waiters.is_empty() || st.total <= self.settings.min_idle)
            };
            if !wanted {
                let mut st = lock(&self.state);
                st.total -= 1;
                st.connecting -= 1;
                return;
            }
            match self.connect().await {
                Ok(c) => {
                    {
                        let mut st = lock(&self.state);
                        st.connecting -= 1;
                        st.active += 1;
                    }
                    return self.put_back(c, false);
                }
                Err(_) => {
                    attempt += 1;
                    let backoff = Duration::from_millis((25u64 << attempt.min(5)).min(500));
                    // Never retry faster than the breaker lets callers through.
                    let open_for = lock(&self.state)
                        .breaker_open_until
                        .map(|t| t.saturating_duration_since(Instant::now()))
                        .unwrap_or_default();
                    tokio::time::sleep(backoff.max(open_for)).await;
                }
            }
        }
    }

    /// Stops lending, fails waiters, closes idle connections, then waits up
    /// to `grace` for lent ones to come back (they are closed on return).
    pub async fn end(self: &Arc<Self>, grace: Duration) {
        let (waiters, idle) = {
            let mut st = lock(&self.state);
            st.closed = true;
            let w: Vec<Waiter> = st.waiters.drain(..).collect();
            let i: Vec<PooledConn> = st.idle.drain(..).collect();
            st.total -= i.len();
            (w, i)
        };
        for w in waiters {
            let st = lock(&self.state);
            let e = self.reject(&st, codes::CLOSED, error::CLOSED_MESSAGE);
            drop(st);
            let _ = w.tx.send(Err(e));
        }
        for c in idle {
            self.dispose(c);
        }
        let deadline = Instant::now() + grace;
        loop {
            let notified = self.drained.notified();
            if lock(&self.state).active == 0 {
                return;
            }
            if Instant::now() >= deadline {
                break;
            }
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), notified).await;
        }
        // Grace is over: whatever still runs is cut, so its promise settles
        // and its socket closes even on a network that went silent.
        self.killed.send_replace(true);
    }

    /// The maintenance task's locked half: takes out of the idle set the
    /// connections to close (expired, over maxIdle, idle too long) and those
    /// due a keep-alive ping (counted as active while pinged).
    pub(crate) fn sweep(&self) -> (Vec<PooledConn>, Vec<PooledConn>) {
        let s = &self.settings;
        // mysql2 3.24 reaps only when maxIdle < connectionLimit: it trims the
        // free list to maxIdle, then closes every connection idle longer than
        // idleTimeout, down to zero (here: down to minIdle). `reapIdle` opts
        // in to the idleTimeout part with maxIdle = connectionLimit too.
        let mysql2_reaper = s.max_idle < s.limit;
        let reaping = mysql2_reaper || s.reap_idle;
        let trim_to = if mysql2_reaper { s.max_idle.max(s.min_idle) } else { usize::MAX };
        let now = Instant::now();
        {
            let mut st = lock(&self.state);
            let mut reaped = Vec::new();
            let mut to_ping = Vec::new();
            let mut keep = VecDeque::with_capacity(st.idle.len());
            let mut remaining = st.idle.len();
            // Oldest-used first, so the reaper trims the cold end.
            while let Some(c) = st.idle.pop_front() {
                let idle_for = now.saturating_duration_since(c.last_used);
                let expired = matches!(c.expires, Some(t) if t <= now);
                let over = remaining > trim_to;
                let stale = reaping && matches!(s.idle_timeout, Some(t) if idle_for >= t) && remaining > s.min_idle;
                if expired || over || stale {
                    reaped.push(c);
                    remaining -= 1;
                } else if matches!(s.idle_ping_interval, Some(t) if idle_for >= t) {
                    to_ping.push(c);
                } else {
                    keep.push_back(c);
                }
            }
            st.idle = keep;
            st.total -= reaped.len();
            st.active += to_ping.len();
            (reaped, to_ping)
        }
    }

    pub(crate) fn dispose_all(&self, conns: Vec<PooledConn>) {
        for c in conns {
            self.dispose(c);
        }
    }

    /// A keep-alive ping's outcome: back to idle, or closed.
    pub(crate) fn after_ping(self: &Arc<Self>, c: PooledConn, ok: bool) {
        if ok {
            self.put_back(c, false);
        } else {
            Metrics::inc(&self.metrics.validation_failures);
            self.destroy(c);
        }
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charset::Charset;

    fn settings(limit: usize) -> Settings {
        Settings {
            limit,
            wait_for_connections: true,
            queue_limit: 0,
            max_idle: limit,
            min_idle: 0,
            idle_timeout: None,
            max_lifetime: None,
            acquire_timeout: None,
            idle_ping_interval: None,
            connect_timeout: None,
            validate_after_idle: Duration::from_millis(500),
            pipeline_depth: 0,
            pipeline_writes: false,
            reset: ResetPolicy::Never,
            breaker_threshold: 3,
            breaker_reset: Duration::from_secs(1),
            mariadb_json_columns: false,
            reap_idle: false,
            socket_timeout: None,
            charset: Charset::Utf8,
        }
    }

    fn pool(s: Settings) -> Arc<Pool> {
        // Nothing connects: no acquisition is finished and minIdle is 0.
        Pool::new(s, mysql_async::OptsBuilder::default().into(), None)
    }

    fn kind(t: &Ticket) -> &'static str {
        match &t.step {
            Ok(Step::Got(_)) => "got",
            Ok(Step::Connect) => "connect",
            Ok(Step::Wait(..)) => "wait",
            Err(e) if e.code == codes::QUEUE_LIMIT => "queue-limit",
            Err(e) if e.code == codes::NO_CONNECTIONS => "no-connections",
            Err(e) if e.code == codes::CIRCUIT_OPEN => "circuit-open",
            Err(e) if e.code == codes::CLOSED => "closed",
            Err(_) => "error",
        }
    }

    #[tokio::test]
    async fn decide_opens_up_to_the_limit_then_queues_fifo() {
        let p = pool(settings(2));
        let t: Vec<Ticket> = (0..4).map(|_| p.begin_acquire()).collect();
        assert_eq!(t.iter().map(kind).collect::<Vec<_>>(), ["connect", "connect", "wait", "wait"]);
        let c = p.counts();
        assert_eq!((c.total, c.connecting, c.waiting), (2, 2, 2));
    }

    #[tokio::test]
    async fn queue_limit_and_no_waiting_refuse() {
        let mut s = settings(1);
        s.queue_limit = 1;
        let p = pool(s);
        let t: Vec<Ticket> = (0..3).map(|_| p.begin_acquire()).collect();
        assert_eq!(t.iter().map(kind).collect::<Vec<_>>(), ["connect", "wait", "queue-limit"]);
        let mut s = settings(1);
        s.wait_for_connections = false;
        let p = pool(s);
        let t: Vec<Ticket> = (0..2).map(|_| p.begin_acquire()).collect();
        assert_eq!(t.iter().map(kind).collect::<Vec<_>>(), ["connect", "no-connections"]);
    }

    #[tokio::test]
    async fn an_open_breaker_fails_fast_and_a_half_open_one_lets_one_through() {
        let p = pool(settings(5));
        {
            let mut st = lock(&p.state);
            st.breaker_failures = 3;
            st.breaker_open_until = Some(Instant::now() + Duration::from_secs(60));
        }
        assert_eq!(kind(&p.begin_acquire()), "circuit-open");
        lock(&p.state).breaker_open_until = Some(Instant::now() - Duration::from_millis(1));
        // Half-open: one trial connect, then fail fast again until it succeeds.
        assert_eq!(kind(&p.begin_acquire()), "connect");
        assert_eq!(kind(&p.begin_acquire()), "circuit-open");
    }

    #[tokio::test]
    async fn a_released_connection_on_its_way_back_is_waited_for_not_replaced() {
        let p = pool(settings(3));
        p.note_returning();
        // mysql2 would hand out the connection just freed: wait for it
        // rather than open another one...
        assert_eq!(kind(&p.begin_acquire()), "wait");
        // ...but only one caller waits per returning connection.
        assert_eq!(kind(&p.begin_acquire()), "connect");
        p.returned_now();
        assert_eq!(lock(&p.state).returning, 0);
    }

    #[tokio::test]
    async fn a_retry_never_joins_the_queue() {
        let p = pool(settings(1));
        assert_eq!(kind(&p.begin_acquire()), "connect");
        // At the limit: a retry gives up instead of waiting for acquireTimeout.
        assert!(p.begin_acquire_now().is_none());
        assert_eq!(p.counts().waiting, 0);
        let p = pool(settings(2));
        assert_eq!(kind(&p.begin_acquire()), "connect");
        assert_eq!(p.begin_acquire_now().map(|t| kind(&t)), Some("connect"));
    }

    #[tokio::test]
    async fn a_closed_pool_refuses() {
        let p = pool(settings(2));
        p.end(Duration::ZERO).await;
        assert_eq!(kind(&p.begin_acquire()), "closed");
    }

    #[test]
    fn lifetime_jitter_stays_within_ten_percent_earlier() {
        let life = Duration::from_secs(300);
        for seed in 0..1000 {
            let j = crate::conn::jittered(life, seed);
            assert!(j <= life && j >= life.mul_f64(0.9), "seed {seed}: {j:?}");
        }
    }
}
