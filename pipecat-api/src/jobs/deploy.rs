//! Deploying an agent in one call: create it or update it from a
//! [`DeployConfig`], then wait until the rollout of *this* deployment is
//! done.
//!
//! ```no_run
//! use pipecat_api::deploy::{DeployEvent, DeployOptions};
//! use pipecat_api::deploy_config::DeployConfig;
//!
//! # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
//! let config = DeployConfig::from_file("pcc-deploy.toml")?;
//! let deployed = client
//!     .deploy_with_progress(&config, DeployOptions::default(), |event| match event {
//!         DeployEvent::Phase(phase) => eprintln!("{phase}"),
//!         other => eprintln!("{other:?}"),
//!     })
//!     .await?;
//! println!("deployment {} is ready", deployed.deployment_id);
//! # Ok(()) }
//! ```
//!
//! # When a rollout is done
//!
//! Creating or updating an agent answers with the agent, whose
//! `desiredDeploymentId` is the deployment this call asked for. The agent's
//! `ready` alone does not say that deployment is ready: right after an
//! update the operator has not picked the new deployment up yet, and `ready`
//! is still the *earlier* deployment's readiness (true). The rollout is
//! done when the agent's `reconciledDeploymentId` equals that id **and**
//! `ready` is true. [`Client::wait_rollout`] waits for exactly that, and
//! reports each phase on the way ([`RolloutPhase`]).
//!
//! It ends early, with [`Error::Failed`] carrying the service's own reason,
//! when:
//! - the revision of this deployment is in phase `Failed` (the reason is its
//!   health's reason and message, e.g. `ImagePullBackOff: ...`);
//! - this deployment is reconciled, the agent reports a `Degraded` condition
//!   with status `True`, and the agent is not available (nothing serves);
//! - another deployment has replaced this one (`desiredDeploymentId`
//!   changed): this one will never be reconciled.
//!
//! A `Degraded` deployment that is still available (an earlier revision
//! serves) is reported as [`RolloutPhase::DegradedAvailable`] and waited on.
//! Phases, condition types and statuses newer than this crate are not
//! failures: the wait goes on until the rollout is done, fails as above, or
//! the deadline passes; the [`Error::Timeout`] then names the last state
//! seen.

use std::fmt;

use crate::jobs::deploy_config::DeployConfig;
use crate::jobs::deploy_plan::DeployPlan;
use crate::jobs::deploy_request::{create_body, update_body};
use crate::jobs::poll::{JobState, Verdict, poll};
use crate::types::{RevisionInfo, RevisionInfoPhase, ServiceDetailsResponse};
use crate::{Client, Error, Job, Wait};

/// How [`Client::deploy`] behaves. `DeployOptions::default()` waits with
/// [`Wait::default`], waits for the config's secret set first, and does not
/// force a redeploy of an unchanged agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployOptions {
    /// How long and how often to poll, for the secret set and for the
    /// rollout (each gets the whole timeout).
    pub wait: Wait,
    /// Redeploy even when the configuration did not change (to pull a moved
    /// image tag or pick up changed secret values). Only for an update.
    pub force_redeploy: bool,
    /// Before deploying, wait until the config's `secret_set` is ready:
    /// the service refuses (409) a deploy naming a set that is not. On by
    /// default; a missing set is then a not-found error before anything is
    /// deployed.
    pub wait_for_secret_set: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            wait: Wait::default(),
            force_redeploy: false,
            wait_for_secret_set: true,
        }
    }
}

impl DeployOptions {
    /// These options with another [`Wait`].
    pub fn with_wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// These options with `force_redeploy` set.
    pub fn with_force_redeploy(mut self, force: bool) -> Self {
        self.force_redeploy = force;
        self
    }

    /// These options with `wait_for_secret_set` set.
    pub fn with_wait_for_secret_set(mut self, wait: bool) -> Self {
        self.wait_for_secret_set = wait;
        self
    }
}

/// Where a rollout is, as the agent reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RolloutPhase {
    /// The operator has not picked this deployment up yet
    /// (`reconciledDeploymentId` is another deployment, or none).
    WaitingForOperator,
    /// The new revision is coming up and nothing serves yet (a new agent).
    Progressing,
    /// The new revision is coming up while an earlier one serves sessions.
    ProgressingAvailable,
    /// The deployment reports `Degraded`, but an earlier revision still
    /// serves; `reason` is the service's.
    DegradedAvailable {
        /// The service's reason.
        reason: String,
    },
    /// This deployment is reconciled and ready.
    Ready,
}

