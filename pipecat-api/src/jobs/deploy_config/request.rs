//! The `createService` and `updateService` bodies a [`DeployConfig`]
//! deploys as: used by the deploy itself, by its plan and by a dry run, so
//! that all three show and send the same request. The generated builders
//! also check each of the config's values, so that the spec's rules (a
//! name's pattern, a range, the values of an enum) are stated once, there.

use crate::Error;
use crate::jobs::deploy_config::DeployConfig;
use crate::types::{
    self, AgentResources, AutoScalingConfig, CreateServiceRequest, KrispVivaConfig,
    UpdateServiceRequest,
};

/// Sets the fields create and update share from a config.
macro_rules! common_fields {
    ($body:expr, $config:expr) => {{
        let config: &DeployConfig = $config;
        let mut body = $body;
        if let Some(image) = config.get_image() {
            body = body.image(image);
        }
        if let Some(build_id) = config.get_build_id() {
            body = body.build_id(build_id);
        }
        if let Some(set) = config.get_image_credentials() {
            body = body.image_pull_secret_set(set);
        }
        if let Some(set) = config.get_secret_set() {
            body = body.secret_set(set);
        }
        if let Some(profile) = config.get_agent_profile() {
            body = body.agent_profile(profile);
        }
        if let Some(auth) = config.get_websocket_auth() {
            body = body.websocket_auth(auth);
        }
        if let Some(seconds) = config.get_max_session_duration() {
            body = body.max_session_duration(i64::from(seconds));
        }
        if let Some(architecture) = config.get_architecture() {
            body = body.architecture(architecture);
        }
        body = body.auto_scaling(scaling(config));
        body = body.krisp_viva(krisp_viva(config));
        if let Some(resources) = config.get_resources() {
            body = body.resources(
                AgentResources::builder()
                    .cpu(resources.cpu())
                    .memory(resources.memory()),
            );
        }
        body
    }};
}

/// The file is the desired state: scaling is always sent, with the official
/// CLI's default (no warm agents) for what the file leaves out.
fn scaling(config: &DeployConfig) -> crate::types::builder::AutoScalingConfig {
    let scaling =
        AutoScalingConfig::builder().min_agents(i64::from(config.get_min_agents().unwrap_or(0)));
    match config.get_max_agents() {
        Some(max) => scaling.max_agents(i64::from(max)),
        None => scaling,
    }
}

/// Krisp VIVA is always sent, off (`null`) when the file leaves it out, as
/// the official CLI sends it.
fn krisp_viva(config: &DeployConfig) -> crate::types::builder::KrispVivaConfig {
    match config.get_krisp_audio_filter() {
        Some(filter) => KrispVivaConfig::builder().audio_filter(filter),
        None => KrispVivaConfig::builder().set_audio_filter(None),
    }
}

impl DeployConfig {
    /// The `createService` body this config deploys as, when the agent does
    /// not exist yet: for a dry run that shows exactly what would be sent.
    /// Checks the config's rules ([`DeployConfig::validate`]) first, then
    /// those only a new agent has (its name is at most 54 characters).
    pub fn create_request(&self) -> Result<CreateServiceRequest, Error> {
        self.validate()?;
        if let Err(e) = types::CreateServiceRequestServiceName::try_from(self.get_agent_name()) {
            return Err(Error::invalid_parameter(
                &self.source_name("agent_name"),
                format_args!("a new agent's name: {e}"),
            ));
        }
        create_body(self)
            .try_into()
            .map_err(|e| Error::invalid_parameter("createService body", e))
    }

    /// The `updateService` body this config deploys as, when the agent
    /// exists: for a dry run that shows exactly what would be sent. Checks
    /// the config's rules ([`DeployConfig::validate`]) first.
    pub fn update_request(&self, force_redeploy: bool) -> Result<UpdateServiceRequest, Error> {
        self.validate()?;
        update_body(self, force_redeploy)
            .try_into()
            .map_err(|e| Error::invalid_parameter("updateService body", e))
    }
}

/// The create body for `config`.
pub(crate) fn create_body(config: &DeployConfig) -> crate::types::builder::CreateServiceRequest {
    let mut body = CreateServiceRequest::builder().service_name(config.get_agent_name());
    if let Some(region) = config.get_region() {
        body = body.region(region);
    }
    common_fields!(body, config)
}

/// The update body for `config`. Scaling and Krisp VIVA are always sent
/// (defaults for what the file leaves out); other fields the config leaves
/// out are not sent and keep their current values (the API's rule for
/// updates).
pub(crate) fn update_body(
    config: &DeployConfig,
    force_redeploy: bool,
) -> crate::types::builder::UpdateServiceRequest {
    let body = UpdateServiceRequest::builder().force_redeploy(force_redeploy);
    common_fields!(body, config)
}

/// Each value of `config` the request types refuse, as its key in
/// `pcc-deploy.toml` and the rule (as the generated check states it).
pub(crate) fn value_problems(config: &DeployConfig) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let name = config.get_agent_name();
    // Empty: `required`, said by the config's own rules.
    if !name.is_empty()
        && let Err(e) = types::UpdateServiceAgentName::try_from(name)
    {
        problems.push(("agent_name", e.to_string()));
    }
    for (field, value) in [
        ("secret_set", config.get_secret_set()),
        ("image_credentials", config.get_image_credentials()),
    ] {
        if let Some(set) = value.filter(|s| !s.is_empty())
            && let Err(e) = types::UpsertSecretSetSetName::try_from(set)
        {
            problems.push((field, e.to_string()));
        }
    }
    for (field, check, value) in [
        (
            "max_session_duration",
            IntegerField::MaxSessionDuration,
            config.get_max_session_duration(),
        ),
        (
            "scaling.min_agents",
            IntegerField::MinAgents,
            config.get_min_agents(),
        ),
        (
            "scaling.max_agents",
            IntegerField::MaxAgents,
            config.get_max_agents(),
        ),
    ] {
        if let Some(rule) = value.and_then(|n| check.refusal(i64::from(n))) {
            problems.push((field, rule));
        }
    }
    if let Some(resources) = config.get_resources() {
        if let Err(e) = types::AgentResourcesCpu::try_from(resources.cpu()) {
            problems.push(("resources.cpu", e.to_string()));
        }
        if let Err(e) = types::AgentResourcesMemory::try_from(resources.memory()) {
            problems.push(("resources.memory", e.to_string()));
        }
    }
    problems
}

/// An integer field of the request bodies, checked by its generated setter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IntegerField {
    MaxSessionDuration,
    MinAgents,
    MaxAgents,
}

impl IntegerField {
    /// The rule `value` breaks, as the generated setter states it (without
    /// the API's field name), if it breaks one.
    pub(crate) fn refusal(self, value: i64) -> Option<String> {
        let refused = match self {
            IntegerField::MaxSessionDuration => UpdateServiceRequest::try_from(
                UpdateServiceRequest::builder().max_session_duration(value),
            )
            .err(),
            IntegerField::MinAgents => {
                AutoScalingConfig::try_from(AutoScalingConfig::builder().min_agents(value)).err()
            }
            IntegerField::MaxAgents => {
                AutoScalingConfig::try_from(AutoScalingConfig::builder().max_agents(value)).err()
            }
        }?;
        // `maxAgents: must be at least 1 (got 0)`: the key is the caller's.
        let message = refused.to_string();
        Some(match message.split_once(": ") {
            Some((_, rule)) => rule.to_string(),
            None => message,
        })
    }
}
