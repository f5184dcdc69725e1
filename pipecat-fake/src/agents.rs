//! Agents (services): `/v1/agents`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::answers::{Failure, error};
use crate::clock;
use crate::names::valid_agent_name;
use crate::params::Params;
use crate::state::{ORGANIZATION_ID, State};
use crate::{Inner, regions};

/// The Kubernetes namespace the fake's manifests name.
const NAMESPACE: &str = "fake-org";

/// All agents, and how deploying behaves.
pub(crate) struct Store {
    pub(crate) agents: BTreeMap<String, Agent>,
    /// Reads of `getService` a new deployment stays progressing once the
    /// operator has picked it up.
    pub(crate) ready_reads: u32,
    /// Reads of `getService` after an update before the operator picks the
    /// new deployment up (`reconciledDeploymentId` lags `desiredDeploymentId`
    /// and the old revision still reports `ready: true`).
    pub(crate) operator_reads: u32,
    /// The next deployment fails with this reason (see
    /// `FakeCloud::fail_next_deploy`).
    pub(crate) next_failure: Option<String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            agents: BTreeMap::new(),
            ready_reads: 1,
            operator_reads: 1,
            next_failure: None,
        }
    }
}

impl Store {
    /// Why a deployment of `config` will fail, if it will: an image whose
    /// name contains `broken`, or a failure armed with `fail_next_deploy`.
    fn failure_for(&mut self, config: &Config) -> Option<String> {
        if let Some(reason) = self.next_failure.take() {
            return Some(reason);
        }
        config
            .image
            .as_deref()
            .filter(|image| image.contains("broken"))
            .map(|image| format!("Back-off pulling image \"{image}\": not found"))
    }
}

/// One agent and its current deployment.
pub(crate) struct Agent {
    /// The service id.
    pub(crate) id: String,
    pub(crate) region: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    pub(crate) config: Config,
    /// The current (desired) deployment.
    pub(crate) deployment_id: String,
    deployment_created_at: DateTime<Utc>,
    /// The deployment the operator has picked up, if any: the desired one
    /// once picked up, until then the one before it.
    reconciled_deployment_id: Option<String>,
    /// The reconciled deployment is ready.
    ready: bool,
    /// During a rollout, the earlier deployment that still serves.
    serving: Option<String>,
    /// Reads left before the operator picks the desired deployment up.
    lag_left: u32,
    /// Reads left, once picked up, before the deployment ends.
    reads_left: u32,
    /// The desired deployment will fail (or has failed) with this reason.
    failure: Option<String>,
    /// The desired deployment has failed.
    failed: bool,
}

/// What a deployment runs: everything create and update can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    image: Option<String>,
    build_id: Option<String>,
    node_type: String,
    secret_set: Option<String>,
    image_pull_secret_set: Option<String>,
    /// Agents kept warm: sessions beyond them start cold.
    pub(crate) min_agents: u64,
    /// Sessions the agent takes at once; more answer 429.
    pub(crate) max_agents: u64,
    agent_profile: String,
    /// Explicit (cpu, memory) instead of the profile's.
    resources: Option<(String, String)>,
    architecture: Option<String>,
    websocket_auth: Option<String>,
    krisp_filter: Option<String>,
    max_session_duration: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            image: None,
            build_id: None,
            node_type: "arm".into(),
            secret_set: None,
            image_pull_secret_set: None,
            min_agents: 0,
            max_agents: 50,
            agent_profile: "agent-1x".into(),
            resources: None,
            architecture: None,
            websocket_auth: None,
            krisp_filter: None,
            max_session_duration: None,
        }
    }
}

impl Agent {
    /// Whether the operator has picked up the desired deployment.
    fn reconciled(&self) -> bool {
        self.reconciled_deployment_id.as_deref() == Some(self.deployment_id.as_str())
    }

