//! Sessions end to end: the public start (every transport), listing,
//! fetching and stopping, and the session proxy, against pipecat-fake.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use futures_util::TryStreamExt as _;
use pipecat_api::types::{GetSessionsStatus, StartRequest, UpdateServiceRequest};
use pipecat_api::uuid::Uuid;
use pipecat_api::{Client, Connection, Error, Method, RetryPolicy};
use pipecat_e2e::{client_for, ready_agent, render_requests, setup};
use pipecat_fake::FakeCloud;
use serde_json::json;

async fn start(
    client: &Client,
    agent: &str,
    request: StartRequest,
) -> Result<pipecat_api::types::StartResponse, Error> {
    client
        .start_service()
        .agent_name(agent)
        .body(request)
        .send()
        .await
}

#[tokio::test]
async fn every_transport_answers_with_its_fields() {
    let (_fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;

    let daily = start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap();
    let Connection::Daily { room, token } = daily.connection() else {
        panic!("{daily:?}")
    };
    assert!(room.starts_with("https://") && token.is_some(), "{daily:?}");

    let webrtc = start(&client, "voice-bot", StartRequest::webrtc())
        .await
        .unwrap();
    let Connection::WebRtc { ice_config } = webrtc.connection() else {
        panic!("{webrtc:?}")
    };
    assert!(!ice_config.ice_servers.is_empty());

    let ws = start(
        &client,
        "voice-bot",
        StartRequest::websocket()
            .with_body(json!({"caller": "+1555"}))
            .unwrap(),
    )
    .await
    .unwrap();
    let Connection::WebSocket { url, token } = ws.connection() else {
        panic!("{ws:?}")
    };
    assert!(url.starts_with("ws") && !token.expose_secret().is_empty());
    let echoed: serde_json::Value = serde_json::from_slice(&ws.decoded_body().unwrap()).unwrap();
    assert_eq!(echoed, json!({"caller": "+1555"}));

    for started in [&daily, &webrtc, &ws] {
        started.session_uuid().unwrap();
    }
}

#[tokio::test]
async fn public_calls_go_to_the_public_base_with_the_public_key() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;
    fake.clear_requests();
    let started = start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap();
    let session = started.session_uuid().unwrap();
    client
        .session_proxy(Method::POST, "voice-bot", session, "api/offer")
        .json(&json!({"sdp": "x"}))
        .send()
        .await
        .unwrap();
    client
        .get_session()
        .agent_name("voice-bot")
        .session_id(session)
        .send()
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests[0].path, "/v1/public/voice-bot/start");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {}", fake.public_key()).as_str())
    );
    assert!(
        requests[1]
            .path
            .starts_with("/v1/public/voice-bot/sessions/")
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {}", fake.public_key()).as_str())
    );
    assert_eq!(
        requests[2].header("authorization"),
        Some(format!("Bearer {}", fake.private_key()).as_str())
    );
    insta::assert_snapshot!(render_requests(&fake).replace(&session.to_string(), "[session]"));
}

#[tokio::test]
async fn an_agent_named_start_and_an_agent_named_agents_do_not_collide() {
    let (fake, client) = setup().await;
    ready_agent(&client, "start", 5).await;
    ready_agent(&client, "agents", 5).await;
    fake.clear_requests();
    let update = UpdateServiceRequest::builder().force_redeploy(true);
    client
        .update_service()
        .agent_name("start")
        .body(update)
        .send()
        .await
        .unwrap();
    start(&client, "agents", StartRequest::daily())
        .await
        .unwrap();
    let paths: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.operation.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            (
                "POST".into(),
                "/v1/agents/start".into(),
                Some("updateService".into())
            ),
            (
                "POST".into(),
                "/v1/public/agents/start".into(),
                Some("startService".into())
            ),
        ]
    );
}

#[tokio::test]
async fn keys_are_never_crossed_and_a_missing_one_sends_nothing() {
    let fake = FakeCloud::start().await.unwrap();
    let private_only = client_for(&fake, Some(fake.private_key()), None);
    ready_agent(&private_only, "voice-bot", 5).await;
    fake.clear_requests();
    let err = start(&private_only, "voice-bot", StartRequest::daily())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs the public API key"),
        "{err}"
    );
    let err = private_only
        .session_proxy(Method::GET, "voice-bot", Uuid::nil(), "status")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs the public API key"),
        "{err}"
    );
    assert_eq!(fake.request_count(), 0);

    // Keys swapped: the server refuses both ways.
    let swapped = client_for(&fake, Some(fake.public_key()), Some(fake.private_key()));
    let err = start(&swapped, "voice-bot", StartRequest::daily())
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let err: Error = swapped.list_services().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
}

#[tokio::test]
async fn start_errors_are_documented_ones() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 1).await;
    let err = start(&client, "no-such-bot", StartRequest::daily())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap();
    fake.clear_requests();
    let err = start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err}");
    assert_eq!(err.code(), Some("429"));
    assert!(err.to_string().contains("Rate limit exceeded"), "{err}");
    assert_eq!(fake.request_count(), 1, "capacity 429 is returned at once");

    let patient = Client::builder()
        .host(fake.url())
        .public_key(fake.public_key())
        .retry(
            RetryPolicy::default()
                .retry_session_capacity(true)
                .backoff(std::time::Duration::ZERO, std::time::Duration::ZERO),
        )
        .build()
        .unwrap();
    fake.clear_requests();
    assert!(
        start(&patient, "voice-bot", StartRequest::daily())
            .await
            .is_err()
    );
    assert_eq!(
        fake.request_count(),
        3,
        "opted in: retried up to max_attempts"
    );

    let huge = StartRequest::websocket()
        .with_body(json!({"blob": "x".repeat(5_000)}))
        .unwrap();
    let err = start(&client, "voice-bot", huge).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(413), "{err}");
}

