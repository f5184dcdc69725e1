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

#[tokio::test]
#[should_panic(expected = "is not an operation of the fake")]
async fn a_fault_for_an_operation_that_does_not_exist_is_refused() {
    let (fake, _client) = setup().await;
    fake.fail_next("deleteSecretSets", 1, pipecat_fake::Fault::empty(500));
}
