//! Shared pieces of the end-to-end suite: a fake Pipecat Cloud on loopback,
//! a client pointed at it, and stable renderings of what went over the wire.

// Test support: a failed setup should stop the test at once.
#![allow(clippy::expect_used, clippy::panic)]

// pipecat-fake's README example is a test of this suite.
#[cfg(doctest)]
#[doc = include_str!("../../pipecat-fake/README.md")]
struct FakeReadme;

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

/// Every operation of the spec (`openapi/pipecat-cloud.yaml`, the one
/// list there is), by operation id, with the status it succeeds with (the
/// first, for createBuild), sorted by id.
pub fn operations() -> Vec<(String, u16)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/pipecat-cloud.yaml"
    ))
    .expect("read the spec");
    let spec: serde_json::Value = serde_yaml_ng::from_str(&text).expect("the spec is YAML");
    let mut ops = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("a path item").values() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            let success = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                // `2XX` (the proxy passes any success through) counts as 200.
                .filter_map(|status| status.replace("XX", "00").parse::<u16>().ok())
                .filter(|status| (200..300).contains(status))
                .min()
                .expect("a success status");
            ops.push((id.to_string(), success));
        }
    }
    ops.sort();
    ops
}

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
                .image("example/bot:1");
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
            .body(UploadUrlRequest::builder().region("us-west"))
            .send()
            .await
            .map(drop)?,
        "listBuilds" => client.list_builds().send().await.map(drop)?,
        "createBuild" => {
            let body = CreateBuildRequest::builder()
                .dockerfile_path("Dockerfile")
                .region("us-west")
                .upload_id(id);
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
            let body = UpdatePropertiesBody::builder().default_region("us-west");
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
    use std::time::Duration;
    pipecat_api::Wait::default()
        .timeout(timeout)
        .polling(Duration::from_millis(2), Duration::from_millis(10))
}

/// Creates agent `name` (allowing `max_sessions` at once) and waits until
/// it is ready.
pub async fn ready_agent(client: &Client, name: &str, max_sessions: i64) {
    use pipecat_api::types::{AutoScalingConfig, CreateServiceRequest};
    let request = CreateServiceRequest::builder()
        .service_name(name)
        .image("example/bot:1.0")
        .auto_scaling(
            AutoScalingConfig::builder()
                .min_agents(0)
                .max_agents(max_sessions),
        );
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

/// Records the events a job reports (`on_progress`), for the test to read
/// afterwards.
#[derive(Debug)]
pub struct Recorded<E>(std::sync::Arc<std::sync::Mutex<Vec<E>>>);

impl<E> Default for Recorded<E> {
    fn default() -> Self {
        Recorded(std::sync::Arc::default())
    }
}

impl<E> Clone for Recorded<E> {
    fn clone(&self) -> Self {
        Recorded(std::sync::Arc::clone(&self.0))
    }
}

impl<E: Clone + Send + 'static> Recorded<E> {
    /// A progress callback that records into this.
    pub fn sink(&self) -> impl Fn(&E) + Send + Sync + 'static {
        let events = std::sync::Arc::clone(&self.0);
        move |e| {
            events
                .lock()
                .expect("a recording callback panicked")
                .push(e.clone())
        }
    }

    /// The events so far.
    pub fn take(&self) -> Vec<E> {
        self.0
            .lock()
            .expect("a recording callback panicked")
            .clone()
    }
}
