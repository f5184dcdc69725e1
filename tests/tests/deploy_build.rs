//! `Client::deploy` of a config with a `[build]` table and no image: the
//! cloud build first, then the deploy of its id, in one call, over HTTP
//! against the fake (which implements builds and the storage upload host).

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipecat_api::Error;
use pipecat_api::build_context::CancelToken;
use pipecat_api::cloud_build::BuildProgress;
use pipecat_api::deploy::{DeployEvent, DeployOptions};
use pipecat_api::deploy_config::{BuildSettings, DeployConfig};
use pipecat_api::types::CreateServiceRequest;
use pipecat_e2e::setup;
use pipecat_fake::FakeCloud;
use serde_json::Value;

/// A bot's directory: a Dockerfile and code.
fn bot_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM dailyco/pipecat-base:latest\nCOPY . /app\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bot.py"), "print('hello')\n").unwrap();
    dir
}

/// `agent_name = name` and a `[build]` table for `dir`, no image.
fn built(name: &str, dir: &tempfile::TempDir) -> DeployConfig {
    DeployConfig::new(name).build(BuildSettings::new().base_dir(dir.path()))
}

/// Quick waits, each event recorded.
fn recording() -> (DeployOptions, Arc<Mutex<Vec<DeployEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let wait = pipecat_e2e::quick_wait(Duration::from_secs(10));
    let options = DeployOptions::new()
        .wait(wait)
        .build_wait(wait)
        .on_progress(move |e| sink.lock().unwrap().push(e.clone()));
    (options, events)
}

/// How many calls of `operation` the fake saw.
fn calls(fake: &FakeCloud, operation: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some(operation))
        .count()
}

/// Calls that would deploy something.
fn deploys(fake: &FakeCloud) -> usize {
    calls(fake, "createService") + calls(fake, "updateService")
}

/// The events' kinds, in order, repeats of one kind in a row merged.
fn kinds(events: &[DeployEvent]) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = Vec::new();
    for event in events {
        let kind = match event {
            DeployEvent::WaitingForSecretSet { .. } => "secret set",
            DeployEvent::Planned(_) => "planned",
            DeployEvent::Build(_) => "build",
            DeployEvent::Built { .. } => "built",
            DeployEvent::Unchanged { .. } => "unchanged",
            DeployEvent::Submitted { .. } => "submitted",
            DeployEvent::Phase(_) => "phase",
            DeployEvent::Done { .. } => "done",
            _ => "other",
        };
        if kinds.last() != Some(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

#[tokio::test]
async fn a_build_table_is_built_then_its_id_deployed_with_events_in_order() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    let (options, events) = recording();
    let deployed = client
        .deploy(&built("built-bot", &dir), options)
        .await
        .unwrap();

    let build = deployed.build.as_ref().expect("a build was made");
    assert!(deployed.created && !deployed.unchanged);
    // The create sent the new build's id, and no image.
    let create = fake
        .requests()
        .into_iter()
        .find(|r| r.operation.as_deref() == Some("createService"))
        .expect("a create");
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["buildId"], build.build_id().to_string());
    assert!(body.get("image").is_none(), "{body}");

    let events = events.lock().unwrap().clone();
    assert_eq!(
        kinds(&events),
        ["planned", "build", "built", "submitted", "phase", "done"],
        "{events:?}"
    );
    assert!(
        matches!(
            events[1],
            DeployEvent::Build(BuildProgress::Packed { files: 2, .. })
        ),
        "{events:?}"
    );
    assert!(events.contains(&DeployEvent::Built {
        build_id: build.build_id(),
        cached: false,
        context_hash: build.context_hash().to_string(),
    }));
    // The build was made in the organization's default region (no agent,
    // no region in the config), and the agent was read once.
    assert_eq!(calls(&fake, "getService") - count_rollout_reads(&fake), 1);

    // The result serializes as a CLI shows it.
    let json = serde_json::to_value(&deployed).unwrap();
    assert_eq!(json["build"]["buildId"], build.build_id().to_string());
    assert_eq!(json["build"]["cached"], false);
    assert_eq!(json["agentName"], "built-bot");
    assert_eq!(json["plan"]["action"], "create");
}

