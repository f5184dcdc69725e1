//! Waiting for asynchronous work: a secret set provisioning, an agent
//! deploying. What the documentation tells automation to do after an upsert
//! or a deploy, done once: poll with backoff until ready, failed, or a
//! deadline (the poller: [`crate::jobs::poll`]).

use crate::jobs::poll::{Verdict, Wait, poll};
use crate::jobs::state::JobState;
use crate::types::{GetSecretSetResponse, SecretSetStatus, ServiceDetailsResponse};
use crate::{Client, Error, Job};

impl Client {
    /// Polls `getSecretSet` until the set is `ready` and returns it. A
    /// `failed` set is [`Error::Failed`] with the service's `errorMessage`
    /// and the set as last read ([`JobState::SecretSet`]); running out of
    /// time is [`Error::Timeout`], with the set as last read. Any other status,
    /// including one newer than this crate, means "not ready yet": the wait
    /// goes on until the set is ready, failed, or the deadline passes.
    ///
    /// Deploying an agent that uses a set that is not ready is refused (409),
    /// so call this after `upsert_secret_set`.
    pub async fn wait_secret_set_ready(
        &self,
        set_name: &str,
        wait: Wait,
    ) -> Result<GetSecretSetResponse, Error> {
        poll(
            &wait,
            || self.get_secret_set().set_name(set_name).send(),
            |set: &GetSecretSetResponse| match set.status {
                Some(SecretSetStatus::Ready) => Verdict::Done,
                Some(SecretSetStatus::Failed) => Verdict::Failed(
                    set.error_message
                        .clone()
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "provisioning failed (no message)".into()),
                ),
                // Pending, a status newer than this crate, or none: the set
                // is not usable yet, so keep waiting (until the deadline).
                _ => Verdict::Pending(()),
            },
        )
        .await
        .map_err(|end| {
            end.into_error(
                Job::SecretSet {
                    name: set_name.to_string(),
                },
                |set, _| JobState::SecretSet(set),
            )
        })
    }

    /// Waits until the agent's latest deployment is rolled out and returns
    /// the agent: the `desiredDeploymentId` of the first read is awaited
    /// until it is the `reconciledDeploymentId` **and** `ready` is true
    /// ([`Client::wait_rollout`]; `ready` alone is the *earlier* deployment's
    /// readiness right after an update). A failed deployment is
    /// [`Error::Failed`] with the service's reason; running out of time is
    /// [`Error::Timeout`] naming the last state seen. Call after
    /// `create_service` or `update_service`; when you hold the answer, prefer
    /// [`Client::wait_rollout`] with its `desiredDeploymentId`, which cannot
    /// mistake a later deployment for yours.
    pub async fn wait_agent_ready(
        &self,
        agent_name: &str,
        wait: Wait,
    ) -> Result<ServiceDetailsResponse, Error> {
        self.rollout(agent_name, None, wait, &mut |_| {}).await
    }
}
