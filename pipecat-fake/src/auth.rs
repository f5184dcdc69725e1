//! Bearer keys: the private key for the private API, the public key for the public one.

use std::sync::Arc;

use axum::extract::{Request, State as AxumState};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::answers::error;
use crate::ops::{Key, operation_of};
use crate::state::State;

pub(crate) async fn authorize(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let key = operation_of(&request).map(|row| row.key);
    let expected = match key {
        Some(Key::Private) => &state.private_key,
        Some(Key::Public) => &state.public_key,
        Some(Key::Storage) | None => return next.run(request).await,
    };
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if sent != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "UNAUTHORIZED");
    }
    next.run(request).await
}
