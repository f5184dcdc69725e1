//! What every CLI test file runs the binary with: the fake's host and both
//! keys in the environment, no terminal on stdin, and readers for what it
//! printed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use pipecat_api::Client;
use pipecat_fake::FakeCloud;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pipecat-cloud");

/// The binary with the fake's host and both keys, no terminal on stdin, and
/// none of the variables that change its output.
pub fn command(fake: &FakeCloud, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("PIPECAT_API_HOST", fake.url())
        .env("PIPECAT_API_KEY", fake.private_key())
        .env("PIPECAT_PUBLIC_API_KEY", fake.public_key())
        .env_remove("PIPECAT_DEFAULT_PUBLIC_KEY")
        .env_remove("PIPECAT_OUTPUT")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    cmd
}

/// Runs the binary on a blocking thread (the fake keeps serving meanwhile).
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run pipecat-cloud"))
        .await
        .expect("join")
}

pub async fn cli(fake: &FakeCloud, args: &[&str]) -> Output {
    run(command(fake, args)).await
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout parsed as exactly one JSON document (and nothing else).
pub fn one_json(out: &Output) -> Value {
    let docs: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)));
    assert_eq!(docs.len(), 1, "stdout holds {} documents", docs.len());
    docs.into_iter().next().unwrap()
}

/// A library client on the fake, with both keys.
pub fn client(fake: &FakeCloud) -> Client {
    Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .build()
        .unwrap()
}

/// A fresh directory of its own (tests run in parallel in one process).
pub fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("pipecat-cli-{tag}-{}-{n}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