    /// One read of the agent: the rollout moves on. First the operator
    /// picks the desired deployment up (after `lag_left` reads; until then
    /// the agent reports the earlier deployment, ready if it was), then the
    /// new revision progresses for `reads_left` reads while the earlier one
    /// serves, then it is ready, or failed when it carries a failure.
    fn observe(&mut self) {
        if self.failed || (self.ready && self.reconciled()) {
            return;
        }
        if self.lag_left > 0 {
            self.lag_left -= 1;
            return;
        }
        if !self.reconciled() {
            self.serving = if self.ready {
                self.reconciled_deployment_id.take()
            } else {
                None
            };
            self.reconciled_deployment_id = Some(self.deployment_id.clone());
            self.ready = false;
        }
        if self.reads_left > 0 {
            self.reads_left -= 1;
            return;
        }
        if self.failure.is_some() {
            self.failed = true;
        } else {
            self.ready = true;
            self.serving = None;
        }
    }

    /// Whether the agent takes sessions: its deployment is ready, or an
    /// earlier one still serves during a rolling update.
    pub(crate) fn available(&self) -> bool {
        self.ready || self.serving.is_some()
    }

    /// Starts a new deployment with `config`: the operator picks it up
    /// after `lag` reads, then it progresses for `reads` reads.
    fn deploy(
        &mut self,
        config: Config,
        deployment_id: String,
        lag: u32,
        reads: u32,
        failure: Option<String>,
    ) {
        let now = clock::now();
        if self.failed {
            // A failed deployment is abandoned; what served before it serves.
            self.reconciled_deployment_id = self.serving.take();
            self.ready = self.reconciled_deployment_id.is_some();
        }
        // Replaced before the operator picked it up: what is in place stays.
        self.config = config;
        self.deployment_id = deployment_id;
        self.deployment_created_at = now;
        self.updated_at = now;
        self.lag_left = lag;
        self.reads_left = reads;
        self.failure = failure;
        self.failed = false;
    }
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "GENERIC_BAD_REQUEST")
}

fn bad_reference(message: String) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, message, "GENERIC_BAD_REQUEST")
}

fn invalid_parameters() -> Response {
    bad_request("Invalid parameters")
}

/// Krisp VIVA filters the fake takes: the spec's `tel` and `pro`, and
/// `studio`, which the spec does not list yet, as a newer service would, so
/// that a value newer than the client's types is sent end to end.
const AUDIO_FILTERS: [&str; 3] = ["tel", "pro", "studio"];

/// The changes a create or update body asks for. `None` leaves a field as
/// it is; `krisp_filter: Some(None)` turns Krisp VIVA off.
#[derive(Debug, Default, PartialEq)]
struct Changes {
    image: Option<String>,
    build_id: Option<String>,
    node_type: Option<String>,
    secret_set: Option<String>,
    image_pull_secret_set: Option<String>,
    min_agents: Option<u64>,
    max_agents: Option<u64>,
    agent_profile: Option<String>,
    resources: Option<(String, String)>,
    architecture: Option<String>,
    websocket_auth: Option<String>,
    krisp_filter: Option<Option<String>>,
    max_session_duration: Option<u64>,
    force_redeploy: bool,
}

/// A string field, if present. (Null is not a string: refused.)
fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("'{key}' must be a string")),
    }
}

fn opt_count(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a non-negative integer")),
    }
}

