//! Secret sets end to end: pipecat-api against pipecat-fake over loopback HTTP.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use pipecat_api::types::{SecretSetStatus, SecretSetSummaryType, UpsertSecretSetBody};
use pipecat_api::{Client, Error, RetryPolicy, Wait};
use pipecat_e2e::{client_for, render_requests, setup};
use pipecat_fake::{FakeCloud, Fault};
use serde_json::json;
use std::time::Duration;

/// The five operations, each called with valid arguments.
#[derive(Clone, Copy, Debug)]
enum Op {
    List,
    Get,
    Upsert,
    DeleteSet,
    DeleteKey,
}

const ALL_OPS: [Op; 5] = [Op::List, Op::Get, Op::Upsert, Op::DeleteSet, Op::DeleteKey];

impl Op {
    fn id(self) -> &'static str {
        self.fake().id()
    }

    /// The operation, for arming faults.
    fn fake(self) -> pipecat_fake::Op {
        match self {
            Op::List => pipecat_fake::Op::ListSecretSets,
            Op::Get => pipecat_fake::Op::GetSecretSet,
            Op::Upsert => pipecat_fake::Op::UpsertSecretSet,
            Op::DeleteSet => pipecat_fake::Op::DeleteSecretSet,
            Op::DeleteKey => pipecat_fake::Op::DeleteSecretFromSet,
        }
    }

    async fn call(self, client: &Client) -> Result<(), Error> {
        match self {
            Op::List => client.list_secret_sets().send().await.map(drop)?,
            Op::Get => client
                .get_secret_set()
                .set_name("my-secrets")
                .send()
                .await
                .map(drop)?,
            Op::Upsert => {
                let body = UpsertSecretSetBody::secrets([("API_KEY", "s3cr3t")])?;
                client
                    .upsert_secret_set()
                    .set_name("my-secrets")
                    .body(body)
                    .send()
                    .await
                    .map(drop)?
            }
            Op::DeleteSet => client
                .delete_secret_set()
                .set_name("my-secrets")
                .send()
                .await
                .map(drop)?,
            Op::DeleteKey => client
                .delete_secret_from_set()
                .set_name("my-secrets")
                .secret_key("API_KEY")
                .send()
                .await
                .map(drop)?,
        }
        Ok(())
    }
}

async fn upsert(client: &Client, name: &str, body: UpsertSecretSetBody) {
    let response = client
        .upsert_secret_set()
        .set_name(name)
        .body(body)
        .send_with_response()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
}

async fn set_status(client: &Client, name: &str) -> Option<SecretSetStatus> {
    client
        .get_secret_set()
        .set_name(name)
        .send()
        .await
        .unwrap()
        .status
}

// ---------------------------------------------------------------- successes

#[tokio::test]
async fn upsert_answers_202_and_the_set_goes_pending_then_ready() {
    let (_fake, client) = setup().await;
    let body = UpsertSecretSetBody::secrets([("API_KEY", "a"), ("DB_URL", "b")])
        .unwrap()
        .in_region("eu-central");
    let accepted = client
        .upsert_secret_set()
        .set_name("my-secrets")
        .body(body)
        .send_with_response()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let accepted = accepted.into_value();
    assert_eq!(accepted.region.as_deref(), Some("eu-central"));

    let first = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status, Some(SecretSetStatus::Pending));
    assert_eq!(first.region.as_deref(), Some("eu-central"));
    let keys: Vec<_> = first
        .secrets
        .iter()
        .filter_map(|k| k.field_name.as_deref())
        .collect();
    assert_eq!(keys, ["API_KEY", "DB_URL"]);

    assert_eq!(
        set_status(&client, "my-secrets").await,
        Some(SecretSetStatus::Ready)
    );
}

