//! Shared pieces of the end-to-end suite: a fake Pipecat Cloud on loopback,
//! a client pointed at it, and stable renderings of what went over the wire.

// Test support: a failed setup should stop the test at once.
#![allow(clippy::expect_used, clippy::panic)]

use pipecat_api::Client;
use pipecat_fake::{FakeCloud, RecordedRequest};

/// A fresh fake and a client holding both of its keys.
pub async fn setup() -> (FakeCloud, Client) {
    let fake = FakeCloud::start().await.expect("start the fake");
    let client = client_for(&fake, Some(fake.private_key()), Some(fake.public_key()));
    (fake, client)
}

/// A client for `fake` with the given keys.
pub fn client_for(fake: &FakeCloud, private_key: Option<&str>, public_key: Option<&str>) -> Client {
    let mut builder = Client::builder().host(fake.url());
    if let Some(key) = private_key {
        builder = builder.private_key(key);
    }
    if let Some(key) = public_key {
        builder = builder.public_key(key);
    }
    builder.build().expect("build the client")
}

/// A request as the server saw it, for snapshots: method, path, query,
/// headers sorted by name with the keys and the port masked, and the body
/// (pretty JSON when it is JSON).
pub fn render_request(fake: &FakeCloud, request: &RecordedRequest) -> String {
    let mut out = format!("{} {}", request.method, request.path);
    if let Some(query) = &request.query {
        out.push('?');
        out.push_str(query);
    }
    out.push('\n');
    let mut headers = request.headers.clone();
    headers.sort();
    for (name, value) in headers {
        let value = value
            .replace(fake.private_key(), "[private key]")
            .replace(fake.public_key(), "[public key]")
            .replace(&fake.addr().port().to_string(), "[port]");
        out.push_str(&format!("{name}: {value}\n"));
    }
    if !request.body.is_empty() {
        out.push('\n');
        match serde_json::from_slice::<serde_json::Value>(&request.body) {
            Ok(json) => out.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default()),
            Err(_) => out.push_str(&String::from_utf8_lossy(&request.body)),
        }
        out.push('\n');
    }
    out
}

