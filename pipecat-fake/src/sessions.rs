//! Sessions: starting one (`POST /v1/public/{agentName}/start`), listing,
//! showing and stopping them (`/v1/agents/{agentName}/sessions`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::answers::error;
use crate::clock;
use crate::names::looks_like_uuid;
use crate::params::{Params, page};
use crate::state::{ORGANIZATION_ID, State};

/// Largest start `body` for the daily and webrtc transports (and none).
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// Largest start `body` for the websocket transport.
pub(crate) const MAX_WEBSOCKET_BODY: usize = 4 * 1024;

/// Every session ever started; ended ones stay.
#[derive(Default)]
pub(crate) struct Store {
    sessions: Vec<Session>,
}

struct Session {
    id: String,
    service_id: String,
    deployment_id: String,
    created_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    cold_start: bool,
    bot_start_seconds: u64,
    completion_status: Option<String>,
}

impl Session {
    fn end(&mut self, status: &str) {
        if self.ended_at.is_none() {
            self.ended_at = Some(clock::now());
            self.completion_status = Some(status.to_string());
        }
    }

    fn updated_at(&self) -> DateTime<Utc> {
        self.ended_at.unwrap_or(self.created_at)
    }

    /// The session in the shape `getSessions` lists it.
    fn summary(&self) -> Value {
        json!({
            "sessionId": self.id,
            "serviceId": self.service_id,
            "organizationId": ORGANIZATION_ID,
            "deploymentId": self.deployment_id,
            "botStartSeconds": self.bot_start_seconds,
            "coldStart": self.cold_start,
            "completionStatus": self.completion_status,
            "endedAt": self.ended_at.map(clock::millis),
            "createdAt": clock::millis(self.created_at),
            "updatedAt": clock::millis(self.updated_at()),
        })
    }
}

impl Store {
    /// How many sessions of the agent with service id `service_id` are active.
    pub(crate) fn active_count(&self, service_id: &str) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.service_id == service_id && s.ended_at.is_none())
            .count()
    }

    /// Whether session `id` of `service_id` exists and is active.
    pub(crate) fn is_active(&self, service_id: &str, id: &str) -> bool {
        self.sessions
            .iter()
            .any(|s| s.service_id == service_id && s.id == id && s.ended_at.is_none())
    }

    /// Ends every active session of `service_id` with `status`.
    pub(crate) fn end_all(&mut self, service_id: &str, status: &str) {
        for session in self
            .sessions
            .iter_mut()
            .filter(|s| s.service_id == service_id)
        {
            session.end(status);
        }
    }

    fn find_mut(&mut self, service_id: &str, id: &str) -> Option<&mut Session> {
        self.sessions
            .iter_mut()
            .find(|s| s.service_id == service_id && s.id == id)
    }
}

/// What a start body asks for, once checked.
#[derive(Debug, Default, PartialEq)]
struct StartRequest {
    /// `daily`, `webrtc`, `websocket`, or none.
    transport: Option<&'static str>,
    ice_servers: bool,
    /// The `body` field, serialized, if any.
    body: Option<String>,
}

fn bool_field(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("'{key}' must be a boolean")),
    }
}

fn parse_start(raw: &[u8]) -> Result<StartRequest, String> {
    let value = if raw.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice::<Value>(raw).map_err(|_| "Invalid request format".to_string())?
    };
    let Value::Object(obj) = value else {
        return Err("Invalid request format".into());
    };
    let create_room = bool_field(&obj, "createDailyRoom")?;
    let ice_servers = bool_field(&obj, "enableDefaultIceServers")?;
    for key in ["dailyRoomProperties", "dailyMeetingTokenProperties"] {
        if !matches!(obj.get(key), None | Some(Value::Object(_))) {
            return Err(format!("'{key}' must be an object"));
        }
    }
    let transport = match obj.get("transport") {
        None => create_room.then_some("daily"),
        Some(Value::String(t)) => match t.as_str() {
            "daily" => Some("daily"),
            "webrtc" => Some("webrtc"),
            "websocket" => Some("websocket"),
            _ => {
                return Err(format!(
                    "Invalid transport '{t}': use daily, webrtc or websocket"
                ));
            }
        },
        Some(_) => return Err("'transport' must be a string".into()),
    };
    let transport = if create_room {
        Some("daily")
    } else {
        transport
    };
    let body = match obj.get("body") {
        None => None,
        Some(body @ Value::Object(_)) => Some(body.to_string()),
        Some(_) => return Err("'body' must be a JSON object".into()),
    };
    Ok(StartRequest {
        transport,
        ice_servers,
        body,
    })
}

