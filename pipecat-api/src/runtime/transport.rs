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

use crate::runtime::error::{ApiError, MAX_ERROR_BODY};
use crate::runtime::guard;
use crate::runtime::operation::Operation;
use crate::runtime::retry::{self, Attempted, Verdict, idempotent, reread_broken_success};
use crate::{Client, Error, Response};

/// An answer: its status, headers and body, read or not yet read.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
    /// For an error status: the body, decoded.
    pub(crate) error: Option<Box<ApiError>>,
    /// The most of the body that may be read (`ClientBuilder::max_answer_bytes`).
    pub(crate) max_body: usize,
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
    /// The whole body, at most `max` bytes of it: a longer one is an error,
    /// not unbounded memory.
    pub(crate) async fn bytes(self, max: usize) -> Result<Bytes, Error> {
        match self {
            Body::Read(bytes) if bytes.len() > max => Err(too_long(max)),
            Body::Read(bytes) => Ok(bytes),
            // Its success status has arrived: the request took effect.
            Body::Unread(response) => read_bounded(response, max).await.map_err(|e| match e {
                Bounded::TooLong => too_long(max),
                Bounded::Broke(source) => Error::Transport {
                    source,
                    may_have_taken_effect: true,
                },
            }),
        }
    }
}

/// Why [`read_bounded`] gave no body.
enum Bounded {
    /// Longer than allowed.
    TooLong,
    /// The connection broke off.
    Broke(reqwest::Error),
}