/// Checks the fields create and update share.
fn parse_changes(obj: &Map<String, Value>) -> Result<Changes, String> {
    let mut changes = Changes {
        image: opt_string(obj, "image")?.filter(|s| !s.is_empty()),
        build_id: opt_string(obj, "buildId")?.filter(|s| !s.is_empty()),
        node_type: opt_string(obj, "nodeType")?,
        secret_set: opt_string(obj, "secretSet")?.filter(|s| !s.is_empty()),
        image_pull_secret_set: opt_string(obj, "imagePullSecretSet")?.filter(|s| !s.is_empty()),
        agent_profile: opt_string(obj, "agentProfile")?,
        architecture: opt_string(obj, "architecture")?,
        websocket_auth: opt_string(obj, "websocketAuth")?,
        max_session_duration: opt_count(obj, "maxSessionDuration")?,
        ..Changes::default()
    };
    if let Some(node_type) = &changes.node_type
        && node_type != "arm"
    {
        return Err(format!(
            "Invalid nodeType '{node_type}': only 'arm' is supported"
        ));
    }
    if let Some(profile) = &changes.agent_profile
        && !["agent-1x", "agent-2x", "agent-3x"].contains(&profile.as_str())
    {
        return Err(format!(
            "Invalid agentProfile '{profile}': use agent-1x, agent-2x or agent-3x"
        ));
    }
    if let Some(seconds) = changes.max_session_duration
        && !(60..=14400).contains(&seconds)
    {
        return Err("maxSessionDuration must be from 60 to 14400 seconds".into());
    }
    if let Some(arch) = &changes.architecture
        && arch != "amd64"
        && arch != "arm64"
    {
        return Err(format!("Invalid architecture '{arch}': use amd64 or arm64"));
    }
    match obj.get("resources") {
        None => {}
        Some(Value::Object(resources)) => {
            let cpu = opt_string(resources, "cpu")?.filter(|q| valid_quantity(q));
            let memory = opt_string(resources, "memory")?.filter(|q| valid_quantity(q));
            let (Some(cpu), Some(memory)) = (cpu, memory) else {
                return Err("resources needs cpu and memory as Kubernetes quantities".into());
            };
            if changes.agent_profile.is_some() {
                return Err("Cannot specify both agentProfile and resources".into());
            }
            changes.resources = Some((cpu, memory));
        }
        Some(_) => return Err("'resources' must be an object".into()),
    }
    match obj.get("autoScaling") {
        None => {}
        Some(Value::Object(scaling)) => {
            changes.min_agents = opt_count(scaling, "minAgents")?;
            changes.max_agents = opt_count(scaling, "maxAgents")?;
        }
        Some(_) => return Err("'autoScaling' must be an object".into()),
    }
    match obj.get("krispViva") {
        None => {}
        Some(Value::Object(krisp)) => match krisp.get("audioFilter") {
            None => {}
            Some(Value::Null) => changes.krisp_filter = Some(None),
            Some(Value::String(f)) if AUDIO_FILTERS.contains(&f.as_str()) => {
                changes.krisp_filter = Some(Some(f.clone()));
            }
            Some(_) => {
                return Err("krispViva.audioFilter must be 'tel', 'pro', 'studio' or null".into());
            }
        },
        Some(_) => return Err("'krispViva' must be an object".into()),
    }
    match obj.get("forceRedeploy") {
        None => {}
        Some(Value::Bool(force)) => changes.force_redeploy = *force,
        Some(_) => return Err("'forceRedeploy' must be a boolean".into()),
    }
    Ok(changes)
}

/// A Kubernetes quantity such as `500m`, `2` or `1.5Gi`.
fn valid_quantity(quantity: &str) -> bool {
    const UNITS: &[&str] = &[
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let number_end = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(number_end);
    let parts: Vec<&str> = number.split('.').collect();
    (1..=2).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty()) && UNITS.contains(&unit)
}

impl Config {
    /// This configuration with `changes` applied, checked for consistency.
    fn apply(&self, changes: Changes) -> Result<Config, String> {
        let mut next = self.clone();
        if changes.image.is_some() && changes.build_id.is_some() {
            return Err("Cannot specify both image and buildId. Use one or the other.".into());
        }
        if let Some(image) = changes.image {
            next.image = Some(image);
            next.build_id = None;
        }
        if let Some(build_id) = changes.build_id {
            next.build_id = Some(build_id);
            next.image = None;
        }
        if let Some(node_type) = changes.node_type {
            next.node_type = node_type;
        }
        if let Some(set) = changes.secret_set {
            next.secret_set = Some(set);
        }
        if let Some(set) = changes.image_pull_secret_set {
            next.image_pull_secret_set = Some(set);
        }
        if let Some(min) = changes.min_agents {
            next.min_agents = min;
        }
        if let Some(max) = changes.max_agents {
            next.max_agents = max;
        }
        if let Some(profile) = changes.agent_profile {
            next.agent_profile = profile;
            next.resources = None;
        }
        if let Some(resources) = changes.resources {
            next.resources = Some(resources);
        }
        if let Some(arch) = changes.architecture {
            next.architecture = Some(arch);
        }
        if let Some(auth) = changes.websocket_auth {
            next.websocket_auth = Some(auth);
        }
        if let Some(filter) = changes.krisp_filter {
            next.krisp_filter = filter;
        }
        if let Some(seconds) = changes.max_session_duration {
            next.max_session_duration = Some(seconds);
        }
        if next.max_agents == 0 {
            return Err("autoScaling.maxAgents must be at least 1".into());
        }
        if next.min_agents > next.max_agents {
            return Err("autoScaling.minAgents cannot be greater than maxAgents".into());
        }
        Ok(next)
    }

