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
//! It serves every operation of the API: agents, their sessions, the
//! session proxy and logs, secret sets, builds, organization properties and
//! regions; the private API under `/v1` with the private key, the public one
//! (session start and proxy) under `/v1/public` with the public key. Slow
//! things take a few reads to finish, as they do in the service: secret sets
//! provision ([`FakeCloud::set_provisioning_reads`]), agents deploy
//! ([`FakeCloud::set_agent_ready_reads`]) and builds build
//! ([`FakeCloud::set_build_reads`]). Agent updates roll out as in the
//! service: `reconciledDeploymentId` lags the desired deployment while the
//! old revision stays ready ([`FakeCloud::set_agent_operator_reads`]), then
//! the new revision progresses while the old one serves; an image named
//! `…broken…` or [`FakeCloud::fail_next_deploy`] ends in a failed revision
//! with a reason and a `Degraded` condition.
//!
//! Besides the API it records every request it receives
//! ([`FakeCloud::requests`]) and can be told to treat the next calls of an
//! operation differently ([`FakeCloud::fail_next`]): a canned answer, a
//! stall, a connection closed before or in the middle of the answer
//! ([`Fault`]).

mod agents;
mod auth;
mod builds;
mod clock;
mod faults;
mod logs;
mod names;
mod params;
mod properties;
mod proxy;
mod record;
mod regions;
mod secrets;
mod server;
mod sessions;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::watch;

pub use faults::Fault;
pub use record::RecordedRequest;

/// The private key the fake accepts unless told otherwise.
pub const PRIVATE_KEY: &str = "pcc-fake-private-key";
/// The public key the fake accepts unless told otherwise.
pub const PUBLIC_KEY: &str = "pcc-fake-public-key";

/// The organization every object of the fake belongs to.
pub(crate) const ORGANIZATION_ID: &str = "0f0f0f0f-0000-4000-8000-000000000000";

/// Shared state of one fake: the API's data, the request log and pending faults.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) private_key: String,
    pub(crate) public_key: String,
    /// `http://127.0.0.1:PORT`, for URLs the fake hands out.
    pub(crate) base_url: String,
    inner: Mutex<Inner>,
}

/// Everything that changes, behind one lock: resources refer to each other
/// (agents use secret sets and builds, sessions and logs belong to agents).
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) secrets: secrets::Store,
    pub(crate) agents: agents::Store,
    pub(crate) sessions: sessions::Store,
    pub(crate) logs: logs::Store,
    pub(crate) builds: builds::Store,
    pub(crate) properties: properties::Store,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) faults: Vec<faults::Armed>,
    /// Ids handed out so far.
    ids: u64,
}

impl Inner {
    /// The deployment `agent` runs now, when it exists: what its log lines carry.
    fn current_deployment(&self, agent: &str) -> Option<String> {
        self.agents
            .agents
            .get(agent)
            .map(|a| a.deployment_id.clone())
    }
}

impl Inner {
    /// A new id in the shape of a UUID, unique within this fake.
    pub(crate) fn new_id(&mut self) -> String {
        self.ids += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", 0xfa4e_0000_u32, self.ids)
    }
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
    shutdown: watch::Sender<()>,
}