#[tokio::test]
async fn failed_provisioning_carries_its_message() {
    let (fake, client) = setup().await;
    fake.fail_provisioning("broken-set", "region is out of capacity");
    upsert(
        &client,
        "broken-set",
        UpsertSecretSetBody::secrets([("K", "v")]).unwrap(),
    )
    .await;
    set_status(&client, "broken-set").await;
    let set = client
        .get_secret_set()
        .set_name("broken-set")
        .send()
        .await
        .unwrap();
    assert_eq!(set.status, Some(SecretSetStatus::Failed));
    assert_eq!(
        set.error_message.as_deref(),
        Some("region is out of capacity")
    );
}

#[tokio::test]
async fn list_shows_regular_and_image_pull_sets() {
    let (_fake, client) = setup().await;
    upsert(
        &client,
        "app-secrets",
        UpsertSecretSetBody::secrets([("K", "v")]).unwrap(),
    )
    .await;
    let pull = UpsertSecretSetBody::image_pull_secret("https://index.docker.io/v1/", "me", "token")
        .unwrap();
    upsert(&client, "dockerhub", pull).await;

    let sets = client.list_secret_sets().send().await.unwrap().sets;
    let summary: Vec<_> = sets
        .iter()
        .map(|s| (s.name.as_deref(), s.type_.clone(), s.region.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Some("app-secrets"),
                Some(SecretSetSummaryType::Secret),
                Some("us-west")
            ),
            (
                Some("dockerhub"),
                Some(SecretSetSummaryType::ImagePullSecret),
                Some("us-west")
            ),
        ]
    );
}

#[tokio::test]
async fn an_image_pull_secret_cannot_be_read_by_name() {
    let (_fake, client) = setup().await;
    let pull = UpsertSecretSetBody::image_pull_secret("https://ghcr.io", "me", "token").unwrap();
    upsert(&client, "ghcr-creds", pull).await;
    let err = client
        .get_secret_set()
        .set_name("ghcr-creds")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(err.code(), Some("GENERIC_BAD_REQUEST"));
    assert!(
        err.to_string()
            .contains("Cannot retrieve image pull secrets by name"),
        "{err}"
    );
}

#[tokio::test]
async fn delete_secret_set_deletes_the_whole_set() {
    let (_fake, client) = setup().await;
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("A", "1"), ("B", "2")]).unwrap(),
    )
    .await;

    let deleted = client
        .delete_secret_set()
        .set_name("my-secrets")
        .send_with_response()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let deleted = deleted.into_value();
    assert_eq!(deleted.status.map(|s| s.to_string()).as_deref(), Some("OK"));

    let err = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let again = client
        .delete_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap_err();
    assert!(again.is_not_found(), "{again}");
    assert_eq!(again.code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn delete_secret_from_set_deletes_only_that_key() {
    let (_fake, client) = setup().await;
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("A", "1"), ("B", "2")]).unwrap(),
    )
    .await;

    client
        .delete_secret_from_set()
        .set_name("my-secrets")
        .secret_key("A")
        .send()
        .await
        .unwrap();
    let set = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = set
        .secrets
        .iter()
        .filter_map(|k| k.field_name.as_deref())
        .collect();
    assert_eq!(keys, ["B"]);

    let err: Error = client
        .delete_secret_from_set()
        .set_name("my-secrets")
        .secret_key("A")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Secret not found"), "{err}");
}

#[tokio::test]
async fn requests_as_sent() {
    let (fake, client) = setup().await;
    for op in [Op::Upsert, Op::List, Op::Get, Op::DeleteKey, Op::DeleteSet] {
        op.call(&client).await.unwrap();
    }
    let pull = UpsertSecretSetBody::image_pull_secret("https://index.docker.io/v1/", "me", "token")
        .unwrap()
        .in_region("us-east");
    upsert(&client, "dockerhub", pull).await;
    insta::assert_snapshot!(render_requests(&fake));
}

// ------------------------------------------------------------------- errors

