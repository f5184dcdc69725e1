//! The crate's one error type, and the lenient reading of error bodies.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Everything that can go wrong calling Pipecat Cloud.
///
/// Every call returns it (`.send().await?`). `Display` is one line that says what happened and what to do next; the
/// fields carry the details for programs. No variant ever holds an API key or
/// a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused before anything was sent: a parameter broke a rule of the API,
    /// or the operation needs a key this client was not given.
    #[error("request not sent: {message}")]
    InvalidRequest {
        /// Names the parameter (or key) and the rule it broke.
        message: String,
    },

    /// The client could not be built from the given settings.
    #[error("cannot build the Pipecat Cloud client: {message}")]
    Config {
        /// Names the setting or environment variable to fix.
        message: String,
    },

    /// Pipecat Cloud (or a gateway in front of it) answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// No usable answer: the connection failed, timed out or broke off.
    #[error("{}", transport_message(.source, *.may_have_taken_effect))]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
        /// The request may have reached the service and taken effect: it
        /// was not idempotent (a POST) and failed after the connection was
        /// made, or its success status had arrived. Check (list the builds,
        /// the sessions, ...) before repeating it.
        may_have_taken_effect: bool,
    },

    /// Asynchronous work ended in failure: a secret set whose provisioning
    /// failed, a rollout that failed or was replaced, a build that failed or
    /// timed out. `reason` is the service's explanation; `last` the job's
    /// state as last read ([`LastState::job_state`]).
    #[error("{job} failed: {reason}; fix the cause and try again")]
    Failed {
        /// Which job failed.
        job: Job,
        /// The service's explanation.
        reason: String,
        /// The job's state as last read.
        last: LastState,
    },

    /// Waiting for asynchronous work ran out of time. The work may still
    /// finish; `last` is its state as last read.
    #[error(
        "gave up waiting for {job} after {waited:?} (last seen: {last}); it may still finish: check again later or wait longer"
    )]
    Timeout {
        /// What was awaited.
        job: Job,
        /// How long was waited.
        waited: std::time::Duration,
        /// The job's state as last read.
        last: LastState,
    },

    /// Reading or writing a local file or directory failed (a `.env` file,
    /// `pcc-deploy.toml`, a build context, the packed archive): nothing was
    /// sent because of it, or the work stopped there.
    #[error(
        "cannot use {}: {source}; check the path, its permissions and the disk, then try again",
        .path.display()
    )]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },

    /// An answer this client cannot read: an undocumented success status or a
    /// success body that does not match the spec.
    #[error("{}", unexpected_message(*.status, .message))]
    UnexpectedResponse {
        /// The status, when known.
        status: Option<StatusCode>,
        /// What did not match.
        message: String,
    },

    /// The host a cloud build's archive is uploaded to (a presigned storage
    /// URL, not Pipecat Cloud) refused the upload, could not be reached, or
    /// never confirmed it. The message never holds the upload's form fields
    /// (they are credentials).
    #[error("the storage host {host} {message}")]
    Storage {
        /// The storage host's name, from the upload URL.
        host: String,
        /// The storage host's answer, when there was one.
        status: Option<StatusCode>,
        /// What went wrong and what to do next.
        message: String,
    },

    /// The caller cancelled the work (e.g. packing a cloud build's context,
    /// with its `CancelToken`) before it ended;
    /// `what` says what was stopped and what was left behind.
    #[error("{what} was cancelled")]
    Cancelled {
        /// What was stopped, and what that means.
        what: String,
    },
}

/// An error status from the service, with whatever its body said.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The operation that failed (its spec `operationId`), when known.
    pub operation: Option<&'static str>,
    /// The API's error code (`NOT_FOUND`, `PCC-1001`, ...), when the body had one.
    pub code: Option<String>,
    /// The API's message, or the start of a body that was not JSON (an HTML
    /// page from a gateway, plain text), whitespace folded.
    pub message: Option<String>,
    /// How long the service asked to wait before trying again
    /// (`Retry-After`, in seconds or as a date), when it said.
    pub retry_after: Option<Duration>,
    /// The id the service or its gateway gave the request
    /// (`x-request-id` and the like), for support requests.
    pub request_id: Option<String>,
    /// The other fields of a JSON error body (all but `error`, `code` and
    /// `message`), e.g. `currentSpendCents` and `limitCents` of a 402.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// The organization's spend limit, from a 402 `SPEND_LIMIT_REACHED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpendLimit {
    /// What the organization has spent, in cents, when the service said.
    pub current_spend_cents: Option<i64>,
    /// The limit, in cents, when the service said.
    pub limit_cents: Option<i64>,
}

