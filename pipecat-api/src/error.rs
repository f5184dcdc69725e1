//! The crate's one error type, and the lenient reading of error bodies.

use bytes::Bytes;
use reqwest::StatusCode;

use crate::generated;

/// Everything that can go wrong calling Pipecat Cloud.
///
/// `?` converts the error of any generated call (`.send().await?`) into this.
/// `Display` is one line that says what happened and what to do next; the
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
    #[error("{}", transport_message(.source))]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// Asynchronous work ended in failure, e.g. a secret set whose
    /// provisioning failed; `message` is the service's explanation.
    #[error("{what} failed: {message}; fix the cause and try again")]
    Failed {
        /// What failed.
        what: String,
        /// The service's explanation.
        message: String,
    },

    /// Waiting for asynchronous work ran out of time.
    #[error(
        "gave up waiting for {what} after {waited:?}; it may still finish: check again later or wait longer"
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long was waited.
        waited: std::time::Duration,
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
}

impl Error {
    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Transport { source } => source.status(),
            Error::UnexpectedResponse { status, .. } => *status,
            Error::InvalidRequest { .. }
            | Error::Config { .. }
            | Error::Failed { .. }
            | Error::Timeout { .. } => None,
        }
    }

    /// The API's error code, when the answer carried one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.code.as_deref(),
            _ => None,
        }
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
            Error::Transport { source } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.status().is_some_and(retryable_status)
            }
            _ => self.status().is_some_and(retryable_status),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
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
        write!(f, "; {}", next_step(self.status))
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
        413 => "the request body is too large; send less",
        429 => "too many requests, or the agent is at capacity (maxAgents); try again later",
        500..=599 => "the service failed; try again later",
        _ => "see the Pipecat Cloud documentation for this status",
    }
}

fn transport_message(source: &reqwest::Error) -> String {
    let what = if source.is_timeout() {
        "timed out talking to Pipecat Cloud; try again, or raise ClientBuilder::timeout"
    } else if source.is_connect() {
        "could not connect to Pipecat Cloud; check the network and PIPECAT_API_HOST"
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
fn error_chain(e: &reqwest::Error) -> String {
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

/// The buffered body of an error answer, attached to the response by the
/// `exec` hook so that the synchronous `From` conversion can read it.
#[derive(Clone, Debug)]
pub(crate) struct ErrorBody {
    pub(crate) operation: Option<&'static str>,
    pub(crate) body: Bytes,
}

/// At most this much of an error body is read and kept.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;
/// At most this much of a non-JSON body is quoted in a message.
const MAX_QUOTED: usize = 200;

impl ApiError {
    /// Reads whatever the service sent, never failing: the documented
    /// `{"error", "code"}`, the 429's `{"message", "code"}`, plain text, an
    /// HTML page, or nothing.
    pub(crate) fn from_body(
        status: StatusCode,
        operation: Option<&'static str>,
        body: &[u8],
    ) -> Self {
        let (code, message) = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => {
                let code = map.get("code").and_then(scalar_text);
                let message = ["error", "message", "detail"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(message_text));
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
        }
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

impl<E> From<generated::Error<E>> for Error {
    fn from(e: generated::Error<E>) -> Self {
        use generated::Error as G;
        match e {
            G::InvalidRequest(message) | G::Custom(message) => Error::InvalidRequest { message },
            G::CommunicationError(source) | G::ResponseBodyError(source) => {
                Error::Transport { source }
            }
            G::InvalidUpgrade(source) => Error::Transport { source },
            G::ErrorResponse(value) => {
                Error::Api(Box::new(ApiError::from_body(value.status(), None, &[])))
            }
            G::InvalidResponsePayload(body, e) => Error::UnexpectedResponse {
                status: None,
                message: format!(
                    "a success answer did not decode ({e}); it began: {}",
                    quoted_text(&body).unwrap_or_else(|| "(empty)".into())
                ),
            },
            G::UnexpectedResponse(response) => from_unexpected(&response),
        }
    }
}

fn from_unexpected(response: &reqwest::Response) -> Error {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let (operation, body) = match response.extensions().get::<ErrorBody>() {
            Some(b) => (b.operation, b.body.clone()),
            None => (None, Bytes::new()),
        };
        return Error::Api(Box::new(ApiError::from_body(status, operation, &body)));
    }
    Error::UnexpectedResponse {
        status: Some(status),
        message: "this status is not a documented answer of the operation".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::from_body(
            StatusCode::from_u16(status).unwrap_or_default(),
            Some("op"),
            body.as_bytes(),
        )
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
