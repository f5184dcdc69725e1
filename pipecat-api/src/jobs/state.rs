//! The states a job reports: the last state a wait or a follow read (kept
//! by [`crate::Error::Failed`] and [`crate::Error::Timeout`]) and where a rollout is. Its
//! own module so that the poller, the waits and the jobs all use it without
//! using each other.

use std::fmt;

use crate::LastState;
use crate::types::{Build, GetSecretSetResponse, ServiceDetailsResponse};

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

/// A job's state as last read, as [`crate::Error::Failed`] and [`crate::Error::Timeout`]
/// keep it ([`LastState::job_state`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JobState {
    /// The secret set as `getSecretSet` answered.
    SecretSet(GetSecretSetResponse),
    /// The agent as `getService` answered during a rollout, and the rollout
    /// phase it showed (none when it showed a failure).
    Rollout {
        /// The agent.
        agent: Box<ServiceDetailsResponse>,
        /// The phase, when the state was not a failure.
        phase: Option<RolloutPhase>,
    },
    /// The build as `getBuild` answered.
    Build(Box<Build>),
}

impl JobState {
    /// One line: status, phase, ids.
    fn summary(&self) -> String {
        fn show(value: Option<&str>) -> &str {
            value.unwrap_or("none")
        }
        match self {
            JobState::SecretSet(set) => format!(
                "status {}",
                set.status
                    .as_ref()
                    .map_or_else(|| "none".to_string(), ToString::to_string)
            ),
            JobState::Rollout { agent, phase } => {
                let revision = agent
                    .current_revision
                    .as_ref()
                    .and_then(|r| r.phase.as_ref())
                    .map_or_else(|| "none".to_string(), ToString::to_string);
                let phase = phase
                    .as_ref()
                    .map_or_else(|| "failed".to_string(), ToString::to_string);
                format!(
                    "{phase}; desired {}, reconciled {}, ready {}, available {}, current revision phase {revision}",
                    show(agent.desired_deployment_id.as_deref()),
                    show(agent.reconciled_deployment_id.as_deref()),
                    agent.ready.unwrap_or(false),
                    agent.available.unwrap_or(false),
                )
            }
            JobState::Build(build) => format!(
                "status {}",
                build
                    .status
                    .as_ref()
                    .map_or_else(|| "none".to_string(), ToString::to_string)
            ),
        }
    }
}

impl From<JobState> for LastState {
    fn from(state: JobState) -> Self {
        LastState {
            summary: state.summary(),
            state: Box::new(state),
        }
    }
}

impl LastState {
    /// The state as last read, typed.
    pub fn job_state(&self) -> Option<&JobState> {
        self.state.downcast_ref()
    }
}
