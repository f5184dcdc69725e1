//! `cargo run --example start_session`
//!
//! Starts a session of an agent with the public key, shows how to reach it,
//! calls the bot through the session proxy (`POST api/offer`), then stops
//! the session with the private key.
//!
//! Against the real service it needs `EXAMPLE_AGENT` (a deployed agent) and
//! both keys; without `PIPECAT_API_KEY` it uses a fake.

mod common;

use pipecat_api::types::StartRequest;
use pipecat_api::{Connection, Method};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let agent = match target.fake {
        Some(_) => {
            let create = pipecat_api::types::CreateServiceRequest::builder()
                .service_name("voice-bot")
                .image("example/voice-bot:1.0");
            client.create_service().body(create).send().await?;
            client
                .wait_agent_ready("voice-bot", common::wait_for(&target))
                .await?;
            "voice-bot".to_string()
        }
        None => std::env::var("EXAMPLE_AGENT")?,
    };

    println!("1. start a WebRTC session of {agent}");
    let request = StartRequest::webrtc().with_body(serde_json::json!({"caller": "+15550100"}))?;
    let started = client
        .start_service()
        .agent_name(&agent)
        .body(request)
        .send()
        .await?;
    let session = started.session_uuid()?;
    println!("   session {session}");
    match started.connection() {
        Connection::WebRtc { ice_config } => println!(
            "   reach it over WebRTC with {} ICE servers",
            ice_config.ice_servers.len()
        ),
        Connection::Daily { room, .. } => println!("   join the Daily room {room}"),
        Connection::WebSocket { url, .. } => println!("   open a WebSocket to {url}"),
        other => println!("   {other:?}"),
    }

    println!("2. call the bot: POST api/offer through the session proxy");
    let answer = client
        .session_proxy(Method::POST, &agent, session, "api/offer")
        .json(&serde_json::json!({"sdp": "v=0...", "type": "offer"}))
        .send()
        .await?
        .error_for_status()?;
    println!("   the bot answered {}: {}", answer.status(), answer.text());

    println!("3. stop the session");
    client
        .stop_session()
        .agent_name(&agent)
        .session_id(session)
        .send()
        .await?;
    let ended = client
        .get_session()
        .agent_name(&agent)
        .session_id(session)
        .send()
        .await?;
    println!("   ended at {}", ended.ended_at.unwrap_or_default());
    Ok(())
}
