//! The rules a deploy config adds to those of the request types: between
//! fields, and those of the file itself. Each value's own rule (a name's
//! pattern, a range) is the generated request type's, checked in
//! `request`.

use super::DeployConfig;

/// The problems found, each as the field (its key in `pcc-deploy.toml`)
/// and the rule it broke.
pub(super) fn problems(config: &DeployConfig) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let mut fail = |field: &'static str, rule: String| problems.push((field, rule));

    if config.agent_name.is_empty() {
        fail("agent_name", "required".into());
    }
    let build = config.build.as_ref();
    let docker = config.docker.as_ref();
    let texts: [(&'static str, Option<&str>); 12] = [
        ("image", config.image.as_deref()),
        ("image_credentials", config.image_credentials.as_deref()),
        ("secret_set", config.secret_set.as_deref()),
        ("region", config.region.as_deref()),
        ("agent_profile", config.agent_profile.as_deref()),
        ("websocket_auth", config.websocket_auth.as_deref()),
        ("architecture", config.architecture.as_deref()),
        (
            "krisp_viva.audio_filter",
            config.krisp_audio_filter.as_deref(),
        ),
        (
            "build.context_dir",
            build.and_then(|b| b.context_dir.as_deref()),
        ),
        (
            "build.dockerfile",
            build.and_then(|b| b.dockerfile.as_deref()),
        ),
        (
            "docker.registry_username",
            docker.and_then(|d| d.registry_username.as_deref()),
        ),
        (
            "docker.registry_url",
            docker.and_then(|d| d.registry_url.as_deref()),
        ),
    ];
    for (field, value) in texts {
        if value == Some("") {
            fail(field, "must not be empty".into());
        }
    }

    if let Some(image) = config.image.as_deref().filter(|i| !i.is_empty())
        && let Some(rule) = image_problem(image)
    {
        fail("image", format!("{rule} (got {image:?})"));
    }
    if config.image.is_some() && config.build_id.is_some() {
        fail("build_id", "not with `image`: give one of them".into());
    }
    if let (Some(min), Some(max)) = (config.min_agents, config.max_agents)
        && min > max
    {
        fail(
            "scaling.min_agents",
            format!("must not exceed scaling.max_agents ({min} > {max})"),
        );
    }
    if config.resources.is_some() && config.agent_profile.is_some() {
        fail(
            "resources",
            "not with `agent_profile`: give one of them".into(),
        );
    }
    // The official CLI's vocabulary for `docker build-push`; not sent.
    if let Some(registry) = docker.and_then(|d| d.registry.as_deref())
        && !matches!(registry, "dockerhub" | "custom")
    {
        fail(
            "docker.registry",
            format!("must be `dockerhub` or `custom` (got {registry:?})"),
        );
    }
    problems
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
