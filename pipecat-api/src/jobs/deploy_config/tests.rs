//! The deploy config: reading, checking, setters.

#![allow(clippy::unwrap_used)]

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
    .agent_name("from-flag")
    .without_image();
    assert_eq!(config.get_agent_name(), "from-flag");
    assert_eq!(config.get_image(), None);
    assert!(config.validate().is_ok());
    assert!(config.check_source().is_ok(), "the [build] table remains");
    let bad = DeployConfig::new("ok").agent_name("Not Valid");
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
    assert_eq!(c.get_agent_name(), "my-agent");
    assert_eq!(
        c.get_image(),
        Some("registry.example.com:5000/team/my-agent:1.2.3")
    );
    assert_eq!(c.get_image_credentials(), Some("my-pull-secret"));
    assert_eq!(c.get_secret_set(), Some("my-agent-secrets"));
    assert_eq!(c.get_region(), Some("us-west"));
    assert_eq!(c.get_agent_profile(), Some("agent-2x"));
    assert_eq!(c.get_websocket_auth(), Some("token"));
    assert_eq!(c.get_max_session_duration(), Some(3600));
    assert_eq!(c.get_architecture(), Some("arm64"));
    assert_eq!(
        (c.get_min_agents(), c.get_max_agents()),
        (Some(1), Some(10))
    );
    assert_eq!(c.get_krisp_audio_filter(), Some("pro"));
    let build = c.get_build().unwrap();
    assert_eq!(build.get_context_dir(), "bot");
    assert_eq!(build.get_dockerfile(), "Dockerfile.prod");
    assert_eq!(build.get_exclude_patterns(), ["*.log", "tests/"]);
    let docker = c.get_docker().unwrap();
    assert_eq!(docker.get_registry(), Some("custom"));
    assert_eq!(docker.get_registry_username(), Some("me"));
    assert_eq!(docker.get_registry_url(), Some("registry.example.com"));
    assert!(!docker.get_auto_latest());
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
    let r = c.get_resources().unwrap();
    assert_eq!((r.cpu(), r.memory()), ("500m", "4Gi"));
    let c = DeployConfig::from_toml_str(
        "agent_name = \"a\"\n[resources]\ncpu = 2\nmemory = \"1.5Gi\"\n",
        "f",
    )
    .unwrap();
    assert_eq!(c.get_resources().unwrap().cpu(), "2");

    let c = DeployConfig::from_toml_str(
        "agent_name = \"a\"\n[git]\nrepo = \"me/bot\"\nbranch = \"main\"\nsubdirectory = \"bot\"\n",
        "f",
    )
    .unwrap();
    // Read (its keys checked), but not a source the API can deploy.
    let e = c.check_source().unwrap_err().to_string();
    assert!(
        e.contains("f:2: git: the REST API cannot deploy from a GitHub source"),
        "{e}"
    );

    let id = "7f1c2a9e-3c1b-4c9a-9d2e-0b6f3f1e2d3c";
    let c = DeployConfig::from_toml_str(&format!("agent_name = \"a\"\nbuild_id = \"{id}\"\n"), "f")
        .unwrap();
    assert_eq!(c.get_build_id(), Some(Uuid::parse_str(id).unwrap()));
    c.check_source().unwrap();
}

#[test]
fn defaults_of_build_and_docker_tables() {
    let c = DeployConfig::from_toml_str("agent_name = \"a\"\n[build]\n[docker]\n", "f").unwrap();
    let build = c.get_build().unwrap();
    assert_eq!(
        (build.get_context_dir(), build.get_dockerfile()),
        (".", "Dockerfile")
    );
    assert!(build.get_exclude_patterns().is_empty());
    assert!(c.get_docker().unwrap().get_auto_latest());
    c.check_source().unwrap();
}

#[test]
fn range_error_names_file_line_and_field() {
    let e = err("agent_name = \"a\"\nimage = \"a:1\"\n\nmax_session_duration = 30\n");
    assert_eq!(
        e,
        "request not sent: pcc-deploy.toml:4: max_session_duration: must be between 60 and 14400 (got 30)"
    );
    let e = err("agent_name = \"a\"\nmax_session_duration = 99999999999\n");
    assert!(
        e.contains("pcc-deploy.toml:2: max_session_duration: must be between"),
        "{e}"
    );
    let e = err("agent_name = \"a\"\nmax_session_duration = 14401\n");
    assert!(e.contains("pcc-deploy.toml:2: max_session_duration"), "{e}");
    DeployConfig::from_toml_str("agent_name = \"a\"\nmax_session_duration = 14400\n", "f").unwrap();
    DeployConfig::from_toml_str("agent_name = \"a\"\nmax_session_duration = 60\n", "f").unwrap();
}

