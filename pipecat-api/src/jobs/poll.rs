//! The one poller: every wait and every follow of the library pauses here.
//!
//! A wait is `poll(wait, fetch, assess)`: `fetch` reads the state, `assess`
//! says whether it is done, still pending (and in which phase) or failed
//! (and why). Between polls the pause grows ×1.5 from
//! [`Wait::initial_interval`] to [`Wait::max_interval`], each pause jittered
//! by ±20% so that many waiters do not poll in step; the pause before a
//! poll never crosses the deadline, and the last poll is at the deadline.
//! The wait ends with the last state seen, whether it succeeded, failed or
//! timed out. Time is tokio's (`tokio::time`), so tests drive it with a
//! paused clock.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::jobs::state::JobState;
use crate::{Error, Job};

/// How long and how often to poll. The default polls after 0.5 s, then
/// backs off (×1.5, each pause jittered by ±20%) to every 5 s, for at most
/// 5 minutes; `Wait::default().timeout(Duration::from_secs(60)).polling(fast,
/// slow)` changes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wait {
    /// The first pause between polls.
    pub initial_interval: Duration,
    /// The longest pause between polls.
    pub max_interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for Wait {
    fn default() -> Self {
        Wait {
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(300),
        }
    }
}

impl Wait {
    /// This wait, giving up after `timeout`.
    pub fn timeout(self, timeout: Duration) -> Self {
        Wait { timeout, ..self }
    }

    /// This wait with other pauses between polls: `initial` first, growing
    /// ×1.5 up to `max` (each jittered by ±20%).
    pub fn polling(self, initial: Duration, max: Duration) -> Self {
        Wait {
            initial_interval: initial,
            max_interval: max,
            ..self
        }
    }
}

/// How far a pause may stray from its nominal length, either way.
const JITTER: f64 = 0.2;

/// How each pause grows over the one before.
const GROWTH: f64 = 1.5;

/// What one poll says of the state it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict<P> {
    /// The work is done: the wait ends with this state.
    Done,
    /// Not yet, in this phase: poll again.
    Pending(P),
    /// The work failed, for this reason: the wait ends.
    Failed(String),
}

/// How a wait ended without success; each end but `Fetch` keeps the last
/// state read.
#[derive(Debug)]
pub(crate) enum PollError<S, P> {
    /// Reading the state failed (the error of `fetch`).
    Fetch(Error),
    /// `assess` said it failed.
    Failed {
        /// The state that showed the failure.
        state: S,
        /// Why, as `assess` said.
        reason: String,
    },
    /// The deadline passed while the work was pending.
    TimedOut {
        /// The last state read.
        state: S,
        /// Its phase.
        phase: P,
        /// How long was waited.
        waited: Duration,
    },
}

impl<S, P> PollError<S, P> {
    /// The library's error for this end of the wait for `job`: `to_state`
    /// makes the typed last state.
    pub(crate) fn into_error(
        self,
        job: Job,
        to_state: impl FnOnce(S, Option<P>) -> JobState,
    ) -> Error {
        match self {
            PollError::Fetch(error) => error,
            PollError::Failed { state, reason } => Error::Failed {
                job,
                reason,
                last: to_state(state, None).into(),
            },
            PollError::TimedOut {
                state,
                phase,
                waited,
            } => Error::Timeout {
                job,
                waited,
                last: to_state(state, Some(phase)).into(),
            },
        }
    }
}

