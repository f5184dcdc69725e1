//! What a hostile or broken answer must not make the client do: follow a
//! redirect with the request's body, print back a key or a secret value the
//! service echoed, read an answer without bound, or call a POST whose
//! connection broke "safe to try again".
//!
//! Run it alone with `cargo test -p pipecat-e2e --test hardening`.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pipecat_api::types::{StartRequest, UpsertSecretSetBody};
use pipecat_api::{Client, Error, RetryPolicy};
use pipecat_fake::{Fault, Op};
use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;

const SECRET: &str = "sk-live-0123456789abcdef";

/// Upserts a set holding [`SECRET`] and gives the error it ends with.
async fn upsert_secret(client: &Client) -> Error {
    let body = UpsertSecretSetBody::secrets([("OPENAI_API_KEY", SECRET)]).unwrap();
    client
        .upsert_secret_set()
        .set_name("app")
        .body(body)
        .send()
        .await
        .unwrap_err()
}

/// A server on another port that counts the connections it gets and reads
/// whatever they send.
async fn other_host() -> (String, Arc<AtomicUsize>, Arc<tokio::sync::Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let (count, seen) = (connections.clone(), received.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(500), socket.read(&mut buf)).await
                {
                    if n == 0 {
                        break;
                    }
                    seen.lock().await.extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (url, connections, received)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_secret_values_go_nowhere_else() {
    let (fake, client) = pipecat_e2e::setup().await;
    let (elsewhere, connections, received) = other_host().await;
    for status in [301, 302, 307, 308] {
        fake.fail_next(
            Op::UpsertSecretSet,
            1,
            Fault::empty(status).with_header("location", &format!("{elsewhere}/v1/secrets/app")),
        );
        let err = upsert_secret(&client).await;
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err}");
        let text = err.to_string();
        assert!(text.contains("not followed"), "{text}");
        assert!(text.contains(&elsewhere), "names where it pointed: {text}");
        assert!(!err.is_retryable());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the other host was contacted"
    );
    assert!(received.lock().await.is_empty());
    // Only the first attempt of each reached the fake.
    assert_eq!(fake.request_count(), 4);
}

#[tokio::test]
async fn a_key_or_secret_value_echoed_in_an_error_is_redacted() {
    let (fake, client) = pipecat_e2e::setup().await;
    let key = fake.private_key().to_owned();
    fake.fail_next(
        Op::UpsertSecretSet,
        1,
        Fault::json(
            400,
            json!({
                "error": format!("bad value {SECRET} for key {key}"),
                "code": format!("E-{SECRET}"),
                "echo": {"value": [SECRET, "kept"]},
            }),
        ),
    );
    let err = upsert_secret(&client).await;
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(&key), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let api = err.api().unwrap();
    assert_eq!(
        api.field("echo"),
        Some(&json!({"value": ["<redacted>", "kept"]}))
    );
    // Words of the message that were not sent stay.
    assert!(
        api.message
            .as_deref()
            .unwrap()
            .starts_with("bad value <redacted> for key")
    );
}

#[tokio::test]
async fn a_success_answer_is_read_up_to_the_limit_and_no_further() {
    let (fake, _) = pipecat_e2e::setup().await;
    let client = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .max_answer_bytes(1000)
        .build()
        .unwrap();
    let padding = "x".repeat(2000);
    let fault = Fault::body(
        200,
        "application/json",
        &format!(r#"{{"sets":[],"pad":"{padding}"}}"#),
    );
    fake.fail_next(Op::ListSecretSets, 1, fault);
    let err = client.list_secret_sets().send().await.unwrap_err();
    assert!(matches!(&err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("max_answer_bytes"), "{err}");

    // Without a length announced (chunked), the limit holds as it is read.
    let raw = chunked_server(format!(r#"{{"sets":[],"pad":"{padding}"}}"#)).await;
    let chunked = Client::builder()
        .host(raw)
        .private_key("k-test")
        .max_answer_bytes(1000)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = chunked.list_secret_sets().send().await.unwrap_err();
    assert!(matches!(&err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("max_answer_bytes"), "{err}");

    // Under the limit, the same call works.
    fake.fail_next(Op::ListSecretSets, 1, Fault::json(200, json!({"sets": []})));
    client.list_secret_sets().send().await.unwrap();
}

/// A server that answers every request with `body`, 200, in 100-byte
/// chunks and no `Content-Length`.
async fn chunked_server(body: String) -> String {
    use tokio::io::AsyncWriteExt as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let mut answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                for chunk in body.as_bytes().chunks(100) {
                    answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    answer.extend_from_slice(chunk);
                    answer.extend_from_slice(b"\r\n");
                }
                answer.extend_from_slice(b"0\r\n\r\n");
                let _ = socket.write_all(&answer).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_post_whose_connection_broke_says_it_may_have_taken_effect() {
    let (fake, client) = pipecat_e2e::setup().await;
    pipecat_e2e::ready_agent(&client, "voice-bot", 10).await;
    fake.fail_next(Op::StartService, 1, Fault::ResetBeforeResponse);
    let err = client
        .start_service()
        .agent_name("voice-bot")
        .body(StartRequest::default())
        .send()
        .await
        .unwrap_err();
    let Error::Transport {
        may_have_taken_effect,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(*may_have_taken_effect);
    let text = err.to_string();
    assert!(text.contains("may have taken effect"), "{text}");
    assert!(!text.contains("try again"), "{text}");
    let sent = |operation: &str| {
        fake.requests()
            .iter()
            .filter(|r| r.operation.as_deref() == Some(operation))
            .count()
    };
    assert_eq!(sent("startService"), 1, "the POST was not sent again");

    // A GET that breaks the same way is retried; when it breaks every
    // time, its error does not claim an effect.
    fake.fail_next(Op::ListSecretSets, 3, Fault::ResetBeforeResponse);
    let err = client.list_secret_sets().send().await.unwrap_err();
    let Error::Transport {
        may_have_taken_effect,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(!*may_have_taken_effect, "{err}");
    assert_eq!(sent("listSecretSets"), 3, "the GET was retried");
}