/// Whether `request`'s body is over its transport's limit.
fn too_large(request: &StartRequest) -> bool {
    let limit = if request.transport == Some("websocket") {
        MAX_WEBSOCKET_BODY
    } else {
        MAX_BODY
    };
    request.body.as_ref().is_some_and(|b| b.len() > limit)
}

/// The start answer for session `id` of agent `agent`.
fn start_response(request: &StartRequest, id: &str, agent: &str, ws_base: &str) -> Value {
    let mut v = json!({ "sessionId": id });
    if request.ice_servers {
        v["iceConfig"] = json!({
            "iceServers": [{
                "urls": [
                    "stun:stun.fake.invalid:3478",
                    "turn:turn.fake.invalid:3478?transport=udp",
                ],
                "username": "fake-username",
                "credential": "fake-credential",
            }]
        });
    }
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    match request.transport {
        Some("daily") => {
            v["dailyRoom"] = json!(format!("https://fake.daily.co/{}", &compact[..20]));
            v["dailyToken"] = json!(format!("fake-daily-token-{compact}"));
        }
        Some("websocket") => {
            let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let claims = json!({
                "sh": format!("{agent}.fake-org"),
                "exp": clock::now().timestamp() + 300,
                "nonce": compact,
            });
            v["token"] = json!(format!(
                "{}.{}",
                url_safe.encode(claims.to_string()),
                url_safe.encode("fake-signature")
            ));
            v["wsUrl"] = json!(format!("{ws_base}/ws/generic/{agent}.fake-org"));
            if let Some(body) = &request.body {
                v["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
            }
        }
        _ => {}
    }
    v
}

fn public_error(status: StatusCode, message: &str) -> Response {
    error(status, message, &status.as_u16().to_string())
}

pub(crate) async fn start(
    AxumState(state): AxumState<Arc<State>>,
    Path(agent_name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request = match parse_start(&body) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message, "GENERIC_BAD_REQUEST"),
    };
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.get(&agent_name) else {
        return public_error(StatusCode::NOT_FOUND, "Service not found");
    };
    if too_large(&request) {
        return public_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    }
    if !agent.available() {
        return error(
            StatusCode::BAD_REQUEST,
            "Attempt to start agent when deployment is not in ready state. Is your image pull secret valid?",
            "PCC-1001",
        );
    }
    let active = inner.sessions.active_count(&agent.id);
    if active as u64 >= agent.config.max_agents {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({
                "status": 429,
                "code": "429",
                "message": "Rate limit exceeded. Please try again later",
            })),
        )
            .into_response();
    }
    let cold_start = active as u64 >= agent.config.min_agents;
    let service_id = agent.id.clone();
    let deployment_id = agent.deployment_id.clone();
    let id = inner.new_id();
    inner.sessions.sessions.push(Session {
        id: id.clone(),
        service_id,
        deployment_id: deployment_id.clone(),
        created_at: clock::now(),
        ended_at: None,
        cold_start,
        bot_start_seconds: if cold_start { 2 } else { 0 },
        completion_status: None,
    });
    let transport = request.transport.unwrap_or("none");
    let body_len = request.body.as_ref().map_or(0, String::len);
    for line in [
        format!("Starting session {id} (transport: {transport})"),
        format!("Bot received a body of {body_len} bytes"),
        format!("Session {id} started"),
    ] {
        inner
            .logs
            .write(&agent_name, Some(&deployment_id), Some(&id), line);
    }
    let ws_base = state.base_url.replacen("http", "ws", 1);
    Json(start_response(&request, &id, &agent_name, &ws_base)).into_response()
}

/// A 400 in the shape session listing uses for a bad query parameter.
fn invalid_parameter(name: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "Invalid parameters",
            "err": {
                "issues": [{"code": "invalid_parameter", "path": [name], "message": message}],
                "name": "ZodError",
            },
            "code": "400",
        })),
    )
        .into_response()
}

/// What `getSessions` filters on.
struct Filter {
    deployment_id: Option<String>,
    /// Created at or after, in nanoseconds.
    after: Option<i64>,
    /// Created at or before, in nanoseconds.
    before: Option<i64>,
    status: &'static str,
    start_type: &'static str,
    min_start_seconds: i64,
    max_start_seconds: i64,
}