/// Which asynchronous job an [`Error::Failed`] or [`Error::Timeout`] is
/// about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Job {
    /// A secret set being provisioned.
    SecretSet {
        /// The set.
        name: String,
    },
    /// The rollout of an agent's deployment.
    Rollout {
        /// The agent.
        agent_name: String,
        /// The deployment awaited, when known.
        deployment_id: Option<String>,
    },
    /// A cloud build.
    Build {
        /// The build.
        build_id: uuid::Uuid,
    },
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::SecretSet { name } => write!(f, "secret set {name}"),
            Job::Rollout {
                agent_name,
                deployment_id: Some(id),
            } => write!(f, "the rollout of deployment {id} of agent {agent_name}"),
            Job::Rollout {
                agent_name,
                deployment_id: None,
            } => write!(f, "the rollout of agent {agent_name}"),
            Job::Build { build_id } => write!(f, "build {build_id}"),
        }
    }
}

/// A job's state as last read, kept by [`Error::Failed`] and
/// [`Error::Timeout`]: the typed answer is
/// [`job_state`](LastState::job_state) (a [`JobState`](crate::JobState));
/// `Display` is a one-line summary (status, phase, ids; never a secret).
// The typed state lives with the jobs, which are built on this module, so
// it is held here without naming its type.
pub struct LastState {
    pub(crate) state: Box<dyn std::any::Any + Send + Sync>,
    pub(crate) summary: String,
}

impl std::fmt::Debug for LastState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LastState").field(&self.summary).finish()
    }
}

