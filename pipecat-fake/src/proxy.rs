//! The session proxy: `/v1/public/{serviceName}/sessions/{sessionId}/{path}`.
//!
//! The fake has no bot behind a session, so an active session answers as an
//! echo of what its bot would have received: `x-fake-method`, `x-fake-path`
//! (the `{path}` part as sent, still percent-encoded), `x-fake-query`, every
//! `x-*` request header back as `x-echo-*`, and the request body with its
//! content type. Like the service, it drops `host`, `content-length` and
//! `authorization` before "forwarding".

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State as AxumState};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::answers::error;
use crate::state::State;

/// What OPTIONS answers in `allow`.
pub(crate) const ALLOW: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD";

/// The `{path}` part of a raw proxy request path
/// `/v1/public/{serviceName}/sessions/{sessionId}/{path}`.
fn raw_tail(path: &str) -> &str {
    path.splitn(7, '/').nth(6).unwrap_or("")
}

/// The echo of `request` (its body already read as `body`).
fn echo(parts: &axum::http::request::Parts, body: axum::body::Bytes) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    let mut put = |name: &str, value: &[u8]| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    };
    put("x-fake-method", parts.method.as_str().as_bytes());
    put("x-fake-path", raw_tail(parts.uri.path()).as_bytes());
    if let Some(query) = parts.uri.query() {
        put("x-fake-query", query.as_bytes());
    }
    for (name, value) in &parts.headers {
        if name.as_str().starts_with("x-") {
            put(&format!("x-echo-{name}"), value.as_bytes());
        }
    }
    if parts.method == Method::OPTIONS {
        put("allow", ALLOW.as_bytes());
        return response;
    }
    if parts.method == Method::HEAD {
        return response;
    }
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    *response.body_mut() = Body::from(body);
    response
}

pub(crate) async fn forward(
    AxumState(state): AxumState<Arc<State>>,
    Path((agent_name, session_id, _)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    {
        let inner = state.lock();
        let Some(agent) = inner.agents.agents.get(&agent_name) else {
            return error(StatusCode::NOT_FOUND, "Service not found", "404");
        };
        if !inner.sessions.is_active(&agent.id, &session_id) {
            return error(
                StatusCode::BAD_REQUEST,
                "Session not found or no longer active",
                "PCC-1001",
            );
        }
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => echo(&parts, body),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> axum::http::request::Parts {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn tails() {
        assert_eq!(raw_tail("/v1/public/a/sessions/s/status"), "status");
        assert_eq!(raw_tail("/v1/public/a/sessions/s/api/offer"), "api/offer");
        assert_eq!(
            raw_tail("/v1/public/a/sessions/s/a%2Fb/c%20d"),
            "a%2Fb/c%20d"
        );
    }

    #[test]
    fn echoes_what_the_bot_gets() {
        let p = parts(
            "POST",
            "/v1/public/a/sessions/s/api/offer%3F?x=1&y=%20",
            &[
                ("content-type", "text/plain"),
                ("x-trace", "abc"),
                ("authorization", "Bearer k"),
                ("accept", "*/*"),
            ],
        );
        let response = echo(&p, "hello".into());
        let h = response.headers();
        assert_eq!(h["x-fake-method"], "POST");
        assert_eq!(h["x-fake-path"], "api/offer%3F");
        assert_eq!(h["x-fake-query"], "x=1&y=%20");
        assert_eq!(h["x-echo-x-trace"], "abc");
        assert_eq!(h["content-type"], "text/plain");
        assert!(h.get("x-echo-authorization").is_none() && h.get("x-echo-accept").is_none());
    }

    #[test]
    fn options_and_head_have_no_body() {
        let options = echo(
            &parts("OPTIONS", "/v1/public/a/sessions/s/x", &[]),
            "b".into(),
        );
        assert_eq!(options.headers()["allow"], ALLOW);
        assert!(options.headers().get("x-fake-query").is_none());
        let head = echo(
            &parts(
                "HEAD",
                "/v1/public/a/sessions/s/x",
                &[("content-type", "a/b")],
            ),
            "b".into(),
        );
        assert_eq!(head.headers()["x-fake-method"], "HEAD");
        assert!(head.headers().get("content-type").is_none());
    }
}
