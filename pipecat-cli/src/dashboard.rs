//! The official CLI's commands that exist only on the dashboard API (login,
//! organizations, GitHub, spend limits, profiles, self-hosted regions).
//!
//! The REST API this tool speaks has none of them, so each answers with one
//! line saying so and what to use instead, and exits 2 (nothing sent). They
//! are hidden from help: they are here so a script written for the official
//! CLI gets a reason, not "unrecognized subcommand".

use clap::Subcommand;

use crate::failure::Failure;

/// Whatever followed the command word: taken and ignored.
#[derive(Debug, clap::Args)]
pub struct Rest {
    #[arg(
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        hide = true
    )]
    rest: Vec<String>,
}

/// Top-level dashboard-only commands.
#[derive(Debug, Subcommand)]
pub enum TopLevel {
    /// Official: log in (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Auth(Rest),
    /// Official: organizations, their keys and properties (dashboard API).
    #[command(hide = true, disable_help_flag = true, alias = "organization")]
    Organizations(Rest),
    /// Official: GitHub connections (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Github(Rest),
    /// Official: spend limits (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    SpendLimit(Rest),
}

impl TopLevel {
    /// The one-line refusal.
    pub fn refusal(&self) -> Failure {
        Failure::Usage(
            match self {
                TopLevel::Auth(_) => {
                    "auth: the REST API has no login; it takes API keys: set PIPECAT_API_KEY \
                     (and PIPECAT_PUBLIC_API_KEY to start sessions) or pass --api-key-file"
                }
                TopLevel::Organizations(_) => {
                    "organizations: the REST API works in the organization of its API key and \
                     has no organization commands; use `pipecat-cloud properties get|set` for \
                     its settings, the dashboard for keys and members"
                }
                TopLevel::Github(_) => GITHUB,
                TopLevel::SpendLimit(_) => {
                    "spend-limit: the REST API has no spend limit; set it in the dashboard"
                }
            }
            .into(),
        )
    }
}

/// `agent …` dashboard-only commands.
#[derive(Debug, Subcommand)]
pub enum AgentOnly {
    /// Official: link an agent to a GitHub repository (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Link(Rest),
    /// Official: unlink an agent's GitHub repository (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Unlink(Rest),
    /// Official: deploy an agent from GitHub (dashboard API).
    #[command(hide = true, disable_help_flag = true, name = "deploy")]
    GithubDeploy(Rest),
    /// Official: an agent's deployment history (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Deployments(Rest),
    /// Official: agent profiles (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Profiles(Rest),
    /// Official: a placeholder pointing at deploy.
    #[command(hide = true, disable_help_flag = true)]
    Scale(Rest),
}

impl AgentOnly {
    /// The one-line refusal.
    pub fn refusal(&self) -> Failure {
        Failure::Usage(
            match self {
                AgentOnly::Link(_) | AgentOnly::Unlink(_) | AgentOnly::GithubDeploy(_) => GITHUB,
                AgentOnly::Deployments(_) => {
                    "agent deployments: the REST API lists no deployment history; \
                     `pipecat-cloud agent status NAME` shows the active deployment"
                }
                AgentOnly::Profiles(_) => {
                    "agent profiles: the REST API cannot manage agent profiles; \
                     `pipecat-cloud deploy --profile NAME` deploys with one"
                }
                AgentOnly::Scale(_) => {
                    "agent scale: the REST API scales an agent through its deploy: \
                     `pipecat-cloud deploy --min-agents N --max-agents N` (or [scaling] in \
                     pcc-deploy.toml)"
                }
            }
            .into(),
        )
    }
}

/// `regions …` dashboard-only commands (self-hosted regions).
#[derive(Debug, Subcommand)]
pub enum RegionsOnly {
    /// Official: register a self-hosted region (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Register(Rest),
    /// Official: show a self-hosted region (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Show(Rest),
    /// Official: delete a self-hosted region (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Delete(Rest),
    /// Official: a self-hosted region's enrollment token (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    EnrollToken(Rest),
}

impl RegionsOnly {
    /// The one-line refusal.
    pub fn refusal(&self) -> Failure {
        Failure::Usage(
            "regions: the REST API cannot manage self-hosted regions (the dashboard does); \
             `pipecat-cloud regions list` lists the regions open to you"
                .into(),
        )
    }
}

/// `secrets reference`: a Kubernetes Secret in a self-hosted region.
#[derive(Debug, Subcommand)]
pub enum SecretsOnly {
    /// Official: reference a Kubernetes Secret (dashboard API).
    #[command(hide = true, disable_help_flag = true)]
    Reference(Rest),
}

impl SecretsOnly {
    /// The one-line refusal.
    pub fn refusal(&self) -> Failure {
        Failure::Usage(
            "secrets reference: the REST API cannot reference a Kubernetes Secret; \
             store the values with `pipecat-cloud secrets set NAME KEY=VALUE…`"
                .into(),
        )
    }
}

const GITHUB: &str = "github: the REST API cannot build or deploy from a GitHub repository; \
     build the image with `pipecat-cloud docker build-push` or `pipecat-cloud deploy --build`, \
     then deploy it";
