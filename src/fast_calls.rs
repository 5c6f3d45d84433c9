//! submit() and drain(), the two calls JS makes per batch, as plain
//! Node-API functions. As `#[napi]` methods each call also paid napi-rs's
//! receiver checks (`napi_unwrap`, a type-tag check) and its borrow tracking
//! (a process-wide mutex and map): ~10% of the JS thread's samples at 200
//! point selects in flight. Here JS names its pool by a number
//! (`NativePool.fastHandle()`), looked up in this thread's short list of
//! live pools; a number that names no live pool is an error, never a guess.
use crate::boundary::Raw;
use crate::NativePool;
use napi::bindgen_prelude::*;
use napi::{sys, JsError};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// A pool this thread handed a number to.
struct Live {
    handle: u32,
    pool: *const NativePool,
    /// A weak reference to the pool's JS object: empty once the object was
    /// collected, even before its finalizer (which frees the pool) has run.
    object: sys::napi_ref,
    env: sys::napi_env,
}

thread_local! {
    /// Every NativePool of this thread that asked for a handle; a pool
    /// leaves the list in its Drop. Handles count up and skip any still
    /// listed, so two live pools never share one; a stale handle finds
    /// nothing until the count has gone round all 2^32.
    static LIVE: RefCell<Vec<Live>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<u32> = const { Cell::new(1) };
}

/// The handle of `pool`, whose JS object is `object` (the same handle on
/// every call).
pub(crate) fn handle_of(
    env: sys::napi_env,
    object: sys::napi_value,
    pool: &NativePool,
    slot: &Cell<u32>,
) -> Result<u32> {
    if slot.get() != 0 {
        return Ok(slot.get());
    }
    let mut weak = ptr::null_mut();
    if unsafe { sys::napi_create_reference(env, object, 0, &mut weak) } != sys::Status::napi_ok {
        return Err(Error::new(Status::GenericFailure, "cannot reference the pool".to_string()));
    }
    let handle = LIVE.with(|l| {
        let mut live = l.borrow_mut();
        let handle = NEXT.with(|n| loop {
            let id = n.get();
            n.set(id.wrapping_add(1).max(1));
            if !live.iter().any(|e| e.handle == id) {
                break id;
            }
        });
        live.push(Live { handle, pool: pool as *const NativePool, object: weak, env });
        handle
    });
    slot.set(handle);
    Ok(handle)
}

/// From NativePool's Drop (the JS thread, when its object is collected).
/// By handle, not address: napi-rs's finalizer moves the pool out of its
/// box before dropping it, so Drop sees another address.
pub(crate) fn forget(handle: u32) {
    if handle == 0 {
        return;
    }
    let gone = LIVE.try_with(|l| {
        let mut live = l.borrow_mut();
        let at = live.iter().position(|e| e.handle == handle)?;
        Some(live.swap_remove(at))
    });
    if let Ok(Some(e)) = gone {
        // SAFETY: the reference was made on this thread's env, which is
        // running this finalizer.
        unsafe { sys::napi_delete_reference(e.env, e.object) };
    }
}

/// Runs `f` on the pool `handle` names. The pool's JS object is held in
/// this call's handle scope first: a reachable object cannot be finalized,
/// so the pool cannot be freed while `f` runs (Node may run pending
/// finalizers inside Node-API calls `f` makes). An object already collected
/// reads as empty, and its handle is refused like an unknown one. The list
/// is not borrowed while `f` runs (a finalizer edits it).
fn with_pool<R>(env: sys::napi_env, handle: u32, f: impl FnOnce(&NativePool) -> Result<R>) -> Result<R> {
    let found = LIVE.with(|l| l.borrow().iter().find(|e| e.handle == handle).map(|e| (e.pool, e.object)));
    let alive = found.filter(|(_, object)| {
        let mut value = ptr::null_mut();
        let status = unsafe { sys::napi_get_reference_value(env, *object, &mut value) };
        status == sys::Status::napi_ok && !value.is_null()
    });
    match alive {
        // SAFETY: listed pointers are removed in NativePool's Drop, which
        // cannot run while its object is held (above).
        Some((p, _)) => f(unsafe { &*p }),
        None => Err(Error::new(Status::InvalidArg, format!("no live pool has the handle {handle}"))),
    }
}

unsafe fn args<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> Result<[sys::napi_value; N]> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let status = sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut());
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::GenericFailure, "cannot read the call's arguments".to_string()));
    }
    // Missing arguments read as undefined, which the conversions below refuse.
    Ok(argv)
}

unsafe fn number_u32(env: sys::napi_env, v: sys::napi_value, what: &str) -> Result<u32> {
    let mut n = 0u32;
    if sys::napi_get_value_uint32(env, v, &mut n) != sys::Status::napi_ok {
        return Err(Error::new(Status::NumberExpected, format!("{what} must be a number")));
    }
    Ok(n)
}

/// Turns the outcome into a return value or a thrown JS error; a panic
/// becomes a thrown error too, never an unwind into Node.
unsafe fn finish(env: sys::napi_env, r: std::thread::Result<Result<sys::napi_value>>) -> sys::napi_value {
    let err = match r {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(_) => Error::new(Status::GenericFailure, "ERR_NATIVE_PANIC: a native panic in the boundary".to_string()),
    };
    JsError::from(err).throw_into(env);
    ptr::null_mut()
}

/// submit(handle, nums, count, texts, params): NativePool::submit.
unsafe extern "C" fn submit(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let [h, nums, count, texts, params] = args::<5>(env, info)?;
        let handle = number_u32(env, h, "handle")?;
        let count = number_u32(env, count, "count")?;
        with_pool(env, handle, |p| p.submit_batch(env, nums, count, texts, params))?;
        let mut undefined = ptr::null_mut();
        sys::napi_get_undefined(env, &mut undefined);
        Ok(undefined)
    }));
    finish(env, r)
}

/// drain(handle, scratch): NativePool::drain.
unsafe extern "C" fn drain(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let [h, scratch] = args::<2>(env, info)?;
        let handle = number_u32(env, h, "handle")?;
        with_pool(env, handle, |p| p.drain_batch(env, scratch))
    }));
    finish(env, r)
}

unsafe fn function(
    env: sys::napi_env,
    name: &std::ffi::CStr,
    cb: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
) -> Result<sys::napi_value> {
    let mut f = ptr::null_mut();
    let status = sys::napi_create_function(
        env,
        name.as_ptr(),
        name.to_bytes().len() as isize,
        Some(cb),
        ptr::null_mut(),
        &mut f,
    );
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::GenericFailure, "cannot create a boundary function".to_string()));
    }
    Ok(f)
}

/// `{ submit, drain }` (NativePool.fastCalls(), once per thread).
pub(crate) fn make(env: Env) -> Result<Raw> {
    unsafe {
        let env = env.raw();
        let mut obj = ptr::null_mut();
        if sys::napi_create_object(env, &mut obj) != sys::Status::napi_ok {
            return Err(Error::new(Status::GenericFailure, "cannot create an object".to_string()));
        }
        for (name, cb) in [(c"submit", submit as _), (c"drain", drain as _)] {
            let f = function(env, name, cb)?;
            if sys::napi_set_named_property(env, obj, name.as_ptr(), f) != sys::Status::napi_ok {
                return Err(Error::new(Status::GenericFailure, "cannot set a boundary function".to_string()));
            }
        }
        Ok(Raw(obj))
    }
}