    /// CPU and memory of each instance: explicit, or the profile's.
    fn resources(&self) -> (&str, &str) {
        if let Some((cpu, memory)) = &self.resources {
            return (cpu, memory);
        }
        match self.agent_profile.as_str() {
            "agent-2x" => ("1", "2Gi"),
            "agent-3x" => ("1500m", "3Gi"),
            _ => ("500m", "1Gi"),
        }
    }
}

/// Checks what `config` refers to (build, secret sets) against the rest of
/// the fake, for an agent in `region`. Create and update word region
/// mismatches differently.
fn check_references(
    inner: &Inner,
    config: &Config,
    region: &str,
    creating: bool,
) -> Result<(), Failure> {
    let where_service = if creating {
        format!("service will be created in region '{region}'")
    } else {
        format!("service is in region '{region}'")
    };
    if let Some(build_id) = &config.build_id {
        let Some(build) = inner.builds.info(build_id) else {
            return Err(bad_reference("Build not found".into()));
        };
        if build.region != region {
            return Err(bad_reference(format!(
                "Build is in region '{}' but service is in region '{region}'. Builds must be in the same region as the service.",
                build.region
            )));
        }
        if build.status != "success" {
            return Err(bad_reference(format!(
                "Build is not ready (status: {}). Only successful builds can be deployed.",
                build.status
            )));
        }
    }
    let sets = [
        (&config.secret_set, false, "Secret set", "Secrets"),
        (
            &config.image_pull_secret_set,
            true,
            "Image pull secret set",
            "Image pull secrets",
        ),
    ];
    for (name, image_pull, what, plural) in sets {
        let Some(name) = name else { continue };
        let Some(set) = inner
            .secrets
            .info(name)
            .filter(|set| set.image_pull == image_pull)
        else {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("{what} not found"),
                "NOT_FOUND",
            ));
        };
        if set.region != region {
            return Err(bad_reference(format!(
                "{what} '{name}' is in region '{}' but {where_service}. {plural} must be in the same region as the service.",
                set.region
            )));
        }
        if set.status != "ready" {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                format!("{what} '{name}' is not ready (status: {})", set.status),
                "CONFLICT",
            ));
        }
    }
    Ok(())
}

/// The agent in the `ServiceDetailsResponse` shape.
fn details(name: &str, agent: &Agent, active_sessions: usize) -> Value {
    let config = &agent.config;
    json!({
        "name": name,
        "region": agent.region,
        "ready": agent.ready,
        "available": agent.available(),
        "conditions": conditions(agent),
        "createdAt": clock::millis(agent.created_at),
        "updatedAt": clock::millis(agent.updated_at),
        "desiredDeploymentId": agent.deployment_id,
        "activeDeploymentId": agent.deployment_id,
        "activeDeploymentReady": agent.ready,
        "autoScaling": {
            "maxReplicas": config.max_agents,
            "minReplicas": config.min_agents,
        },
        "activeSessionCount": active_sessions,
        "deployment": deployment(name, agent),
        "agentProfile": config.agent_profile,
        "krispViva": {"audioFilter": config.krisp_filter},
        "reconciledDeploymentId": agent.reconciled_deployment_id,
        "currentRevision": revision(agent),
        "previousRevision": previous_revision(agent),
    })
}

