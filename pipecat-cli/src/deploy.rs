//! `deploy`: from `pcc-deploy.toml` and flags, a cloud build first when
//! asked, then the deploy, waiting for the rollout and showing its phases.

use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};

use pipecat_api::build_context::CancelToken;
use pipecat_api::cloud_build::CloudBuild;
use pipecat_api::deploy::{DeployEvent, DeployOptions};
use pipecat_api::deploy_config::{
    BuildSettings, DEPLOY_CONFIG_FILE, DeployConfig, Resources, config_dir,
};
use pipecat_api::deploy_plan::{DeployPlan, PlanAction, PlanValue};
use pipecat_api::uuid::Uuid;
use serde_json::{Value, json};

use crate::build::{Stage, build_phase, pack_context, until_second_ctrl_c, warn_held_back};
use crate::confirm::confirm_naming;
use crate::context::{Ctx, Key};
use crate::failure::Failure;
use crate::output::Cell;
use crate::plan;
use crate::progress::{Progress, ctrl_c};

/// `deploy --help`'s closing text.
pub const HELP: &str = "\
Settings come from pcc-deploy.toml in the current directory (or --config-file FILE); AGENT_NAME,
IMAGE and the flags override it. With --build, or when the file has a [build] table and no
image or build_id, the [build] context is built in the cloud first and its build id
deployed: context_dir (default `.`) is relative to the pcc-deploy.toml that names it, the
Dockerfile relative to the context; --build-dir/-d (relative to the current directory) and
--dockerfile override them. With --yes or --force and nothing to deploy, the current
directory is built, as the official CLI does. Files that look like credentials are not
uploaded unless named with --allow-secret or in [build] allow_secrets = [\"PATH\", ...].
Every value is checked before anything is sent; an error names the file, the line and the
field. A GitHub source ([git], --repo) is refused: the REST API cannot deploy one.
The official CLI's -min, -max and -nc are taken as --min-agents, --max-agents and
--no-credentials.

Example: pipecat-cloud deploy
Example: pipecat-cloud deploy my-agent my-registry/my-agent:1.2 -s my-secrets -c my-pull-secret -min 1
Example: pipecat-cloud deploy --build --dry-run --output json";

/// `deploy`'s arguments: the official CLI's grammar, plus `--build` and
/// `--dry-run`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The agent's name (default: `agent_name` in the config).
    pub agent_name: Option<String>,
    /// The image to run, with its tag or digest (default: `image` in the config).
    #[arg(conflicts_with_all = ["build", "build_id"])]
    pub image: Option<String>,
    /// The deploy settings file (default: ./pcc-deploy.toml, if it exists).
    /// No short form: `-c` is `--credentials`.
    #[arg(long = "config-file", visible_alias = "config", value_name = "FILE")]
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
    /// The image pull secret for a private image.
    #[arg(long, short = 'c', value_name = "SET")]
    pub credentials: Option<String>,
    /// Deploy without an image pull secret (the official CLI asks for one
    /// otherwise; this one never does, so this changes nothing, and a
    /// pull secret given too is still used, as there).
    #[arg(long)]
    pub no_credentials: bool,
    /// The region (of a new agent, and of its build).
    #[arg(long, short = 'r')]
    pub region: Option<String>,
    /// Agents kept warm without sessions (official short form: -min).
    #[arg(long, value_name = "N")]
    pub min_agents: Option<u32>,
    /// The most sessions at once (official short form: -max).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_agents: Option<u32>,
    /// The named CPU and memory size, e.g. `agent-1x` (replaces the file's `[resources]`).
    #[arg(long, short = 'p', value_name = "P")]
    pub profile: Option<String>,
    /// Explicit sizing for self-hosted regions, `cpu=Q,memory=Q` (e.g.
    /// `cpu=2,memory=4Gi`; replaces the file's `agent_profile`).
    #[arg(long, value_name = "cpu=Q,memory=Q", conflicts_with = "profile")]
    pub resources: Option<String>,
    /// The Krisp VIVA audio filter model: `tel` or `pro`.
    #[arg(long, value_name = "MODEL")]
    pub krisp_viva_audio_filter: Option<String>,
    /// The CPU architecture the image is built for.
    #[arg(long, value_parser = ["amd64", "arm64"])]
    pub architecture: Option<String>,
    /// The longest a session may run, in seconds (60-14400).
    #[arg(long, value_name = "SECONDS")]
    pub max_session_duration: Option<u32>,
    /// The cloud build's context directory (replaces `[build] context_dir`).
    #[arg(long, short = 'd', value_name = "DIR")]
    pub build_dir: Option<String>,
    /// The cloud build's Dockerfile (replaces `[build] dockerfile`).
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<String>,
    /// Deploy this existing cloud build (its id) instead of an image.
    #[arg(long, short = 'b', value_name = "ID", conflicts_with = "build")]
    pub build_id: Option<String>,
    /// Redeploy even when nothing changed (to pull a moved tag or new secret values).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Check everything and show what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Official GitHub source: refused (the REST API cannot deploy one).
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: Option<String>,
    /// Official GitHub source: refused (the REST API cannot deploy one).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Official GitHub source: refused (the REST API cannot deploy one).
    #[arg(long, value_name = "PATH")]
    pub dockerfile_path: Option<String>,
    /// Official GitHub source: refused (the REST API cannot deploy one).
    #[arg(long, value_name = "DIR")]
    pub subdirectory: Option<String>,
}

