//! Secret sets: `/v1/secrets`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::answers::error;
use crate::names::{valid_secret_key, valid_set_name};
use crate::state::State;

const DEFAULT_REGION: &str = "us-west";

/// All secret sets, and how provisioning behaves.
pub(crate) struct Store {
    sets: BTreeMap<String, SecretSet>,
    /// Reads a set stays `pending` after an upsert.
    pub(crate) provisioning_reads: u32,
    /// Sets whose next provisioning fails, with the message.
    pub(crate) failures: HashMap<String, String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            sets: BTreeMap::new(),
            provisioning_reads: 1,
            failures: HashMap::new(),
        }
    }
}

/// What an agent needs to know about a secret set it references.
pub(crate) struct SetInfo<'a> {
    /// Whether it is an image pull secret (else a regular set).
    pub(crate) image_pull: bool,
    pub(crate) region: &'a str,
    /// `pending`, `ready` or `failed`.
    pub(crate) status: &'static str,
}

impl Store {
    /// The set called `name`, as it is now (looking does not advance provisioning).
    pub(crate) fn info(&self, name: &str) -> Option<SetInfo<'_>> {
        self.sets.get(name).map(|set| SetInfo {
            image_pull: set.kind == Kind::ImagePullSecret,
            region: &set.region,
            status: set.status_text(),
        })
    }
}

struct SecretSet {
    kind: Kind,
    region: String,
    status: Status,
    /// Reads left before `pending` turns into the outcome.
    reads_left: u32,
    /// What provisioning ends in: `None` for ready, a message for failed.
    outcome: Option<String>,
    keys: BTreeMap<String, String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Secret,
    ImagePullSecret,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Ready,
    Failed,
}

impl SecretSet {
    /// One read of the set: provisioning moves on.
    fn observe(&mut self) {
        if self.status != Status::Pending {
            return;
        }
        if self.reads_left > 0 {
            self.reads_left -= 1;
            return;
        }
        self.status = if self.outcome.is_some() {
            Status::Failed
        } else {
            Status::Ready
        };
    }

    fn status_text(&self) -> &'static str {
        match self.status {
            Status::Pending => "pending",
            Status::Ready => "ready",
            Status::Failed => "failed",
        }
    }
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "GENERIC_BAD_REQUEST")
}

fn bad_name() -> Response {
    bad_request(
        "Invalid secret set name: use 3-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    )
}

fn set_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Set not found", "NOT_FOUND")
}

pub(crate) async fn list(AxumState(state): AxumState<Arc<State>>) -> Response {
    let mut inner = state.lock();
    let sets: Vec<Value> = inner
        .secrets
        .sets
        .iter_mut()
        .map(|(name, set)| {
            set.observe();
            let mut v = json!({
                "name": name,
                "type": if set.kind == Kind::Secret { "secret" } else { "imagePullSecret" },
                "region": set.region,
                "status": set.status_text(),
            });
            if let (Status::Failed, Some(message)) = (set.status, &set.outcome) {
                v["errorMessage"] = json!(message);
            }
            v
        })
        .collect();
    Json(json!({ "sets": sets })).into_response()
}

pub(crate) async fn get(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
) -> Response {
    if !valid_set_name(&name) {
        return bad_name();
    }
    let mut inner = state.lock();
    let Some(set) = inner.secrets.sets.get_mut(&name) else {
        return set_not_found();
    };
    if set.kind == Kind::ImagePullSecret {
        return bad_request("Cannot retrieve image pull secrets by name");
    }
    set.observe();
    let mut v = json!({
        "region": set.region,
        "status": set.status_text(),
        "secrets": set.keys.keys().map(|k| json!({"fieldName": k})).collect::<Vec<_>>(),
    });
    if let (Status::Failed, Some(message)) = (set.status, &set.outcome) {
        v["errorMessage"] = json!(message);
    }
    Json(v).into_response()
}

/// What a PUT body asks for, once checked.
enum Upsert {
    Secrets(Vec<(String, String)>),
    ImagePull { host: String, value: String },
}

