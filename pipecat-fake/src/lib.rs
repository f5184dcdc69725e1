//! A stateful, in-memory Pipecat Cloud server for tests and for trying a
//! client by hand.
//!
//! It behaves as the Pipecat Cloud documentation describes, not as any
//! client expects: it does not depend on pipecat-api, so tests that run the
//! client against it check the client rather than mirror it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let fake = pipecat_fake::FakeCloud::start().await?;
//! println!("PIPECAT_API_HOST={} PIPECAT_API_KEY={}", fake.url(), fake.private_key());
//! # Ok(()) }
//! ```
//!
//! Besides the API it records every request it receives
//! ([`FakeCloud::requests`]) and can be told to answer the next calls of an
//! operation with a canned response ([`FakeCloud::fail_next`]).

mod auth;
mod faults;
mod names;
mod record;
mod secrets;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::get;
use tokio::sync::oneshot;

pub use faults::Fault;
pub use record::RecordedRequest;

/// The private key the fake accepts unless told otherwise.
pub const PRIVATE_KEY: &str = "pcc-fake-private-key";
/// The public key the fake accepts unless told otherwise.
pub const PUBLIC_KEY: &str = "pcc-fake-public-key";

/// Shared state of one fake: the API's data, the request log and pending faults.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) private_key: String,
    pub(crate) public_key: String,
    inner: Mutex<Inner>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) secrets: secrets::Store,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) faults: Vec<faults::Armed>,
}

impl State {
    /// The data, locked. A poisoned lock (a handler panicked) still yields
    /// the data: the fake keeps serving.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake Pipecat Cloud on a loopback port. Stops when dropped.
pub struct FakeCloud {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeCloud {
    /// Starts a fake on a free loopback port.
    pub async fn start() -> std::io::Result<FakeCloud> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a fake on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeCloud> {
        let state = Arc::new(State {
            private_key: PRIVATE_KEY.to_string(),
            public_key: PUBLIC_KEY.to_string(),
            inner: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeCloud {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    /// The host to point a client at, e.g. `http://127.0.0.1:41234`
    /// (the API itself is below it, at `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The private key the fake accepts.
    pub fn private_key(&self) -> &str {
        &self.state.private_key
    }

    /// The public key the fake accepts.
    pub fn public_key(&self) -> &str {
        &self.state.public_key
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.state.lock().requests.len()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// The next `times` calls of `operation_id` (e.g. `"deleteSecretSet"`)
    /// get `fault` instead of the normal answer. Faults queue in order.
    pub fn fail_next(&self, operation_id: &str, times: usize, fault: Fault) {
        self.state.lock().faults.push(faults::Armed {
            operation: operation_id.to_string(),
            remaining: times,
            fault,
        });
    }

    /// How many reads (`getSecretSet` or `listSecretSets`) a secret set stays
    /// `pending` after an upsert; 1 unless changed.
    pub fn set_provisioning_reads(&self, reads: u32) {
        self.state.lock().secrets.provisioning_reads = reads;
    }

    /// Makes the next upsert of `set_name` end in `failed` with `message`
    /// instead of `ready`.
    pub fn fail_provisioning(&self, set_name: &str, message: &str) {
        self.state
            .lock()
            .secrets
            .failures
            .insert(set_name.to_string(), message.to_string());
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Which key an operation takes, as the documentation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Private,
    #[allow(dead_code)] // the public API is not served yet
    Public,
}

/// (method, route, operation id, key) of every operation served.
pub(crate) const OPERATIONS: &[(&str, &str, &str, Key)] = &[
    ("GET", "/v1/secrets", "listSecretSets", Key::Private),
    (
        "GET",
        "/v1/secrets/{set_name}",
        "getSecretSet",
        Key::Private,
    ),
    (
        "PUT",
        "/v1/secrets/{set_name}",
        "upsertSecretSet",
        Key::Private,
    ),
    (
        "DELETE",
        "/v1/secrets/{set_name}",
        "deleteSecretSet",
        Key::Private,
    ),
    (
        "DELETE",
        "/v1/secrets/{set_name}/{secret_key}",
        "deleteSecretFromSet",
        Key::Private,
    ),
];

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/secrets", get(secrets::list))
        .route(
            "/v1/secrets/{set_name}",
            get(secrets::get)
                .put(secrets::upsert)
                .delete(secrets::delete_set),
        )
        .route(
            "/v1/secrets/{set_name}/{secret_key}",
            axum::routing::delete(secrets::delete_key),
        )
        // Runs after routing, so it knows the operation: faults, then auth.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .fallback(not_found)
        // Runs first, for every request: the log.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record::record,
        ))
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    error(axum::http::StatusCode::NOT_FOUND, "Not found", "NOT_FOUND")
}

/// An answer in the documented error shape `{"error", "code"}`.
pub(crate) fn error(
    status: axum::http::StatusCode,
    message: &str,
    code: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        axum::Json(serde_json::json!({"error": message, "code": code})),
    )
        .into_response()
}

/// The operation id of a routed request, from its method and route.
pub(crate) fn operation_of(method: &str, route: &str) -> Option<(&'static str, Key)> {
    OPERATIONS
        .iter()
        .find(|(m, r, _, _)| *m == method && *r == route)
        .map(|(_, _, id, key)| (*id, *key))
}
