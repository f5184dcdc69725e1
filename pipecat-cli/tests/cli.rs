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
    let quick = pipecat_api::Wait::up_to(std::time::Duration::from_secs(5)).polling(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_millis(50),
    );
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

// ---- deploy, builds, secret files, follow; snapshots ----

/// A fresh directory under the system temp dir, removed by the caller.
fn temp_dir(tag: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("pipecat-cli-{tag}-{}-{n}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary run in `dir`.
async fn cli_in(fake: &FakeCloud, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = command(fake, args);
    cmd.current_dir(dir);
    run(cmd).await
}

/// A bot directory: a Dockerfile, code, a `.dockerignore` (so that
/// secret-looking files are held back, not just excluded) and a key file.
fn bot_dir(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("Dockerfile"), "FROM python:3.12\nCOPY . .\n").unwrap();
    std::fs::write(dir.join("bot.py"), "print('hello')\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), "*.md\n").unwrap();
    std::fs::write(dir.join("README.md"), "not packed\n").unwrap();
    std::fs::write(dir.join("server.key"), "-----BEGIN KEY-----\n").unwrap();
    dir
}

/// Replaces what changes from run to run: the fake's address, UUIDs,
/// RFC 3339 timestamps and build-log times (`YYYY/MM/DD HH:MM:SS`).
fn redact(text: &str, fake: &FakeCloud) -> String {
    let text = text.replace(&fake.url(), "[HOST]");
    let chars: Vec<char> = text.chars().collect();
    let is_hex = |c: char| c.is_ascii_hexdigit();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        // A UUID: 8-4-4-4-12 hex digits.
        if i + 36 <= chars.len() {
            let candidate = &chars[i..i + 36];
            let uuid = candidate.iter().enumerate().all(|(k, c)| {
                if [8, 13, 18, 23].contains(&k) {
                    *c == '-'
                } else {
                    is_hex(*c)
                }
            });
            if uuid {
                out.push_str("[UUID]");
                i += 36;
                continue;
            }
        }
        // A log timestamp: YYYY/MM/DD HH:MM:SS (build logs).
        if i + 19 <= chars.len() {
            let shape = "dddd/dd/dd dd:dd:dd";
            let matches = shape.chars().zip(&chars[i..i + 19]).all(|(s, c)| match s {
                'd' => c.is_ascii_digit(),
                s => *c == s,
            });
            if matches {
                out.push_str("[TIME]");
                i += 19;
                continue;
            }
        }
        // A timestamp: YYYY-MM-DDT… up to a quote or whitespace.
        if i + 11 <= chars.len()
            && chars[i..i + 4].iter().all(char::is_ascii_digit)
            && chars[i + 4] == '-'
            && chars[i + 7] == '-'
            && chars[i + 10] == 'T'
        {
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            out.push_str("[TIME]");
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn calls(fake: &FakeCloud, method: &str, prefix: &str) -> usize {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn deploy_from_a_toml_creates_then_updates_and_waits_for_the_rollout() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("deploy");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"toml-bot\"\nimage = \"example/bot:1\"\n[scaling]\nmin_agents = 0\nmax_agents = 2\n",
    )
    .unwrap();

    let first = cli_in(&fake, &dir, &["deploy", "-o", "json"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let json = one_json(&first);
    assert_eq!(json["agentName"], "toml-bot");
    assert_eq!(json["created"], true);
    assert_eq!(json["agent"]["ready"], true, "{json}");
    let create: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/agents")
        .collect();
    assert_eq!(create.len(), 1);
    let body: Value = serde_json::from_slice(&create[0].body).unwrap();
    assert_eq!(body["serviceName"], "toml-bot");
    assert_eq!(body["image"], "example/bot:1");
    assert_eq!(body["autoScaling"]["maxAgents"], 2);
    // Progress went to stderr, as plain lines (no terminal here).
    assert!(
        stderr(&first).contains("rollout: ready"),
        "{}",
        stderr(&first)
    );
    assert!(!stderr(&first).contains('\x1b'), "escapes on a pipe");

    // Again, with a flag over the file: an update carrying the new value.
    fake.clear_requests();
    let second = cli_in(&fake, &dir, &["deploy", "--max-agents", "4"]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).starts_with("Updated agent toml-bot: deployment "),
        "{}",
        stdout(&second)
    );
    let update: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/agents/toml-bot")
        .collect();
    assert_eq!(update.len(), 1, "{:?}", fake.requests());
    let body: Value = serde_json::from_slice(&update[0].body).unwrap();
    assert_eq!(body["autoScaling"]["maxAgents"], 4);
    assert_eq!(calls(&fake, "POST", "/v1/agents"), 1, "no second create");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn deploy_with_a_build_table_builds_in_the_cloud_then_deploys_the_build() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("deploy-build");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"built-bot\"\n[build]\ndockerfile = \"Dockerfile\"\n",
    )
    .unwrap();
    let out = cli_in(&fake, &dir, &["deploy", "-o", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json = one_json(&out);
    let build_id = json["build"]["buildId"].as_str().expect("a build id");
    assert_eq!(json["build"]["cached"], false);
    assert_eq!(calls(&fake, "POST", "/fake-uploads/"), 1, "one upload");
    let create = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/agents")
        .expect("a create");
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["buildId"], build_id);
    assert!(body.get("image").is_none(), "{body}");
    assert!(
        stderr(&out).contains("not uploaded: server.key"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn deploy_dry_run_checks_and_shows_but_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("dry-run");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"dry-bot\"\nsecret_set = \"dry-secrets\"\n[build]\n",
    )
    .unwrap();
    let json = cli_in(
        &fake,
        &dir,
        &["deploy", "--dry-run", "--max-agents", "3", "-o", "json"],
    )
    .await;
    assert!(json.status.success(), "{}", stderr(&json));
    let doc = one_json(&json);
    assert_eq!(doc["dryRun"], true);
    assert_eq!(doc["deploy"]["serviceName"], "dry-bot");
    assert_eq!(doc["deploy"]["autoScaling"]["maxAgents"], 3);
    assert_eq!(doc["build"]["heldBack"][0]["path"], "server.key");
    assert_eq!(doc["build"]["contextHash"].as_str().unwrap().len(), 16);

    let human = cli_in(&fake, &dir, &["deploy", "--dry-run"]).await;
    assert!(human.status.success(), "{}", stderr(&human));
    insta::assert_snapshot!("deploy_dry_run_human", redact(&stdout(&human), &fake));
    assert_eq!(fake.request_count(), 0, "a dry run sent a request");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_bad_toml_field_exits_2_naming_file_and_line_and_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("bad-toml");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"ok-bot\"\nimage = \"example/bot:1\"\nmax_session_duration = 5\n",
    )
    .unwrap();
    let out = cli_in(&fake, &dir, &["deploy"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pcc-deploy.toml:3: max_session_duration"),
        "{}",
        stderr(&out)
    );
    // A flag breaking a rule: refused as well, the rule named.
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"ok-bot\"\nimage = \"example/bot:1\"\n",
    )
    .unwrap();
    let out = cli_in(
        &fake,
        &dir,
        &["deploy", "--min-agents", "5", "--max-agents", "2"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("max_agents"), "{}", stderr(&out));
    // No file and no name: a usage error.
    std::fs::remove_file(dir.join("pcc-deploy.toml")).unwrap();
    let out = cli_in(&fake, &dir, &["deploy"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fake.request_count(), 0, "bad config reached the API");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn build_context_lists_files_held_back_files_and_the_hash_without_sending() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("context");
    let dir_arg = dir.to_string_lossy().into_owned();
    let out = cli(&fake, &["build", "context", &dir_arg, "-o", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json = one_json(&out);
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"Dockerfile") && files.contains(&"bot.py"),
        "{files:?}"
    );
    assert!(
        !files.contains(&"README.md") && !files.contains(&"server.key"),
        "{files:?}"
    );
    assert_eq!(json["heldBack"][0]["path"], "server.key");
    assert_eq!(json["heldBack"][0]["reason"], "looksLikeSecret");
    let hash = json["contextHash"].as_str().unwrap();
    assert_eq!(hash.len(), 16);
    assert!(json["compressedBytes"].as_u64().unwrap() > 0);
    // The same hash the library computes.
    let packed =
        pipecat_api::build_context::pack(&dir, &pipecat_api::build_context::ContextOptions::new())
            .unwrap();
    assert_eq!(hash, packed.hash());

    let human = cli(&fake, &["build", "context", &dir_arg]).await;
    assert!(human.status.success(), "{}", stderr(&human));
    insta::assert_snapshot!("build_context_human", redact(&stdout(&human), &fake));
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn build_create_uploads_once_then_reuses_the_cached_build() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("create");
    let dir_arg = dir.to_string_lossy().into_owned();
    let first = cli(
        &fake,
        &[
            "build", "create", &dir_arg, "--region", "us-west", "-o", "json",
        ],
    )
    .await;
    assert!(first.status.success(), "{}", stderr(&first));
    let json = one_json(&first);
    let id = json["buildId"].as_str().expect("buildId").to_string();
    assert_eq!(json["cached"], false);
    assert_eq!(json["contextHash"].as_str().unwrap().len(), 16);
    assert_eq!(calls(&fake, "POST", "/fake-uploads/"), 1);
    insta::assert_snapshot!("build_create_json", redact(&stdout(&first), &fake));

    let again = cli(&fake, &["build", "create", &dir_arg, "--region", "us-west"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains(&id), "{}", stdout(&again));
    assert!(stdout(&again).contains("reused"), "{}", stdout(&again));
    assert_eq!(calls(&fake, "POST", "/fake-uploads/"), 1, "uploaded again");

    // A build that fails is exit 1 with the build's message.
    fake.fail_next_build("pip install failed");
    std::fs::write(dir.join("bot.py"), "print('changed')\n").unwrap();
    let failed = cli(&fake, &["build", "create", &dir_arg]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("pip install failed"),
        "{}",
        stderr(&failed)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// python-dotenv's syntax from a file (a key with `-`, spaces inside an
/// unquoted value, a lone CR ending a line), and a warning naming the line
/// and key, never the value, where the official CLI would store another value.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn secrets_set_from_a_file_reads_dotenv_syntax_and_warns_where_the_official_cli_differs() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("env-warn");
    let file = dir.join("bot.env");
    std::fs::write(
        &file,
        format!("MY-KEY=hello = world\rQUOTED='{SECRET}'\nPLAIN=x\n"),
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let out = cli(&fake, &["secrets", "set", "warn-set", "--file", &path]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning:"), "{err}");
    assert!(err.contains("bot.env:2: QUOTED: "), "{err}");
    assert!(err.contains("keeps single quotes"), "{err}");
    assert!(
        !err.contains("bot.env:1:") && !err.contains("bot.env:3:"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "a value in a warning: {err}");
    let puts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(
        body["secrets"],
        serde_json::json!([
            {"secretKey": "MY-KEY", "secretValue": "hello = world"},
            {"secretKey": "QUOTED", "secretValue": SECRET},
            {"secretKey": "PLAIN", "secretValue": "x"},
        ])
    );

    // An empty file is refused before anything is sent or shown.
    fake.clear_requests();
    std::fs::write(&file, "# nothing\n").unwrap();
    let empty = cli(&fake, &["secrets", "set", "warn-set", "--file", &path]).await;
    assert_eq!(empty.status.code(), Some(2), "{}", stderr(&empty));
    assert!(
        stderr(&empty).contains("no secrets in the file"),
        "{}",
        stderr(&empty)
    );
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn secrets_set_from_a_file_sends_one_put_and_a_bad_line_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("env");
    let file = dir.join("prod.env");
    std::fs::write(
        &file,
        format!("# bot keys\nOPENAI_API_KEY={SECRET}\nGREETING=hi\n"),
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let out = cli(
        &fake,
        &[
            "secrets", "set", "file-set", "--file", &path, "DEBUG=1", "-o", "json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let puts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one PUT for file and pairs");
    let body = String::from_utf8_lossy(&puts[0].body).into_owned();
    assert!(body.contains(SECRET) && body.contains("GREETING") && body.contains("DEBUG"));
    let keys = one_json(&out)["secrets"].as_array().unwrap().len();
    assert_eq!(keys, 3);
    insta::assert_snapshot!("secrets_set_json", redact(&stdout(&out), &fake));

    fake.clear_requests();
    std::fs::write(
        &file,
        format!("OPENAI_API_KEY={SECRET}\nBROKEN LINE {SECRET}\n"),
    )
    .unwrap();
    let bad = cli(&fake, &["secrets", "set", "file-set", "--file", &path]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("prod.env:2"), "{}", stderr(&bad));
    assert!(
        !stderr(&bad).contains(SECRET),
        "a value in the error: {}",
        stderr(&bad)
    );
    assert_eq!(fake.request_count(), 0, "a bad file reached the API");

    // unset removes keys through the library job and keeps the others.
    let unset = cli(
        &fake,
        &["secrets", "unset", "file-set", "DEBUG", "-o", "json"],
    )
    .await;
    assert!(unset.status.success(), "{}", stderr(&unset));
    let left: Vec<_> = one_json(&unset)["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["fieldName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&"DEBUG".to_string()), "{left:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn logs_follow_prints_new_lines_and_ctrl_c_ends_it_with_0() {
    use std::io::BufRead as _;
    let fake = FakeCloud::start().await.unwrap();
    agent(&fake, "chatty").await;
    fake.seed_logs("chatty", 3);
    let mut cmd = command(&fake, &["agent", "logs", "chatty", "--follow", "-n", "2"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(20);
    let first: Vec<String> = (0..2).map(|_| rx.recv_timeout(wait).unwrap()).collect();
    fake.append_logs("chatty", 1);
    let next = tokio::task::spawn_blocking(move || (rx.recv_timeout(wait), rx))
        .await
        .unwrap();
    let (next, _rx) = next;
    let next = next.expect("the appended line is followed");
    assert!(!first.contains(&next), "{first:?} then {next}");
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends a follow with 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn human_and_json_output_snapshots() {
    let fake = FakeCloud::start().await.unwrap();
    agent(&fake, "snap-bot").await;
    let regions = cli(&fake, &["regions", "list"]).await;
    insta::assert_snapshot!("regions_list_human", redact(&stdout(&regions), &fake));
    let agents = cli(&fake, &["agent", "list"]).await;
    insta::assert_snapshot!("agent_list_human", redact(&stdout(&agents), &fake));
    let status = cli(&fake, &["agent", "status", "snap-bot", "-o", "json"]).await;
    insta::assert_snapshot!("agent_status_json", redact(&stdout(&status), &fake));
}

// ---- snapshots of every command that prints something ----

/// Masks every string under a key naming a token (`dailyToken`, `token`, …),
/// at any depth: a JSON answer may carry one, a snapshot must not.
fn mask_tokens(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key.to_ascii_lowercase().contains("token") && v.is_string() {
                    *v = Value::String("[TOKEN]".into());
                } else {
                    mask_tokens(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_tokens),
        _ => {}
    }
}

/// Checks what any output must never hold: keys, secret values, escapes.
fn assert_clean(text: &str, fake: &FakeCloud) {
    assert!(!text.contains(SECRET), "a secret value: {text}");
    assert!(
        !text.contains(fake.private_key()),
        "the private key: {text}"
    );
    assert!(!text.contains(fake.public_key()), "the public key: {text}");
    assert!(!text.contains('\x1b'), "an escape on a pipe: {text}");
}

/// Snapshots a successful human run as `{name}_human`: stdout, then what
/// went to stderr (notes, progress lines), if anything.
fn snap_human(name: &str, out: &Output, fake: &FakeCloud) {
    assert!(out.status.success(), "{name}: {}", stderr(out));
    let mut text = stdout(out);
    let err = stderr(out);
    if !err.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(&err);
    }
    assert_clean(&text, fake);
    insta::assert_snapshot!(format!("{name}_human"), redact(&text, fake));
}

/// Snapshots a successful `--output json` run as `{name}_json`: one
/// document on stdout, tokens masked (progress may go to stderr: clean too).
fn snap_json(name: &str, out: &Output, fake: &FakeCloud) {
    assert!(out.status.success(), "{name}: {}", stderr(out));
    assert_clean(&stderr(out), fake);
    let mut doc = one_json(out);
    mask_tokens(&mut doc);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    assert_clean(&text, fake);
    insta::assert_snapshot!(format!("{name}_json"), redact(&text, fake));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_secrets_commands() {
    let fake = FakeCloud::start().await.unwrap();
    let pair = format!("OPENAI_API_KEY={SECRET}");
    let set = cli(&fake, &["secrets", "set", "snap-secrets", &pair, "DEBUG=1"]).await;
    snap_human("secrets_set", &set, &fake);
    let other = cli(
        &fake,
        &["secrets", "set", "other-secrets", "A=1", "B=2", "C=3"],
    )
    .await;
    assert!(other.status.success(), "{}", stderr(&other));

    snap_human(
        "secrets_list",
        &cli(&fake, &["secrets", "list"]).await,
        &fake,
    );
    snap_json(
        "secrets_list",
        &cli(&fake, &["secrets", "list", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "secrets_list_keys",
        &cli(&fake, &["secrets", "list", "snap-secrets"]).await,
        &fake,
    );
    snap_json(
        "secrets_list_keys",
        &cli(&fake, &["secrets", "list", "snap-secrets", "-o", "json"]).await,
        &fake,
    );

    snap_human(
        "secrets_unset",
        &cli(&fake, &["secrets", "unset", "other-secrets", "A"]).await,
        &fake,
    );
    snap_json(
        "secrets_unset",
        &cli(
            &fake,
            &["secrets", "unset", "other-secrets", "B", "-o", "json"],
        )
        .await,
        &fake,
    );

    snap_human(
        "secrets_delete",
        &cli(&fake, &["secrets", "delete", "other-secrets", "--yes"]).await,
        &fake,
    );
    snap_json(
        "secrets_delete",
        &cli(
            &fake,
            &["secrets", "delete", "snap-secrets", "--yes", "-o", "json"],
        )
        .await,
        &fake,
    );

    let pull = |name: &'static str| {
        [
            "secrets",
            "image-pull-secret",
            name,
            "https://registry.example.com/v2/",
            "alice:dckr-token-123",
        ]
    };
    let human = cli(&fake, &pull("snap-registry")).await;
    assert!(!stdout(&human).contains("dckr-token-123"));
    snap_human("secrets_image_pull_secret", &human, &fake);
    let mut args = pull("snap-registry-2").to_vec();
    args.extend(["-o", "json"]);
    let json = cli(&fake, &args).await;
    assert!(!stdout(&json).contains("dckr-token-123"));
    assert!(!stdout(&json).contains("YWxpY2U6ZGNrci10b2tlbi0xMjM="));
    snap_json("secrets_image_pull_secret", &json, &fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_agent_commands() {
    let fake = FakeCloud::start().await.unwrap();
    for name in ["snap-bot", "gone-bot-1", "gone-bot-2"] {
        agent(&fake, name).await;
    }
    let quick = pipecat_api::Wait::up_to(std::time::Duration::from_secs(5)).polling(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_millis(50),
    );
    client(&fake)
        .wait_agent_ready("snap-bot", quick)
        .await
        .unwrap();
    fake.seed_logs("snap-bot", 3);

    snap_json(
        "agent_list",
        &cli(&fake, &["agent", "list", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "agent_status",
        &cli(&fake, &["agent", "status", "snap-bot"]).await,
        &fake,
    );
    snap_human(
        "agent_logs",
        &cli(&fake, &["agent", "logs", "snap-bot", "-n", "2"]).await,
        &fake,
    );
    snap_json(
        "agent_logs",
        &cli(
            &fake,
            &["agent", "logs", "snap-bot", "-n", "2", "-o", "json"],
        )
        .await,
        &fake,
    );

    let human = cli(&fake, &["agent", "start", "snap-bot", "--use-daily"]).await;
    snap_human("agent_start", &human, &fake);
    let json = cli(
        &fake,
        &["agent", "start", "snap-bot", "--use-daily", "-o", "json"],
    )
    .await;
    let token = one_json(&json)["dailyToken"]
        .as_str()
        .expect("a token")
        .to_string();
    assert!(!stdout(&human).contains(&token) && !stderr(&human).contains(&token));
    snap_json("agent_start", &json, &fake);
    let session = one_json(&json)["sessionId"]
        .as_str()
        .expect("a session id")
        .to_string();

    snap_human(
        "agent_sessions",
        &cli(&fake, &["agent", "sessions", "snap-bot"]).await,
        &fake,
    );
    snap_json(
        "agent_sessions",
        &cli(&fake, &["agent", "sessions", "snap-bot", "-o", "json"]).await,
        &fake,
    );

    let first =
        one_json(&cli(&fake, &["agent", "sessions", "snap-bot", "-o", "json"]).await)["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["sessionId"].as_str().map(str::to_string))
            .find(|id| *id != session)
            .expect("the first session");
    snap_human(
        "agent_stop",
        &cli(&fake, &["agent", "stop", "snap-bot", &first]).await,
        &fake,
    );
    snap_json(
        "agent_stop",
        &cli(
            &fake,
            &["agent", "stop", "snap-bot", &session, "-o", "json"],
        )
        .await,
        &fake,
    );

    snap_human(
        "agent_delete",
        &cli(&fake, &["agent", "delete", "gone-bot-1", "--yes"]).await,
        &fake,
    );
    snap_json(
        "agent_delete",
        &cli(
            &fake,
            &["agent", "delete", "gone-bot-2", "--yes", "-o", "json"],
        )
        .await,
        &fake,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_build_commands() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("snap-build");
    let dir_arg = dir.to_string_lossy().into_owned();
    snap_json(
        "build_context",
        &cli(&fake, &["build", "context", &dir_arg, "-o", "json"]).await,
        &fake,
    );
    let create = cli(&fake, &["build", "create", &dir_arg]).await;
    snap_human("build_create", &create, &fake);
    let id = one_json(&cli(&fake, &["build", "list", "-o", "json"]).await)["builds"][0]["id"]
        .as_str()
        .expect("a build id")
        .to_string();

    snap_human("build_list", &cli(&fake, &["build", "list"]).await, &fake);
    snap_json(
        "build_list",
        &cli(&fake, &["build", "list", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "build_status",
        &cli(&fake, &["build", "status", &id]).await,
        &fake,
    );
    snap_json(
        "build_status",
        &cli(&fake, &["build", "status", &id, "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "build_logs",
        &cli(&fake, &["build", "logs", &id]).await,
        &fake,
    );
    snap_json(
        "build_logs",
        &cli(&fake, &["build", "logs", &id, "-o", "json"]).await,
        &fake,
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_organization_commands() {
    let fake = FakeCloud::start().await.unwrap();
    snap_json(
        "regions_list",
        &cli(&fake, &["regions", "list", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "properties_get",
        &cli(&fake, &["properties", "get"]).await,
        &fake,
    );
    snap_json(
        "properties_get",
        &cli(&fake, &["properties", "get", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "properties_set",
        &cli(&fake, &["properties", "set", "defaultRegion=eu-central"]).await,
        &fake,
    );
    snap_json(
        "properties_set",
        &cli(
            &fake,
            &["properties", "set", "defaultRegion=us-east", "-o", "json"],
        )
        .await,
        &fake,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_deploy() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("snap-deploy");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"snap-deploy\"\nimage = \"example/bot:1\"\n[scaling]\nmin_agents = 0\nmax_agents = 2\n",
    )
    .unwrap();
    snap_json(
        "deploy_dry_run",
        &cli_in(&fake, &dir, &["deploy", "--dry-run", "-o", "json"]).await,
        &fake,
    );
    snap_human(
        "deploy",
        &cli_in(&fake, &dir, &["deploy", "--yes"]).await,
        &fake,
    );
    snap_json(
        "deploy",
        &cli_in(
            &fake,
            &dir,
            &["deploy", "--yes", "--max-agents", "3", "-o", "json"],
        )
        .await,
        &fake,
    );
    std::fs::remove_dir_all(&dir).ok();
    // With a cloud build first: the build's steps on stderr.
    let dir = bot_dir("snap-deploy-build");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"snap-built\"\n[build]\n",
    )
    .unwrap();
    snap_human(
        "deploy_with_build",
        &cli_in(&fake, &dir, &["deploy"]).await,
        &fake,
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---- build logs --follow ----

/// A build created through the API (no upload: the fake's shortcut), not
/// read yet, so still `pending`; its id.
async fn unread_build(fake: &FakeCloud) -> String {
    use pipecat_api::types::{CreateBuildRequest, UploadUrlRequest};
    let client = client(fake);
    let upload = client
        .get_build_upload_url()
        .body(UploadUrlRequest::builder().region("us-west"))
        .send()
        .await
        .unwrap();
    let created = client
        .create_build()
        .body(
            CreateBuildRequest::builder()
                .upload_id(upload.upload_id.expect("an upload id"))
                .region("us-west")
                .dockerfile_path("Dockerfile"),
        )
        .send()
        .await
        .unwrap();
    created
        .build
        .and_then(|b| b.id)
        .expect("a build id")
        .to_string()
}

fn lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn build_logs_follow_prints_each_line_once_until_the_build_ends() {
    let fake = FakeCloud::start().await.unwrap();
    fake.set_build_reads(3);
    let id = unread_build(&fake).await;
    let out = cli(&fake, &["build", "logs", &id, "--follow"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let followed = lines(&out);
    // The whole log, once, in order: the same as a read of the finished build.
    let whole = cli(&fake, &["build", "logs", &id]).await;
    assert_eq!(followed, lines(&whole), "{}", stdout(&out));
    assert_eq!(followed.len(), 6, "{followed:?}");
    assert!(followed[5].contains("SUCCEEDED"), "{followed:?}");
    // It polled while the build was going, not once.
    let reads = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/v1/builds/{id}"))
        .count();
    assert!(reads >= 4, "{reads} reads of the build");

    // A failed build: its lines, then exit 1 with the build's message.
    fake.fail_next_build("pip install failed");
    fake.set_build_reads(2);
    let id = unread_build(&fake).await;
    let out = cli(&fake, &["build", "logs", &id, "-f"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pip install failed"),
        "{}",
        stderr(&out)
    );
    let followed = lines(&out);
    assert_eq!(followed, lines(&cli(&fake, &["build", "logs", &id]).await));
    assert!(followed.last().unwrap().contains("FAILED"), "{followed:?}");

    // JSON Lines: one object per line.
    let out = cli(&fake, &["build", "logs", &id, "-f", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    for line in lines(&out) {
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert!(doc["log"].is_string(), "{line}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn build_logs_follow_ends_with_0_on_ctrl_c() {
    use std::io::BufRead as _;
    let fake = FakeCloud::start().await.unwrap();
    fake.set_build_reads(100_000);
    let id = unread_build(&fake).await;
    let mut cmd = command(&fake, &["build", "logs", &id, "--follow"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    // The reader stays open (a closed pipe would end the child otherwise).
    let (first, _lines) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        (lines.next(), lines)
    })
    .await
    .unwrap();
    assert!(first.is_some(), "no line while building");
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends a follow with 0");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn ctrl_c_during_a_rollout_exits_130_and_says_the_rollout_goes_on() {
    use std::io::BufRead as _;
    let fake = FakeCloud::start().await.unwrap();
    // The rollout never ends while the test looks.
    fake.set_agent_ready_reads(100_000);
    let dir = temp_dir("deploy-ctrl-c");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"slow-bot\"\nimage = \"example/bot:1\"\n",
    )
    .unwrap();
    let mut cmd = command(&fake, &["deploy"]);
    cmd.current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let stderr_pipe = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr_pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the deploy was sent and the rollout is being awaited.
    let (seen, rx) = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(20)) {
            let waiting = line.starts_with("rollout:");
            seen.push(line);
            if waiting {
                break;
            }
        }
        (seen, rx)
    })
    .await
    .unwrap();
    assert!(
        seen.last().is_some_and(|l| l.starts_with("rollout:")),
        "{seen:?}"
    );
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{seen:?}");
    // Everything the child wrote until its stderr closed.
    let rest: Vec<String> = tokio::task::spawn_blocking(move || rx.iter().collect())
        .await
        .unwrap();
    let rest = rest.join("\n");
    assert!(rest.contains("interrupted"), "{rest}");
    assert!(rest.contains("the rollout goes on"), "{rest}");
    assert!(rest.contains("agent status slow-bot"), "{rest}");
    assert!(!rest.contains('\x1b'), "{rest}");
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    // Nothing was undone: the agent is there, its deployment going on.
    let agent = client(&fake)
        .get_service()
        .agent_name("slow-bot")
        .send()
        .await
        .expect("the agent stays");
    assert!(agent.active_deployment_id.is_some());
    assert_eq!(calls(&fake, "DELETE", "/v1/agents"), 0);
    std::fs::remove_dir_all(&dir).ok();
}
