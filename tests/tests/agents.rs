//! Agents end to end: create, list, get, update, delete, waiting for ready,
//! and their logs, against pipecat-fake over loopback.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use futures_util::TryStreamExt as _;
use pipecat_api::types::{
    AgentResources, Architecture, AutoScalingConfig, CreateServiceRequest, GetLogsOrder,
    UpdateServiceRequest, UpsertSecretSetBody,
};
use pipecat_api::{Client, Error, Wait};
use pipecat_e2e::{render_requests, setup};

fn quick() -> Wait {
    pipecat_e2e::quick_wait(Duration::from_secs(5))
}

fn agent(name: &str) -> pipecat_api::types::builder::CreateServiceRequest {
    CreateServiceRequest::builder()
        .service_name(name)
        .image("example/bot:1.0")
}

async fn create(client: &Client, name: &str) {
    client
        .create_service()
        .body(agent(name))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_get_update_list_delete() {
    let (_fake, client) = setup().await;
    let request = agent("voice-bot")
        .region("us-west")
        .agent_profile("agent-2x")
        .auto_scaling(AutoScalingConfig::builder().min_agents(0).max_agents(3))
        .max_session_duration(600);
    let created = client.create_service().body(request).send().await.unwrap();
    assert_eq!(created.name.as_deref(), Some("voice-bot"));
    assert_eq!(created.ready, Some(false));
    let first_deployment = created.desired_deployment_id.clone().unwrap();

    let ready = client.wait_agent_ready("voice-bot", quick()).await.unwrap();
    assert_eq!(ready.ready, Some(true));
    assert_eq!(ready.agent_profile.as_deref(), Some("agent-2x"));
    let scaling = ready.auto_scaling.unwrap();
    assert_eq!(
        (scaling.min_replicas, scaling.max_replicas),
        (Some(0), Some(3))
    );

    let update = UpdateServiceRequest::builder().image("example/bot:2.0");
    let updated = client
        .update_service()
        .agent_name("voice-bot")
        .body(update)
        .send()
        .await
        .unwrap();
    assert_ne!(
        updated.desired_deployment_id.as_deref(),
        Some(first_deployment.as_str()),
        "a new deployment"
    );

    let listed = client.list_services().send().await.unwrap().services;
    let names: Vec<_> = listed.iter().filter_map(|s| s.name.as_deref()).collect();
    assert_eq!(names, ["voice-bot"]);

    client
        .delete_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    let err: Error = client
        .get_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn agent_requests_as_sent() {
    let (fake, client) = setup().await;
    let request = agent("voice-bot")
        .secret_set("bot-secrets")
        .architecture(Architecture::Arm64)
        .resources(AgentResources::builder().cpu("1").memory("2Gi"))
        .websocket_auth("token");
    let body = UpsertSecretSetBody::secrets([("K", "v")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("bot-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    client
        .wait_secret_set_ready("bot-secrets", quick())
        .await
        .unwrap();
    fake.clear_requests();

    client.create_service().body(request).send().await.unwrap();
    client
        .list_services()
        .include_active_deployment(true)
        .region("us-west")
        .send()
        .await
        .unwrap();
    client
        .get_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    let update = UpdateServiceRequest::builder().force_redeploy(true);
    client
        .update_service()
        .agent_name("voice-bot")
        .body(update)
        .send()
        .await
        .unwrap();
    client
        .get_logs()
        .agent_name("voice-bot")
        .limit(5)
        .offset(0)
        .order(GetLogsOrder::Desc)
        .query("error")
        .send()
        .await
        .unwrap();
    client
        .delete_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render_requests(&fake));
}

#[tokio::test]
async fn deploying_with_a_pending_secret_set_is_409() {
    let (fake, client) = setup().await;
    fake.set_provisioning_reads(10);
    let body = UpsertSecretSetBody::secrets([("K", "v")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("slow-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    let request = agent("voice-bot").secret_set("slow-secrets");
    let err: Error = client
        .create_service()
        .body(request)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.operation.as_deref() == Some("createService"))
            .count(),
        1,
        "a POST is never retried"
    );

    let missing = agent("other-bot").secret_set("no-such-set");
    let err: Error = client
        .create_service()
        .body(missing)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn agent_errors() {
    let (_fake, client) = setup().await;
    create(&client, "voice-bot").await;
    let err: Error = client
        .create_service()
        .body(agent("voice-bot"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    let err: Error = client
        .update_service()
        .agent_name("ghost")
        .body(UpdateServiceRequest::builder())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err: Error = client
        .delete_service()
        .agent_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err: Error = client
        .get_logs()
        .agent_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Bad names never leave the client.
    for name in ["", ".", "..", "Voice", "-bot", "bot-", "a/b", "a b"] {
        let err: Error = client
            .get_service()
            .agent_name(name)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{name:?}: {err}"
        );
        assert!(err.to_string().contains("agent_name"), "{err}");
    }
}

#[tokio::test]
async fn a_failed_deployment_ends_the_wait() {
    let (fake, client) = setup().await;
    create(&client, "voice-bot").await;
    fake.fail_next(pipecat_fake::Op::GetService, 1, pipecat_fake::Fault::json(200, serde_json::json!({
        "name": "voice-bot", "ready": false,
        "currentRevision": {"phase": "Failed", "health": {"ready": false, "message": "image pull failed: not found"}}
    })));
    let err = client
        .wait_agent_ready("voice-bot", quick())
        .await
        .unwrap_err();
    let Error::Failed { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(reason, "image pull failed: not found");
}

#[tokio::test]
async fn logs_stream_every_line_one_page_at_a_time() {
    let (fake, client) = setup().await;
    create(&client, "voice-bot").await;
    fake.seed_logs("voice-bot", 2_345);
    fake.clear_requests();

    let lines: Vec<_> = client
        .get_logs()
        .agent_name("voice-bot")
        .order(GetLogsOrder::Asc)
        .into_stream_with_page_size(500)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(lines.len(), 2_345);
    assert_eq!(lines[0].log.as_deref(), Some("synthetic log line 0"));
    assert_eq!(lines[2_344].log.as_deref(), Some("synthetic log line 2344"));
    let queries: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries.len(), 5, "{queries:?}");
    assert!(
        queries[0].contains("limit=500") && queries[0].contains("offset=0"),
        "{queries:?}"
    );
    assert!(queries[4].contains("offset=2000"), "{queries:?}");

    // Filters pass through.
    let matching: Vec<_> = client
        .get_logs()
        .agent_name("voice-bot")
        .query("line 12")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(
        !matching.is_empty()
            && matching
                .iter()
                .all(|l| l.log.as_deref().unwrap_or("").contains("line 12"))
    );
}
