//! The official CLI's command lines (pipecatcloud 1.4), taken unchanged,
//! run through the built `pipecat-cloud` against the fake: each must parse
//! and do what it does there. Plus a differential check against the
//! official CLI's own option table (typer, when installed), the
//! dashboard-only commands, `--organization`, and `docker build-push` with a
//! stand-in `docker` on `PATH`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pipecat_api::types::CreateServiceRequest;
use pipecat_fake::{FakeCloud, RecordedRequest};
use serde_json::Value;

mod common;
use common::{run, temp_dir};

fn binary() -> Command {
    Command::new(common::BIN)
}

/// The binary in `dir`, with the fake's host and both keys, no terminal.
fn command(fake: &FakeCloud, dir: &Path, args: &[String]) -> Command {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = common::command(fake, &args);
    cmd.current_dir(dir);
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a command line must do.
enum Want {
    /// Exit 0 and a request of this operation whose query or body holds
    /// every one of these strings.
    Sent(&'static str, &'static [&'static str]),
    /// Exit 0 and no request of this operation (a flag that must not act).
    NotSent(&'static str),
    /// Exit 0 and stdout holding this.
    Prints(&'static str),
    /// Exit 2, nothing sent, stderr holding this.
    Refused(&'static str),
}

/// The official command lines, in the order they run (they share state:
/// the set made first is deleted last). `{session}`, `{build}`,
/// `{deployment}` and `{public}` are filled in; JSON arguments have no
/// spaces, so a line splits on whitespace as a shell would split it.
const LINES: &[(&str, Want)] = &[
    // secrets
    (
        "secrets set my-secrets KEY1=value1 KEY2=value2 --skip --region us-west",
        Want::Sent("upsertSecretSet", &["value1", "us-west"]),
    ),
    (
        "secrets set file-secrets -f .env -s -r us-west",
        Want::Sent("upsertSecretSet", &["from-file", "us-west"]),
    ),
    (
        "secrets set other-secrets --file .env",
        Want::Sent("upsertSecretSet", &["from-file"]),
    ),
    ("secrets list", Want::Prints("my-secrets")),
    ("secrets list my-secrets", Want::Prints("KEY1")),
    ("secrets list --sets", Want::Prints("file-secrets")),
    ("secrets list -s -r us-west", Want::Prints("file-secrets")),
    (
        "secrets list --region us-east",
        Want::NotSent("getSecretSet"),
    ),
    (
        "secrets unset my-secrets KEY2 --skip",
        Want::Sent("deleteSecretFromSet", &["KEY2"]),
    ),
    (
        "secrets unset my-secrets KEY1 -s",
        Want::NotSent("deleteSecretSet"),
    ),
    (
        "secrets image-pull-secret my-pull https://index.docker.io/v1/ alice:tok --skip --region us-west",
        Want::Sent("upsertSecretSet", &["isImagePullSecret", "us-west"]),
    ),
    (
        "secrets image-pull-secret my-pull2 https://index.docker.io/v1/ alice:tok -e -s -r us-west",
        Want::Sent("upsertSecretSet", &["YWxpY2U6dG9r"]),
    ),
    (
        "secrets delete other-secrets --skip",
        Want::Sent("deleteSecretSet", &[]),
    ),
    (
        "secrets delete my-pull2 -s",
        Want::Sent("deleteSecretSet", &[]),
    ),
    // deploy (pcc-deploy.toml names my-agent and its image)
    (
        "deploy my-agent example/bot:2 --credentials my-pull --min-agents 1 --max-agents 30 --secrets file-secrets --force --yes",
        Want::Sent(
            "updateService",
            &["my-pull", "file-secrets", "example/bot:2"],
        ),
    ),
    (
        "deploy my-agent example/bot:3 -c my-pull -min 0 -max 20 -s file-secrets -f -y",
        Want::Sent("updateService", &["\"maxAgents\":20", "example/bot:3"]),
    ),
    (
        "deploy -nc --yes",
        Want::Sent("updateService", &["example/bot:1"]),
    ),
    (
        "deploy --no-credentials --region us-west --profile agent-2x --max-session-duration 600 --krisp-viva-audio-filter tel --architecture arm64 --yes",
        Want::Sent(
            "updateService",
            &["agent-2x", "\"maxSessionDuration\":600", "tel", "arm64"],
        ),
    ),
    (
        "deploy -p agent-1x -r us-west -y",
        Want::Sent("updateService", &["agent-1x"]),
    ),
    (
        "deploy --resources cpu=1,memory=2Gi --yes",
        Want::Sent("updateService", &["\"cpu\":\"1\"", "2Gi"]),
    ),
    (
        "deploy --config-file other.toml --yes",
        Want::Sent("createService", &["other-agent"]),
    ),
    (
        "deploy --build-id {build} --yes",
        Want::Sent("updateService", &["{build}"]),
    ),
    ("deploy -b {build} -f", Want::NotSent("createBuild")),
    // The context `build create ctx --dockerfile Dockerfile.bot` built:
    // its build is reused, so the flags chose that directory and file.
    (
        "deploy --config-file build.toml --build-dir ctx --dockerfile Dockerfile.bot --yes",
        Want::Sent("createService", &["built-agent", "{build}"]),
    ),
    (
        "deploy --config-file build.toml -d ctx --dockerfile Dockerfile.bot -y",
        Want::Sent("updateService", &["built-agent", "{build}"]),
    ),
    // Nothing to deploy and --yes: `.` is built in the cloud, as there.
    (
        "deploy --config-file bare.toml --yes",
        Want::Sent("createService", &["yes-agent", "buildId"]),
    ),
    // agent
    ("agent list", Want::Prints("my-agent")),
    (
        "agent list --region us-west",
        Want::Sent("listServices", &["us-west"]),
    ),
    (
        "agent list -r us-west",
        Want::Sent("listServices", &["region=us-west"]),
    ),
    ("agent status my-agent", Want::Prints("my-agent")),
    (
        "agent start my-agent --force --data {\"lang\":\"en\"}",
        Want::Sent("startService", &["lang"]),
    ),
    (
        "agent start my-agent --use-daily --daily-properties {\"enable_chat\":true} --api-key {public} --force",
        Want::Sent("startService", &["createDailyRoom\":true", "enable_chat"]),
    ),
    (
        "agent start -f -D -p {\"exp\":1} -d {\"x\":1} -k {public}",
        Want::Sent("startService", &["exp", "\"x\":1"]),
    ),
    (
        "agent start --config-file other.toml -f",
        Want::Prints("other-agent"),
    ),
    (
        "agent logs my-agent --level INFO --format JSON --limit 5",
        Want::Sent("getLogs", &["my-agent"]),
    ),
    (
        "agent logs my-agent -l ERROR -f TEXT -n 5",
        Want::NotSent("getSessions"),
    ),
    (
        "agent logs my-agent --deployment {deployment} --session-id {session}",
        Want::Sent("getLogs", &["{deployment}", "{session}"]),
    ),
    (
        "agent logs my-agent -d {deployment} -s {session}",
        Want::Sent("getLogs", &["{deployment}", "{session}"]),
    ),
    ("agent sessions my-agent", Want::Prints("{session}")),
    ("agent sessions", Want::Prints("{session}")),
    ("agent sessions --id {session}", Want::Prints("{session}")),
    (
        "agent sessions my-agent -i {session}",
        Want::Prints("{session}"),
    ),
    (
        "agent sessions my-agent --end-state active",
        Want::Sent("getSessions", &["status=active"]),
    ),
    (
        "agent sessions --config-file other.toml",
        Want::Sent("getSessions", &["other-agent"]),
    ),
    (
        "agent stop my-agent --session-id {session} --force",
        Want::Sent("stopSession", &["{session}"]),
    ),
    (
        "agent stop -s {session} -f",
        Want::Sent("stopSession", &["{session}"]),
    ),
    (
        "agent stop --config-file pcc-deploy.toml --session-id {session}",
        Want::Sent("stopSession", &["my-agent"]),
    ),
    // build
    ("build list", Want::Prints("{build}")),
    (
        "build list --limit 5 --status success --region us-west",
        Want::Sent("listBuilds", &["status=success", "region=us-west"]),
    ),
    (
        "build list -n 1 -s success -r us-west",
        Want::Sent("listBuilds", &["status=success"]),
    ),
    ("build status {build}", Want::Prints("{build}")),
    ("build logs {build}", Want::Sent("getBuildLogs", &[])),
    (
        "build logs {build} --limit 10",
        Want::Sent("getBuildLogs", &["limit=10"]),
    ),
    (
        "build logs {build} -n 10",
        Want::Sent("getBuildLogs", &["limit=10"]),
    ),
    // regions, output modes
    ("regions list", Want::Prints("us-west")),
    ("--output json regions list", Want::Prints("\"regions\"")),
    ("--output plain agent list", Want::Prints("my-agent")),
    ("--output rich secrets list", Want::Prints("file-secrets")),
    // the key decides the organization
    (
        "agent list --organization other-org",
        Want::Refused("the API key decides the organization"),
    ),
    (
        "deploy -o other-org --yes",
        Want::Refused("the API key decides the organization"),
    ),
    // last: deletions
    (
        "agent delete other-agent --force",
        Want::Sent("deleteService", &[]),
    ),
    (
        "agent delete built-agent -f",
        Want::Sent("deleteService", &[]),
    ),
    (
        "agent delete yes-agent -f",
        Want::Sent("deleteService", &[]),
    ),
    (
        "secrets delete file-secrets -s",
        Want::Sent("deleteSecretSet", &[]),
    ),
];

fn sent_text(r: &RecordedRequest) -> String {
    format!(
        "{} {} {}",
        r.path,
        r.query.as_deref().unwrap_or(""),
        text(&r.body)
    )
}

/// A bot directory: deploy settings, another agent's settings, a build
/// context, a `.env`.
fn project(fake: &FakeCloud) -> PathBuf {
    let _ = fake;
    let dir = temp_dir("project");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"my-agent\"\nimage = \"example/bot:1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("other.toml"),
        "agent_name = \"other-agent\"\nimage = \"example/other:1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("build.toml"),
        "agent_name = \"built-agent\"\n[build]\ncontext_dir = \".\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("bare.toml"), "agent_name = \"yes-agent\"\n").unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM python:3.12\n").unwrap();
    std::fs::create_dir_all(dir.join("ctx")).unwrap();
    std::fs::write(dir.join("ctx/Dockerfile.bot"), "FROM python:3.12\n").unwrap();
    std::fs::write(dir.join("ctx/bot.py"), "print('hi')\n").unwrap();
    std::fs::write(dir.join(".env"), "FROM_FILE=from-file\n").unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_official_command_line_works_unchanged() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = project(&fake);
    let client = pipecat_api::Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .build()
        .unwrap();
    client
        .create_service()
        .body(
            CreateServiceRequest::builder()
                .service_name("my-agent")
                .image("example/bot:1"),
        )
        .send()
        .await
        .unwrap();
    let quick = pipecat_api::Wait::default()
        .timeout(std::time::Duration::from_secs(5))
        .polling(
            std::time::Duration::from_millis(10),
            std::time::Duration::from_millis(50),
        );
    client.wait_agent_ready("my-agent", quick).await.unwrap();
    fake.seed_logs("my-agent", 20);

    // A session, a build and a deployment id for the lines that name one.
    let start = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        command(&fake, &dir, &args)
    };
    let out = run(start(&["agent", "start", "my-agent", "--output", "json"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let session = serde_json::from_slice::<Value>(&out.stdout).unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(start(&[
        "build",
        "create",
        "ctx",
        "--dockerfile",
        "Dockerfile.bot",
    ]))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(start(&["build", "list", "--output", "json"])).await;
    let build = serde_json::from_slice::<Value>(&out.stdout).unwrap()["builds"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(start(&["agent", "status", "my-agent", "--output", "json"])).await;
    let deployment = serde_json::from_slice::<Value>(&out.stdout).unwrap()["activeDeploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    let fill = |s: &str| {
        s.replace("{session}", &session)
            .replace("{build}", &build)
            .replace("{deployment}", &deployment)
            .replace("{public}", fake.public_key())
    };

    let mut failures = Vec::new();
    for (line, want) in LINES {
        let line = fill(line);
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if line.contains("--credentials my-pull") {
            // The deploy waits for its `secret_set`, not for the image pull
            // secret made a few lines up; the service refuses a pending one.
            // (An image pull secret is not readable by name: listed until ready.)
            for _ in 0..100 {
                let list = client.list_secret_sets().send().await.unwrap();
                let ready = list.sets.iter().any(|set| {
                    set.name.as_deref() == Some("my-pull")
                        && set
                            .status
                            .as_ref()
                            .is_some_and(|s| s.to_string() == "ready")
                });
                if ready {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        fake.clear_requests();
        let out = run(command(&fake, &dir, &args)).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let requests = fake.requests();
        let of = |op: &str| {
            requests
                .iter()
                .filter(|r| r.operation.as_deref() == Some(op))
                .map(sent_text)
                .collect::<Vec<_>>()
        };
        let ok = out.status.success();
        let problem = match want {
            Want::Sent(op, needles) => {
                let needles: Vec<String> = needles.iter().map(|n| fill(n)).collect();
                let sent = of(op);
                if !ok {
                    Some(format!("exit {:?}: {stderr}", out.status.code()))
                } else if !sent
                    .iter()
                    .any(|s| needles.iter().all(|n| s.contains(n.as_str())))
                {
                    Some(format!("no {op} holding {needles:?}; sent {sent:?}"))
                } else {
                    None
                }
            }
            Want::NotSent(op) => {
                if !ok {
                    Some(format!("exit {:?}: {stderr}", out.status.code()))
                } else if !of(op).is_empty() {
                    Some(format!("sent {op}"))
                } else {
                    None
                }
            }
            Want::Prints(needle) => {
                let needle = fill(needle);
                if !ok {
                    Some(format!("exit {:?}: {stderr}", out.status.code()))
                } else if !stdout.contains(&needle) {
                    Some(format!("stdout lacks {needle:?}: {stdout}"))
                } else {
                    None
                }
            }
            Want::Refused(needle) => {
                if out.status.code() != Some(2) {
                    Some(format!("exit {:?}, not 2", out.status.code()))
                } else if !requests.is_empty() {
                    Some("a request was sent".into())
                } else if !stderr.contains(needle) || stderr.contains("other-org") {
                    Some(format!("stderr: {stderr}"))
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("`{line}`: {problem}"));
        }
    }
    println!(
        "{} of {} official command lines work unchanged",
        LINES.len() - failures.len(),
        LINES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn level_and_format_filter_and_shape_log_lines_as_the_official_cli_does() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = project(&fake);
    let client = pipecat_api::Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .build()
        .unwrap();
    client
        .create_service()
        .body(
            CreateServiceRequest::builder()
                .service_name("my-agent")
                .image("example/bot:1"),
        )
        .send()
        .await
        .unwrap();
    fake.seed_logs("my-agent", 5);
    let args = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    // JSON: one {"timestamp","log"} object per line.
    let out = run(command(
        &fake,
        &dir,
        &args("agent logs my-agent -f JSON -n 5"),
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["log"].is_string())
    );
    // The fake's lines name no level: each is INFO, none CRITICAL.
    let out = run(command(
        &fake,
        &dir,
        &args("agent logs my-agent -l info -n 5"),
    ))
    .await;
    assert_eq!(
        text(&out.stdout).lines().count(),
        5,
        "{}",
        text(&out.stdout)
    );
    let out = run(command(
        &fake,
        &dir,
        &args("agent logs my-agent -l CRITICAL"),
    ))
    .await;
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).lines().count(),
        0,
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_git_source_is_refused_at_once_even_in_a_dry_run() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("git");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"a\"\n[git]\nrepo = \"me/bot\"\nbranch = \"main\"\n",
    )
    .unwrap();
    for line in [
        "deploy --dry-run",
        "deploy --yes",
        "deploy b img:1 --repo me/bot --branch main --yes",
    ] {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let out = run(command(&fake, &dir, &args)).await;
        assert_eq!(out.status.code(), Some(2), "{line}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("cannot deploy from a GitHub source"),
            "{line}: {}",
            text(&out.stderr)
        );
        // Said at once: no progress line before it.
        assert_eq!(text(&out.stderr).trim().lines().count(), 1, "{line}");
    }
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn dashboard_only_commands_answer_in_one_line_with_exit_2() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("dashboard");
    for (line, hint) in [
        ("auth login", "PIPECAT_API_KEY"),
        ("auth whoami --help", "PIPECAT_API_KEY"),
        ("organizations list", "properties"),
        ("organizations keys create", "dashboard"),
        ("github connect", "build-push"),
        ("spend-limit set 100", "dashboard"),
        ("agent link my-agent --repo a/b --branch main", "build-push"),
        ("agent unlink my-agent -f", "build-push"),
        ("agent deploy my-agent --github --wait", "build-push"),
        ("agent deployments my-agent", "agent status"),
        ("agent profiles list", "--profile"),
        ("agent scale", "--min-agents"),
        (
            "regions register r1 --workloads-namespace n",
            "regions list",
        ),
        ("regions show r1", "regions list"),
        ("secrets reference my-k8s-secret -r r1", "secrets set"),
    ] {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let out = run(command(&fake, &dir, &args)).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(stderr.contains("REST API"), "{line}: {stderr}");
        assert!(stderr.contains(hint), "{line}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{line}: {stderr}");
    }
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Old spellings that now mean what the official CLI means by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn short_flags_mean_what_they_mean_in_the_official_cli() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("shorts");
    let run_line = |line: &str| {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        run(command(&fake, &dir, &args))
    };
    // `-o json` is an organization named json, refused; not JSON output.
    let out = run_line("regions list -o json").await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // PIPECAT_OUTPUT gives the output mode, as there; the flag wins.
    let mut cmd = command(&fake, &dir, &["regions".into(), "list".into()]);
    cmd.env("PIPECAT_OUTPUT", "json");
    let out = run(cmd).await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["regions"].is_array(), "{json}");
    let mut cmd = command(
        &fake,
        &dir,
        &["regions", "list", "--output", "plain"].map(String::from),
    );
    cmd.env("PIPECAT_OUTPUT", "json");
    let out = run(cmd).await;
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_err());
    assert!(text(&out.stdout).contains("us-west"));
    fake.clear_requests();
    // `-f` on agent logs takes a format; `--follow` has no short form.
    let out = run_line("agent logs a -f").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // `-c` on deploy is --credentials: it takes a set name, not a file.
    let out = run_line("deploy a img:1 -c my-pull --dry-run --output json").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("my-pull"),
        "{}",
        text(&out.stdout)
    );
    // `-min`/`-max` as the official CLI reads them, not `-m -i -n`.
    let out = run_line("deploy a img:1 -min 2 -max 4 -nc --dry-run --output json").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    let scaling = body["deploy"].to_string();
    assert!(scaling.contains("\"minAgents\":2"), "{scaling}");
    assert!(scaling.contains("\"maxAgents\":4"), "{scaling}");
    assert_eq!(writes(&fake), 0, "a dry run or a refusal only reads");
    std::fs::remove_dir_all(&dir).ok();
}

/// A bad value is blamed on its flag, and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn bad_flag_values_name_the_flag_and_send_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("bad-values");
    for (line, blamed) in [
        ("agent sessions a --end-state completed", "--end-state"),
        ("agent sessions a --id nope", "--id"),
        ("agent stop a", "--session-id"),
        ("agent start a -p {\"x\":1}", "--daily-properties"),
        ("agent start a -D -p [1]", "--daily-properties"),
        ("deploy a i:1 --resources cpu=1", "--resources"),
        ("deploy a i:1 --resources gpu=1,memory=1Gi", "--resources"),
        ("deploy a --build-id not-a-uuid", "--build-id"),
        ("deploy a i:1 --max-agents 0", "--max-agents"),
        ("deploy a i:1 --architecture x86", "--architecture"),
        ("build list --status done", "--status"),
        (
            "build logs 0b8e6f6e-1f6e-4c8e-9d43-6f1c1c1c1c1c -n 0",
            "--limit",
        ),
        ("agent logs a -l LOUD", "--level"),
        ("agent sessions", "AGENT_NAME"),
    ] {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let out = run(command(&fake, &dir, &args)).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(stderr.contains(blamed), "{line}: {stderr}");
    }
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// A sizing flag replaces the file's other sizing, as the official CLI's does.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn profile_and_resources_flags_replace_the_files_other_sizing() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("sizing");
    std::fs::write(
        dir.join("res.toml"),
        "agent_name = \"a\"\nimage = \"i:1\"\n[resources]\ncpu = \"1\"\nmemory = \"1Gi\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("prof.toml"),
        "agent_name = \"a\"\nimage = \"i:1\"\nagent_profile = \"agent-2x\"\n",
    )
    .unwrap();
    let body = |line: &str| {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let out = command(&fake, &dir, &args).output().unwrap();
        assert!(out.status.success(), "{line}: {}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["deploy"].clone()
    };
    let b = body("deploy --config-file res.toml -p agent-1x --dry-run --output json");
    assert_eq!(b["agentProfile"], "agent-1x", "{b}");
    assert!(b.get("resources").is_none(), "{b}");
    let b =
        body("deploy --config-file prof.toml --resources cpu=2,memory=4Gi --dry-run --output json");
    assert_eq!(b["resources"]["memory"], "4Gi", "{b}");
    assert!(b.get("agentProfile").is_none(), "{b}");
    // Both flags at once: refused, as there.
    let out = command(
        &fake,
        &dir,
        &[
            "deploy",
            "a",
            "i:1",
            "-p",
            "agent-1x",
            "--resources",
            "cpu=1,memory=1Gi",
        ]
        .map(String::from),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(writes(&fake), 0, "a dry run or a refusal only reads");
    std::fs::remove_dir_all(&dir).ok();
}

// ---- the official CLI's own parser and option table (differential) ----

/// Parses each argv (a JSON list of lists on stdin) with the official CLI's
/// own parser, running nothing; prints the ones it refuses, with why.
const TYPER_PARSE: &str = r#"
import json, sys
import typer
from pipecatcloud.cli.entry_point import entrypoint_cli_typer as app
root = typer.main.get_command(app)
bad = []
for argv in json.load(sys.stdin):
    try:
        ctx = root.make_context("pcc", list(argv))
        cmd = root
        while hasattr(cmd, "resolve_command"):
            rest = list(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []) + list(ctx.args)
            if not rest:
                break
            name, cmd, rest = cmd.resolve_command(ctx, rest)
            ctx = cmd.make_context(name, rest, parent=ctx)
    except Exception as e:
        bad.append([" ".join(argv), f"{type(e).__name__}: {e}"])
print(json.dumps(bad))
"#;

/// Runs `python3 -c script` with `stdin`, or says why it cannot.
fn official_python(script: &str, stdin: &str) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            println!("skipped: no {python} to run the official CLI ({e})");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        println!(
            "skipped: the official CLI (pipecatcloud) is not importable by {python}: {}",
            text(&out.stderr).lines().last().unwrap_or("")
        );
        return None;
    }
    Some(out.stdout)
}

/// The table holds official command lines: the official CLI's own parser
/// takes every one of them.
#[test]
fn the_table_is_the_official_grammar() {
    let argvs: Vec<Vec<String>> = LINES
        .iter()
        .map(|(line, _)| {
            line.replace("{session}", "3f1c8a2e-0000-4000-8000-000000000001")
                .replace("{build}", "0b8e6f6e-1f6e-4c8e-9d43-6f1c1c1c1c1c")
                .replace("{deployment}", "d-1")
                .replace("{public}", "pk_x")
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .collect();
    let Some(out) = official_python(TYPER_PARSE, &serde_json::to_string(&argvs).unwrap()) else {
        return;
    };
    let bad: Vec<Value> = serde_json::from_slice(&out).unwrap();
    println!(
        "{} of {} lines parsed by the official CLI",
        argvs.len() - bad.len(),
        argvs.len()
    );
    assert!(bad.is_empty(), "not official: {bad:#?}");
}

/// Prints, for each REST-reachable official command, its path and every
/// option's names, whether it is a flag, and a valid sample value.
const TYPER_DUMP: &str = r#"
import enum, json, sys, typing
import typer
from pipecatcloud.cli.entry_point import entrypoint_cli_typer as app
root = typer.main.get_command(app)
wanted = [
    ["secrets", "set"], ["secrets", "unset"], ["secrets", "list"], ["secrets", "delete"],
    ["secrets", "image-pull-secret"], ["deploy"], ["agent", "list"], ["agent", "status"],
    ["agent", "logs"], ["agent", "sessions"], ["agent", "start"], ["agent", "stop"],
    ["agent", "delete"], ["build", "list"], ["build", "status"], ["build", "logs"],
    ["regions", "list"], ["docker", "build-push"],
]
out = []
for path in wanted:
    cmd = root
    for word in path:
        cmd = cmd.commands[word]
    opts = []
    for p in cmd.params:
        if getattr(p, "hidden", False) or "Option" not in type(p).__name__:
            continue
        names = [n for n in list(p.opts) + list(p.secondary_opts) if n != "--help"]
        if not names:
            continue
        # This typer keeps the annotation, not a click type: read the sample from it.
        kind = getattr(getattr(p, "type_descriptor", None), "annotation", None)
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if args:
            kind = args[0]
        sample = "x"
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            sample = list(kind)[0].value
        elif getattr(p, "min", None) is not None:
            sample = str(p.min)
        elif kind is int:
            sample = "1"
        opts.append({"names": names, "flag": bool(p.is_flag), "sample": str(sample)})
    out.append({"path": path, "options": opts})
print(json.dumps(out))
"#;

/// Values our parser checks more strictly than the official one (which
/// takes any string there); valid in both.
fn sample_for(name: &str, official: &str) -> String {
    match name {
        "--status" | "-s" if official == "x" => "success".into(),
        "--architecture" => "arm64".into(),
        "--build-id" | "-b" => "0b8e6f6e-1f6e-4c8e-9d43-6f1c1c1c1c1c".into(),
        "--data" | "-d" | "--daily-properties" | "-p" if official == "x" => "{}".into(),
        _ => official.to_string(),
    }
}

#[test]
fn every_option_the_official_cli_lists_is_accepted_here() {
    let Some(dumped) = official_python(TYPER_DUMP, "") else {
        return;
    };
    let commands: Vec<Value> = serde_json::from_slice(&dumped).unwrap();
    assert_eq!(commands.len(), 18, "every REST-reachable official command");
    let mut checked = 0;
    let mut failures = Vec::new();
    for command in &commands {
        let path: Vec<String> = command["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        for option in command["options"].as_array().unwrap() {
            let flag = option["flag"].as_bool().unwrap();
            let official_sample = option["sample"].as_str().unwrap();
            for name in option["names"].as_array().unwrap() {
                let name = name.as_str().unwrap();
                let mut args = path.clone();
                args.push(name.to_string());
                if !flag {
                    args.push(sample_for(name, official_sample));
                }
                // `--help` after it: parsed, then help, exit 0; an option we
                // lack is an error (exit 2) before help is reached.
                args.push("--help".into());
                let out = binary().args(&args).stdin(Stdio::null()).output().unwrap();
                checked += 1;
                if !out.status.success() {
                    failures.push(format!(
                        "`{}`: {}",
                        args.join(" "),
                        text(&out.stderr).lines().next().unwrap_or("")
                    ));
                }
            }
        }
    }
    println!("{checked} official option spellings checked");
    assert!(checked > 80, "only {checked} options listed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- docker build-push with a stand-in docker ----

/// A `docker` that records its arguments, one call a line, and answers
/// `version` as a running daemon would (or not, with `DOCKER_DOWN`).
#[cfg(unix)]
fn fake_docker(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("docker-calls.log");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = version ] && [ -n \"$DOCKER_DOWN\" ]; then\n\
           echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\n\
           exit 1\n\
         fi\n\
         echo \"$*\" >> '{}'\n\
         echo 'step 1/2: ok'\n",
        log.display()
    );
    let docker = bin.join("docker");
    std::fs::write(&docker, script).unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, log)
}

#[cfg(unix)]
fn docker_cmd(dir: &Path, bin: &Path, line: &str) -> Command {
    let mut cmd = binary();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.args(line.split_whitespace())
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("DOCKER_DOWN")
        .stdin(Stdio::null());
    cmd
}

#[cfg(unix)]
#[test]
fn docker_build_push_builds_for_the_agents_architecture_tags_and_pushes() {
    let dir = temp_dir("docker");
    let (bin, log) = fake_docker(&dir);
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"my-agent\"\narchitecture = \"amd64\"\n\
         [docker]\nregistry = \"dockerhub\"\nregistry_username = \"alice\"\n",
    )
    .unwrap();
    let calls = |log: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        std::fs::remove_file(log).ok();
        text.lines()
            .filter(|l| !l.starts_with("version"))
            .map(str::to_string)
            .collect()
    };

    // The official line, values from [docker]: build, then push both tags.
    let out = docker_cmd(&dir, &bin, "docker build-push --version 1.0 --yes")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        calls(&log),
        [
            "buildx build --platform=linux/amd64 --load -t alice/my-agent:1.0 -t alice/my-agent:latest .",
            "push alice/my-agent:1.0",
            "push alice/my-agent:latest",
        ]
    );
    // The build's own output goes to stderr; stdout says what was done.
    assert!(text(&out.stderr).contains("step 1/2"));
    assert!(text(&out.stdout).contains("alice/my-agent:1.0"));

    // Flags over the file: a custom registry, no latest.
    let out = docker_cmd(
        &dir,
        &bin,
        "docker build-push other -r custom -u bob --registry-url reg.io -v 2 --no-latest -y",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        calls(&log),
        [
            "buildx build --platform=linux/amd64 --load -t reg.io/bob/other:2 .",
            "push reg.io/bob/other:2",
        ]
    );

    // --no-push: the agent's name as the repository, nothing pushed.
    let out = docker_cmd(&dir, &bin, "docker build-push --no-push -y")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        calls(&log),
        ["buildx build --platform=linux/amd64 --load -t my-agent:latest ."]
    );

    // No terminal and no --yes: refused before docker runs.
    let out = docker_cmd(&dir, &bin, "docker build-push -v 3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(calls(&log).is_empty());

    // The daemon down: said so, with what to do; nothing built.
    let out = docker_cmd(&dir, &bin, "docker build-push -y")
        .env("DOCKER_DOWN", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("daemon is not running"), "{stderr}");
    assert!(stderr.contains("start Docker"), "{stderr}");
    assert!(calls(&log).is_empty());

    // Docker missing: said so.
    let mut cmd = binary();
    cmd.args(["docker", "build-push", "-y"])
        .current_dir(&dir)
        .env("PATH", dir.join("empty-path"))
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`docker` command was not found"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The real docker CLI (installed here without a daemon), when present:
/// the daemon check names the problem.
#[test]
fn with_the_real_docker_cli_and_no_daemon_the_error_says_so() {
    let has_docker = Command::new("docker")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_docker {
        println!("skipped: no docker CLI on PATH");
        return;
    }
    let daemon_up = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if daemon_up {
        println!("skipped: a Docker daemon is running here");
        return;
    }
    let dir = temp_dir("real-docker");
    std::fs::write(dir.join("pcc-deploy.toml"), "agent_name = \"a\"\n").unwrap();
    let out = binary()
        .args(["docker", "build-push", "--no-push", "--yes"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("daemon is not running"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Requests that could change something (all but GET): a dry run reads the
/// live agent for its plan, and nothing else.
fn writes(fake: &FakeCloud) -> usize {
    fake.requests().iter().filter(|r| r.method != "GET").count()
}
