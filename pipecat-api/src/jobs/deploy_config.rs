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
//! Every value is checked before anything is sent: the error names the field
//! (and, for a file, the file and line) and the rule it broke. A key this
//! module does not know is an error too, so a misspelt key is never silently
//! ignored.
//!
//! The keys are those the official CLI reads. Top level: `agent_name`,
//! `image`, `build_id`, `image_credentials`, `secret_set`, `region`,
//! `agent_profile`, `websocket_auth`, `max_session_duration`,
//! `architecture`. Tables: `[scaling]` (`min_agents`, `max_agents`),
//! `[krisp_viva]` (`audio_filter`), `[resources]` (`cpu`, `memory`),
//! `[build]` (`context_dir`, `dockerfile`, and `[build.exclude]` with
//! `patterns`; and `allow_secrets`, ours: files to upload although they
//! look like credentials, which the official CLI ignores), `[docker]` (`registry`, `registry_username`, `registry_url`,
//! `auto_latest`) and `[git]` (`repo`, `branch`, `dockerfile_path`,
//! `subdirectory`). The retired `enable_krisp` is refused with a pointer to
//! `[krisp_viva]`, as the CLI does.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use uuid::Uuid;

use crate::Error;
use crate::runtime::patterns::{dns_label, dns_subdomain};

/// The name of the file the official CLI reads deploy settings from.
pub const DEPLOY_CONFIG_FILE: &str = "pcc-deploy.toml";

/// Shortest `max_session_duration` the API takes, in seconds.
pub const MIN_SESSION_DURATION: u32 = 60;

/// Longest `max_session_duration` the API takes, in seconds (4 hours).
pub const MAX_SESSION_DURATION: u32 = 14_400;

/// Longest agent name (the path rule; creating an agent further limits the
/// name to 54 characters, which the create request itself checks).
const MAX_AGENT_NAME_LEN: usize = 63;

/// What to deploy and how: the agent, its image (or build), secrets, region,
/// scaling, sizing and session settings.
///
/// Build one in code with [`DeployConfig::new`] and the `with_*` setters, or
/// read one with [`DeployConfig::from_file`] /
/// [`DeployConfig::from_toml_str`]. Read every value back with the accessor
/// of the same name. Nothing here talks to the API.
///
/// ```
/// use pipecat_api::deploy_config::DeployConfig;
///
/// let config = DeployConfig::new("my-agent")
///     .with_image("my-registry/my-agent:1.0")
///     .with_secret_set("my-agent-secrets")
///     .with_min_agents(0)
///     .with_max_agents(5)
///     .with_max_session_duration(3600);
/// config.validate()?;
/// config.check_source()?;
/// assert_eq!(config.max_agents(), Some(5));
///
/// let err = DeployConfig::new("my-agent").with_max_session_duration(30).validate().unwrap_err();
/// assert!(err.to_string().contains("max_session_duration: must be between 60 and 14400 seconds (got 30)"));
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
    git: Option<GitSource>,
    source: Source,
}

/// Explicit CPU and memory for an agent, instead of a named agent profile;
/// the API takes them only in self-hosted (enterprise) regions.
///
/// Both are Kubernetes quantities: digits with an optional fraction and an
/// optional suffix (`m`, `k`, `M`, `G`, `T`, `P`, `E`, `Ki`, `Mi`, `Gi`,
/// `Ti`, `Pi`, `Ei`), e.g. `cpu = "500m"`, `memory = "4Gi"`.
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
/// directory](Self::with_base_dir) to the file's directory), so
/// `--config sub/pcc-deploy.toml` with `context_dir = "bot"` packs
/// `sub/bot`, wherever it is run from; [`context_path`](Self::context_path)
/// is the directory to pack. The Dockerfile is relative to the context.
/// (The official CLI resolves `context_dir` against the current directory,
/// which is the same when the file is in it.)
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
    pub fn with_context_dir(mut self, dir: impl Into<String>) -> Self {
        self.context_dir = Some(dir.into());
        self
    }

    /// Sets the Dockerfile, relative to the context directory.
    pub fn with_dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }

    /// Sets the patterns of files left out of the build context.
    pub fn with_exclude_patterns<I, S>(mut self, patterns: I) -> Self
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
    pub fn with_allow_secrets<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow_secrets = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Files uploaded although they look like credentials
    /// (`[build] allow_secrets`), relative to the context.
    pub fn allow_secrets(&self) -> &[String] {
        &self.allow_secrets
    }

    /// Sets the directory a relative [`context_dir`](Self::context_dir) is
    /// resolved against (default: the current directory;
    /// [`DeployConfig::from_file`] sets the file's directory).
    pub fn with_base_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.base_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The build context directory as written (`.` unless set); see
    /// [`context_path`](Self::context_path) for the directory to pack.
    pub fn context_dir(&self) -> &str {
        self.context_dir.as_deref().unwrap_or(".")
    }

    /// The directory a relative `context_dir` is resolved against, if set
    /// (see [`with_base_dir`](Self::with_base_dir)).
    pub fn base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    /// The directory to pack: [`context_dir`](Self::context_dir) under the
    /// [base directory](Self::base_dir) when it is relative, else as is.
    pub fn context_path(&self) -> PathBuf {
        let dir = Path::new(self.context_dir());
        match &self.base_dir {
            // Normalized (`sub/.` is `sub`); the current directory adds nothing.
            Some(base) if dir.is_relative() && base != Path::new(".") => {
                base.join(dir).components().collect()
            }
            _ => dir.to_path_buf(),
        }
    }

    /// The Dockerfile, relative to the context (`Dockerfile` unless set).
    pub fn dockerfile(&self) -> &str {
        self.dockerfile.as_deref().unwrap_or("Dockerfile")
    }

    /// Patterns of files left out of the build context
    /// (`[build.exclude] patterns`).
    pub fn exclude_patterns(&self) -> &[String] {
        &self.exclude_patterns
    }
}

/// Where a locally built image is pushed: the `[docker]` table, which the
/// official CLI's `docker build-push` reads.
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
    pub fn with_registry(mut self, registry: impl Into<String>) -> Self {
        self.registry = Some(registry.into());
        self
    }

    /// Sets the registry user name.
    pub fn with_registry_username(mut self, username: impl Into<String>) -> Self {
        self.registry_username = Some(username.into());
        self
    }

    /// Sets the registry host of a `custom` registry.
    pub fn with_registry_url(mut self, url: impl Into<String>) -> Self {
        self.registry_url = Some(url.into());
        self
    }

    /// Sets whether a pushed image is also tagged `latest`.
    pub fn with_auto_latest(mut self, auto_latest: bool) -> Self {
        self.auto_latest = Some(auto_latest);
        self
    }

    /// The registry kind, `dockerhub` or `custom`.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The registry user name.
    pub fn registry_username(&self) -> Option<&str> {
        self.registry_username.as_deref()
    }

    /// The registry host of a `custom` registry.
    pub fn registry_url(&self) -> Option<&str> {
        self.registry_url.as_deref()
    }

    /// Whether a pushed image is also tagged `latest` (`true` unless set).
    pub fn auto_latest(&self) -> bool {
        self.auto_latest.unwrap_or(true)
    }
}

