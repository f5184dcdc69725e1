//! End to end: the built `pipecat-cloud` binary against a fake Pipecat
//! Cloud on loopback, with keys and host passed through the environment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};

use pipecat_api::Client;
use pipecat_api::types::CreateServiceRequest;
use pipecat_fake::FakeCloud;
use serde_json::Value;

const SECRET: &str = "sk-do-not-print-me-4711";

/// The binary with the fake's host and both keys, no terminal on stdin.
fn command(fake: &FakeCloud, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipecat-cloud"));
    cmd.args(args)
        .env("PIPECAT_API_HOST", fake.url())
        .env("PIPECAT_API_KEY", fake.private_key())
        .env("PIPECAT_PUBLIC_API_KEY", fake.public_key())
        .env_remove("PIPECAT_DEFAULT_PUBLIC_KEY")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    cmd
}

/// Runs the binary on a blocking thread (the fake keeps serving meanwhile).
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run pipecat-cloud"))
        .await
        .expect("join")
}

async fn cli(fake: &FakeCloud, args: &[&str]) -> Output {
    run(command(fake, args)).await
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout parsed as exactly one JSON document (and nothing else).
fn one_json(out: &Output) -> Value {
    let docs: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)));
    assert_eq!(docs.len(), 1, "stdout holds {} documents", docs.len());
    docs.into_iter().next().unwrap()
}

fn client(fake: &FakeCloud) -> Client {
    Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .build()
        .unwrap()
}