#[test]
fn a_count_beyond_u32_is_refused_with_the_rule_it_breaks() {
    // Breaks the spec's rule: that rule is named.
    let e = err("agent_name = \"a\"\n[scaling]\nmin_agents = -1\n");
    assert!(
        e.contains("pcc-deploy.toml:3: scaling.min_agents: must be at least 0 (got -1)"),
        "{e}"
    );
    // Within the spec's rule (no maximum), but not a count this config holds.
    let e = err("agent_name = \"a\"\n[scaling]\nmax_agents = 5000000000\n");
    assert!(
        e.contains(
            "pcc-deploy.toml:3: scaling.max_agents: must be at most 4294967295 (got 5000000000)"
        ),
        "{e}"
    );
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
            e.contains("pcc-deploy.toml:1: agent_name: use lowercase letters")
                || e.contains("pcc-deploy.toml:1: agent_name: longer than 63 characters"),
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
        DeployConfig::new("a").image(good).validate().unwrap();
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
            .image(bad)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("request not sent: image: "), "{bad}: {e}");
    }
    let e = DeployConfig::new("a")
        .image("host:5000/repo")
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("must carry a tag"), "{e}");
}

#[test]
fn image_and_build_id_are_exclusive_and_one_source_is_needed() {
    let id = Uuid::nil();
    let e = DeployConfig::new("a")
        .image("bot:1")
        .build_id(id)
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
    DeployConfig::new("a").build_id(id).check_source().unwrap();
    DeployConfig::new("a")
        .build(BuildSettings::new())
        .check_source()
        .unwrap();
    DeployConfig::new("a")
        .image("bot:1")
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
        .min_agents(0)
        .max_agents(1)
        .validate()
        .unwrap();
    DeployConfig::new("a")
        .min_agents(3)
        .max_agents(3)
        .validate()
        .unwrap();
    DeployConfig::new("a").min_agents(3).validate().unwrap();
    let e = DeployConfig::new("a")
        .max_agents(0)
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
        e.contains("pcc-deploy.toml:3: resources.cpu: give a number with an optional unit"),
        "{e}"
    );
    assert!(
        e.contains("pcc-deploy.toml:4: resources.memory: give a number with an optional unit"),
        "{e}"
    );
    // The quantity rule is the generated types'; these only show it is used.
    for good in ["500m", "2", "0.5", "4Gi", "1.5G", "100Ki"] {
        let config = DeployConfig::new("a").resources(Resources::new(good, good));
        config.validate().unwrap();
    }
    for bad in ["m", ".5", "5.", "4gb", "1 Gi", "-1", "4Gii"] {
        let config = DeployConfig::new("a").resources(Resources::new(bad, "1Gi"));
        let e = config.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("request not sent: resources.cpu: "),
            "{bad}: {e}"
        );
    }
}

#[test]
fn values_the_request_types_take_pass_new_ones_included() {
    // Architectures and Krisp VIVA filters are open enums in the request
    // types: a value newer than this crate reaches the body unchanged.
    let text = "agent_name = \"a\"\nimage = \"bot:1\"\narchitecture = \"riscv64\"\n\
                [krisp_viva]\naudio_filter = \"studio\"\n";
    let config = DeployConfig::from_toml_str(text, "pcc-deploy.toml").unwrap();
    assert_eq!(config.get_krisp_audio_filter(), Some("studio"));
    let body = serde_json::to_value(config.create_request().unwrap()).unwrap();
    assert_eq!(body["krispViva"]["audioFilter"], "studio");
    assert_eq!(body["architecture"], "riscv64");
    let body = serde_json::to_value(config.update_request(false).unwrap()).unwrap();
    assert_eq!(body["krispViva"]["audioFilter"], "studio");

    // What the file leaves out: the official CLI's defaults.
    let config =
        DeployConfig::from_toml_str("agent_name = \"a\"\nimage = \"bot:1\"\n", "f").unwrap();
    let body = serde_json::to_value(config.update_request(false).unwrap()).unwrap();
    assert_eq!(body["autoScaling"], serde_json::json!({"minAgents": 0}));
    assert_eq!(body["krispViva"], serde_json::json!({"audioFilter": null}));
}

