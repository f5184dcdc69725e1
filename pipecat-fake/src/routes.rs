//! The router: each operation of the table ([`crate::ops`]) at its method
//! and route, with the layers every request goes through.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::answers::not_found;
use crate::ops::{OPERATIONS, Op};
use crate::state::State;
// One a line, so that `cargo xtask modules` (which reads `use` lines) sees each.
use crate::agents;
use crate::auth;
use crate::builds;
use crate::faults;
use crate::logs;
use crate::properties;
use crate::proxy;
use crate::record;
use crate::regions;
use crate::secrets;
use crate::sessions;

/// The fake's whole service.
pub(crate) fn router(state: Arc<State>) -> Router {
    let mut router = Router::new();
    for row in OPERATIONS {
        // Routes of one path merge their methods.
        if let Some(filter) = method_filter(row.method) {
            router = router.route(row.route, handler(row.op, filter));
        }
    }
    router
        // Runs after routing, so it knows the operation: faults, then auth.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .fallback(not_found)
        // The log below already caps bodies.
        .layer(DefaultBodyLimit::disable())
        // Runs first, for every request: the log.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record::record,
        ))
        .with_state(state)
}

/// The filter for a method of the table; `None` for a method axum cannot
/// route (a test checks the table has none).
fn method_filter(method: &str) -> Option<MethodFilter> {
    Some(match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        "OPTIONS" => MethodFilter::OPTIONS,
        "HEAD" => MethodFilter::HEAD,
        _ => return None,
    })
}

/// What serves `op`, for requests `filter` lets through.
fn handler(op: Op, filter: MethodFilter) -> MethodRouter<Arc<State>> {
    match op {
        Op::UploadBuildContext => on(filter, builds::receive_upload),
        Op::ListSecretSets => on(filter, secrets::list),
        Op::GetSecretSet => on(filter, secrets::get),
        Op::UpsertSecretSet => on(filter, secrets::upsert),
        Op::DeleteSecretSet => on(filter, secrets::delete_set),
        Op::DeleteSecretFromSet => on(filter, secrets::delete_key),
        Op::CreateService => on(filter, agents::create),
        Op::ListServices => on(filter, agents::list),
        Op::GetService => on(filter, agents::get),
        Op::UpdateService => on(filter, agents::update),
        Op::DeleteService => on(filter, agents::delete),
        Op::GetLogs => on(filter, logs::get),
        Op::GetSessions => on(filter, sessions::list),
        Op::GetSession => on(filter, sessions::get),
        Op::StopSession => on(filter, sessions::stop),
        Op::CreateBuild => on(filter, builds::create),
        Op::ListBuilds => on(filter, builds::list),
        Op::GetBuildUploadUrl => on(filter, builds::upload_url),
        Op::GetBuild => on(filter, builds::get),
        Op::GetBuildLogs => on(filter, builds::logs),
        Op::GetProperties => on(filter, properties::get),
        Op::UpdateProperties => on(filter, properties::update),
        Op::GetPropertiesSchema => on(filter, properties::get_schema),
        Op::ListRegions => on(filter, regions::list),
        Op::StartService => on(filter, sessions::start),
        Op::SessionProxyGet
        | Op::SessionProxyPost
        | Op::SessionProxyPut
        | Op::SessionProxyPatch
        | Op::SessionProxyDelete
        | Op::SessionProxyOptions
        | Op::SessionProxyHead => on(filter, proxy::forward),
    }
}

#[cfg(test)]
mod tests {
    // A test stops at the first unexpected result.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{FakeCloud, Fault};

    #[test]
    fn every_method_of_the_table_is_routed() {
        for row in OPERATIONS {
            assert!(method_filter(row.method).is_some(), "{}", row.id);
        }
    }

    /// Each operation is served at its row's method and route, and a fault
    /// armed for it fires there and nowhere else: a fault for every
    /// operation at once, then a request to each, answered by its own.
    #[tokio::test]
    async fn a_fault_for_an_operation_answers_the_requests_of_that_operation() {
        let fake = FakeCloud::start().await.unwrap();
        for row in OPERATIONS {
            fake.fail_next(row.op, 1, Fault::empty(418).with_header("x-fault", row.id));
        }
        let http = reqwest::Client::new();
        for row in OPERATIONS {
            // Any value for each parameter: the fault answers first.
            let path = row
                .route
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
            let response = http
                .request(method, format!("{}{path}", fake.url()))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 418, "{} {path}", row.method);
            assert_eq!(response.headers()["x-fault"], row.id);
            let recorded = fake.requests().pop().unwrap();
            assert_eq!(recorded.operation.as_deref(), Some(row.id));
        }
        // Each fired once: the next call of any of them is served normally.
        let again = http
            .get(format!("{}/v1/regions", fake.url()))
            .bearer_auth(fake.private_key())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);
    }
}
