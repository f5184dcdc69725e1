//! How the fake answers when it does not answer with data: the API's
//! documented error shape `{"error", "code"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An answer in the documented error shape `{"error", "code"}`.
pub(crate) fn error(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": message, "code": code})),
    )
        .into_response()
}

/// The answer to a request no operation matches.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found", "NOT_FOUND")
}

/// An answer in the documented error shape, not yet a response.
pub(crate) struct Failure {
    status: StatusCode,
    message: String,
    code: &'static str,
}

impl Failure {
    pub(crate) fn new(
        status: StatusCode,
        message: impl Into<String>,
        code: &'static str,
    ) -> Failure {
        Failure {
            status,
            message: message.into(),
            code,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        error(self.status, &self.message, self.code)
    }
}