/// A GitHub repository and branch to build the agent from, instead of an
/// image or build id: the `[git]` table. The API takes it when an agent is
/// created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitSource {
    repo: String,
    branch: String,
    dockerfile_path: Option<String>,
    subdirectory: Option<String>,
}

impl GitSource {
    /// A repository `owner/name` and a branch.
    pub fn new(repo: impl Into<String>, branch: impl Into<String>) -> Self {
        Self {
            repo: repo.into(),
            branch: branch.into(),
            dockerfile_path: None,
            subdirectory: None,
        }
    }

    /// Sets the Dockerfile's path in the repository.
    pub fn with_dockerfile_path(mut self, path: impl Into<String>) -> Self {
        self.dockerfile_path = Some(path.into());
        self
    }

    /// Sets the repository subdirectory to build in.
    pub fn with_subdirectory(mut self, dir: impl Into<String>) -> Self {
        self.subdirectory = Some(dir.into());
        self
    }

    /// The repository, `owner/name`.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The branch.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The Dockerfile's path in the repository, if set.
    pub fn dockerfile_path(&self) -> Option<&str> {
        self.dockerfile_path.as_deref()
    }

    /// The subdirectory to build in, if set.
    pub fn subdirectory(&self) -> Option<&str> {
        self.subdirectory.as_deref()
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
    set_by_caller: std::collections::BTreeSet<&'static str>,
}

impl Source {
    /// Marks `field` as set by the caller, not read from the file.
    fn given(&mut self, field: &'static str) {
        self.lines.remove(field);
        self.set_by_caller.insert(field);
    }