impl fmt::Display for RolloutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutPhase::WaitingForOperator => f.write_str("waiting for the operator"),
            RolloutPhase::Progressing => f.write_str("progressing"),
            RolloutPhase::ProgressingAvailable => {
                f.write_str("progressing (the earlier revision serves)")
            }
            RolloutPhase::DegradedAvailable { reason } => {
                write!(f, "degraded but available: {reason}")
            }
            RolloutPhase::Ready => f.write_str("ready"),
        }
    }
}

/// What a deploy reports while it runs, in this order: maybe
/// `WaitingForSecretSet`, then `Planned`, then `Submitted` (or `Unchanged`
/// when nothing was sent), then each `Phase` change, then `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeployEvent {
    /// Waiting for the config's secret set to be ready before deploying.
    WaitingForSecretSet {
        /// The set.
        set_name: String,
    },
    /// What the deploy changes, computed from the live agent before
    /// anything is sent (see [`crate::jobs::deploy_plan`]).
    Planned(DeployPlan),
    /// The agent already runs this configuration: nothing was sent.
    Unchanged {
        /// The agent.
        agent_name: String,
        /// The deployment already in place (or being rolled out).
        deployment_id: String,
    },
    /// The service took the deployment.
    Submitted {
        /// The agent.
        agent_name: String,
        /// The deployment asked for (the answer's `desiredDeploymentId`).
        deployment_id: String,
        /// True when the agent was created, false when it was updated.
        created: bool,
    },
    /// The rollout moved to another phase (reported on change only).
    Phase(RolloutPhase),
    /// The rollout of `deployment_id` is done: reconciled and ready.
    Done {
        /// The deployment now in place.
        deployment_id: String,
    },
}

/// A finished deploy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Deployed {
    /// The agent as last read, with this deployment reconciled and ready.
    pub agent: ServiceDetailsResponse,
    /// The deployment this deploy made (or, for an update that changed
    /// nothing, the one already in place).
    pub deployment_id: String,
    /// True when the agent was created, false when it was updated.
    pub created: bool,
    /// True when the agent already ran this configuration, so nothing was
    /// sent (a no-change plan without [`DeployOptions::force_redeploy`]).
    pub unchanged: bool,
}

/// Checks `config` for a deploy: its rules, and that it names an image or a
/// build id (a `[build]` or `[git]` source needs a cloud build first).
fn check(config: &DeployConfig) -> Result<(), Error> {
    config.validate()?;
    config.check_source()?;
    if config.image().is_none() && config.build_id().is_none() {
        return Err(Error::InvalidRequest {
            message: "image: a deploy needs `image` or `build_id`; run the cloud build of the \
                      `[build]`/`[git]` source first and deploy its build id"
                .into(),
        });
    }
    Ok(())
}

impl Client {
    /// Deploys `config`: creates the agent when it does not exist
    /// (`getService` answers 404), updates it when it does, then waits until
    /// the rollout of this deployment is done (see the [module
    /// docs](crate::jobs::deploy) for exactly when, and when it fails early).
    ///
    /// Before anything is sent, the config is checked
    /// ([`DeployConfig::validate`], [`DeployConfig::check_source`], and it
    /// must name an `image` or a `build_id`): a bad config is
    /// [`Error::InvalidRequest`] and no request is made. When the config
    /// names a `secret_set`, the deploy first waits for it to be ready
    /// (the service answers 409 to a deploy naming a set that is not;
    /// [`DeployOptions::wait_for_secret_set`]).
    ///
    /// The config is the desired state: `scaling.min_agents` left out is
    /// sent as `0` and a Krisp VIVA filter left out as off, as the official
    /// CLI does; other fields left out keep their current values on update
    /// (see [`crate::jobs::deploy_plan`]). The region cannot change: a config
    /// naming another region than the agent's is refused before anything
    /// is sent. Before sending, the plan is computed from the live agent
    /// ([`DeployEvent::Planned`]); when it changes nothing, nothing is sent
    /// unless [`DeployOptions::force_redeploy`] ([`Deployed::unchanged`]),
    /// and the wait is for the deployment already asked for.
    pub async fn deploy(
        &self,
        config: &DeployConfig,
        options: DeployOptions,
    ) -> Result<Deployed, Error> {
        self.deploy_with_progress(config, options, |_| {}).await
    }