/// During a rollout, the deployment still serving; else null.
fn previous_revision(agent: &Agent) -> Value {
    match &agent.serving {
        Some(id) if agent.reconciled() => json!({
            "deploymentID": id,
            "phase": "Active",
            "readyReplicas": agent.config.min_agents,
            "phaseStartedAt": clock::millis(agent.updated_at),
            "health": healthy(agent),
        }),
        _ => Value::Null,
    }
}

fn healthy(agent: &Agent) -> Value {
    json!({
        "ready": true,
        "state": "running",
        "restartCount": 0,
        "replicasStarted": agent.config.min_agents,
    })
}

/// The reconciled deployment's revision: the desired one once the operator
/// has picked it up, until then the earlier one (null for a new agent).
fn revision(agent: &Agent) -> Value {
    let Some(id) = &agent.reconciled_deployment_id else {
        return Value::Null;
    };
    if agent.failed {
        let reason = agent.failure.as_deref().unwrap_or("the deployment failed");
        return json!({
            "deploymentID": id,
            "phase": "Failed",
            "readyReplicas": 0,
            "phaseStartedAt": clock::millis(agent.deployment_created_at),
            "health": {
                "ready": false,
                "state": "waiting",
                "reason": "ImagePullBackOff",
                "message": reason,
                "restartCount": 0,
                "replicasStarted": 1,
            },
        });
    }
    let mut v = json!({
        "deploymentID": id,
        "phase": if agent.ready { "Active" } else { "Creating" },
        "readyReplicas": if agent.ready { agent.config.min_agents } else { 0 },
        "phaseStartedAt": clock::millis(agent.deployment_created_at),
    });
    if agent.ready {
        v["health"] = healthy(agent);
    }
    v
}

/// The deployment's conditions, as the operator reports them.
fn conditions(agent: &Agent) -> Value {
    let condition = |kind: &str, status: &str, reason: &str, message: &str| json!({"type": kind, "status": status, "reason": reason, "message": message});
    if agent.failed {
        let reason = agent.failure.as_deref().unwrap_or("the deployment failed");
        json!([
            condition("Progressing", "False", "ProgressDeadlineExceeded", reason),
            condition("Degraded", "True", "ImagePullBackOff", reason),
            condition(
                "Available",
                if agent.available() { "True" } else { "False" },
                "",
                ""
            ),
        ])
    } else if agent.ready && agent.reconciled() {
        json!([
            condition(
                "Progressing",
                "False",
                "RolloutComplete",
                "rollout complete"
            ),
            condition("Available", "True", "Ready", ""),
        ])
    } else {
        json!([
            condition(
                "Progressing",
                "True",
                "NewRevisionProgressing",
                "new revision progressing"
            ),
            condition(
                "Available",
                if agent.available() { "True" } else { "False" },
                "",
                ""
            ),
        ])
    }
}

/// The current deployment with its manifest.
fn deployment(name: &str, agent: &Agent) -> Value {
    let config = &agent.config;
    let (cpu, memory) = config.resources();
    let mut spec = json!({
        "dailyNodeType": config.node_type,
        "autoScaling": {
            "minReplicas": config.min_agents,
            "maxReplicas": config.max_agents,
        },
        "envFromSecretNames": config.secret_set.iter().collect::<Vec<_>>(),
        "resources": {"cpu": cpu, "memory": memory},
        "krispModels": {"enabled": false},
        "krispViva": {"audioFilters": config.krisp_filter.is_some()},
    });
    // Deployed from a build, the image is not shown.
    if let Some(image) = &config.image {
        spec["image"] = json!(image);
    }
    if let Some(set) = &config.image_pull_secret_set {
        spec["imagePullSecretName"] = json!(set);
    }
    if let Some(seconds) = config.max_session_duration {
        spec["maxSessionDurationSeconds"] = json!(seconds);
    }
    json!({
        "id": agent.deployment_id,
        "manifest": {
            "apiVersion": "pipecatcloud.daily.co/v1",
            "kind": "PCService",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec,
        },
        "serviceId": agent.id,
        "createdAt": clock::millis(agent.deployment_created_at),
        "updatedAt": clock::millis(agent.deployment_created_at),
    })
}

