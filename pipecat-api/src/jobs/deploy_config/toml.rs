//! Reading `pcc-deploy.toml`: every key the official CLI reads, unknown
//! keys refused, and the line of each value kept for later errors
//! (`file:line: key: rule`).

use std::ops::Range;
use std::path::Path;

use ::toml::Spanned;
use serde::Deserialize;
use uuid::Uuid;

use super::{BuildSettings, DeployConfig, DockerSettings, Resources, Source, config_dir};
use crate::Error;
use crate::jobs::deploy_config::request::IntegerField;

/// The most bytes of a `pcc-deploy.toml` read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

impl DeployConfig {
    /// Reads and checks a `pcc-deploy.toml` file (see the [module
    /// docs](super) for its keys). Errors name the file, the line and the
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
            Error::refused(vec![format!(
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
        let raw: RawFile = ::toml::from_str(text).map_err(|e| toml_error(&e, text, origin))?;
        let config = raw.into_config(text, origin)?;
        config.validate()?;
        Ok(config)
    }
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
fn toml_error(error: &::toml::de::Error, text: &str, origin: &str) -> Error {
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
    Error::refused(vec![problem])
}

/// The dotted key at `span` in the document, when the document parses and a
/// key's name or value holds the span.
fn key_path(text: &str, span: &Range<usize>) -> Option<String> {
    // Recoverable: a duplicate key fails the strict parse, and is worth naming.
    let (document, _) = ::toml::de::DeTable::parse_recoverable(text);
    let mut path = Vec::new();
    find_key(document.get_ref(), span, &mut path).then(|| path.join("."))
}

/// Depth first: a table's entries sit anywhere in the text (a `[table]`
/// header's span is the header only), so every table is searched.
fn find_key(table: &::toml::de::DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
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

    /// An integer the config holds as `u32`. One that does not fit is
    /// refused here with the request type's rule when it breaks one (so
    /// the rule named is the spec's), else `u32`'s; the rest are checked
    /// with every other value by `validate`.
    fn count(
        &mut self,
        field: &'static str,
        value: Option<Spanned<i64>>,
        check: IntegerField,
    ) -> Option<u32> {
        let value = self.take(field, value)?;
        match u32::try_from(value) {
            Ok(n) => Some(n),
            Err(_) => {
                let rule = check
                    .refusal(value)
                    .unwrap_or_else(|| format!("must be at most {} (got {value})", u32::MAX));
                self.fail(field, rule);
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
        config.max_session_duration = r.count(
            "max_session_duration",
            self.max_session_duration,
            IntegerField::MaxSessionDuration,
        );
        config.architecture = r.take("architecture", self.architecture);

        if let Some(scaling) = self.scaling.map(Spanned::into_inner) {
            config.min_agents = r.count(
                "scaling.min_agents",
                scaling.min_agents,
                IntegerField::MinAgents,
            );
            config.max_agents = r.count(
                "scaling.max_agents",
                scaling.max_agents,
                IntegerField::MaxAgents,
            );
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
            // Read so that its keys are checked and its line known; refused
            // by `check_source` (the REST API cannot deploy from GitHub).
            for (field, value) in [
                ("git.repo", git.repo),
                ("git.branch", git.branch),
                ("git.dockerfile_path", git.dockerfile_path),
                ("git.subdirectory", git.subdirectory),
            ] {
                r.take(field, value);
            }
            config.git = true;
        }
        config.source = r.source;
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::refused(r.problems))
        }
    }
}