    /// [`Client::deploy`], reporting each step to `on_progress` (see
    /// [`DeployEvent`] for the order), e.g. to show it in a CLI.
    pub async fn deploy_with_progress<F>(
        &self,
        config: &DeployConfig,
        options: DeployOptions,
        mut on_progress: F,
    ) -> Result<Deployed, Error>
    where
        F: FnMut(&DeployEvent),
    {
        check(config)?;
        let name = config.agent_name();
        if options.wait_for_secret_set
            && let Some(set_name) = config.secret_set()
        {
            on_progress(&DeployEvent::WaitingForSecretSet {
                set_name: set_name.to_string(),
            });
            self.wait_secret_set_ready(set_name, options.wait).await?;
        }

        let existing = self.live_agent(name).await?;
        let plan = DeployPlan::compute(config, existing.as_ref())?;
        on_progress(&DeployEvent::Planned(plan.clone()));
        let created = existing.is_none();
        let answer = match existing {
            None => {
                self.create_service()
                    .body(create_body(config))
                    .send()
                    .await?
            }
            // Nothing would change: nothing is sent, and the wait is for
            // the deployment already asked for (done at once when in place).
            Some(agent) if plan.is_no_change() && !options.force_redeploy => {
                let deployment_id =
                    plan.live_deployment_id
                        .clone()
                        .ok_or_else(|| Error::UnexpectedResponse {
                            status: None,
                            message: format!("agent {name} names no desiredDeploymentId"),
                        })?;
                on_progress(&DeployEvent::Unchanged {
                    agent_name: name.to_string(),
                    deployment_id: deployment_id.clone(),
                });
                let agent = if is_done(&agent, &deployment_id) {
                    on_progress(&DeployEvent::Done {
                        deployment_id: deployment_id.clone(),
                    });
                    agent
                } else {
                    self.rollout(name, Some(&deployment_id), options.wait, &mut on_progress)
                        .await?
                };
                return Ok(Deployed {
                    agent,
                    deployment_id,
                    created: false,
                    unchanged: true,
                });
            }
            Some(_) => {
                self.update_service()
                    .agent_name(name)
                    .body(update_body(config, options.force_redeploy))
                    .send()
                    .await?
            }
        };
        let deployment_id = answer
            .desired_deployment_id
            .clone()
            .or_else(|| answer.active_deployment_id.clone())
            .ok_or_else(|| Error::UnexpectedResponse {
                status: None,
                message: format!(
                    "the answer to deploying agent {name} names no desiredDeploymentId"
                ),
            })?;
        on_progress(&DeployEvent::Submitted {
            agent_name: name.to_string(),
            deployment_id: deployment_id.clone(),
            created,
        });
        let agent = self
            .rollout(name, Some(&deployment_id), options.wait, &mut on_progress)
            .await?;
        Ok(Deployed {
            agent,
            deployment_id,
            created,
            unchanged: false,
        })
    }

    /// Waits until the rollout of `deployment_id` (the
    /// `desiredDeploymentId` a create or update answered) is done: the
    /// agent's `reconciledDeploymentId` equals it and `ready` is true.
    /// Returns the agent as last read. Reports each phase change, then
    /// `Done`, to `on_progress`.
    ///
    /// A failed deployment (revision phase `Failed`, or `Degraded` while
    /// nothing serves), or one replaced by a newer deployment, is
    /// [`Error::Failed`] with the service's reason; running out of time is
    /// [`Error::Timeout`] naming the last state seen. See the [module
    /// docs](crate::jobs::deploy).
    pub async fn wait_rollout<F>(
        &self,
        agent_name: &str,
        deployment_id: &str,
        wait: Wait,
        mut on_progress: F,
    ) -> Result<ServiceDetailsResponse, Error>
    where
        F: FnMut(&DeployEvent),
    {
        self.rollout(agent_name, Some(deployment_id), wait, &mut on_progress)
            .await
    }