/// Pauses that grow ×1.5 from `initial` to `max`, each jittered by ±20%.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    /// Pauses from `initial` up to `max`, jittered from a random seed.
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff::seeded(initial, max, fastrand::u64(..))
    }

    /// As [`Backoff::new`], with the jitter drawn from `seed` (tests).
    pub(crate) fn seeded(initial: Duration, max: Duration, seed: u64) -> Self {
        let max = max.max(initial);
        Backoff {
            initial,
            max,
            next: initial,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Back to the first pause (the follow saw new lines).
    pub(crate) fn reset(&mut self) {
        self.next = self.initial;
    }

    /// The next pause, jittered, and grows the one after.
    fn next_pause(&mut self) -> Duration {
        let nominal = self.next;
        self.next = self.next.mul_f64(GROWTH).min(self.max);
        let factor = 1.0 - JITTER + 2.0 * JITTER * self.rng.f64();
        nominal.mul_f64(factor)
    }

    /// Sleeps the next pause, but never past `deadline`.
    pub(crate) async fn pause(&mut self, deadline: Option<Instant>) {
        let pause = self.next_pause();
        let wake = Instant::now() + pause;
        let wake = deadline.map_or(wake, |deadline| wake.min(deadline));
        tokio::time::sleep_until(wake).await;
    }
}

/// The clock of one wait: when it started, its deadline, its pauses.
#[derive(Debug)]
pub(crate) struct Poller {
    started: Instant,
    deadline: Instant,
    backoff: Backoff,
}

impl Poller {
    /// A wait starting now, as `wait` says.
    pub(crate) fn new(wait: &Wait) -> Self {
        Poller::with_backoff(wait, Backoff::new(wait.initial_interval, wait.max_interval))
    }

    fn with_backoff(wait: &Wait, backoff: Backoff) -> Self {
        let started = Instant::now();
        Poller {
            started,
            deadline: started + wait.timeout,
            backoff,
        }
    }

    /// Pauses before the next poll and returns true; returns false at once
    /// when the deadline has passed (the wait is over).
    pub(crate) async fn pause(&mut self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        self.backoff.pause(Some(self.deadline)).await;
        true
    }

    /// How long the wait has lasted.
    pub(crate) fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Polls `fetch` until `assess` says the state is done (it is returned) or
/// failed, or the deadline of `wait` passes: see the [module](self).
pub(crate) async fn poll<S, P, F, Fut, A>(
    wait: &Wait,
    fetch: F,
    assess: A,
) -> Result<S, PollError<S, P>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, Error>>,
    A: FnMut(&S) -> Verdict<P>,
{
    poll_with(Poller::new(wait), fetch, assess).await
}

async fn poll_with<S, P, F, Fut, A>(
    mut poller: Poller,
    mut fetch: F,
    mut assess: A,
) -> Result<S, PollError<S, P>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, Error>>,
    A: FnMut(&S) -> Verdict<P>,
{
    loop {
        let state = fetch().await.map_err(PollError::Fetch)?;
        let phase = match assess(&state) {
            Verdict::Done => return Ok(state),
            Verdict::Failed(reason) => return Err(PollError::Failed { state, reason }),
            Verdict::Pending(phase) => phase,
        };
        if !poller.pause().await {
            return Err(PollError::TimedOut {
                state,
                phase,
                waited: poller.waited(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::types::GetSecretSetResponse;
    use std::cell::RefCell;

    fn wait(initial_ms: u64, max_ms: u64, timeout_ms: u64) -> Wait {
        Wait::default()
            .timeout(Duration::from_millis(timeout_ms))
            .polling(
                Duration::from_millis(initial_ms),
                Duration::from_millis(max_ms),
            )
    }

    /// Polls a counter that never finishes; returns the instants of the
    /// polls, relative to the start, and how the wait ended.
    async fn never_done(wait: &Wait, seed: u64) -> (Vec<Duration>, PollError<u32, &'static str>) {
        let start = Instant::now();
        let polls = RefCell::new(Vec::new());
        let poller = Poller::with_backoff(
            wait,
            Backoff::seeded(wait.initial_interval, wait.max_interval, seed),
        );
        let ended = poll_with(
            poller,
            || {
                polls.borrow_mut().push(start.elapsed());
                let n = polls.borrow().len() as u32;
                async move { Ok(n) }
            },
            |_| Verdict::Pending("pending"),
        )
        .await
        .unwrap_err();
        (polls.into_inner(), ended)
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_grow_to_the_max_within_the_jitter_and_never_cross_the_deadline() {
        for seed in 0..20 {
            let wait = wait(100, 1000, 10_000);
            let (polls, ended) = never_done(&wait, seed).await;
            let pauses: Vec<Duration> = polls.windows(2).map(|w| w[1] - w[0]).collect();
            let mut nominal = Duration::from_millis(100);
            // Every pause but the last (cut short by the deadline) is its
            // nominal length ±20%, and the nominal grows ×1.5 to 1 s.
            for pause in &pauses[..pauses.len() - 1] {
                assert!(
                    *pause >= nominal.mul_f64(0.8) && *pause <= nominal.mul_f64(1.2),
                    "seed {seed}: pause {pause:?}, nominal {nominal:?}"
                );
                nominal = nominal.mul_f64(1.5).min(Duration::from_secs(1));
            }
            assert_eq!(
                nominal,
                Duration::from_secs(1),
                "seed {seed}: never reached the max"
            );
            // The last poll is at the deadline, never after it.
            assert_eq!(polls.last(), Some(&Duration::from_secs(10)), "seed {seed}");
            let PollError::TimedOut {
                state,
                phase,
                waited,
            } = ended
            else {
                panic!("seed {seed}: {ended:?}");
            };
            // The last state read is the one returned.
            assert_eq!(state as usize, polls.len());
            assert_eq!(phase, "pending");
            assert_eq!(waited, Duration::from_secs(10));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_differs_between_seeds() {
        let wait = wait(100, 1000, 5_000);
        let (a, _) = never_done(&wait, 1).await;
        let (b, _) = never_done(&wait, 2).await;
        assert_ne!(a, b);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_carries_the_reason_and_the_state_and_done_returns_the_state() {
        let n = RefCell::new(0u32);
        let ended = poll(
            &wait(10, 100, 10_000),
            || {
                *n.borrow_mut() += 1;
                let state = *n.borrow();
                async move { Ok(state) }
            },
            |s: &u32| {
                if *s == 3 {
                    Verdict::Failed(format!("broke at {s}"))
                } else {
                    Verdict::Pending(())
                }
            },
        )
        .await;
        let Err(PollError::Failed { state, reason }) = ended else {
            panic!("{ended:?}");
        };
        assert_eq!((state, reason.as_str()), (3, "broke at 3"));

        let done = poll(
            &wait(10, 100, 10_000),
            || async { Ok::<_, Error>(7u8) },
            |_| Verdict::<()>::Done,
        )
        .await;
        assert_eq!(done.unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_error_ends_the_wait_with_it() {
        let ended = poll(
            &wait(10, 100, 10_000),
            || async {
                Err::<u8, _>(Error::InvalidRequest {
                    message: "no".into(),
                })
            },
            |_| Verdict::<()>::Done,
        )
        .await;
        assert!(
            matches!(ended, Err(PollError::Fetch(Error::InvalidRequest { .. }))),
            "{ended:?}"
        );
    }

    #[test]
    fn the_typed_state_and_its_summary_are_kept_in_the_error() {
        let set: GetSecretSetResponse = serde_json::from_value(serde_json::json!({
            "status": "failed", "errorMessage": "quota"
        }))
        .unwrap();
        let error = PollError::<_, ()>::Failed {
            state: set,
            reason: "quota".into(),
        }
        .into_error(Job::SecretSet { name: "s".into() }, |s, _| {
            JobState::SecretSet(s)
        });
        assert_eq!(
            error.to_string(),
            "secret set s failed: quota; fix the cause and try again"
        );
        let (job, last) = error.job().unwrap();
        assert_eq!(job, &Job::SecretSet { name: "s".into() });
        assert_eq!(last.to_string(), "status failed");
        let Some(JobState::SecretSet(set)) = last.job_state() else {
            panic!("{last:?}");
        };
        assert_eq!(set.error_message.as_deref(), Some("quota"));
    }
}