/// The deploy settings file a command reads (`deploy`, `agent`,
/// `docker`): `given` (`--config-file`), else `./pcc-deploy.toml` when
/// there is one, else none. `symlink_metadata`: a FIFO or dangling link
/// there is reported by [`DeployConfig::from_file`], which opens regular
/// files only, rather than skipped.
pub fn find_config(given: Option<&Path>) -> Option<PathBuf> {
    let default = Path::new(DEPLOY_CONFIG_FILE);
    match given {
        Some(path) => Some(path.to_path_buf()),
        None if default.symlink_metadata().is_ok() => Some(default.to_path_buf()),
        None => None,
    }
}

/// The deploy settings [`find_config`] finds, read and checked as a file.
pub fn read_config(given: Option<&Path>) -> Result<Option<DeployConfig>, Failure> {
    Ok(find_config(given)
        .map(DeployConfig::from_file)
        .transpose()?)
}

/// Why a GitHub source is refused, at once, before anything else.
const NO_GIT: &str = "the REST API cannot deploy from a GitHub source; build the image \
    (`pipecat-cloud deploy --build`, or `pipecat-cloud docker build-push`) and deploy it \
    (`image`, `build_id` or a `[build]` table)";

/// `--resources cpu=Q,memory=Q`.
fn parse_resources(text: &str) -> Result<Resources, Failure> {
    let bad = |why: &str| Failure::Usage(format!("--resources {text:?}: {why}"));
    let (mut cpu, mut memory) = (None, None);
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(bad(
                "give cpu=QUANTITY,memory=QUANTITY, e.g. cpu=2,memory=4Gi",
            ));
        };
        let slot = match key.trim() {
            "cpu" => &mut cpu,
            "memory" => &mut memory,
            _ => return Err(bad("the keys are cpu and memory")),
        };
        if slot.replace(value.trim().to_string()).is_some() {
            return Err(bad("a key is given twice"));
        }
    }
    match (cpu, memory) {
        (Some(cpu), Some(memory)) => Ok(Resources::new(cpu, memory)),
        _ => Err(bad("needs both cpu and memory, e.g. cpu=2,memory=4Gi")),
    }
}