    /// The rollout wait (on the poller, [`crate::jobs::poll`]). With no
    /// `deployment_id`, the first `desiredDeploymentId` read is the one
    /// awaited.
    pub(crate) async fn rollout(
        &self,
        agent_name: &str,
        deployment_id: Option<&str>,
        wait: Wait,
        on_progress: &mut dyn FnMut(&DeployEvent),
    ) -> Result<ServiceDetailsResponse, Error> {
        let mut target = deployment_id.map(str::to_string);
        let mut last_phase: Option<RolloutPhase> = None;
        let polled = poll(
            &wait,
            || self.get_service().agent_name(agent_name).send(),
            |agent: &ServiceDetailsResponse| {
                if target.is_none() {
                    target = agent
                        .desired_deployment_id
                        .clone()
                        .or_else(|| agent.active_deployment_id.clone());
                }
                let phase = match assess(agent, target.as_deref()) {
                    Ok(phase) => phase,
                    Err(reason) => return Verdict::Failed(reason),
                };
                if last_phase.as_ref() != Some(&phase) {
                    on_progress(&DeployEvent::Phase(phase.clone()));
                    last_phase = Some(phase.clone());
                }
                if phase == RolloutPhase::Ready {
                    Verdict::Done
                } else {
                    Verdict::Pending(phase)
                }
            },
        )
        .await;
        let agent = polled.map_err(|end| {
            let job = Job::Rollout {
                agent_name: agent_name.to_string(),
                deployment_id: target.clone(),
            };
            end.into_error(job, |agent, phase| JobState::Rollout {
                agent: Box::new(agent),
                phase,
            })
        })?;
        let deployment_id = target
            .or_else(|| agent.reconciled_deployment_id.clone())
            .unwrap_or_default();
        on_progress(&DeployEvent::Done { deployment_id });
        Ok(agent)
    }
}

/// Whether `agent` already has `deployment_id` reconciled and ready.
fn is_done(agent: &ServiceDetailsResponse, deployment_id: &str) -> bool {
    agent.reconciled_deployment_id.as_deref() == Some(deployment_id)
        && agent.ready.or(agent.active_deployment_ready) == Some(true)
}

/// Where the rollout of `target` is, or why it failed. With no target
/// (an agent that names no deployment), `ready` decides.
fn assess(agent: &ServiceDetailsResponse, target: Option<&str>) -> Result<RolloutPhase, String> {
    let reconciled = agent.reconciled_deployment_id.as_deref();
    let ours = match target {
        Some(target) => reconciled == Some(target),
        None => true,
    };
    if let (Some(target), Some(desired)) = (target, agent.desired_deployment_id.as_deref())
        && desired != target
    {
        return Err(format!(
            "deployment {target} was replaced by a newer deployment ({desired}) before its \
             rollout finished"
        ));
    }
    let ready = agent.ready.or(agent.active_deployment_ready) == Some(true);
    let available = agent.available.unwrap_or(ready);

    // The revision of this deployment: the current one, when it names this
    // deployment (or names none and this deployment is reconciled).
    let revision: Option<&RevisionInfo> =
        agent
            .current_revision
            .as_ref()
            .filter(|r| match (&r.deployment_id, target) {
                (Some(id), Some(target)) => id == target,
                _ => ours,
            });
    if let Some(revision) = revision
        && revision.phase.as_ref() == Some(&RevisionInfoPhase::Failed)
    {
        return Err(revision_reason(revision));
    }
    if !ours {
        return Ok(RolloutPhase::WaitingForOperator);
    }
    if ready {
        return Ok(RolloutPhase::Ready);
    }
    let degraded =
        agent.conditions.iter().flatten().find(|c| {
            c.type_.as_deref() == Some("Degraded") && c.status.as_deref() == Some("True")
        });
    if let Some(condition) = degraded {
        let reason = condition_reason(condition.reason.as_deref(), condition.message.as_deref());
        if !available {
            return Err(format!("degraded and unavailable: {reason}"));
        }
        return Ok(RolloutPhase::DegradedAvailable { reason });
    }
    Ok(if available {
        RolloutPhase::ProgressingAvailable
    } else {
        RolloutPhase::Progressing
    })
}

/// `reason: message`, either alone, or a stand-in.
fn condition_reason(reason: Option<&str>, message: Option<&str>) -> String {
    let reason = reason.filter(|r| !r.is_empty());
    let message = message.filter(|m| !m.is_empty());
    match (reason, message) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => "no reason given".to_string(),
    }
}