impl std::fmt::Display for LastState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl Error {
    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Transport { source, .. } => source.status(),
            Error::UnexpectedResponse { status, .. } | Error::Storage { status, .. } => *status,
            Error::InvalidRequest { .. }
            | Error::Cancelled { .. }
            | Error::Config { .. }
            | Error::Failed { .. }
            | Error::Timeout { .. }
            | Error::Io { .. } => None,
        }
    }

    /// The API's error code, when the answer carried one.
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(|api| api.code.as_deref())
    }

    /// The job and its state as last read, for a failed job or a wait that
    /// timed out.
    pub fn job(&self) -> Option<(&Job, &LastState)> {
        match self {
            Error::Failed { job, last, .. } | Error::Timeout { job, last, .. } => Some((job, last)),
            _ => None,
        }
    }

    /// A local I/O failure on `path`.
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The error answer, when the service answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// How long the service asked to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|api| api.retry_after)
    }

    /// The request id of the error answer, when the service sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|api| api.request_id.as_deref())
    }

    /// A session start refused because the agent runs as many sessions as
    /// its `maxAgents` allows (429 on `startService`, or the code
    /// `PCC-AGENT-AT-CAPACITY`). Queue the caller and try again later, or
    /// raise `maxAgents`.
    pub fn is_at_capacity(&self) -> bool {
        self.api().is_some_and(|api| {
            api.code.as_deref() == Some("PCC-AGENT-AT-CAPACITY")
                || (api.status == StatusCode::TOO_MANY_REQUESTS
                    && api.operation == Some("startService"))
        })
    }

    /// The spend limit that refused the call (402, `SPEND_LIMIT_REACHED`),
    /// with the amounts the service gave.
    pub fn spend_limit(&self) -> Option<SpendLimit> {
        let api = self.api()?;
        let is_spend_limit = api.status == StatusCode::PAYMENT_REQUIRED
            || api.code.as_deref() == Some("SPEND_LIMIT_REACHED");
        is_spend_limit.then(|| SpendLimit {
            current_spend_cents: api.fields.get("currentSpendCents").and_then(|v| v.as_i64()),
            limit_cents: api.fields.get("limitCents").and_then(|v| v.as_i64()),
        })
    }

    /// 404: the named resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 401: the key is missing, wrong, or of the wrong kind.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// 409: a conflicting change is in progress (or a secret set is not ready).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// Whether the same call may succeed later: the connection failed or timed
    /// out, or the status was 408, 429, 502, 503 or 504. Whether retrying is
    /// *safe* depends on the operation: a POST may already have taken effect.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source
                        .status()
                        .is_some_and(crate::runtime::retry::is_transient)
            }
            _ => self
                .status()
                .is_some_and(crate::runtime::retry::is_transient),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// A refusal of `parameter` (nothing sent) because of `problem`: a
    /// message of the parsers in [`crate::types`] (a pattern, a UUID), put
    /// in words as the library's own refusals are. For callers that check a
    /// value with those types before starting work, e.g.
    /// `types::UpsertSecretSetSetName::try_from(name).map_err(|e|
    /// Error::invalid_parameter("set_name", e))`.
    pub fn invalid_parameter(parameter: &str, problem: impl std::fmt::Display) -> Self {
        Error::invalid_request(format!("{parameter}: {problem}"))
    }

    /// Input refused before anything was sent, each problem naming where
    /// it is and the rule (a file's reader lists every problem it found; at
    /// most [`MAX_PROBLEMS`] are listed, the rest counted).
    pub(crate) fn refused(mut problems: Vec<String>) -> Self {
        let more = problems.len().saturating_sub(MAX_PROBLEMS);
        problems.truncate(MAX_PROBLEMS);
        let mut message = problems.join("; ");
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        Error::InvalidRequest { message }
    }

    /// A parameter broke a rule; `message` names it and the rule (a
    /// parser's wording, such as a regex, is put in words first).
    pub(crate) fn invalid_request(message: String) -> Self {
        Error::InvalidRequest {
            message: crate::runtime::rules::in_words(message),
        }
    }

    /// reqwest could not build a request from valid parameters (a body
    /// that does not serialize): nothing was sent.
    pub(crate) fn unbuildable(source: reqwest::Error) -> Self {
        Error::InvalidRequest {
            message: format!("the request cannot be built: {}", error_chain(&source)),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pipecat Cloud answered {}", self.status)?;
        if let Some(operation) = self.operation {
            write!(f, " to {operation}")?;
        }
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        match &self.message {
            Some(message) => write!(f, ": {}", message.trim_end_matches('.'))?,
            None => f.write_str(" with no message")?,
        }
        write!(f, "; {}", next_step(self.status))?;
        if let Some(after) = self.retry_after {
            write!(f, " (the service asks to wait {} s)", after.as_secs())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// What a caller should do about a status, in a few words.
fn next_step(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "fix the request as the message says",
        401 => "check the API key: private operations need a private key, sessions a public one",
        402 => "billing needs attention in the Pipecat Cloud dashboard",
        403 => "this key may not do that; check the organization and key",
        404 => "it does not exist: check the name and the organization",
        408 => "the service timed out; try again",
        409 => {
            "a conflicting change is in progress (or a secret set is not ready yet); try again later"
        }
        300..=399 => {
            "the API does not redirect: check PIPECAT_API_HOST (a proxy or a wrong host answered)"
        }
        413 => "the request body is too large; send less",
        429 => "too many requests, or the agent is at capacity (maxAgents); try again later",
        500..=599 => "the service failed; try again later",
        _ => "see the Pipecat Cloud documentation for this status",
    }
}

fn transport_message(source: &reqwest::Error, may_have_taken_effect: bool) -> String {
    let what = if source.is_connect() {
        "could not connect to Pipecat Cloud (nothing was sent); check the network and PIPECAT_API_HOST, then try again"
    } else if may_have_taken_effect && !(source.is_body() || source.is_decode()) {
        "the connection to Pipecat Cloud failed after the request was sent: \
         it may have taken effect; check before repeating it"
    } else if source.is_timeout() {
        "timed out talking to Pipecat Cloud; try again, or raise ClientBuilder::timeout"
    } else if source.is_body() || source.is_decode() {
        "the connection broke while reading the answer, after its status arrived: \
         the request reached Pipecat Cloud and may have taken effect; check before repeating it"
    } else {
        "the request to Pipecat Cloud failed; try again"
    };
    format!("{what} ({})", error_chain(source))
}

fn unexpected_message(status: Option<StatusCode>, message: &str) -> String {
    match status {
        Some(status) => format!(
            "unexpected answer from Pipecat Cloud ({status}): {message}; this client may be older than the service"
        ),
        None => format!(
            "unexpected answer from Pipecat Cloud: {message}; this client may be older than the service"
        ),
    }
}

/// An error and its sources, joined: reqwest's top line alone often says
/// only "error sending request". Its text names the URL, never a key (keys
/// travel in headers).
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// At most this much of an error body is read and kept.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;
/// At most this many problems are listed in one [`Error::refused`].
const MAX_PROBLEMS: usize = 20;

/// At most this much of a non-JSON body is quoted in a message.
const MAX_QUOTED: usize = 200;

impl ApiError {
    /// Reads whatever the service sent, never failing: the documented
    /// `{"error", "code"}`, the 429's `{"message", "code"}`, plain text, an
    /// HTML page, or nothing.
    pub(crate) fn from_answer(
        status: StatusCode,
        operation: Option<&'static str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let mut fields = serde_json::Map::new();
        let (code, message) = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(mut map)) => {
                let code = map.get("code").and_then(scalar_text);
                let message = ["error", "message", "detail"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(message_text));
                for known in ["error", "code", "message"] {
                    map.remove(known);
                }
                fields = map;
                (code, message)
            }
            Ok(serde_json::Value::String(s)) => (None, Some(fold(&s))),
            _ => (None, quoted_text(body)),
        };
        ApiError {
            status,
            operation,
            code,
            message,
            retry_after: crate::runtime::retry::retry_after(headers),
            request_id: request_id(headers).map(str::to_string),
            fields,
        }
    }

    /// Replaces each of `sent` (values this client sent: its API key, the
    /// secret values of the request) wherever it appears in the code, the
    /// message and the other fields with `<redacted>`, so that a service
    /// that echoes them does not get them printed.
    pub(crate) fn redact(&mut self, sent: &[String]) {
        if sent.is_empty() {
            return;
        }
        for text in [&mut self.code, &mut self.message].into_iter().flatten() {
            redact_text(text, sent);
        }
        for value in self.fields.values_mut() {
            redact_json(value, sent);
        }
    }

    /// One of the other fields of a JSON error body, by its name.
    pub fn field(&self, name: &str) -> Option<&serde_json::Value> {
        self.fields.get(name)
    }
}

