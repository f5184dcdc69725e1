//! `docker build-push`: the official CLI's local image build, by running the
//! `docker` CLI as a child process: build for the agent's architecture, tag
//! `REPO:VERSION` (and `REPO:latest`), push both.
//!
//! Values come from the flags, then from `image` in `pcc-deploy.toml`
//! (`user/agent:1.0` is Docker Hub, `host/user/agent:1.0` a custom
//! registry), then from its `[docker]` table, as in the official CLI.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::{Subcommand, ValueEnum};
use pipecat_api::deploy_config::{DEPLOY_CONFIG_FILE, DeployConfig};
use serde_json::json;

use crate::confirm::confirm;
use crate::context::Ctx;
use crate::failure::Failure;

#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Build the agent's image with Docker, tag it and push it.
    #[command(after_help = "\
Runs `docker buildx build --platform=linux/ARCH --load -t REPO:VERSION -t REPO:latest .`
(ARCH: `architecture` in pcc-deploy.toml, default arm64), then `docker push` for each tag.
REPO is USER/AGENT on Docker Hub, URL/USER/AGENT on a custom registry, AGENT with --no-push.

Example: pipecat-cloud docker build-push my-agent -r dockerhub -u alice -v 1.2 --yes
Example: pipecat-cloud docker build-push --no-push   (values from pcc-deploy.toml)")]
    BuildPush(BuildPushArgs),
}

/// `docker build-push`'s arguments (the official CLI's).
#[derive(Debug, clap::Args)]
pub struct BuildPushArgs {
    /// The agent's name (default: from `image`, else `agent_name`, in pcc-deploy.toml).
    pub agent_name: Option<String>,
    /// The deploy settings file (default: ./pcc-deploy.toml, if it exists).
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// The registry kind to push to.
    #[arg(long, short = 'r', value_enum)]
    pub registry: Option<Registry>,
    /// The registry user name.
    #[arg(long, short = 'u', value_name = "USER")]
    pub username: Option<String>,
    /// The registry host of a custom registry.
    #[arg(long, value_name = "HOST")]
    pub registry_url: Option<String>,
    /// The version tag (default: from `image`, else `latest`).
    #[arg(long, short = 'v')]
    pub version: Option<String>,
    /// Build and tag only; push nothing.
    #[arg(long)]
    pub no_push: bool,
    /// Do not tag (or push) `latest`.
    #[arg(long)]
    pub no_latest: bool,
}

/// `--registry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registry {
    /// Docker Hub: `USER/AGENT`.
    Dockerhub,
    /// Another registry: `URL/USER/AGENT`.
    Custom,
}

/// What `image = "…"` says: `[registry_url/]user/agent[:version]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct ParsedImage {
    registry: Option<Registry>,
    registry_url: Option<String>,
    username: Option<String>,
    agent: Option<String>,
    version: Option<String>,
}

fn parse_image(image: &str) -> ParsedImage {
    let parts: Vec<&str> = image.split('/').collect();
    let mut parsed = ParsedImage::default();
    let repo_and_tag = match parts.as_slice() {
        [user, repo] => {
            parsed.registry = Some(Registry::Dockerhub);
            parsed.username = Some((*user).to_string());
            *repo
        }
        [url, user, repo] => {
            parsed.registry = Some(Registry::Custom);
            parsed.registry_url = Some((*url).to_string());
            parsed.username = Some((*user).to_string());
            *repo
        }
        _ => image,
    };
    match repo_and_tag.split_once(':') {
        Some((agent, version)) => {
            parsed.agent = Some(agent.to_string());
            parsed.version = Some(version.to_string());
        }
        None => {
            parsed.agent = Some(repo_and_tag.to_string());
            parsed.version = Some("latest".into());
        }
    }
    parsed
}

/// The docker commands to run, worked out from the arguments and the config.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    agent: String,
    platform: String,
    tags: Vec<String>,
    push: bool,
}

