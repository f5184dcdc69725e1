//! Regions: `GET /v1/regions`.

use axum::Json;
use serde_json::{Value, json};

/// (code, display name) of every region the fake knows.
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("us-west", "US West (Oregon)"),
    ("us-east", "US East (Virginia)"),
    ("eu-central", "Europe (Frankfurt)"),
    ("ap-south", "Asia Pacific (Mumbai)"),
];

/// Whether `code` is a region the fake knows.
pub(crate) fn known(code: &str) -> bool {
    REGIONS.iter().any(|(c, _)| *c == code)
}

/// The region codes, comma separated, for error messages.
pub(crate) fn codes() -> String {
    REGIONS
        .iter()
        .map(|(code, _)| *code)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) async fn list() -> Json<Value> {
    let regions: Vec<Value> = REGIONS
        .iter()
        .map(|(code, name)| json!({"code": code, "display_name": name}))
        .collect();
    Json(json!({ "regions": regions }))
}
