//! Arguments, the client each command gets, failures and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::context::{Ctx, Settings};
use crate::failure::Failure;
use crate::output::{Format, Output};
use crate::{agent, argv, build, completions, dashboard, deploy, docker, org, secrets};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API or the job failed (the message gives the status, the API's code and what to do)
  2  usage or invalid input, a missing key, or a destructive command not confirmed (nothing sent)
  3  a wait timed out
  130  Ctrl-C stopped a wait (the work goes on on the service; nothing is undone), or a
       cloud build's packing or upload (nothing is sent or built); the message says which.
       `agent logs --follow` ends on Ctrl-C with 0: that is how it is meant to end.
With --output json a failure is also one JSON document on stdout:
  an object `error` with kind, status, code, message, request_id and exit_code.
A reader that stops early (`| head`) ends a command quietly, with 0.

Keys: PIPECAT_API_KEY (private key), PIPECAT_PUBLIC_API_KEY or PIPECAT_DEFAULT_PUBLIC_KEY
(public key, for `agent start`), PIPECAT_API_HOST (default https://api.pipecat.daily.co).
Keys are never printed. PIPECAT_WAIT_TIMEOUT: how long `deploy`, `secrets set/unset` and
`build logs --follow` wait, in seconds (a wait that runs out exits 3).

Example: pipecat-cloud secrets list --output json";

/// Manage Pipecat Cloud agents, secret sets, builds and organization settings.
#[derive(Debug, Parser)]
#[command(name = "pipecat-cloud", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// How to show results: tables for people (`human`, or the official
    /// CLI's `rich`/`plain`), or one JSON document on stdout (`json`).
    /// No short form: `-o` is the official CLI's `--organization`. As there,
    /// $PIPECAT_OUTPUT gives it when the flag is left out.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "PIPECAT_OUTPUT"
    )]
    pub output: Format,
    /// The API host (default: $PIPECAT_API_HOST, else `https://api.pipecat.daily.co`).
    #[arg(long, global = true, value_name = "URL")]
    pub host: Option<String>,
    /// Read the private API key from this file instead of $PIPECAT_API_KEY.
    #[arg(long, global = true, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Read the public API key from this file instead of $PIPECAT_PUBLIC_API_KEY.
    #[arg(long, global = true, value_name = "PATH")]
    pub public_key_file: Option<PathBuf>,
    /// Do not ask before destructive commands (needed when not on a terminal).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// The official CLI's organization choice, refused here: the API key
    /// decides the organization.
    #[arg(long, short = 'o', global = true, value_name = "ORG")]
    pub organization: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy an agent from pcc-deploy.toml and flags, building it in the cloud first if asked.
    #[command(after_help = deploy::HELP)]
    Deploy(Box<deploy::DeployArgs>),
    /// Secret sets and image pull secrets.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Agents, their sessions and logs.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Cloud builds.
    #[command(subcommand)]
    Build(build::BuildCommand),
    /// Regions open to the organization.
    #[command(subcommand)]
    Regions(org::RegionsCommand),
    /// Organization settings.
    #[command(subcommand)]
    Properties(org::PropertiesCommand),
    /// Build the agent's image with the local Docker CLI, tag it and push it
    /// (the official `docker build-push`).
    #[command(subcommand)]
    Docker(docker::DockerCommand),
    /// Print shell completions.
    #[command(
        after_help = "Example: pipecat-cloud completions bash > ~/.local/share/bash-completion/completions/pipecat-cloud"
    )]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// The official CLI's dashboard-only commands: each answers with what to
    /// use instead (exit 2).
    #[command(flatten)]
    DashboardOnly(dashboard::TopLevel),
}