/// Every request the fake has seen, rendered, separated by blank lines.
pub fn render_requests(fake: &FakeCloud) -> String {
    fake.requests()
        .iter()
        .map(|r| render_request(fake, r))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every operation of the API, by operation id, with the status it
/// succeeds with (the first, for createBuild).
pub const OPERATIONS: &[(&str, u16)] = &[
    ("listServices", 200),
    ("createService", 200),
    ("getService", 200),
    ("updateService", 200),
    ("deleteService", 200),
    ("getLogs", 200),
    ("getSessions", 200),
    ("getSession", 200),
    ("stopSession", 200),
    ("startService", 200),
    ("sessionProxyGet", 200),
    ("sessionProxyPost", 200),
    ("sessionProxyPut", 200),
    ("sessionProxyPatch", 200),
    ("sessionProxyDelete", 200),
    ("sessionProxyOptions", 200),
    ("sessionProxyHead", 200),
    ("listSecretSets", 200),
    ("getSecretSet", 200),
    ("upsertSecretSet", 202),
    ("deleteSecretSet", 200),
    ("deleteSecretFromSet", 200),
    ("getBuildUploadUrl", 200),
    ("listBuilds", 200),
    ("createBuild", 201),
    ("getBuild", 200),
    ("getBuildLogs", 200),
    ("getProperties", 200),
    ("updateProperties", 200),
    ("getPropertiesSchema", 200),
    ("listRegions", 200),
];

/// Calls operation `id` with fixed, valid arguments: agent `voice-bot`,
/// set `app-secrets` (key `KEY`), session and build `id`. The answer is
/// decoded and dropped; the proxy's non-2xx answers count as errors.
pub async fn call_operation(
    client: &Client,
    op: &str,
    id: pipecat_api::uuid::Uuid,
) -> Result<(), pipecat_api::Error> {
    use pipecat_api::Method;
    use pipecat_api::types::*;
    const AGENT: &str = "voice-bot";
    const SET: &str = "app-secrets";
    let proxy = |method: Method| async move {
        client
            .session_proxy(method, AGENT, id, "api/offer")
            .send()
            .await?
            .error_for_status()
            .map(drop)
    };
    match op {
        "listServices" => client.list_services().send().await.map(drop)?,
        "createService" => {
            let body = CreateServiceRequest::builder()
                .service_name(AGENT)
                .image(Some("example/bot:1".to_string()));
            client.create_service().body(body).send().await.map(drop)?
        }
        "getService" => client
            .get_service()
            .agent_name(AGENT)
            .send()
            .await
            .map(drop)?,
        "updateService" => {
            let body = UpdateServiceRequest::builder().force_redeploy(true);
            client
                .update_service()
                .agent_name(AGENT)
                .body(body)
                .send()
                .await
                .map(drop)?
        }
        "deleteService" => client
            .delete_service()
            .agent_name(AGENT)
            .send()
            .await
            .map(drop)?,
        "getLogs" => client.get_logs().agent_name(AGENT).send().await.map(drop)?,
        "getSessions" => client
            .get_sessions()
            .agent_name(AGENT)
            .send()
            .await
            .map(drop)?,
        "getSession" => client
            .get_session()
            .agent_name(AGENT)
            .session_id(id)
            .send()
            .await
            .map(drop)?,
        "stopSession" => client
            .stop_session()
            .agent_name(AGENT)
            .session_id(id)
            .send()
            .await
            .map(drop)?,
        "startService" => client
            .start_service()
            .agent_name(AGENT)
            .body(StartRequest::daily())
            .send()
            .await
            .map(drop)?,
        "sessionProxyGet" => proxy(Method::GET).await?,
        "sessionProxyPost" => proxy(Method::POST).await?,
        "sessionProxyPut" => proxy(Method::PUT).await?,
        "sessionProxyPatch" => proxy(Method::PATCH).await?,
        "sessionProxyDelete" => proxy(Method::DELETE).await?,
        "sessionProxyOptions" => proxy(Method::OPTIONS).await?,
        "sessionProxyHead" => proxy(Method::HEAD).await?,
        "listSecretSets" => client.list_secret_sets().send().await.map(drop)?,
        "getSecretSet" => client
            .get_secret_set()
            .set_name(SET)
            .send()
            .await
            .map(drop)?,
        "upsertSecretSet" => {
            let body = UpsertSecretSetBody::secrets([("KEY", "value")])?;
            client
                .upsert_secret_set()
                .set_name(SET)
                .body(body)
                .send()
                .await
                .map(drop)?
        }
        "deleteSecretSet" => client
            .delete_secret_set()
            .set_name(SET)
            .send()
            .await
            .map(drop)?,
        "deleteSecretFromSet" => client
            .delete_secret_from_set()
            .set_name(SET)
            .secret_key("KEY")
            .send()
            .await
            .map(drop)?,
        "getBuildUploadUrl" => client
            .get_build_upload_url()
            .body(UploadUrlRequest {
                region: "us-west".into(),
            })
            .send()
            .await
            .map(drop)?,
        "listBuilds" => client.list_builds().send().await.map(drop)?,
        "createBuild" => {
            let body = CreateBuildRequest {
                dockerfile_path: "Dockerfile".into(),
                region: "us-west".into(),
                upload_id: id,
            };
            client.create_build().body(body).send().await.map(drop)?
        }
        "getBuild" => client.get_build().build_id(id).send().await.map(drop)?,
        "getBuildLogs" => client
            .get_build_logs()
            .build_id(id)
            .send()
            .await
            .map(drop)?,
        "getProperties" => client.get_properties().send().await.map(drop)?,
        "updateProperties" => {
            let body = UpdatePropertiesBody {
                default_region: Some("us-west".into()),
            };
            client
                .update_properties()
                .body(body)
                .send()
                .await
                .map(drop)?
        }
        "getPropertiesSchema" => client.get_properties_schema().send().await.map(drop)?,
        "listRegions" => client.list_regions().send().await.map(drop)?,
        other => panic!("no such operation: {other}"),
    }
    Ok(())
}

/// Polling fast enough for a fake, giving up after `timeout`.
pub fn quick_wait(timeout: std::time::Duration) -> pipecat_api::Wait {
    pipecat_api::Wait {
        initial_interval: std::time::Duration::from_millis(2),
        max_interval: std::time::Duration::from_millis(10),
        timeout,
    }
}

/// Creates agent `name` (allowing `max_sessions` at once) and waits until
/// it is ready.
pub async fn ready_agent(client: &Client, name: &str, max_sessions: u64) {
    use pipecat_api::types::{AutoScalingConfig, CreateServiceRequest};
    let request = CreateServiceRequest::builder()
        .service_name(name)
        .image(Some("example/bot:1.0".to_string()))
        .auto_scaling(Some(AutoScalingConfig {
            min_agents: Some(0),
            max_agents: std::num::NonZeroU64::new(max_sessions),
        }));
    client
        .create_service()
        .body(request)
        .send()
        .await
        .expect("create the agent");
    client
        .wait_agent_ready(name, quick_wait(std::time::Duration::from_secs(5)))
        .await
        .expect("the agent becomes ready");
}
