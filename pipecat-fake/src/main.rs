//! `pipecat-fake [OPTIONS] [ADDR]`: serves a fake Pipecat Cloud until
//! Ctrl-C, for trying pipecat-api, the `pipecat-cloud` CLI (or curl) by
//! hand. ADDR defaults to 127.0.0.1:8787.
//!
//! Every operation is served: agents, sessions (and their proxy), logs,
//! secret sets, builds, properties and regions. State lives in memory and
//! is gone when the fake stops. The options turn on the behaviours people
//! want to watch: slow rollouts, failing deploys and builds, logs that grow.
//! Arguments are read by hand: the library's users do not need a parser.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const HELP: &str = "\
pipecat-fake: a fake Pipecat Cloud in memory, for trying pipecat-cloud and pipecat-api by hand

Usage: pipecat-fake [OPTIONS] [ADDR]

Arguments:
  [ADDR]  Where to listen [default: 127.0.0.1:8787]

Options:
      --slow-rollout N     A deploy takes N status reads to be picked up and N more to be
                           ready (default 1 each); the CLI polls every 0.5-5 s
      --slow-secrets N     A secret set stays `pending` for N reads after a change (default 1)
      --slow-builds N      A cloud build stays `building` for N reads (default 1)
      --fail-deploy REASON The first deploy fails with REASON (ImagePullBackOff). Any image
                           whose name contains `broken` always fails
      --fail-build MESSAGE The first cloud build fails with MESSAGE
      --append-logs SECS   Every SECS seconds, every agent's log gets a new line
                           (for `pipecat-cloud agent logs NAME --follow`)
      --print-env          Print the `export` lines for ADDR and exit, without serving:
                           eval \"$(pipecat-fake --print-env)\" in the shell that runs the CLI
  -h, --help               Print this help

It prints the variables to export; then, in another shell:
  pipecat-cloud deploy my-agent example/bot:1 --yes
  pipecat-cloud agent logs my-agent --follow";

/// What the command line asked for.
#[derive(Debug)]
struct Options {
    addr: SocketAddr,
    slow_rollout: Option<u32>,
    slow_secrets: Option<u32>,
    slow_builds: Option<u32>,
    fail_deploy: Option<String>,
    fail_build: Option<String>,
    append_logs: Option<Duration>,
    print_env: bool,
}

/// The options, `Ok(None)` for `--help`, or the problem with an argument.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
        slow_rollout: None,
        slow_secrets: None,
        slow_builds: None,
        fail_deploy: None,
        fail_build: None,
        append_logs: None,
        print_env: false,
    };
    let mut args = args.into_iter();
    let mut addr_given = false;
    while let Some(arg) = args.next() {
        // `--flag=value` and `--flag value` both work.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let count = |name: &str, text: String| {
            text.parse::<u32>()
                .map_err(|_| format!("{name} {text:?}: give a whole number of reads, e.g. 10"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--print-env" => options.print_env = true,
            "--slow-rollout" => options.slow_rollout = Some(count(&flag, value(&flag)?)?),
            "--slow-secrets" => options.slow_secrets = Some(count(&flag, value(&flag)?)?),
            "--slow-builds" => options.slow_builds = Some(count(&flag, value(&flag)?)?),
            "--fail-deploy" => options.fail_deploy = Some(value(&flag)?),
            "--fail-build" => options.fail_build = Some(value(&flag)?),
            "--append-logs" => {
                let text = value(&flag)?;
                let seconds = text
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.01 && *s <= 86_400.0)
                    .ok_or_else(|| {
                        format!("--append-logs {text:?}: give seconds between 0.01 and 86400")
                    })?;
                options.append_logs = Some(Duration::from_secs_f64(seconds));
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}; see --help"));
            }
            other if !addr_given => {
                options.addr = other
                    .parse()
                    .map_err(|_| format!("`{other}` is not an address like 127.0.0.1:8787"))?;
                addr_given = true;
            }
            other => return Err(format!("unexpected argument `{other}`; see --help")),
        }
    }
    Ok(Some(options))
}

/// The variables that point `pipecat-cloud` (or `Client::from_env`) here.
fn print_env(url: &str, private_key: &str, public_key: &str) {
    println!("export PIPECAT_API_HOST={url}");
    println!("export PIPECAT_API_KEY={private_key}");
    println!("export PIPECAT_PUBLIC_API_KEY={public_key}");
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("pipecat-fake: {problem}");
            return ExitCode::from(2);
        }
    };
    if options.print_env {
        print_env(
            &format!("http://{}", options.addr),
            pipecat_fake::PRIVATE_KEY,
            pipecat_fake::PUBLIC_KEY,
        );
        return ExitCode::SUCCESS;
    }
    let fake = match pipecat_fake::FakeCloud::start_on(options.addr).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("pipecat-fake: cannot listen on {}: {e}", options.addr);
            return ExitCode::FAILURE;
        }
    };
    if let Some(reads) = options.slow_rollout {
        fake.set_agent_operator_reads(reads);
        fake.set_agent_ready_reads(reads);
    }
    if let Some(reads) = options.slow_secrets {
        fake.set_provisioning_reads(reads);
    }
    if let Some(reads) = options.slow_builds {
        fake.set_build_reads(reads);
    }
    if let Some(reason) = &options.fail_deploy {
        fake.fail_next_deploy(reason);
    }
    if let Some(message) = &options.fail_build {
        fake.fail_next_build(message);
    }
    println!("fake Pipecat Cloud at {}", fake.url());
    print_env(&fake.url(), fake.private_key(), fake.public_key());
    println!(
        "try: curl -H \"Authorization: Bearer {}\" {}/v1/regions",
        fake.private_key(),
        fake.url()
    );
    match options.append_logs {
        Some(every) => {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        for agent in fake.agent_names() {
                            fake.append_logs(&agent, 1);
                        }
                    }
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_address_are_read() {
        let o = parse(args(&[
            "127.0.0.1:9000",
            "--slow-rollout",
            "10",
            "--fail-deploy=no pull",
            "--append-logs",
            "0.5",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.addr.port(), 9000);
        assert_eq!(o.slow_rollout, Some(10));
        assert_eq!(o.fail_deploy.as_deref(), Some("no pull"));
        assert_eq!(o.append_logs, Some(Duration::from_millis(500)));
        assert!(parse(args(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn bad_arguments_are_named() {
        for (a, expect) in [
            (&["--slow-rollout", "x"][..], "--slow-rollout"),
            (&["--slow-rollout"][..], "needs a value"),
            (&["--nope"][..], "unknown option --nope"),
            (&["nowhere"][..], "not an address"),
            (&["--append-logs", "0"][..], "--append-logs"),
            (&["127.0.0.1:1", "127.0.0.1:2"][..], "unexpected argument"),
        ] {
            let e = parse(args(a)).unwrap_err();
            assert!(e.contains(expect), "{a:?}: {e}");
        }
    }
}
