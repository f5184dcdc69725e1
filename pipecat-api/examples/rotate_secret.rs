//! `cargo run --example rotate_secret`
//!
//! Rotates one secret: stores a new value in the set, waits until the set is
//! `ready` again, then redeploys the agent that uses it (agents only pick up
//! changed secrets when redeployed) and waits for the agent.
//!
//! Against the real service (`PIPECAT_API_KEY` set) it needs
//! `EXAMPLE_SECRET_SET`, `EXAMPLE_SECRET_KEY`, `EXAMPLE_SECRET_VALUE` and
//! optionally `EXAMPLE_AGENT`; without the key it runs against a fake.

mod common;

use pipecat_api::types::{UpdateServiceRequest, UpsertSecretSetBody};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let var = |name: &str, fake_default: &str| match &target.fake {
        Some(_) => Ok(fake_default.to_string()),
        None => std::env::var(name).map_err(|_| format!("set {name}")),
    };
    let set = var("EXAMPLE_SECRET_SET", "voice-bot-secrets")?;
    let key = var("EXAMPLE_SECRET_KEY", "OPENAI_API_KEY")?;
    let value = var("EXAMPLE_SECRET_VALUE", "sk-rotated-example")?;
    let agent = std::env::var("EXAMPLE_AGENT")
        .ok()
        .or_else(|| target.fake.as_ref().map(|_| "voice-bot".into()));

    if let Some(fake) = &target.fake {
        // Something to rotate: a set and an agent using it.
        let body = UpsertSecretSetBody::secrets([(key.as_str(), "sk-old")])?;
        client
            .upsert_secret_set()
            .set_name(&set)
            .body(body)
            .send()
            .await?;
        client
            .wait_secret_set_ready(&set, common::wait_for(&target))
            .await?;
        let create = pipecat_api::types::CreateServiceRequest::builder()
            .service_name("voice-bot")
            .image("example/voice-bot:1.0")
            .secret_set(set.clone());
        client.create_service().body(create).send().await?;
        let _ = fake;
    }

    println!("1. store the new value of {key} in {set}");
    let body = UpsertSecretSetBody::secrets([(key.as_str(), value.as_str())])?;
    client
        .upsert_secret_set()
        .set_name(&set)
        .body(body)
        .send()
        .await?;

    println!("2. wait until {set} is ready");
    let ready = client
        .wait_secret_set_ready(&set, common::wait_for(&target))
        .await?;
    let status = ready.status.map(|s| s.to_string()).unwrap_or_default();
    println!(
        "   {set} is {status} in {}",
        ready.region.unwrap_or_default()
    );

    if let Some(agent) = agent {
        println!("3. redeploy {agent} so it picks up the new value");
        let update = UpdateServiceRequest::builder().force_redeploy(true);
        client
            .update_service()
            .agent_name(&agent)
            .body(update)
            .send()
            .await?;
        let deployed = client
            .wait_agent_ready(&agent, common::wait_for(&target))
            .await?;
        println!(
            "   {agent} ready, deployment {}",
            deployed.desired_deployment_id.unwrap_or_default()
        );
    }
    Ok(())
}
