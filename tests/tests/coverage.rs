//! The suite's table of operations is the spec's: a new operation in the
//! spec fails here until the helpers that call every operation know it.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used)]

#[test]
fn the_operation_table_names_every_operation_of_the_spec() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/pipecat-cloud.yaml"
    ))
    .unwrap();
    let mut in_spec: Vec<&str> = spec
        .lines()
        .filter_map(|l| l.trim().strip_prefix("operationId:"))
        .map(str::trim)
        .collect();
    in_spec.sort();
    let mut ours: Vec<&str> = pipecat_e2e::OPERATIONS.iter().map(|(id, _)| *id).collect();
    ours.sort();
    assert_eq!(ours, in_spec);
    assert_eq!(ours.len(), 31);
}