/// The service's reason for a failed revision: its health's reason and
/// message (or termination reason and exit code), and an infrastructure
/// issue when it reports one.
fn revision_reason(revision: &RevisionInfo) -> String {
    let health = revision.health.as_ref();
    let reason = health.and_then(|h| h.reason.as_deref().or(h.last_termination_reason.as_deref()));
    let message = health.and_then(|h| h.message.as_deref());
    let mut text = match (reason, message) {
        (None, None) => "the deployment failed (no message)".to_string(),
        (reason, message) => condition_reason(reason, message),
    };
    if let Some(code) = health.and_then(|h| h.last_exit_code) {
        text.push_str(&format!(" (exit code {code})"));
    }
    if revision.has_infrastructure_issue == Some(true) {
        text.push_str("; the platform reports an infrastructure issue: contact support");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CreateServiceRequest, UpdateServiceRequest};

    #[test]
    fn the_create_request_is_checked_and_is_what_deploy_sends() {
        let config = DeployConfig::new("bot")
            .with_image("repo/bot:1")
            .with_max_agents(3);
        let request = config.create_request().unwrap();
        let sent: CreateServiceRequest = create_body(&config).try_into().unwrap();
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::to_value(&sent).unwrap()
        );
        assert_eq!(request.image.as_deref(), Some("repo/bot:1"));
        let bad = DeployConfig::new("bot").with_max_session_duration(5);
        let err = bad.create_request().unwrap_err().to_string();
        assert!(err.contains("max_session_duration"), "{err}");
    }

    #[test]
    fn bodies_carry_every_field() {
        let config = DeployConfig::new("bot")
            .with_image("me/bot:1")
            .with_secret_set("bot-secrets")
            .with_image_credentials("bot-pull")
            .with_region("eu-central")
            .with_agent_profile("agent-2x")
            .with_websocket_auth("token")
            .with_max_session_duration(600)
            .with_architecture("arm64")
            .with_min_agents(1)
            .with_max_agents(4)
            .with_krisp_audio_filter("tel");
        let body = CreateServiceRequest::try_from(create_body(&config)).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({
                "serviceName": "bot", "image": "me/bot:1", "secretSet": "bot-secrets",
                "imagePullSecretSet": "bot-pull", "region": "eu-central",
                "agentProfile": "agent-2x", "websocketAuth": "token",
                "maxSessionDuration": 600, "architecture": "arm64",
                "autoScaling": {"minAgents": 1, "maxAgents": 4},
                "krispViva": {"audioFilter": "tel"}
            })
        );
        let body = UpdateServiceRequest::try_from(update_body(&config, true)).unwrap();
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["forceRedeploy"], true);
        assert!(v.get("region").is_none() && v.get("serviceName").is_none());
        assert_eq!(v["image"], "me/bot:1");
    }

    #[test]
    fn what_the_file_leaves_out_is_sent_as_the_default() {
        let config = DeployConfig::new("bot").with_image("me/bot:1");
        for body in [
            serde_json::to_value(CreateServiceRequest::try_from(create_body(&config)).unwrap()),
            serde_json::to_value(
                UpdateServiceRequest::try_from(update_body(&config, false)).unwrap(),
            ),
        ] {
            let body = body.unwrap();
            assert_eq!(body["autoScaling"], serde_json::json!({"minAgents": 0}));
            assert_eq!(body["krispViva"], serde_json::json!({"audioFilter": null}));
            // What the API cannot reset is not sent: it keeps its value.
            assert!(body.get("secretSet").is_none() && body.get("agentProfile").is_none());
        }
    }

    #[test]
    fn ready_alone_is_not_done() {
        let agent: ServiceDetailsResponse = serde_json::from_value(serde_json::json!({
            "ready": true, "available": true,
            "desiredDeploymentId": "d2", "reconciledDeploymentId": "d1"
        }))
        .unwrap();
        assert_eq!(
            assess(&agent, Some("d2")).unwrap(),
            RolloutPhase::WaitingForOperator
        );
        assert_eq!(
            assess(&agent, Some("d1")).unwrap_err(),
            "deployment d1 was replaced by a newer deployment (d2) before its rollout finished"
        );
    }
}