    /// `origin:line: field: rule`, `origin: field: rule` or `field: rule`
    /// (the last also for a field the caller set).
    fn problem(&self, field: &str, rule: impl std::fmt::Display) -> String {
        if self.set_by_caller.contains(field) {
            return format!("{field}: {rule}");
        }
        match (&self.origin, self.lines.get(field)) {
            (Some(origin), Some(line)) => format!("{origin}:{line}: {field}: {rule}"),
            (Some(origin), None) => format!("{origin}: {field}: {rule}"),
            (None, _) => format!("{field}: {rule}"),
        }
    }
}

/// The most bytes of a `pcc-deploy.toml` read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The directory of the config file at `path` (`.` for a bare file name),
/// which a relative `context_dir` is relative to.
pub fn config_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The one way this module makes an error.
fn refused(problems: Vec<String>) -> Error {
    Error::InvalidRequest {
        message: problems.join("; "),
    }
}

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
            git: None,
            source: Source::default(),
        }
    }

    /// Reads and checks a `pcc-deploy.toml` file (see the [module
    /// docs](self) for its keys). Errors name the file, the line and the
    /// field.
    ///
    /// Only [`validate`](Self::validate) is run, not
    /// [`check_source`](Self::check_source): a cloud build may supply the
    /// build id later. A relative `[build] context_dir` is relative to the
    /// file's directory ([`BuildSettings::context_path`]).
    ///
    /// Only a regular file (or a link to one) of at most 1 MiB is read: a
    /// FIFO or device there is an error, not a hang.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let bytes = crate::jobs::regular_file::read(path, MAX_CONFIG_BYTES)
            .map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            refused(vec![format!(
                "{origin}: cannot read the file: it is not UTF-8 text"
            )])
        })?;
        let mut config = Self::from_toml_str(&text, &origin)?;
        if let Some(build) = config.build.as_mut() {
            build.base_dir = Some(config_dir(path));
        }
        Ok(config)
    }

    /// Reads and checks deploy settings in TOML; `origin` names where the
    /// text came from (a file name) in error messages.
    ///
    /// ```
    /// use pipecat_api::deploy_config::DeployConfig;
    ///
    /// let text = "agent_name = \"my-agent\"\nimage = \"my-agent:1\"\n[scaling]\nmax_agnets = 3\n";
    /// let err = DeployConfig::from_toml_str(text, "pcc-deploy.toml").unwrap_err();
    /// assert!(err.to_string().contains("pcc-deploy.toml:4: scaling.max_agnets: unknown field"));
    /// ```
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, Error> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(&e, text, origin))?;
        let config = raw.into_config(text, origin)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value and the rules between them; the error lists every
    /// problem found, each naming its field and rule.
    ///
    /// - `agent_name`: required; lowercase letters, digits and `-`, starting
    ///   and ending with a letter or digit, at most 63 characters;
    /// - `image`: with a tag (`repo/bot:1`) or a digest (`repo/bot@sha256:…`);
    ///   a registry port (`host:5000/bot`) is not a tag; not with `build_id`;
    /// - `secret_set`, `image_credentials`: secret set names (3-63 lowercase
    ///   letters, digits, `-` and `.`);
    /// - `max_session_duration`: 60-14400 seconds;
    /// - `scaling`: `max_agents` at least 1 and at least `min_agents`;
    /// - `agent_profile`: not with `resources`; `resources`: both `cpu` and
    ///   `memory`, as Kubernetes quantities;
    /// - `architecture`: `amd64` or `arm64`; `krisp_viva.audio_filter`: `tel`
    ///   or `pro`; `docker.registry`: `dockerhub` or `custom`;
    /// - `git`: `repo` as `owner/name` and a branch; not with `image`,
    ///   `build_id` or `resources`;
    /// - no text value may be empty.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut fail = |field: &str, rule: String| problems.push(self.source.problem(field, rule));

        if self.agent_name.is_empty() {
            fail("agent_name", "required".into());
        } else if self.agent_name.len() > MAX_AGENT_NAME_LEN || !dns_label(&self.agent_name) {
            fail(
                "agent_name",
                format!(
                    "must be at most {MAX_AGENT_NAME_LEN} lowercase letters, digits and `-`, \
                     starting and ending with a letter or digit (got {:?})",
                    self.agent_name
                ),
            );
        }

        let texts: [(&str, Option<&str>); 14] = [
            ("image", self.image()),
            ("image_credentials", self.image_credentials()),
            ("secret_set", self.secret_set()),
            ("region", self.region()),
            ("agent_profile", self.agent_profile()),
            ("websocket_auth", self.websocket_auth()),
            ("architecture", self.architecture()),
            ("krisp_viva.audio_filter", self.krisp_audio_filter()),
            (
                "build.context_dir",
                self.build.as_ref().and_then(|b| b.context_dir.as_deref()),
            ),
            (
                "build.dockerfile",
                self.build.as_ref().and_then(|b| b.dockerfile.as_deref()),
            ),
            (
                "docker.registry_username",
                self.docker.as_ref().and_then(|d| d.registry_username()),
            ),
            (
                "docker.registry_url",
                self.docker.as_ref().and_then(|d| d.registry_url()),
            ),
            (
                "git.dockerfile_path",
                self.git.as_ref().and_then(|g| g.dockerfile_path()),
            ),
            (
                "git.subdirectory",
                self.git.as_ref().and_then(|g| g.subdirectory()),
            ),
        ];
        for (field, value) in texts {
            if value == Some("") {
                fail(field, "must not be empty".into());
            }
        }

        if let Some(image) = self.image().filter(|i| !i.is_empty())
            && let Some(rule) = image_problem(image)
        {
            fail("image", format!("{rule} (got {image:?})"));
        }
        if self.image.is_some() && self.build_id.is_some() {
            fail("build_id", "not with `image`: give one of them".into());
        }
        for (field, value) in [
            ("secret_set", self.secret_set()),
            ("image_credentials", self.image_credentials()),
        ] {
            if let Some(name) = value.filter(|n| !n.is_empty())
                && !((3..=63).contains(&name.len()) && dns_subdomain(name))
            {
                fail(
                    field,
                    format!(
                        "a secret set name is 3-63 lowercase letters, digits, `-` and `.`, \
                         starting and ending with a letter or digit (got {name:?})"
                    ),
                );
            }
        }
        if let Some(seconds) = self.max_session_duration
            && !(MIN_SESSION_DURATION..=MAX_SESSION_DURATION).contains(&seconds)
        {
            fail(
                "max_session_duration",
                format!(
                    "must be between {MIN_SESSION_DURATION} and {MAX_SESSION_DURATION} seconds (got {seconds})"
                ),
            );
        }
        if let Some(max) = self.max_agents {
            if max < 1 {
                fail("scaling.max_agents", "must be at least 1 (got 0)".into());
            } else if let Some(min) = self.min_agents
                && min > max
            {
                fail(
                    "scaling.min_agents",
                    format!("must not exceed scaling.max_agents ({min} > {max})"),
                );
            }
        }
        if let Some(arch) = self.architecture().filter(|a| !a.is_empty())
            && !matches!(arch, "amd64" | "arm64")
        {
            fail(
                "architecture",
                format!("must be `amd64` or `arm64` (got {arch:?})"),
            );
        }
        if let Some(filter) = self.krisp_audio_filter().filter(|f| !f.is_empty())
            && !matches!(filter, "tel" | "pro")
        {
            fail(
                "krisp_viva.audio_filter",
                format!("must be `tel` or `pro` (got {filter:?})"),
            );
        }
        if let Some(resources) = &self.resources {
            if self.agent_profile.is_some() {
                fail(
                    "resources",
                    "not with `agent_profile`: give one of them".into(),
                );
            }
            for (field, value) in [
                ("resources.cpu", &resources.cpu),
                ("resources.memory", &resources.memory),
            ] {
                if !is_quantity(value) {
                    fail(
                        field,
                        format!(
                            "must be a Kubernetes quantity such as `500m`, `2` or `4Gi` (got {value:?})"
                        ),
                    );
                }
            }
        }
        if let Some(registry) = self.docker.as_ref().and_then(|d| d.registry())
            && !matches!(registry, "dockerhub" | "custom")
        {
            fail(
                "docker.registry",
                format!("must be `dockerhub` or `custom` (got {registry:?})"),
            );
        }
        if let Some(git) = &self.git {
            if !is_repo_name(&git.repo) {
                fail(
                    "git.repo",
                    format!("must be `owner/name` (got {:?})", git.repo),
                );
            }
            if !is_branch_name(&git.branch) {
                fail(
                    "git.branch",
                    format!(
                        "must be a branch name without empty or dot-only segments (got {:?})",
                        git.branch
                    ),
                );
            }
            if self.image.is_some() || self.build_id.is_some() {
                fail(
                    "git",
                    "not with `image` or `build_id`: give one source".into(),
                );
            }
            if self.resources.is_some() {
                fail(
                    "git",
                    "not with `resources` (not supported for agents built from GitHub): use `agent_profile`"
                        .into(),
                );
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(refused(problems))
        }
    }

    /// Checks that there is something to deploy: an `image`, a `build_id`, a
    /// `[build]` table (a cloud build will make the image) or a `[git]`
    /// source. Separate from [`validate`](Self::validate) because a build may
    /// supply the id after the config is read.
    pub fn check_source(&self) -> Result<(), Error> {
        if self.image.is_some()
            || self.build_id.is_some()
            || self.build.is_some()
            || self.git.is_some()
        {
            Ok(())
        } else {
            Err(refused(vec![self.source.problem(
                "image",
                "nothing to deploy: give `image`, `build_id`, a `[build]` table or a `[git]` source",
            )]))
        }
    }

    setter!(
        /// Sets the image to run, with its tag or digest.
        with_image, image, "image"
    );
    setter!(
        /// Sets the name of the image pull secret set holding the registry
        /// credentials for the image.
        with_image_credentials, image_credentials, "image_credentials"
    );
    setter!(
        /// Sets the secret set whose keys become the bot's environment.
        with_secret_set, secret_set, "secret_set"
    );
    setter!(
        /// Sets the region to deploy to.
        with_region, region, "region"
    );
    setter!(
        /// Sets the named CPU and memory size (e.g. `agent-1x`).
        with_agent_profile, agent_profile, "agent_profile"
    );
    setter!(
        /// Sets how websocket clients authenticate (e.g. `token`).
        with_websocket_auth, websocket_auth, "websocket_auth"
    );
    setter!(
        /// Sets the CPU architecture the image is built for: `amd64` or
        /// `arm64`.
        with_architecture, architecture, "architecture"
    );
    setter!(
        /// Sets the Krisp VIVA audio filter: `tel` or `pro`.
        with_krisp_audio_filter, krisp_audio_filter, "krisp_viva.audio_filter"
    );

    /// Deploys under another agent name (a command-line argument over the
    /// file's `agent_name`).
    pub fn with_agent_name(mut self, agent_name: impl Into<String>) -> Self {
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
    pub fn with_build_id(mut self, build_id: Uuid) -> Self {
        self.build_id = Some(build_id);
        self.source.given("build_id");
        self
    }

    /// Sets the longest a session may run, in seconds (60-14400).
    pub fn with_max_session_duration(mut self, seconds: u32) -> Self {
        self.max_session_duration = Some(seconds);
        self.source.given("max_session_duration");
        self
    }

    /// Sets how many agents are kept warm without sessions.
    pub fn with_min_agents(mut self, min_agents: u32) -> Self {
        self.min_agents = Some(min_agents);
        self.source.given("scaling.min_agents");
        self
    }

    /// Sets the most sessions at once (at least 1).
    pub fn with_max_agents(mut self, max_agents: u32) -> Self {
        self.max_agents = Some(max_agents);
        self.source.given("scaling.max_agents");
        self
    }

    /// Sets explicit CPU and memory (self-hosted regions), instead of an
    /// agent profile.
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        for field in ["resources", "resources.cpu", "resources.memory"] {
            self.source.given(field);
        }
        self
    }

    /// Sets the cloud build settings.
    pub fn with_build(mut self, build: BuildSettings) -> Self {
        self.build = Some(build);
        for field in ["build", "build.context_dir", "build.dockerfile"] {
            self.source.given(field);
        }
        self
    }

    /// Sets the Docker registry settings.
    pub fn with_docker(mut self, docker: DockerSettings) -> Self {
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

    /// Sets a GitHub source to build from.
    pub fn with_git(mut self, git: GitSource) -> Self {
        self.git = Some(git);
        for field in [
            "git",
            "git.repo",
            "git.branch",
            "git.dockerfile_path",
            "git.subdirectory",
        ] {
            self.source.given(field);
        }
        self
    }

    /// The agent's name.
    pub fn agent_name(&self) -> &str {
        &self.agent_name
    }

    /// The image to run.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The cloud build to deploy.
    pub fn build_id(&self) -> Option<Uuid> {
        self.build_id
    }

    /// The image pull secret set.
    pub fn image_credentials(&self) -> Option<&str> {
        self.image_credentials.as_deref()
    }

    /// The secret set.
    pub fn secret_set(&self) -> Option<&str> {
        self.secret_set.as_deref()
    }

    /// The region.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The agent profile.
    pub fn agent_profile(&self) -> Option<&str> {
        self.agent_profile.as_deref()
    }

    /// How websocket clients authenticate.
    pub fn websocket_auth(&self) -> Option<&str> {
        self.websocket_auth.as_deref()
    }

    /// The longest a session may run, in seconds.
    pub fn max_session_duration(&self) -> Option<u32> {
        self.max_session_duration
    }

    /// The CPU architecture.
    pub fn architecture(&self) -> Option<&str> {
        self.architecture.as_deref()
    }

    /// Agents kept warm (`[scaling] min_agents`).
    pub fn min_agents(&self) -> Option<u32> {
        self.min_agents
    }

    /// Most sessions at once (`[scaling] max_agents`).
    pub fn max_agents(&self) -> Option<u32> {
        self.max_agents
    }

    /// The Krisp VIVA audio filter (`[krisp_viva] audio_filter`); `None`
    /// means no filter.
    pub fn krisp_audio_filter(&self) -> Option<&str> {
        self.krisp_audio_filter.as_deref()
    }

    /// Explicit CPU and memory (`[resources]`).
    pub fn resources(&self) -> Option<&Resources> {
        self.resources.as_ref()
    }

    /// Cloud build settings (`[build]`).
    pub fn build(&self) -> Option<&BuildSettings> {
        self.build.as_ref()
    }

    /// Docker registry settings (`[docker]`).
    pub fn docker(&self) -> Option<&DockerSettings> {
        self.docker.as_ref()
    }

    /// GitHub source (`[git]`).
    pub fn git(&self) -> Option<&GitSource> {
        self.git.as_ref()
    }

    /// The file (or other origin) the config was read from, if it was read.
    pub fn origin(&self) -> Option<&str> {
        self.source.origin.as_deref()
    }
}

