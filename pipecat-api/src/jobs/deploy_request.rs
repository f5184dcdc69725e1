//! The `createService` and `updateService` bodies a [`DeployConfig`]
//! deploys as: used by the deploy itself, by its plan and by a dry run, so
//! that all three show and send the same request.

use crate::Error;
use crate::jobs::deploy_config::DeployConfig;
use crate::types::{
    AgentResources, AutoScalingConfig, CreateServiceRequest, KrispVivaConfig, UpdateServiceRequest,
};

/// Sets the fields create and update share from a config.
macro_rules! common_fields {
    ($body:expr, $config:expr) => {{
        let config: &DeployConfig = $config;
        let mut body = $body;
        if let Some(image) = config.image() {
            body = body.image(image);
        }
        if let Some(build_id) = config.build_id() {
            body = body.build_id(build_id);
        }
        if let Some(set) = config.image_credentials() {
            body = body.image_pull_secret_set(set);
        }
        if let Some(set) = config.secret_set() {
            body = body.secret_set(set);
        }
        if let Some(profile) = config.agent_profile() {
            body = body.agent_profile(profile);
        }
        if let Some(auth) = config.websocket_auth() {
            body = body.websocket_auth(auth);
        }
        if let Some(seconds) = config.max_session_duration() {
            body = body.max_session_duration(i64::from(seconds));
        }
        if let Some(architecture) = config.architecture() {
            body = body.architecture(architecture);
        }
        // The file is the desired state: scaling and Krisp VIVA are always
        // sent, with the service's defaults (no warm agents, no filter) for
        // what the file leaves out, as the official CLI sends them.
        let mut scaling =
            AutoScalingConfig::builder().min_agents(i64::from(config.min_agents().unwrap_or(0)));
        if let Some(max) = config.max_agents() {
            scaling = scaling.max_agents(i64::from(max));
        }
        body = body.auto_scaling(scaling);
        let krisp = match config.krisp_audio_filter() {
            Some(filter) => KrispVivaConfig::builder().audio_filter(filter),
            None => KrispVivaConfig::builder().set_audio_filter(None),
        };
        body = body.krisp_viva(krisp);
        if let Some(resources) = config.resources() {
            body = body.resources(
                AgentResources::builder()
                    .cpu(resources.cpu())
                    .memory(resources.memory()),
            );
        }
        body
    }};
}

impl DeployConfig {
    /// The `createService` body this config deploys as, when the agent does
    /// not exist yet: for a dry run that shows exactly what would be sent.
    /// Checks the config's own rules ([`DeployConfig::validate`]) first.
    pub fn create_request(&self) -> Result<CreateServiceRequest, Error> {
        self.validate()?;
        create_body(self)
            .try_into()
            .map_err(|e: crate::types::error::ConversionError| {
                Error::invalid_request(format!("body: {e}"))
            })
    }
}

impl DeployConfig {
    /// The `updateService` body this config deploys as, when the agent
    /// exists: for a dry run that shows exactly what would be sent. Checks
    /// the config's own rules ([`DeployConfig::validate`]) first.
    pub fn update_request(&self, force_redeploy: bool) -> Result<UpdateServiceRequest, Error> {
        self.validate()?;
        update_body(self, force_redeploy).try_into().map_err(
            |e: crate::types::error::ConversionError| Error::InvalidRequest {
                message: format!("body: {e}"),
            },
        )
    }
}

/// The create body for `config`.
pub(crate) fn create_body(config: &DeployConfig) -> crate::types::builder::CreateServiceRequest {
    let mut body = CreateServiceRequest::builder().service_name(config.agent_name());
    if let Some(region) = config.region() {
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
