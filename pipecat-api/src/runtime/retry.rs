//! When a failed attempt is tried again, and after how long: the one retry
//! loop ([`run`]) of the crate, and the policy it follows.
//!
//! The loop knows nothing of HTTP: each caller hands it a classifier that
//! looks at one attempt's outcome and gives a [`Verdict`]. API calls
//! (`transport`) and the build context upload (`cloud_build`) each have
//! their own. The rule every classifier keeps: an outcome is retried only
//! when retrying cannot make it take effect twice. Idempotent methods (GET,
//! HEAD, OPTIONS, PUT, DELETE) are retried after transient failures;
//! anything else (POST, PATCH: starting a session, creating an agent or a
//! build) only when the connection was never established, so the server
//! cannot have seen it.
//!
//! This is the only place a retry waits, on `tokio::time`, so tests can run
//! it with paused time.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed calls are retried. Set with [`crate::ClientBuilder::retry`].
///
/// Retried: connection failures (any method), timeouts and broken
/// connections (idempotent methods), 408, 429, 502, 503 and 504 (idempotent
/// methods), and 409 `CONFLICT` on a secret-set upsert. A success whose body
/// breaks off is asked for again for GET, HEAD, OPTIONS and PUT, not for a
/// DELETE, which by then has taken effect (its repeat would answer 404). Delays grow
/// exponentially with full jitter; a `Retry-After` header (seconds or HTTP
/// date) is honoured up to [`RetryPolicy::max_retry_after`]. No attempt
/// starts after [`RetryPolicy::deadline`] has passed since the first.
///
/// The 429 of a session start means the agent is at capacity; it is returned
/// at once unless [`RetryPolicy::retry_session_capacity`] is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
    max_retry_after: Duration,
    retry_session_capacity: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff from 250 ms up to 5 s, 30 s overall,
    /// `Retry-After` honoured up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(30),
            retry_session_capacity: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry: every call makes exactly one attempt.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// At most this many attempts per call, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry; later ones double, up to
    /// `max`. The actual delay is drawn uniformly from zero to that bound.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// No retry starts later than this after the first attempt began.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Also retry a session start answered 429 (the agent at capacity).
    /// Safe: a 429 start created no session. Off by default, because a
    /// caller usually wants to know at once that capacity is exhausted.
    pub fn retry_session_capacity(mut self, retry: bool) -> Self {
        self.retry_session_capacity = retry;
        self
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before attempt `next` (2 for the first retry): the
    /// server's `Retry-After` when it sent one (`None` when that exceeds the
    /// cap: give up), otherwise exponential backoff with full jitter.
    pub(crate) fn delay(&self, next: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(after) = retry_after {
            return (after <= self.max_retry_after).then_some(after);
        }
        let exponent = next.saturating_sub(2).min(20);
        let bound = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        Some(bound.mul_f64(fastrand::f64()))
    }

    /// Whether an answer with `status` is worth another attempt.
    pub(crate) fn retry_status(&self, what: &Attempted, status: StatusCode) -> bool {
        match status.as_u16() {
            429 if what.too_many_means_at_capacity => self.retry_session_capacity,
            _ if is_transient(status) => what.idempotent,
            409 => what.conflict_means_busy && what.conflict,
            _ => false,
        }
    }

    /// Whether a failure to get an answer is worth another attempt.
    pub(crate) fn retry_error(&self, what: &Attempted, error: &reqwest::Error) -> bool {
        // Not connected: the server never saw the request.
        error.is_connect()
            || what.idempotent
                && (error.is_timeout()
                    || error.is_request()
                    || error.is_body()
                    || error.is_decode())
    }
}

/// What a classifier says of one attempt's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Final: the outcome is the result.
    Stop,
    /// Transient, and safe to repeat: another attempt may succeed, after
    /// the server's `retry_after` (its `Retry-After`) when it gave one.
    Retry { retry_after: Option<Duration> },
}

