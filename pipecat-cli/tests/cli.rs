//! End to end: the built `pipecat-cloud` binary against a fake Pipecat
//! Cloud on loopback, with keys and host passed through the environment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};

use pipecat_api::types::CreateServiceRequest;
use pipecat_fake::FakeCloud;
use serde_json::Value;

mod common;
use common::*;

const SECRET: &str = "sk-do-not-print-me-4711";

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

    let keys = cli(
        &fake,
        &["secrets", "list", "my-secrets", "--output", "json"],
    )
    .await;
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
async fn a_bad_key_file_is_refused_naming_it_and_never_showing_its_text() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("key-file");
    let empty = dir.join("empty");
    std::fs::write(&empty, "\n  \n").unwrap();
    let mut cmd = command(&fake, &["regions", "list", "--api-key-file"]);
    cmd.arg(&empty);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: the file is empty", empty.display())),
        "{err}"
    );

    // Two lines: not a key, and not echoed.
    let two = dir.join("two");
    std::fs::write(&two, format!("{SECRET}\nmore")).unwrap();
    let mut cmd = command(&fake, &["agent", "start", "a", "--public-key-file"]);
    cmd.arg(&two);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the public key file"), "{err}");
    assert!(
        !err.contains(SECRET) && !stdout(&out).contains(SECRET),
        "{err}"
    );

    // A file that cannot be read is local I/O, not usage: exit 1.
    let missing = dir.join("missing");
    let mut cmd = command(&fake, &["regions", "list", "--api-key-file"]);
    cmd.arg(&missing);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot use {}", missing.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.request_count(), 0);
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
    let sets = one_json(&cli(&fake, &["secrets", "list", "--output", "json"]).await);
    assert_eq!(sets["sets"], serde_json::json!([]), "{sets}");
    // The API's own field names, whatever their case (regions use snake_case).
    let region = one_json(&cli(&fake, &["regions", "list", "--output", "json"]).await);
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
    let quick = pipecat_api::Wait::default()
        .timeout(std::time::Duration::from_secs(5))
        .polling(
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
            &[
                "agent",
                "start",
                "talker",
                "--use-daily",
                "--output",
                "json",
            ],
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

    let first = cli_in(&fake, &dir, &["deploy", "--output", "json"]).await;
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

    // Again, with a flag over the file: an update carrying the new value
    // (confirmed with --yes: there is no terminal to ask on).
    fake.clear_requests();
    let second = cli_in(&fake, &dir, &["deploy", "--yes", "--max-agents", "4"]).await;
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

/// Requests other than reads, as `METHOD path`.
fn writes(fake: &FakeCloud) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

const WARM: &str = "agent_name = \"plan-bot\"\nimage = \"example/bot:1\"\n[scaling]\nmin_agents = 2\nmax_agents = 4\n";
/// The same file with `[scaling]` removed and a new image.
const BARE: &str = "agent_name = \"plan-bot\"\nimage = \"example/bot:2\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn deploy_shows_the_plan_refuses_an_update_off_a_terminal_and_updates_with_yes() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("plan");
    std::fs::write(dir.join("pcc-deploy.toml"), WARM).unwrap();
    // A create needs no question.
    let first = cli_in(&fake, &dir, &["deploy"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("Plan: create agent plan-bot in the organization's default region with:\n  + image: example/bot:1\n  + scaling.min_agents: 2"),
        "{}",
        stderr(&first)
    );

    std::fs::write(dir.join("pcc-deploy.toml"), BARE).unwrap();
    fake.clear_requests();
    // Off a terminal, an update without --yes is refused, naming the flag,
    // after showing what it would change; nothing is written.
    let refused = cli_in(&fake, &dir, &["deploy"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(err.contains("pass --yes (or --force) to confirm"), "{err}");
    assert!(
        err.contains("Plan: update agent plan-bot (us-west), 2 changes:\n  ~ image:              example/bot:1 -> example/bot:2\n  ~ scaling.min_agents: 2 -> 0\n"),
        "{err}"
    );
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));

    // The dry run shows the same plan against the live agent and writes
    // nothing.
    let dry = cli_in(&fake, &dir, &["deploy", "--dry-run", "--output", "json"]).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    let doc = one_json(&dry);
    assert_eq!(doc["plan"]["action"], "update");
    let fields: Vec<_> = doc["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["image", "scaling.min_agents"]);
    assert_eq!(doc["plan"]["changes"][1]["live"]["value"], 2);
    assert_eq!(
        doc["deploy"]["autoScaling"],
        serde_json::json!({"minAgents": 0})
    );
    assert!(doc["deploy"].get("serviceName").is_none(), "an update body");
    let human = cli_in(&fake, &dir, &["deploy", "--dry-run"]).await;
    assert!(
        stdout(&human).contains("~ scaling.min_agents: 2 -> 0"),
        "{}",
        stdout(&human)
    );
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));

    // With --yes it updates: minAgents 0 sent and stored.
    let yes = cli_in(&fake, &dir, &["deploy", "--yes"]).await;
    assert!(yes.status.success(), "{}", stderr(&yes));
    assert!(
        stdout(&yes).starts_with("Updated agent plan-bot"),
        "{}",
        stdout(&yes)
    );
    assert_eq!(writes(&fake), ["POST /v1/agents/plan-bot"]);
    let agent = client(&fake)
        .get_service()
        .agent_name("plan-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(agent.auto_scaling.unwrap().min_replicas, Some(0));

    // No change: said so, nothing sent, even without --yes.
    fake.clear_requests();
    let same = cli_in(&fake, &dir, &["deploy"]).await;
    assert!(same.status.success(), "{}", stderr(&same));
    assert!(
        stdout(&same).starts_with("No changes: agent plan-bot"),
        "{}",
        stdout(&same)
    );
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
    // --force redeploys anyway, without a question.
    let forced = cli_in(&fake, &dir, &["deploy", "--force", "--output", "json"]).await;
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(one_json(&forced)["unchanged"], false);
    assert_eq!(writes(&fake), ["POST /v1/agents/plan-bot"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// `pipecat-cloud ARGS` run in `dir` under a pseudo-terminal (util-linux
/// `script`), with `answer` typed in; `None` when `script` is missing.
async fn on_a_terminal(
    fake: &FakeCloud,
    dir: &std::path::Path,
    args: &str,
    answer: &str,
) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed (needed for a pseudo-terminal)");
        return None;
    }
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_pipecat-cloud"));
    // The same environment as `command`, around `script`.
    let base = command(fake, &[]);
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    for (key, value) in base.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.env("TERM", "dumb")
        .current_dir(dir)
        .stdin(Stdio::piped());
    let answer = answer.to_string();
    Some(
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut child = cmd
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run script");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(answer.as_bytes())
                .unwrap();
            child.wait_with_output().expect("wait for script")
        })
        .await
        .expect("join"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn on_a_terminal_the_plan_is_shown_and_the_answer_decides() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("plan-tty");
    std::fs::write(dir.join("pcc-deploy.toml"), WARM).unwrap();
    let first = cli_in(&fake, &dir, &["deploy"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::write(dir.join("pcc-deploy.toml"), BARE).unwrap();
    fake.clear_requests();

    // "n": nothing sent, a refusal.
    let Some(no) = on_a_terminal(&fake, &dir, "deploy", "n\n").await else {
        return;
    };
    let text = stdout(&no);
    assert!(text.contains("~ scaling.min_agents: 2 -> 0"), "{text}");
    assert!(text.contains("update agent plan-bot? [y/N]"), "{text}");
    assert!(
        text.contains("did not update agent plan-bot: not confirmed"),
        "{text}"
    );
    assert_eq!(no.status.code(), Some(2), "{text}");
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));

    // "y": updated.
    let yes = on_a_terminal(&fake, &dir, "deploy", "y\n").await.unwrap();
    let text = stdout(&yes);
    assert!(yes.status.success(), "{text}");
    assert!(
        text.contains("Updated agent plan-bot: deployment "),
        "{text}"
    );
    assert_eq!(writes(&fake), ["POST /v1/agents/plan-bot"]);
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
    let out = cli_in(&fake, &dir, &["deploy", "--output", "json"]).await;
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
        &[
            "deploy",
            "--dry-run",
            "--max-agents",
            "3",
            "--output",
            "json",
        ],
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
    // Only reads of the live agent, for the plan.
    let sent: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .filter(|r| r != "GET /v1/agents/dry-bot")
        .collect();
    assert!(sent.is_empty(), "a dry run sent {sent:?}");
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
    let out = cli(&fake, &["build", "context", &dir_arg, "--output", "json"]).await;
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
            "build", "create", &dir_arg, "--region", "us-west", "--output", "json",
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
            "secrets", "set", "file-set", "--file", &path, "DEBUG=1", "--output", "json",
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
        &["secrets", "unset", "file-set", "DEBUG", "--output", "json"],
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
    let status = cli(&fake, &["agent", "status", "snap-bot", "--output", "json"]).await;
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
        &cli(&fake, &["secrets", "list", "--output", "json"]).await,
        &fake,
    );
    snap_human(
        "secrets_list_keys",
        &cli(&fake, &["secrets", "list", "snap-secrets"]).await,
        &fake,
    );
    snap_json(
        "secrets_list_keys",
        &cli(
            &fake,
            &["secrets", "list", "snap-secrets", "--output", "json"],
        )
        .await,
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
            &["secrets", "unset", "other-secrets", "B", "--output", "json"],
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
            &[
                "secrets",
                "delete",
                "snap-secrets",
                "--yes",
                "--output",
                "json",
            ],
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
    args.extend(["--output", "json"]);
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
    let quick = pipecat_api::Wait::default()
        .timeout(std::time::Duration::from_secs(5))
        .polling(
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
        &cli(&fake, &["agent", "list", "--output", "json"]).await,
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
            &["agent", "logs", "snap-bot", "-n", "2", "--output", "json"],
        )
        .await,
        &fake,
    );

    let human = cli(&fake, &["agent", "start", "snap-bot", "--use-daily"]).await;
    snap_human("agent_start", &human, &fake);
    let json = cli(
        &fake,
        &[
            "agent",
            "start",
            "snap-bot",
            "--use-daily",
            "--output",
            "json",
        ],
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
        &cli(
            &fake,
            &["agent", "sessions", "snap-bot", "--output", "json"],
        )
        .await,
        &fake,
    );

    let first = one_json(
        &cli(
            &fake,
            &["agent", "sessions", "snap-bot", "--output", "json"],
        )
        .await,
    )["sessions"]
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
            &["agent", "stop", "snap-bot", &session, "--output", "json"],
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
            &["agent", "delete", "gone-bot-2", "--yes", "--output", "json"],
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
        &cli(&fake, &["build", "context", &dir_arg, "--output", "json"]).await,
        &fake,
    );
    let create = cli(&fake, &["build", "create", &dir_arg]).await;
    snap_human("build_create", &create, &fake);
    let id = one_json(&cli(&fake, &["build", "list", "--output", "json"]).await)["builds"][0]["id"]
        .as_str()
        .expect("a build id")
        .to_string();

    snap_human("build_list", &cli(&fake, &["build", "list"]).await, &fake);
    snap_json(
        "build_list",
        &cli(&fake, &["build", "list", "--output", "json"]).await,
        &fake,
    );
    snap_human(
        "build_status",
        &cli(&fake, &["build", "status", &id]).await,
        &fake,
    );
    snap_json(
        "build_status",
        &cli(&fake, &["build", "status", &id, "--output", "json"]).await,
        &fake,
    );
    snap_human(
        "build_logs",
        &cli(&fake, &["build", "logs", &id]).await,
        &fake,
    );
    snap_json(
        "build_logs",
        &cli(&fake, &["build", "logs", &id, "--output", "json"]).await,
        &fake,
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn snapshots_of_organization_commands() {
    let fake = FakeCloud::start().await.unwrap();
    snap_json(
        "regions_list",
        &cli(&fake, &["regions", "list", "--output", "json"]).await,
        &fake,
    );
    snap_human(
        "properties_get",
        &cli(&fake, &["properties", "get"]).await,
        &fake,
    );
    snap_json(
        "properties_get",
        &cli(&fake, &["properties", "get", "--output", "json"]).await,
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
            &[
                "properties",
                "set",
                "defaultRegion=us-east",
                "--output",
                "json",
            ],
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
        &cli_in(&fake, &dir, &["deploy", "--dry-run", "--output", "json"]).await,
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
            &["deploy", "--yes", "--max-agents", "3", "--output", "json"],
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

    // JSON Lines: one object per line, the failure last.
    let out = cli(&fake, &["build", "logs", &id, "-f", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let docs: Vec<Value> = lines(&out)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (failure, logs) = docs.split_last().unwrap();
    assert_eq!(failure["error"]["exit_code"], 1, "{failure}");
    for doc in logs {
        assert!(doc["log"].is_string(), "{doc}");
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

// ---- Ctrl-C in each phase of a cloud build; build logs past the API's cap; the build region ----

/// A bot directory big enough that packing takes a while: incompressible
/// files (a xorshift stream).
fn big_bot_dir(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..32 {
        let mut data = Vec::with_capacity(1 << 20);
        while data.len() < 1 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        std::fs::write(dir.join(format!("weights-{i:02}.bin")), data).unwrap();
    }
    dir
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// When to send SIGINT.
enum When<'a> {
    /// Once a file appears in this directory (the archive being written).
    FileIn(&'a std::path::Path),
    /// Once stderr has a line starting with this.
    Line(&'a str),
}

/// Runs `cmd`, sends it SIGINT at `when`, and gives its exit code and
/// everything it wrote on stderr. Bounded: a child that does not end within
/// 20 s of the signal is killed and the test fails.
#[cfg(unix)]
async fn interrupt(mut cmd: Command, when: When<'_>) -> (Option<i32>, String) {
    use std::io::BufRead as _;
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let pipe = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the moment never came: {seen:?}"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the signal: {seen:?}"
        );
        let line = rx.recv_timeout(std::time::Duration::from_millis(2)).ok();
        let now = match (&when, &line) {
            (When::FileIn(dir), _) => !entries(dir).is_empty(),
            (When::Line(start), Some(line)) => line.starts_with(start),
            (When::Line(_), None) => false,
        };
        seen.extend(line);
        if now {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let signalled = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().ok();
            panic!("still running 20 s after Ctrl-C: {seen:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let rest: Vec<String> = rx.iter().collect();
    seen.extend(rest);
    (status.code(), seen.join("\n"))
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn ctrl_c_while_packing_exits_130_says_nothing_was_sent_and_leaves_no_archive() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = big_bot_dir("pack-ctrl-c");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"big-bot\"\n[build]\n",
    )
    .unwrap();
    let commands: [&[&str]; 4] = [
        &["build", "context", "."],
        &["deploy", "--dry-run"],
        &["build", "create", ".", "--region", "us-west"],
        &["deploy", "--build"],
    ];
    for args in commands {
        let tmp = temp_dir("pack-ctrl-c-tmp");
        let mut cmd = command(&fake, args);
        cmd.current_dir(&dir).env("TMPDIR", &tmp);
        let (code, stderr) = interrupt(cmd, When::FileIn(&tmp)).await;
        assert_eq!(code, Some(130), "{args:?}: {stderr}");
        assert!(
            stderr.contains("interrupted while packing the build context: nothing was sent"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("goes on"), "{args:?}: {stderr}");
        assert_eq!(entries(&tmp), Vec::<String>::new(), "{args:?}");
        std::fs::remove_dir_all(&tmp).ok();
    }
    // `deploy --build` may look the agent up first; nothing else was sent.
    for r in fake.requests() {
        assert!(
            r.method == "GET" && (r.path.starts_with("/v1/agents/") || r.path == "/v1/properties"),
            "{} {}",
            r.method,
            r.path
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn ctrl_c_while_the_storage_host_confirms_says_the_upload_stopped_and_nothing_was_built() {
    use pipecat_fake::{Fault, Op};
    let fake = FakeCloud::start().await.unwrap();
    fake.fail_next(
        Op::UploadBuildContext,
        1,
        Fault::Stall(std::time::Duration::from_secs(40)),
    );
    let dir = bot_dir("upload-ctrl-c");
    let mut cmd = command(&fake, &["build", "create", ".", "--region", "us-west"]);
    cmd.current_dir(&dir);
    let (code, stderr) = interrupt(
        cmd,
        When::Line("waiting for the storage host to confirm the upload"),
    )
    .await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("the upload was stopped; nothing was built")
            || stderr.contains("it was stopped; nothing was built"),
        "{stderr}"
    );
    assert!(!stderr.contains("goes on"), "{stderr}");
    let created = fake
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("createBuild"))
        .count();
    assert_eq!(created, 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn ctrl_c_while_building_says_the_build_goes_on_and_how_to_follow_it() {
    let fake = FakeCloud::start().await.unwrap();
    fake.set_build_reads(100_000);
    let dir = bot_dir("building-ctrl-c");
    let mut cmd = command(&fake, &["build", "create", ".", "--region", "us-west"]);
    cmd.current_dir(&dir);
    let (code, stderr) = interrupt(cmd, When::Line("build: ")).await;
    assert_eq!(code, Some(130), "{stderr}");
    let build = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "GET" && r.path.starts_with("/v1/builds/"))
        .expect("the build was polled");
    let id = build.path.trim_start_matches("/v1/builds/").to_string();
    assert!(stderr.contains(&format!("build {id} goes on")), "{stderr}");
    assert!(
        stderr.contains(&format!("pipecat-cloud build logs {id} --follow")),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn build_logs_asks_for_all_the_api_gives_and_says_when_lines_were_left_out() {
    use pipecat_fake::{Fault, Op};
    let fake = FakeCloud::start().await.unwrap();
    let id = unread_build(&fake).await;
    // Read once so that it has a log.
    let whole = cli(&fake, &["build", "logs", &id]).await;
    assert!(whole.status.success(), "{}", stderr(&whole));
    let query = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/logs"))
        .and_then(|r| r.query)
        .unwrap_or_default();
    assert!(query.contains("limit=10000"), "{query}");
    assert!(!stderr(&whole).contains("left out"), "{}", stderr(&whole));

    // The service has more than it returned.
    for args in [
        vec!["build", "logs", id.as_str()],
        vec!["build", "logs", id.as_str(), "--output", "json"],
    ] {
        fake.fail_next(
            Op::GetBuildLogs,
            1,
            Fault::amend("/nextToken", serde_json::json!("10000")),
        );
        let out = cli(&fake, &args).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let shown = if args.len() > 3 {
            one_json(&out)["logs"].as_array().unwrap().len()
        } else {
            lines(&out).len()
        };
        let err = stderr(&out);
        assert!(
            err.contains(&format!("lines after line {shown} were left out")),
            "{err}"
        );
        assert!(err.contains("at most 10000 lines"), "{err}");
        assert!(
            err.contains(&format!("https://console.fake.invalid/builds/{id}")),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn deploy_builds_in_the_existing_agents_region_and_refuses_another_before_packing() {
    let fake = FakeCloud::start().await.unwrap();
    let body = CreateServiceRequest::builder()
        .service_name("eu-bot")
        .image("example/bot:1")
        .region("eu-central");
    client(&fake)
        .create_service()
        .body(body)
        .send()
        .await
        .unwrap();
    let dir = bot_dir("deploy-region");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"eu-bot\"\n[build]\n",
    )
    .unwrap();

    // Another region than the agent's: refused before anything is packed
    // or uploaded.
    fake.clear_requests();
    let tmp = temp_dir("deploy-region-tmp");
    let mut cmd = command(&fake, &["deploy", "--region", "us-east"]);
    cmd.current_dir(&dir).env("TMPDIR", &tmp);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("agent eu-bot is in region eu-central"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("packed"), "{}", stderr(&out));
    assert_eq!(calls(&fake, "POST", "/v1/builds"), 0);
    assert_eq!(calls(&fake, "POST", "/fake-uploads/"), 0);
    assert_eq!(entries(&tmp), Vec::<String>::new());

    // No region given: the build is made where the agent is (not in the
    // organization's default, us-west), and the deploy succeeds.
    let out = cli_in(&fake, &dir, &["deploy", "--yes", "--output", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let upload_url = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/builds/upload-url")
        .expect("an upload url");
    let body: Value = serde_json::from_slice(&upload_url.body).unwrap();
    assert_eq!(body["region"], "eu-central");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&tmp).ok();
}

// ---- build contexts: config-relative context_dir, --allow-secret, FIFOs ----

/// Runs the binary in `dir`, killing it if it runs for more than 20 s (so
/// a hang fails the test instead of stalling the suite).
fn run_bounded(mut cmd: Command, dir: &std::path::Path) -> Output {
    use std::time::{Duration, Instant};
    let mut child = cmd
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("pipecat-cloud still running after 20 s (hung)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn paths(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn context_dir_is_relative_to_the_config_file_that_names_it() {
    let fake = FakeCloud::start().await.unwrap();
    let top = temp_dir("context-dir");
    let sub = top.join("sub");
    std::fs::create_dir_all(sub.join("bot/docker")).unwrap();
    std::fs::write(sub.join("bot/docker/Dockerfile"), "FROM x\n").unwrap();
    std::fs::write(sub.join("bot/in_sub_bot.py"), "").unwrap();
    std::fs::write(
        sub.join("pcc-deploy.toml"),
        "agent_name = \"rel-bot\"\n[build]\ncontext_dir = \"bot\"\ndockerfile = \"docker/Dockerfile\"\n",
    )
    .unwrap();
    // A `bot` beside the cwd that must not be packed.
    std::fs::create_dir_all(top.join("bot/docker")).unwrap();
    std::fs::write(top.join("bot/docker/Dockerfile"), "FROM wrong\n").unwrap();
    std::fs::write(top.join("bot/in_cwd_bot.py"), "").unwrap();

    let args = [
        "deploy",
        "--config",
        "sub/pcc-deploy.toml",
        "--dry-run",
        "--output",
        "json",
    ];
    let out = cli_in(&fake, &top, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = one_json(&out);
    let files = paths(&doc["build"]["files"]);
    assert_eq!(files, ["docker/Dockerfile", "in_sub_bot.py"]);
    assert_eq!(doc["build"]["contextDir"], "sub/bot");

    // The real build uploads that context: the hash the library gives sub/bot.
    let args = [
        "deploy",
        "--config",
        "sub/pcc-deploy.toml",
        "--output",
        "json",
    ];
    let out = cli_in(&fake, &top, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let options = pipecat_api::build_context::ContextOptions::new().dockerfile("docker/Dockerfile");
    let expected = pipecat_api::build_context::pack(sub.join("bot"), &options).unwrap();
    assert_eq!(one_json(&out)["build"]["contextHash"], expected.hash());

    // `--build` with a file that has no [build] table: the file's directory.
    std::fs::write(sub.join("pcc-deploy.toml"), "agent_name = \"rel-bot\"\n").unwrap();
    std::fs::write(sub.join("Dockerfile"), "FROM x\n").unwrap();
    let args = [
        "deploy",
        "--config",
        "sub/pcc-deploy.toml",
        "--build",
        "--dry-run",
        "--output",
        "json",
    ];
    let out = cli_in(&fake, &top, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = one_json(&out);
    assert_eq!(doc["build"]["contextDir"], "sub");
    assert!(paths(&doc["build"]["files"]).contains(&"bot/in_sub_bot.py"));
    std::fs::remove_dir_all(&top).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn allow_secret_uploads_one_file_in_build_context_build_create_and_deploy() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = bot_dir("allow-secret");
    std::fs::write(dir.join("prod.env"), "API_KEY=x\n").unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    let lib = |allow: &[&str]| {
        let mut options = pipecat_api::build_context::ContextOptions::new();
        for path in allow {
            options = options.allow_secret(path);
        }
        pipecat_api::build_context::pack(&dir, &options)
            .unwrap()
            .hash()
            .to_owned()
    };

    // Held back by default, each with its rule.
    let out = cli(&fake, &["build", "context", &dir_arg, "--output", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = one_json(&out);
    assert_eq!(paths(&doc["heldBack"]), ["prod.env", "server.key"]);
    assert_eq!(doc["heldBack"][0]["reason"], "looksLikeSecret");
    assert_eq!(doc["heldBack"][0]["rule"], "name:*.env");
    assert_eq!(doc["heldBack"][1]["rule"], "name:*.key");

    let allow = ["--allow-secret", "prod.env"];
    let mut args = vec!["build", "context", &dir_arg, "--output", "json"];
    args.extend(allow);
    let out = cli(&fake, &args).await;
    let doc = one_json(&out);
    assert!(paths(&doc["files"]).contains(&"prod.env"));
    assert_eq!(paths(&doc["heldBack"]), ["server.key"]);
    assert_eq!(doc["contextHash"], lib(&["prod.env"]));
    assert_ne!(lib(&["prod.env"]), lib(&[]));

    let mut args = vec!["build", "create", &dir_arg, "--output", "json"];
    args.extend(allow);
    let out = cli(&fake, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(one_json(&out)["contextHash"], lib(&["prod.env"]));
    assert!(!stderr(&out).contains("not uploaded: prod.env"));

    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"allow-bot\"\n[build]\n",
    )
    .unwrap();
    let mut args = vec!["deploy", "--dry-run", "--output", "json"];
    args.extend(allow);
    let out = cli_in(&fake, &dir, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = one_json(&out);
    assert!(paths(&doc["build"]["files"]).contains(&"prod.env"));
    assert_eq!(doc["build"]["contextHash"], lib(&["prod.env"]));

    let mut args = vec!["deploy", "--output", "json"];
    args.extend(allow);
    let out = cli_in(&fake, &dir, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(one_json(&out)["build"]["contextHash"], lib(&["prod.env"]));

    // Or in [build] allow_secrets, with the flag adding to it.
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"allow-bot\"\n[build]\nallow_secrets = [\"prod.env\"]\n",
    )
    .unwrap();
    let out = cli_in(&fake, &dir, &["deploy", "--dry-run", "--output", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(one_json(&out)["build"]["contextHash"], lib(&["prod.env"]));
    let args = [
        "deploy",
        "--dry-run",
        "--output",
        "json",
        "--allow-secret",
        "server.key",
    ];
    let out = cli_in(&fake, &dir, &args).await;
    let doc = one_json(&out);
    assert_eq!(
        doc["build"]["contextHash"],
        lib(&["prod.env", "server.key"])
    );
    assert_eq!(doc["build"]["heldBack"], Value::Array(Vec::new()));
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn fifos_where_files_are_expected_are_errors_naming_them_not_hangs() {
    let fake = FakeCloud::start().await.unwrap();
    let mkfifo = |path: &std::path::Path| {
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    };
    // pcc-deploy.toml in the current directory.
    let dir = bot_dir("fifo-config");
    mkfifo(&dir.join("pcc-deploy.toml"));
    let out = tokio::task::spawn_blocking({
        let cmd = command(&fake, &["deploy", "--dry-run"]);
        let dir = dir.clone();
        move || run_bounded(cmd, &dir)
    })
    .await
    .unwrap();
    // Local I/O: exit 1, not 2 ("usage").
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot use pcc-deploy.toml: not a regular file (a FIFO"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(dir.join("pcc-deploy.toml")).unwrap();

    // .dockerignore in the context.
    std::fs::remove_file(dir.join(".dockerignore")).unwrap();
    mkfifo(&dir.join(".dockerignore"));
    let dir_arg = dir.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking({
        let cmd = command(&fake, &["build", "context", &dir_arg]);
        let dir = dir.clone();
        move || run_bounded(cmd, &dir)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".dockerignore: not a regular file (a FIFO"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

// ---- exit codes from the error's type ----

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_disk_error_exits_1_not_2() {
    let fake = FakeCloud::start().await.unwrap();
    // A directory where the `.env` file should be: local I/O, not usage.
    let dir = temp_dir("env-dir");
    let path = dir.to_string_lossy().into_owned();
    let out = cli(
        &fake,
        &[
            "secrets", "set", "disk-set", "--file", &path, "--output", "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = one_json(&out);
    assert_eq!(doc["error"]["kind"], "io", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 1, "{doc}");
    assert_eq!(doc["error"]["path"], path.as_str(), "{doc}");
    // Nothing was sent.
    assert!(
        !fake.requests().iter().any(|r| r.method == "PUT"),
        "{:?}",
        fake.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_wait_that_times_out_exits_3_with_the_last_state() {
    let fake = FakeCloud::start().await.unwrap();
    fake.set_build_reads(1_000_000);
    let id = unread_build(&fake).await;
    let mut cmd = command(&fake, &["build", "logs", &id, "-f", "--output", "json"]);
    cmd.env("PIPECAT_WAIT_TIMEOUT", "0.3");
    let out = common::run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let docs: Vec<Value> = lines(&out)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let failure = docs.last().unwrap();
    assert_eq!(failure["error"]["kind"], "timeout", "{failure}");
    assert_eq!(failure["error"]["exit_code"], 3, "{failure}");
    assert_eq!(failure["error"]["job"], format!("build {id}"), "{failure}");
    assert_eq!(
        failure["error"]["last_state"]["status"], "building",
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn pipecat_wait_timeout_bounds_a_secret_set_wait_and_a_bad_value_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    // The set stays pending far longer than the deadline.
    fake.set_provisioning_reads(1_000_000);
    let mut cmd = command(
        &fake,
        &[
            "secrets", "set", "slow-set", "A=1", "--skip", "--output", "json",
        ],
    );
    cmd.env("PIPECAT_WAIT_TIMEOUT", "0.3");
    let out = common::run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = one_json(&out);
    assert_eq!(doc["error"]["kind"], "timeout", "{doc}");
    assert_eq!(doc["error"]["last_state"]["status"], "pending", "{doc}");

    fake.clear_requests();
    for bad in ["soon", "0", "-5"] {
        let mut cmd = command(&fake, &["secrets", "set", "slow-set", "A=1", "--skip"]);
        cmd.env("PIPECAT_WAIT_TIMEOUT", bad);
        let out = common::run(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("PIPECAT_WAIT_TIMEOUT") && stderr(&out).contains("seconds"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(fake.request_count(), 0, "{:?}", fake.requests());
}