/// What is wrong with an image reference, if anything.
fn image_problem(image: &str) -> Option<&'static str> {
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces");
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    if name.is_empty() || name.split('/').any(str::is_empty) {
        return Some("must be `[registry/]repository:tag`, with no empty part");
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = match last.split_once(':') {
        Some(("", _)) => return Some("must name a repository before its tag"),
        Some((_, tag)) => Some(tag),
        None => None,
    };
    if let Some(tag) = tag
        && !is_tag(tag)
    {
        return Some(
            "a tag is 1-128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
        );
    }
    match digest {
        Some(digest) if !is_digest(digest) => {
            Some("a digest is `algorithm:hex`, e.g. `sha256:` and 64 hex digits")
        }
        Some(_) => None,
        None if tag.is_none() => Some(
            "must carry a tag (`repo/bot:1.0`) or a digest (`repo/bot@sha256:...`); \
             a registry port (`host:5000/bot`) is not a tag",
        ),
        None => None,
    }
}

/// Docker's tag rule: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    (1..=128).contains(&tag.len())
        && tag.bytes().all(ok)
        && !tag.starts_with('.')
        && !tag.starts_with('-')
}

/// `algorithm:encoded`; sha256 needs 64 lowercase hex digits.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-')
        });
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    algorithm_ok
        && match algorithm {
            "sha256" => encoded.len() == 64 && hex(encoded),
            "sha512" => encoded.len() == 128 && hex(encoded),
            _ => {
                !encoded.is_empty()
                    && encoded
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
            }
        }
}

/// `^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`.
fn is_quantity(value: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let decimal = |s: &str| match s.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(s),
    };
    const SUFFIXES: [&str; 14] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E", "",
    ];
    SUFFIXES
        .iter()
        .any(|suffix| value.strip_suffix(suffix).is_some_and(decimal))
}

/// Exactly `owner/name`, each of letters, digits, `_`, `.` and `-`, and not
/// dots only.
fn is_repo_name(repo: &str) -> bool {
    let segment = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !s.bytes().all(|b| b == b'.')
    };
    matches!(repo.split_once('/'), Some((owner, name)) if segment(owner) && segment(name))
}

