//! Answers as the service really sends them decode: nulls where the
//! published spec says a field is never null, missing fields it calls
//! required, untyped values, snake_case fields among camelCase ones.
//! Each body is served by the fake in place of the normal answer.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use pipecat_api::types::UpsertSecretSetBody;
use pipecat_e2e::setup;
use pipecat_fake::{Fault, Op};
use serde_json::json;

#[tokio::test]
async fn agent_details_with_nulls_decode() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::GetService,
        1,
        Fault::json(200, json!({
            "name": "voice-bot", "region": "us-west", "ready": true,
            "reconciledDeploymentId": null,
            "previousRevision": null,
            "currentRevision": {"deploymentID": "d1", "phase": "Active", "health": {"ready": true}},
            "krispViva": {"audioFilter": null},
            "agentProfile": "agent-9x",
            "deployment": null
        })),
    );
    let agent = client
        .get_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(agent.reconciled_deployment_id, None);
    assert!(agent.previous_revision.is_none() && agent.current_revision.is_some());
    assert_eq!(
        agent.agent_profile.as_deref(),
        Some("agent-9x"),
        "profiles beyond the documented three"
    );
}

#[tokio::test]
async fn listings_with_nulls_and_snake_case_decode() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::ListServices,
        1,
        Fault::json(
            200,
            json!({"services": [{"name": "a", "deletedAt": null, "reconciledDeploymentId": null}]}),
        ),
    );
    let services = client.list_services().send().await.unwrap().services;
    assert_eq!(services.len(), 1);

    fake.fail_next(
        Op::ListRegions,
        1,
        Fault::json(
            200,
            json!({"regions": [{"code": "us-west", "display_name": "US West (Oregon)"}]}),
        ),
    );
    let regions = client.list_regions().send().await.unwrap().regions;
    assert_eq!(regions[0].display_name.as_deref(), Some("US West (Oregon)"));

    fake.fail_next(
        Op::GetSessions,
        1,
        Fault::json(
            200,
            json!({"total_count": 1, "sessions": [{"sessionId": "s1", "endedAt": null}]}),
        ),
    );
    let sessions = client.get_sessions().agent_name("a").send().await.unwrap();
    assert_eq!(sessions.total_count, Some(1));
    assert_eq!(sessions.sessions[0].ended_at, None);
}

#[tokio::test]
async fn property_schema_without_read_only_and_untyped_values_decodes() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::GetPropertiesSchema,
        1,
        Fault::json(200, json!({"properties": {
            "defaultRegion": {"type": "string", "default": "us-west", "currentValue": "eu-central",
                               "availableValues": ["us-west", "eu-central", 3, null]},
            "somethingNew": {"type": "object", "default": {"a": [1]}, "currentValue": null}
        }})),
    );
    let schema = client.get_properties_schema().send().await.unwrap();
    assert_eq!(
        schema.properties["defaultRegion"].current_value,
        Some(json!("eu-central"))
    );
    assert_eq!(schema.properties.len(), 2);
}

#[tokio::test]
async fn build_logs_carry_next_token() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::GetBuildLogs,
        1,
        Fault::json(
            200,
            json!({"logs": ["step 1", "step 2"], "nextToken": "abc"}),
        ),
    );
    let logs = client
        .get_build_logs()
        .build_id(pipecat_api::uuid::Uuid::nil())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (logs.logs.len(), logs.next_token.as_deref()),
        (2, Some("abc"))
    );
}

#[test]
fn an_upsert_body_cannot_be_both_kinds() {
    let both = json!({
        "secrets": [{"secretKey": "K", "secretValue": "v"}],
        "isImagePullSecret": true, "host": "https://r", "secretValue": "x"
    });
    assert!(serde_json::from_value::<UpsertSecretSetBody>(both).is_err());
    let regular = json!({"secrets": [{"secretKey": "K", "secretValue": "v"}]});
    assert!(matches!(
        serde_json::from_value::<UpsertSecretSetBody>(regular).unwrap(),
        UpsertSecretSetBody::RegularSecretsRequest(_)
    ));
}
