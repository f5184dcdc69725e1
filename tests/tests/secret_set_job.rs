//! The secret-set job (`SecretSetUpdate` + `Client::put_secret_set`)
//! against pipecat-fake: what it checks before sending, the one PUT it
//! sends, and how its wait ends.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use pipecat_api::types::SecretSetStatus;
use pipecat_api::{Error, SecretSetUpdate, Wait};
use pipecat_e2e::setup;

const SECRET: &str = "sk-never-shown-0815";

fn quick() -> Wait {
    pipecat_e2e::quick_wait(Duration::from_secs(5))
}

/// A `.env` file of its own (tests run in parallel in one process).
fn env_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pipecat-secret-job-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn pairs_and_a_file_go_in_one_put_with_the_region_and_the_wait_ends_on_ready() {
    let (fake, client) = setup().await;
    // A key already in the set stays (the PUT merges).
    let first = SecretSetUpdate::new("job-set")
        .region("eu-central")
        .pair("KEPT", "k")
        .wait(quick());
    client.put_secret_set(first.check().unwrap()).await.unwrap();
    fake.clear_requests();
    fake.set_provisioning_reads(3);

    let path = env_file("merge.env", "A=1\nB='from the file'\nC=3\n");
    let update = SecretSetUpdate::new("job-set")
        .region("eu-central")
        .env_file(&path)
        .pair("B", SECRET)
        .pairs([("D", "4")])
        .wait(quick())
        .check()
        .unwrap();
    assert_eq!(update.replaced(), ["B"]);
    assert_eq!(update.keys().collect::<Vec<_>>(), ["A", "B", "C", "D"]);
    // Single quotes are kept by the official CLI: the caller can say so first.
    let warnings: Vec<String> = update.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("merge.env:2: B"), "{warnings:?}");
    for shown in [format!("{update:?}"), warnings.join("\n")] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
    assert_eq!(fake.request_count(), 0, "check() sent something");

    let set = client.put_secret_set(update).await.unwrap();
    assert_eq!(set.status, Some(SecretSetStatus::Ready));
    let mut keys: Vec<String> = set
        .secrets
        .iter()
        .filter_map(|s| s.field_name.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["A", "B", "C", "D", "KEPT"]);

    let requests = fake.requests();
    let puts: Vec<_> = requests.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 1, "one PUT for pairs and file together");
    let body: serde_json::Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"region": "eu-central", "secrets": [
            {"secretKey": "A", "secretValue": "1"},
            {"secretKey": "B", "secretValue": SECRET},
            {"secretKey": "C", "secretValue": "3"},
            {"secretKey": "D", "secretValue": "4"},
        ]})
    );
    // The wait read the set until it was ready (3 pending reads, then ready).
    let reads = requests.iter().filter(|r| r.method == "GET").count();
    assert_eq!(reads, 4, "{:?}", fake.requests());
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let (fake, _client) = setup().await;
    let path = env_file("dup.env", "A=1\n");
    let refused = |update: SecretSetUpdate| match update.check() {
        Err(Error::InvalidRequest { message }) => message,
        other => panic!("accepted: {other:?}"),
    };

    let message = refused(
        SecretSetUpdate::new("job-set")
            .pair("K", SECRET)
            .pair("K", "again"),
    );
    assert!(
        message.contains("pairs[1]: key K is given twice"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");

    let message = refused(SecretSetUpdate::new("job-set").pair("EMPTY", ""));
    assert!(message.contains("pairs[0] (key EMPTY)"), "{message}");
    let message = refused(SecretSetUpdate::new("job-set").pair("BAD KEY", SECRET));
    assert!(message.starts_with("pairs[0]: key: "), "{message}");
    assert!(!message.contains(SECRET), "{message}");
    let message = refused(SecretSetUpdate::new("Bad_Name").pair("K", "v"));
    assert!(message.starts_with("set_name: "), "{message}");
    let message = refused(SecretSetUpdate::new("job-set").region(" ").pair("K", "v"));
    assert!(
        message.starts_with("region: must not be empty"),
        "{message}"
    );
    let message = refused(SecretSetUpdate::new("job-set"));
    assert!(message.contains("at least one secret"), "{message}");
    let empty = env_file("empty.env", "# nothing\n");
    let message = refused(SecretSetUpdate::new("job-set").env_file(&empty));
    assert!(message.contains("no secrets in the file"), "{message}");
    // A pair may replace a key of the file; the file's own keys are read
    // and checked as `.env` text (a key twice there is refused by line).
    assert!(
        SecretSetUpdate::new("job-set")
            .env_file(&path)
            .pair("A", "2")
            .check()
            .is_ok()
    );

    assert_eq!(fake.request_count(), 0, "bad input reached the API");
}

#[tokio::test]
async fn a_failed_set_ends_the_wait_with_the_services_reason() {
    let (fake, client) = setup().await;
    fake.fail_provisioning("job-set", "vault unavailable");
    let update = SecretSetUpdate::new("job-set")
        .pair("A", "1")
        .wait(quick())
        .check()
        .unwrap();
    let err = client.put_secret_set(update).await.unwrap_err();
    let Error::Failed { job, reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(reason, "vault unavailable");
    assert!(matches!(job, pipecat_api::Job::SecretSet { .. }), "{job:?}");
}
