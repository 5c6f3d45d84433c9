//! One tokio runtime per process, shared by every pool: mysql_async
//! connections must stay on the runtime that opened them.
use once_cell::sync::OnceCell;
use tokio::runtime::{Builder, Runtime};

static RT: OnceCell<Runtime> = OnceCell::new();

/// Starts the runtime on first use. Worker threads: the first pool's
/// `workerThreads`, else the NAPI_MYSQL_POOL_THREADS environment variable,
/// else 1. One I/O thread beside the JS thread, as Node itself has one:
/// protocol work is light, and a second worker mostly parks and wakes
/// (measured at 200 point executes in flight: 0.78 voluntary context
/// switches per query on the workers with 2, 0.10 with 1).
pub fn start(threads: Option<u32>) -> Result<&'static Runtime, String> {
    RT.get_or_try_init(|| {
        let n = threads
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .or_else(|| std::env::var("NAPI_MYSQL_POOL_THREADS").ok().and_then(|v| v.parse().ok()))
            .unwrap_or(1)
            .clamp(1, 64);
        Builder::new_multi_thread()
            .worker_threads(n)
            .thread_name("napi-mysql-pool")
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
        rt.spawn(fut);
    }
}