fn plan(args: &BuildPushArgs, config: Option<&DeployConfig>) -> Result<Plan, Failure> {
    let parsed = config
        .and_then(DeployConfig::get_image)
        .map(parse_image)
        .unwrap_or_default();
    let docker = config.and_then(DeployConfig::get_docker);
    let agent = args
        .agent_name
        .clone()
        .or(parsed.agent)
        .or_else(|| config.map(|c| c.get_agent_name().to_string()))
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "docker build-push: no agent name: give AGENT_NAME, or run where \
                 {DEPLOY_CONFIG_FILE} is, or pass --config-file FILE"
            ))
        })?;
    let registry = match args.registry.or(parsed.registry) {
        Some(r) => Some(r),
        None => match docker.and_then(|d| d.get_registry()) {
            None => None,
            Some("dockerhub") => Some(Registry::Dockerhub),
            Some("custom") => Some(Registry::Custom),
            Some(other) => {
                return Err(Failure::Usage(format!(
                    "[docker] registry {other:?}: must be dockerhub or custom"
                )));
            }
        },
    };
    let username = args.username.clone().or(parsed.username).or_else(|| {
        docker
            .and_then(|d| d.get_registry_username())
            .map(str::to_string)
    });
    let registry_url = args
        .registry_url
        .clone()
        .or(parsed.registry_url)
        .or_else(|| {
            docker
                .and_then(|d| d.get_registry_url())
                .map(str::to_string)
        });
    let version = args
        .version
        .clone()
        .or(parsed.version)
        .unwrap_or_else(|| "latest".into());
    let latest = !args.no_latest && docker.is_none_or(|d| d.get_auto_latest());

    let repo = if args.no_push {
        agent.clone()
    } else {
        let registry = registry.ok_or_else(|| {
            Failure::Usage(
                "docker build-push: which registry? pass --registry/-r dockerhub|custom, \
                 or set [docker] registry in pcc-deploy.toml (or --no-push)"
                    .into(),
            )
        })?;
        let username = username.ok_or_else(|| {
            Failure::Usage(
                "docker build-push: which registry user? pass --username/-u, \
                 or set [docker] registry_username in pcc-deploy.toml"
                    .into(),
            )
        })?;
        match registry {
            Registry::Dockerhub => format!("{username}/{agent}"),
            Registry::Custom => {
                let url = registry_url.ok_or_else(|| {
                    Failure::Usage(
                        "docker build-push: a custom registry needs --registry-url \
                         (or [docker] registry_url in pcc-deploy.toml)"
                            .into(),
                    )
                })?;
                format!("{url}/{username}/{agent}")
            }
        }
    };
    let mut tags = vec![format!("{repo}:{version}")];
    if latest && version != "latest" {
        tags.push(format!("{repo}:latest"));
    }
    let arch = config
        .and_then(DeployConfig::get_architecture)
        .unwrap_or("arm64");
    Ok(Plan {
        agent,
        platform: format!("linux/{arch}"),
        tags,
        push: !args.no_push,
    })
}

/// The config file named, or ./pcc-deploy.toml when it exists.
fn load(args: &BuildPushArgs) -> Result<Option<DeployConfig>, Failure> {
    crate::deploy::read_config(args.config_file.as_deref())
}

/// Runs `docker ARGS`, its output on our stderr (stdout is for results).
fn docker(args: &[String]) -> Result<(), Failure> {
    let status = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(not_started)?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Internal(format!(
            "`docker {}` failed ({status})",
            args.join(" ")
        )))
    }
}

fn not_started(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::NotFound {
        Failure::Usage(
            "docker build-push: the `docker` command was not found on PATH; install Docker \
             (https://docs.docker.com/get-docker/), or build in the cloud with \
             `pipecat-cloud deploy --build`"
                .into(),
        )
    } else {
        Failure::Internal(format!("cannot run docker: {e}"))
    }
}

/// Fails early, with what to do, when the Docker daemon does not answer.
fn check_daemon() -> Result<(), Failure> {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .map_err(not_started)?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let first = said
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no answer");
    Err(Failure::Usage(format!(
        "docker build-push: the Docker daemon is not running or not reachable ({}); \
         start Docker (Docker Desktop, or `sudo systemctl start docker`) and try again",
        first.trim()
    )))
}

