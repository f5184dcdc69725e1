//! `cargo run --example follow_logs`
//!
//! Follows an agent's logs (`follow`): the lines written so far, oldest
//! first, then new ones as they are written, like `tail -f`, stopping after
//! 30 lines.
//!
//! Against the real service it needs `EXAMPLE_AGENT`; without
//! `PIPECAT_API_KEY` it uses a fake with some log lines in it.

mod common;

use futures_util::TryStreamExt as _;
use std::time::Duration;

use futures_util::StreamExt as _;
use pipecat_api::Follow;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let agent = match &target.fake {
        Some(fake) => {
            let create = pipecat_api::types::CreateServiceRequest::builder()
                .service_name("voice-bot")
                .image("example/voice-bot:1.0");
            client.create_service().body(create).send().await?;
            fake.seed_logs("voice-bot", 25);
            "voice-bot".to_string()
        }
        None => std::env::var("EXAMPLE_AGENT")?,
    };

    // Everything so far, oldest first, then each new line as it is written
    // (like `tail -f`). The stream never ends by itself: this example stops
    // after 30 lines by dropping it.
    let follow = Follow::new()
        .poll_interval(Duration::from_millis(100))
        .max_poll_interval(Duration::from_secs(2));
    let logs = client.get_logs().agent_name(&agent).follow_with(follow);
    let mut logs = std::pin::pin!(logs.take(30));

    // Against the fake, the bot keeps talking: 5 more lines every 200 ms.
    let fake = target.fake.map(std::sync::Arc::new);
    let writer = fake.clone().map(|fake| {
        let agent = agent.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                fake.append_logs(&agent, 5);
            }
        })
    });

    let mut seen = 0;
    while let Some(line) = logs.try_next().await? {
        println!(
            "{} {}",
            line.timestamp.unwrap_or_default(),
            line.log.unwrap_or_default()
        );
        seen += 1;
    }
    if let Some(writer) = writer {
        writer.abort();
    }
    println!("({seen} lines)");
    Ok(())
}