/// A git ref with no empty or dot-only segment.
fn is_branch_name(branch: &str) -> bool {
    !branch.is_empty()
        && !branch.chars().any(char::is_whitespace)
        && branch
            .split('/')
            .all(|s| !s.is_empty() && !s.bytes().all(|b| b == b'.'))
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML syntax or type error, as `origin:line: key.path: message`.
fn toml_error(error: &toml::de::Error, text: &str, origin: &str) -> Error {
    let message = error.message().trim_end();
    let problem = match error.span() {
        Some(span) => {
            let line = line_of(text, span.start);
            match key_path(text, &span) {
                Some(path) => format!("{origin}:{line}: {path}: {message}"),
                None => format!("{origin}:{line}: {message}"),
            }
        }
        None => format!("{origin}: {message}"),
    };
    refused(vec![problem])
}

/// The dotted key at `span` in the document, when the document parses and a
/// key's name or value holds the span.
fn key_path(text: &str, span: &Range<usize>) -> Option<String> {
    // Recoverable: a duplicate key fails the strict parse, and is worth naming.
    let (document, _) = toml::de::DeTable::parse_recoverable(text);
    let mut path = Vec::new();
    find_key(document.get_ref(), span, &mut path).then(|| path.join("."))
}

/// Depth first: a table's entries sit anywhere in the text (a `[table]`
/// header's span is the header only), so every table is searched.
fn find_key(table: &toml::de::DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    let holds = |s: Range<usize>| s.start <= span.start && span.end <= s.end.max(s.start + 1);
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if let Some(inner) = value.get_ref().as_table()
            && find_key(inner, span, path)
        {
            return true;
        }
        if holds(key.span()) || holds(value.span()) {
            return true;
        }
        path.pop();
    }
    false
}

// ---- the file as written: every key optional, unknown keys refused ----