impl Filter {
    /// The filters, or the parameter in error and why.
    fn parse(params: &Params) -> Result<Filter, (&'static str, String)> {
        let bad = |name: &'static str| move |message: String| (name, message);
        Ok(Filter {
            deployment_id: params.text("deploymentId").map(str::to_string),
            after: params
                .opt_int("startTime")
                .map_err(bad("startTime"))?
                .map(clock::filter_nanos),
            before: params
                .opt_int("endTime")
                .map_err(bad("endTime"))?
                .map(clock::filter_nanos),
            status: params
                .choice("status", &["active", "ended", "all"], "all")
                .map_err(bad("status"))?,
            start_type: params
                .choice("startType", &["cold", "warm", "all"], "all")
                .map_err(bad("startType"))?,
            min_start_seconds: params
                .int("startTimeMin", 0, 0, i64::MAX)
                .map_err(bad("startTimeMin"))?,
            max_start_seconds: params
                .int("startTimeMax", 0, 0, i64::MAX)
                .map_err(bad("startTimeMax"))?,
        })
    }

    fn matches(&self, s: &Session) -> bool {
        let created = clock::epoch_nanos(s.created_at);
        let seconds = i64::try_from(s.bot_start_seconds).unwrap_or(i64::MAX);
        self.deployment_id
            .as_ref()
            .is_none_or(|d| *d == s.deployment_id)
            && self.after.is_none_or(|t| created >= t)
            && self.before.is_none_or(|t| created <= t)
            && match self.status {
                "active" => s.ended_at.is_none(),
                "ended" => s.ended_at.is_some(),
                _ => true,
            }
            && match self.start_type {
                "cold" => s.cold_start,
                "warm" => !s.cold_start,
                _ => true,
            }
            && seconds >= self.min_start_seconds
            && (self.max_start_seconds == 0 || seconds <= self.max_start_seconds)
    }
}

fn agent_not_found() -> Response {
    public_error(StatusCode::NOT_FOUND, "Agent not found")
}

fn session_not_found() -> Response {
    public_error(StatusCode::NOT_FOUND, "Session not found")
}