/// The body as a JSON object, if it is one.
fn object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    }
}

pub(crate) async fn create(
    AxumState(state): AxumState<Arc<State>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(obj) = object(&body) else {
        return invalid_parameters();
    };
    let name = match obj.get("serviceName") {
        Some(Value::String(name)) if valid_agent_name(name) => name.clone(),
        Some(Value::String(_)) => {
            return bad_request(
                "Invalid agent name: use 1-54 lowercase letters, digits and '-', starting and ending with a letter or digit",
            );
        }
        _ => return bad_request("serviceName is required"),
    };
    let region = match opt_string(&obj, "region") {
        Ok(region) => region,
        Err(message) => return bad_request(&message),
    };
    let changes = match parse_changes(&obj) {
        Ok(changes) => changes,
        Err(message) => return bad_request(&message),
    };
    if changes.image.is_none() && changes.build_id.is_none() {
        return bad_request("Either image or buildId is required for service creation");
    }
    let config = match Config::default().apply(changes) {
        Ok(config) => config,
        Err(message) => return bad_request(&message),
    };
    let inner = &mut *state.lock();
    if inner.agents.agents.contains_key(&name) {
        return bad_request("Service already exists");
    }
    let region = region.unwrap_or_else(|| inner.properties.default_region.clone());
    if !regions::known(&region) {
        return bad_request(&format!(
            "Region '{region}' is not available. Available regions: {}",
            regions::codes()
        ));
    }
    if let Err(failure) = check_references(inner, &config, &region, true) {
        return failure.into_response();
    }
    let now = clock::now();
    let failure = inner.agents.failure_for(&config);
    let agent = Agent {
        id: inner.new_id(),
        region,
        created_at: now,
        updated_at: now,
        config,
        deployment_id: inner.new_id(),
        deployment_created_at: now,
        reconciled_deployment_id: None,
        ready: false,
        serving: None,
        lag_left: 0,
        reads_left: inner.agents.ready_reads,
        failure,
        failed: false,
    };
    let v = details(&name, &agent, 0);
    inner.agents.agents.insert(name, agent);
    Json(v).into_response()
}

pub(crate) async fn list(
    AxumState(state): AxumState<Arc<State>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let params = Params(params);
    let include_deployment = match params.bool("includeActiveDeployment") {
        Ok(include) => include.unwrap_or(false),
        Err(message) => return bad_request(&message),
    };
    let region = params.text("region");
    let inner = state.lock();
    let services: Vec<Value> = inner
        .agents
        .agents
        .iter()
        .filter(|(_, agent)| region.is_none_or(|r| r == agent.region))
        .map(|(name, agent)| {
            let mut v = json!({
                "id": agent.id,
                "name": name,
                "region": agent.region,
                "desiredDeploymentId": agent.deployment_id,
                "activeDeploymentId": agent.deployment_id,
                "reconciledDeploymentId": agent.reconciled_deployment_id,
                "organizationId": ORGANIZATION_ID,
                "createdAt": clock::millis(agent.created_at),
                "updatedAt": clock::millis(agent.updated_at),
                "deletedAt": null,
            });
            if include_deployment {
                v["deployment"] = deployment(name, agent);
            }
            v
        })
        .collect();
    Json(json!({ "services": services })).into_response()
}

fn agent_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found", "NOT_FOUND")
}

pub(crate) async fn get(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
) -> Response {
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.get_mut(&name) else {
        return agent_not_found();
    };
    agent.observe();
    let active = inner.sessions.active_count(&agent.id);
    Json(details(&name, agent, active)).into_response()
}

