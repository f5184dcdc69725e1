//! Deploying an agent in one call: create it or update it from a
//! [`DeployConfig`] (after a cloud build of its `[build]` table, when it
//! names no image), then wait until the rollout of *this* deployment is
//! done.
//!
//! ```no_run
//! use pipecat_api::deploy::{DeployEvent, DeployOptions};
//! use pipecat_api::deploy_config::DeployConfig;
//!
//! # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
//! let config = DeployConfig::from_file("pcc-deploy.toml")?;
//! let options = DeployOptions::new().on_progress(|event| match event {
//!     DeployEvent::Phase(phase) => eprintln!("{phase}"),
//!     other => eprintln!("{other:?}"),
//! });
//! let deployed = client.deploy(&config, options).await?;
//! println!("deployment {} is ready", deployed.deployment_id);
//! # Ok(()) }
//! ```
//!
//! # A cloud build first
//!
//! A config with a `[build]` table and neither `image` nor `build_id`
//! (feature `cloud-build`, on by default) is built in the cloud first, as
//! [`Client::cloud_build`] does, in the agent's region (the live agent's,
//! else the config's, else the organization's default), then deployed with
//! the new build id. The region is checked once, by the plan, before
//! anything is packed; a config whose secret set is missing fails before
//! the build too. The build's steps are reported as [`DeployEvent::Build`],
//! then [`DeployEvent::Built`], before the rollout's events. A build that
//! fails ends the deploy before anything is deployed;
//! [`DeployOptions::cancel_token`] stops it while packing (as
//! [`CloudBuild::cancel_token`] does) and, cancelled at any time before the
//! create or update is sent, ends the deploy with [`Error::Cancelled`] and
//! nothing deployed.
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
use std::sync::Arc;

use serde::Serialize;

#[cfg(feature = "cloud-build")]
use crate::jobs::build_context::CancelToken;
#[cfg(feature = "cloud-build")]
use crate::jobs::cloud_build::{BuildProgress, CloudBuild, FinishedBuild};
use crate::jobs::deploy_config::DeployConfig;
use crate::jobs::deploy_config::request::{create_body, update_body};
use crate::jobs::deploy_plan::DeployPlan;
use crate::jobs::poll::{Verdict, poll};
use crate::jobs::state::JobState;
use crate::types::{RevisionInfo, RevisionInfoPhase, ServiceDetailsResponse};
use crate::{Client, Error, Job, Wait};

/// A progress callback of a deploy or a rollout wait.
type Callback = Arc<dyn Fn(&DeployEvent) + Send + Sync>;

/// How [`Client::deploy`] behaves: a builder,
/// `DeployOptions::new().wait(w).force_redeploy(true).on_progress(f)`.
/// The defaults wait with [`Wait::default`], wait for the config's secret
/// set first, do not force a redeploy of an unchanged agent, and report
/// nothing.
#[derive(Clone)]
#[non_exhaustive]
pub struct DeployOptions {
    wait: Wait,
    force_redeploy: bool,
    wait_for_secret_set: bool,
    progress: Option<Callback>,
    #[cfg(feature = "cloud-build")]
    build_wait: Option<Wait>,
    #[cfg(feature = "cloud-build")]
    cancel: CancelToken,
}

impl fmt::Debug for DeployOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DeployOptions");
        d.field("wait", &self.wait)
            .field("force_redeploy", &self.force_redeploy)
            .field("wait_for_secret_set", &self.wait_for_secret_set)
            .field("on_progress", &self.progress.is_some());
        #[cfg(feature = "cloud-build")]
        d.field("build_wait", &self.build_wait)
            .field("cancelled", &self.cancel.is_cancelled());
        d.finish()
    }
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            wait: Wait::default(),
            force_redeploy: false,
            wait_for_secret_set: true,
            progress: None,
            #[cfg(feature = "cloud-build")]
            build_wait: None,
            #[cfg(feature = "cloud-build")]
            cancel: CancelToken::new(),
        }
    }
}

impl DeployOptions {
    /// The defaults (see [`DeployOptions`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// How long and how often to poll, for the secret set and for the
    /// rollout (each gets the whole timeout).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Redeploy even when the configuration did not change (to pull a moved
    /// image tag or pick up changed secret values). Only for an update.
    pub fn force_redeploy(mut self, force: bool) -> Self {
        self.force_redeploy = force;
        self
    }

