//! Fault injection: canned answers for the next calls of an operation.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::record::LogIndex;
use crate::{State, operation_of};

/// What the fake does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, content type (none if `None`) and body.
    Respond {
        /// HTTP status.
        status: u16,
        /// `Content-Type`, if any.
        content_type: Option<String>,
        /// The body, sent as is.
        body: Vec<u8>,
    },
}

impl Fault {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Fault {
        Fault::Respond {
            status,
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
        }
    }

    /// An answer with this content type and body.
    pub fn body(status: u16, content_type: &str, body: &str) -> Fault {
        Fault::Respond {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec(),
        }
    }

    /// An answer with no body at all.
    pub fn empty(status: u16) -> Fault {
        Fault::Respond {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }

    fn into_response(self) -> Response {
        match self {
            Fault::Respond {
                status,
                content_type,
                body,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = (status, body).into_response();
                let headers = response.headers_mut();
                headers.remove(header::CONTENT_TYPE);
                if let Some(ct) = content_type.and_then(|ct| HeaderValue::try_from(ct).ok()) {
                    headers.insert(header::CONTENT_TYPE, ct);
                }
                response
            }
        }
    }
}

/// A fault waiting for calls of one operation.
pub(crate) struct Armed {
    pub(crate) operation: String,
    pub(crate) remaining: usize,
    pub(crate) fault: Fault,
}

pub(crate) async fn inject(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let operation = route
        .and_then(|r| operation_of(request.method().as_str(), &r))
        .map(|(id, _)| id);
    let fault = {
        let mut inner = state.lock();
        let index = request.extensions().get::<LogIndex>().map(|LogIndex(i)| *i);
        if let (Some(id), Some(entry)) = (operation, index.and_then(|i| inner.requests.get_mut(i)))
        {
            entry.operation = Some(id.to_string());
        }
        let armed = operation.and_then(|id| {
            inner
                .faults
                .iter_mut()
                .find(|f| f.operation == id && f.remaining > 0)
        });
        let fault = armed.map(|f| {
            f.remaining -= 1;
            f.fault.clone()
        });
        inner.faults.retain(|f| f.remaining > 0);
        fault
    };
    match fault {
        Some(fault) => fault.into_response(),
        None => next.run(request).await,
    }
}
