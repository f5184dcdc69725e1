//! The JSON Schema (schemars) of every public request and response type, as
//! one snapshot: a regeneration that changes what users send or receive
//! shows up in review as a diff here.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used)]

#[test]
fn json_schemas_of_public_types() {
    let schemas: serde_json::Map<String, serde_json::Value> = pipecat_api::json_schemas()
        .into_iter()
        .map(|(name, schema)| (name.to_string(), serde_json::to_value(schema).unwrap()))
        .collect();
    assert!(schemas.contains_key("ErrorResponse"));
    assert!(schemas.contains_key("UpsertSecretSetBody"));
    insta::assert_snapshot!(serde_json::to_string_pretty(&schemas).unwrap());
}