/// The retry loop: makes attempt 1, 2, … while `classify` says
/// [`Verdict::Retry`], within the policy's attempts and deadline, waiting
/// before each retry as [`RetryPolicy`] says (a `Retry-After` over its cap
/// ends the retries). Returns the last outcome.
///
/// `attempt` is given the attempt's number and what it needs to be made
/// (`first` for the first: the request, say), and returns its outcome with
/// what the next attempt needs, or `None` when it cannot be repeated (a
/// body that cannot be replayed): that outcome is then the last. `what`
/// names the call in the log line of each retry.
pub(crate) async fn run<S, T, Fut>(
    policy: &RetryPolicy,
    what: &str,
    first: S,
    mut attempt: impl FnMut(u32, S) -> Fut,
    mut classify: impl FnMut(&T) -> Verdict,
) -> T
where
    Fut: Future<Output = (T, Option<S>)>,
{
    let started = tokio::time::Instant::now();
    let mut number: u32 = 1;
    let mut input = first;
    loop {
        let (outcome, next) = attempt(number, input).await;
        let Some(next) = next else {
            return outcome;
        };
        let Verdict::Retry { retry_after } = classify(&outcome) else {
            return outcome;
        };
        let delay = (number < policy.max_attempts)
            .then(|| policy.delay(number + 1, retry_after))
            .flatten()
            .filter(|delay| started.elapsed() + *delay < policy.deadline);
        let Some(delay) = delay else {
            return outcome;
        };
        tracing::info!(
            call = what,
            attempt = number,
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
        // Boxed: most calls never get here, and their futures stay small.
        Box::pin(tokio::time::sleep(delay)).await;
        input = next;
        number += 1;
    }
}

/// Statuses that say "not now" rather than "no": the same request may
/// succeed later (408, 429, 502, 503, 504). Whether repeating it is *safe*
/// is another question, answered by [`RetryPolicy`].
pub(crate) fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

/// What was attempted, as far as retrying is concerned.
#[derive(Clone, Copy)]
pub(crate) struct Attempted {
    pub(crate) idempotent: bool,
    /// See [`reread_broken_success`].
    pub(crate) reread_success: bool,
    /// The operation's 429 means the agent is at capacity.
    pub(crate) too_many_means_at_capacity: bool,
    /// The operation's 409 `CONFLICT` means busy: try again.
    pub(crate) conflict_means_busy: bool,
    /// The answer was a 409 whose code is `CONFLICT`.
    pub(crate) conflict: bool,
}

/// The `Retry-After` delay: whole seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Whether a success whose body broke off is asked for again: only where a
/// repeat is harmless and gets the same answer. A repeated DELETE answers
/// 404 (the first one deleted), so once a DELETE's success status has
/// arrived it is not repeated: the broken body is reported instead, with
/// the deletion done.
pub(crate) fn reread_broken_success(method: &reqwest::Method) -> bool {
    use reqwest::Method;
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT].contains(method)
}

