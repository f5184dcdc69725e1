//! Keys and secret values never leak: every call, successful or not, runs
//! under a subscriber capturing all `tracing` (and `log`) output at TRACE,
//! and every value, builder, request, response and error is formatted with
//! `Debug` and `Display`. None of it may contain a key or a secret value.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use pipecat_api::types::UpsertSecretSetBody;
use pipecat_api::{Client, Error, RetryPolicy};
use pipecat_e2e::{call_operation, operations, ready_agent};
use pipecat_fake::{FakeCloud, Fault, Op};
use serde_json::json;

const SECRET_VALUE: &str = "SENTINEL-secret-value-5b1e";
/// Planted in every credential a session start can answer with.
const TOKEN: &str = "SENTINEL-session-token-9c4d";

/// Everything written by the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn no_key_or_secret_value_appears_anywhere() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    tracing_log::LogTracer::init().unwrap();

    let fake = FakeCloud::start().await.unwrap();
    let markers = [
        fake.private_key().to_string(),
        fake.public_key().to_string(),
        SECRET_VALUE.to_string(),
        TOKEN.to_string(),
    ];
    let client = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .public_key(fake.public_key())
        .retry(RetryPolicy::default().backoff(std::time::Duration::ZERO, std::time::Duration::ZERO))
        .build()
        .unwrap();
    let mut shown: Vec<String> = vec![format!("{client:?}")];
    let builder = Client::builder()
        .private_key(fake.private_key())
        .public_key(fake.public_key());
    shown.push(format!("{builder:?}"));

    let body = UpsertSecretSetBody::secrets([("API_KEY", SECRET_VALUE)]).unwrap();
    shown.push(format!("{body:?}"));
    let request = client
        .upsert_secret_set()
        .set_name("my-secrets")
        .body(body.clone());
    shown.push(format!("{request:?}"));
    let pull =
        UpsertSecretSetBody::image_pull_secret("https://ghcr.io", "me", SECRET_VALUE).unwrap();
    shown.push(format!("{pull:?}"));

    // Successes.
    let ok = request.send().await.unwrap();
    shown.push(format!("{ok:?}"));
    shown.push(format!(
        "{:?}",
        client.list_secret_sets().send().await.unwrap()
    ));
    shown.push(format!(
        "{:?}",
        client
            .get_secret_set()
            .set_name("my-secrets")
            .send()
            .await
            .unwrap()
    ));

    // Credentials in answers: a session start whose answer carries every
    // kind of token, then one whose answer does not decode.
    ready_agent(&client, "voice-bot", 5).await;
    let ice =
        json!({"iceServers": [{"urls": ["turn:t.example"], "username": "u", "credential": TOKEN}]});
    fake.fail_next(
        Op::StartService,
        1,
        Fault::amend("/dailyToken", json!(TOKEN))
            .and("/token", json!(TOKEN))
            .and("/wsUrl", json!("wss://ws.example/ws"))
            .and("/iceConfig", ice),
    );
    let started = client
        .start_service()
        .agent_name("voice-bot")
        .body(pipecat_api::types::StartRequest::daily())
        .send_with_response()
        .await
        .unwrap();
    shown.push(format!("{started:?}"));
    shown.push(format!("{:?}", started.value().connection()));
    let tokens = started.value();
    assert_eq!(
        tokens.daily_token.as_ref().map(|t| t.expose_secret()),
        Some(TOKEN),
        "the token is there for the caller"
    );
    fake.fail_next(
        Op::StartService,
        1,
        Fault::json(
            200,
            json!({"sessionId": 7, "dailyToken": TOKEN, "token": TOKEN}),
        ),
    );
    let undecodable = client
        .start_service()
        .agent_name("voice-bot")
        .body(pipecat_api::types::StartRequest::daily())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(undecodable, Error::UnexpectedResponse { .. }),
        "{undecodable:?}"
    );
    shown.push(format!("{undecodable} {undecodable:?}"));

    // Failures of every kind: error answers (after retries), local refusals,
    // a wrong key, no server at all.
    let faults = [
        Fault::empty(401),
        Fault::json(409, json!({"error": "conflict", "code": "CONFLICT"})),
        Fault::body(502, "text/html", "<h1>bad gateway</h1>"),
        Fault::json(
            429,
            json!({"status": 429, "code": "429", "message": "Rate limit exceeded"}),
        ),
    ];
    for fault in faults {
        fake.fail_next(Op::UpsertSecretSet, 3, fault);
        let err: Error = client
            .upsert_secret_set()
            .set_name("my-secrets")
            .body(body.clone())
            .send()
            .await
            .unwrap_err();
        shown.push(format!("{err}"));
        shown.push(format!("{err:?}"));
    }
    let refused = client
        .upsert_secret_set()
        .set_name("Bad Name")
        .body(body.clone())
        .send()
        .await
        .unwrap_err();
    shown.push(format!("{refused} {refused:?}"));
    let wrong_key = Client::builder()
        .host(fake.url())
        .private_key("wrong")
        .build()
        .unwrap();
    let err: Error = wrong_key.list_secret_sets().send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let nowhere = Client::builder()
        .host("http://127.0.0.1:9")
        .private_key(fake.private_key())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err: Error = nowhere.list_secret_sets().send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));
    // Every operation: as it comes (success or the fake's own error), then
    // with an error answer and with a dropped connection injected.
    let id = pipecat_api::uuid::Uuid::nil();
    for (op, _) in &operations() {
        for fault in [
            None,
            Some(Fault::json(
                500,
                json!({"error": "boom", "code": "INTERNAL_SERVER_ERROR"}),
            )),
            Some(Fault::ResetBeforeResponse),
        ] {
            if let Some(fault) = fault {
                fake.fail_next(op.parse().unwrap(), 3, fault);
            }
            match call_operation(&client, op, id).await {
                Ok(()) => {}
                Err(err) => shown.push(format!("{err} {err:?}")),
            }
        }
    }

    let config_error = Client::builder()
        .private_key(format!("{}\n", fake.private_key()))
        .host("ftp://x")
        .build();
    shown.push(format!("{config_error:?}"));

    let logs = captured.text();
    assert!(
        logs.contains("pipecat_api.attempt"),
        "the attempts were traced:\n{logs}"
    );
    for marker in &markers {
        assert!(
            !logs.contains(marker.as_str()),
            "{marker} leaked into the logs:\n{logs}"
        );
        for text in &shown {
            assert!(
                !text.contains(marker.as_str()),
                "{marker} leaked into: {text}"
            );
        }
    }
    // The value did reach the server: the test checks hiding, not absence.
    let sent = fake
        .requests()
        .iter()
        .any(|r| String::from_utf8_lossy(&r.body).contains(SECRET_VALUE));
    assert!(sent);
}
