//! The jobs of issue 11 over HTTP against pipecat-fake: deploying (create or
//! update, then waiting for *this* rollout) and secrets from a `.env` file,
//! with key-level changes.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use pipecat_api::deploy::{DeployEvent, DeployOptions, RolloutOptions, RolloutPhase};
use pipecat_api::deploy_config::DeployConfig;
use pipecat_api::types::{ServiceDetailsResponse, UpdateServiceRequest};
use pipecat_api::{Client, Error, Job, JobState, Wait};
use pipecat_e2e::{Recorded, setup};
use pipecat_fake::{FakeCloud, Op};

fn quick() -> Wait {
    pipecat_e2e::quick_wait(Duration::from_secs(5))
}

fn options() -> DeployOptions {
    DeployOptions::new().wait(quick())
}

fn config(image: &str) -> DeployConfig {
    DeployConfig::new("voice-bot")
        .image(image)
        .region("us-west")
        .min_agents(1)
        .max_agents(3)
}

/// Requests the fake saw, as `METHOD path`.
fn calls(fake: &FakeCloud) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The old logic of `wait_agent_ready`: done as soon as `ready` is true.
async fn wait_ready_only(client: &Client, name: &str) -> ServiceDetailsResponse {
    for _ in 0..100 {
        let agent = client.get_service().agent_name(name).send().await.unwrap();
        if agent.ready == Some(true) {
            return agent;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("never ready");
}

#[tokio::test]
async fn deploy_creates_then_updates() {
    let (fake, client) = setup().await;
    let first = client.deploy(&config("me/bot:1"), options()).await.unwrap();
    assert!(first.created);
    assert_eq!(
        first.agent.reconciled_deployment_id.as_deref(),
        Some(first.deployment_id.as_str())
    );
    assert_eq!(first.agent.ready, Some(true));

    fake.clear_requests();
    let second = client.deploy(&config("me/bot:2"), options()).await.unwrap();
    assert!(!second.created, "the second deploy updates");
    assert_ne!(second.deployment_id, first.deployment_id);
    assert_eq!(
        second.agent.reconciled_deployment_id.as_deref(),
        Some(second.deployment_id.as_str())
    );
    let calls = calls(&fake);
    assert_eq!(calls[0], "GET /v1/agents/voice-bot");
    assert_eq!(
        calls[1], "POST /v1/agents/voice-bot",
        "an update, not a create"
    );
    assert!(calls[2..].iter().all(|c| c == "GET /v1/agents/voice-bot"));
    let update: serde_json::Value = serde_json::from_slice(&fake.requests()[1].body).unwrap();
    assert_eq!(
        update,
        serde_json::json!({
            "image": "me/bot:2", "forceRedeploy": false,
            "autoScaling": {"minAgents": 1, "maxAgents": 3},
            // The file names no filter: Krisp VIVA is off (the file is
            // the desired state).
            "krispViva": {"audioFilter": null}
        })
    );
    let image = second
        .agent
        .deployment
        .and_then(|d| d.manifest)
        .and_then(|m| m.spec)
        .and_then(|s| s.image);
    assert_eq!(image.as_deref(), Some("me/bot:2"));
}

#[tokio::test]
async fn a_wait_on_ready_alone_returns_the_old_revision() {
    // What the wait must not do: right after an update the old revision
    // is still ready, so a wait on `ready` returns before the new
    // deployment is even picked up.
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.set_agent_operator_reads(3);
    fake.set_agent_ready_reads(3);
    let answer = client
        .update_service()
        .agent_name("voice-bot")
        .body(UpdateServiceRequest::builder().image("me/bot:2"))
        .send()
        .await
        .unwrap();
    let wanted = answer.desired_deployment_id.unwrap();
    let old = wait_ready_only(&client, "voice-bot").await;
    assert_ne!(
        old.reconciled_deployment_id.as_deref(),
        Some(wanted.as_str()),
        "ready alone is the old revision"
    );

    // wait_agent_ready waits for the new one.
    let agent = client.wait_agent_ready("voice-bot", quick()).await.unwrap();
    assert_eq!(
        agent.reconciled_deployment_id.as_deref(),
        Some(wanted.as_str())
    );
    assert_eq!(agent.ready, Some(true));
}

#[tokio::test]
async fn the_rollout_wait_sees_every_phase_in_order() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.set_agent_operator_reads(2);
    fake.set_agent_ready_reads(2);
    let recorded = Recorded::default();
    let deployed = client
        .deploy(&config("me/bot:2"), options().on_progress(recorded.sink()))
        .await
        .unwrap();
    let events = recorded.take();
    // First the plan against the live agent: the image changes.
    assert!(
        matches!(&events[0], DeployEvent::Planned(plan) if plan.changes.len() == 1),
        "{events:?}"
    );
    assert_eq!(
        events[1..],
        [
            DeployEvent::Submitted {
                agent_name: "voice-bot".into(),
                deployment_id: deployed.deployment_id.clone(),
                created: false,
            },
            DeployEvent::Phase(RolloutPhase::WaitingForOperator),
            DeployEvent::Phase(RolloutPhase::ProgressingAvailable),
            DeployEvent::Phase(RolloutPhase::Ready),
            DeployEvent::Done {
                deployment_id: deployed.deployment_id.clone(),
            },
        ]
    );
    // Every read but the last saw the old revision ready or the new one
    // progressing; the wait went on through both.
    let reads = calls(&fake)
        .iter()
        .filter(|c| *c == "GET /v1/agents/voice-bot")
        .count();
    assert!(reads >= 5, "{reads}");
}

#[tokio::test]
async fn a_new_agent_with_a_secret_set_reports_its_steps() {
    let (_fake, client) = setup().await;
    client
        .set_secrets("bot-secrets", [("K", "v")], quick())
        .await
        .unwrap();
    let recorded = Recorded::default();
    let config = config("me/bot:1").secret_set("bot-secrets");
    client
        .deploy(&config, options().on_progress(recorded.sink()))
        .await
        .unwrap();
    let events = recorded.take();
    assert_eq!(
        events[0],
        DeployEvent::WaitingForSecretSet {
            set_name: "bot-secrets".into()
        }
    );
    assert!(matches!(&events[1], DeployEvent::Planned(plan)
        if plan.action == pipecat_api::deploy_plan::PlanAction::Create));
    assert!(matches!(
        events[2],
        DeployEvent::Submitted { created: true, .. }
    ));
    assert_eq!(events[3], DeployEvent::Phase(RolloutPhase::Progressing));
    assert!(matches!(events.last(), Some(DeployEvent::Done { .. })));
}

#[tokio::test]
async fn deploy_waits_for_a_pending_secret_set_instead_of_409() {
    let (fake, client) = setup().await;
    fake.set_provisioning_reads(3);
    let body = pipecat_api::types::UpsertSecretSetBody::secrets([("K", "v")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("slow-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    let config = config("me/bot:1").secret_set("slow-secrets");
    let deployed = client.deploy(&config, options()).await.unwrap();
    assert!(deployed.created);
}

#[tokio::test]
async fn a_broken_image_fails_fast_with_the_reason() {
    let (fake, client) = setup().await;
    fake.set_agent_ready_reads(2);
    let err = client
        .deploy(&config("me/broken-bot:1"), options())
        .await
        .unwrap_err();
    let Error::Failed {
        job, reason, last, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(reason.contains("ImagePullBackOff"), "{reason}");
    assert!(reason.contains("me/broken-bot:1"), "{reason}");
    assert!(
        matches!(job, Job::Rollout { agent_name, .. } if agent_name == "voice-bot"),
        "{job:?}"
    );
    // The agent as last read, typed: the failed revision.
    let Some(JobState::Rollout { agent, phase: None }) = last.job_state() else {
        panic!("{last:?}");
    };
    assert_eq!(
        agent
            .current_revision
            .as_ref()
            .and_then(|r| r.phase.as_ref())
            .map(ToString::to_string)
            .as_deref(),
        Some("Failed")
    );
    // Fast: a handful of reads, not the whole timeout.
    assert!(fake.request_count() < 10, "{}", fake.request_count());
}

#[tokio::test]
async fn a_failed_update_ends_the_wait_while_the_old_revision_serves() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.fail_next_deploy("exec format error: built for amd64");
    let recorded = Recorded::default();
    let err = client
        .deploy(&config("me/bot:2"), options().on_progress(recorded.sink()))
        .await
        .unwrap_err();
    let events = recorded.take();
    assert!(
        err.to_string()
            .contains("ImagePullBackOff: exec format error: built for amd64"),
        "{err}"
    );
    assert!(!events.iter().any(|e| matches!(e, DeployEvent::Done { .. })));
    // The old revision still serves.
    let agent = client
        .get_service()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(agent.available, Some(true));
}

#[tokio::test]
async fn a_timeout_names_the_last_state() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.set_agent_operator_reads(0);
    fake.set_agent_ready_reads(10_000);
    let short = DeployOptions::new().wait(pipecat_e2e::quick_wait(Duration::from_millis(100)));
    let err = client.deploy(&config("me/bot:2"), short).await.unwrap_err();
    let Error::Timeout { last, .. } = &err else {
        panic!("{err:?}");
    };
    let what = err.to_string();
    assert!(
        what.contains("last seen: progressing (the earlier revision serves)"),
        "{what}"
    );
    assert!(what.contains("ready false, available true"), "{what}");
    assert!(what.contains("current revision phase Creating"), "{what}");
    // The last phase, typed.
    let Some(JobState::Rollout { agent, phase }) = last.job_state() else {
        panic!("{last:?}");
    };
    assert_eq!(phase, &Some(RolloutPhase::ProgressingAvailable));
    assert_eq!(agent.available, Some(true));
}

#[tokio::test]
async fn a_bad_config_sends_nothing() {
    let (fake, client) = setup().await;
    let bad = [
        DeployConfig::new("voice-bot").image("me/bot"), // no tag
        config("me/bot:1").max_session_duration(10),
        DeployConfig::new("voice-bot"), // nothing to deploy
        DeployConfig::new("Voice_Bot").image("me/bot:1"),
        config("me/bot:1").min_agents(5),
    ];
    for config in bad {
        let err = client.deploy(&config, options()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    }
    let text = "agent_name = \"voice-bot\"\nimage = \"me/bot:1\"\n[scaling]\nmax_agnets = 3\n";
    assert!(DeployConfig::from_toml_str(text, "pcc-deploy.toml").is_err());
    assert_eq!(fake.request_count(), 0);
}

/// A Krisp VIVA filter newer than this crate's types (the fake takes
/// `studio`, as a newer service would) is read from the file and sent.
#[tokio::test]
async fn a_new_krisp_filter_in_the_file_reaches_the_service() {
    let (fake, client) = setup().await;
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("pcc-deploy.toml");
    std::fs::write(
        &path,
        "agent_name = \"voice-bot\"\nimage = \"me/bot:1\"\n\n[krisp_viva]\naudio_filter = \"studio\"\n",
    )
    .unwrap();
    let config = DeployConfig::from_file(&path).unwrap();
    let deployed = client.deploy(&config, options()).await.unwrap();
    assert!(deployed.created);
    let create = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/agents")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        body["krispViva"],
        serde_json::json!({"audioFilter": "studio"})
    );
    let filter = deployed.agent.krisp_viva.unwrap().audio_filter.unwrap();
    assert_eq!(filter.to_string(), "studio");
}

/// A value out of the spec's range is refused with the file, the line, the
/// key and the rule, before anything is sent; so is one set in code.
#[tokio::test]
async fn an_out_of_range_value_is_refused_with_its_line_and_nothing_is_sent() {
    let (fake, client) = setup().await;
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("pcc-deploy.toml");
    std::fs::write(
        &path,
        "agent_name = \"voice-bot\"\nimage = \"me/bot:1\"\n[scaling]\nmax_agents = 0\n",
    )
    .unwrap();
    let err = DeployConfig::from_file(&path).unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "request not sent: {}:4: scaling.max_agents: must be at least 1 (got 0)",
            path.display()
        )
    );
    let err = client
        .deploy(&config("me/bot:1").max_session_duration(59), options())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "request not sent: max_session_duration: must be between 60 and 14400 (got 59)"
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn a_deploy_to_another_region_is_refused_before_the_update() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.clear_requests();
    let moved = config("me/bot:2").region("eu-central");
    let err = client.deploy(&moved, options()).await.unwrap_err();
    assert!(err.to_string().contains("region cannot change"), "{err}");
    assert_eq!(calls(&fake), ["GET /v1/agents/voice-bot"]);
}

#[tokio::test]
async fn degraded_and_unavailable_fails_with_the_condition_reason() {
    let (fake, client) = setup().await;
    fake.set_agent_ready_reads(5);
    let recorded = Recorded::default();
    let answer = client
        .create_service()
        .body(
            pipecat_api::types::CreateServiceRequest::builder()
                .service_name("voice-bot")
                .image("me/bot:1"),
        )
        .send()
        .await
        .unwrap();
    let id = answer.desired_deployment_id.unwrap();
    // First read: progressing, in a revision phase newer than this crate;
    // second read: reconciled, degraded, and serving nothing.
    fake.fail_next(
        Op::GetService,
        1,
        pipecat_fake::Fault::amend("/currentRevision/phase", serde_json::json!("Hibernating")),
    );
    fake.fail_next(
        Op::GetService,
        1,
        pipecat_fake::Fault::amend(
            "/conditions",
            serde_json::json!([{"type": "Degraded", "status": "True",
                "reason": "CrashLoopBackOff", "message": "bot.py exited: KeyError OPENAI_API_KEY"}]),
        )
        .and("/available", serde_json::json!(false)),
    );
    let err = client
        .wait_rollout(
            "voice-bot",
            &id,
            RolloutOptions::new()
                .wait(quick())
                .on_progress(recorded.sink()),
        )
        .await
        .unwrap_err();
    let events = recorded.take();
    assert_eq!(
        err.to_string(),
        format!(
            "the rollout of deployment {id} of agent voice-bot failed: degraded and unavailable: \
         CrashLoopBackOff: bot.py exited: KeyError OPENAI_API_KEY; fix the cause and try again"
        )
    );
    // A phase newer than this crate was not a failure: the wait went on.
    assert_eq!(events, [DeployEvent::Phase(RolloutPhase::Progressing)]);
}

#[tokio::test]
async fn degraded_but_available_is_reported_and_waited_on() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.set_agent_operator_reads(0);
    fake.set_agent_ready_reads(3);
    // The deploy's look-up, then the first rollout read: degraded while
    // the old revision serves.
    fake.fail_next(
        Op::GetService,
        1,
        pipecat_fake::Fault::amend("/name", serde_json::json!("voice-bot")),
    );
    fake.fail_next(
        Op::GetService,
        1,
        pipecat_fake::Fault::amend(
            "/conditions",
            serde_json::json!([{"type": "Degraded", "status": "True", "message": "1 of 2 pods crashing"}]),
        ),
    );
    let recorded = Recorded::default();
    client
        .deploy(&config("me/bot:2"), options().on_progress(recorded.sink()))
        .await
        .unwrap();
    let events = recorded.take();
    let phases: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DeployEvent::Phase(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [
            RolloutPhase::DegradedAvailable {
                reason: "1 of 2 pods crashing".into()
            },
            RolloutPhase::ProgressingAvailable,
            RolloutPhase::Ready,
        ]
    );
}

