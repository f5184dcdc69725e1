//! Shared by the examples: a client for the real Pipecat Cloud when
//! `PIPECAT_API_KEY` is set, otherwise for a fake started in this process.

use pipecat_api::Client;
use pipecat_fake::FakeCloud;

/// A client, and the fake it talks to (kept alive while the example runs).
pub struct Target {
    pub client: Client,
    pub fake: Option<FakeCloud>,
}

/// Connects as the environment says, announcing where.
pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    if std::env::var_os(pipecat_api::ENV_PRIVATE_KEY).is_some() {
        let client = Client::from_env()?;
        println!("using Pipecat Cloud at {}", client.base_url());
        return Ok(Target { client, fake: None });
    }
    let fake = FakeCloud::start().await?;
    println!(
        "PIPECAT_API_KEY is not set: using a fake Pipecat Cloud at {}",
        fake.url()
    );
    let client = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .build()?;
    Ok(Target {
        client,
        fake: Some(fake),
    })
}

/// Polls quickly against the fake, patiently against the real service.
#[allow(dead_code)] // not every example waits
pub fn wait_for(target: &Target) -> pipecat_api::Wait {
    match target.fake {
        Some(_) => pipecat_api::Wait::default()
            .timeout(std::time::Duration::from_secs(10))
            .polling(
                std::time::Duration::from_millis(20),
                std::time::Duration::from_millis(100),
            ),
        None => pipecat_api::Wait::default(),
    }
}
