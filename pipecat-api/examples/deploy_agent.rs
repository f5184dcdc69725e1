//! `cargo run --example deploy_agent`
//!
//! Deploys an agent the way automation should: store its secrets, wait for
//! the set to be ready (a deploy that uses a set still pending is refused
//! with 409), create the agent, wait until it is ready.
//!
//! Against the real service (`PIPECAT_API_KEY` set) it needs `EXAMPLE_AGENT`
//! and `EXAMPLE_IMAGE` (and deploys it!); without the key it uses a fake.

mod common;

use pipecat_api::types::{AutoScalingConfig, CreateServiceRequest, UpsertSecretSetBody};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let (agent, image) = match target.fake {
        Some(_) => ("voice-bot".to_string(), "example/voice-bot:1.0".to_string()),
        None => (
            std::env::var("EXAMPLE_AGENT")?,
            std::env::var("EXAMPLE_IMAGE")?,
        ),
    };
    let set = format!("{agent}-secrets");

    println!("1. store the agent's secrets in {set}");
    let body = UpsertSecretSetBody::secrets([
        ("OPENAI_API_KEY", "sk-example"),
        ("DEEPGRAM_API_KEY", "dg-example"),
    ])?;
    client
        .upsert_secret_set()
        .set_name(&set)
        .body(body)
        .send()
        .await?;

    println!("2. wait until {set} is ready");
    client
        .wait_secret_set_ready(&set, common::wait_for(&target))
        .await?;

    println!("3. create {agent} from {image}");
    let request = CreateServiceRequest::builder()
        .service_name(agent.clone())
        .image(image)
        .secret_set(set)
        .auto_scaling(AutoScalingConfig::builder().min_agents(0).max_agents(2));
    let created = client.create_service().body(request).send().await?;
    println!("   created, ready: {:?}", created.ready);

    println!("4. wait until {agent} is ready");
    let agent = client
        .wait_agent_ready(&agent, common::wait_for(&target))
        .await?;
    println!(
        "   {} ready in {}, deployment {}",
        agent.name.unwrap_or_default(),
        agent.region.unwrap_or_default(),
        agent.desired_deployment_id.unwrap_or_default()
    );
    Ok(())
}