/// The config: the file (when there is one), then the arguments over it,
/// checked. Sends nothing. `auto_yes` (`--yes` or `--force`) with nothing to
/// deploy builds `.` in the cloud, as the official CLI does in CI.
fn load(args: &DeployArgs, auto_yes: bool) -> Result<DeployConfig, Failure> {
    if args.repo.is_some()
        || args.branch.is_some()
        || args.dockerfile_path.is_some()
        || args.subdirectory.is_some()
    {
        return Err(Failure::Usage(format!(
            "--repo/--branch/--dockerfile-path/--subdirectory: {NO_GIT}"
        )));
    }
    let path = find_config(args.config.as_deref());
    let path = path.as_deref();
    let file = path.map(DeployConfig::from_file).transpose()?;
    // A `[git]` table is refused by `check_source` below, with its line.
    let mut config = match (file, &args.agent_name) {
        (Some(config), Some(name)) if config.get_agent_name() != name => {
            config.agent_name(name.clone())
        }
        (Some(config), _) => config,
        (None, Some(name)) => DeployConfig::new(name.clone()),
        (None, None) => {
            return Err(Failure::Usage(format!(
                "no agent to deploy: give AGENT_NAME, or run where {DEPLOY_CONFIG_FILE} is, \
                 or pass --config-file FILE"
            )));
        }
    };
    if (args.build || args.build_id.is_some()) && config.get_image().is_some() {
        // The build's image replaces the one in the file.
        config = config.without_image();
    }
    if let Some(image) = &args.image {
        config = config.image(image.clone());
    }
    if let Some(id) = &args.build_id {
        let id = Uuid::parse_str(id.trim()).map_err(|e| {
            Failure::Usage(format!("--build-id {id:?} is not a build id (a UUID): {e}"))
        })?;
        config = config.build_id(id);
    }
    if let Some(set) = &args.secrets {
        config = config.secret_set(set.clone());
    }
    if let Some(set) = &args.credentials {
        config = config.image_credentials(set.clone());
    }
    if let Some(region) = &args.region {
        config = config.region(region.clone());
    }
    if let Some(n) = args.min_agents {
        config = config.min_agents(n);
    }
    if let Some(n) = args.max_agents {
        config = config.max_agents(n);
    }
    if let Some(profile) = &args.profile {
        config = config.without_resources().agent_profile(profile.clone());
    }
    if let Some(resources) = &args.resources {
        config = config
            .without_agent_profile()
            .resources(parse_resources(resources)?);
    }
    if let Some(filter) = &args.krisp_viva_audio_filter {
        config = config.krisp_audio_filter(filter.clone());
    }
    if let Some(architecture) = &args.architecture {
        config = config.architecture(architecture.clone());
    }
    if let Some(seconds) = args.max_session_duration {
        config = config.max_session_duration(seconds);
    }
    if args.build_dir.is_some() || args.dockerfile.is_some() {
        let mut build = config
            .get_build()
            .cloned()
            .unwrap_or_else(BuildSettings::new);
        if let Some(dir) = &args.build_dir {
            // A flag's path is relative to the current directory.
            build = build.context_dir(dir.clone()).base_dir(".");
        }
        if let Some(dockerfile) = &args.dockerfile {
            build = build.dockerfile(dockerfile.clone());
        }
        config = config.build(build);
    }
    let nothing_to_deploy = config.get_image().is_none()
        && config.get_build_id().is_none()
        && config.get_build().is_none();
    if (args.build || (auto_yes && nothing_to_deploy)) && config.get_build().is_none() {
        // Like a `[build]` table in the file: relative to the file.
        let settings = match path {
            Some(path) => BuildSettings::new().base_dir(config_dir(path)),
            None => BuildSettings::new(),
        };
        config = config.build(settings);
    }
    if !args.allow_secret.is_empty()
        && let Some(build) = config.get_build()
    {
        // `--allow-secret` adds to `[build] allow_secrets`.
        let mut allowed = build.get_allow_secrets().to_vec();
        for path in &args.allow_secret {
            let path = path.to_str().ok_or_else(|| {
                Failure::Usage(format!(
                    "--allow-secret {}: the path is not valid Unicode",
                    path.display()
                ))
            })?;
            allowed.push(path.to_string());
        }
        let build = build.clone().allow_secrets(allowed);
        config = config.build(build);
    }
    config.validate().map_err(|e| blame_flags(e, args))?;
    config.check_source()?;
    if args.build && config.get_build_id().is_some() {
        return Err(Failure::Usage(
            "--build: the config names a build_id already; remove it to build anew".into(),
        ));
    }
    Ok(config)
}