/// Whether a method may be repeated without changing the outcome.
pub(crate) fn idempotent(method: &reqwest::Method) -> bool {
    use reqwest::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, retry_after.parse().unwrap());
        h
    }

    const GET: Attempted = Attempted {
        idempotent: true,
        reread_success: true,
        too_many_means_at_capacity: false,
        conflict_means_busy: false,
        conflict: false,
    };
    const POST: Attempted = Attempted {
        idempotent: false,
        reread_success: false,
        too_many_means_at_capacity: false,
        conflict_means_busy: false,
        conflict: false,
    };
    const START: Attempted = Attempted {
        idempotent: false,
        reread_success: false,
        too_many_means_at_capacity: true,
        conflict_means_busy: false,
        conflict: false,
    };

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let parsed = retry_after(&headers(&soon)).unwrap();
        assert!(
            parsed > Duration::from_secs(55) && parsed <= Duration::from_secs(60),
            "{parsed:?}"
        );
        assert_eq!(
            retry_after(&headers("Thu, 01 Jan 1970 00:00:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn retry_after_is_capped() {
        let policy = RetryPolicy::default().max_retry_after(Duration::from_secs(10));
        assert_eq!(
            policy.delay(2, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay(2, Some(Duration::from_secs(11))), None);
    }

    #[test]
    fn backoff_grows_with_full_jitter_up_to_the_cap() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..200 {
            assert!(policy.delay(2, None).unwrap() <= Duration::from_millis(100));
            assert!(policy.delay(3, None).unwrap() <= Duration::from_millis(200));
            assert!(policy.delay(9, None).unwrap() <= Duration::from_millis(350));
        }
        let spread: Vec<Duration> = (0..50).map(|_| policy.delay(9, None).unwrap()).collect();
        assert!(
            spread.iter().any(|d| *d < Duration::from_millis(175)),
            "full jitter reaches low delays"
        );
    }

    #[test]
    fn statuses_retried_only_where_safe() {
        let policy = RetryPolicy::default();
        for status in [408, 429, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(policy.retry_status(&GET, status));
            assert!(
                !policy.retry_status(&POST, status),
                "a POST may have taken effect"
            );
        }
        for status in [400, 401, 404, 409, 500] {
            assert!(!policy.retry_status(&GET, StatusCode::from_u16(status).unwrap()));
        }
        assert!(!policy.retry_status(&START, StatusCode::TOO_MANY_REQUESTS));
        let opted_in = policy.clone().retry_session_capacity(true);
        assert!(opted_in.retry_status(&START, StatusCode::TOO_MANY_REQUESTS));
        let upsert = Attempted {
            idempotent: true,
            reread_success: true,
            too_many_means_at_capacity: false,
            conflict_means_busy: true,
            conflict: true,
        };
        assert!(policy.retry_status(&upsert, StatusCode::CONFLICT));
        let other_409 = Attempted {
            conflict: false,
            ..upsert
        };
        assert!(!policy.retry_status(&other_409, StatusCode::CONFLICT));
    }

    #[test]
    fn a_broken_success_is_reread_except_for_delete_and_non_idempotent_methods() {
        use reqwest::Method;
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT] {
            assert!(reread_broken_success(&method), "{method}");
        }
        for method in [Method::DELETE, Method::POST, Method::PATCH] {
            assert!(!reread_broken_success(&method), "{method}");
        }
    }

    #[test]
    fn disabled_means_one_attempt() {
        assert_eq!(RetryPolicy::disabled().attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }

    /// Runs the loop over scripted outcomes (`Err(after)` is transient,
    /// with that `Retry-After`; `Ok` is final) and returns the outcome, the
    /// attempt numbers made and the (paused) time it took.
    async fn scripted(
        policy: &RetryPolicy,
        script: &[Result<&'static str, Option<u64>>],
    ) -> (Result<&'static str, Option<u64>>, Vec<u32>, Duration) {
        let started = tokio::time::Instant::now();
        let mut made = Vec::new();
        let outcome = run(
            policy,
            "test",
            (),
            |number, ()| {
                made.push(number);
                let outcome = script[(number as usize - 1).min(script.len() - 1)];
                async move { (outcome, Some(())) }
            },
            |outcome| match outcome {
                Ok(_) => Verdict::Stop,
                Err(after) => Verdict::Retry {
                    retry_after: after.map(Duration::from_secs),
                },
            },
        )
        .await;
        (outcome, made, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_retries_transient_outcomes_until_a_final_one() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_millis(100));
        let (outcome, made, took) = scripted(&policy, &[Err(None), Err(None), Ok("done")]).await;
        assert_eq!(outcome, Ok("done"));
        assert_eq!(made, [1, 2, 3]);
        // Two backoffs, each at most the 100 ms bound (full jitter).
        assert!(took <= Duration::from_millis(200), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_stops_at_a_final_outcome_and_waits_for_nothing() {
        let (outcome, made, took) = scripted(&RetryPolicy::default(), &[Ok("no")]).await;
        assert_eq!(outcome, Ok("no"));
        assert_eq!(made, [1]);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_makes_at_most_max_attempts() {
        let policy = RetryPolicy::default().max_attempts(4);
        let (outcome, made, _) = scripted(&policy, &[Err(None)]).await;
        assert_eq!(outcome, Err(None), "the last outcome is returned");
        assert_eq!(made, [1, 2, 3, 4]);
        let (_, made, took) = scripted(&RetryPolicy::disabled(), &[Err(None)]).await;
        assert_eq!(made, [1]);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_waits_as_retry_after_says_up_to_its_cap() {
        let policy = RetryPolicy::default().max_retry_after(Duration::from_secs(10));
        let (outcome, made, took) = scripted(&policy, &[Err(Some(7)), Ok("done")]).await;
        assert_eq!(outcome, Ok("done"));
        assert_eq!(made, [1, 2]);
        assert_eq!(took, Duration::from_secs(7));
        // Over the cap: no retry, and no waiting.
        let (outcome, made, took) = scripted(&policy, &[Err(Some(11)), Ok("done")]).await;
        assert_eq!(outcome, Err(Some(11)));
        assert_eq!(made, [1]);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_starts_no_attempt_past_the_deadline() {
        let policy = RetryPolicy::default()
            .max_attempts(10)
            .deadline(Duration::from_secs(10));
        let (outcome, made, took) = scripted(&policy, &[Err(Some(4))]).await;
        assert_eq!(outcome, Err(Some(4)));
        // At 0 s, 4 s and 8 s; a fourth would start at 12 s.
        assert_eq!(made, [1, 2, 3]);
        assert_eq!(took, Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_never_repeats_an_attempt_that_cannot_be_repeated() {
        let mut made = 0;
        let outcome = run(
            &RetryPolicy::default(),
            "test",
            (),
            |_, ()| {
                made += 1;
                // A request whose body cannot be sent again.
                async { ("broke", None::<()>) }
            },
            |_| Verdict::Retry { retry_after: None },
        )
        .await;
        assert_eq!((outcome, made), ("broke", 1));
    }
}