/// Parses the arguments, runs the command and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(argv::official_shorts(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => return parse_failure(&e),
    };
    let out = Output::new(cli.global.output);
    if cli.global.organization.is_some() {
        // Acting on the key's organization while the caller named another
        // would be a silent surprise; the name itself is not echoed.
        let refusal = Failure::Usage(
            "--organization/-o: the API key decides the organization on the REST API; \
             use a key of the organization you mean (PIPECAT_API_KEY or --api-key-file)"
                .into(),
        );
        out.error(&refusal.message());
        return ExitCode::from(refusal.exit_code());
    }
    let ctx = Ctx {
        out,
        yes: cli.global.yes,
        settings: Settings {
            host: cli.global.host,
            api_key_file: cli.global.api_key_file,
            public_key_file: cli.global.public_key_file,
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            out.error(&format!("cannot start: {e}"));
            return ExitCode::from(1);
        }
    };
    let subject = subject(&cli.command);
    match runtime.block_on(run(cli.command, &ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, subject.as_deref(), &out),
    }
}

/// Shows `failure` (stderr; with `--output json` also one document on
/// stdout) and gives its exit code. A closed stdout is quiet.
fn report(failure: &Failure, subject: Option<&str>, out: &Output) -> ExitCode {
    if matches!(failure, Failure::ClosedPipe) {
        return ExitCode::SUCCESS;
    }
    let mut message = failure.message();
    // A 404 says which thing is missing: the library knows the operation,
    // the command line knows the name.
    if let (Failure::Api(e), Some(subject)) = (failure, subject)
        && e.is_not_found()
    {
        message = format!("{subject} was not found: {message}");
    }
    out.error(&message);
    if out.is_json() {
        // One line, so that it also ends a JSON Lines stream (`--follow`)
        // as one more object. Stdout may be gone; the exit code still tells.
        let _ = out.json_line(&failure.document(&message));
    }
    ExitCode::from(failure.exit_code())
}

/// Arguments clap refused (or `--help`/`--version`, which it prints). A
/// refusal is exit 2; with `--output json` among the arguments it is also a
/// JSON document on stdout, as every other failure is.
fn parse_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    }
    let _ = e.print();
    let env_output = std::env::var("PIPECAT_OUTPUT").ok();
    if wants_json(std::env::args().skip(1), env_output.as_deref()) {
        // clap's message is the paragraph before its usage lines.
        let rendered = e.render().to_string();
        let message = rendered
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.trim().trim_start_matches("error: "))
            .collect::<Vec<_>>()
            .join(" ");
        let failure = Failure::Usage(message.clone());
        let _ = Output::new(Format::Json).json_line(&failure.document(&message));
    }
    ExitCode::from(2)
}

/// Whether raw arguments ask for JSON output (`--output json`,
/// `--output=json`), for when clap could not parse them. As when parsing,
/// the last `--output` before `--` wins, and without one `PIPECAT_OUTPUT`
/// (`env_output`) decides.
fn wants_json(args: impl Iterator<Item = String>, env_output: Option<&str>) -> bool {
    let mut flag: Option<String> = None;
    let mut previous_was_flag = false;
    for arg in args {
        if arg == "--" {
            break;
        }
        if previous_was_flag {
            flag = Some(arg.clone());
        } else if let Some(value) = arg.strip_prefix("--output=") {
            flag = Some(value.to_string());
        }
        previous_was_flag = arg == "--output";
    }
    flag.as_deref().or(env_output) == Some("json")
}

/// What a command is about (`agent "nope"`), for naming it in a 404.
fn subject(command: &Command) -> Option<String> {
    match command {
        Command::Agent(c) => agent::subject(c),
        Command::Secrets(c) => secrets::subject(c),
        Command::Build(c) => build::subject(c),
        _ => None,
    }
}

