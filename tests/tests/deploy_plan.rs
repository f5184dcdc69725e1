//! `pcc-deploy.toml` as the desired state and the plan before an update
//! (issue 17 §2), over HTTP against pipecat-fake: what the file leaves out
//! goes to the service's default, the plan lists exactly the fields that
//! change, and an update that changes nothing sends nothing.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use pipecat_api::deploy::{DeployEvent, DeployOptions};
use pipecat_api::deploy_config::DeployConfig;
use pipecat_api::deploy_plan::{PlanAction, PlanValue};
use pipecat_e2e::{Recorded, setup};
use pipecat_fake::FakeCloud;
use serde_json::{Value, json};

fn options() -> DeployOptions {
    DeployOptions::new().wait(pipecat_e2e::quick_wait(Duration::from_secs(5)))
}

/// The file after `[scaling]` was removed.
fn bare(image: &str) -> DeployConfig {
    DeployConfig::new("plan-bot").image(image).region("us-west")
}

/// The file with warm agents and a Krisp filter.
fn warm(image: &str) -> DeployConfig {
    bare(image)
        .min_agents(2)
        .max_agents(4)
        .krisp_audio_filter("tel")
}

/// Requests other than reads, as `METHOD path`.
fn writes(fake: &FakeCloud) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The body of the one write the fake saw.
fn only_write_body(fake: &FakeCloud) -> Value {
    let writes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 1, "{:?}", self::writes(fake));
    serde_json::from_slice(&writes[0].body).unwrap()
}

#[tokio::test]
async fn removing_scaling_and_krisp_from_the_file_sends_their_defaults() {
    let (fake, client) = setup().await;
    client.deploy(&warm("me/bot:1"), options()).await.unwrap();
    let agent = client
        .get_service()
        .agent_name("plan-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(agent.auto_scaling.as_ref().unwrap().min_replicas, Some(2));

    fake.clear_requests();
    let deployed = client.deploy(&bare("me/bot:1"), options()).await.unwrap();
    assert!(!deployed.unchanged && !deployed.created);
    let body = only_write_body(&fake);
    assert_eq!(body["autoScaling"], json!({"minAgents": 0}), "{body}");
    assert_eq!(body["krispViva"], json!({"audioFilter": null}), "{body}");

    // What the fake stored: no warm agents, no filter, the max kept (the
    // official CLI leaves maxAgents out when the file does).
    let agent = client
        .get_service()
        .agent_name("plan-bot")
        .send()
        .await
        .unwrap();
    let scaling = agent.auto_scaling.unwrap();
    assert_eq!(scaling.min_replicas, Some(0));
    assert_eq!(scaling.max_replicas, Some(4));
    assert_eq!(agent.krisp_viva.unwrap().audio_filter, None);
}

#[tokio::test]
async fn the_plan_lists_exactly_the_changed_fields_and_reads_only() {
    let (fake, client) = setup().await;
    client.deploy(&warm("me/bot:1"), options()).await.unwrap();
    fake.clear_requests();

    let next = warm("me/bot:2").max_agents(6);
    let plan = client.plan_deploy(&next).await.unwrap();
    assert_eq!(plan.action, PlanAction::Update);
    let listed: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.live.clone(), c.new.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "image",
                PlanValue::Set(json!("me/bot:1")),
                PlanValue::Set(json!("me/bot:2"))
            ),
            (
                "scaling.max_agents",
                PlanValue::Set(json!(4)),
                PlanValue::Set(json!(6))
            ),
        ]
    );
    assert_eq!(plan.region.as_deref(), Some("us-west"));
    assert!(writes(&fake).is_empty(), "a plan only reads");

    // Removing [scaling] and [krisp_viva] plans their defaults.
    let plan = client.plan_deploy(&bare("me/bot:1")).await.unwrap();
    let fields: Vec<_> = plan.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["scaling.min_agents", "krisp_viva.audio_filter"]);
    assert_eq!(plan.changes[0].new, PlanValue::Set(json!(0)));
    assert_eq!(plan.changes[1].new, PlanValue::Unset);

    // A new agent plans a create with every field sent.
    let plan = client
        .plan_deploy(&warm("me/other:1").agent_name("new-bot"))
        .await
        .unwrap();
    assert_eq!(plan.action, PlanAction::Create);
    let fields: Vec<_> = plan.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "region",
            "image",
            "scaling.min_agents",
            "scaling.max_agents",
            "krisp_viva.audio_filter"
        ]
    );
    assert!(writes(&fake).is_empty(), "a plan only reads");
}

#[tokio::test]
async fn an_update_that_changes_nothing_sends_nothing_unless_forced() {
    let (fake, client) = setup().await;
    let first = client.deploy(&warm("me/bot:1"), options()).await.unwrap();
    fake.clear_requests();

    let recorded = Recorded::default();
    let again = client
        .deploy(&warm("me/bot:1"), options().on_progress(recorded.sink()))
        .await
        .unwrap();
    let events = recorded.take();
    assert!(again.unchanged && !again.created);
    assert_eq!(again.deployment_id, first.deployment_id);
    assert!(writes(&fake).is_empty(), "sent: {:?}", writes(&fake));
    assert!(
        matches!(&events[0], DeployEvent::Planned(plan) if plan.action == PlanAction::NoChange),
        "{events:?}"
    );
    assert!(
        matches!(events[1], DeployEvent::Unchanged { .. }),
        "{events:?}"
    );

    // Forced, the update is sent and a new deployment rolls out.
    let forced = client
        .deploy(&warm("me/bot:1"), options().force_redeploy(true))
        .await
        .unwrap();
    assert!(!forced.unchanged);
    assert_ne!(forced.deployment_id, first.deployment_id);
    assert_eq!(only_write_body(&fake)["forceRedeploy"], true);
}
