//! How the runtime's threads wake the JS thread when answers are queued
//! (completions.rs). Two ways, one interface:
//! - `Uv`: a libuv async handle on the JS thread's loop, signalled with
//!   `uv_async_send` (an atomic flag and, when not already signalled, one
//!   eventfd write). Under Node on Unix only, where the `uv_*` functions are
//!   found in the process (looked up at run time, so the addon has no
//!   undefined symbols and loads anywhere).
//! - `Tsfn`: a Node-API threadsafe function, everywhere else (Windows, Bun).
//!   Each call also takes the function's mutex and queues an item; a profile
//!   of the runtime worker at 200 point selects in flight put that call at
//!   12% of the worker, half of it waking a JS thread blocked on that mutex.
#[cfg(unix)]
use crate::sync::lock;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
#[cfg(unix)]
use std::cell::Cell;
#[cfg(unix)]
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

pub(crate) type Tsfn = ThreadsafeFunction<u32, (), u32, Status, false>;

pub(crate) enum Waker {
    Tsfn(Tsfn),
    Uv(Arc<UvWake>),
}

impl Waker {
    /// Any thread: JS drains the completions soon.
    pub(crate) fn wake(&self) {
        match self {
            Waker::Tsfn(t) => {
                t.call(0, ThreadsafeFunctionCallMode::NonBlocking);
            }
            Waker::Uv(u) => u.send(),
        }
    }

    /// JS thread: whether a pending wake-up keeps the event loop alive.
    pub(crate) fn set_ref(&self, env: sys::napi_env, keep_alive: bool) {
        match self {
            Waker::Tsfn(t) => unsafe {
                if keep_alive {
                    sys::napi_ref_threadsafe_function(env, t.raw());
                } else {
                    sys::napi_unref_threadsafe_function(env, t.raw());
                }
            },
            Waker::Uv(u) => u.set_ref(keep_alive),
        }
    }

    /// Which of the two, for tests and diagnostics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Waker::Tsfn(_) => "tsfn",
            Waker::Uv(_) => "uv",
        }
    }

    /// JS thread: no wake-up after this one (the native pool is gone).
    pub(crate) fn close(&self) {
        if let Waker::Uv(u) = self {
            u.close();
        }
    }
}

#[cfg(unix)]
mod uv {
    use std::ffi::{c_int, c_void, CStr};

    pub type AsyncCb = extern "C" fn(*mut c_void);
    pub type CloseCb = extern "C" fn(*mut c_void);

    /// The libuv functions of the running Node, found once.
    pub struct Api {
        pub handle_size: extern "C" fn(c_int) -> usize,
        pub async_init: extern "C" fn(*mut c_void, *mut c_void, AsyncCb) -> c_int,
        pub async_send: extern "C" fn(*mut c_void) -> c_int,
        pub close: extern "C" fn(*mut c_void, CloseCb),
        pub ref_: extern "C" fn(*mut c_void),
        pub unref: extern "C" fn(*mut c_void),
    }

    /// libuv's handle type number of uv_async_t (uv.h: UV_ASYNC = 1), the
    /// same in every libuv 1.x.
    pub const UV_ASYNC: c_int = 1;

    unsafe fn find(name: &CStr) -> Option<*mut c_void> {
        let p = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
        (!p.is_null()).then_some(p)
    }

    pub fn api() -> Option<&'static Api> {
        static API: once_cell::sync::OnceCell<Option<Api>> = once_cell::sync::OnceCell::new();
        API.get_or_init(|| unsafe {
            Some(Api {
                handle_size: std::mem::transmute::<*mut c_void, extern "C" fn(c_int) -> usize>(find(c"uv_handle_size")?),
                async_init: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void, *mut c_void, AsyncCb) -> c_int>(
                    find(c"uv_async_init")?,
                ),
                async_send: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void) -> c_int>(find(
                    c"uv_async_send",
                )?),
                close: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void, CloseCb)>(find(c"uv_close")?),
                ref_: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void)>(find(c"uv_ref")?),
                unref: std::mem::transmute::<*mut c_void, extern "C" fn(*mut c_void)>(find(c"uv_unref")?),
            })
        })
        .as_ref()
    }
}

#[cfg(unix)]
/// What the async handle's callback needs on the JS thread. Freed by the
/// handle's close callback, after libuv is done with the handle.
struct JsSide {
    env: sys::napi_env,
    func: sys::napi_ref,
    async_ctx: sys::napi_async_context,
}

/// Closes the handle when dropped, unless emptied first (JS thread only).
pub(crate) struct CloseOnDrop(pub(crate) Option<Arc<UvWake>>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(u) = self.0.take() {
            u.close();
        }
    }
}

/// A libuv async handle whose callback calls the pool's JS wake function.
pub(crate) struct UvWake {
    /// The handle's memory (libuv's uv_async_t, `uv_handle_size` bytes;
    /// its first field, `data`, points to the JsSide); null once closed.
    /// Sends hold the lock, so none can touch a handle being closed.
    #[cfg_attr(not(unix), allow(dead_code))]
    handle: Mutex<usize>,
}

