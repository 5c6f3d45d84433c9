//! One tokio runtime per process, shared by every pool: mysql_async
//! connections must stay on the runtime that opened them.
use once_cell::sync::OnceCell;
use tokio::runtime::{Builder, Runtime};

static RT: OnceCell<Runtime> = OnceCell::new();

/// What the runtime's threads call besides running tasks (the caller passes
/// completions.rs's deferred JS wake-ups; kept as plain functions here so
/// this file, reachable from the crate's Rust tests, links without Node).
#[derive(Clone, Copy)]
pub struct Hooks {
    /// A worker is about to park: it has nothing ready to run.
    pub park: fn(),
    /// A worker thread is exiting.
    pub stop: fn(),
    /// After each poll of a task spawned through `checked`.
    pub after_poll: fn(),
}

static HOOKS: OnceCell<Hooks> = OnceCell::new();

/// Starts the runtime on first use. Worker threads: the first pool's
/// `workerThreads`, else the NAPI_MYSQL_POOL_THREADS environment variable,
/// else 1. One I/O thread beside the JS thread, as Node itself has one:
/// protocol work is light, and a second worker mostly parks and wakes
/// (measured at 200 point executes in flight: 0.78 voluntary context
/// switches per query on the workers with 2, 0.10 with 1).
pub fn start(threads: Option<u32>, hooks: Hooks) -> Result<&'static Runtime, String> {
    RT.get_or_try_init(|| {
        let _ = HOOKS.set(hooks);
        let n = threads
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .or_else(|| std::env::var("NAPI_MYSQL_POOL_THREADS").ok().and_then(|v| v.parse().ok()))
            .unwrap_or(1)
            .clamp(1, 64);
        Builder::new_multi_thread()
            .worker_threads(n)
            .thread_name("napi-mysql-pool")
            .on_thread_park(hooks.park)
            .on_thread_stop(hooks.stop)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))
    })
}

/// The runtime, once a pool has started it (every caller runs after that).
pub fn spawn<F>(fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if let Some(rt) = RT.get() {
        rt.spawn(checked(fut));
    }
}

/// Spawns `fut` on the runtime this code is running on (a task of it, or the
/// crate's Rust tests' own runtime), through `checked`.
pub fn spawn_here<F>(fut: F)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(checked(fut));
}

/// `fut`, running `Hooks::after_poll` after each poll: there a wake-up of
/// JS that this worker put off goes out once it has waited long enough
/// (completions::flush_stale), so a task that keeps the worker busy cannot
/// hold answers back. Every task this crate spawns goes through here
/// (`spawn`, `spawn_here`).
pub async fn checked<F: std::future::Future>(fut: F) -> F::Output {
    let after_poll = HOOKS.get().map(|h| h.after_poll);
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let r = fut.as_mut().poll(cx);
        if let Some(f) = after_poll {
            f();
        }
        r
    })
    .await
}
