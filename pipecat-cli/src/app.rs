//! Arguments, the client each command gets, failures and exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
use pipecat_api::{Client, ClientBuilder, ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT};

use crate::output::{Format, Output};
use crate::{agent, build, deploy, org, secrets};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API or the job failed (the message gives the status, the API's code and what to do)
  2  usage or invalid input, a missing key, or a destructive command not confirmed (nothing sent)
  3  a wait timed out
  130  Ctrl-C stopped a wait (the work goes on on the service; nothing is undone), or a
       cloud build's packing or upload (nothing is sent or built); the message says which.
       `agent logs --follow` ends on Ctrl-C with 0: that is how it is meant to end.

Keys: PIPECAT_API_KEY (private key), PIPECAT_PUBLIC_API_KEY or PIPECAT_DEFAULT_PUBLIC_KEY
(public key, for `agent start`), PIPECAT_API_HOST (default https://api.pipecat.daily.co).
Keys are never printed.

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
    /// How to show results: tables for people, or one JSON document on stdout.
    #[arg(long, short = 'o', global = true, value_enum, default_value = "human")]
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy an agent from pcc-deploy.toml and flags, building it in the cloud first if asked.
    #[command(after_help = deploy::HELP)]
    Deploy(deploy::DeployArgs),
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
    /// Print shell completions.
    #[command(
        after_help = "Example: pipecat-cloud completions bash > ~/.local/share/bash-completion/completions/pipecat-cloud"
    )]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// What the library reported (API, transport, refused input, timeout).
    Api(pipecat_api::Error),
    /// Bad arguments or settings; nothing was sent.
    Usage(String),
    /// A destructive command was not confirmed; nothing was sent.
    Refused(String),
    /// Writing the answer failed.
    Internal(String),
    /// Ctrl-C stopped a wait.
    Interrupted(String),
}

impl From<pipecat_api::Error> for Failure {
    fn from(e: pipecat_api::Error) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Api(
                pipecat_api::Error::InvalidRequest { .. } | pipecat_api::Error::Config { .. },
            ) => 2,
            Failure::Api(pipecat_api::Error::Timeout { .. }) => 3,
            Failure::Api(_) | Failure::Internal(_) => 1,
            Failure::Usage(_) | Failure::Refused(_) => 2,
            Failure::Interrupted(_) => 130,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Api(e) => e.to_string(),
            Failure::Usage(m)
            | Failure::Refused(m)
            | Failure::Internal(m)
            | Failure::Interrupted(m) => m.clone(),
        }
    }
}

/// Which key a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The private key: everything but starting sessions.
    Private,
    /// The public key: starting sessions.
    Public,
}

/// What a command runs with: the output and the settings to make a client.
pub struct Ctx {
    pub out: Output,
    pub yes: bool,
    global: Global,
}

impl Ctx {
    /// A client holding the key `key` (and the host), or a usage failure
    /// naming the variable to set. The key's text is never shown.
    pub fn client(&self, key: Key) -> Result<Client, Failure> {
        let mut builder = ClientBuilder::from_env()?
            .user_agent(concat!("pipecat-cloud/", env!("CARGO_PKG_VERSION")));
        if let Some(host) = &self.global.host {
            builder = builder.host(host.clone());
        }
        if let Some(path) = &self.global.api_key_file {
            builder = builder.private_key(read_key(path, "--api-key-file")?);
        }
        if let Some(path) = &self.global.public_key_file {
            builder = builder.public_key(read_key(path, "--public-key-file")?);
        }
        let present = match key {
            Key::Private => self.global.api_key_file.is_some() || env_set(ENV_PRIVATE_KEY),
            Key::Public => {
                self.global.public_key_file.is_some()
                    || env_set(ENV_PUBLIC_KEY)
                    || env_set(ENV_PUBLIC_KEY_ALT)
            }
        };
        if !present {
            return Err(Failure::Usage(match key {
                Key::Private => {
                    format!("no private API key: set {ENV_PRIVATE_KEY} or pass --api-key-file PATH")
                }
                Key::Public => format!(
                    "no public API key (needed to start sessions): set {ENV_PUBLIC_KEY} \
                     (or {ENV_PUBLIC_KEY_ALT}) or pass --public-key-file PATH"
                ),
            }));
        }
        Ok(builder.build()?)
    }
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.to_string_lossy().trim().is_empty())
}

/// The key in `path`, surrounding whitespace removed.
fn read_key(path: &Path, flag: &str) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("{flag} {}: cannot read it: {e}", path.display())))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(Failure::Usage(format!(
            "{flag} {}: the file is empty",
            path.display()
        )));
    }
    Ok(key.to_string())
}

/// Parses the arguments, runs the command and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.global.output);
    let ctx = Ctx {
        out,
        yes: cli.global.yes,
        global: cli.global,
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
    match runtime.block_on(run(cli.command, &ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            out.error(&failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(command: Command, ctx: &Ctx) -> Result<(), Failure> {
    match command {
        Command::Deploy(args) => deploy::run(args, ctx).await,
        Command::Secrets(c) => secrets::run(c, ctx).await,
        Command::Agent(c) => agent::run(c, ctx).await,
        Command::Build(c) => build::run(c, ctx).await,
        Command::Regions(c) => org::regions(c, ctx).await,
        Command::Properties(c) => org::properties(c, ctx).await,
        Command::Completions { shell } => completions(shell, ctx),
    }
}

fn completions(shell: clap_complete::Shell, ctx: &Ctx) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pipecat-cloud", &mut script);
    let script = String::from_utf8_lossy(&script);
    if ctx.out.is_json() {
        ctx.out
            .json(&serde_json::json!({ "shell": shell.to_string(), "script": script }))
    } else {
        ctx.out.line(script.trim_end())
    }
}

/// Splits `KEY=VALUE` arguments. A malformed one is named by position only:
/// it may be a secret typed in the wrong place.
pub fn key_values(args: &[String], what: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(Failure::Usage(format!(
                "{what} {} is not KEY=VALUE (no `=`)",
                i + 1
            )));
        };
        if key.is_empty() {
            return Err(Failure::Usage(format!(
                "{what} {}: the key is empty",
                i + 1
            )));
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(Failure::Usage(format!("{what}: key {key} is given twice")));
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
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
