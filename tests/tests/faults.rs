//! The fault-injection suite: real sockets on loopback, bounded in time.
//!
//! For a representative GET, PUT, DELETE and POST, each fault below is
//! injected once (or always) and the test asserts the outcome (success after
//! N attempts, or the documented error), how many attempts the server saw,
//! and that no POST was ever received twice.
//!
//! Run it alone with `cargo test -p pipecat-e2e --test faults`.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use pipecat_api::types::{StartRequest, UpsertSecretSetBody};
use pipecat_api::{Client, Error, RetryPolicy};
use pipecat_fake::{FakeCloud, Fault, Op};
use serde_json::json;

/// The four calls under test.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    /// GET, idempotent.
    Get,
    /// PUT, idempotent.
    Put,
    /// DELETE, idempotent.
    Delete,
    /// POST: starting a session, which must never happen twice.
    Post,
}

const CALLS: [Call; 4] = [Call::Get, Call::Put, Call::Delete, Call::Post];

impl Call {
    /// The status the call succeeds with.
    fn success(self) -> u16 {
        if self == Call::Put { 202 } else { 200 }
    }

    fn operation(self) -> Op {
        match self {
            Call::Get => Op::GetSecretSet,
            Call::Put => Op::UpsertSecretSet,
            Call::Delete => Op::DeleteSecretFromSet,
            Call::Post => Op::StartService,
        }
    }

    async fn run(self, client: &Client) -> Result<(), Error> {
        match self {
            Call::Get => client
                .get_secret_set()
                .set_name("app-secrets")
                .send()
                .await
                .map(drop)?,
            Call::Put => {
                let body = UpsertSecretSetBody::secrets([("KEY", "value")])?;
                client
                    .upsert_secret_set()
                    .set_name("app-secrets")
                    .body(body)
                    .send()
                    .await
                    .map(drop)?
            }
            // Deleting a key that is put back before each call, so that the
            // retried call finds it.
            Call::Delete => client
                .delete_secret_from_set()
                .set_name("app-secrets")
                .secret_key("KEY")
                .send()
                .await
                .map(drop)?,
            Call::Post => client
                .start_service()
                .agent_name("voice-bot")
                .body(StartRequest::daily())
                .send()
                .await
                .map(drop)?,
        }
        Ok(())
    }
}