pub(crate) async fn update(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(obj) = object(&body) else {
        return invalid_parameters();
    };
    let changes = match parse_changes(&obj) {
        Ok(changes) => changes,
        Err(message) => return bad_request(&message),
    };
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.get(&name) else {
        return error(StatusCode::NOT_FOUND, "Service not found", "NOT_FOUND");
    };
    let force = changes.force_redeploy;
    let config = match agent.config.apply(changes) {
        Ok(config) => config,
        Err(message) => return bad_request(&message),
    };
    if let Err(failure) = check_references(inner, &config, &agent.region, false) {
        return failure.into_response();
    }
    let redeploy = force || config != agent.config;
    let deployment_id = inner.new_id();
    let reads = inner.agents.ready_reads;
    let lag = inner.agents.operator_reads;
    let failure = if redeploy {
        inner.agents.failure_for(&config)
    } else {
        None
    };
    let Some(agent) = inner.agents.agents.get_mut(&name) else {
        return error(StatusCode::NOT_FOUND, "Service not found", "NOT_FOUND");
    };
    if redeploy {
        agent.deploy(config, deployment_id, lag, reads, failure);
    }
    let active = inner.sessions.active_count(&agent.id);
    Json(details(&name, agent, active)).into_response()
}

pub(crate) async fn delete(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
) -> Response {
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.remove(&name) else {
        return agent_not_found();
    };
    inner.sessions.end_all(&agent.id, "SERVICE_DELETED");
    inner.logs.forget(&name);
    Json(json!({"status": "OK"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(body: Value) -> Result<Changes, String> {
        match body {
            Value::Object(obj) => parse_changes(&obj),
            _ => Err("not an object".into()),
        }
    }

    #[test]
    fn parses_fields() {
        let parsed = changes(json!({
            "image": "me/bot:1",
            "secretSet": "s",
            "autoScaling": {"minAgents": 1, "maxAgents": 3},
            "krispViva": {"audioFilter": null},
            "agentProfile": "agent-2x",
            "maxSessionDuration": 60,
            "unknownField": true,
        }));
        let parsed = parsed.unwrap();
        assert_eq!(parsed.image.as_deref(), Some("me/bot:1"));
        assert_eq!(parsed.min_agents, Some(1));
        assert_eq!(parsed.max_agents, Some(3));
        assert_eq!(parsed.krisp_filter, Some(None));
        assert_eq!(parsed.agent_profile.as_deref(), Some("agent-2x"));
    }

    #[test]
    fn rejects_bad_fields() {
        for body in [
            json!({"image": 5}),
            json!({"nodeType": "x86"}),
            json!({"agentProfile": "agent-9x"}),
            json!({"maxSessionDuration": 59}),
            json!({"maxSessionDuration": 14401}),
            json!({"autoScaling": {"maxAgents": -1}}),
            json!({"autoScaling": 3}),
            json!({"krispViva": {"audioFilter": "max"}}),
            json!({"forceRedeploy": "yes"}),
            json!({"secretSet": null}),
            json!({"autoScaling": {"maxAgents": null}}),
            json!({"architecture": "riscv"}),
            json!({"resources": {"cpu": "1"}}),
            json!({"resources": {"cpu": "lots", "memory": "1Gi"}}),
            json!({"resources": {"cpu": "1", "memory": "1Gi"}, "agentProfile": "agent-1x"}),
        ] {
            assert!(changes(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn quantities() {
        for ok in ["500m", "2", "1.5", "4Gi", "0.5Ki"] {
            assert!(valid_quantity(ok), "{ok}");
        }
        for bad in ["", "m", "1.", ".5", "1.2.3", "4GB", "-1", "1 Gi"] {
            assert!(!valid_quantity(bad), "{bad}");
        }
        let explicit = Changes {
            resources: Some(("2".into(), "4Gi".into())),
            ..Changes::default()
        };
        let config = Config::default().apply(explicit).unwrap();
        assert_eq!(config.resources(), ("2", "4Gi"));
        let back = Changes {
            agent_profile: Some("agent-3x".into()),
            ..Changes::default()
        };
        assert_eq!(config.apply(back).unwrap().resources(), ("1500m", "3Gi"));
    }

    #[test]
    fn image_xor_build() {
        let both = Changes {
            image: Some("i".into()),
            build_id: Some("b".into()),
            ..Changes::default()
        };
        assert!(Config::default().apply(both).is_err());
        let base = Config {
            image: Some("i".into()),
            ..Config::default()
        };
        let to_build = Changes {
            build_id: Some("b".into()),
            ..Changes::default()
        };
        let next = base.apply(to_build).unwrap();
        assert_eq!(next.image, None);
        assert_eq!(next.build_id.as_deref(), Some("b"));
    }

    #[test]
    fn scaling_bounds() {
        let inverted = Changes {
            min_agents: Some(3),
            max_agents: Some(2),
            ..Changes::default()
        };
        assert!(Config::default().apply(inverted).is_err());
        let zero = Changes {
            max_agents: Some(0),
            ..Changes::default()
        };
        assert!(Config::default().apply(zero).is_err());
    }

    fn new_agent(reads: u32) -> Agent {
        let now = clock::now();
        Agent {
            id: "id".into(),
            region: "us-west".into(),
            created_at: now,
            updated_at: now,
            config: Config::default(),
            deployment_id: "d1".into(),
            deployment_created_at: now,
            reconciled_deployment_id: None,
            ready: false,
            serving: None,
            lag_left: 0,
            reads_left: reads,
            failure: None,
            failed: false,
        }
    }

    #[test]
    fn ready_after_reads() {
        let mut agent = new_agent(2);
        let v = details("a", &agent, 0);
        assert_eq!(v["reconciledDeploymentId"], Value::Null);
        assert_eq!(v["currentRevision"], Value::Null);
        agent.observe();
        agent.observe();
        assert!(!agent.ready && !agent.available());
        let v = details("a", &agent, 0);
        assert_eq!(v["reconciledDeploymentId"], "d1");
        assert_eq!(v["currentRevision"]["phase"], "Creating");
        assert_eq!(v["previousRevision"], Value::Null);
        agent.observe();
        assert!(agent.ready && agent.available());

        agent.deploy(Config::default(), "d2".into(), 1, 1, None);
        // The operator has not picked d2 up: the old revision is in place
        // and ready.
        let v = details("a", &agent, 0);
        assert_eq!(v["ready"], true);
        assert_eq!(v["reconciledDeploymentId"], "d1");
        assert_eq!(v["desiredDeploymentId"], "d2");
        agent.observe();
        assert_eq!(details("a", &agent, 0)["reconciledDeploymentId"], "d1");
        // Picked up: d2 progresses while d1 serves.
        agent.observe();
        let v = details("a", &agent, 0);
        assert_eq!(v["ready"], false);
        assert_eq!(v["available"], true);
        assert_eq!(v["reconciledDeploymentId"], "d2");
        assert_eq!(v["currentRevision"]["deploymentID"], "d2");
        assert_eq!(v["previousRevision"]["deploymentID"], "d1");
        agent.observe();
        assert!(agent.ready);
        let v = details("a", &agent, 0);
        assert_eq!(v["previousRevision"], Value::Null);
        assert_eq!(v["reconciledDeploymentId"], "d2");
    }

    #[test]
    fn a_broken_deployment_fails_with_its_reason() {
        let mut agent = new_agent(0);
        agent.observe();
        assert!(agent.ready);
        agent.deploy(Config::default(), "d2".into(), 0, 0, Some("bad".into()));
        agent.observe();
        let v = details("a", &agent, 0);
        assert_eq!(v["currentRevision"]["phase"], "Failed");
        assert_eq!(v["currentRevision"]["health"]["message"], "bad");
        assert_eq!(v["conditions"][1]["type"], "Degraded");
        assert_eq!(v["available"], true, "the old revision still serves");
        agent.deploy(Config::default(), "d3".into(), 0, 0, None);
        assert_eq!(agent.reconciled_deployment_id.as_deref(), Some("d1"));
        agent.observe();
        assert!(agent.ready && agent.reconciled());
    }
}
