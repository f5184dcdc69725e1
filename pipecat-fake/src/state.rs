//! The state one fake shares between its connections: the keys it accepts,
//! its address, and the data behind one lock.

use std::sync::{Mutex, MutexGuard};

use crate::Inner;

/// The organization every object of the fake belongs to.
pub(crate) const ORGANIZATION_ID: &str = "0f0f0f0f-0000-4000-8000-000000000000";

/// Shared state of one fake: the API's data, the request log and pending faults.
pub(crate) struct State {
    pub(crate) private_key: String,
    pub(crate) public_key: String,
    /// `http://127.0.0.1:PORT`, for URLs the fake hands out.
    pub(crate) base_url: String,
    inner: Mutex<Inner>,
}

impl State {
    /// Empty state for a fake reached at `base_url`, taking these keys.
    pub(crate) fn new(private_key: &str, public_key: &str, base_url: String) -> State {
        State {
            private_key: private_key.to_string(),
            public_key: public_key.to_string(),
            base_url,
            inner: Mutex::default(),
        }
    }

    /// The data, locked. A poisoned lock (a handler panicked) still yields
    /// the data: the fake keeps serving.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
