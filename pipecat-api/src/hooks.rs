//! progenitor's `ClientHooks`: the one place every generated call passes
//! through. `pre` authenticates and guards the request's target; `exec` sends
//! it, retries what is safe to retry, traces each attempt, and keeps the body
//! of an error answer for [`crate::Error`].

use std::time::Instant;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, USER_AGENT};
use tracing::Instrument as _;

use crate::config::ClientConfig;
use crate::error::{ApiError, ErrorBody, MAX_ERROR_BODY};
use crate::generated::{self, operations};
use crate::retry::{Attempted, idempotent, reread_broken_success};

impl ClientHooks<ClientConfig> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), generated::Error<E>> {
        let op = operations::find(info.operation_id).ok_or_else(|| {
            generated::Error::Custom(format!("unknown operation `{}`", info.operation_id))
        })?;
        let config = self.inner();
        let key = config.key_for(op).map_err(generated::Error::Custom)?;
        if request.method().as_str() != op.method {
            return Err(generated::Error::Custom(format!(
                "{} is a {} request, not {}",
                op.id,
                op.method,
                request.method()
            )));
        }
        check_target(request.url().path(), &config.base_path, op)
            .map_err(generated::Error::Custom)?;

        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, key.header().clone());
        headers.insert(USER_AGENT, config.user_agent.clone());
        config.apply_timeout(request);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let op = operations::find(info.operation_id);
        send_with_retries(self.client(), &self.inner().retry, request, op).await
    }
}