#[tokio::test]
async fn a_deployment_replaced_by_a_newer_one_ends_the_wait() {
    let (fake, client) = setup().await;
    client.deploy(&config("me/bot:1"), options()).await.unwrap();
    fake.set_agent_operator_reads(5);
    let first = client
        .update_service()
        .agent_name("voice-bot")
        .body(UpdateServiceRequest::builder().image("me/bot:2"))
        .send()
        .await
        .unwrap()
        .desired_deployment_id
        .unwrap();
    let second = client
        .update_service()
        .agent_name("voice-bot")
        .body(UpdateServiceRequest::builder().image("me/bot:3"))
        .send()
        .await
        .unwrap()
        .desired_deployment_id
        .unwrap();
    let err = client
        .wait_rollout("voice-bot", &first, RolloutOptions::new().wait(quick()))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "deployment {first} was replaced by a newer deployment ({second})"
        )),
        "{err}"
    );
}

// ---- secrets ---------------------------------------------------------------

/// A file under the temp dir holding `text`, unique to `name`.
fn env_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pipecat-deploy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn keys(set: &pipecat_api::types::GetSecretSetResponse) -> Vec<String> {
    let mut keys: Vec<String> = set
        .secrets
        .iter()
        .filter_map(|s| s.field_name.clone())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn an_env_file_becomes_a_set_with_one_put() {
    let (fake, client) = setup().await;
    let path = env_file(
        "good.env",
        "# keys\n\nexport OPENAI_API_KEY=sk-123\nGREETING=\"Hello, \\\"world\\\"\" # hi\nSINGLE='a $literal'\nURL=postgres://u:p@h/db?x=1\n",
    );
    let set = client
        .put_secrets_from_env_file("bot-secrets", &path, Some("eu-central"), quick())
        .await
        .unwrap();
    assert_eq!(keys(&set), ["GREETING", "OPENAI_API_KEY", "SINGLE", "URL"]);
    assert_eq!(set.region.as_deref(), Some("eu-central"));
    let puts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one PUT for the whole set");
    let body: serde_json::Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"region": "eu-central", "secrets": [
            {"secretKey": "OPENAI_API_KEY", "secretValue": "sk-123"},
            {"secretKey": "GREETING", "secretValue": "Hello, \"world\""},
            {"secretKey": "SINGLE", "secretValue": "a $literal"},
            {"secretKey": "URL", "secretValue": "postgres://u:p@h/db?x=1"},
        ]})
    );
}