/// Canned answers every operation must map to the right [`Error`].
fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("empty 401", Fault::empty(401)),
        (
            "404",
            Fault::json(404, json!({"error": "Set not found", "code": "NOT_FOUND"})),
        ),
        (
            "409",
            Fault::json(
                409,
                json!({"error": "Secret set 'my-secrets' was modified concurrently. Please retry.", "code": "CONFLICT"}),
            ),
        ),
        (
            "HTML 500",
            Fault::body(
                500,
                "text/html",
                "<html><body><h1>500 Internal Server Error</h1></body></html>",
            ),
        ),
        (
            "429 with message",
            Fault::json(
                429,
                json!({"status": 429, "code": "429", "message": "Rate limit exceeded. Please try again later"}),
            ),
        ),
        (
            "HTML 502",
            Fault::body(
                502,
                "text/html; charset=utf-8",
                "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>",
            ),
        ),
    ]
}

/// Each error answer maps to the right [`Error`]. Retries are off here so
/// that every canned answer reaches the caller; retrying is tested below.
#[tokio::test]
async fn error_answers_map_to_errors() {
    for op in ALL_OPS {
        let fake = FakeCloud::start().await.unwrap();
        let client = Client::builder()
            .host(fake.url())
            .private_key(fake.private_key())
            .retry(RetryPolicy::disabled())
            .build()
            .unwrap();
        let mut shown = Vec::new();
        for (label, fault) in faults() {
            fake.fail_next(op.fake(), 1, fault);
            let err = op.call(&client).await.unwrap_err();
            let status = err.status().map(|s| s.as_u16());
            match label {
                "empty 401" => {
                    assert!(err.is_unauthorized(), "{op:?} {label}: {err}");
                    assert_eq!(err.code(), None);
                }
                "404" => {
                    assert!(err.is_not_found(), "{op:?} {label}: {err}");
                    assert_eq!(err.code(), Some("NOT_FOUND"));
                }
                "409" => {
                    assert!(err.is_conflict(), "{op:?} {label}: {err}");
                    assert!(!err.is_retryable());
                }
                "HTML 500" => {
                    assert_eq!(status, Some(500));
                    assert!(
                        err.to_string().contains("500 Internal Server Error"),
                        "{err}"
                    );
                }
                "429 with message" => {
                    assert_eq!(status, Some(429));
                    assert!(err.is_retryable());
                    assert!(err.to_string().contains("Rate limit exceeded"), "{err}");
                }
                "HTML 502" => {
                    assert_eq!(status, Some(502));
                    assert!(err.is_retryable());
                }
                _ => unreachable!(),
            }
            assert!(matches!(err, Error::Api(_)), "{op:?} {label}: {err:?}");
            assert!(err.to_string().contains(op.id()), "{err}");
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(fake.private_key()), "{text}");
            }
            shown.push(format!("{label}: {err}"));
        }
        assert_eq!(
            fake.request_count(),
            faults().len(),
            "{op:?}: one request per call, no retries"
        );
        insta::assert_snapshot!(format!("errors_{}", op.id()), shown.join("\n"));
    }
}

/// The default policy retries transient answers of idempotent calls, and a
/// 409 CONFLICT of an upsert, and nothing else.
#[tokio::test]
async fn transient_answers_are_retried_where_safe() {
    let (fake, client) = setup().await;
    let busy = || Fault::json(503, json!({"error": "busy", "code": "503"}));
    let conflict = || {
        Fault::json(
            409,
            json!({"error": "modified concurrently", "code": "CONFLICT"}),
        )
    };
    for op in ALL_OPS {
        // Make sure the set and key exist so that the retried call succeeds.
        Op::Upsert.call(&client).await.unwrap();
        fake.clear_requests();
        fake.fail_next(op.fake(), 2, busy());
        op.call(&client)
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
        assert_eq!(fake.request_count(), 3, "{op:?}: two 503s, then success");
    }

    fake.clear_requests();
    fake.fail_next(pipecat_fake::Op::UpsertSecretSet, 1, conflict());
    Op::Upsert.call(&client).await.unwrap();
    assert_eq!(fake.request_count(), 2, "upsert retried after CONFLICT");

    fake.clear_requests();
    fake.fail_next(pipecat_fake::Op::DeleteSecretSet, 1, conflict());
    let err = Op::DeleteSet.call(&client).await.unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(fake.request_count(), 1, "a 409 elsewhere is not retried");

    fake.clear_requests();
    fake.fail_next(pipecat_fake::Op::GetSecretSet, 5, busy());
    let err = Op::Get.call(&client).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(fake.request_count(), 3, "at most max_attempts attempts");
}

