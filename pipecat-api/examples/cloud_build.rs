//! `cargo run --example cloud_build [DIR]`
//!
//! Builds an agent image from a directory in one call: packs it (leaving
//! secrets such as `.env` at home), reuses a cached build of the same
//! context, or uploads it and waits for the build, printing each step.
//! Without a directory it builds a small sample bot made in a temporary
//! directory.
//!
//! Against the real service (`PIPECAT_API_KEY` set) it needs `EXAMPLE_REGION`
//! (and runs a real build!); without the key it uses a fake.

mod common;

use pipecat_api::cloud_build::{BuildProgress, CloudBuild};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = common::connect().await?;
    let client = &target.client;
    let region = match target.fake {
        Some(_) => "us-west".to_string(),
        None => std::env::var("EXAMPLE_REGION")?,
    };
    let sample = tempfile::tempdir()?;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            let root = sample.path();
            std::fs::write(
                root.join("Dockerfile"),
                "FROM dailyco/pipecat-base:latest\nCOPY bot.py /app/\n",
            )?;
            std::fs::write(root.join("bot.py"), "print('hello from the bot')\n")?;
            std::fs::write(root.join(".env"), "OPENAI_API_KEY=sk-stays-home\n")?;
            std::fs::write(root.join(".dockerignore"), "*.md\n")?;
            root.to_path_buf()
        }
    };

    println!("building {} in {region}", dir.display());
    let build = CloudBuild::new(&dir)
        .region(region.as_str())
        .wait(common::wait_for(&target))
        .on_progress(|event| match event {
            BuildProgress::Packed { files, bytes, .. } => {
                println!("  packed {files} files, {bytes} bytes")
            }
            BuildProgress::Cached { build_id } => println!("  cached: reusing build {build_id}"),
            BuildProgress::Uploading { sent, total } => {
                println!("  uploading {sent}/{total} bytes")
            }
            BuildProgress::Building { status } => println!("  build status: {status}"),
            BuildProgress::Done { build_id } => println!("  done: {build_id}"),
            _ => println!("  {event:?}"),
        });
    let first = client.cloud_build(build.clone()).await?;
    for held in first.held_back() {
        println!("  not uploaded: {} ({})", held.path(), held.reason());
    }
    println!(
        "build {} (hash {}), deploy it as buildId",
        first.build_id(),
        first.context_hash()
    );

    println!("the same directory again:");
    let again = client.cloud_build(build).await?;
    println!("build {} cached: {}", again.build_id(), again.cached());
    Ok(())
}