/// What a redacted value shows instead.
const REDACTED: &str = "<redacted>";

fn redact_text(text: &mut String, sent: &[String]) {
    for value in sent {
        if text.contains(value.as_str()) {
            *text = text.replace(value.as_str(), REDACTED);
        }
    }
}

fn redact_json(value: &mut serde_json::Value, sent: &[String]) {
    match value {
        serde_json::Value::String(text) => redact_text(text, sent),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, sent)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_json(v, sent)),
        _ => {}
    }
}

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn message_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(fold(s)),
        // Some bodies nest the message: {"error": {"message": "..."}}.
        serde_json::Value::Object(o) => o.get("message").and_then(message_text),
        _ => None,
    }
}

/// The start of a non-JSON body, tags dropped and whitespace folded.
fn quoted_text(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::with_capacity(text.len().min(MAX_QUOTED * 2));
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let folded = fold(&plain);
    if folded.is_empty() {
        return None;
    }
    Some(truncate(folded))
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: String) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// Headers that carry a request id, most specific first.
const REQUEST_ID_HEADERS: [&str; 4] = ["x-request-id", "request-id", "x-amzn-requestid", "cf-ray"];

/// The request id of an answer, when it carries one.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// A decoder's message with every quoted part (a value from the body, in
/// `"..."` or in backticks) replaced by `…`: what failed and where, never
/// what the body held.
pub(crate) fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut closing = None;
    for c in message.chars() {
        match closing {
            Some(end) if c == end => {
                closing = None;
                out.push('…');
            }
            Some(_) => {}
            None if c == '"' || c == '`' => closing = Some(c),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::from_answer(
            StatusCode::from_u16(status).unwrap_or_default(),
            Some("op"),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn extra_fields_retry_after_and_request_id_are_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("7"),
        );
        headers.insert(
            "x-request-id",
            reqwest::header::HeaderValue::from_static("req-42"),
        );
        let api = ApiError::from_answer(
            StatusCode::PAYMENT_REQUIRED,
            Some("startService"),
            &headers,
            br#"{"error":"Spend limit reached","code":"SPEND_LIMIT_REACHED","currentSpendCents":1200,"limitCents":1000}"#,
        );
        assert_eq!(api.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(api.request_id.as_deref(), Some("req-42"));
        assert_eq!(api.field("limitCents"), Some(&serde_json::json!(1000)));
        assert!(api.field("code").is_none() && api.field("error").is_none());
        let shown = api.to_string();
        assert!(
            shown.contains("wait 7 s") && shown.contains("request id req-42"),
            "{shown}"
        );
        let error = Error::Api(Box::new(api));
        assert_eq!(
            error.spend_limit(),
            Some(SpendLimit {
                current_spend_cents: Some(1200),
                limit_cents: Some(1000)
            })
        );
        assert!(!error.is_at_capacity());
    }

    #[test]
    fn capacity_is_the_429_of_a_start_or_its_code() {
        let start = Error::Api(Box::new(ApiError::from_answer(
            StatusCode::TOO_MANY_REQUESTS,
            Some("startService"),
            &HeaderMap::new(),
            b"",
        )));
        assert!(start.is_at_capacity());
        let other = Error::Api(Box::new(api(429, "")));
        assert!(!other.is_at_capacity());
        let coded = Error::Api(Box::new(api(503, r#"{"code":"PCC-AGENT-AT-CAPACITY"}"#)));
        assert!(coded.is_at_capacity());
    }

    #[test]
    fn quoted_values_are_dropped_from_decoder_messages() {
        let e = serde_json::from_str::<u64>(r#""tok-SENTINEL""#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let cleaned = without_quoted_values(&e);
        assert!(!cleaned.contains("SENTINEL"), "{cleaned}");
        assert!(cleaned.starts_with("invalid type: string …"), "{cleaned}");
        assert_eq!(
            without_quoted_values("unknown variant `x-SECRET`, expected `a`"),
            "unknown variant …, expected …"
        );
    }

    #[test]
    fn documented_shape() {
        let e = api(404, r#"{"error":"Set not found","code":"NOT_FOUND"}"#);
        assert_eq!(e.code.as_deref(), Some("NOT_FOUND"));
        assert_eq!(e.message.as_deref(), Some("Set not found"));
    }

    #[test]
    fn message_instead_of_error() {
        let e = api(
            429,
            r#"{"status":429,"code":"429","message":"Rate limit exceeded. Please try again later"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("429"));
        assert_eq!(
            e.message.as_deref(),
            Some("Rate limit exceeded. Please try again later")
        );
    }

    #[test]
    fn html_is_quoted_without_tags() {
        let e = api(
            502,
            "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad   Gateway</h1></body></html>",
        );
        assert_eq!(e.code, None);
        assert_eq!(e.message.as_deref(), Some("502 Bad Gateway Bad Gateway"));
    }

    #[test]
    fn empty_body_has_no_message() {
        let e = api(401, "");
        assert_eq!((e.code, e.message), (None, None));
        let shown = api(401, "").to_string();
        assert!(
            shown.starts_with(
                "Pipecat Cloud answered 401 Unauthorized to op with no message; check the API key"
            ),
            "{shown}"
        );
    }

    #[test]
    fn long_text_is_truncated() {
        let e = api(500, &"x".repeat(10_000));
        assert_eq!(e.message.map(|m| m.len()), Some(MAX_QUOTED + 3));
    }

    #[test]
    fn numeric_code_is_text() {
        let e = api(400, r#"{"error":"bad","code":400}"#);
        assert_eq!(e.code.as_deref(), Some("400"));
    }
}
