//! `deploy`: from `pcc-deploy.toml` and flags, a cloud build first when
//! asked, then the deploy, waiting for the rollout and showing its phases.

use std::path::{Path, PathBuf};

use pipecat_api::build_context::ContextOptions;
use pipecat_api::cloud_build::CloudBuild;
use pipecat_api::deploy::{DeployEvent, DeployOptions};
use pipecat_api::deploy_config::{BuildSettings, DEPLOY_CONFIG_FILE, DeployConfig, config_dir};
use serde_json::{Value, json};

use crate::app::{Ctx, Failure, Key};
use crate::build::{context_json, pack_context, run_cloud_build, warn_held_back};
use crate::output::Cell;
use crate::progress::{Progress, interruptible};

/// `deploy --help`'s closing text.
pub const HELP: &str = "\
Settings come from pcc-deploy.toml in the current directory (or --config FILE); AGENT_NAME,
IMAGE and the flags override it. With --build, or when the file has a [build] table and no
image or build_id, the [build] context is built in the cloud first and its build id
deployed: context_dir (default `.`) is relative to the pcc-deploy.toml that names it, the
Dockerfile relative to the context. Files that look like credentials are not uploaded
unless named with --allow-secret or in [build] allow_secrets = [\"PATH\", ...]. Every value is
checked before anything is sent; an error names the file, the line and the field.

Example: pipecat-cloud deploy
Example: pipecat-cloud deploy my-agent my-registry/my-agent:1.2 --secrets my-secrets --min-agents 1
Example: pipecat-cloud deploy --build --dry-run --output json";

/// `deploy`'s arguments (the official CLI's grammar).
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The agent's name (default: `agent_name` in the config).
    pub agent_name: Option<String>,
    /// The image to run, with its tag or digest (default: `image` in the config).
    #[arg(conflicts_with = "build")]
    pub image: Option<String>,
    /// The deploy settings file (default: ./pcc-deploy.toml, if it exists).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Build the image in the cloud first from the `[build]` context (default: `.`).
    #[arg(long)]
    pub build: bool,
    /// Upload this secret-looking file of the build context anyway (its path
    /// relative to the context); may be repeated.
    #[arg(long, value_name = "PATH")]
    pub allow_secret: Vec<PathBuf>,
    /// The secret set whose keys become the bot's environment.
    #[arg(long, short = 's', value_name = "SET")]
    pub secrets: Option<String>,
    /// The region (of a new agent, and of its build).
    #[arg(long)]
    pub region: Option<String>,
    /// Agents kept warm without sessions.
    #[arg(long, value_name = "N")]
    pub min_agents: Option<u32>,
    /// The most sessions at once.
    #[arg(long, value_name = "N")]
    pub max_agents: Option<u32>,
    /// The named CPU and memory size, e.g. `agent-1x`.
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// Redeploy even when nothing changed (to pull a moved tag or new secret values).
    #[arg(long)]
    pub force: bool,
    /// Check everything and show what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The config: the file (when there is one), then the arguments over it,
/// checked. Sends nothing.
fn load(args: &DeployArgs) -> Result<DeployConfig, Failure> {
    let default = Path::new(DEPLOY_CONFIG_FILE);
    let path = match &args.config {
        Some(path) => Some(path.as_path()),
        // `symlink_metadata`: a FIFO or dangling link there is reported by
        // from_file, which opens regular files only, rather than skipped.
        None if default.symlink_metadata().is_ok() => Some(default),
        None => None,
    };
    let file = path.map(DeployConfig::from_file).transpose()?;
    let mut config = match (file, &args.agent_name) {
        (Some(config), Some(name)) if config.agent_name() != name => {
            config.with_agent_name(name.clone())
        }
        (Some(config), _) => config,
        (None, Some(name)) => DeployConfig::new(name.clone()),
        (None, None) => {
            return Err(Failure::Usage(format!(
                "no agent to deploy: give AGENT_NAME, or run where {DEPLOY_CONFIG_FILE} is, \
                 or pass --config FILE"
            )));
        }
    };
    if args.build && config.image().is_some() {
        // The build's image replaces the one in the file.
        config = config.without_image();
    }
    if let Some(image) = &args.image {
        config = config.with_image(image.clone());
    }
    if let Some(set) = &args.secrets {
        config = config.with_secret_set(set.clone());
    }
    if let Some(region) = &args.region {
        config = config.with_region(region.clone());
    }
    if let Some(n) = args.min_agents {
        config = config.with_min_agents(n);
    }
    if let Some(n) = args.max_agents {
        config = config.with_max_agents(n);
    }
    if let Some(profile) = &args.profile {
        config = config.with_agent_profile(profile.clone());
    }
    if args.build && config.build().is_none() {
        // Like a `[build]` table in the file: relative to the file.
        let settings = match path {
            Some(path) => BuildSettings::new().with_base_dir(config_dir(path)),
            None => BuildSettings::new(),
        };
        config = config.with_build(settings);
    }
    config.validate()?;
    config.check_source()?;
    if args.build && config.build_id().is_some() {
        return Err(Failure::Usage(
            "--build: the config names a build_id already; remove it to build anew".into(),
        ));
    }
    Ok(config)
}

/// The `[build]` settings when this deploy builds first.
fn build_settings(config: &DeployConfig) -> Option<BuildSettings> {
    if config.image().is_some() || config.build_id().is_some() {
        return None;
    }
    config.build().cloned()
}

/// The packing options of `[build]` and `--allow-secret`.
fn context_options(build: &BuildSettings, allow_secret: &[PathBuf]) -> ContextOptions {
    let mut options = ContextOptions::new().dockerfile(build.dockerfile());
    for pattern in build.exclude_patterns() {
        options = options.exclude(pattern.clone());
    }
    for path in build.allow_secrets() {
        options = options.allow_secret(path);
    }
    for path in allow_secret {
        options = options.allow_secret(path);
    }
    options
}

/// What a deploy of `config` would send: the library's own create body,
/// so the dry run cannot drift from the real request.
fn planned(config: &DeployConfig) -> Result<Value, Failure> {
    let request = config.create_request()?;
    serde_json::to_value(request)
        .map_err(|e| Failure::Internal(format!("cannot show the request: {e}")))
}

pub async fn run(args: DeployArgs, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    let mut config = load(&args)?;
    let build = build_settings(&config);

    if args.dry_run {
        return dry_run(&config, build.as_ref(), &args.allow_secret, ctx);
    }

    let client = ctx.client(Key::Private)?;
    let mut build_json = Value::Null;
    if let Some(settings) = &build {
        let mut job = CloudBuild::new(settings.context_path()).dockerfile(settings.dockerfile());
        for pattern in settings.exclude_patterns() {
            job = job.exclude(pattern.clone());
        }
        for path in settings.allow_secrets() {
            job = job.allow_secret(path);
        }
        for path in &args.allow_secret {
            job = job.allow_secret(path);
        }
        if let Some(region) = config.region() {
            job = job.region(region);
        }
        let finished = run_cloud_build(&client, job).await?;
        if !out.is_json() {
            let cached = if finished.cached() { " (reused)" } else { "" };
            eprintln!(
                "Build {} succeeded{cached}; context {}.",
                finished.build_id(),
                finished.context_hash()
            );
        }
        build_json = json!({
            "buildId": finished.build_id(),
            "contextHash": finished.context_hash(),
            "cached": finished.cached(),
        });
        config = config.with_build_id(finished.build_id());
    }

    let name = config.agent_name().to_string();
    let progress = Progress::new();
    progress.phase(&format!("deploying agent {name}"));
    let shown = progress.clone();
    let options = DeployOptions::default().with_force_redeploy(args.force);
    let job = client.deploy_with_progress(&config, options, move |event| match event {
        DeployEvent::WaitingForSecretSet { set_name } => {
            shown.phase(&format!("waiting for secret set {set_name} to be ready"));
        }
        DeployEvent::Submitted {
            deployment_id,
            created,
            ..
        } => {
            let verb = if *created { "created" } else { "updated" };
            shown.phase(&format!("{verb} agent {name}: deployment {deployment_id}"));
        }
        DeployEvent::Phase(phase) => shown.phase(&format!("rollout: {phase}")),
        DeployEvent::Done { deployment_id } => {
            shown.phase(&format!("rollout: deployment {deployment_id} is ready"));
        }
        _ => {}
    });
    let name = config.agent_name();
    let deployed = interruptible(
        job,
        &progress,
        &format!("the rollout goes on; see `pipecat-cloud agent status {name}`"),
    )
    .await?;
    if out.is_json() {
        return out.json(&json!({
            "agentName": name,
            "deploymentId": deployed.deployment_id,
            "created": deployed.created,
            "build": build_json,
            "agent": deployed.agent,
        }));
    }
    let verb = if deployed.created {
        "Created"
    } else {
        "Updated"
    };
    out.line(&format!(
        "{verb} agent {name}: deployment {} is ready.",
        deployed.deployment_id
    ))
}

/// `--dry-run`: the checked config, the build context that would be
/// uploaded (packed here, not sent) and the body that would be sent.
fn dry_run(
    config: &DeployConfig,
    build: Option<&BuildSettings>,
    allow_secret: &[PathBuf],
    ctx: &Ctx,
) -> Result<(), Failure> {
    let out = &ctx.out;
    let mut build_json = Value::Null;
    let mut build_rows: Vec<(&str, Cell)> = Vec::new();
    if let Some(settings) = build {
        let context_dir = settings.context_path();
        let packed = pack_context(&context_dir, &context_options(settings, allow_secret))?;
        if !out.is_json() {
            warn_held_back(packed.held_back(), &Progress::new());
        }
        let (files, held_back) = context_json(packed.files(), packed.held_back());
        build_json = json!({
            "contextDir": context_dir.display().to_string(),
            "dockerfile": settings.dockerfile(),
            "region": config.region(),
            "contextHash": packed.hash(),
            "files": files,
            "heldBack": held_back,
            "compressedBytes": packed.compressed_bytes(),
        });
        build_rows = vec![
            (
                "Cloud build",
                Cell::new(format!(
                    "{} ({})",
                    context_dir.display(),
                    settings.dockerfile()
                )),
            ),
            ("Context hash", Cell::new(packed.hash())),
            (
                "Context",
                Cell::new(format!(
                    "{} files, {} bytes compressed, {} held back",
                    packed.files().len(),
                    packed.compressed_bytes(),
                    packed.held_back().len()
                )),
            ),
        ];
    }
    let body = planned(config)?;
    if out.is_json() {
        return out.json(&json!({
            "dryRun": true,
            "agentName": config.agent_name(),
            "build": build_json,
            "deploy": body,
        }));
    }
    out.line(&format!(
        "Dry run: nothing sent. Deploying agent {} would:",
        config.agent_name()
    ))?;
    if build.is_some() {
        out.line(
            "  - upload this context and build it in the cloud (the build id goes in buildId):",
        )?;
        out.fields(&build_rows)?;
    }
    out.line("  - create the agent, or update it if it exists, with:")?;
    let text = serde_json::to_string_pretty(&body)
        .map_err(|e| Failure::Internal(format!("cannot show the request: {e}")))?;
    out.line(&text)
}