fn parse_upsert(body: &Value) -> Result<(Upsert, Option<String>), &'static str> {
    let obj = body.as_object().ok_or("Invalid request format")?;
    let region = match obj.get("region") {
        None => None,
        Some(Value::String(r)) if !r.is_empty() => Some(r.clone()),
        Some(_) => return Err("Invalid request format"),
    };
    if obj.contains_key("isImagePullSecret") {
        if obj.contains_key("secrets") {
            return Err("Invalid request format");
        }
        let host = obj
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty());
        let value = obj
            .get("secretValue")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty());
        return match (obj.get("isImagePullSecret"), host, value) {
            (Some(Value::Bool(true)), Some(host), Some(value)) => {
                let mut host = host.to_string();
                if !host.ends_with('/') {
                    host.push('/');
                }
                Ok((
                    Upsert::ImagePull {
                        host,
                        value: value.to_string(),
                    },
                    region,
                ))
            }
            _ => Err(
                "Must provide isImagePullSecret, host, and secretValue to update an image pull secret",
            ),
        };
    }
    let items = obj
        .get("secrets")
        .and_then(Value::as_array)
        .ok_or("Invalid request format")?;
    if items.is_empty() {
        return Err("Invalid request format");
    }
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let key = item
            .get("secretKey")
            .and_then(Value::as_str)
            .ok_or("Invalid request format")?;
        let value = item
            .get("secretValue")
            .and_then(Value::as_str)
            .ok_or("Invalid request format")?;
        if !valid_secret_key(key) {
            return Err("Invalid secret key: use 1-64 letters, digits, '_' or '-'");
        }
        if value.is_empty() {
            return Err("Secret values must not be empty");
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok((Upsert::Secrets(pairs), region))
}

pub(crate) async fn upsert(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if !valid_set_name(&name) {
        return bad_name();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Invalid request format");
    };
    let (upsert, region) = match parse_upsert(&body) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    let mut inner = state.lock();
    let store = &mut inner.secrets;
    let kind = match upsert {
        Upsert::Secrets(_) => Kind::Secret,
        Upsert::ImagePull { .. } => Kind::ImagePullSecret,
    };
    let outcome = store.failures.remove(&name);
    let reads = store.provisioning_reads;
    let set = match store.sets.get_mut(&name) {
        Some(existing) => {
            if existing.kind != kind {
                return bad_request(if kind == Kind::ImagePullSecret {
                    "Cannot update existing regular secrets to image pull secrets"
                } else {
                    "Cannot update an image pull secret with regular secrets"
                });
            }
            if let Some(region) = region.as_ref().filter(|r| **r != existing.region) {
                return bad_request(&format!(
                    "Secret already exists in region '{}'. Cannot change region to '{region}'.",
                    existing.region
                ));
            }
            existing
        }
        None => store.sets.entry(name).or_insert(SecretSet {
            kind,
            region: region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
            status: Status::Pending,
            reads_left: 0,
            outcome: None,
            keys: BTreeMap::new(),
        }),
    };
    match upsert {
        Upsert::Secrets(pairs) => set.keys.extend(pairs),
        Upsert::ImagePull { host, value } => {
            set.keys.clear();
            set.keys.insert(host, value);
        }
    }
    set.status = Status::Pending;
    set.reads_left = reads;
    set.outcome = outcome;
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "OK", "region": set.region})),
    )
        .into_response()
}

pub(crate) async fn delete_set(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
) -> Response {
    if !valid_set_name(&name) {
        return bad_name();
    }
    match state.lock().secrets.sets.remove(&name) {
        Some(_) => Json(json!({"status": "OK"})).into_response(),
        None => set_not_found(),
    }
}

pub(crate) async fn delete_key(
    AxumState(state): AxumState<Arc<State>>,
    Path((name, key)): Path<(String, String)>,
) -> Response {
    if !valid_set_name(&name) {
        return bad_name();
    }
    if !valid_secret_key(&key) {
        return bad_request("Invalid secret key: use 1-64 letters, digits, '_' or '-'");
    }
    let mut inner = state.lock();
    let Some(set) = inner.secrets.sets.get_mut(&name) else {
        return set_not_found();
    };
    if set.kind == Kind::ImagePullSecret {
        return bad_request("Cannot delete keys of an image pull secret");
    }
    match set.keys.remove(&key) {
        Some(_) => Json(json!({"status": "OK"})).into_response(),
        None => error(StatusCode::NOT_FOUND, "Secret not found", "NOT_FOUND"),
    }
}