    /// Before deploying, wait until the config's `secret_set` is ready:
    /// the service refuses (409) a deploy naming a set that is not. On by
    /// default; a missing set is then a not-found error before anything is
    /// built or deployed.
    pub fn wait_for_secret_set(mut self, wait: bool) -> Self {
        self.wait_for_secret_set = wait;
        self
    }

    /// Calls `callback` with each step as it happens, in order (see
    /// [`DeployEvent`]). It runs on the task making the deploy (and, for a
    /// cloud build's upload progress, inside the HTTP client): keep it
    /// short.
    pub fn on_progress(mut self, callback: impl Fn(&DeployEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// How long and how often to poll the cloud build made first (default:
    /// [`CloudBuild::new`]'s, at most 30 minutes).
    #[cfg(feature = "cloud-build")]
    pub fn build_wait(mut self, wait: Wait) -> Self {
        self.build_wait = Some(wait);
        self
    }

    /// A token that stops the deploy: while the cloud build packs, as
    /// [`CloudBuild::cancel_token`] does; and at any time before the create
    /// or update is sent, the deploy then ends with [`Error::Cancelled`]
    /// and nothing is deployed (a build already made stays).
    #[cfg(feature = "cloud-build")]
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// These options with another [`Wait`].
    #[deprecated(note = "use `DeployOptions::wait`")]
    pub fn with_wait(self, wait: Wait) -> Self {
        self.wait(wait)
    }

    /// These options with `force_redeploy` set.
    #[deprecated(note = "use `DeployOptions::force_redeploy`")]
    pub fn with_force_redeploy(self, force: bool) -> Self {
        self.force_redeploy(force)
    }

    /// These options with `wait_for_secret_set` set.
    #[deprecated(note = "use `DeployOptions::wait_for_secret_set`")]
    pub fn with_wait_for_secret_set(self, wait: bool) -> Self {
        self.wait_for_secret_set(wait)
    }

    fn report(&self, event: DeployEvent) {
        if let Some(callback) = &self.progress {
            callback(&event);
        }
    }
}

/// How [`Client::wait_rollout`] waits: a builder,
/// `RolloutOptions::new().wait(w).on_progress(f)`, like [`DeployOptions`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RolloutOptions {
    wait: Wait,
    progress: Option<Callback>,
}

impl fmt::Debug for RolloutOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RolloutOptions")
            .field("wait", &self.wait)
            .field("on_progress", &self.progress.is_some())
            .finish()
    }
}

impl RolloutOptions {
    /// The defaults: [`Wait::default`], reporting nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long and how often to poll.
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Calls `callback` with each phase change, then `Done` (see
    /// [`DeployEvent::Phase`]).
    pub fn on_progress(mut self, callback: impl Fn(&DeployEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }
}

pub use crate::jobs::state::RolloutPhase;

/// What a deploy reports while it runs, in this order: maybe
/// `WaitingForSecretSet`, then `Planned`, then (a cloud build first) each
/// `Build` step and `Built`, then `Submitted` (or `Unchanged` when nothing
/// was sent), then each `Phase` change, then `Done`.
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
    /// A step of the cloud build made first (see [`BuildProgress`] for
    /// their order).
    #[cfg(feature = "cloud-build")]
    Build(BuildProgress),
    /// The cloud build made first succeeded: its id is deployed next.
    #[cfg(feature = "cloud-build")]
    Built {
        /// The build.
        build_id: uuid::Uuid,
        /// Whether an earlier build of the same context was reused.
        cached: bool,
        /// The context hash (16 hex digits).
        context_hash: String,
    },
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

/// A finished deploy. Serializable (camelCase; a cloud build made first
/// as its `buildId`, `contextHash` and `cached`), e.g. for a CLI's JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Deployed {
    /// The agent.
    pub agent_name: String,
    /// The deployment this deploy made (or, for an update that changed
    /// nothing, the one already in place).
    pub deployment_id: String,
    /// True when the agent was created, false when it was updated.
    pub created: bool,
    /// True when the agent already ran this configuration, so nothing was
    /// sent (a no-change plan without [`DeployOptions::force_redeploy`]).
    pub unchanged: bool,
    /// The plan the deploy computed from the live agent before sending.
    pub plan: DeployPlan,
    /// The cloud build made first, when the config's `[build]` table was
    /// built.
    #[cfg(feature = "cloud-build")]
    #[serde(serialize_with = "build_summary")]
    pub build: Option<FinishedBuild>,
    /// The agent as last read, with this deployment reconciled and ready.
    pub agent: ServiceDetailsResponse,
}

/// A build made first, as a deploy's JSON shows it.
#[cfg(feature = "cloud-build")]
fn build_summary<S: serde::Serializer>(
    build: &Option<FinishedBuild>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary<'a> {
        build_id: uuid::Uuid,
        context_hash: &'a str,
        cached: bool,
    }
    build
        .as_ref()
        .map(|b| Summary {
            build_id: b.build_id(),
            context_hash: b.context_hash(),
            cached: b.cached(),
        })
        .serialize(serializer)
}

