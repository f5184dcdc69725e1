//! Answers from a newer service: values of an enum this crate has never
//! seen and fields it does not know. Each call must still succeed (a
//! mutation that took effect is reported as a success), keep the unseen
//! value, and hand it back unchanged.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use pipecat_api::types::{
    BuildStatus, GetLogsResponseTotalRelation, KrispVivaConfigAudioFilter, OkStatusStatus,
    RevisionHealthState, RevisionInfoPhase, SecretSetStatus, SecretSetSummaryType,
    UpdateServiceRequest, UpsertSecretSetBody, UpsertSecretSetResponseStatus,
};
use pipecat_e2e::{call_operation, operations, ready_agent, setup};
use pipecat_fake::{Fault, Op};
use serde_json::json;

/// The value an open enum holds when it is not one it knows.
fn unknown<T: std::fmt::Display + std::fmt::Debug>(value: &T) -> String {
    let debug = format!("{value:?}");
    assert!(
        debug.starts_with("Unknown("),
        "not kept as unknown: {debug}"
    );
    value.to_string()
}

async fn secret_set(client: &pipecat_api::Client, name: &str) {
    let body = UpsertSecretSetBody::secrets([("KEY", "v")]).unwrap();
    client
        .upsert_secret_set()
        .set_name(name)
        .body(body)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_delete_answering_an_unseen_status_is_a_success_and_took_effect() {
    let (fake, client) = setup().await;
    secret_set(&client, "my-secrets").await;
    fake.fail_next(
        Op::DeleteSecretSet,
        1,
        Fault::amend("/status", json!("DELETED")).and("/deletedAt", json!(1_700_000_000)),
    );
    let deleted = client
        .delete_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap();
    let status = deleted.status.unwrap();
    assert_eq!(unknown(&status), "DELETED");
    assert_ne!(status, OkStatusStatus::Ok);
    assert_eq!(serde_json::to_value(&status).unwrap(), json!("DELETED"));
    let err = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "the set is gone: {err}");
}

#[tokio::test]
async fn an_upsert_answering_an_unseen_status_is_a_success() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::UpsertSecretSet,
        1,
        Fault::amend("/status", json!("QUEUED")),
    );
    let body = UpsertSecretSetBody::secrets([("KEY", "v")]).unwrap();
    let accepted = client
        .upsert_secret_set()
        .set_name("my-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = accepted.status.unwrap();
    assert_eq!(unknown(&status), "QUEUED");
    assert_ne!(status, UpsertSecretSetResponseStatus::Ok);
    assert!(
        client
            .get_secret_set()
            .set_name("my-secrets")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn secret_set_status_and_type_may_be_new() {
    let (fake, client) = setup().await;
    secret_set(&client, "my-secrets").await;
    fake.fail_next(
        Op::GetSecretSet,
        1,
        Fault::amend("/status", json!("rotating")),
    );
    let set = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap();
    let status = set.status.unwrap();
    assert_eq!(unknown(&status), "rotating");
    assert_ne!(status, SecretSetStatus::Ready);

    fake.fail_next(
        Op::ListSecretSets,
        1,
        Fault::amend("/sets/0/status", json!("rotating"))
            .and("/sets/0/type", json!("oidc"))
            .and("/sets/0/rotatesAt", json!("2027-01-01T00:00:00Z")),
    );
    let sets = client.list_secret_sets().send().await.unwrap().sets;
    assert_eq!(sets.len(), 1, "one unfamiliar item does not lose the page");
    assert_eq!(unknown(sets[0].status.as_ref().unwrap()), "rotating");
    let kind = sets[0].type_.clone().unwrap();
    assert_eq!(unknown(&kind), "oidc");
    assert_ne!(kind, SecretSetSummaryType::Secret);
}

#[tokio::test]
async fn a_secret_set_wait_keeps_waiting_through_an_unseen_status() {
    let (fake, client) = setup().await;
    fake.set_provisioning_reads(3);
    secret_set(&client, "my-secrets").await;
    fake.fail_next(
        Op::GetSecretSet,
        2,
        Fault::amend("/status", json!("rotating")),
    );
    let set = client
        .wait_secret_set_ready(
            "my-secrets",
            pipecat_e2e::quick_wait(std::time::Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(set.status, Some(SecretSetStatus::Ready));
}

#[tokio::test]
async fn build_status_may_be_new() {
    let (fake, client) = setup().await;
    let upload = client
        .get_build_upload_url()
        .body(pipecat_api::types::UploadUrlRequest::builder().region("us-west"))
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let body = pipecat_api::types::CreateBuildRequest::builder()
        .dockerfile_path("Dockerfile")
        .region("us-west")
        .upload_id(upload);
    let build_id = client
        .create_build()
        .body(body)
        .send()
        .await
        .unwrap()
        .build
        .unwrap()
        .id
        .unwrap();
    fake.fail_next(
        Op::GetBuild,
        1,
        Fault::amend("/build/status", json!("queued")),
    );
    let build = client
        .get_build()
        .build_id(build_id)
        .send()
        .await
        .unwrap()
        .build
        .unwrap();
    let status = build.status.unwrap();
    assert_eq!(unknown(&status), "queued");
    assert!(!matches!(
        status,
        BuildStatus::Success | BuildStatus::Failed | BuildStatus::Timeout
    ));
    fake.fail_next(
        Op::ListBuilds,
        1,
        Fault::amend("/builds/0/status", json!("queued")),
    );
    let builds = client.list_builds().send().await.unwrap().builds;
    assert_eq!(unknown(builds[0].status.as_ref().unwrap()), "queued");
}

#[tokio::test]
async fn the_log_total_relation_may_be_new() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 1).await;
    fake.seed_logs("voice-bot", 3);
    fake.fail_next(
        Op::GetLogs,
        1,
        Fault::amend("/total/relation", json!("approx")),
    );
    let logs = client
        .get_logs()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    let relation = logs.total.unwrap().relation.unwrap();
    assert_eq!(unknown(&relation), "approx");
    assert_ne!(relation, GetLogsResponseTotalRelation::Eq);
}

#[tokio::test]
async fn revision_phase_and_health_may_be_new() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 1).await;
    fake.fail_next(
        Op::GetService,
        1,
        Fault::amend("/currentRevision/phase", json!("Hibernating"))
            .and("/currentRevision/health/state", json!("flaky"))
            .and("/krispViva/audioFilter", json!("studio")),
    );
    let agent = client
        .get_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    let revision = agent.current_revision.unwrap();
    let phase = revision.phase.unwrap();
    assert_eq!(unknown(&phase), "Hibernating");
    assert_ne!(phase, RevisionInfoPhase::Failed);
    let state = revision.health.unwrap().state.unwrap();
    assert_eq!(unknown(&state), "flaky");
    assert_ne!(state, RevisionHealthState::Running);
    // The answer gives the filter as a plain string.
    assert_eq!(
        agent.krisp_viva.unwrap().audio_filter.as_deref(),
        Some("studio")
    );
}