type Text = Option<Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    agent_name: Text,
    image: Text,
    build_id: Text,
    image_credentials: Text,
    secret_set: Text,
    region: Text,
    agent_profile: Text,
    websocket_auth: Text,
    max_session_duration: Option<Spanned<i64>>,
    architecture: Text,
    enable_krisp: Option<Spanned<serde::de::IgnoredAny>>,
    scaling: Option<Spanned<RawScaling>>,
    krisp_viva: Option<Spanned<RawKrispViva>>,
    resources: Option<Spanned<RawResources>>,
    build: Option<Spanned<RawBuild>>,
    docker: Option<Spanned<RawDocker>>,
    git: Option<Spanned<RawGit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScaling {
    min_agents: Option<Spanned<i64>>,
    max_agents: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKrispViva {
    audio_filter: Text,
}

/// A quantity may be written as a string (`"500m"`) or a number (`2`).
struct RawQuantity(String);

impl<'de> Deserialize<'de> for RawQuantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawQuantity;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a Kubernetes quantity such as \"500m\", \"4Gi\" or 2")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawQuantity, E> {
                Ok(RawQuantity(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawQuantity, E> {
                Ok(RawQuantity(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawQuantity, E> {
                Ok(RawQuantity(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawQuantity, E> {
                Ok(RawQuantity(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResources {
    cpu: Option<Spanned<RawQuantity>>,
    memory: Option<Spanned<RawQuantity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    context_dir: Text,
    dockerfile: Text,
    exclude: Option<Spanned<RawExclude>>,
    allow_secrets: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclude {
    patterns: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocker {
    registry: Text,
    registry_username: Text,
    registry_url: Text,
    auto_latest: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    repo: Text,
    branch: Text,
    dockerfile_path: Text,
    subdirectory: Text,
}

/// Records the line of each value read, for later errors.
struct Reader<'a> {
    text: &'a str,
    source: Source,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn take<T>(&mut self, field: &'static str, value: Option<Spanned<T>>) -> Option<T> {
        let value = value?;
        self.source
            .lines
            .insert(field, line_of(self.text, value.span().start));
        Some(value.into_inner())
    }

    fn fail(&mut self, field: &str, rule: impl std::fmt::Display) {
        let problem = self.source.problem(field, rule);
        self.problems.push(problem);
    }

    /// An integer that must fit `u32`; `range` says what it must be in.
    fn count(
        &mut self,
        field: &'static str,
        value: Option<Spanned<i64>>,
        range: &str,
    ) -> Option<u32> {
        let value = self.take(field, value)?;
        match u32::try_from(value) {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(field, format!("must be {range} (got {value})"));
                None
            }
        }
    }
}

impl RawFile {
    fn into_config(self, text: &str, origin: &str) -> Result<DeployConfig, Error> {
        let mut r = Reader {
            text,
            source: Source {
                origin: Some(origin.to_owned()),
                ..Source::default()
            },
            problems: Vec::new(),
        };
        if let Some(old) = self.enable_krisp {
            r.source
                .lines
                .insert("enable_krisp", line_of(text, old.span().start));
            r.fail(
                "enable_krisp",
                "no longer supported: use a `[krisp_viva]` table with `audio_filter = \"tel\"` (or \"pro\")",
            );
        }
        let agent_name = r.take("agent_name", self.agent_name);
        if agent_name.is_none() {
            r.fail("agent_name", "required");
        }
        let mut config = DeployConfig::new(agent_name.unwrap_or_default());
        config.image = r.take("image", self.image);
        let build_id = r.take("build_id", self.build_id);
        if let Some(id) = build_id {
            match Uuid::parse_str(&id) {
                Ok(id) => config.build_id = Some(id),
                Err(_) => r.fail(
                    "build_id",
                    format!("must be a build id (a UUID) (got {id:?})"),
                ),
            }
        }
        config.image_credentials = r.take("image_credentials", self.image_credentials);
        config.secret_set = r.take("secret_set", self.secret_set);
        config.region = r.take("region", self.region);
        config.agent_profile = r.take("agent_profile", self.agent_profile);
        config.websocket_auth = r.take("websocket_auth", self.websocket_auth);
        let duration_range =
            format!("between {MIN_SESSION_DURATION} and {MAX_SESSION_DURATION} seconds");
        config.max_session_duration = r.count(
            "max_session_duration",
            self.max_session_duration,
            &duration_range,
        );
        config.architecture = r.take("architecture", self.architecture);

        if let Some(scaling) = self.scaling.map(Spanned::into_inner) {
            config.min_agents = r.count("scaling.min_agents", scaling.min_agents, "at least 0");
            config.max_agents = r.count("scaling.max_agents", scaling.max_agents, "at least 1");
        }
        if let Some(krisp) = self.krisp_viva.map(Spanned::into_inner) {
            config.krisp_audio_filter = r.take("krisp_viva.audio_filter", krisp.audio_filter);
        }
        if let Some(resources) = r.take("resources", self.resources) {
            let cpu = r.take("resources.cpu", resources.cpu);
            let memory = r.take("resources.memory", resources.memory);
            match (cpu, memory) {
                (Some(cpu), Some(memory)) => {
                    config.resources = Some(Resources::new(cpu.0, memory.0))
                }
                _ => r.fail("resources", "needs both `cpu` and `memory`"),
            }
        }
        if let Some(build) = r.take("build", self.build) {
            config.build = Some(BuildSettings {
                context_dir: r.take("build.context_dir", build.context_dir),
                dockerfile: r.take("build.dockerfile", build.dockerfile),
                exclude_patterns: build
                    .exclude
                    .and_then(|e| e.into_inner().patterns)
                    .unwrap_or_default(),
                allow_secrets: build.allow_secrets.unwrap_or_default(),
                base_dir: None,
            });
        }
        if let Some(docker) = self.docker.map(Spanned::into_inner) {
            config.docker = Some(DockerSettings {
                registry: r.take("docker.registry", docker.registry),
                registry_username: r.take("docker.registry_username", docker.registry_username),
                registry_url: r.take("docker.registry_url", docker.registry_url),
                auto_latest: docker.auto_latest,
            });
        }
        if let Some(git) = r.take("git", self.git) {
            let repo = r.take("git.repo", git.repo);
            let branch = r.take("git.branch", git.branch);
            let dockerfile_path = r.take("git.dockerfile_path", git.dockerfile_path);
            let subdirectory = r.take("git.subdirectory", git.subdirectory);
            match (repo, branch) {
                (Some(repo), Some(branch)) => {
                    config.git = Some(GitSource {
                        repo,
                        branch,
                        dockerfile_path,
                        subdirectory,
                    })
                }
                _ => r.fail("git", "needs both `repo` and `branch`"),
            }
        }

        config.source = r.source;
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(refused(r.problems))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        DeployConfig::from_toml_str(text, "pcc-deploy.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_name_can_be_replaced_and_the_image_cleared() {
        let config = DeployConfig::from_toml_str(
            "agent_name = \"from-file\"\nimage = \"repo/bot:1\"\n[build]\n",
            "pcc-deploy.toml",
        )
        .unwrap()
        .with_agent_name("from-flag")
        .without_image();
        assert_eq!(config.agent_name(), "from-flag");
        assert_eq!(config.image(), None);
        assert!(config.validate().is_ok());
        assert!(config.check_source().is_ok(), "the [build] table remains");
        let bad = DeployConfig::new("ok").with_agent_name("Not Valid");
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("agent_name"), "{err}");
    }

    #[test]
    fn reads_every_key_the_cli_reads() {
        let text = r#"
agent_name = "my-agent"
image = "registry.example.com:5000/team/my-agent:1.2.3"
image_credentials = "my-pull-secret"
secret_set = "my-agent-secrets"
region = "us-west"
agent_profile = "agent-2x"
websocket_auth = "token"
max_session_duration = 3600
architecture = "arm64"

[scaling]
min_agents = 1
max_agents = 10

[krisp_viva]
audio_filter = "pro"

[build]
context_dir = "bot"
dockerfile = "Dockerfile.prod"

[build.exclude]
patterns = ["*.log", "tests/"]

[docker]
registry = "custom"
registry_username = "me"
registry_url = "registry.example.com"
auto_latest = false
"#;
        let c = DeployConfig::from_toml_str(text, "pcc-deploy.toml").unwrap();
        assert_eq!(c.agent_name(), "my-agent");
        assert_eq!(
            c.image(),
            Some("registry.example.com:5000/team/my-agent:1.2.3")
        );
        assert_eq!(c.image_credentials(), Some("my-pull-secret"));
        assert_eq!(c.secret_set(), Some("my-agent-secrets"));
        assert_eq!(c.region(), Some("us-west"));
        assert_eq!(c.agent_profile(), Some("agent-2x"));
        assert_eq!(c.websocket_auth(), Some("token"));
        assert_eq!(c.max_session_duration(), Some(3600));
        assert_eq!(c.architecture(), Some("arm64"));
        assert_eq!((c.min_agents(), c.max_agents()), (Some(1), Some(10)));
        assert_eq!(c.krisp_audio_filter(), Some("pro"));
        let build = c.build().unwrap();
        assert_eq!(build.context_dir(), "bot");
        assert_eq!(build.dockerfile(), "Dockerfile.prod");
        assert_eq!(build.exclude_patterns(), ["*.log", "tests/"]);
        let docker = c.docker().unwrap();
        assert_eq!(docker.registry(), Some("custom"));
        assert_eq!(docker.registry_username(), Some("me"));
        assert_eq!(docker.registry_url(), Some("registry.example.com"));
        assert!(!docker.auto_latest());
        assert_eq!(c.origin(), Some("pcc-deploy.toml"));
        c.check_source().unwrap();
    }

    #[test]
    fn reads_resources_git_and_build_id() {
        let c = DeployConfig::from_toml_str(
            "agent_name = \"a\"\n[resources]\ncpu = \"500m\"\nmemory = \"4Gi\"\n",
            "f",
        )
        .unwrap();
        let r = c.resources().unwrap();
        assert_eq!((r.cpu(), r.memory()), ("500m", "4Gi"));
        let c = DeployConfig::from_toml_str(
            "agent_name = \"a\"\n[resources]\ncpu = 2\nmemory = \"1.5Gi\"\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.resources().unwrap().cpu(), "2");

        let c = DeployConfig::from_toml_str(
            "agent_name = \"a\"\n[git]\nrepo = \"me/bot\"\nbranch = \"main\"\nsubdirectory = \"bot\"\n",
            "f",
        )
        .unwrap();
        let git = c.git().unwrap();
        assert_eq!(
            (git.repo(), git.branch(), git.subdirectory()),
            ("me/bot", "main", Some("bot"))
        );
        assert_eq!(git.dockerfile_path(), None);
        c.check_source().unwrap();

        let id = "7f1c2a9e-3c1b-4c9a-9d2e-0b6f3f1e2d3c";
        let c =
            DeployConfig::from_toml_str(&format!("agent_name = \"a\"\nbuild_id = \"{id}\"\n"), "f")
                .unwrap();
        assert_eq!(c.build_id(), Some(Uuid::parse_str(id).unwrap()));
        c.check_source().unwrap();
    }

    #[test]
    fn defaults_of_build_and_docker_tables() {
        let c =
            DeployConfig::from_toml_str("agent_name = \"a\"\n[build]\n[docker]\n", "f").unwrap();
        let build = c.build().unwrap();
        assert_eq!(
            (build.context_dir(), build.dockerfile()),
            (".", "Dockerfile")
        );
        assert!(build.exclude_patterns().is_empty());
        assert!(c.docker().unwrap().auto_latest());
        c.check_source().unwrap();
    }

    #[test]
    fn range_error_names_file_line_and_field() {
        let e = err("agent_name = \"a\"\nimage = \"a:1\"\n\nmax_session_duration = 30\n");
        assert_eq!(
            e,
            "request not sent: pcc-deploy.toml:4: max_session_duration: must be between 60 and 14400 seconds (got 30)"
        );
        let e = err("agent_name = \"a\"\nmax_session_duration = 99999999999\n");
        assert!(
            e.contains("pcc-deploy.toml:2: max_session_duration: must be between"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\nmax_session_duration = 14401\n");
        assert!(e.contains("pcc-deploy.toml:2: max_session_duration"), "{e}");
        DeployConfig::from_toml_str("agent_name = \"a\"\nmax_session_duration = 14400\n", "f")
            .unwrap();
        DeployConfig::from_toml_str("agent_name = \"a\"\nmax_session_duration = 60\n", "f")
            .unwrap();
    }

    #[test]
    fn unknown_keys_are_errors_with_key_and_line() {
        let e = err("agent_name = \"a\"\nimgae = \"a:1\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: imgae: unknown field `imgae`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n\n[scaling]\nmin_agents = 0\nmax_agnets = 2\n");
        assert!(
            e.contains("pcc-deploy.toml:5: scaling.max_agnets: unknown field `max_agnets`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[build.exclude]\npattern = [\"x\"]\n");
        assert!(
            e.contains("pcc-deploy.toml:3: build.exclude.pattern: unknown field"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[docker]\nregistry_user = \"me\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: docker.registry_user: unknown field"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[scalling]\nmax_agents = 2\n");
        assert!(
            e.contains("pcc-deploy.toml:2: scalling: unknown field"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\nforce_redeploy = true\n");
        assert!(
            e.contains("pcc-deploy.toml:2: force_redeploy: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn enable_krisp_is_refused_with_a_pointer() {
        let e = err("agent_name = \"a\"\nenable_krisp = true\n");
        assert!(
            e.contains("pcc-deploy.toml:2: enable_krisp: no longer supported"),
            "{e}"
        );
        assert!(e.contains("[krisp_viva]"), "{e}");
    }

    #[test]
    fn type_and_syntax_errors_give_the_line() {
        let e = err("agent_name = \"a\"\n[scaling]\nmax_agents = \"five\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: scaling.max_agents: invalid type"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\nimage = \n");
        assert!(e.starts_with("request not sent: pcc-deploy.toml:2:"), "{e}");
        let e = err("agent_name = \"a\"\n[build.exclude]\npatterns = \"*.log\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: build.exclude.patterns: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn agent_name_rule() {
        assert!(err("image = \"a:1\"\n").contains("pcc-deploy.toml: agent_name: required"));
        for bad in ["My-Agent", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            let e = err(&format!("agent_name = \"{bad}\"\n"));
            assert!(
                e.contains("pcc-deploy.toml:1: agent_name: must be at most 63"),
                "{e}"
            );
        }
        for good in ["a", "0", "my-agent-2", &"a".repeat(63)] {
            DeployConfig::new(good).validate().unwrap();
        }
        let e = DeployConfig::new("").validate().unwrap_err().to_string();
        assert_eq!(e, "request not sent: agent_name: required");
    }

    #[test]
    fn image_tag_rule() {
        for good in [
            "bot:1",
            "repo/bot:1",
            "registry.example.com/team/bot:v1.0-rc_2",
            "host:5000/repo/bot:latest",
            "repo/bot@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "repo/bot:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            DeployConfig::new("a").with_image(good).validate().unwrap();
        }
        for bad in [
            "bot",
            "repo/bot",
            "host:5000/repo",
            "bot:",
            ":1",
            "repo//bot:1",
            "/bot:1",
            "repo/bot:.x",
            "repo/bot:a b",
            "repo/bot@sha256:abc",
            "repo/bot@sha256",
            "",
        ] {
            let e = DeployConfig::new("a")
                .with_image(bad)
                .validate()
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("request not sent: image: "), "{bad}: {e}");
        }
        let e = DeployConfig::new("a")
            .with_image("host:5000/repo")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("must carry a tag"), "{e}");
    }

    #[test]
    fn image_and_build_id_are_exclusive_and_one_source_is_needed() {
        let id = Uuid::nil();
        let e = DeployConfig::new("a")
            .with_image("bot:1")
            .with_build_id(id)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("build_id: not with `image`"), "{e}");
        let e = err(&format!(
            "agent_name = \"a\"\nimage = \"bot:1\"\nbuild_id = \"{}\"\n",
            Uuid::nil()
        ));
        assert!(
            e.contains("pcc-deploy.toml:3: build_id: not with `image`"),
            "{e}"
        );

        let none = DeployConfig::new("a");
        none.validate().unwrap();
        let e = none.check_source().unwrap_err().to_string();
        assert!(e.contains("image: nothing to deploy"), "{e}");
        DeployConfig::new("a")
            .with_build_id(id)
            .check_source()
            .unwrap();
        DeployConfig::new("a")
            .with_build(BuildSettings::new())
            .check_source()
            .unwrap();
        DeployConfig::new("a")
            .with_image("bot:1")
            .check_source()
            .unwrap();
        DeployConfig::new("a")
            .with_git(GitSource::new("me/bot", "main"))
            .check_source()
            .unwrap();

        let e = err("agent_name = \"a\"\nbuild_id = \"not-a-uuid\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: build_id: must be a build id (a UUID)"),
            "{e}"
        );
    }

    #[test]
    fn scaling_rules() {
        let e = err("agent_name = \"a\"\n[scaling]\nmin_agents = 5\nmax_agents = 2\n");
        assert!(
            e.contains(
                "pcc-deploy.toml:3: scaling.min_agents: must not exceed scaling.max_agents (5 > 2)"
            ),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[scaling]\nmax_agents = 0\n");
        assert!(
            e.contains("pcc-deploy.toml:3: scaling.max_agents: must be at least 1"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[scaling]\nmin_agents = -1\n");
        assert!(
            e.contains("pcc-deploy.toml:3: scaling.min_agents: must be at least 0 (got -1)"),
            "{e}"
        );
        DeployConfig::new("a")
            .with_min_agents(0)
            .with_max_agents(1)
            .validate()
            .unwrap();
        DeployConfig::new("a")
            .with_min_agents(3)
            .with_max_agents(3)
            .validate()
            .unwrap();
        DeployConfig::new("a")
            .with_min_agents(3)
            .validate()
            .unwrap();
        let e = DeployConfig::new("a")
            .with_max_agents(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "request not sent: scaling.max_agents: must be at least 1 (got 0)"
        );
    }

    #[test]
    fn profile_and_resources_are_exclusive_and_quantities_checked() {
        let e = err(
            "agent_name = \"a\"\nagent_profile = \"agent-1x\"\n[resources]\ncpu = \"1\"\nmemory = \"1Gi\"\n",
        );
        assert!(
            e.contains("pcc-deploy.toml:3: resources: not with `agent_profile`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[resources]\ncpu = \"1\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: resources: needs both `cpu` and `memory`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[resources]\ncpu = \"1 core\"\nmemory = \"4GB\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: resources.cpu: must be a Kubernetes quantity"),
            "{e}"
        );
        assert!(
            e.contains("pcc-deploy.toml:4: resources.memory: must be a Kubernetes quantity"),
            "{e}"
        );
        for good in ["500m", "2", "0.5", "4Gi", "1.5G", "100Ki"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "m", ".5", "5.", "4gb", "1 Gi", "-1", "4Gii"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn vocabularies_are_checked() {
        let e = err("agent_name = \"a\"\narchitecture = \"x86_64\"\n");
        assert!(
            e.contains(
                "pcc-deploy.toml:2: architecture: must be `amd64` or `arm64` (got \"x86_64\")"
            ),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[krisp_viva]\naudio_filter = \"studio\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: krisp_viva.audio_filter: must be `tel` or `pro`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[docker]\nregistry = \"ecr\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: docker.registry: must be `dockerhub` or `custom`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\nsecret_set = \"My_Secrets\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: secret_set: a secret set name is"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\nregion = \"\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: region: must not be empty"),
            "{e}"
        );
        DeployConfig::new("a")
            .with_architecture("amd64")
            .validate()
            .unwrap();
        DeployConfig::new("a")
            .with_krisp_audio_filter("tel")
            .validate()
            .unwrap();
    }

    #[test]
    fn git_rules() {
        let e = err(
            "agent_name = \"a\"\nimage = \"bot:1\"\n[git]\nrepo = \"me/bot\"\nbranch = \"main\"\n",
        );
        assert!(
            e.contains("pcc-deploy.toml:3: git: not with `image` or `build_id`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[git]\nrepo = \"me/bot\"\n");
        assert!(
            e.contains("pcc-deploy.toml:2: git: needs both `repo` and `branch`"),
            "{e}"
        );
        let e = err("agent_name = \"a\"\n[git]\nrepo = \"bot\"\nbranch = \"a//b\"\n");
        assert!(
            e.contains("pcc-deploy.toml:3: git.repo: must be `owner/name`"),
            "{e}"
        );
        assert!(e.contains("pcc-deploy.toml:4: git.branch:"), "{e}");
        let e = DeployConfig::new("a")
            .with_git(GitSource::new("me/bot", "main"))
            .with_resources(Resources::new("1", "1Gi"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("git: not with `resources`"), "{e}");
    }

    #[test]
    fn every_problem_is_listed_and_setters_forget_the_file_line() {
        let text = "agent_name = \"A\"\nmax_session_duration = 30\narchitecture = \"x\"\n";
        let e = err(text);
        assert!(e.contains("pcc-deploy.toml:1: agent_name:"), "{e}");
        assert!(
            e.contains("; pcc-deploy.toml:2: max_session_duration:"),
            "{e}"
        );
        assert!(e.contains("; pcc-deploy.toml:3: architecture:"), "{e}");

        let text = "agent_name = \"a\"\nmax_session_duration = 3600\n";
        let c = DeployConfig::from_toml_str(text, "pcc-deploy.toml").unwrap();
        let e = c
            .with_max_session_duration(10)
            .validate()
            .unwrap_err()
            .to_string();
        // The bad value was the caller's (a flag), not the file's.
        assert_eq!(
            e,
            "request not sent: max_session_duration: must be between 60 and 14400 seconds (got 10)"
        );
    }

    #[test]
    fn from_file_names_the_file() {
        let dir = std::env::temp_dir().join(format!("pcc-deploy-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(DEPLOY_CONFIG_FILE);
        std::fs::write(&path, "agent_name = \"a\"\n[scaling]\nmax_agents = 0\n").unwrap();
        let e = DeployConfig::from_file(&path).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{}:3: scaling.max_agents", path.display())),
            "{e}"
        );
        std::fs::write(&path, "agent_name = \"a\"\nimage = \"bot:1\"\n").unwrap();
        assert_eq!(
            DeployConfig::from_file(&path).unwrap().image(),
            Some("bot:1")
        );
        let missing = dir.join("missing.toml");
        let e = DeployConfig::from_file(&missing).unwrap_err();
        assert!(
            matches!(&e, Error::Io { path, .. } if path == &missing),
            "{e:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn context_dir_is_relative_to_the_file_that_names_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join(DEPLOY_CONFIG_FILE);
        std::fs::write(
            &path,
            "agent_name = \"a\"\n[build]\ncontext_dir = \"bot\"\ndockerfile = \"docker/Dockerfile\"\n",
        )
        .unwrap();
        let config = DeployConfig::from_file(&path).unwrap();
        let build = config.build().unwrap();
        assert_eq!(build.context_dir(), "bot");
        assert!(build.allow_secrets().is_empty());
        assert_eq!(build.base_dir(), Some(sub.as_path()));
        assert_eq!(build.context_path(), sub.join("bot"));
        assert_eq!(build.dockerfile(), "docker/Dockerfile");

        // No context_dir: the file's directory; an absolute one as is.
        std::fs::write(
            &path,
            "agent_name = \"a\"\n[build]\nallow_secrets = [\"certs/ca.pem\"]\n",
        )
        .unwrap();
        let config = DeployConfig::from_file(&path).unwrap();
        assert_eq!(config.build().unwrap().context_path(), sub);
        assert_eq!(config.build().unwrap().allow_secrets(), ["certs/ca.pem"]);
        let abs = dir.path().join("elsewhere");
        std::fs::write(
            &path,
            format!(
                "agent_name = \"a\"\n[build]\ncontext_dir = {:?}\n",
                abs.display().to_string()
            ),
        )
        .unwrap();
        let config = DeployConfig::from_file(&path).unwrap();
        assert_eq!(config.build().unwrap().context_path(), abs);

        // A bare file name: the current directory, as before.
        assert_eq!(config_dir(Path::new(DEPLOY_CONFIG_FILE)), Path::new("."));
        // Built in code: the current directory unless a base is given.
        assert_eq!(
            BuildSettings::new().with_context_dir("bot").context_path(),
            Path::new("bot")
        );
        assert_eq!(
            BuildSettings::new()
                .with_context_dir("bot")
                .with_base_dir("sub")
                .context_path(),
            Path::new("sub/bot")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_device_as_the_config_is_an_error_not_a_hang() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join(DEPLOY_CONFIG_FILE);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let fifo = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(DeployConfig::from_file(&fifo).map(|_| ()));
        });
        let e = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO config hung")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!(
                "cannot use {}: not a regular file (a FIFO",
                path.display()
            )),
            "{e}"
        );
        let e = DeployConfig::from_file("/dev/zero")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file (a device)"), "{e}");
    }
}
