//! `cargo run --example deploy_jobs`
//!
//! The jobs of one call each: a `.env` file into a secret set, a deploy from
//! `pcc-deploy.toml` that creates the agent and waits for its rollout, a
//! second deploy that updates it (and waits for *that* rollout, not the old
//! revision's readiness), and single-key changes to the set.
//!
//! Against the real service (`PIPECAT_API_KEY` set) it needs `EXAMPLE_AGENT`
//! and `EXAMPLE_IMAGE` (and deploys it!); without the key it uses a fake.

mod common;

use pipecat_api::deploy::{DeployEvent, DeployOptions};
use pipecat_api::deploy_config::DeployConfig;

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
    let wait = common::wait_for(&target);
    let dir = std::env::temp_dir().join(format!("pipecat-deploy-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    println!("1. .env -> {set} (one PUT, then wait until ready)");
    let env = dir.join(".env");
    std::fs::write(
        &env,
        "# the bot's keys\nexport OPENAI_API_KEY=sk-example\nGREETING=\"Hello, world\"\n",
    )?;
    let stored = client
        .put_secrets_from_env_file(&set, &env, None, wait)
        .await?;
    println!("   {} keys ready", stored.secrets.len());

    println!("2. deploy {agent} from pcc-deploy.toml");
    let toml = dir.join("pcc-deploy.toml");
    std::fs::write(
        &toml,
        format!(
            "agent_name = \"{agent}\"\nimage = \"{image}\"\nsecret_set = \"{set}\"\n\n[scaling]\nmin_agents = 0\nmax_agents = 2\n"
        ),
    )?;
    let config = DeployConfig::from_file(&toml)?;
    let show = |event: &DeployEvent| match event {
        DeployEvent::Phase(phase) => println!("   {phase}"),
        DeployEvent::Planned(plan) => {
            println!("   plan: {}", plan.action);
            for change in &plan.changes {
                println!("     {}: {} -> {}", change.field, change.live, change.new);
            }
        }
        DeployEvent::Submitted {
            deployment_id,
            created,
            ..
        } => println!(
            "   {} deployment {deployment_id}",
            if *created { "created" } else { "updated" }
        ),
        other => println!("   {other:?}"),
    };
    let options = DeployOptions::new().wait(wait).on_progress(show);
    let deployed = client.deploy(&config, options.clone()).await?;
    println!("   deployment {} is ready", deployed.deployment_id);

    println!("3. change one key, keep the others; redeploy to pick it up");
    client
        .set_secrets(&set, [("GREETING", "Hi there")], wait)
        .await?;
    let options = options.force_redeploy(true);
    let redeployed = client.deploy(&config, options).await?;
    println!("   deployment {} is ready", redeployed.deployment_id);

    println!("4. remove a key");
    let left = client.remove_secrets(&set, ["GREETING"], wait).await?;
    println!("   {} key(s) left", left.secrets.len());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