#[test]
fn the_file_and_the_official_cli_add_their_own_rules() {
    let e = err("agent_name = \"a\"\n[docker]\nregistry = \"ecr\"\n");
    assert!(
        e.contains("pcc-deploy.toml:3: docker.registry: must be `dockerhub` or `custom`"),
        "{e}"
    );
    let e = err("agent_name = \"a\"\nsecret_set = \"My_Secrets\"\n");
    assert!(
        e.contains("pcc-deploy.toml:2: secret_set: use lowercase letters a-z, digits, `-` and `.`"),
        "{e}"
    );
    let e = err("agent_name = \"a\"\nimage_credentials = \"ab\"\n");
    assert!(
        e.contains("pcc-deploy.toml:2: image_credentials: shorter than 3 characters"),
        "{e}"
    );
    for empty in ["region", "architecture"] {
        let e = err(&format!("agent_name = \"a\"\n{empty} = \"\"\n"));
        assert!(
            e.contains(&format!("pcc-deploy.toml:2: {empty}: must not be empty")),
            "{e}"
        );
    }
    let e = err("agent_name = \"a\"\n[krisp_viva]\naudio_filter = \"\"\n");
    assert!(
        e.contains("pcc-deploy.toml:3: krisp_viva.audio_filter: must not be empty"),
        "{e}"
    );
}

#[test]
fn a_new_agent_name_has_the_create_rule() {
    // 55 characters: a fine path name, too long for a new agent.
    let name = "a".repeat(55);
    let text = format!("agent_name = \"{name}\"\nimage = \"bot:1\"\n");
    let config = DeployConfig::from_toml_str(&text, "pcc-deploy.toml").unwrap();
    config.update_request(false).unwrap();
    let e = config.create_request().unwrap_err().to_string();
    assert_eq!(
        e,
        "request not sent: pcc-deploy.toml:1: agent_name: a new agent's name: longer than 54 characters"
    );
}

#[test]
fn a_git_table_is_read_but_not_deployable() {
    // Its keys are checked like any table's.
    let e = err("agent_name = \"a\"\n[git]\nrepository = \"me/bot\"\n");
    assert!(
        e.contains("pcc-deploy.toml:3: git.repository: unknown field"),
        "{e}"
    );
    let text =
        "agent_name = \"a\"\nimage = \"bot:1\"\n\n[git]\nrepo = \"me/bot\"\nbranch = \"main\"\n";
    let config = DeployConfig::from_toml_str(text, "pcc-deploy.toml").unwrap();
    let e = config.check_source().unwrap_err().to_string();
    assert!(
        e.starts_with("request not sent: pcc-deploy.toml:4: git: the REST API cannot deploy from a GitHub source"),
        "{e}"
    );
}

#[test]
fn every_problem_is_listed_and_setters_forget_the_file_line() {
    let text = "agent_name = \"A\"\nmax_session_duration = 30\narchitecture = \"\"\n";
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
        .max_session_duration(10)
        .validate()
        .unwrap_err()
        .to_string();
    // The bad value was the caller's (a flag), not the file's.
    assert_eq!(
        e,
        "request not sent: max_session_duration: must be between 60 and 14400 (got 10)"
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
        DeployConfig::from_file(&path).unwrap().get_image(),
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
    let build = config.get_build().unwrap();
    assert_eq!(build.get_context_dir(), "bot");
    assert!(build.get_allow_secrets().is_empty());
    assert_eq!(build.get_base_dir(), Some(sub.as_path()));
    assert_eq!(build.context_path(), sub.join("bot"));
    assert_eq!(build.get_dockerfile(), "docker/Dockerfile");

    // No context_dir: the file's directory; an absolute one as is.
    std::fs::write(
        &path,
        "agent_name = \"a\"\n[build]\nallow_secrets = [\"certs/ca.pem\"]\n",
    )
    .unwrap();
    let config = DeployConfig::from_file(&path).unwrap();
    assert_eq!(config.get_build().unwrap().context_path(), sub);
    assert_eq!(
        config.get_build().unwrap().get_allow_secrets(),
        ["certs/ca.pem"]
    );
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
    assert_eq!(config.get_build().unwrap().context_path(), abs);

    // A bare file name: the current directory, as before.
    assert_eq!(config_dir(Path::new(DEPLOY_CONFIG_FILE)), Path::new("."));
    // Built in code: the current directory unless a base is given.
    assert_eq!(
        BuildSettings::new().context_dir("bot").context_path(),
        Path::new("bot")
    );
    assert_eq!(
        BuildSettings::new()
            .context_dir("bot")
            .base_dir("sub")
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