/// `getService` reads after the create: the rollout's.
fn count_rollout_reads(fake: &FakeCloud) -> usize {
    fake.requests()
        .iter()
        .skip_while(|r| r.operation.as_deref() != Some("createService"))
        .filter(|r| r.operation.as_deref() == Some("getService"))
        .count()
}

#[tokio::test]
async fn the_build_is_made_in_the_agents_region_and_another_region_is_refused_before_packing() {
    let (fake, client) = setup().await;
    client
        .create_service()
        .body(
            CreateServiceRequest::builder()
                .service_name("eu-bot")
                .image("example/bot:1")
                .region("eu-central"),
        )
        .send()
        .await
        .unwrap();
    let dir = bot_dir();

    fake.clear_requests();
    let (options, events) = recording();
    let err = client
        .deploy(&built("eu-bot", &dir).region("us-east"), options)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("agent eu-bot is in region eu-central"),
        "{err}"
    );
    assert!(events.lock().unwrap().is_empty());
    assert_eq!(calls(&fake, "getBuildUploadUrl") + deploys(&fake), 0);

    let (options, _) = recording();
    let deployed = client
        .deploy(&built("eu-bot", &dir), options)
        .await
        .unwrap();
    assert!(!deployed.created && deployed.build.is_some());
    let upload_url = fake
        .requests()
        .into_iter()
        .find(|r| r.operation.as_deref() == Some("getBuildUploadUrl"))
        .expect("an upload url");
    let body: Value = serde_json::from_slice(&upload_url.body).unwrap();
    assert_eq!(body["region"], "eu-central");
    // The organization's default region was not asked for.
    assert_eq!(calls(&fake, "getProperties"), 0);
}

#[tokio::test]
async fn a_failed_build_stops_before_any_deploy() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    fake.fail_next_build("step 3/5: pip install: no matching distribution");
    let (options, events) = recording();
    let err = client
        .deploy(&built("bad-bot", &dir), options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no matching distribution"),
        "{err}"
    );
    assert_eq!(calls(&fake, "createBuild"), 1);
    assert_eq!(deploys(&fake), 0, "a failed build was deployed");
    let events = events.lock().unwrap().clone();
    assert_eq!(kinds(&events), ["planned", "build"], "{events:?}");
}

#[tokio::test]
async fn a_cancelled_deploy_sends_no_deploy_before_or_after_its_build() {
    let (fake, client) = setup().await;
    let dir = bot_dir();

    // Cancelled before packing: nothing is uploaded, built or deployed.
    let token = CancelToken::new();
    token.cancel();
    let (options, _) = recording();
    let err = client
        .deploy(&built("stop-bot", &dir), options.cancel_token(token))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_eq!(calls(&fake, "getBuildUploadUrl") + deploys(&fake), 0);

    // Cancelled once the build exists: the build finishes in the service,
    // the deploy is not sent, and the error says the build stays.
    let token = CancelToken::new();
    let on_created = token.clone();
    let wait = pipecat_e2e::quick_wait(Duration::from_secs(10));
    let options = DeployOptions::new()
        .wait(wait)
        .build_wait(wait)
        .cancel_token(token)
        .on_progress(move |e| {
            if matches!(e, DeployEvent::Build(BuildProgress::Created { .. })) {
                on_created.cancel();
            }
        });
    let err = client
        .deploy(&built("stop-bot", &dir), options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert!(err.to_string().contains("stays"), "{err}");
    assert_eq!(calls(&fake, "createBuild"), 1);
    assert_eq!(deploys(&fake), 0, "a cancelled deploy was sent");
}
