//! A terminal that helps: completions through the real shells, the join
//! link under a pseudo-terminal, control characters from the service,
//! errors as JSON, messages in words, closed pipes. The built
//! `pipecat-cloud` against a fake Pipecat Cloud on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pipecat_api::types::CreateServiceRequest;
use pipecat_fake::{FakeCloud, Fault, Op};
use serde_json::Value;

mod common;
use common::{BIN, client, one_json, run, stderr, stdout, temp_dir};

/// The binary with the fake's host and both keys, no terminal, not in CI.
fn command(fake: &FakeCloud, args: &[&str]) -> Command {
    // As a person's terminal would have it: not CI, a capable TERM.
    let mut cmd = common::command(fake, args);
    cmd.env_remove("CI").env("TERM", "xterm-256color");
    cmd
}

async fn cli(fake: &FakeCloud, args: &[&str]) -> Output {
    run(command(fake, args)).await
}

/// An agent named `name`, deployed and ready.
async fn ready_agent(fake: &FakeCloud, name: &str) {
    let client = client(fake);
    let body = CreateServiceRequest::builder()
        .service_name(name)
        .image("example/bot:1");
    client.create_service().body(body).send().await.unwrap();
    let quick = pipecat_api::Wait::default()
        .timeout(Duration::from_secs(5))
        .polling(Duration::from_millis(10), Duration::from_millis(50));
    client.wait_agent_ready(name, quick).await.unwrap();
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        println!("skipped: `{name}` is not installed (apt-get install {name})");
    }
    found
}