impl FakeCloud {
    /// Starts a fake on a free loopback port.
    pub async fn start() -> std::io::Result<FakeCloud> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a fake on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeCloud> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            private_key: PRIVATE_KEY.to_string(),
            public_key: PUBLIC_KEY.to_string(),
            base_url: format!("http://{addr}"),
            inner: Mutex::default(),
        });
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(server::serve(listener, router(state.clone()), stopped));
        Ok(FakeCloud {
            addr,
            state,
            shutdown,
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

    /// The next `times` calls of `operation_id` (e.g. `"deleteSecretSet"`,
    /// one of [`operation_ids`]) get `fault` instead of the normal answer.
    /// Faults queue in order.
    ///
    /// # Panics
    ///
    /// When `operation_id` is not an operation this fake serves: a fault
    /// armed for a misspelt id would never fire, and the test relying on
    /// it would pass without testing anything.
    #[allow(clippy::panic)] // A test's mistake, reported where it is made.
    pub fn fail_next(&self, operation_id: &str, times: usize, fault: Fault) {
        if !OPERATIONS.iter().any(|(_, _, id, _)| *id == operation_id) {
            panic!(
                "fail_next: `{operation_id}` is not an operation of the fake (one of: {})",
                operation_ids().join(", ")
            );
        }
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

    /// How many reads of `getService` an agent stays `ready: false` after
    /// a create or an update that deploys; 1 unless changed. Until its first
    /// deployment is ready an agent takes no sessions (400 `PCC-1001`).
    pub fn set_agent_ready_reads(&self, reads: u32) {
        self.state.lock().agents.ready_reads = reads;
    }

    /// How many reads of `getService` after an update that deploys before
    /// the operator picks the new deployment up; 1 unless changed. Until
    /// then `reconciledDeploymentId` is the earlier deployment and `ready`
    /// is that deployment's readiness (true when it was ready), as the
    /// service reports it; then the new revision progresses
    /// ([`set_agent_ready_reads`](Self::set_agent_ready_reads) reads, the
    /// earlier revision still serving) and becomes ready.
    pub fn set_agent_operator_reads(&self, reads: u32) {
        self.state.lock().agents.operator_reads = reads;
    }

    /// Makes the next deployment (create, or update that deploys) fail with
    /// `reason`: once progressing it ends with its revision in phase
    /// `Failed`, health `ImagePullBackOff` with `reason` as message, and a
    /// `Degraded` condition; the agent stays available only when an earlier
    /// revision still serves. An image whose name contains `broken` fails
    /// the same way without this.
    pub fn fail_next_deploy(&self, reason: &str) {
        self.state.lock().agents.next_failure = Some(reason.to_string());
    }

    /// The names of the agents that exist now, in name order.
    pub fn agent_names(&self) -> Vec<String> {
        self.state.lock().agents.agents.keys().cloned().collect()
    }

    /// Makes `count` synthetic lines the start of `agent`'s log (replacing
    /// any seeded before), ahead of the lines sessions write. Line `i` reads
    /// `synthetic log line {i}`, is stamped `i` ms after
    /// 2025-01-01T00:00:00Z and carries the agent's deployment id at the
    /// time of seeding. Lines are made up when shown, so a million cost no
    /// memory. The agent must exist for `getLogs` to answer.
    pub fn seed_logs(&self, agent: &str, count: usize) {
        let inner = &mut *self.state.lock();
        let deployment = inner.current_deployment(agent);
        inner.logs.seed(agent, count, deployment);
    }

    /// Appends `count` lines to `agent`'s log now, after every line already
    /// there, as the running agent would: `appended log line {k}`, numbered
    /// on from the lines appended before (0 first), with the agent's
    /// deployment and strictly increasing timestamps. Callable from another
    /// task while a client is reading the log.
    pub fn append_logs(&self, agent: &str, count: usize) {
        let inner = &mut *self.state.lock();
        let deployment = inner.current_deployment(agent);
        inner.logs.append(agent, count, deployment.as_deref());
    }

    /// Makes `getLogs` report a total above `cap` as `cap` with relation
    /// `gte` (as a search index does past its exact-count limit), or, with
    /// `None`, every total exactly (the default).
    pub fn cap_log_totals(&self, cap: Option<usize>) {
        self.state.lock().logs.total_cap = cap;
    }

    /// How many reads (`getBuild` or `listBuilds`) a new build stays
    /// `building` before it ends; 1 unless changed. A build is `pending`
    /// until its first read.
    pub fn set_build_reads(&self, reads: u32) {
        self.state.lock().builds.building_reads = reads;
    }

    /// Makes the next new build end in `failed` with `message`.
    pub fn fail_next_build(&self, message: &str) {
        self.state.lock().builds.next_failure = Some(message.to_string());
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        // Stops accepting; open connections finish their request and close.
        let _ = self.shutdown.send(());
    }
}

/// Which key an operation takes, as the documentation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Private,
    Public,
    /// None: the storage host a presigned upload goes to, which takes no
    /// Pipecat key (the fields carry the credentials).
    Storage,
}

/// The route of the session proxy, for every method.
const PROXY: &str = "/v1/public/{serviceName}/sessions/{sessionId}/{*path}";

/// The operation ids this fake serves, sorted: every operation of the
/// spec, and `uploadBuildContext` (the presigned upload to the storage
/// host), for [`FakeCloud::fail_next`].
pub fn operation_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = OPERATIONS.iter().map(|(_, _, id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// (method, route, operation id, key) of every operation served.
pub(crate) const OPERATIONS: &[(&str, &str, &str, Key)] = &[
    // Not an API operation: the presigned upload, named so that faults
    // can be armed for it (`fail_next("uploadBuildContext", ..)`).
    (
        "POST",
        "/fake-uploads/{uploadId}",
        "uploadBuildContext",
        Key::Storage,
    ),
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
    ("POST", "/v1/agents", "createService", Key::Private),
    ("GET", "/v1/agents", "listServices", Key::Private),
    ("GET", "/v1/agents/{agentName}", "getService", Key::Private),
    (
        "POST",
        "/v1/agents/{agentName}",
        "updateService",
        Key::Private,
    ),
    (
        "DELETE",
        "/v1/agents/{agentName}",
        "deleteService",
        Key::Private,
    ),
    (
        "GET",
        "/v1/agents/{agentName}/logs",
        "getLogs",
        Key::Private,
    ),
    (
        "GET",
        "/v1/agents/{agentName}/sessions",
        "getSessions",
        Key::Private,
    ),
    (
        "GET",
        "/v1/agents/{agentName}/sessions/{sessionId}",
        "getSession",
        Key::Private,
    ),
    (
        "DELETE",
        "/v1/agents/{agentName}/sessions/{sessionId}",
        "stopSession",
        Key::Private,
    ),
    ("POST", "/v1/builds", "createBuild", Key::Private),
    ("GET", "/v1/builds", "listBuilds", Key::Private),
    (
        "POST",
        "/v1/builds/upload-url",
        "getBuildUploadUrl",
        Key::Private,
    ),
    ("GET", "/v1/builds/{buildId}", "getBuild", Key::Private),
    (
        "GET",
        "/v1/builds/{buildId}/logs",
        "getBuildLogs",
        Key::Private,
    ),
    ("GET", "/v1/properties", "getProperties", Key::Private),
    ("PATCH", "/v1/properties", "updateProperties", Key::Private),
    (
        "GET",
        "/v1/properties/schema",
        "getPropertiesSchema",
        Key::Private,
    ),
    ("GET", "/v1/regions", "listRegions", Key::Private),
    (
        "POST",
        "/v1/public/{agentName}/start",
        "startService",
        Key::Public,
    ),
    ("GET", PROXY, "sessionProxyGet", Key::Public),
    ("POST", PROXY, "sessionProxyPost", Key::Public),
    ("PUT", PROXY, "sessionProxyPut", Key::Public),
    ("PATCH", PROXY, "sessionProxyPatch", Key::Public),
    ("DELETE", PROXY, "sessionProxyDelete", Key::Public),
    ("OPTIONS", PROXY, "sessionProxyOptions", Key::Public),
    ("HEAD", PROXY, "sessionProxyHead", Key::Public),
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
        .route("/v1/agents", get(agents::list).post(agents::create))
        .route(
            "/v1/agents/{agentName}",
            get(agents::get).post(agents::update).delete(agents::delete),
        )
        .route("/v1/agents/{agentName}/logs", get(logs::get))
        .route("/v1/agents/{agentName}/sessions", get(sessions::list))
        .route(
            "/v1/agents/{agentName}/sessions/{sessionId}",
            get(sessions::get).delete(sessions::stop),
        )
        .route("/v1/builds", get(builds::list).post(builds::create))
        .route("/v1/builds/upload-url", post(builds::upload_url))
        .route("/v1/builds/{buildId}", get(builds::get))
        .route("/v1/builds/{buildId}/logs", get(builds::logs))
        .route(
            "/v1/properties",
            get(properties::get).patch(properties::update),
        )
        .route("/v1/properties/schema", get(properties::get_schema))
        .route("/v1/regions", get(regions::list))
        .route("/v1/public/{agentName}/start", post(sessions::start))
        .route(
            PROXY,
            get(proxy::forward)
                .post(proxy::forward)
                .put(proxy::forward)
                .patch(proxy::forward)
                .delete(proxy::forward)
                .options(proxy::forward)
                .head(proxy::forward),
        )
        .route("/fake-uploads/{uploadId}", post(builds::receive_upload))
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
        // The log below already caps bodies.
        .layer(DefaultBodyLimit::disable())
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

/// An answer in the documented error shape, not yet a response.
pub(crate) struct Failure {
    status: axum::http::StatusCode,
    message: String,
    code: &'static str,
}

impl Failure {
    pub(crate) fn new(
        status: axum::http::StatusCode,
        message: impl Into<String>,
        code: &'static str,
    ) -> Failure {
        Failure {
            status,
            message: message.into(),
            code,
        }
    }
}

impl axum::response::IntoResponse for Failure {
    fn into_response(self) -> axum::response::Response {
        error(self.status, &self.message, self.code)
    }
}

/// The operation id and key of a routed request, from its method and the
/// route it matched (only known after routing, hence `route_layer`s).
pub(crate) fn operation_of(request: &axum::extract::Request) -> Option<(&'static str, Key)> {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()?
        .as_str();
    let method = request.method().as_str();
    OPERATIONS
        .iter()
        .find(|(m, r, _, _)| *m == method && *r == route)
        .map(|(_, _, id, key)| (*id, *key))
}