#[tokio::test]
async fn a_new_value_can_be_sent_without_a_crate_upgrade() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 1).await;
    fake.clear_requests();
    let filter: KrispVivaConfigAudioFilter = "studio".parse().unwrap();
    let body = UpdateServiceRequest::builder()
        .krisp_viva(pipecat_api::types::KrispVivaConfig::builder().audio_filter(filter));
    // The fake knows only `tel` and `pro` and says so; what matters is that
    // the new value left the client unchanged.
    let _ = client
        .update_service()
        .agent_name("voice-bot")
        .body(body)
        .send()
        .await;
    let sent = fake.requests();
    let body = String::from_utf8_lossy(&sent[0].body);
    assert!(body.contains(r#""audioFilter":"studio""#), "{body}");
}

#[tokio::test]
async fn every_answer_may_carry_fields_this_crate_does_not_know() {
    let id = pipecat_api::uuid::Uuid::nil();
    for (op, _) in operations() {
        // As the fake answers, then with unseen fields added: the outcome
        // must be the same. A fresh fake each time, as calls change state.
        let plain = {
            let (_fake, client) = setup().await;
            ready_agent(&client, "voice-bot", 1).await;
            call_operation(&client, &op, id).await.is_ok()
        };
        let (fake, client) = setup().await;
        ready_agent(&client, "voice-bot", 1).await;
        fake.fail_next(
            op.parse().unwrap(),
            1,
            Fault::amend("/addedInAFutureVersion", json!({"nested": [1, 2, 3]}))
                .and("/anotherNewField", json!("text")),
        );
        let amended = call_operation(&client, &op, id).await;
        assert_eq!(
            amended.is_ok(),
            plain,
            "{op}: unseen fields changed the outcome: {amended:?}"
        );
    }
}

/// The shape of every example and most applications: `?` into
/// `Box<dyn Error>`. The message keeps the status, the API's code and its
/// message, and the error can still be asked about them.
#[tokio::test]
async fn an_api_error_keeps_its_details_through_box_dyn_error() {
    async fn app(client: &pipecat_api::Client) -> Result<(), Box<dyn std::error::Error>> {
        client
            .get_secret_set()
            .set_name("no-such-set")
            .send()
            .await?;
        Ok(())
    }
    let (_fake, client) = setup().await;
    let err = app(&client).await.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("404") && shown.contains("[NOT_FOUND]") && shown.contains("Set not found"),
        "{shown}"
    );
    let api = err.downcast_ref::<pipecat_api::Error>().unwrap();
    assert!(api.is_not_found());
    assert_eq!(api.code(), Some("NOT_FOUND"));
}