/// `e` with each config field that a flag set named as that flag: the
/// library reports a caller's value without the file's name, by field.
fn blame_flags(e: pipecat_api::Error, args: &DeployArgs) -> Failure {
    let pipecat_api::Error::InvalidRequest { message } = e else {
        return Failure::Api(e);
    };
    let flags = [
        ("agent_name", "AGENT_NAME", args.agent_name.is_some()),
        ("image", "IMAGE", args.image.is_some()),
        ("secret_set", "--secrets", args.secrets.is_some()),
        ("region", "--region", args.region.is_some()),
        (
            "scaling.min_agents",
            "--min-agents",
            args.min_agents.is_some(),
        ),
        (
            "scaling.max_agents",
            "--max-agents",
            args.max_agents.is_some(),
        ),
        ("agent_profile", "--profile", args.profile.is_some()),
        ("resources", "--resources", args.resources.is_some()),
        ("resources.cpu", "--resources", args.resources.is_some()),
        ("resources.memory", "--resources", args.resources.is_some()),
        (
            "image_credentials",
            "--credentials",
            args.credentials.is_some(),
        ),
        (
            "krisp_viva.audio_filter",
            "--krisp-viva-audio-filter",
            args.krisp_viva_audio_filter.is_some(),
        ),
        (
            "architecture",
            "--architecture",
            args.architecture.is_some(),
        ),
        (
            "max_session_duration",
            "--max-session-duration",
            args.max_session_duration.is_some(),
        ),
        ("build.context_dir", "--build-dir", args.build_dir.is_some()),
        (
            "build.dockerfile",
            "--dockerfile",
            args.dockerfile.is_some(),
        ),
    ];
    let problems: Vec<String> = message
        .split("; ")
        .map(|problem| {
            for (field, flag, given) in flags {
                if let Some(rule) = problem.strip_prefix(&format!("{field}: "))
                    && given
                {
                    return format!("{flag}: {rule}");
                }
            }
            problem.to_string()
        })
        .collect();
    Failure::Api(pipecat_api::Error::InvalidRequest {
        message: problems.join("; "),
    })
}

/// The `[build]` settings when this deploy builds first (no image, no
/// build id).
fn build_settings(config: &DeployConfig) -> Option<&BuildSettings> {
    if config.get_image().is_some() || config.get_build_id().is_some() {
        return None;
    }
    config.get_build()
}

/// What a deploy of `config` would send for `plan`: the library's own
/// create or update body, so the dry run cannot drift from the real
/// request.
fn planned(
    config: &DeployConfig,
    plan: Option<&DeployPlan>,
    force: bool,
) -> Result<Value, Failure> {
    let body = match plan.map(|p| p.action) {
        Some(PlanAction::Create) | None => serde_json::to_value(config.create_request()?),
        Some(_) => serde_json::to_value(config.update_request(force)?),
    };
    body.map_err(|e| Failure::Internal(format!("cannot show the request: {e}")))
}

/// The flags that stand for a yes to the update question.
const CONFIRM_FLAGS: &str = "--yes (or --force)";