#[tokio::test]
async fn a_bad_env_line_sends_nothing_and_shows_no_value() {
    let (fake, client) = setup().await;
    let path = env_file(
        "bad.env",
        "GOOD=hunter2\nBAD KEY=s3cret-value\nEMPTY=\nGOOD=again\n",
    );
    let err = client
        .put_secrets_from_env_file("bot-secrets", &path, None, quick())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(text.contains("bad.env:2"), "{text}");
    assert!(text.contains("bad.env:3"), "{text}");
    assert!(text.contains("bad.env:4"), "{text}");
    for value in ["hunter2", "s3cret-value", "again"] {
        assert!(!text.contains(value), "{text}");
        assert!(!format!("{err:?}").contains(value));
    }
    let empty = env_file("empty.env", "# nothing\n\n");
    let err = client
        .put_secrets_from_env_file("bot-secrets", &empty, None, quick())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no secrets"), "{err}");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn a_failed_set_reports_its_message() {
    let (fake, client) = setup().await;
    fake.fail_provisioning("bot-secrets", "vault unavailable");
    let path = env_file("fail.env", "A=1\n");
    let err = client
        .put_secrets_from_env_file("bot-secrets", &path, None, quick())
        .await
        .unwrap_err();
    let Error::Failed { reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(reason, "vault unavailable");
}

#[tokio::test]
async fn keys_are_added_replaced_and_removed_without_the_others() {
    let (fake, client) = setup().await;
    let path = env_file("base.env", "A=1\nB=2\nC=3\n");
    client
        .put_secrets_from_env_file("bot-secrets", &path, None, quick())
        .await
        .unwrap();

    // Merge: B replaced, D added, A and C kept without re-sending them.
    fake.clear_requests();
    let set = client
        .set_secrets("bot-secrets", [("B", "two"), ("D", "4")], quick())
        .await
        .unwrap();
    assert_eq!(keys(&set), ["A", "B", "C", "D"]);
    let put = &fake.requests()[0];
    let body: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"secrets": [
            {"secretKey": "B", "secretValue": "two"},
            {"secretKey": "D", "secretValue": "4"},
        ]})
    );

    // Remove: one DELETE per key present; an absent key is skipped.
    fake.clear_requests();
    let set = client
        .remove_secrets("bot-secrets", ["A", "C", "NOT_THERE", "A"], quick())
        .await
        .unwrap();
    assert_eq!(keys(&set), ["B", "D"]);
    let deletes: Vec<_> = calls(&fake)
        .into_iter()
        .filter(|c| c.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            "DELETE /v1/secrets/bot-secrets/A",
            "DELETE /v1/secrets/bot-secrets/C"
        ]
    );

    // Bad keys are refused before anything is sent.
    fake.clear_requests();
    let err = client
        .remove_secrets("bot-secrets", ["B", ".."], quick())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("keys[1]"), "{err}");
    let err = client
        .set_secrets(
            "bot-secrets",
            [("OK", "v"), ("BAD KEY", "hunter2")],
            quick(),
        )
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(fake.request_count(), 0);

    // Removing from a set that does not exist is not found.
    let err = client
        .remove_secrets("no-such-set", ["A"], quick())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