async fn agent(fake: &FakeCloud, name: &str) {
    let client = client(fake);
    let body = CreateServiceRequest::builder()
        .service_name(name)
        .image("example/bot:1");
    client.create_service().body(body).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn secrets_set_waits_then_list_shows_the_set_and_never_a_value() {
    let fake = FakeCloud::start().await.unwrap();
    fake.set_provisioning_reads(2);
    let pair = format!("OPENAI_API_KEY={SECRET}");
    let set = cli(&fake, &["secrets", "set", "my-secrets", &pair, "DEBUG=1"]).await;
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stdout(&set).contains("my-secrets is ready"),
        "{}",
        stdout(&set)
    );

    // The value went to the API, once, in one PUT…
    let puts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert!(String::from_utf8_lossy(&puts[0].body).contains(SECRET));

    // …and the set is listed, by the API's field names.
    let list = cli(&fake, &["secrets", "list", "--output", "json"]).await;
    assert!(list.status.success(), "{}", stderr(&list));
    let json = one_json(&list);
    let sets = json["sets"].as_array().expect("sets");
    let mine = sets
        .iter()
        .find(|s| s["name"] == "my-secrets")
        .expect("the set is listed");
    assert_eq!(mine["status"], "ready");

    let keys = cli(&fake, &["secrets", "list", "my-secrets", "-o", "json"]).await;
    assert!(keys.status.success(), "{}", stderr(&keys));
    let names: Vec<_> = one_json(&keys)["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|k| k["fieldName"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"OPENAI_API_KEY".to_string()), "{names:?}");

    let human = cli(&fake, &["secrets", "list", "my-secrets"]).await;
    assert!(stdout(&human).contains("OPENAI_API_KEY"));
    for out in [&set, &list, &keys, &human] {
        assert!(!stdout(out).contains(SECRET), "value on stdout");
        assert!(!stderr(out).contains(SECRET), "value on stderr");
        // Piped: no color escapes.
        assert!(!stdout(out).contains('\x1b'), "color on a pipe");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn agent_delete_without_a_terminal_or_yes_refuses_and_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    agent(&fake, "my-agent").await;
    fake.clear_requests();

    let refused = cli(&fake, &["agent", "delete", "my-agent"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert!(stdout(&refused).is_empty());
    assert_eq!(fake.request_count(), 0, "a request was sent");

    let deleted = cli(&fake, &["agent", "delete", "my-agent", "--yes"]).await;
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let err = client(&fake)
        .get_service()
        .agent_name("my-agent")
        .send()
        .await
        .expect_err("the agent is gone");
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_missing_key_names_the_variable_and_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let mut cmd = command(&fake, &["regions", "list"]);
    cmd.env_remove("PIPECAT_API_KEY");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PIPECAT_API_KEY"), "{}", stderr(&out));

    let mut cmd = command(&fake, &["agent", "start", "my-agent"]);
    cmd.env_remove("PIPECAT_PUBLIC_API_KEY");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("PIPECAT_PUBLIC_API_KEY"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.request_count(), 0);

    // A key from a file works without the variable, and is never printed.
    let dir = std::env::temp_dir().join(format!("pipecat-cli-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key");
    std::fs::write(&file, format!("{}\n", fake.private_key())).unwrap();
    let mut cmd = command(&fake, &["regions", "list", "--api-key-file"]);
    cmd.arg(&file).env_remove("PIPECAT_API_KEY");
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(fake.private_key()));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn completions_print_a_script() {
    let fake = FakeCloud::start().await.unwrap();
    let out = cli(&fake, &["completions", "bash"]).await;
    assert!(out.status.success());
    let script = stdout(&out);
    assert!(script.contains("pipecat-cloud"), "{script}");
    assert!(script.contains("secrets"), "{script}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn json_output_is_exactly_one_document_with_the_api_field_names() {
    let fake = FakeCloud::start().await.unwrap();
    agent(&fake, "json-agent").await;
    let cases: &[(&[&str], &str)] = &[
        (&["regions", "list"], "regions"),
        (&["secrets", "list"], "sets"),
        (&["agent", "list"], "services"),
        (&["agent", "status", "json-agent"], "name"),
        (&["agent", "sessions", "json-agent"], "sessions"),
        (&["agent", "logs", "json-agent"], "logs"),
        (&["properties", "get"], "properties"),
        (&["build", "list"], "builds"),
        (&["completions", "zsh"], "script"),
    ];
    for (args, field) in cases {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        let out = cli(&fake, &args).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let json = one_json(&out);
        assert!(json.get(field).is_some(), "{args:?}: no {field} in {json}");
    }
    // An empty listing is still a list, for scripts.
    let sets = one_json(&cli(&fake, &["secrets", "list", "-o", "json"]).await);
    assert_eq!(sets["sets"], serde_json::json!([]), "{sets}");
    // The API's own field names, whatever their case (regions use snake_case).
    let region = one_json(&cli(&fake, &["regions", "list", "-o", "json"]).await);
    assert!(
        region["regions"][0]["code"].is_string()
            && region["regions"][0].get("display_name").is_some(),
        "{region}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn api_errors_exit_1_and_bad_input_exits_2_before_sending() {
    let fake = FakeCloud::start().await.unwrap();
    let out = cli(&fake, &["agent", "status", "no-such-agent"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    fake.clear_requests();
    for args in [
        &["secrets", "set", "Bad_Name!", "K=V"][..],
        &["secrets", "set", "good-name", SECRET][..],
        &["agent", "start", "a", "--data", "[1]"][..],
        &["build", "status", "not-a-uuid"][..],
        &["properties", "set", "colour=blue"][..],
        &["agent", "logs", "a", "--since", "yesterday"][..],
    ] {
        let out = cli(&fake, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains(SECRET), "{}", stderr(&out));
    }
    assert_eq!(fake.request_count(), 0, "bad input reached the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn agent_start_shows_the_room_but_never_the_token() {
    let fake = FakeCloud::start().await.unwrap();
    agent(&fake, "talker").await;
    let quick = pipecat_api::Wait {
        initial_interval: std::time::Duration::from_millis(10),
        max_interval: std::time::Duration::from_millis(50),
        timeout: std::time::Duration::from_secs(5),
    };
    client(&fake)
        .wait_agent_ready("talker", quick)
        .await
        .unwrap();
    let out = cli(&fake, &["agent", "start", "talker", "--use-daily"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Join the Daily room: http"),
        "{}",
        stdout(&out)
    );

    let json = one_json(
        &cli(
            &fake,
            &["agent", "start", "talker", "--use-daily", "-o", "json"],
        )
        .await,
    );
    let token = json["dailyToken"].as_str().expect("a token in JSON");
    assert!(!token.is_empty());
    // The token of the first start is not in its human output either.
    let start = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/start"))
        .count();
    assert_eq!(start, 2);
    assert!(!stdout(&out).contains("token\":"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn image_pull_secret_goes_to_the_api_host_with_encoded_credentials() {
    let fake = FakeCloud::start().await.unwrap();
    let args = [
        "secrets",
        "image-pull-secret",
        "my-registry",
        "https://registry.example.com/v2/",
        "alice:dckr-token-123",
    ];
    let out = cli(&fake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "PUT");
    assert_eq!(requests[0].path, "/v1/secrets/my-registry");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["host"], "https://registry.example.com/v2/");
    // base64("alice:dckr-token-123")
    assert_eq!(body["secretValue"], "YWxpY2U6ZGNrci10b2tlbi0xMjM=");
    assert!(!stdout(&out).contains("dckr-token-123"));

    let out = cli(
        &fake,
        &["secrets", "image-pull-secret", "r2", "h", "no-colon"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("no-colon"), "{}", stderr(&out));
}