/// Sends `request`, retrying as `policy` allows. Each attempt is a `tracing`
/// span with the operation, the attempt number, the status and the duration;
/// headers and bodies are never recorded.
pub(crate) async fn send_with_retries(
    http: &reqwest::Client,
    policy: &crate::RetryPolicy,
    mut request: reqwest::Request,
    op: Option<&'static operations::Operation>,
) -> reqwest::Result<reqwest::Response> {
    let operation = op.map_or("unknown", |op| op.id);
    let mut attempted = Attempted {
        idempotent: idempotent(request.method()),
        reread_success: reread_broken_success(request.method()),
        is_session_start: op.is_some_and(|op| op.capacity_429),
        is_secret_upsert: op.is_some_and(|op| op.retry_conflict),
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
            operation,
            attempt,
            method = %request.method(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = http.execute(request).instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);

        let (retry, outcome) = match result {
            Ok(response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                if !(status.is_client_error() || status.is_server_error()) {
                    tracing::debug!(parent: &span, status = status.as_u16(), "answered");
                    if spare.is_none() || !attempted.reread_success {
                        return Ok(response);
                    }
                    // With a retry still possible, read the body here, so
                    // that a connection breaking mid-body is retried too.
                    // Boxed, as the other rarer paths below: inline, their
                    // futures made every call's future 2.3 KB, not 1.9.
                    match Box::pin(read_whole(response)).await {
                        Ok(response) => return Ok(response),
                        Err(error) => {
                            let retry = policy.retry_error(&attempted, &error);
                            let delay = retry.then(|| policy.delay(attempt + 1, None)).flatten();
                            tracing::debug!(parent: &span, "the answer broke off");
                            (delay, Err(error))
                        }
                    }
                } else {
                    let response = Box::pin(keep_error_body(response, op.map(|op| op.id))).await;
                    attempted.conflict =
                        status == reqwest::StatusCode::CONFLICT && is_conflict_code(&response);
                    let retry = policy.retry_status(&attempted, status);
                    let delay = retry
                        .then(|| policy.delay(attempt + 1, Some(response.headers())))
                        .flatten();
                    tracing::debug!(parent: &span, status = status.as_u16(), "error answer");
                    (delay, Ok(response))
                }
            }
            Err(error) => {
                let retry = policy.retry_error(&attempted, &error);
                let delay = retry.then(|| policy.delay(attempt + 1, None)).flatten();
                tracing::debug!(parent: &span, connect = error.is_connect(), timeout = error.is_timeout(), "no answer");
                (delay, Err(error))
            }
        };

        let within_deadline = |delay| first_started.elapsed() + delay < policy.deadline_duration();
        match (retry, spare) {
            (Some(delay), Some(next)) if within_deadline(delay) => {
                tracing::info!(
                    operation,
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

/// The same response with its body read into memory (reading it is where a
/// broken connection shows).
async fn read_whole(mut response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let head = response_head(&mut response);
    let body = response.bytes().await?;
    Ok(rebuild(head, body, None))
}

/// What a response is but its body, taken out of it (headers moved, not
/// copied).
struct Head {
    status: reqwest::StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    url: reqwest::Url,
}

fn response_head(response: &mut reqwest::Response) -> Head {
    Head {
        status: response.status(),
        version: response.version(),
        headers: std::mem::take(response.headers_mut()),
        url: response.url().clone(),
    }
}

/// A response from its head and a body read into memory, carrying the
/// error body for [`crate::Error`] when there is one.
fn rebuild(head: Head, body: bytes::Bytes, kept: Option<ErrorBody>) -> reqwest::Response {
    use reqwest::ResponseBuilderExt as _;
    // Carrying the URL over also spares reqwest parsing a placeholder. Only
    // the extensions go through the (fallible) builder, and they cannot fail.
    let mut builder = http::Response::builder().url(head.url);
    if let Some(kept) = kept {
        builder = builder.extension(kept);
    }
    let mut response = builder
        .body(body.clone())
        .unwrap_or_else(|_| http::Response::new(body));
    *response.status_mut() = head.status;
    *response.version_mut() = head.version;
    *response.headers_mut() = head.headers;
    reqwest::Response::from(response)
}

/// Whether a buffered 409 answer carries the API code `CONFLICT`.
fn is_conflict_code(response: &reqwest::Response) -> bool {
    response.extensions().get::<ErrorBody>().is_some_and(|b| {
        ApiError::from_body(response.status(), None, &b.body)
            .code
            .as_deref()
            == Some("CONFLICT")
    })
}

/// Reads up to [`MAX_ERROR_BODY`] bytes of an error answer and returns an
/// equivalent response carrying them as an [`ErrorBody`] extension. A body
/// that breaks off is kept as far as it came: the status is what matters.
async fn keep_error_body(
    mut response: reqwest::Response,
    operation: Option<&'static str>,
) -> reqwest::Response {
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
    let body = bytes::Bytes::from(body);
    let kept = ErrorBody {
        operation,
        body: body.clone(),
    };
    rebuild(response_head(&mut response), body, Some(kept))
}

/// Checks that `path` addresses exactly what the operation's template says:
/// the same number of segments, the same literal segments, and no parameter
/// that is empty, `.` or `..` (URL parsing removes dot segments, so such a
/// value would silently address the parent resource, e.g. a whole secret set).
fn check_target(path: &str, base_path: &str, op: &operations::Operation) -> Result<(), String> {
    let rest = path.strip_prefix(base_path).unwrap_or(path);
    // Walked in step over bytes, without collecting: this runs on every
    // call, and the paths are short.
    let mut template = op.path.as_bytes().split(|&b| b == b'/');
    let mut actual = rest.as_bytes().split(|&b| b == b'/');
    loop {
        match (template.next(), actual.next()) {
            (None, None) => return Ok(()),
            (Some(t), Some(a)) => match t.strip_prefix(b"{").and_then(|t| t.strip_suffix(b"}")) {
                Some(param) if a.is_empty() || matches!(a, b"." | b".." | b"%2e" | b"%2E") => {
                    return Err(format!(
                        "{}: must not be empty, `.` or `..`",
                        String::from_utf8_lossy(param)
                    ));
                }
                Some(_) => {}
                None if t != a => {
                    return Err(format!(
                        "{} would be sent to {rest}, not {}",
                        op.id, op.path
                    ));
                }
                None => {}
            },
            _ => {
                return Err(format!(
                    "a path parameter of {} is empty, `.` or `..`, which would address another resource ({} instead of {})",
                    op.id, rest, op.path
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeyKind;

    const OP: operations::Operation = operations::Operation {
        id: "deleteSecretFromSet",
        method: "DELETE",
        path: "/secrets/{setName}/{secretKey}",
        key: KeyKind::Private,
        retry_conflict: false,
        capacity_429: false,
        hand_written: false,
    };

    #[test]
    fn exact_target_passes() {
        assert_eq!(check_target("/v1/secrets/my-set/KEY", "/v1", &OP), Ok(()));
    }

    #[test]
    fn a_vanished_segment_is_refused() {
        // What `..` or `.` in the key leaves after URL normalisation.
        let err = check_target("/v1/secrets/my-set", "/v1", &OP)
            .err()
            .unwrap_or_default();
        assert!(err.contains("deleteSecretFromSet"), "{err}");
        let err = check_target("/v1/secrets/my-set/", "/v1", &OP)
            .err()
            .unwrap_or_default();
        assert_eq!(err, "secretKey: must not be empty, `.` or `..`");
    }

    #[test]
    fn a_changed_literal_is_refused() {
        assert!(check_target("/v1/agents/my-set/KEY", "/v1", &OP).is_err());
    }
}
