//! progenitor's `ClientHooks`: the one place every generated call passes
//! through. `pre` authenticates and guards the request's target; `exec` sends
//! it and keeps the body of an error answer for [`crate::Error`].

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, USER_AGENT};

use crate::auth::Credentials;
use crate::error::{ErrorBody, MAX_ERROR_BODY};
use crate::generated::{self, operations};

impl ClientHooks<Credentials> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), generated::Error<E>> {
        let op = operations::find(info.operation_id).ok_or_else(|| {
            generated::Error::Custom(format!("unknown operation `{}`", info.operation_id))
        })?;
        let credentials = self.inner();
        let key = credentials.key(op.key).ok_or_else(|| {
            generated::Error::Custom(format!(
                "{} needs the {} API key, which this client was not given; {}",
                op.id,
                op.key.name(),
                op.key.how_to_set()
            ))
        })?;
        if request.method().as_str() != op.method {
            return Err(generated::Error::Custom(format!(
                "{} is a {} request, not {}",
                op.id,
                op.method,
                request.method()
            )));
        }
        check_target(request.url().path(), &credentials.base_path, op)
            .map_err(generated::Error::Custom)?;

        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, key.header().clone());
        headers.insert(USER_AGENT, credentials.user_agent.clone());
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            let operation = operations::find(info.operation_id).map(|op| op.id);
            return Ok(keep_error_body(response, operation).await);
        }
        Ok(response)
    }
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
    let mut rebuilt = http::Response::new(body.clone());
    *rebuilt.status_mut() = response.status();
    *rebuilt.version_mut() = response.version();
    *rebuilt.headers_mut() = std::mem::take(response.headers_mut());
    rebuilt
        .extensions_mut()
        .insert(ErrorBody { operation, body });
    reqwest::Response::from(rebuilt)
}

/// Checks that `path` addresses exactly what the operation's template says:
/// the same number of segments, the same literal segments, and no parameter
/// that is empty, `.` or `..` (URL parsing removes dot segments, so such a
/// value would silently address the parent resource, e.g. a whole secret set).
fn check_target(path: &str, base_path: &str, op: &operations::Operation) -> Result<(), String> {
    let rest = path.strip_prefix(base_path).unwrap_or(path);
    let template: Vec<&str> = op.path.split('/').collect();
    let actual: Vec<&str> = rest.split('/').collect();
    if template.len() != actual.len() {
        return Err(format!(
            "a path parameter of {} is empty, `.` or `..`, which would address another resource ({} instead of {})",
            op.id, rest, op.path
        ));
    }
    for (t, a) in template.iter().zip(&actual) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(param) if a.is_empty() || matches!(*a, "." | ".." | "%2e" | "%2E") => {
                return Err(format!("{param}: must not be empty, `.` or `..`"));
            }
            Some(_) => {}
            None if t != a => {
                return Err(format!(
                    "{} would be sent to {rest}, not {}",
                    op.id, op.path
                ));
            }
            None => {}
        }
    }
    Ok(())
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