pub async fn run(args: DeployArgs, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    let config = load(&args, ctx.yes || args.force)?;

    if args.dry_run {
        return dry_run(&config, args.force, ctx).await;
    }

    let client = ctx.client(Key::Private)?;
    let wait = ctx.wait(pipecat_api::Wait::default())?;
    // The plan against the live agent (read-only), shown and agreed to
    // before anything is built or sent.
    let plan = client.plan_deploy(&config).await?;
    // On stderr, so that stdout stays the result; a no-change plan is said
    // once, below, unless a forced redeploy follows.
    let show = match plan.action {
        PlanAction::Create => !out.is_json(),
        PlanAction::NoChange => args.force,
        _ => true,
    };
    if show {
        for line in plan::render(&plan) {
            crate::output::to_stderr(&line);
        }
    }
    let name = config.get_agent_name().to_string();
    match plan.action {
        PlanAction::Create => {}
        PlanAction::NoChange if !args.force => {
            if out.is_json() {
                return out.json(&json!({
                    "agentName": name,
                    "deploymentId": plan.live_deployment_id,
                    "created": false,
                    "unchanged": true,
                    "plan": plan,
                }));
            }
            return out.line(&format!(
                "No changes: agent {name} already runs this configuration; nothing sent \
                 (--force redeploys it anyway)."
            ));
        }
        _ => {
            let verb = if plan.is_no_change() {
                "redeploy"
            } else {
                "update"
            };
            confirm_naming(
                &format!("{verb} agent {name}"),
                ctx.yes || args.force,
                CONFIRM_FLAGS,
            )?;
        }
    }

    // One library call: the cloud build first (when `[build]` has no image
    // or build id), then the deploy and its rollout; this shows the events
    // and, on Ctrl-C, says what the stage it stopped in left behind.
    let builds_first = build_settings(&config).is_some();
    let progress = Progress::new();
    if !builds_first {
        progress.phase(&format!("deploying agent {name}"));
    }
    let stage = Arc::new(Mutex::new(DeployStage::Preparing));
    let token = CancelToken::new();
    let options = DeployOptions::new()
        .wait(wait)
        .force_redeploy(args.force)
        .cancel_token(token.clone())
        .on_progress({
            let shown = progress.clone();
            let stage = Arc::clone(&stage);
            let name = name.clone();
            let json = out.is_json();
            move |event| {
                if let Ok(mut stage) = stage.lock() {
                    *stage = stage.after(event, builds_first);
                }
                show_event(event, &name, json, &shown);
            }
        });
    let mut job = std::pin::pin!(client.deploy(&config, options));
    let result = tokio::select! {
        result = &mut job => result,
        () = ctrl_c() => {
            let now = stage.lock().map_or(DeployStage::Preparing, |s| *s);
            if now == DeployStage::Build(Stage::Packing) {
                token.cancel();
                // The pack ends at its next write and deletes its archive.
                let _ = until_second_ctrl_c(&mut job).await;
            }
            progress.finish();
            return Err(Failure::Interrupted(now.interrupted(&name)));
        }
    };
    progress.finish();
    let deployed = result?;
    if out.is_json() {
        let value = serde_json::to_value(&deployed)
            .map_err(|e| Failure::Internal(format!("cannot write the answer as JSON: {e}")))?;
        return out.json(&value);
    }
    let verb = if deployed.created {
        "Created"
    } else if deployed.unchanged {
        "Unchanged"
    } else {
        "Updated"
    };
    out.line(&format!(
        "{verb} agent {name}: deployment {} is ready.",
        deployed.deployment_id
    ))
}

/// Where a deploy is, for what Ctrl-C should say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeployStage {
    /// Waiting for the secret set, reading the agent: nothing sent.
    Preparing,
    /// In the cloud build made first.
    Build(Stage),
    /// Deploying and waiting for the rollout.
    Deploying,
}

impl DeployStage {
    /// The stage after `event`.
    fn after(self, event: &DeployEvent, builds_first: bool) -> DeployStage {
        match (self, event) {
            (DeployStage::Preparing, DeployEvent::Planned(_)) if builds_first => {
                DeployStage::Build(Stage::Packing)
            }
            (DeployStage::Preparing, DeployEvent::Planned(_)) | (_, DeployEvent::Built { .. }) => {
                DeployStage::Deploying
            }
            (DeployStage::Build(stage), DeployEvent::Build(step)) => {
                DeployStage::Build(stage.after(step))
            }
            (now, _) => now,
        }
    }

    /// What stopping here means, said on Ctrl-C.
    fn interrupted(self, name: &str) -> String {
        match self {
            DeployStage::Preparing => {
                "interrupted: stopped before anything was built or deployed".into()
            }
            DeployStage::Build(stage) => stage.interrupted(),
            DeployStage::Deploying => format!(
                "interrupted: stopped waiting; the rollout goes on; see `pipecat-cloud agent \
                 status {name}`"
            ),
        }
    }
}

/// A deploy's event as a phase line (or, for a finished build, a line that
/// stays).
fn show_event(event: &DeployEvent, name: &str, json: bool, shown: &Progress) {
    match event {
        DeployEvent::WaitingForSecretSet { set_name } => {
            shown.phase(&format!("waiting for secret set {set_name} to be ready"));
        }
        DeployEvent::Planned(plan)
            if plan
                .changes
                .iter()
                .any(|c| c.new == PlanValue::PendingBuild) =>
        {
            shown.phase("packing the build context");
        }
        DeployEvent::Build(step) => build_phase(step, shown),
        DeployEvent::Built {
            build_id,
            cached,
            context_hash,
        } => {
            if !json {
                let cached = if *cached { " (reused)" } else { "" };
                shown.println(&format!(
                    "Build {build_id} succeeded{cached}; context {context_hash}."
                ));
            }
            shown.phase(&format!("deploying agent {name}"));
        }
        DeployEvent::Submitted {
            deployment_id,
            created,
            ..
        } => {
            let verb = if *created { "created" } else { "updated" };
            shown.phase(&format!("{verb} agent {name}: deployment {deployment_id}"));
        }
        DeployEvent::Unchanged { deployment_id, .. } => {
            shown.phase(&format!(
                "agent {name} already runs this configuration: deployment {deployment_id}"
            ));
        }
        DeployEvent::Phase(phase) => shown.phase(&format!("rollout: {phase}")),
        DeployEvent::Done { deployment_id } => {
            shown.phase(&format!("rollout: deployment {deployment_id} is ready"));
        }
        _ => {}
    }
}

