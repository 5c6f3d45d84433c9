//! The one way this crate takes a std Mutex: a poisoned lock only means
//! another task panicked mid-update, and the state behind it is still the
//! best there is, so keep going instead of aborting.
use std::sync::{Mutex, MutexGuard};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
