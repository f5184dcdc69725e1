//! [`DeployConfig`]: what to deploy, built in code or read from
//! `pcc-deploy.toml`, the file the official Pipecat Cloud CLI reads.
//!
//! ```toml
//! agent_name = "my-agent"
//! image = "my-registry/my-agent:1.0"
//! secret_set = "my-agent-secrets"
//! region = "us-west"
//! max_session_duration = 3600
//!
//! [scaling]
//! min_agents = 0
//! max_agents = 5
//!
//! [krisp_viva]
//! audio_filter = "tel"
//! ```
//!
//! Every value is checked before anything is sent, by the generated request
//! type it is sent as (`types::CreateServiceRequest`,
//! `types::UpdateServiceRequest` and their parts): a value those types take
//! passes, a Krisp VIVA filter or architecture newer than this crate
//! included, and a value they refuse is refused with the spec's rule. This
//! module adds only what the file itself brings: the file and line of each
//! problem, the rules between fields (`image` or `build_id`, `min_agents`
//! at most `max_agents`, `agent_profile` or `[resources]`), the `[build]`
//! table, and the official CLI's defaults (no warm agents and Krisp VIVA
//! off when the file leaves them out). A key this module does not know is
//! an error too, so a misspelt key is never silently ignored.
//!
//! The keys are those the official CLI reads. Top level: `agent_name`,
//! `image`, `build_id`, `image_credentials`, `secret_set`, `region`,
//! `agent_profile`, `websocket_auth`, `max_session_duration`,
//! `architecture`. Tables: `[scaling]` (`min_agents`, `max_agents`),
//! `[krisp_viva]` (`audio_filter`), `[resources]` (`cpu`, `memory`),
//! `[build]` (`context_dir`, `dockerfile`, and `[build.exclude]` with
//! `patterns`; and `allow_secrets`, ours: files to upload although they
//! look like credentials, which the official CLI ignores), `[docker]`
//! (`registry`, `registry_username`, `registry_url`, `auto_latest`; read by
//! `docker build-push`, not sent) and `[git]` (`repo`, `branch`,
//! `dockerfile_path`, `subdirectory`: read, but refused by
//! [`DeployConfig::check_source`], since the REST API cannot deploy from a
//! GitHub source). The retired `enable_krisp` is refused with a pointer to
//! `[krisp_viva]`, as the CLI does.
//!
//! Setters are the bare field names and consume the config
//! (`DeployConfig::new("bot").image("repo/bot:1").min_agents(1)`), like
//! [`CloudBuild`](crate::jobs::cloud_build) and the generated builders;
//! since a method cannot be both, a value is read back with `get_<field>`
//! (`config.get_image()`), as aws-sdk-rust's builders do.

pub(crate) mod request;
mod rules;
mod toml;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::Error;

/// The name of the file the official CLI reads deploy settings from.
pub const DEPLOY_CONFIG_FILE: &str = "pcc-deploy.toml";

/// What to deploy and how: the agent, its image (or build), secrets, region,
/// scaling, sizing and session settings.
///
/// Build one in code with [`DeployConfig::new`] and the setters, or read
/// one with [`DeployConfig::from_file`] / [`DeployConfig::from_toml_str`].
/// Read every value back with `get_<field>`. Nothing here talks to the API.
///
/// ```
/// use pipecat_api::deploy_config::DeployConfig;
///
/// let config = DeployConfig::new("my-agent")
///     .image("my-registry/my-agent:1.0")
///     .secret_set("my-agent-secrets")
///     .min_agents(0)
///     .max_agents(5)
///     .max_session_duration(3600);
/// config.validate()?;
/// config.check_source()?;
/// assert_eq!(config.get_max_agents(), Some(5));
///
/// let err = DeployConfig::new("my-agent").max_session_duration(30).validate().unwrap_err();
/// assert!(err.to_string().contains("max_session_duration: must be between 60 and 14400 (got 30)"));
/// # Ok::<(), pipecat_api::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeployConfig {
    agent_name: String,
    image: Option<String>,
    build_id: Option<Uuid>,
    image_credentials: Option<String>,
    secret_set: Option<String>,
    region: Option<String>,
    agent_profile: Option<String>,
    websocket_auth: Option<String>,
    max_session_duration: Option<u32>,
    architecture: Option<String>,
    min_agents: Option<u32>,
    max_agents: Option<u32>,
    krisp_audio_filter: Option<String>,
    resources: Option<Resources>,
    build: Option<BuildSettings>,
    docker: Option<DockerSettings>,
    /// A `[git]` table was read (refused by `check_source`).
    git: bool,
    source: Source,
}

