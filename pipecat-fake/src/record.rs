//! The request log: every request the fake receives, as it arrived.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::Response;

use crate::answers::error;
use crate::state::State;

/// Bodies larger than this are answered 413 and logged without their body.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The query string, if any, as sent.
    pub query: Option<String>,
    /// Header names (lowercase) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The operation the fake routed it to (e.g. `deleteSecretSet`), if any.
    pub operation: Option<String>,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Index of this request in the log, so later layers can add to its entry.
#[derive(Clone, Copy)]
pub(crate) struct LogIndex(pub(crate) usize);

pub(crate) async fn record(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Body too large",
                "413",
            );
        }
    };
    let entry = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        operation: None,
    };
    {
        let mut inner = state.lock();
        inner.requests.push(entry);
        parts.extensions.insert(LogIndex(inner.requests.len() - 1));
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}