/// A fake with a secret set and a ready agent, and a client with quick
/// retries (3 attempts, no backoff) and a short timeout.
async fn world() -> (FakeCloud, Client) {
    let fake = FakeCloud::start().await.unwrap();
    let client = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .timeout(Duration::from_millis(500))
        .retry(RetryPolicy::default().backoff(Duration::ZERO, Duration::ZERO))
        .build()
        .unwrap();
    let body = UpsertSecretSetBody::secrets([("KEY", "value")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("app-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    pipecat_e2e::ready_agent(&client, "voice-bot", 100).await;
    (fake, client)
}

/// Puts the key back (for the DELETE) and forgets the requests so far.
async fn reset(fake: &FakeCloud, client: &Client) {
    let body = UpsertSecretSetBody::secrets([("KEY", "value")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("app-secrets")
        .body(body)
        .send()
        .await
        .unwrap();
    fake.clear_requests();
}

/// The `app-secrets` set as the service has it now.
async fn app_secrets(client: &Client) -> pipecat_api::types::GetSecretSetResponse {
    client
        .get_secret_set()
        .set_name("app-secrets")
        .send()
        .await
        .unwrap()
}

/// How many requests of `call`'s operation reached the server.
fn attempts(fake: &FakeCloud, call: Call) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some(call.operation().id()))
        .count()
}

/// Injects `fault` `times` times into each call and checks the outcome.
/// `idempotent` / `post` say what must happen: `Ok(n)` success after n
/// attempts, `Err(check)` an error passing `check` after one attempt.
async fn suite(
    name: &str,
    fault: impl Fn(Call) -> Fault,
    times: usize,
    idempotent: Result<usize, fn(&Error) -> bool>,
    post: Result<usize, fn(&Error) -> bool>,
) -> Vec<String> {
    let (fake, client) = world().await;
    let mut rows = Vec::new();
    for call in CALLS {
        reset(&fake, &client).await;
        fake.fail_next(call.operation(), times, fault(call));
        let started = Instant::now();
        let result = call.run(&client).await;
        let elapsed = started.elapsed();
        let seen = attempts(&fake, call);
        let expected = if call == Call::Post { post } else { idempotent };
        match (&result, expected) {
            (Ok(()), Ok(n)) => assert_eq!(seen, n, "{name} {call:?}: attempts"),
            (Err(e), Err(check)) => {
                assert!(check(e), "{name} {call:?}: unexpected error {e:?}");
                let want = if call == Call::Post { 1 } else { seen.max(1) };
                assert_eq!(seen, want, "{name} {call:?}: attempts");
            }
            (other, _) => panic!("{name} {call:?}: expected {expected:?}, got {other:?}"),
        }
        if call == Call::Post {
            assert!(seen <= 1, "{name}: a POST reached the server {seen} times");
        }
        assert!(
            elapsed < Duration::from_secs(10),
            "{name} {call:?}: took {elapsed:?}"
        );
        let outcome = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => e
                .status()
                .map_or_else(|| kind(e).to_string(), |s| s.as_u16().to_string()),
        };
        rows.push(format!(
            "{name:<28} {call:<6?} attempts={seen} outcome={outcome}"
        ));
    }
    rows
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Transport { source, .. } if source.is_timeout() => "timeout",
        Error::Transport { source, .. } if source.is_connect() => "connect",
        Error::Transport { .. } => "transport",
        Error::UnexpectedResponse { .. } => "undecodable",
        _ => "other",
    }
}

fn transport(e: &Error) -> bool {
    matches!(e, Error::Transport { .. })
}
fn timeout(e: &Error) -> bool {
    matches!(e, Error::Transport { source, .. } if source.is_timeout())
}
fn status(code: u16) -> fn(&Error) -> bool {
    match code {
        429 => |e| e.status().map(|s| s.as_u16()) == Some(429),
        502 => |e| e.status().map(|s| s.as_u16()) == Some(502),
        503 => |e| e.status().map(|s| s.as_u16()) == Some(503),
        _ => |_| false,
    }
}
fn undecodable(e: &Error) -> bool {
    matches!(e, Error::UnexpectedResponse { .. })
}

#[tokio::test]
async fn reset_before_the_response() {
    // Idempotent calls retry and succeed; the POST fails without a retry.
    let rows = suite(
        "reset before response",
        |_| Fault::ResetBeforeResponse,
        1,
        Ok(2),
        Err(transport),
    )
    .await;
    println!("{}", rows.join("\n"));
}

/// The server acts, then the connection breaks while the answer is sent:
/// GET and PUT are asked again and succeed; the DELETE is not repeated (a
/// repeat would answer 404, the first attempt having deleted) and reports
/// the broken answer as possibly applied, the key being gone; the POST is
/// not repeated either and reports the same, the session having started
/// once.
#[tokio::test]
async fn closed_mid_body() {
    let (fake, client) = world().await;
    for call in [Call::Get, Call::Put] {
        reset(&fake, &client).await;
        fake.fail_next(call.operation(), 1, Fault::CloseMidBody);
        call.run(&client).await.unwrap();
        assert_eq!(attempts(&fake, call), 2, "{call:?}");
        println!("closed mid-body              {call:<6?} attempts=2 outcome=ok");
    }

    reset(&fake, &client).await;
    fake.fail_next(Op::DeleteSecretFromSet, 1, Fault::CloseMidBody);
    let err = Call::Delete.run(&client).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("may have taken effect"),
        "the error says the deletion may be done: {err}"
    );
    assert_eq!(
        attempts(&fake, Call::Delete),
        1,
        "a deletion is not repeated"
    );
    let set = app_secrets(&client).await;
    assert!(
        !set.secrets
            .iter()
            .any(|s| s.field_name.as_deref() == Some("KEY")),
        "the one attempt deleted the key"
    );
    println!(
        "closed mid-body              Delete attempts=1 outcome=transport (the key was deleted)"
    );

    reset(&fake, &client).await;
    fake.fail_next(Op::StartService, 1, Fault::CloseMidBody);
    let err = Call::Post.run(&client).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(attempts(&fake, Call::Post), 1, "a POST is never sent twice");
    let sessions = client
        .get_sessions()
        .agent_name("voice-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.total_count, Some(1), "the start took effect once");
    println!(
        "closed mid-body              Post   attempts=1 outcome=transport (session started once)"
    );
}

#[tokio::test]
async fn unavailable_then_success() {
    let rows = suite(
        "503 then success",
        |_| Fault::empty(503),
        1,
        Ok(2),
        Err(status(503)),
    )
    .await;
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn html_bad_gateway_then_success_and_for_good() {
    let html = |_| {
        Fault::body(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    };
    let mut rows = suite("HTML 502 then success", html, 1, Ok(2), Err(status(502))).await;
    // Three faults: every attempt of an idempotent call fails.
    rows.extend(
        suite(
            "HTML 502 always",
            html,
            3,
            Err(status(502)),
            Err(status(502)),
        )
        .await,
    );
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn too_many_requests_with_and_without_retry_after() {
    let limited = |_| {
        Fault::json(
            429,
            json!({"status": 429, "code": "429", "message": "Rate limit exceeded. Please try again later"}),
        )
    };
    let mut rows = suite("429 no Retry-After", limited, 1, Ok(2), Err(status(429))).await;

    let started = Instant::now();
    rows.extend(
        suite(
            "429 Retry-After: 1",
            |c| limited(c).with_header("retry-after", "1"),
            1,
            Ok(2),
            Err(status(429)),
        )
        .await,
    );
    // Three idempotent calls each waited the second the server asked for.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );

    // A Retry-After beyond the cap ends the retries at once.
    rows.extend(
        suite(
            "429 Retry-After: 3600",
            |c| limited(c).with_header("retry-after", "3600"),
            1,
            Err(status(429)),
            Err(status(429)),
        )
        .await,
    );
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn a_server_that_stalls_past_the_timeout() {
    // The client's timeout is 500 ms; the fake stalls 1.5 s once.
    let rows = suite(
        "stall past timeout",
        |_| Fault::Stall(Duration::from_millis(1500)),
        1,
        Ok(2),
        Err(timeout),
    )
    .await;
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn truncated_json_and_invalid_utf8_are_undecodable_not_retried() {
    let truncated = |c: Call| {
        Fault::body(
            c.success(),
            "application/json",
            r#"{"region": "us-west", "status": "rea"#,
        )
    };
    let mut rows = suite(
        "truncated JSON",
        truncated,
        1,
        Err(undecodable),
        Err(undecodable),
    )
    .await;
    let invalid = |c: Call| Fault::Respond {
        status: c.success(),
        content_type: Some("application/json".into()),
        headers: Vec::new(),
        // Every response type reads one of these fields.
        body: b"{\"status\": \"\xff\xfe\", \"sessionId\": \"\xff\", \"region\": \"\xff\"}".to_vec(),
    };
    rows.extend(
        suite(
            "invalid UTF-8",
            invalid,
            1,
            Err(undecodable),
            Err(undecodable),
        )
        .await,
    );
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn fifty_megabyte_bodies() {
    // A 50 MB success body that is valid JSON decodes (unknown fields are
    // ignored); a 50 MB error body is read only up to its first 64 KiB.
    let padding = "x".repeat(50 * 1024 * 1024);
    let big_ok = Fault::body(
        200,
        "application/json",
        &format!(r#"{{"region":"us-west","pad":"{padding}"}}"#),
    );
    let big_err = Fault::body(500, "text/plain", &padding);
    let (fake, client) = world().await;

    fake.fail_next(Op::GetSecretSet, 1, big_ok);
    let started = Instant::now();
    let set = app_secrets(&client).await;
    assert_eq!(set.region.as_deref(), Some("us-west"));

    fake.fail_next(Op::DeleteSecretFromSet, 1, big_err);
    let err: Error = client
        .delete_secret_from_set()
        .set_name("app-secrets")
        .secret_key("KEY")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert!(
        api.message.as_ref().is_some_and(|m| m.len() < 300),
        "quoted, not the whole body"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn connection_refused() {
    // Nothing listens: bind a port, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .host(format!("http://127.0.0.1:{port}"))
        .private_key("k")
        .public_key("p")
        .retry(RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(20)))
        .build()
        .unwrap();
    for call in CALLS {
        let started = Instant::now();
        let err = call.run(&client).await.unwrap_err();
        let Error::Transport { source, .. } = &err else {
            panic!("{call:?}: {err:?}")
        };
        assert!(source.is_connect(), "{call:?}: {err}");
        assert!(err.is_retryable());
        assert!(
            err.to_string()
                .starts_with("could not connect to Pipecat Cloud"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let (fake, client) = world().await;
    let once = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    drop(client);
    fake.clear_requests();
    fake.fail_next(Op::GetSecretSet, 1, Fault::empty(503));
    let err = Call::Get.run(&once).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(attempts(&fake, Call::Get), 1);
}