/// Explicit CPU and memory for an agent, instead of a named agent profile;
/// the API takes them only in self-hosted (enterprise) regions.
///
/// Both are Kubernetes quantities, e.g. `cpu = "500m"`, `memory = "4Gi"`
/// (the rule is `types::AgentResourcesCpu`'s and `AgentResourcesMemory`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resources {
    cpu: String,
    memory: String,
}

impl Resources {
    /// CPU and memory as Kubernetes quantities (checked by
    /// [`DeployConfig::validate`]).
    pub fn new(cpu: impl Into<String>, memory: impl Into<String>) -> Self {
        Self {
            cpu: cpu.into(),
            memory: memory.into(),
        }
    }

    /// CPU, e.g. `500m` or `2`.
    pub fn cpu(&self) -> &str {
        &self.cpu
    }

    /// Memory, e.g. `4Gi`.
    pub fn memory(&self) -> &str {
        &self.memory
    }
}

/// How to make the image with a cloud build: the `[build]` table.
///
/// A relative `context_dir` is relative to the `pcc-deploy.toml` that names
/// it ([`DeployConfig::from_file`] sets the [base
/// directory](Self::base_dir) to the file's directory), so
/// `--config sub/pcc-deploy.toml` with `context_dir = "bot"` packs
/// `sub/bot`, wherever it is run from; [`context_path`](Self::context_path)
/// is the directory to pack. The Dockerfile is relative to the context.
/// (The official CLI resolves `context_dir` against the current directory,
/// which is the same when the file is in it.)
///
/// Setters are bare names, getters `get_<field>` (see the [module
/// docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildSettings {
    context_dir: Option<String>,
    dockerfile: Option<String>,
    exclude_patterns: Vec<String>,
    allow_secrets: Vec<String>,
    base_dir: Option<PathBuf>,
}

impl BuildSettings {
    /// The defaults: context `.`, `Dockerfile`, nothing excluded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the build context directory.
    pub fn context_dir(mut self, dir: impl Into<String>) -> Self {
        self.context_dir = Some(dir.into());
        self
    }

    /// Sets the Dockerfile, relative to the context directory.
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }

    /// Sets the patterns of files left out of the build context.
    pub fn exclude_patterns<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the files uploaded although they look like credentials (paths
    /// relative to the context; see
    /// [`ContextOptions::allow_secret`](crate::jobs::build_context::ContextOptions::allow_secret)).
    pub fn allow_secrets<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow_secrets = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the directory a relative [context directory](Self::get_context_dir)
    /// is resolved against (default: the current directory;
    /// [`DeployConfig::from_file`] sets the file's directory).
    pub fn base_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.base_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Files uploaded although they look like credentials
    /// (`[build] allow_secrets`), relative to the context.
    pub fn get_allow_secrets(&self) -> &[String] {
        &self.allow_secrets
    }

    /// The build context directory as written (`.` unless set); see
    /// [`context_path`](Self::context_path) for the directory to pack.
    pub fn get_context_dir(&self) -> &str {
        self.context_dir.as_deref().unwrap_or(".")
    }

    /// The directory a relative `context_dir` is resolved against, if set
    /// (see [`base_dir`](Self::base_dir)).
    pub fn get_base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    /// The directory to pack: the [context directory](Self::get_context_dir)
    /// under the [base directory](Self::get_base_dir) when it is relative,
    /// else as is.
    pub fn context_path(&self) -> PathBuf {
        let dir = Path::new(self.get_context_dir());
        match &self.base_dir {
            // Normalized (`sub/.` is `sub`); the current directory adds nothing.
            Some(base) if dir.is_relative() && base != Path::new(".") => {
                base.join(dir).components().collect()
            }
            _ => dir.to_path_buf(),
        }
    }

    /// The Dockerfile, relative to the context (`Dockerfile` unless set).
    pub fn get_dockerfile(&self) -> &str {
        self.dockerfile.as_deref().unwrap_or("Dockerfile")
    }

    /// Patterns of files left out of the build context
    /// (`[build.exclude] patterns`).
    pub fn get_exclude_patterns(&self) -> &[String] {
        &self.exclude_patterns
    }
}