pub async fn run(command: DockerCommand, ctx: &Ctx) -> Result<(), Failure> {
    let DockerCommand::BuildPush(args) = command;
    let config = load(&args)?;
    let plan = plan(&args, config.as_ref())?;
    let out = &ctx.out;
    if !out.is_json() {
        crate::output::to_stderr(&format!(
            "Agent {}: building for {}, tags {}; {}",
            plan.agent,
            plan.platform,
            plan.tags.join(", "),
            if plan.push { "then pushing" } else { "no push" }
        ));
    }
    confirm("build the image", ctx.yes)?;
    check_daemon()?;
    let mut build = vec![
        "buildx".to_string(),
        "build".into(),
        format!("--platform={}", plan.platform),
        "--load".into(),
    ];
    for tag in &plan.tags {
        build.push("-t".into());
        build.push(tag.clone());
    }
    build.push(".".into());
    docker(&build)?;
    if plan.push {
        for tag in &plan.tags {
            docker(&["push".to_string(), tag.clone()])?;
        }
    }
    if out.is_json() {
        return out.json(&json!({
            "agentName": plan.agent,
            "platform": plan.platform,
            "tags": plan.tags,
            "pushed": plan.push,
        }));
    }
    let verb = if plan.push {
        "Built and pushed"
    } else {
        "Built"
    };
    out.line(&format!("{verb} {}.", plan.tags.join(", ")))?;
    if plan.push
        && let Some(first) = plan.tags.first()
    {
        out.note(&format!(
            "To deploy it: image = \"{first}\" in pcc-deploy.toml, then `pipecat-cloud deploy`."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn args() -> BuildPushArgs {
        BuildPushArgs {
            agent_name: None,
            config_file: None,
            registry: None,
            username: None,
            registry_url: None,
            version: None,
            no_push: false,
            no_latest: false,
        }
    }

    #[test]
    fn image_names_parse_as_the_official_cli_reads_them() {
        let hub = parse_image("alice/bot:0.5");
        assert_eq!(hub.registry, Some(Registry::Dockerhub));
        assert_eq!(hub.username.as_deref(), Some("alice"));
        assert_eq!(hub.agent.as_deref(), Some("bot"));
        assert_eq!(hub.version.as_deref(), Some("0.5"));
        let custom = parse_image("reg.example.com/alice/bot");
        assert_eq!(custom.registry, Some(Registry::Custom));
        assert_eq!(custom.registry_url.as_deref(), Some("reg.example.com"));
        assert_eq!(custom.version.as_deref(), Some("latest"));
        assert_eq!(parse_image("bot:1").registry, None);
    }

    #[test]
    fn flags_beat_the_image_which_beats_the_docker_table() {
        let config = DeployConfig::from_toml_str(
            "agent_name = \"a\"\nimage = \"alice/bot:0.5\"\narchitecture = \"amd64\"\n\
             [docker]\nregistry = \"custom\"\nregistry_username = \"carol\"\nregistry_url = \"r.io\"\n",
            "pcc-deploy.toml",
        )
        .unwrap();
        let plan_ = plan(&args(), Some(&config)).unwrap();
        assert_eq!(plan_.tags, ["alice/bot:0.5", "alice/bot:latest"]);
        assert_eq!(plan_.platform, "linux/amd64");
        let mut a = args();
        a.username = Some("bob".into());
        a.version = Some("2".into());
        a.no_latest = true;
        assert_eq!(plan(&a, Some(&config)).unwrap().tags, ["bob/bot:2"]);

        let only_docker = DeployConfig::from_toml_str(
            "agent_name = \"a\"\n[docker]\nregistry = \"custom\"\nregistry_username = \"carol\"\n\
             registry_url = \"r.io\"\nauto_latest = false\n",
            "pcc-deploy.toml",
        )
        .unwrap();
        let p = plan(&args(), Some(&only_docker)).unwrap();
        assert_eq!(p.tags, ["r.io/carol/a:latest"]);
        assert_eq!(p.platform, "linux/arm64");
    }

    #[test]
    fn pushing_needs_a_registry_and_a_user_but_no_push_does_not() {
        let mut a = args();
        a.agent_name = Some("bot".into());
        let Err(Failure::Usage(m)) = plan(&a, None) else {
            panic!("planned a push without a registry")
        };
        assert!(m.contains("--registry"), "{m}");
        a.registry = Some(Registry::Dockerhub);
        assert!(plan(&a, None).is_err());
        a.no_push = true;
        let p = plan(&a, None).unwrap();
        assert_eq!(p.tags, ["bot:latest"]);
        assert!(!p.push);
    }
}
