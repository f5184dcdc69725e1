//! `cargo run --example follow_logs`
//!
//! Prints an agent's logs oldest first, a page at a time as they are read
//! (`into_stream`), then keeps polling for new lines a few times, like
//! `tail -f`.
//!
//! Against the real service it needs `EXAMPLE_AGENT`; without
//! `PIPECAT_API_KEY` it uses a fake with some log lines in it.

mod common;

use futures_util::TryStreamExt as _;
use pipecat_api::types::GetLogsOrder;

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

    // Everything so far, oldest first, a page at a time as it is read.
    let logs = client
        .get_logs()
        .agent_name(&agent)
        .order(GetLogsOrder::Asc)
        .into_stream_with_page_size(10);
    let mut logs = std::pin::pin!(logs);
    let mut seen: i64 = 0;
    while let Some(line) = logs.try_next().await? {
        println!(
            "{} {}",
            line.timestamp.unwrap_or_default(),
            line.log.unwrap_or_default()
        );
        seen += 1;
    }

    // Then follow: ask for what comes after the lines already printed.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Some(fake) = &target.fake {
            fake.seed_logs(&agent, seen as usize + 2); // the bot keeps talking
        }
        let page = client
            .get_logs()
            .agent_name(&agent)
            .order(GetLogsOrder::Asc)
            .offset(seen)
            .limit(100)
            .send()
            .await?;
        for line in page.logs {
            println!(
                "{} {}",
                line.timestamp.unwrap_or_default(),
                line.log.unwrap_or_default()
            );
            seen += 1;
        }
    }
    println!("({seen} lines)");
    Ok(())
}
