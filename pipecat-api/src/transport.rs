//! Sending one call: every generated `send` (and the session proxy) ends
//! here. The request is authenticated with its operation's key and its
//! target guarded, then sent with retries where they are safe; each attempt
//! is a `tracing` span. An error answer's body is read and decoded once,
//! into the [`ApiError`] that both the retry decision and the caller see.

use std::time::Instant;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, USER_AGENT};
use tracing::Instrument as _;

use crate::error::{ApiError, MAX_ERROR_BODY};
use crate::generated::operations::Operation;
use crate::retry::{Attempted, idempotent, reread_broken_success};
use crate::{Client, Error, Response, guard};

/// An answer: its status, headers and body, read or not yet read.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
    /// For an error status: the body, decoded.
    pub(crate) error: Option<Box<ApiError>>,
}

/// An answer's body.
pub(crate) enum Body {
    /// Read into memory (an error answer, or a success read early so that a
    /// broken connection could still be retried).
    Read(Bytes),
    /// Still to be read from the connection.
    Unread(reqwest::Response),
}

impl Answer {
    /// Its status (the generated calls match on it).
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl Body {
    pub(crate) async fn bytes(self) -> Result<Bytes, Error> {
        match self {
            Body::Read(bytes) => Ok(bytes),
            Body::Unread(response) => response
                .bytes()
                .await
                .map_err(|source| Error::Transport { source }),
        }
    }
}

/// Sends `request` as operation `op` and returns its success answer; an
/// error status is [`Error::Api`].
pub(crate) async fn execute(
    client: &Client,
    request: reqwest::Request,
    op: &'static Operation,
) -> Result<Answer, Error> {
    let answer = execute_any(client, request, op).await?;
    match answer.error {
        Some(api) => Err(Error::Api(api)),
        None => Ok(answer),
    }
}

/// Sends `request` as operation `op` and returns whatever answer came last,
/// error statuses included (the session proxy hands those to its caller).
pub(crate) async fn execute_any(
    client: &Client,
    mut request: reqwest::Request,
    op: &'static Operation,
) -> Result<Answer, Error> {
    let config = &client.inner;
    let refused = |message: String| Error::InvalidRequest { message };
    let key = config.key_for(op).map_err(refused)?;
    if request.method().as_str() != op.method {
        return Err(refused(format!(
            "{} is a {} request, not {}",
            op.id,
            op.method,
            request.method()
        )));
    }
    // The proxy's path spans segments; it checks it itself (`proxy_path`).
    if !op.hand_written {
        guard::check_target(request.url().path(), &config.base_path, op).map_err(refused)?;
    }
    let headers = request.headers_mut();
    headers.insert(AUTHORIZATION, key.header().clone());
    headers.insert(USER_AGENT, config.user_agent.clone());
    config.apply_timeout(&mut request);
    send_with_retries(&client.client, &config.retry, request, op).await
}

/// Sends `request`, retrying as `policy` allows. Each attempt is a `tracing`
/// span with the operation, the attempt number, the status and the duration;
/// headers and bodies are never recorded.
async fn send_with_retries(
    http: &reqwest::Client,
    policy: &crate::RetryPolicy,
    mut request: reqwest::Request,
    op: &'static Operation,
) -> Result<Answer, Error> {
    let mut attempted = Attempted {
        idempotent: idempotent(request.method()),
        reread_success: reread_broken_success(request.method()),
        too_many_means_at_capacity: op.too_many_means_at_capacity,
        conflict_means_busy: op.conflict_means_busy,
        conflict: false,
    };
    let first_started = Instant::now();
    let mut attempt: u32 = 1;
    loop {
        // A body that cannot be cloned (a stream) is sent once.
        let spare = (attempt < policy.attempts())
            .then(|| request.try_clone())
            .flatten();
        let span = tracing::debug_span!(
            "pipecat_api.attempt",
            operation = op.id,
            attempt,
            method = %request.method(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = http.execute(request).instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);

        let (retry, outcome) = match result {
            Ok(mut response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                let headers = std::mem::take(response.headers_mut());
                if !(status.is_client_error() || status.is_server_error()) {
                    tracing::debug!(parent: &span, status = status.as_u16(), "answered");
                    if spare.is_none() || !attempted.reread_success {
                        return Ok(answer(status, headers, Body::Unread(response), None));
                    }
                    // With a retry still possible, read the body here, so
                    // that a connection breaking mid-body is retried too.
                    // Boxed, as the other rarer paths below, to keep every
                    // call's future small.
                    match Box::pin(response.bytes()).await {
                        Ok(body) => return Ok(answer(status, headers, Body::Read(body), None)),
                        Err(source) => {
                            let retry = policy.retry_error(&attempted, &source);
                            let delay = retry.then(|| policy.delay(attempt + 1, None)).flatten();
                            tracing::debug!(parent: &span, "the answer broke off");
                            (delay, Err(Error::Transport { source }))
                        }
                    }
                } else {
                    let body = Box::pin(read_error_body(response)).await;
                    let api = ApiError::from_answer(status, Some(op.id), &headers, &body);
                    attempted.conflict =
                        status == StatusCode::CONFLICT && api.code.as_deref() == Some("CONFLICT");
                    let retry = policy.retry_status(&attempted, status);
                    let delay = retry
                        .then(|| policy.delay(attempt + 1, Some(&headers)))
                        .flatten();
                    tracing::debug!(parent: &span, status = status.as_u16(), "error answer");
                    let error = Some(Box::new(api));
                    (delay, Ok(answer(status, headers, Body::Read(body), error)))
                }
            }
            Err(source) => {
                let retry = policy.retry_error(&attempted, &source);
                let delay = retry.then(|| policy.delay(attempt + 1, None)).flatten();
                tracing::debug!(parent: &span, connect = source.is_connect(), timeout = source.is_timeout(), "no answer");
                (delay, Err(Error::Transport { source }))
            }
        };

        let within_deadline = |delay| first_started.elapsed() + delay < policy.deadline_duration();
        match (retry, spare) {
            (Some(delay), Some(next)) if within_deadline(delay) => {
                tracing::info!(
                    operation = op.id,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "retrying Pipecat Cloud call"
                );
                Box::pin(tokio::time::sleep(delay)).await;
                request = next;
                attempt += 1;
            }
            _ => return outcome,
        }
    }
}

fn answer(
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    error: Option<Box<ApiError>>,
) -> Answer {
    Answer {
        status,
        headers,
        body,
        error,
    }
}

/// Up to [`MAX_ERROR_BODY`] bytes of an error answer. A body that breaks
/// off is kept as far as it came: the status is what matters.
pub(crate) async fn read_error_body(mut response: reqwest::Response) -> Bytes {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Bytes::from(body)
}

/// A success answer's JSON body, decoded.
///
/// A body that does not decode is [`Error::UnexpectedResponse`]; its message
/// quotes no part of the body (a success answer can carry credentials, such
/// as a session's tokens), only where and how decoding failed.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    answer: Answer,
) -> Result<Response<T>, Error> {
    let Answer {
        status,
        headers,
        body,
        ..
    } = answer;
    let body = body.bytes().await?;
    match serde_json::from_slice(&body) {
        Ok(value) => Ok(Response::new(status, headers, value)),
        Err(e) => Err(Error::UnexpectedResponse {
            status: Some(status),
            message: format!(
                "a success answer did not decode ({})",
                crate::error::without_quoted_values(&e.to_string())
            ),
        }),
    }
}

/// A success answer without a body.
#[allow(dead_code)] // For operations whose success has no body; none today.
pub(crate) fn empty(answer: Answer) -> Result<Response<()>, Error> {
    Ok(Response::new(answer.status, answer.headers, ()))
}

/// A success status the operation does not document.
pub(crate) fn undocumented(answer: Answer) -> Error {
    Error::UnexpectedResponse {
        status: Some(answer.status),
        message: "this status is not a documented answer of the operation".into(),
    }
}