#[tokio::test]
async fn a_wrong_key_is_401_from_the_server() {
    let fake = FakeCloud::start().await.unwrap();
    let wrong = client_for(&fake, Some("not-the-key"), None);
    let public_as_private = client_for(&fake, Some(fake.public_key()), None);
    for client in [wrong, public_as_private] {
        for op in ALL_OPS {
            let err = op.call(&client).await.unwrap_err();
            assert!(err.is_unauthorized(), "{op:?}: {err}");
            assert_eq!(err.code(), Some("UNAUTHORIZED"));
        }
    }
}

#[tokio::test]
async fn without_a_private_key_nothing_is_sent() {
    let fake = FakeCloud::start().await.unwrap();
    let client = client_for(&fake, None, Some(fake.public_key()));
    for op in ALL_OPS {
        let err = op.call(&client).await.unwrap_err();
        let Error::InvalidRequest { message } = &err else {
            panic!("{op:?}: {err:?}")
        };
        assert!(message.contains("needs the private API key"), "{message}");
        assert!(message.contains("PIPECAT_API_KEY"), "{message}");
    }
    assert_eq!(fake.request_count(), 0);
}

// -------------------------------------------------------------- bad input

const BAD_SET_NAMES: &[&str] = &[
    "",
    ".",
    "..",
    "ab",
    "My-Secrets",
    "-abc",
    "abc-",
    "a..b",
    "a/b",
    "a b",
    "my_secrets",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];
const BAD_SECRET_KEYS: &[&str] = &[
    "",
    ".",
    "..",
    "a b",
    "a/b",
    "a.b",
    "x?y",
    "k#1",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
];

fn expect_refused(err: Error, parameter: &str, shown: &mut Vec<String>) {
    let Error::InvalidRequest { message } = &err else {
        panic!("expected a local refusal, got {err:?}")
    };
    assert!(message.starts_with(&format!("{parameter}: ")), "{message}");
    assert!(
        [
            "use lowercase letters",
            "use 1 to 64",
            "shorter than",
            "longer than"
        ]
        .iter()
        .any(|rule| message.contains(rule)),
        "{message}"
    );
    shown.push(err.to_string());
}

#[tokio::test]
async fn bad_names_and_keys_are_refused_before_sending() {
    let (fake, client) = setup().await;
    let mut shown = Vec::new();
    for name in BAD_SET_NAMES {
        let body = || UpsertSecretSetBody::secrets([("K", "v")]).unwrap();
        let errs: Vec<Error> = vec![
            client
                .get_secret_set()
                .set_name(*name)
                .send()
                .await
                .unwrap_err(),
            client
                .upsert_secret_set()
                .set_name(*name)
                .body(body())
                .send()
                .await
                .unwrap_err(),
            client
                .delete_secret_set()
                .set_name(*name)
                .send()
                .await
                .unwrap_err(),
            client
                .delete_secret_from_set()
                .set_name(*name)
                .secret_key("K")
                .send()
                .await
                .unwrap_err(),
        ];
        for err in errs {
            expect_refused(err, "set_name", &mut shown);
        }
    }
    for key in BAD_SECRET_KEYS {
        let err = client
            .delete_secret_from_set()
            .set_name("my-secrets")
            .secret_key(*key)
            .send()
            .await
            .unwrap_err();
        expect_refused(err, "secret_key", &mut shown);
    }
    assert_eq!(
        fake.request_count(),
        0,
        "refused requests must not reach the server"
    );
    shown.dedup();
    insta::assert_snapshot!(shown.join("\n"));
}