/// Where a locally built image is pushed: the `[docker]` table, which the
/// official CLI's `docker build-push` reads (nothing here sends it).
///
/// Setters are bare names, getters `get_<field>` (see the [module
/// docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DockerSettings {
    registry: Option<String>,
    registry_username: Option<String>,
    registry_url: Option<String>,
    auto_latest: Option<bool>,
}

impl DockerSettings {
    /// Nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the registry kind: `dockerhub` or `custom`.
    pub fn registry(mut self, registry: impl Into<String>) -> Self {
        self.registry = Some(registry.into());
        self
    }

    /// Sets the registry user name.
    pub fn registry_username(mut self, username: impl Into<String>) -> Self {
        self.registry_username = Some(username.into());
        self
    }

    /// Sets the registry host of a `custom` registry.
    pub fn registry_url(mut self, url: impl Into<String>) -> Self {
        self.registry_url = Some(url.into());
        self
    }

    /// Sets whether a pushed image is also tagged `latest`.
    pub fn auto_latest(mut self, auto_latest: bool) -> Self {
        self.auto_latest = Some(auto_latest);
        self
    }

    /// The registry kind, `dockerhub` or `custom`.
    pub fn get_registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The registry user name.
    pub fn get_registry_username(&self) -> Option<&str> {
        self.registry_username.as_deref()
    }

    /// The registry host of a `custom` registry.
    pub fn get_registry_url(&self) -> Option<&str> {
        self.registry_url.as_deref()
    }

    /// Whether a pushed image is also tagged `latest` (`true` unless set).
    pub fn get_auto_latest(&self) -> bool {
        self.auto_latest.unwrap_or(true)
    }
}

/// Where the values came from: a file's name and the line of each field read
/// from it. A setter forgets the line of the field it sets and marks it as
/// the caller's, so that a bad value given on a command line is not blamed
/// on the file.
#[derive(Debug, Clone, Default)]
struct Source {
    origin: Option<String>,
    lines: BTreeMap<&'static str, usize>,
    set_by_caller: BTreeSet<&'static str>,
}

impl Source {
    /// Marks `field` as set by the caller, not read from the file.
    fn given(&mut self, field: &'static str) {
        self.lines.remove(field);
        self.set_by_caller.insert(field);
    }

    /// `origin:line: field`, `origin: field` or `field` (the last also for
    /// a field the caller set): where a problem is.
    fn name(&self, field: &str) -> String {
        if self.set_by_caller.contains(field) {
            return field.to_string();
        }
        match (&self.origin, self.lines.get(field)) {
            (Some(origin), Some(line)) => format!("{origin}:{line}: {field}"),
            (Some(origin), None) => format!("{origin}: {field}"),
            (None, _) => field.to_string(),
        }
    }

    /// [`name`](Self::name) and the rule broken, the rule put in words when
    /// a generated type's parser gave it.
    fn problem(&self, field: &str, rule: impl std::fmt::Display) -> String {
        crate::runtime::rules::in_words(format!("{}: {rule}", self.name(field)))
    }
}

/// The directory of the config file at `path` (`.` for a bare file name),
/// which a relative `context_dir` is relative to.
pub fn config_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A setter of an optional text field: the bare name, the caller's value.
macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $field:ident, $path:literal) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$field = Some(value.into());
            self.source.given($path);
            self
        }
    };
}

impl DeployConfig {
    /// A config for the agent `agent_name`, with nothing else set.
    pub fn new(agent_name: impl Into<String>) -> Self {
        Self {
            agent_name: agent_name.into(),
            image: None,
            build_id: None,
            image_credentials: None,
            secret_set: None,
            region: None,
            agent_profile: None,
            websocket_auth: None,
            max_session_duration: None,
            architecture: None,
            min_agents: None,
            max_agents: None,
            krisp_audio_filter: None,
            resources: None,
            build: None,
            docker: None,
            git: false,
            source: Source::default(),
        }
    }

