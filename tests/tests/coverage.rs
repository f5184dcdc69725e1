//! The suite's helpers know every operation of the spec: a new operation
//! in the spec fails here until `call_operation` can call it.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used)]

use pipecat_e2e::{call_operation, operations, setup};

#[tokio::test]
async fn every_operation_of_the_spec_can_be_called() {
    let ops = operations();
    assert_eq!(ops.len(), 31);
    let (_fake, client) = setup().await;
    let id = pipecat_api::uuid::Uuid::nil();
    for (op, _) in &ops {
        // An error answer is fine (nothing exists yet); an operation the
        // helper does not know panics.
        let _ = call_operation(&client, op, id).await;
    }
}

/// The fake serves exactly the spec's operations (and the storage upload),
/// so a fault armed by operation id names one that exists.
#[test]
fn the_fake_serves_exactly_the_operations_of_the_spec() {
    let mut spec: Vec<String> = operations().into_iter().map(|(id, _)| id).collect();
    spec.push("uploadBuildContext".into());
    spec.sort();
    let fake: Vec<String> = pipecat_fake::operation_ids()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(fake, spec);
}

/// Faults name a typed operation; one read from a string (an id of the
/// spec) is refused when it is not an operation, rather than armed for
/// nothing.
#[test]
fn an_operation_id_that_does_not_exist_does_not_parse() {
    let err = "deleteSecretSets"
        .parse::<pipecat_fake::Op>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`deleteSecretSets` is not an operation of the fake"),
        "{err}"
    );
    for (id, _) in operations() {
        assert_eq!(id.parse::<pipecat_fake::Op>().unwrap().id(), id);
    }
}
