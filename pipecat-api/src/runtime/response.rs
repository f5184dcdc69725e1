//! [`Response`]: a decoded answer with its status and headers.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A decoded answer together with its status and headers, from
/// `send_with_response()`. Most callers use `send()`, which gives the value
/// alone; this is for when the status says something the value does not
/// (`createBuild` answers 201 for a new build and 200 for a cached one).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<T> {
    status: StatusCode,
    headers: HeaderMap,
    value: T,
}

impl<T> Response<T> {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, value: T) -> Self {
        Self {
            status,
            headers,
            value,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers of the answer.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The request id the service (or its gateway) gave the answer, for
    /// support requests, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        crate::runtime::error::request_id(&self.headers)
    }

    /// The decoded value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The decoded value, taken out.
    pub fn into_value(self) -> T {
        self.value
    }
}
