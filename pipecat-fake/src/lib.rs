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
//! operation ([`Op`]) differently ([`FakeCloud::fail_next`]): a canned
//! answer, a stall, a connection closed before or in the middle of the
//! answer ([`Fault`]).

// This file is the facade. The API's handlers are a module per resource,
// each with its data (agents, builds, logs, properties, proxy, regions,
// secrets, sessions); around them the operation table (`ops`), the router
// (`routes`), error answers (`answers`), keys (`auth`), faults, the request
// log (`record`), the accept loop (`server`) and the shared state (`state`).
mod agents;
mod answers;
mod auth;
mod builds;
mod clock;
mod faults;
mod logs;
mod names;
mod ops;
mod params;
mod properties;
mod proxy;
mod record;
mod regions;
mod routes;
mod secrets;
mod server;
mod sessions;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

pub use faults::Fault;
pub use ops::{Op, UnknownOp, operation_ids};
pub use record::RecordedRequest;

use state::State;

/// The private key the fake accepts unless told otherwise.
pub const PRIVATE_KEY: &str = "pcc-fake-private-key";
/// The public key the fake accepts unless told otherwise.
pub const PUBLIC_KEY: &str = "pcc-fake-public-key";

/// Everything that changes, behind one lock ([`State::lock`]): resources
/// refer to each other (agents use secret sets and builds, sessions and
/// logs belong to agents), so their stores come together here, in the
/// crate root, over the modules that hold them: in a module of its own it
/// would make an import circle with each of them.
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
        let state = Arc::new(State::new(
            PRIVATE_KEY,
            PUBLIC_KEY,
            format!("http://{addr}"),
        ));
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(server::serve(
            listener,
            routes::router(state.clone()),
            stopped,
        ));
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

    /// The next `times` calls of `op` get `fault` instead of the normal
    /// answer. Faults queue in order.
    ///
    /// ```no_run
    /// # use pipecat_fake::{FakeCloud, Fault, Op};
    /// # fn arm(fake: &FakeCloud) {
    /// fake.fail_next(Op::DeleteSecretSet, 1, Fault::empty(500));
    /// # }
    /// ```
    pub fn fail_next(&self, op: Op, times: usize, fault: Fault) {
        self.state.lock().faults.push(faults::Armed {
            op,
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
