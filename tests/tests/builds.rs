//! Cloud builds, organization properties and regions end to end.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use futures_util::TryStreamExt as _;
use pipecat_api::types::{BuildStatus, CreateBuildRequest, UpdatePropertiesBody, UploadUrlRequest};
use pipecat_api::{Client, Error};
use pipecat_e2e::{client_for, render_requests, setup};

async fn upload_id(client: &Client) -> pipecat_api::uuid::Uuid {
    let url = client
        .get_build_upload_url()
        .body(UploadUrlRequest::builder().region("us-west"))
        .send()
        .await
        .unwrap();
    assert!(
        url.upload_url
            .as_deref()
            .unwrap_or_default()
            .starts_with("http")
    );
    url.upload_id.unwrap()
}

fn build_request(
    upload: pipecat_api::uuid::Uuid,
) -> pipecat_api::types::builder::CreateBuildRequest {
    CreateBuildRequest::builder()
        .dockerfile_path("Dockerfile")
        .region("us-west")
        .upload_id(upload)
}

#[tokio::test]
async fn a_new_context_is_201_and_the_same_again_200_cached() {
    let (_fake, client) = setup().await;
    let upload = upload_id(&client).await;

    let first = client
        .create_build()
        .body(build_request(upload))
        .send_with_response()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first = first.into_value();
    assert_eq!(first.cached, Some(false));
    let id = first.build.and_then(|b| b.id).unwrap();

    // Let it finish, then ask again for the same context.
    let mut status = None;
    for _ in 0..5 {
        status = client
            .get_build()
            .build_id(id)
            .send()
            .await
            .unwrap()
            .build
            .and_then(|b| b.status);
        if status == Some(BuildStatus::Success) {
            break;
        }
    }
    assert_eq!(status, Some(BuildStatus::Success));
    let again = client
        .create_build()
        .body(build_request(upload))
        .send_with_response()
        .await
        .unwrap();
    assert_eq!(
        again.status().as_u16(),
        200,
        "a cached build is a success too"
    );
    let again = again.into_value();
    assert_eq!(again.cached, Some(true));

    let logs = client
        .get_build_logs()
        .build_id(id)
        .limit(100)
        .send()
        .await
        .unwrap();
    assert!(!logs.logs.is_empty());
}

#[tokio::test]
async fn builds_list_page_by_page_and_use_the_private_key() {
    let (fake, client) = setup().await;
    for _ in 0..7 {
        let upload = upload_id(&client).await;
        client
            .create_build()
            .body(build_request(upload))
            .send()
            .await
            .unwrap();
    }
    fake.clear_requests();
    let builds: Vec<_> = client
        .list_builds()
        .region("us-west")
        .into_stream_with_page_size(3)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(builds.len(), 7);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {}", fake.private_key()).as_str())
        );
    }

    // Builds take the private key even though the published spec gives
    // them a scheme of their own.
    let public_only = client_for(&fake, None, Some(fake.public_key()));
    let err: Error = public_only.list_builds().send().await.unwrap_err();
    assert!(
        err.to_string().contains("needs the private API key"),
        "{err}"
    );
}

#[tokio::test]
async fn build_requests_as_sent() {
    let (fake, client) = setup().await;
    let upload = upload_id(&client).await;
    let created = client
        .create_build()
        .body(build_request(upload))
        .send()
        .await
        .unwrap();
    let id = created.build.and_then(|b| b.id).unwrap();
    client.get_build().build_id(id).send().await.unwrap();
    client.get_build_logs().build_id(id).send().await.unwrap();
    client
        .list_builds()
        .limit(20)
        .offset(0u64)
        .send()
        .await
        .unwrap();
    let text = render_requests(&fake)
        .replace(&upload.to_string(), "[upload]")
        .replace(&id.to_string(), "[build]");
    insta::assert_snapshot!(text);
}

#[tokio::test]
async fn build_errors() {
    let (fake, client) = setup().await;
    let err: Error = client
        .get_build()
        .build_id(pipecat_api::uuid::Uuid::nil())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    fake.fail_next(
        pipecat_fake::Op::CreateBuild,
        1,
        pipecat_fake::Fault::empty(401),
    );
    let upload = upload_id(&client).await;
    let err: Error = client
        .create_build()
        .body(build_request(upload))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    // A failed POST is never retried, even on a retryable status.
    fake.fail_next(
        pipecat_fake::Op::CreateBuild,
        1,
        pipecat_fake::Fault::empty(503),
    );
    fake.clear_requests();
    let err: Error = client
        .create_build()
        .body(build_request(upload))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn properties_and_regions() {
    let (fake, client) = setup().await;
    let regions = client.list_regions().send().await.unwrap().regions;
    assert!(
        regions
            .iter()
            .any(|r| r.code == "us-west" && r.display_name.is_some()),
        "{regions:?}"
    );

    let properties = client
        .get_properties()
        .send()
        .await
        .unwrap()
        .properties
        .unwrap();
    assert!(properties.default_region.is_some());
    let other = regions
        .iter()
        .map(|r| r.code.clone())
        .find(|c| Some(c) != properties.default_region.as_ref())
        .unwrap();
    let changed = client
        .update_properties()
        .body(UpdatePropertiesBody::builder().default_region(other.clone()))
        .send()
        .await
        .unwrap();
    let current = &changed.properties["defaultRegion"].current_value;
    assert_eq!(current, &Some(serde_json::json!(other)));

    let schema = client.get_properties_schema().send().await.unwrap();
    assert!(
        schema.properties.contains_key("defaultRegion"),
        "{schema:?}"
    );

    let err: Error = client
        .update_properties()
        .body(UpdatePropertiesBody::builder())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.status().map(|s| s.as_u16()),
        Some(400),
        "an empty change is refused: {err}"
    );
    let err: Error = client
        .update_properties()
        .body(UpdatePropertiesBody::builder().default_region("mars-north"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");

    fake.clear_requests();
    client.get_properties().send().await.unwrap();
    client
        .update_properties()
        .body(UpdatePropertiesBody::builder().default_region(other))
        .send()
        .await
        .unwrap();
    client.get_properties_schema().send().await.unwrap();
    client.list_regions().send().await.unwrap();
    insta::assert_snapshot!(render_requests(&fake));

    let wrong = client_for(&fake, Some("nope"), None);
    for err in [
        wrong.list_regions().send().await.unwrap_err(),
        wrong.get_properties().send().await.unwrap_err(),
    ] {
        assert!(err.is_unauthorized(), "{err}");
    }
}