pub(crate) async fn list(
    AxumState(state): AxumState<Arc<State>>,
    Path(agent_name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let params = Params(params);
    let limit = match params.int("limit", 10, 0, i64::MAX) {
        Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        Err(message) => return invalid_parameter("limit", &message),
    };
    let offset = match params.int("offset", 0, 0, i64::MAX) {
        Ok(offset) => usize::try_from(offset).unwrap_or(usize::MAX),
        Err(message) => return invalid_parameter("offset", &message),
    };
    let filter = match Filter::parse(&params) {
        Ok(filter) => filter,
        Err((name, message)) => return invalid_parameter(name, &message),
    };
    let inner = state.lock();
    let Some(agent) = inner.agents.agents.get(&agent_name) else {
        return agent_not_found();
    };
    // Newest first.
    let matching: Vec<&Session> = inner
        .sessions
        .sessions
        .iter()
        .rev()
        .filter(|s| s.service_id == agent.id && filter.matches(s))
        .collect();
    let shown: Vec<Value> = matching[page(matching.len(), offset, limit)]
        .iter()
        .map(|s| s.summary())
        .collect();
    Json(json!({"total_count": matching.len(), "sessions": shown})).into_response()
}

pub(crate) async fn get(
    AxumState(state): AxumState<Arc<State>>,
    Path((agent_name, session_id)): Path<(String, String)>,
) -> Response {
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.get(&agent_name) else {
        return agent_not_found();
    };
    let Some(session) = inner.sessions.find_mut(&agent.id, &session_id) else {
        return session_not_found();
    };
    let mut v = session.summary();
    v["resourceMetrics"] = Value::Null;
    v["meetingIds"] = json!([]);
    Json(v).into_response()
}

pub(crate) async fn stop(
    AxumState(state): AxumState<Arc<State>>,
    Path((agent_name, session_id)): Path<(String, String)>,
) -> Response {
    if !looks_like_uuid(&session_id) {
        return public_error(StatusCode::BAD_REQUEST, "Invalid session ID format");
    }
    let inner = &mut *state.lock();
    let Some(agent) = inner.agents.agents.get(&agent_name) else {
        return agent_not_found();
    };
    let Some(session) = inner.sessions.find_mut(&agent.id, &session_id) else {
        return session_not_found();
    };
    if session.ended_at.is_none() {
        session.end("STOPPED");
        let deployment_id = session.deployment_id.clone();
        inner.logs.write(
            &agent_name,
            Some(&deployment_id),
            Some(&session_id),
            format!("Session {session_id} stopped"),
        );
    }
    Json(json!({"status": "terminated", "session_id": session_id})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> StartRequest {
        parse_start(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn transports() {
        assert_eq!(parse(json!({})).transport, None);
        assert_eq!(parse_start(b"").unwrap().transport, None);
        assert_eq!(
            parse(json!({"createDailyRoom": true})).transport,
            Some("daily")
        );
        assert_eq!(
            parse(json!({"transport": "webrtc"})).transport,
            Some("webrtc")
        );
        assert_eq!(
            parse(json!({"transport": "websocket"})).transport,
            Some("websocket")
        );
        for bad in [
            json!({"transport": "smoke"}),
            json!({"transport": 1}),
            json!({"createDailyRoom": "yes"}),
            json!({"dailyRoomProperties": []}),
            json!({"transport": null}),
            json!({"body": "text"}),
            json!([1]),
        ] {
            assert!(parse_start(bad.to_string().as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_by_transport() {
        let id = "00000000-0000-4000-8000-000000000001";
        let daily = start_response(&parse(json!({"createDailyRoom": true})), id, "a", "ws://h");
        assert_eq!(daily["sessionId"], id);
        assert!(daily["dailyRoom"].is_string() && daily["dailyToken"].is_string());
        assert!(daily.get("iceConfig").is_none() && daily.get("token").is_none());

        let webrtc = parse(json!({"transport": "webrtc", "enableDefaultIceServers": true}));
        let webrtc = start_response(&webrtc, id, "a", "ws://h");
        assert!(webrtc["iceConfig"]["iceServers"][0]["urls"].is_array());
        assert!(webrtc.get("dailyRoom").is_none());
        let plain_webrtc =
            start_response(&parse(json!({"transport": "webrtc"})), id, "a", "ws://h");
        assert!(plain_webrtc.get("iceConfig").is_none());
        assert_eq!(plain_webrtc.as_object().map(|o| o.len()), Some(1));

        let ws = parse(json!({"transport": "websocket", "body": {"caller_id": "abc123"}}));
        let ws = start_response(&ws, id, "my-agent", "ws://h");
        assert_eq!(ws["wsUrl"], "ws://h/ws/generic/my-agent.fake-org");
        assert!(ws["token"].is_string());
        // The body comes back as base64 of its JSON.
        assert_eq!(ws["body"], "eyJjYWxsZXJfaWQiOiJhYmMxMjMifQ==");
    }

    #[test]
    fn body_limits() {
        let big = "x".repeat(MAX_WEBSOCKET_BODY);
        assert!(too_large(&parse(
            json!({"transport": "websocket", "body": {"k": big}})
        )));
        assert!(!too_large(&parse(
            json!({"transport": "daily", "body": {"k": big}})
        )));
        let small = "x".repeat(MAX_WEBSOCKET_BODY - 10);
        assert!(!too_large(&parse(
            json!({"transport": "websocket", "body": {"k": small}})
        )));
        let huge = "x".repeat(MAX_BODY);
        assert!(too_large(&parse(
            json!({"transport": "webrtc", "body": {"k": huge}})
        )));
    }

    #[test]
    fn filters() {
        let now = clock::now();
        let session = |cold: bool, ended: bool| Session {
            id: "s".into(),
            service_id: "a".into(),
            deployment_id: "d".into(),
            created_at: now,
            ended_at: ended.then_some(now),
            cold_start: cold,
            bot_start_seconds: if cold { 2 } else { 0 },
            completion_status: None,
        };
        let filter = |pairs: &[(&str, &str)]| {
            let params = Params(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            Filter::parse(&params).ok().unwrap()
        };
        assert!(filter(&[]).matches(&session(true, true)));
        assert!(filter(&[("status", "active")]).matches(&session(true, false)));
        assert!(!filter(&[("status", "active")]).matches(&session(true, true)));
        assert!(filter(&[("status", "ended")]).matches(&session(true, true)));
        assert!(!filter(&[("startType", "warm")]).matches(&session(true, true)));
        assert!(filter(&[("startTimeMin", "1")]).matches(&session(true, true)));
        assert!(!filter(&[("startTimeMax", "1")]).matches(&session(true, true)));
        assert!(!filter(&[("deploymentId", "other")]).matches(&session(true, true)));
        let later = (now.timestamp() + 10).to_string();
        assert!(!filter(&[("startTime", &later)]).matches(&session(true, true)));
        assert!(filter(&[("endTime", &later)]).matches(&session(true, true)));
        assert!(Filter::parse(&Params(HashMap::from([("status".into(), "bad".into())]))).is_err());
    }
}