/// The `[build]` table a deploy of `config` builds first: one with no
/// image and no build id.
#[cfg(feature = "cloud-build")]
fn pending_build(config: &DeployConfig) -> Option<&crate::jobs::deploy_config::BuildSettings> {
    if config.get_image().is_some() || config.get_build_id().is_some() {
        return None;
    }
    config.get_build()
}

/// Checks `config` for a deploy: its rules, and that it names an image or a
/// build id, or (feature `cloud-build`) a `[build]` table to build first.
fn check(config: &DeployConfig) -> Result<(), Error> {
    config.validate()?;
    config.check_source()?;
    #[cfg(feature = "cloud-build")]
    if pending_build(config).is_some() {
        return Ok(());
    }
    if config.get_image().is_none() && config.get_build_id().is_none() {
        return Err(Error::InvalidRequest {
            message: "image: a deploy needs `image`, `build_id` or a `[build]` table (feature \
                      `cloud-build`); a `[git]` source cannot be deployed"
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
    /// Each step is reported to [`DeployOptions::on_progress`] (see
    /// [`DeployEvent`] for the order).
    ///
    /// Before anything is sent, the config is checked
    /// ([`DeployConfig::validate`], [`DeployConfig::check_source`], and it
    /// must name an `image`, a `build_id` or a `[build]` table): a bad config
    /// is [`Error::InvalidRequest`] and no request is made. When the config
    /// names a `secret_set`, the deploy first waits for it to be ready
    /// (the service answers 409 to a deploy naming a set that is not;
    /// [`DeployOptions::wait_for_secret_set`]). A `[build]` table with no
    /// image or build id is built in the cloud first (see [A cloud build
    /// first](crate::jobs::deploy#a-cloud-build-first)); [`Deployed::build`]
    /// is that build.
    ///
    /// The config is the desired state: `scaling.min_agents` left out is
    /// sent as `0` and a Krisp VIVA filter left out as off, as the official
    /// CLI does; other fields left out keep their current values on update
    /// (see [`crate::jobs::deploy_plan`]). The region cannot change: a config
    /// naming another region than the agent's is refused before anything
    /// is sent or built. Before sending, the plan is computed from the live
    /// agent ([`DeployEvent::Planned`]); when it changes nothing, nothing is
    /// sent unless [`DeployOptions::force_redeploy`] ([`Deployed::unchanged`]),
    /// and the wait is for the deployment already asked for.
    pub async fn deploy(
        &self,
        config: &DeployConfig,
        options: DeployOptions,
    ) -> Result<Deployed, Error> {
        check(config)?;
        let name = config.get_agent_name();
        if options.wait_for_secret_set
            && let Some(set_name) = config.get_secret_set()
        {
            options.report(DeployEvent::WaitingForSecretSet {
                set_name: set_name.to_string(),
            });
            self.wait_secret_set_ready(set_name, options.wait).await?;
        }

        // One read of the agent: the plan (and its region check), the
        // build's region and create-or-update all come from it.
        let existing = self.live_agent(name).await?;
        let plan = DeployPlan::compute(config, existing.as_ref())?;
        options.report(DeployEvent::Planned(plan.clone()));

        #[cfg(feature = "cloud-build")]
        let build = self.build_first(config, &plan, &options).await?;
        #[cfg(feature = "cloud-build")]
        let built_config = build
            .as_ref()
            .map(|b| config.clone().build_id(b.build_id()));
        #[cfg(feature = "cloud-build")]
        let config = built_config.as_ref().unwrap_or(config);
        #[cfg(feature = "cloud-build")]
        if options.cancel.is_cancelled() {
            let built = match &build {
                Some(b) => format!("; build {} stays", b.build_id()),
                None => String::new(),
            };
            return Err(Error::Cancelled {
                what: format!("the deploy of agent {name}, before anything was deployed{built}"),
            });
        }
        let mut on_progress = |event: &DeployEvent| options.report(event.clone());

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
                    agent_name: name.to_string(),
                    deployment_id,
                    created: false,
                    unchanged: true,
                    plan,
                    #[cfg(feature = "cloud-build")]
                    build,
                    agent,
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
            agent_name: name.to_string(),
            deployment_id,
            created,
            unchanged: false,
            plan,
            #[cfg(feature = "cloud-build")]
            build,
            agent,
        })
    }

    /// The cloud build of `config`'s `[build]` table, when the deploy
    /// makes one first, in the region the plan found (the live agent's, or
    /// the config's; else the organization's default).
    #[cfg(feature = "cloud-build")]
    async fn build_first(
        &self,
        config: &DeployConfig,
        plan: &DeployPlan,
        options: &DeployOptions,
    ) -> Result<Option<FinishedBuild>, Error> {
        let Some(settings) = pending_build(config) else {
            return Ok(None);
        };
        let mut job = CloudBuild::from_settings(settings).cancel_token(options.cancel.clone());
        if let Some(region) = plan.region.as_deref().or(config.get_region()) {
            job = job.region(region);
        }
        if let Some(wait) = options.build_wait {
            job = job.wait(wait);
        }
        if let Some(callback) = options.progress.clone() {
            job = job.on_progress(move |step| callback(&DeployEvent::Build(step.clone())));
        }
        let finished = self.cloud_build(job).await?;
        options.report(DeployEvent::Built {
            build_id: finished.build_id(),
            cached: finished.cached(),
            context_hash: finished.context_hash().to_string(),
        });
        Ok(Some(finished))
    }

    /// Waits until the rollout of `deployment_id` (the
    /// `desiredDeploymentId` a create or update answered) is done: the
    /// agent's `reconciledDeploymentId` equals it and `ready` is true.
    /// Returns the agent as last read. Reports each phase change, then
    /// `Done`, to [`RolloutOptions::on_progress`].
    ///
    /// A failed deployment (revision phase `Failed`, or `Degraded` while
    /// nothing serves), or one replaced by a newer deployment, is
    /// [`Error::Failed`] with the service's reason; running out of time is
    /// [`Error::Timeout`] naming the last state seen. See the [module
    /// docs](crate::jobs::deploy).
    pub async fn wait_rollout(
        &self,
        agent_name: &str,
        deployment_id: &str,
        options: RolloutOptions,
    ) -> Result<ServiceDetailsResponse, Error> {
        let mut on_progress = |event: &DeployEvent| {
            if let Some(callback) = &options.progress {
                callback(event);
            }
        };
        self.rollout(
            agent_name,
            Some(deployment_id),
            options.wait,
            &mut on_progress,
        )
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
        let config = DeployConfig::new("bot").image("repo/bot:1").max_agents(3);
        let request = config.create_request().unwrap();
        let sent: CreateServiceRequest = create_body(&config).try_into().unwrap();
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::to_value(&sent).unwrap()
        );
        assert_eq!(request.image.as_deref(), Some("repo/bot:1"));
        let bad = DeployConfig::new("bot").max_session_duration(5);
        let err = bad.create_request().unwrap_err().to_string();
        assert!(err.contains("max_session_duration"), "{err}");
    }

    #[test]
    fn bodies_carry_every_field() {
        let config = DeployConfig::new("bot")
            .image("me/bot:1")
            .secret_set("bot-secrets")
            .image_credentials("bot-pull")
            .region("eu-central")
            .agent_profile("agent-2x")
            .websocket_auth("token")
            .max_session_duration(600)
            .architecture("arm64")
            .min_agents(1)
            .max_agents(4)
            .krisp_audio_filter("tel");
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
        let config = DeployConfig::new("bot").image("me/bot:1");
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
