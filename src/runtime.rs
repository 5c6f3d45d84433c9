//! One tokio runtime per process, shared by every pool: mysql_async
//! connections must stay on the runtime that opened them.
use once_cell::sync::OnceCell;
use tokio::runtime::{Builder, Runtime};

static RT: OnceCell<Runtime> = OnceCell::new();

/// Worker threads: the first pool's `workerThreads`, else the
/// NAPI_MYSQL_POOL_THREADS environment variable, else 2 (protocol work is
/// light; more threads mostly compete with Node and the server for cores).
pub fn get(threads: Option<u32>) -> &'static Runtime {
    RT.get_or_init(|| {
        let n = threads
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .or_else(|| std::env::var("NAPI_MYSQL_POOL_THREADS").ok().and_then(|v| v.parse().ok()))
            .unwrap_or(2)
            .clamp(1, 64);
        Builder::new_multi_thread()
            .worker_threads(n)
            .thread_name("napi-mysql-pool")
            .enable_all()
            .build()
            // Without threads there is nothing this addon can do; Node gets
            // an exception at load time rather than a half-working pool.
            .unwrap_or_else(|e| panic!("cannot start the tokio runtime: {e}"))
    })
}