/// The completion script for `shell`, written to `dir`.
fn script_file(shell: &str, dir: &Path) -> PathBuf {
    let out = Command::new(BIN)
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let path = dir.join(format!("pipecat-cloud.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Runs `program args…` with a deadline, returning stdout.
fn run_shell(program: &Path, args: &[&str], dir: &Path) -> String {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish in 30 s", program.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The two lines of the issue, completed by each shell.
const AGENT: &str = "pipecat-cloud agent ";
const LOGS: &str = "pipecat-cloud agent logs --";

fn assert_completes(shell: &str, agent: &str, logs: &str) {
    for sub in ["list", "logs", "sessions", "start", "stop"] {
        assert!(
            agent.split_whitespace().any(|w| w == sub),
            "{shell}: `{AGENT}<TAB>` does not offer {sub}:\n{agent}"
        );
    }
    for flag in ["--limit", "--deployment", "--help"] {
        assert!(
            logs.split_whitespace().any(|w| w == flag),
            "{shell}: `{LOGS}<TAB>` does not offer {flag}:\n{logs}"
        );
    }
}

/// bash: the function the script registers for `pipecat-cloud` (found via
/// `complete -p`), called as bash's programmable completion calls it, with
/// bash-completion loaded when it is installed.
#[test]
fn bash_completes_past_the_first_word() {
    let Some(bash) = tool("bash") else { return };
    let dir = temp_dir("bash");
    let script = script_file("bash", &dir);
    let driver = format!(
        r#"
[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
. '{}'
complete_line() {{
    local line="$1"
    read -r -a COMP_WORDS <<< "$line"
    [[ "$line" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMP_LINE="$line"; COMP_POINT=${{#line}}
    local spec fn
    spec=$(complete -p pipecat-cloud)
    fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<< "$spec")
    COMPREPLY=()
    "$fn" pipecat-cloud "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
complete_line "{AGENT}"
echo '=== logs'
complete_line "{LOGS}"
"#,
        script.display()
    );
    let driver_path = dir.join("driver.bash");
    std::fs::write(&driver_path, driver).unwrap();
    let out = run_shell(&bash, &["--norc", "--noprofile", "driver.bash"], &dir);
    let (agent, logs) = out.split_once("=== logs").expect("both completions ran");
    assert_completes("bash", agent, logs);
    std::fs::remove_dir_all(&dir).ok();
}

/// zsh: an interactive zsh in a pseudo-terminal (zsh's own zpty) with
/// compinit and the script loaded; the line is typed with a TAB and the
/// listing zsh draws is read back.
#[test]
fn zsh_completes_past_the_first_word() {
    let Some(zsh) = tool("zsh") else { return };
    let dir = temp_dir("zsh");
    let script = script_file("zsh", &dir);
    let driver = format!(
        r#"
zmodload zsh/zpty || exit 3
complete_line() {{
  zpty z zsh -f -i
  zpty -w z 'PS1="> "; autoload -U compinit; compinit -u -D; source {script}; LISTMAX=10000; echo READY'
  zpty -r z out '*READY*'
  zpty -w -n z "$1"$'\t'
  local all="" chunk
  # Read until the listing shows the last candidate expected (at most 20 s
  # on a loaded machine), and a little more for the rest of it.
  for i in {{1..200}}; do
    sleep 0.1
    while zpty -r -t z chunk; do all+="$chunk"; done
    [[ "$all" == *"$2"* ]] && {{ sleep 0.3; while zpty -r -t z chunk; do all+="$chunk"; done; break; }}
  done
  zpty -d z
  print -r -- "${{all//$'\r'/}}"
}}
complete_line '{AGENT}' stop
echo '=== logs'
complete_line '{LOGS}' --since
"#,
        script = script.display()
    );
    let driver_path = dir.join("driver.zsh");
    std::fs::write(&driver_path, driver).unwrap();
    let out = run_shell(&zsh, &["-f", "driver.zsh"], &dir);
    let (agent, logs) = out.split_once("=== logs").expect("both completions ran");
    assert_completes("zsh", agent, logs);
    std::fs::remove_dir_all(&dir).ok();
}

/// fish: `complete -C` prints what fish would offer for a line.
#[test]
fn fish_completes_past_the_first_word() {
    let Some(fish) = tool("fish") else { return };
    let dir = temp_dir("fish");
    let script = script_file("fish", &dir);
    let command = format!(
        "source '{}'; complete -C '{AGENT}'; echo '=== logs'; complete -C '{LOGS}'",
        script.display()
    );
    let out = run_shell(&fish, &["--no-config", "-c", &command], &dir);
    // fish prints `candidate<TAB>description`.
    let words: String = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let (agent, logs) = words.split_once("=== logs").expect("both completions ran");
    assert_completes("fish", agent, logs);
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs the binary under a pseudo-terminal (`script`), stdout included.
async fn under_pty(fake: &FakeCloud, args: &[&str]) -> Option<String> {
    tool("script")?;
    let line = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env("PIPECAT_API_HOST", fake.url())
        .env("PIPECAT_API_KEY", fake.private_key())
        .env("PIPECAT_PUBLIC_API_KEY", fake.public_key())
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null());
    let out = run(script).await;
    assert!(out.status.success(), "{}", stdout(&out));
    Some(stdout(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_join_link_carries_its_token_on_a_terminal_only() {
    let fake = FakeCloud::start().await.unwrap();
    ready_agent(&fake, "talker").await;

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
    let room = json["dailyRoom"].as_str().unwrap().to_string();
    assert!(json["dailyToken"].as_str().is_some_and(|t| !t.is_empty()));

    // On a terminal: the link with `?t=`, clickable (OSC 8) and shown.
    if let Some(shown) = under_pty(&fake, &["agent", "start", "talker", "--use-daily"]).await {
        let link = format!("{room}?t=fake-daily-token-");
        assert!(
            shown.contains(&link),
            "no join link on a terminal:\n{shown}"
        );
        assert!(
            shown.contains(&format!("\x1b]8;;{link}")),
            "not an OSC 8 link:\n{shown:?}"
        );
    }

    // Piped, and in CI, never the token.
    let piped = cli(&fake, &["agent", "start", "talker", "--use-daily"]).await;
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(stdout(&piped).contains(&room), "{}", stdout(&piped));
    assert!(!stdout(&piped).contains("?t="), "{}", stdout(&piped));
    assert!(!stdout(&piped).contains("fake-daily-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn control_characters_in_log_lines_are_shown_not_obeyed() {
    let fake = FakeCloud::start().await.unwrap();
    ready_agent(&fake, "noisy").await;
    fake.seed_logs("noisy", 3);
    let hostile = "title\x1b]0;pwned\x07 clear\x1b[2J back\r\u{9b}31m \u{202e}desrever";
    let arm = |fake: &FakeCloud| {
        fake.fail_next(
            Op::GetLogs,
            1,
            Fault::amend("/logs/0/log", Value::String(hostile.into())),
        );
    };

    arm(&fake);
    let human = cli(&fake, &["agent", "logs", "noisy"]).await;
    assert!(human.status.success(), "{}", stderr(&human));
    let text = stdout(&human);
    assert!(
        text.contains(r"title\x1b]0;pwned\x07 clear\x1b[2J back\x0d\x9b31m \u{202e}desrever"),
        "{text}"
    );
    for raw in ['\x1b', '\x07', '\r', '\u{9b}', '\u{202e}'] {
        assert!(
            !text.contains(raw),
            "{raw:?} reached the terminal: {text:?}"
        );
    }

    // JSON stays exact.
    arm(&fake);
    let json = one_json(&cli(&fake, &["agent", "logs", "noisy", "--output", "json"]).await);
    let logs = json["logs"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["log"] == hostile),
        "the JSON changed the line: {json}"
    );

    // An error message from the service is sanitized too.
    fake.fail_next(
        Op::GetService,
        1,
        Fault::json(
            500,
            serde_json::json!({"error": "boom\x1b[2J", "code": "X"}),
        ),
    );
    let failed = cli(&fake, &["agent", "status", "noisy"]).await;
    assert_eq!(failed.status.code(), Some(1));
    assert!(!stderr(&failed).contains('\x1b'), "{:?}", stderr(&failed));
    assert!(
        stderr(&failed).contains(r"boom\x1b[2J"),
        "{}",
        stderr(&failed)
    );
}

/// The error document every failure gives with `--output json`.
fn error_doc(out: &Output) -> Value {
    let doc = one_json(out);
    let error = doc["error"].clone();
    assert!(error.is_object(), "{doc}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{doc}"
    );
    assert_eq!(
        error["exit_code"].as_i64(),
        out.status.code().map(i64::from),
        "{doc}"
    );
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn failures_with_output_json_are_one_json_document() {
    let fake = FakeCloud::start().await.unwrap();

    // An API error: status, the API's code, and the thing not found named.
    let out = cli(&fake, &["agent", "status", "nope", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = error_doc(&out);
    assert_eq!(e["kind"], "api");
    assert_eq!(e["status"], 404);
    assert_eq!(e["code"], "NOT_FOUND");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("agent \"nope\" was not found"),
        "{e}"
    );
    assert!(stderr(&out).contains("agent \"nope\""), "{}", stderr(&out));

    // A usage error found by the argument parser.
    let out = cli(&fake, &["agent", "status", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(2));
    let e = error_doc(&out);
    assert_eq!(e["kind"], "usage");
    assert_eq!(e["status"], Value::Null);
    assert!(e["message"].as_str().unwrap().contains("<NAME>"), "{e}");

    // A value refused before sending.
    let out = cli(&fake, &["agent", "stop", "a", "nope", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_doc(&out)["kind"], "invalid_request");

    // A wait that times out takes minutes here; its document (kind
    // "timeout", exit code 3) is checked by app.rs's unit test.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn messages_are_in_words_and_refusals_come_before_progress() {
    let fake = FakeCloud::start().await.unwrap();

    let out = cli(&fake, &["secrets", "set", "Bad_Name", "K=V"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "progress before the refusal:\n{err}"
    );
    assert!(err.contains("set_name: use lowercase letters"), "{err}");
    assert!(!err.contains('^') && !err.contains("pattern"), "{err}");

    // A bad .env line is refused before the progress line too.
    let dir = temp_dir("env");
    let env = dir.join(".env");
    std::fs::write(&env, "GOOD=1\nthis line has no equals sign\n").unwrap();
    let mut cmd = command(&fake, &["secrets", "set", "my-set", "--file"]);
    cmd.arg(&env);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "progress before the refusal:\n{err}"
    );
    assert!(err.contains(":2"), "{err}");
    std::fs::remove_dir_all(&dir).ok();

    let out = cli(&fake, &["agent", "stop", "a", "nope"]).await;
    let err = stderr(&out);
    assert!(err.contains("session_id: give a UUID"), "{err}");
    assert!(!err.contains("invalid character"), "{err}");

    let out = cli(&fake, &["build", "status", "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give a UUID"), "{}", stderr(&out));
    assert_eq!(fake.request_count(), 0, "bad input reached the API");

    // "1 key", and keys that were not in the set are named.
    let out = cli(&fake, &["secrets", "set", "my-set", "A=1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("(region us-west, 1 key)"),
        "{}",
        stdout(&out)
    );
    let out = cli(&fake, &["secrets", "unset", "my-set", "A", "GHOST"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GHOST was not in secret set my-set"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("Removed A from"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("GHOST"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_flags_bad_value_is_blamed_on_the_flag() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("flags");
    std::fs::write(
        dir.join("pcc-deploy.toml"),
        "agent_name = \"my-agent\"\nimage = \"example/bot:1\"\n",
    )
    .unwrap();
    let mut cmd = command(&fake, &["deploy", "--secrets", "Bad_Set", "--dry-run"]);
    cmd.current_dir(&dir);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--secrets: "), "{err}");
    assert!(!err.contains("pcc-deploy.toml"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A reader that goes away (`| head`) ends every kind of output quietly.
#[test]
fn a_closed_pipe_is_quiet() {
    for args in [
        &["completions", "zsh"][..],
        &["completions", "bash", "--output", "json"][..],
    ] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the first write.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}