async fn run(command: Command, ctx: &Ctx) -> Result<(), Failure> {
    match command {
        Command::Deploy(args) => deploy::run(*args, ctx).await,
        Command::Secrets(c) => secrets::run(c, ctx).await,
        Command::Agent(c) => agent::run(c, ctx).await,
        Command::Build(c) => build::run(c, ctx).await,
        Command::Regions(c) => org::regions(c, ctx).await,
        Command::Properties(c) => org::properties(c, ctx).await,
        Command::Docker(c) => docker::run(c, ctx).await,
        Command::Completions { shell } => completions::run(shell, Cli::command(), ctx),
        Command::DashboardOnly(c) => Err(c.refusal()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::arguments::key_values;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn secret_arguments_never_show_in_debug() {
        let cli = Cli::try_parse_from([
            "pipecat-cloud",
            "agent",
            "start",
            "a",
            "--api-key",
            "pk-secret-1",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("pk-secret-1"));
        let cli =
            Cli::try_parse_from(["pipecat-cloud", "secrets", "set", "s", "K=sk-secret-2"]).unwrap();
        assert!(!format!("{cli:?}").contains("sk-secret-2"));
        let cli = Cli::try_parse_from([
            "pipecat-cloud",
            "secrets",
            "image-pull-secret",
            "s",
            "h",
            "me:tok-secret-3",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("tok-secret-3"));
    }

    #[test]
    fn a_timeout_is_a_json_document_with_exit_code_3() {
        let agent: pipecat_api::types::ServiceDetailsResponse =
            serde_json::from_value(serde_json::json!({"desiredDeploymentId": "d1"})).unwrap();
        let failure = Failure::Api(pipecat_api::Error::Timeout {
            job: pipecat_api::Job::Rollout {
                agent_name: "my-agent".into(),
                deployment_id: Some("d1".into()),
            },
            waited: std::time::Duration::from_secs(300),
            last: pipecat_api::JobState::Rollout {
                agent: Box::new(agent),
                phase: Some(pipecat_api::deploy::RolloutPhase::WaitingForOperator),
            }
            .into(),
        });
        let doc = failure.document(&failure.message());
        assert_eq!(doc["error"]["kind"], "timeout");
        assert_eq!(doc["error"]["exit_code"], 3);
        assert_eq!(doc["error"]["status"], serde_json::Value::Null);
        assert_eq!(doc["error"]["last_state"]["desiredDeploymentId"], "d1");
        assert!(
            doc["error"]["message"]
                .as_str()
                .unwrap()
                .contains("my-agent"),
            "{doc}"
        );
    }

    #[test]
    fn json_is_wanted_only_when_asked_before_a_double_dash() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants_json(
            args(&["agent", "--output", "json"]).into_iter(),
            None
        ));
        assert!(wants_json(args(&["--output=json", "x"]).into_iter(), None));
        assert!(!wants_json(args(&["agent", "json"]).into_iter(), None));
        assert!(!wants_json(
            args(&["--", "--output", "json"]).into_iter(),
            None
        ));
    }

    #[test]
    fn pipecat_output_counts_like_the_flag_and_the_flag_wins() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants_json(
            args(&["agent", "status"]).into_iter(),
            Some("json")
        ));
        assert!(!wants_json(args(&["agent"]).into_iter(), Some("human")));
        assert!(!wants_json(
            args(&["agent", "--output", "plain"]).into_iter(),
            Some("json")
        ));
        assert!(!wants_json(
            args(&["agent", "--output=human"]).into_iter(),
            Some("json")
        ));
        assert!(wants_json(
            args(&["agent", "--", "--output", "human"]).into_iter(),
            Some("json")
        ));
    }

    #[test]
    fn key_values_never_echo_a_malformed_argument() {
        let args = vec!["A=1".to_string(), "sk-secret".to_string()];
        let Err(Failure::Usage(message)) = key_values(&args, "pair") else {
            panic!("accepted a pair without `=`");
        };
        assert!(message.contains("pair 2"), "{message}");
        assert!(!message.contains("sk-secret"), "{message}");
        let args = vec!["A=1".to_string(), "A=2".to_string()];
        assert!(key_values(&args, "pair").is_err());
        let pairs = key_values(&["A=b=c".to_string()], "pair").unwrap();
        assert_eq!(pairs, vec![("A".to_string(), "b=c".to_string())]);
    }
}
