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