/// A success answer's body, refused as soon as it is known to be longer
/// than `max` (by its `Content-Length`, or as it is read).
async fn read_bounded(mut response: reqwest::Response, max: usize) -> Result<Bytes, Bounded> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(Bounded::TooLong);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Bounded::Broke)? {
        if body.len() + chunk.len() > max {
            return Err(Bounded::TooLong);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn too_long(max: usize) -> Error {
    Error::UnexpectedResponse {
        status: None,
        message: format!("the answer is longer than {max} bytes (ClientBuilder::max_answer_bytes)"),
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
    let sent = sent_secrets(key.expose_for_redaction(), &request);
    let mut answer = send_with_retries(
        &client.client,
        &config.retry,
        request,
        op,
        &sent,
        config.max_answer_bytes,
    )
    .await?;
    answer.max_body = config.max_answer_bytes;
    Ok(answer)
}

/// Values shorter than this are not searched for in answers: too short to
/// be a credential, and redacting them would garble messages.
const MIN_REDACTED_LEN: usize = 4;

/// What this request carries that must never be printed back: the key, and
/// the `secretValue`s of its JSON body (secret sets, image pull secrets).
fn sent_secrets(key: Option<&str>, request: &reqwest::Request) -> Vec<String> {
    let mut sent: Vec<String> = key.into_iter().map(str::to_owned).collect();
    let body = request.body().and_then(reqwest::Body::as_bytes);
    let carries_secrets = |b: &&[u8]| b.windows(11).any(|w| w == b"secretValue");
    if let Some(json) = body
        .filter(carries_secrets)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
    {
        collect_secret_values(&json, &mut sent);
    }
    sent.retain(|value| value.len() >= MIN_REDACTED_LEN);
    // Longest first, so that a value containing another is replaced whole.
    sent.sort_by_key(|value| std::cmp::Reverse(value.len()));
    sent
}

fn collect_secret_values(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (name, value) in map {
                match value {
                    serde_json::Value::String(text) if name == "secretValue" => {
                        out.push(text.clone());
                    }
                    other => collect_secret_values(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            items
                .iter()
                .for_each(|item| collect_secret_values(item, out));
        }
        _ => {}
    }
}

/// Sends `request`, retrying as `policy` allows (the loop is
/// [`retry::run`], the classifier [`classify`]). Each attempt is a
/// `tracing` span with the operation, the attempt number, the status and
/// the duration; headers and bodies are never recorded.
async fn send_with_retries(
    http: &reqwest::Client,
    policy: &crate::RetryPolicy,
    request: reqwest::Request,
    op: &'static Operation,
    sent: &[String],
    max_body: usize,
) -> Result<Answer, Error> {
    let attempted = Attempted {
        idempotent: idempotent(request.method()),
        reread_success: reread_broken_success(request.method()),
        too_many_means_at_capacity: op.too_many_means_at_capacity,
        conflict_means_busy: op.conflict_means_busy,
        conflict: false,
    };
    let attempts = policy.attempts();
    let attempt = |number: u32, request: reqwest::Request| {
        // A body that cannot be cloned (a stream) is sent once.
        let spare = (number < attempts).then(|| request.try_clone()).flatten();
        send_once(http, request, spare, op, number, attempted, sent, max_body)
    };
    let classify = |outcome: &Result<Answer, Error>| classify(policy, attempted, outcome);
    retry::run(policy, op.id, request, attempt, classify).await
}

/// Whether an API call's outcome is worth another attempt.
fn classify(
    policy: &crate::RetryPolicy,
    attempted: Attempted,
    outcome: &Result<Answer, Error>,
) -> Verdict {
    let retry = match outcome {
        Ok(Answer {
            status,
            headers,
            error: Some(api),
            ..
        }) => {
            let conflict =
                *status == StatusCode::CONFLICT && api.code.as_deref() == Some("CONFLICT");
            let attempted = Attempted {
                conflict,
                ..attempted
            };
            return if policy.retry_status(&attempted, *status) {
                Verdict::Retry {
                    retry_after: retry::retry_after(headers),
                }
            } else {
                Verdict::Stop
            };
        }
        Ok(_) => false,
        // Before an answer, or a success body read early that broke off
        // (only for methods that may reread one).
        Err(Error::Transport { source, .. }) => policy.retry_error(&attempted, source),
        Err(_) => false,
    };
    if retry {
        Verdict::Retry { retry_after: None }
    } else {
        Verdict::Stop
    }
}

/// One attempt: its outcome, and `spare` (the request again) when another
/// attempt may be made. A redirect is never followed nor repeated.
#[allow(clippy::too_many_arguments)] // One attempt's inputs, from one caller.
async fn send_once(
    http: &reqwest::Client,
    request: reqwest::Request,
    spare: Option<reqwest::Request>,
    op: &'static Operation,
    attempt: u32,
    attempted: Attempted,
    sent: &[String],
    max_body: usize,
) -> (Result<Answer, Error>, Option<reqwest::Request>) {
    let origin = request.url().origin();
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

    let mut response = match result {
        Ok(response) => response,
        Err(source) => {
            tracing::debug!(parent: &span, connect = source.is_connect(), timeout = source.is_timeout(), "no answer");
            // Past connecting, a POST may have reached the service.
            let may_have_taken_effect = !attempted.idempotent && !source.is_connect();
            let error = Error::Transport {
                source,
                may_have_taken_effect,
            };
            return (Err(error), spare);
        }
    };
    let status = response.status();
    span.record("status", status.as_u16());
    let headers = std::mem::take(response.headers_mut());
    if status.is_redirection() || response.url().origin() != origin {
        // Never followed (see `ClientBuilder::http_client`).
        let api = redirected(status, op, &headers, response.url(), &origin);
        let error = Some(Box::new(api));
        return (
            Ok(answer(status, headers, Body::Read(Bytes::new()), error)),
            None,
        );
    }
    if status.is_client_error() || status.is_server_error() {
        // Boxed, as the other rarer paths below, to keep every call's
        // future small.
        let body = Box::pin(read_error_body(response)).await;
        let mut api = ApiError::from_answer(status, Some(op.id), &headers, &body);
        api.redact(sent);
        tracing::debug!(parent: &span, status = status.as_u16(), "error answer");
        let error = Some(Box::new(api));
        return (Ok(answer(status, headers, Body::Read(body), error)), spare);
    }
    tracing::debug!(parent: &span, status = status.as_u16(), "answered");
    if spare.is_none() || !attempted.reread_success {
        return (
            Ok(answer(status, headers, Body::Unread(response), None)),
            None,
        );
    }
    // With a retry still possible, read the body here, so that a
    // connection breaking mid-body is retried too.
    match Box::pin(read_bounded(response, max_body)).await {
        Ok(body) => (Ok(answer(status, headers, Body::Read(body), None)), None),
        Err(Bounded::TooLong) => (Err(too_long(max_body)), None),
        Err(Bounded::Broke(source)) => {
            tracing::debug!(parent: &span, "the answer broke off");
            let error = Error::Transport {
                source,
                may_have_taken_effect: true,
            };
            (Err(error), spare)
        }
    }
}

/// The error for a redirect, never followed: where it pointed (scheme and
/// host only; its path and query may carry anything) and why not.
fn redirected(
    status: StatusCode,
    op: &'static Operation,
    headers: &HeaderMap,
    url: &reqwest::Url,
    origin: &url::Origin,
) -> ApiError {
    let mut api = ApiError::from_answer(status, Some(op.id), headers, &[]);
    let target = headers
        .get(reqwest::header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| url.join(location).ok())
        .unwrap_or_else(|| url.clone())
        .origin();
    api.message = Some(if !status.is_redirection() {
        format!(
            "the HTTP client followed a redirect to {}: the request was sent there; \
             build it with reqwest::redirect::Policy::none()",
            url.origin().ascii_serialization()
        )
    } else if &target == origin {
        format!(
            "a redirect to {}, not followed (the API never redirects)",
            target.ascii_serialization()
        )
    } else {
        format!(
            "a redirect to another host, {}, not followed: it would have sent this request, body included, there",
            target.ascii_serialization()
        )
    });
    api
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
        max_body: crate::DEFAULT_MAX_ANSWER_BYTES,
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
        max_body,
        ..
    } = answer;
    let body = body.bytes(max_body).await?;
    match serde_json::from_slice(&body) {
        Ok(value) => Ok(Response::new(status, headers, value)),
        Err(e) => Err(Error::UnexpectedResponse {
            status: Some(status),
            message: format!(
                "a success answer did not decode ({})",
                crate::runtime::error::without_quoted_values(&e.to_string())
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
