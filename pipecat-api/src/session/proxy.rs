//! The session proxy: a request to the bot of a running session.
//!
//! Written by hand because progenitor cannot express it: any method
//! (OPTIONS and HEAD included), a path that spans segments (`api/offer`), and
//! bodies and answers in whatever the bot speaks. It goes through the same
//! keys, checks, retries and tracing as the generated operations.

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::generated::operations;
use crate::runtime::error::ApiError;
use crate::runtime::operation::Operation;
use crate::{Client, Error};

/// Characters encoded in a proxy path segment: everything but RFC 3986
/// unreserved characters and a few harmless sub-delimiters, so that `?`,
/// `#`, `%` and `/` inside a segment can never change the target.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

impl Client {
    /// A request to the bot of session `session_id` of agent `service_name`,
    /// at `path` below the session (e.g. `api/offer`; `/` separates
    /// segments, each of which is percent-encoded). Sent with the public key.
    ///
    /// ```no_run
    /// # async fn run(client: pipecat_api::Client, session: pipecat_api::uuid::Uuid) -> Result<(), pipecat_api::Error> {
    /// let answer = client
    ///     .session_proxy(pipecat_api::Method::POST, "my-agent", session, "api/offer")
    ///     .json(&[("sdp", "..."), ("type", "offer")])
    ///     .send()
    ///     .await?
    ///     .error_for_status()?;
    /// println!("{}", answer.text());
    /// # Ok(()) }
    /// ```
    pub fn session_proxy(
        &self,
        method: Method,
        service_name: &str,
        session_id: uuid::Uuid,
        path: &str,
    ) -> ProxyRequest<'_> {
        ProxyRequest {
            client: self,
            method,
            target: proxy_path(service_name, session_id, path),
            bad_header: None,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

/// A request to a session's bot, built by [`Client::session_proxy`].
#[derive(Debug)]
#[must_use = "a proxy request does nothing until `send` is awaited"]
pub struct ProxyRequest<'a> {
    client: &'a Client,
    method: Method,
    /// The encoded path below the base URL, or why there is none.
    target: Result<String, String>,
    /// The first header refused, and why: reported by `send`.
    bad_header: Option<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Result<Bytes, String>>,
}

impl ProxyRequest<'_> {
    /// Adds a header passed through to the bot. `Authorization` cannot be
    /// set: the proxy strips it, and the key goes in it.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), _) if name == AUTHORIZATION => {
                let why = "header: Authorization is reserved for the API key";
                self.bad_header.get_or_insert_with(|| why.into());
            }
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                let why = format!("header: `{name}` is not a valid header name and value");
                self.bad_header.get_or_insert(why);
            }
        }
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = Some(
            serde_json::to_vec(value)
                .map(Bytes::from)
                .map_err(|e| format!("body: cannot serialize as JSON: {e}")),
        );
        if !self.headers.contains_key(reqwest::header::CONTENT_TYPE) {
            self.headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        self
    }

    /// Sends these bytes as the body (set `Content-Type` with [`Self::header`]).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(Ok(body.into()));
        self
    }

    /// Sends the request and hands back the bot's answer, whatever its
    /// status: see [`ProxyResponse::error_for_status`]. Fails only when the
    /// request is refused locally or no answer arrives.
    pub async fn send(self) -> Result<ProxyResponse, Error> {
        let refused = |message: String| Error::InvalidRequest { message };
        let op = proxy_operation(&self.method).ok_or_else(|| {
            refused(format!(
                "the session proxy does not take {} requests",
                self.method
            ))
        })?;
        let path = self.target.map_err(refused)?;
        if let Some(why) = self.bad_header {
            return Err(refused(why));
        }
        let url = format!("{}{path}", self.client.base_url());
        let mut builder = self
            .client
            .client
            .request(self.method, url)
            .headers(self.headers);
        if !self.query.is_empty() {
            builder = builder.query(&self.query);
        }
        if let Some(body) = self.body {
            builder = builder.body(body.map_err(refused)?);
        }
        let request = builder.build().map_err(Error::unbuildable)?;
        let answer = crate::runtime::transport::execute_any(self.client, request, op).await?;
        ProxyResponse::read(answer).await
    }
}

/// The bot's answer through the session proxy.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// For an error status: the body, decoded as an API error.
    error: Option<Box<ApiError>>,
}

impl ProxyResponse {
    async fn read(answer: crate::runtime::transport::Answer) -> Result<Self, Error> {
        Ok(ProxyResponse {
            status: answer.status,
            headers: answer.headers,
            body: answer.body.bytes(answer.max_body).await?,
            error: answer.error,
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as sent.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedResponse {
            status: Some(self.status),
            message: format!("the bot's answer is not the JSON expected: {e}"),
        })
    }

    /// This answer, or an [`Error::Api`] when its status is 4xx or 5xx (an
    /// ended session is 400 `PCC-1001`; an unknown one 404).
    pub fn error_for_status(self) -> Result<Self, Error> {
        match self.error {
            Some(api) => Err(Error::Api(api)),
            None => Ok(self),
        }
    }
}

/// The spec's proxy operation for `method` (e.g. `sessionProxyPost`).
fn proxy_operation(method: &Method) -> Option<&'static Operation> {
    operations::ALL
        .iter()
        .find(|op| op.hand_written && op.method == method.as_str())
}

/// `/public/{service}/sessions/{id}/{path}` with each path segment encoded,
/// or why the path cannot be sent.
fn proxy_path(service_name: &str, session_id: uuid::Uuid, path: &str) -> Result<String, String> {
    // The agent-name rule of the spec, as the generated calls check it.
    if service_name.len() > 63 || !crate::runtime::patterns::dns_label(service_name) {
        return Err(format!(
            "service_name: must be lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters; got {service_name:?}"
        ));
    }
    let mut out = format!("/public/{service_name}/sessions/{session_id}");
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Err("path: must not be empty (e.g. `api/offer`)".into());
    }
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!(
                "path: segment {segment:?} of {path:?} is empty, `.` or `..`, which would change the target"
            ));
        }
        out.push('/');
        out.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: uuid::Uuid = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

    #[test]
    fn slashes_separate_segments_and_each_is_encoded() {
        assert_eq!(
            proxy_path("my-agent", ID, "api/offer").unwrap(),
            "/public/my-agent/sessions/01234567-89ab-cdef-0123-456789abcdef/api/offer"
        );
        assert_eq!(
            proxy_path("my-agent", ID, "/a b/x?y#z/%2F").unwrap(),
            "/public/my-agent/sessions/01234567-89ab-cdef-0123-456789abcdef/a%20b/x%3Fy%23z/%252F"
        );
    }

    #[test]
    fn dot_and_empty_segments_are_refused() {
        for path in ["", "/", "..", "api/../admin", "./x", "a//b", "a/"] {
            let err = proxy_path("my-agent", ID, path).unwrap_err();
            assert!(err.starts_with("path: "), "{path}: {err}");
        }
    }

    #[test]
    fn bad_service_names_are_refused() {
        for name in ["", "-a", "a-", "A", "a/b", "..", &"a".repeat(64)] {
            let err = proxy_path(name, ID, "x").unwrap_err();
            assert!(err.starts_with("service_name: "), "{name}: {err}");
        }
    }
}