impl UvWake {
    /// JS thread. None where libuv cannot be used (the caller then makes a
    /// threadsafe function).
    #[cfg(unix)]
    pub(crate) fn new(env: sys::napi_env, func: sys::napi_value) -> Option<Arc<UvWake>> {
        let api = uv::api()?;
        unsafe {
            let mut uv_loop: *mut sys::uv_loop_s = std::ptr::null_mut();
            if sys::napi_get_uv_event_loop(env, &mut uv_loop) != sys::Status::napi_ok || uv_loop.is_null() {
                return None;
            }
            let size = (api.handle_size)(uv::UV_ASYNC);
            if size < std::mem::size_of::<usize>() || size > 4096 {
                return None;
            }
            let mut func_ref = std::ptr::null_mut();
            if sys::napi_create_reference(env, func, 1, &mut func_ref) != sys::Status::napi_ok {
                return None;
            }
            let mut name = std::ptr::null_mut();
            let mut resource = std::ptr::null_mut();
            let mut async_ctx = std::ptr::null_mut();
            let label = "napi-mysql-pool:wake";
            // A resource object of our own: older Node versions refuse a null one.
            if sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name)
                != sys::Status::napi_ok
                || sys::napi_create_object(env, &mut resource) != sys::Status::napi_ok
                || sys::napi_async_init(env, resource, name, &mut async_ctx) != sys::Status::napi_ok
            {
                sys::napi_delete_reference(env, func_ref);
                return None;
            }
            // u64 words: libuv's handle is pointer-aligned.
            let mem: Box<[u64]> = vec![0u64; size.div_ceil(8)].into_boxed_slice();
            let handle = Box::into_raw(mem) as *mut u64 as *mut c_void;
            if (api.async_init)(uv_loop.cast(), handle, on_async) != 0 {
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle as *mut u64, size.div_ceil(8))));
                sys::napi_async_destroy(env, async_ctx);
                sys::napi_delete_reference(env, func_ref);
                return None;
            }
            let js = Box::into_raw(Box::new(JsSide { env, func: func_ref, async_ctx }));
            *(handle as *mut *mut JsSide) = js;
            // Idle until a command is in flight (Waker::set_ref).
            (api.unref)(handle);
            Some(Arc::new(UvWake { handle: Mutex::new(handle as usize) }))
        }
    }

    #[cfg(not(unix))]
    pub(crate) fn new(_env: sys::napi_env, _func: sys::napi_value) -> Option<Arc<UvWake>> {
        None
    }

    fn send(&self) {
        #[cfg(unix)]
        if let Some(api) = uv::api() {
            let h = lock(&self.handle);
            if *h != 0 {
                (api.async_send)(*h as *mut c_void);
            }
        }
    }

    fn set_ref(&self, keep_alive: bool) {
        #[cfg(unix)]
        if let Some(api) = uv::api() {
            let h = lock(&self.handle);
            if *h != 0 {
                if keep_alive {
                    (api.ref_)(*h as *mut c_void)
                } else {
                    (api.unref)(*h as *mut c_void)
                }
            }
        }
    }

    /// JS thread, while its Node-API environment is alive (a finalizer or
    /// an env cleanup hook). Idempotent. What the callback used is freed
    /// now; the handle's memory in libuv's close callback, which may run
    /// after the environment is gone and so makes no Node-API call.
    pub(crate) fn close(&self) {
        #[cfg(unix)]
        if let Some(api) = uv::api() {
            let mut h = lock(&self.handle);
            if *h != 0 {
                let handle = *h as *mut c_void;
                *h = 0;
                let js = unsafe { std::ptr::replace(handle as *mut *mut JsSide, std::ptr::null_mut()) };
                if RUNNING.with(Cell::get) == handle as usize {
                    // Closed from inside its own callback (a finalizer run
                    // there): on_async frees it once the callback returns.
                    LEFT.with(|l| l.set(js));
                } else {
                    free_js_side(js);
                }
                (api.close)(handle, on_closed);
            }
        }
    }
}

#[cfg(unix)]
thread_local! {
    /// The handle whose callback is running on this (JS) thread, and its
    /// JsSide if it was closed meanwhile.
    static RUNNING: Cell<usize> = const { Cell::new(0) };
    static LEFT: Cell<*mut JsSide> = const { Cell::new(std::ptr::null_mut()) };
}

/// JS thread, environment alive: drops the callback's reference and async context.
#[cfg(unix)]
fn free_js_side(js: *mut JsSide) {
    if js.is_null() {
        return;
    }
    unsafe {
        let js = Box::from_raw(js);
        sys::napi_async_destroy(js.env, js.async_ctx);
        sys::napi_delete_reference(js.env, js.func);
    }
}

/// JS thread, from libuv: call the JS wake function as a callback from
/// native code (microtasks and nextTicks run after it, as after any
/// callback; a throw is an uncaught exception, as from a threadsafe function).
#[cfg(unix)]
extern "C" fn on_async(handle: *mut c_void) {
    unsafe {
        let js = *(handle as *const *const JsSide);
        if js.is_null() {
            return;
        }
        let JsSide { env, func, async_ctx } = *js;
        let mut scope = std::ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        let mut f = std::ptr::null_mut();
        let mut recv = std::ptr::null_mut();
        if sys::napi_get_reference_value(env, func, &mut f) == sys::Status::napi_ok
            && !f.is_null()
            && sys::napi_get_global(env, &mut recv) == sys::Status::napi_ok
        {
            let mut out = std::ptr::null_mut();
            RUNNING.with(|r| r.set(handle as usize));
            let status = sys::napi_make_callback(env, async_ctx, recv, f, 0, std::ptr::null(), &mut out);
            RUNNING.with(|r| r.set(0));
            free_js_side(LEFT.with(|l| l.replace(std::ptr::null_mut())));
            if status == sys::Status::napi_pending_exception {
                let mut e = std::ptr::null_mut();
                if sys::napi_get_and_clear_last_exception(env, &mut e) == sys::Status::napi_ok {
                    sys::napi_fatal_exception(env, e);
                }
            }
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

/// libuv is done with the handle: free its memory.
#[cfg(unix)]
extern "C" fn on_closed(handle: *mut c_void) {
    if let Some(api) = uv::api() {
        let words = (api.handle_size)(uv::UV_ASYNC).div_ceil(8);
        unsafe { drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle as *mut u64, words))) };
    }
}
