//! One client, shared across tasks: it is `Clone + Send + Sync`, its clones
//! share one connection pool, and many calls at once all succeed.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used)]

use pipecat_api::Client;
use pipecat_api::types::UpsertSecretSetBody;
use pipecat_e2e::setup;

fn assert_shareable<T: Clone + Send + Sync + 'static>() {}

#[test]
fn client_is_clone_send_sync() {
    assert_shareable::<Client>();
    assert_send_sync::<pipecat_api::Error>();
}

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_complete() {
    let (fake, client) = setup().await;
    let body = UpsertSecretSetBody::secrets([("K", "v")]).unwrap();
    client
        .upsert_secret_set()
        .set_name("shared-set")
        .body(body)
        .send()
        .await
        .unwrap();
    fake.clear_requests();

    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    client.list_secret_sets().send().await.map(|r| r.sets.len())
                } else {
                    client
                        .get_secret_set()
                        .set_name("shared-set")
                        .send()
                        .await
                        .map(|r| r.secrets.len())
                }
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1);
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(
        fake.request_count(),
        1000,
        "one request per call: nothing failed and was retried"
    );
}
