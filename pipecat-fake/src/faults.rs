//! Fault injection: canned answers, stalls and broken connections for the
//! next calls of an operation.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::ops::{Op, operation_of};
use crate::record::LogIndex;
use crate::server::ConnectionKiller;
use crate::state::State;

/// What the fake does instead of answering normally.
///
/// ```no_run
/// # use pipecat_fake::{FakeCloud, Fault, Op};
/// # fn arm(fake: &FakeCloud) {
/// // The next start is refused with a 503 that asks to come back in 2 s.
/// fake.fail_next(
///     Op::StartService,
///     1,
///     Fault::empty(503).with_header("retry-after", "2"),
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, content type (none if `None`), extra
    /// headers and body, without running the operation.
    Respond {
        /// HTTP status.
        status: u16,
        /// `Content-Type`, if any.
        content_type: Option<String>,
        /// The body, sent as is.
        body: Vec<u8>,
        /// More headers (name, value), e.g. `Retry-After`.
        headers: Vec<(String, String)>,
    },
    /// Wait this long, then run the operation and answer normally.
    Stall(Duration),
    /// Close the connection without sending any response. The operation
    /// does not run.
    ResetBeforeResponse,
    /// Run the operation, then send its status, its headers and the first
    /// half of its body (`Content-Length` still announcing all of it), and
    /// drop the connection: the operation took effect but the caller
    /// cannot read the answer.
    CloseMidBody,
    /// Run the operation, then change its JSON answer: each (JSON pointer,
    /// value) sets that place, adding an object key or an array item where
    /// there was none. For answering as a newer service would: a status this
    /// client has never seen, fields it does not know. Non-JSON answers, and
    /// pointers whose parent does not exist, are left as they are.
    Amend(Vec<(String, serde_json::Value)>),
}

impl Fault {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Fault {
        Fault::Respond {
            status,
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// An answer with this content type and body.
    pub fn body(status: u16, content_type: &str, body: &str) -> Fault {
        Fault::Respond {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }

    /// An answer with no body at all.
    pub fn empty(status: u16) -> Fault {
        Fault::Respond {
            status,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Run the operation and set `pointer` in its JSON answer to `value`
    /// (see [`Fault::Amend`]); chain more with [`Fault::and`].
    ///
    /// ```no_run
    /// # use pipecat_fake::{FakeCloud, Fault, Op};
    /// # fn arm(fake: &FakeCloud) {
    /// // The next delete takes effect and answers a status never seen before.
    /// fake.fail_next(
    ///     Op::DeleteSecretSet,
    ///     1,
    ///     Fault::amend("/status", serde_json::json!("DELETED"))
    ///         .and("/newField", serde_json::json!({"any": "thing"})),
    /// );
    /// # }
    /// ```
    pub fn amend(pointer: &str, value: serde_json::Value) -> Fault {
        Fault::Amend(vec![(pointer.to_string(), value)])
    }

    /// This amendment with one more place set. Other faults are returned
    /// as they are.
    pub fn and(mut self, pointer: &str, value: serde_json::Value) -> Fault {
        if let Fault::Amend(changes) = &mut self {
            changes.push((pointer.to_string(), value));
        }
        self
    }

    /// This answer with one more header, e.g.
    /// `Fault::empty(429).with_header("retry-after", "1")`. Only
    /// [`Fault::Respond`] carries headers; other faults are returned as they are.
    pub fn with_header(mut self, name: &str, value: &str) -> Fault {
        if let Fault::Respond { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// A canned answer as a response.
    fn respond(
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
        extra: Vec<(String, String)>,
    ) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.remove(header::CONTENT_TYPE);
        if let Some(ct) = content_type.and_then(|ct| HeaderValue::try_from(ct).ok()) {
            headers.insert(header::CONTENT_TYPE, ct);
        }
        for (name, value) in extra {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                headers.append(name, value);
            }
        }
        response
    }
}

/// A fault waiting for calls of one operation.
pub(crate) struct Armed {
    pub(crate) op: Op,
    pub(crate) remaining: usize,
    pub(crate) fault: Fault,
}

/// A body that sends `part`, then fails, which makes the server drop the
/// connection.
fn broken_body(part: Bytes) -> Body {
    let chunks = futures_util::stream::unfold(Some(part), |state| async move {
        match state {
            Some(part) => Some((Ok(part), None)),
            None => {
                // Give the first chunk time to reach the socket first.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((
                    Err(std::io::Error::other("fault: connection dropped")),
                    None,
                ))
            }
        }
    });
    Body::from_stream(chunks)
}

/// `response` with its JSON body changed as `changes` say.
async fn amended(response: Response, changes: Vec<(String, serde_json::Value)>) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&full) else {
        return Response::from_parts(parts, Body::from(full));
    };
    for (pointer, value) in changes {
        set_pointer(&mut json, &pointer, value);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

/// Sets the place `pointer` names, adding it to its parent when missing.
fn set_pointer(json: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match json.pointer_mut(parent) {
        Some(serde_json::Value::Object(map)) => {
            map.insert(last, value);
        }
        Some(serde_json::Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => items[i] = value,
            Ok(i) if i == items.len() => items.push(value),
            _ => {}
        },
        _ => {}
    }
}

/// `response` with only the first half of its body, then a broken connection.
async fn cut_in_half(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // Announce at least two bytes so that some are always missing.
    let announced = full.len().max(2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    let half = full.slice(..full.len() / 2);
    Response::from_parts(parts, broken_body(half))
}

pub(crate) async fn inject(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = operation_of(&request);
    let fault = {
        let mut inner = state.lock();
        let index = request.extensions().get::<LogIndex>().map(|LogIndex(i)| *i);
        if let (Some(row), Some(entry)) = (operation, index.and_then(|i| inner.requests.get_mut(i)))
        {
            entry.operation = Some(row.id.to_string());
        }
        let armed = operation.and_then(|row| {
            inner
                .faults
                .iter_mut()
                .find(|f| f.op == row.op && f.remaining > 0)
        });
        let fault = armed.map(|f| {
            f.remaining -= 1;
            f.fault.clone()
        });
        inner.faults.retain(|f| f.remaining > 0);
        fault
    };
    match fault {
        None => next.run(request).await,
        Some(Fault::Respond {
            status,
            content_type,
            body,
            headers,
        }) => Fault::respond(status, content_type, body, headers),
        Some(Fault::Stall(duration)) => {
            tokio::time::sleep(duration).await;
            next.run(request).await
        }
        Some(Fault::ResetBeforeResponse) => {
            match request.extensions().get::<ConnectionKiller>() {
                Some(killer) => {
                    killer.kill();
                    // The connection goes away with this request in it.
                    std::future::pending::<Response>().await
                }
                // Not served by the fake's own loop: the closest thing.
                None => Response::new(broken_body(Bytes::new())),
            }
        }
        Some(Fault::CloseMidBody) => cut_in_half(next.run(request).await).await,
        Some(Fault::Amend(changes)) => amended(next.run(request).await, changes).await,
    }
}