    /// Checks every value and the rules between them; the error lists every
    /// problem found, each naming its field (with the file and line when it
    /// was read from a file) and the rule.
    ///
    /// Each value is checked by the generated type it is sent as (the
    /// spec's rules: `agent_name` a DNS label of at most 63 characters,
    /// `secret_set`/`image_credentials` secret set names,
    /// `max_session_duration` and `[scaling]` within the spec's bounds,
    /// `[resources]` Kubernetes quantities); a value those types take
    /// passes, new Krisp VIVA filters and architectures included. The
    /// config's own rules:
    ///
    /// - `agent_name` is required; no text value may be empty;
    /// - `image`: with a tag (`repo/bot:1`) or a digest (`repo/bot@sha256:…`);
    ///   a registry port (`host:5000/bot`) is not a tag; not with `build_id`;
    /// - `scaling.min_agents` at most `scaling.max_agents`;
    /// - `agent_profile` not with `resources`;
    /// - `docker.registry`: `dockerhub` or `custom` (the official CLI's).
    pub fn validate(&self) -> Result<(), Error> {
        let mut found = rules::problems(self);
        found.extend(crate::jobs::deploy_config::request::value_problems(self));
        // In the file's order; those without a line (the caller's) first.
        found.sort_by_key(|(field, _)| self.source.lines.get(field).copied());
        let problems: Vec<String> = found
            .into_iter()
            .map(|(field, rule)| self.source.problem(field, rule))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::refused(problems))
        }
    }

    /// Checks that there is something to deploy: an `image`, a `build_id` or
    /// a `[build]` table (a cloud build will make the image); a `[git]`
    /// source is refused, since the REST API cannot deploy from one.
    /// Separate from [`validate`](Self::validate) because a build may
    /// supply the id after the config is read.
    pub fn check_source(&self) -> Result<(), Error> {
        if self.git {
            return Err(Error::refused(vec![self.source.problem(
                "git",
                "the REST API cannot deploy from a GitHub source; build the image \
                 (`pipecat-cloud deploy --build`, or `pipecat-cloud docker build-push`) \
                 and deploy it (`image`, `build_id` or a `[build]` table)",
            )]));
        }
        if self.image.is_some() || self.build_id.is_some() || self.build.is_some() {
            Ok(())
        } else {
            Err(Error::refused(vec![self.source.problem(
                "image",
                "nothing to deploy: give `image`, `build_id` or a `[build]` table",
            )]))
        }
    }

    setter!(
        /// Sets the image to run, with its tag or digest.
        image, image, "image"
    );
    setter!(
        /// Sets the name of the image pull secret set holding the registry
        /// credentials for the image.
        image_credentials, image_credentials, "image_credentials"
    );
    setter!(
        /// Sets the secret set whose keys become the bot's environment.
        secret_set, secret_set, "secret_set"
    );
    setter!(
        /// Sets the region to deploy to.
        region, region, "region"
    );
    setter!(
        /// Sets the named CPU and memory size (e.g. `agent-1x`).
        agent_profile, agent_profile, "agent_profile"
    );
    setter!(
        /// Sets how websocket clients authenticate (e.g. `token`).
        websocket_auth, websocket_auth, "websocket_auth"
    );
    setter!(
        /// Sets the CPU architecture the image is built for, e.g. `amd64` or
        /// `arm64` (any value `types::Architecture` takes).
        architecture, architecture, "architecture"
    );
    setter!(
        /// Sets the Krisp VIVA audio filter, e.g. `tel` or `pro` (any value
        /// `types::KrispVivaConfigAudioFilter` takes).
        krisp_audio_filter, krisp_audio_filter, "krisp_viva.audio_filter"
    );

    /// Deploys under another agent name (a command-line argument over the
    /// file's `agent_name`).
    pub fn agent_name(mut self, agent_name: impl Into<String>) -> Self {
        self.agent_name = agent_name.into();
        self.source.given("agent_name");
        self
    }

    /// Clears the image, e.g. when a cloud build is to supply the build id
    /// instead (the two are exclusive).
    pub fn without_image(mut self) -> Self {
        self.image = None;
        self.source.given("image");
        self
    }

    /// Clears the agent profile, e.g. when explicit [`Resources`] given on
    /// a command line replace the file's profile (the two are exclusive).
    pub fn without_agent_profile(mut self) -> Self {
        self.agent_profile = None;
        self.source.lines.remove("agent_profile");
        self
    }

    /// Clears explicit resources, e.g. when an agent profile given on a
    /// command line replaces the file's `[resources]` (the two are exclusive).
    pub fn without_resources(mut self) -> Self {
        self.resources = None;
        for field in ["resources", "resources.cpu", "resources.memory"] {
            self.source.lines.remove(field);
        }
        self
    }

    /// Sets the cloud build to deploy, by id.
    pub fn build_id(mut self, build_id: Uuid) -> Self {
        self.build_id = Some(build_id);
        self.source.given("build_id");
        self
    }

    /// Sets the longest a session may run, in seconds (the spec's bounds
    /// are checked by [`validate`](Self::validate)).
    pub fn max_session_duration(mut self, seconds: u32) -> Self {
        self.max_session_duration = Some(seconds);
        self.source.given("max_session_duration");
        self
    }

    /// Sets how many agents are kept warm without sessions.
    pub fn min_agents(mut self, min_agents: u32) -> Self {
        self.min_agents = Some(min_agents);
        self.source.given("scaling.min_agents");
        self
    }

    /// Sets the most sessions at once.
    pub fn max_agents(mut self, max_agents: u32) -> Self {
        self.max_agents = Some(max_agents);
        self.source.given("scaling.max_agents");
        self
    }

    /// Sets explicit CPU and memory (self-hosted regions), instead of an
    /// agent profile.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        for field in ["resources", "resources.cpu", "resources.memory"] {
            self.source.given(field);
        }
        self
    }

    /// Sets the cloud build settings.
    pub fn build(mut self, build: BuildSettings) -> Self {
        self.build = Some(build);
        for field in ["build", "build.context_dir", "build.dockerfile"] {
            self.source.given(field);
        }
        self
    }

    /// Sets the Docker registry settings.
    pub fn docker(mut self, docker: DockerSettings) -> Self {
        self.docker = Some(docker);
        for field in [
            "docker.registry",
            "docker.registry_username",
            "docker.registry_url",
        ] {
            self.source.given(field);
        }
        self
    }

    /// The agent's name.
    pub fn get_agent_name(&self) -> &str {
        &self.agent_name
    }

    /// The image to run.
    pub fn get_image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The cloud build to deploy.
    pub fn get_build_id(&self) -> Option<Uuid> {
        self.build_id
    }

    /// The image pull secret set.
    pub fn get_image_credentials(&self) -> Option<&str> {
        self.image_credentials.as_deref()
    }

    /// The secret set.
    pub fn get_secret_set(&self) -> Option<&str> {
        self.secret_set.as_deref()
    }

    /// The region.
    pub fn get_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The agent profile.
    pub fn get_agent_profile(&self) -> Option<&str> {
        self.agent_profile.as_deref()
    }

    /// How websocket clients authenticate.
    pub fn get_websocket_auth(&self) -> Option<&str> {
        self.websocket_auth.as_deref()
    }

    /// The longest a session may run, in seconds.
    pub fn get_max_session_duration(&self) -> Option<u32> {
        self.max_session_duration
    }

    /// The CPU architecture.
    pub fn get_architecture(&self) -> Option<&str> {
        self.architecture.as_deref()
    }

    /// Agents kept warm (`[scaling] min_agents`); `None` deploys the
    /// official CLI's default, 0.
    pub fn get_min_agents(&self) -> Option<u32> {
        self.min_agents
    }

    /// Most sessions at once (`[scaling] max_agents`).
    pub fn get_max_agents(&self) -> Option<u32> {
        self.max_agents
    }

    /// The Krisp VIVA audio filter (`[krisp_viva] audio_filter`); `None`
    /// means no filter.
    pub fn get_krisp_audio_filter(&self) -> Option<&str> {
        self.krisp_audio_filter.as_deref()
    }

    /// Explicit CPU and memory (`[resources]`).
    pub fn get_resources(&self) -> Option<&Resources> {
        self.resources.as_ref()
    }

    /// Cloud build settings (`[build]`).
    pub fn get_build(&self) -> Option<&BuildSettings> {
        self.build.as_ref()
    }

    /// Docker registry settings (`[docker]`).
    pub fn get_docker(&self) -> Option<&DockerSettings> {
        self.docker.as_ref()
    }

    /// The file (or other origin) the config was read from, if it was read.
    pub fn origin(&self) -> Option<&str> {
        self.source.origin.as_deref()
    }

    /// Where `field`'s value came from, for an error: `origin:line: field`,
    /// or the bare field when the caller set it.
    pub(crate) fn source_name(&self, field: &str) -> String {
        self.source.name(field)
    }
}