#[tokio::test]
async fn deleting_a_dot_key_never_deletes_the_set() {
    let (fake, client) = setup().await;
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("A", "1")]).unwrap(),
    )
    .await;
    fake.clear_requests();
    for key in ["", ".", "..", "%2e", "%2E%2E"] {
        assert!(
            client
                .delete_secret_from_set()
                .set_name("my-secrets")
                .secret_key(key)
                .send()
                .await
                .is_err()
        );
    }
    assert_eq!(fake.request_count(), 0);
    let set = client
        .get_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap();
    assert_eq!(set.secrets.len(), 1);
}

#[tokio::test]
async fn a_missing_parameter_is_refused_by_name() {
    let (fake, client) = setup().await;
    let err: Error = client.delete_secret_set().send().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "request not sent: set_name was not initialized"
    );
    let err: Error = client
        .upsert_secret_set()
        .set_name("my-secrets")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "request not sent: body was not initialized"
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn bad_bodies_are_refused_by_field() {
    let err = UpsertSecretSetBody::secrets([("GOOD", "v"), ("no spaces", "v")]).unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    assert!(
        err.to_string()
            .contains("body: secrets[1].secretKey: use 1 to 64 letters"),
        "{err}"
    );
    let err = UpsertSecretSetBody::secrets([("EMPTY", "")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("secrets[0].secretValue (key EMPTY): a secret value must not be empty"),
        "{err}"
    );
}

// ------------------------------------------------------------------ waiting

fn quick_wait(timeout_ms: u64) -> Wait {
    pipecat_e2e::quick_wait(Duration::from_millis(timeout_ms))
}

#[tokio::test]
async fn waiting_returns_the_ready_set() {
    let (fake, client) = setup().await;
    fake.set_provisioning_reads(3);
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("K", "v")]).unwrap(),
    )
    .await;
    fake.clear_requests();
    let set = client
        .wait_secret_set_ready("my-secrets", quick_wait(5_000))
        .await
        .unwrap();
    assert_eq!(set.status, Some(SecretSetStatus::Ready));
    assert_eq!(fake.request_count(), 4, "three pending reads, then ready");
}

#[tokio::test]
async fn waiting_on_a_failed_set_returns_its_message() {
    let (fake, client) = setup().await;
    fake.fail_provisioning("my-secrets", "quota exceeded in us-west");
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("K", "v")]).unwrap(),
    )
    .await;
    let err = client
        .wait_secret_set_ready("my-secrets", quick_wait(5_000))
        .await
        .unwrap_err();
    let Error::Failed {
        job, reason, last, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(reason, "quota exceeded in us-west");
    assert_eq!(
        job,
        &pipecat_api::Job::SecretSet {
            name: "my-secrets".into()
        }
    );
    // The set as last read, typed.
    let Some(pipecat_api::JobState::SecretSet(set)) = last.job_state() else {
        panic!("{last:?}")
    };
    assert_eq!(
        set.status,
        Some(pipecat_api::types::SecretSetStatus::Failed)
    );
    assert_eq!(
        set.error_message.as_deref(),
        Some("quota exceeded in us-west")
    );
    insta::assert_snapshot!(err.to_string(), @"secret set my-secrets failed: quota exceeded in us-west; fix the cause and try again");
}

#[tokio::test]
async fn waiting_gives_up_at_the_deadline() {
    let (fake, client) = setup().await;
    fake.set_provisioning_reads(u32::MAX);
    upsert(
        &client,
        "my-secrets",
        UpsertSecretSetBody::secrets([("K", "v")]).unwrap(),
    )
    .await;
    let started = std::time::Instant::now();
    let err = client
        .wait_secret_set_ready("my-secrets", quick_wait(150))
        .await
        .unwrap_err();
    let Error::Timeout { last, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(last.job_state(), Some(pipecat_api::JobState::SecretSet(set))
            if set.status == Some(pipecat_api::types::SecretSetStatus::Pending)),
        "{last:?}"
    );
    assert!(
        err.to_string().contains("last seen: status pending"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = client
        .wait_secret_set_ready("missing-set", quick_wait(150))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "a 404 ends the wait at once: {err}");
}