/// `--dry-run`: the checked config, the plan against the live agent (a
/// read-only `getService`; without a private key, the create request
/// alone), the build context that would be uploaded (packed here, not
/// sent) and the body that would be sent.
async fn dry_run(config: &DeployConfig, force: bool, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    let build = build_settings(config);
    let plan = match ctx.client(Key::Private) {
        Ok(client) => Some(client.plan_deploy(config).await?),
        // No key at all: the create request alone. A key file named but
        // unreadable is an error, not "no key".
        Err(Failure::Usage(_)) if ctx.settings.api_key_file.is_none() => None,
        Err(other) => return Err(other),
    };
    let mut build_json = Value::Null;
    let mut build_rows: Vec<(&str, Cell)> = Vec::new();
    if let Some(settings) = build {
        // The build the deploy would make: the same packing options.
        let job = CloudBuild::from_settings(settings);
        let context_dir = job.dir();
        let packed = pack_context(context_dir, &job.context_options()).await?;
        if !out.is_json() {
            warn_held_back(packed.held_back(), &Progress::new());
        }
        build_json = json!({
            "contextDir": context_dir.display().to_string(),
            "dockerfile": settings.get_dockerfile(),
            "region": config.get_region(),
            "contextHash": packed.hash(),
            "files": packed.files(),
            "heldBack": packed.held_back(),
            "compressedBytes": packed.compressed_bytes(),
        });
        build_rows = vec![
            (
                "Cloud build",
                Cell::new(format!(
                    "{} ({})",
                    context_dir.display(),
                    settings.get_dockerfile()
                )),
            ),
            ("Context hash", Cell::new(packed.hash())),
            (
                "Context",
                Cell::new(format!(
                    "{}, {} bytes compressed, {} held back",
                    crate::output::count(packed.files().len(), "file"),
                    packed.compressed_bytes(),
                    packed.held_back().len()
                )),
            ),
        ];
    }
    let sends = !plan.as_ref().is_some_and(|p| p.is_no_change() && !force);
    let body = if sends {
        planned(config, plan.as_ref(), force)?
    } else {
        Value::Null
    };
    if out.is_json() {
        return out.json(&json!({
            "dryRun": true,
            "agentName": config.get_agent_name(),
            "plan": plan,
            "build": build_json,
            "deploy": body,
        }));
    }
    out.line(&format!(
        "Dry run: nothing sent. Deploying agent {} would:",
        config.get_agent_name()
    ))?;
    if build.is_some() {
        out.line(
            "  - upload this context and build it in the cloud (the build id goes in buildId):",
        )?;
        out.fields(&build_rows)?;
    }
    let Some(plan) = plan else {
        out.line("  - create the agent, or update it if it exists, with:")?;
        out.note("(no private API key: the live agent was not read, so there is no plan)");
        return out.line(&pretty(&body)?);
    };
    for line in plan::render(&plan) {
        out.line(&format!("  {line}"))?;
    }
    if !sends {
        return out.line("  - send nothing (--force would redeploy it).");
    }
    let what = match plan.action {
        PlanAction::Create => "create the agent with",
        _ => "update the agent with",
    };
    out.line(&format!("  - {what}:"))?;
    out.line(&pretty(&body)?)
}

fn pretty(body: &Value) -> Result<String, Failure> {
    serde_json::to_string_pretty(body)
        .map_err(|e| Failure::Internal(format!("cannot show the request: {e}")))
}