#[tokio::test]
async fn sessions_list_get_and_stop() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            start(&client, "voice-bot", StartRequest::daily())
                .await
                .unwrap()
                .session_uuid()
                .unwrap(),
        );
    }
    let stopped = client
        .stop_session()
        .agent_name("voice-bot")
        .session_id(ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.session_id, Some(ids[0]));

    let session = client
        .get_session()
        .agent_name("voice-bot")
        .session_id(ids[0])
        .send()
        .await
        .unwrap();
    assert!(session.ended_at.is_some(), "{session:?}");

    fake.clear_requests();
    let all: Vec<_> = client
        .get_sessions()
        .agent_name("voice-bot")
        .into_stream_with_page_size(2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        fake.request_count(),
        3,
        "pages of 2, 2 and 1; the exact total ends it"
    );
    let active: Vec<_> = client
        .get_sessions()
        .agent_name("voice-bot")
        .status(GetSessionsStatus::Active)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(active.len(), 4);

    let err: Error = client
        .get_session()
        .agent_name("voice-bot")
        .session_id(Uuid::nil())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn the_proxy_reaches_the_bot_with_path_body_and_headers() {
    let (_fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;
    let session = start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap()
        .session_uuid()
        .unwrap();

    let answer = client
        .session_proxy(Method::POST, "voice-bot", session, "api/offer")
        .header("x-trace", "abc")
        .query("mode", "fast")
        .json(&json!({"sdp": "v=0", "type": "offer"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers()["x-fake-method"], "POST");
    assert_eq!(answer.headers()["x-fake-path"], "api/offer");
    assert_eq!(answer.headers()["x-fake-query"], "mode=fast");
    assert_eq!(answer.headers()["x-echo-x-trace"], "abc");
    assert_eq!(
        answer.json::<serde_json::Value>().unwrap(),
        json!({"sdp": "v=0", "type": "offer"})
    );

    // Raw bytes, and a path whose segments need encoding: ?, # and % stay
    // inside their segment, / separates segments.
    let bytes = client
        .session_proxy(Method::PUT, "voice-bot", session, "files/a b?c#d/100%")
        .header("content-type", "application/octet-stream")
        .body(vec![0u8, 159, 146, 150])
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.headers()["x-fake-path"], "files/a%20b%3Fc%23d/100%25");
    assert_eq!(bytes.bytes().as_ref(), &[0u8, 159, 146, 150]);

    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let answer = client
            .session_proxy(method.clone(), "voice-bot", session, "status")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.headers()["x-fake-method"], method.as_str());
    }
    let head = client
        .session_proxy(Method::HEAD, "voice-bot", session, "status")
        .send()
        .await
        .unwrap();
    assert_eq!((head.status().as_u16(), head.bytes().len()), (200, 0));
    let options = client
        .session_proxy(Method::OPTIONS, "voice-bot", session, "status")
        .send()
        .await
        .unwrap();
    assert!(options.headers().contains_key("allow"));
}

#[tokio::test]
async fn the_proxy_refuses_bad_targets_and_reports_ended_sessions() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;
    let session = start(&client, "voice-bot", StartRequest::daily())
        .await
        .unwrap()
        .session_uuid()
        .unwrap();
    fake.clear_requests();
    for path in ["", "..", "api/../../agents", "./x", "a//b"] {
        let err = client
            .session_proxy(Method::GET, "voice-bot", session, path)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{path:?}: {err}"
        );
    }
    let err = client
        .session_proxy(Method::TRACE, "voice-bot", session, "x")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    for (name, value) in [
        ("authorization", "Bearer other"),
        ("bad header", "x"),
        ("x-ok", "bad\nvalue"),
    ] {
        let err = client
            .session_proxy(Method::GET, "voice-bot", session, "x")
            .header(name, value)
            .send()
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("request not sent: header: "),
            "{err}"
        );
    }
    assert_eq!(fake.request_count(), 0);

    client
        .stop_session()
        .agent_name("voice-bot")
        .session_id(session)
        .send()
        .await
        .unwrap();
    let ended = client
        .session_proxy(Method::POST, "voice-bot", session, "api/offer")
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status().as_u16(), 400);
    let err = ended.error_for_status().unwrap_err();
    assert_eq!(err.code(), Some("PCC-1001"), "{err}");
    let unknown = client
        .session_proxy(Method::GET, "ghost-bot", Uuid::nil(), "x")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn session_requests_as_sent() {
    let (fake, client) = setup().await;
    ready_agent(&client, "voice-bot", 10).await;
    let session = start(
        &client,
        "voice-bot",
        StartRequest::websocket()
            .with_body(json!({"k": 1}))
            .unwrap(),
    )
    .await
    .unwrap()
    .session_uuid()
    .unwrap();
    fake.clear_requests();
    client
        .get_sessions()
        .agent_name("voice-bot")
        .status(GetSessionsStatus::All)
        .limit(10)
        .offset(0)
        .send()
        .await
        .unwrap();
    for method in [
        Method::GET,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
    ] {
        client
            .session_proxy(method, "voice-bot", session, "api/status")
            .header("x-trace", "t1")
            .send()
            .await
            .unwrap();
    }
    client
        .stop_session()
        .agent_name("voice-bot")
        .session_id(session)
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render_requests(&fake).replace(&session.to_string(), "[session]"));
}
