//! What every call needs besides its own parameters, fixed when the client
//! is built and held by the generated client as its inner value.

use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::runtime::auth::{ApiKey, KeyKind};
use crate::runtime::operation::Operation;
use crate::runtime::retry::RetryPolicy;

/// The settings a built [`crate::Client`] applies to every call. Built only
/// by [`crate::ClientBuilder`].
#[derive(Clone, Debug)]
pub(crate) struct ClientConfig {
    pub(crate) private_key: Option<ApiKey>,
    pub(crate) public_key: Option<ApiKey>,
    pub(crate) user_agent: HeaderValue,
    /// The base URL (`https://api.pipecat.daily.co/v1`), parsed once; every
    /// request URL extends it (see [`ClientConfig::url`]).
    pub(crate) base: reqwest::Url,
    /// The path of the base URL (`/v1`), stripped before matching a request's
    /// path against its operation's template.
    pub(crate) base_path: String,
    /// The per-attempt timeout to set on each request: only with a
    /// caller-supplied `reqwest::Client` (the client built here carries the
    /// timeout itself, which costs nothing per call).
    pub(crate) request_timeout: Option<Duration>,
    /// The per-attempt timeout in force, for `Debug`.
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// The largest success answer read.
    pub(crate) max_answer_bytes: usize,
}

impl ClientConfig {
    /// The base URL extended by `segments`, each percent-encoded here as one
    /// path segment (`/`, `%`, `?` and `#` included), so the generated code
    /// passes parameter values as they are. `.` and `..` segments are
    /// dropped, as URL parsing would drop them; the `pre` hook then refuses
    /// the request as addressing another resource.
    pub(crate) fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Applies the per-request settings that the HTTP client does not
    /// already apply by itself.
    pub(crate) fn apply_timeout(&self, request: &mut reqwest::Request) {
        if let Some(timeout) = self.request_timeout {
            *request.timeout_mut() = Some(timeout);
        }
    }

    /// The key operation `op` is sent with, or why there is none.
    pub(crate) fn key_for(&self, op: &Operation) -> Result<&ApiKey, String> {
        let key = match op.key {
            KeyKind::Private => self.private_key.as_ref(),
            KeyKind::Public => self.public_key.as_ref(),
        };
        key.ok_or_else(|| {
            format!(
                "{} needs the {} API key, which this client was not given; {}",
                op.id,
                op.key.name(),
                op.key.how_to_set()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Client;

    #[test]
    fn each_segment_is_encoded_once() {
        let client = Client::builder()
            .private_key("k")
            .host("https://api.example.com")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let url = client.inner.url(&["secrets", "a/b%2F c?d#e"]);
        assert_eq!(
            url.as_str(),
            "https://api.example.com/v1/secrets/a%2Fb%252F%20c%3Fd%23e"
        );
    }
}
