//! `cargo run -p pipecat-fake [ADDR]`: serves a fake Pipecat Cloud until Ctrl-C,
//! for trying pipecat-api (or curl) by hand. ADDR defaults to 127.0.0.1:8787.
//!
//! Every operation is served: agents, sessions (and their proxy), logs,
//! secret sets, builds, properties and regions. State lives in memory and
//! is gone when the fake stops.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8787".into());
    let Ok(addr) = arg.parse::<SocketAddr>() else {
        eprintln!("pipecat-fake: `{arg}` is not an address like 127.0.0.1:8787");
        return std::process::ExitCode::FAILURE;
    };
    let fake = match pipecat_fake::FakeCloud::start_on(addr).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("pipecat-fake: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("fake Pipecat Cloud at {}", fake.url());
    println!("export PIPECAT_API_HOST={}", fake.url());
    println!("export PIPECAT_API_KEY={}", fake.private_key());
    println!("export PIPECAT_PUBLIC_API_KEY={}", fake.public_key());
    println!(
        "try: curl -H \"Authorization: Bearer {}\" {}/v1/regions",
        fake.private_key(),
        fake.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
