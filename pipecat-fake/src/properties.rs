//! Organization properties: `/v1/properties`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::answers::error;
use crate::regions;
use crate::state::State;

/// The organization's properties.
pub(crate) struct Store {
    /// Where agents go when created without a region.
    pub(crate) default_region: String,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            default_region: "us-west".to_string(),
        }
    }
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "GENERIC_BAD_REQUEST")
}

/// Every property with its schema and current value.
fn schema(store: &Store) -> Value {
    let regions: Vec<&str> = regions::REGIONS.iter().map(|(code, _)| *code).collect();
    json!({
        "properties": {
            "defaultRegion": {
                "type": "string",
                "description": "Default region for new service deployments",
                "readOnly": false,
                "default": "us-west",
                "currentValue": store.default_region,
                "availableValues": regions,
            }
        }
    })
}

pub(crate) async fn get(AxumState(state): AxumState<Arc<State>>) -> Response {
    let inner = state.lock();
    Json(json!({"properties": {"defaultRegion": inner.properties.default_region}})).into_response()
}

pub(crate) async fn get_schema(AxumState(state): AxumState<Arc<State>>) -> Response {
    Json(schema(&state.lock().properties)).into_response()
}

pub(crate) async fn update(
    AxumState(state): AxumState<Arc<State>>,
    body: axum::body::Bytes,
) -> Response {
    if body.iter().all(u8::is_ascii_whitespace) {
        return bad_request("No properties provided");
    }
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Invalid request format");
    };
    if changes.is_empty() {
        return bad_request("No properties provided");
    }
    let mut default_region = None;
    for (name, value) in &changes {
        if name != "defaultRegion" {
            return bad_request(&format!("Property '{name}' is not a valid property"));
        }
        match value.as_str() {
            Some(region) if regions::known(region) => default_region = Some(region.to_string()),
            Some(region) => {
                return bad_request(&format!(
                    "Region '{region}' is not available. Available regions: {}",
                    regions::codes()
                ));
            }
            None => return bad_request("Property 'defaultRegion' must be a string"),
        }
    }
    let mut inner = state.lock();
    if let Some(region) = default_region {
        inner.properties.default_region = region;
    }
    Json(schema(&inner.properties)).into_response()
}
