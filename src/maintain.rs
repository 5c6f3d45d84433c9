//! The pool's maintenance task, once a second: closes what the reaper
//! policy picks (Pool::sweep: expired, over maxIdle, idle too long), pings
//! idle connections due a keep-alive, and refills minIdle.
use crate::pool::Pool;
use std::sync::Weak;
use std::time::Duration;

/// Runs until the pool is closed or gone.
pub(crate) async fn maintain(pool: Weak<Pool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let (reaped, to_ping) = pool.sweep();
        pool.dispose_all(reaped);
        for mut c in to_ping {
            let ok = c.validate(Duration::from_secs(5)).await;
            pool.after_ping(c, ok);
        }
        pool.replenish();
    }
}
