//! The fake over loopback HTTP, driven by a plain HTTP client.

// Test helpers: a failed step should stop the test at once.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use pipecat_fake::{FakeCloud, Fault, Op};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Api {
    fake: FakeCloud,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api {
            fake: FakeCloud::start().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    /// A request to `path` (below the host) with the key the API wants.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let key = if path.starts_with("/v1/public/") {
            self.fake.public_key()
        } else {
            self.fake.private_key()
        };
        self.http
            .request(method, format!("{}{path}", self.fake.url()))
            .bearer_auth(key)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Agent `name` created from an image and read until ready.
    async fn ready_agent(&self, name: &str, extra: Value) -> Value {
        let mut body = json!({"serviceName": name, "image": "me/bot:1"});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let (status, created) = self.post("/v1/agents", body).await;
        assert_eq!(status, 200, "{created}");
        loop {
            let (_, agent) = self.get(&format!("/v1/agents/{name}")).await;
            if agent["ready"] == true {
                return agent;
            }
        }
    }
}

#[tokio::test]
async fn keys_and_unknown_paths() {
    let api = Api::start().await;
    assert_eq!(
        api.get("/v1/regions").await.1["regions"][0]["code"],
        "us-west"
    );
    let unauthorized = json!({"error": "Unauthorized", "code": "UNAUTHORIZED"});
    // The public key on a private route, the private key on a public one.
    let response = api
        .http
        .get(format!("{}/v1/regions", api.fake.url()))
        .bearer_auth(api.fake.public_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.unwrap(), unauthorized);
    let response = api
        .http
        .post(format!("{}/v1/public/some-agent/start", api.fake.url()))
        .bearer_auth(api.fake.private_key())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.unwrap(), unauthorized);
    let (status, body) = api.get("/v1/nothing/here").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("NOT_FOUND"))
    );
    let ops: Vec<Option<String>> = api
        .fake
        .requests()
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert_eq!(ops[0].as_deref(), Some("listRegions"));
    assert_eq!(ops[2].as_deref(), Some("startService"));
}

#[tokio::test]
async fn agents_use_secret_sets_and_deploy() {
    let api = Api::start().await;
    let body = json!({"secrets": [{"secretKey": "K", "secretValue": "v"}]});
    api.call(Method::PUT, "/v1/secrets/bot-secrets", Some(body))
        .await;
    let create = json!({"serviceName": "bot", "image": "me/bot:1", "secretSet": "bot-secrets"});
    // Not provisioned yet.
    let (status, body) = api.post("/v1/agents", create.clone()).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("CONFLICT"))
    );
    while api.get("/v1/secrets/bot-secrets").await.1["status"] != "ready" {}
    for (bad, code) in [
        (json!({"serviceName": "Bot", "image": "i"}), 400),
        (json!({"serviceName": "bot"}), 400),
        (
            json!({"serviceName": "bot", "image": "i", "buildId": "b"}),
            400,
        ),
        (
            json!({"serviceName": "bot", "image": "i", "secretSet": "nope"}),
            404,
        ),
        (
            json!({"serviceName": "bot", "image": "i", "secretSet": "bot-secrets", "region": "eu-central"}),
            400,
        ),
    ] {
        let (status, body) = api.post("/v1/agents", bad.clone()).await;
        assert_eq!(status.as_u16(), code, "{bad} -> {body}");
    }
    let (status, created) = api.post("/v1/agents", create.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(created["ready"], false);
    assert_eq!(
        created["deployment"]["manifest"]["spec"]["envFromSecretNames"],
        json!(["bot-secrets"])
    );
    assert_eq!(
        created["autoScaling"],
        json!({"maxReplicas": 50, "minReplicas": 0})
    );
    let (_, dup) = api.post("/v1/agents", create).await;
    assert_eq!(dup["error"], "Service already exists");
    assert_eq!(api.get("/v1/agents/bot").await.1["ready"], false);
    let ready = api.get("/v1/agents/bot").await.1;
    assert_eq!(ready["ready"], true);
    assert_eq!(
        ready["reconciledDeploymentId"],
        ready["desiredDeploymentId"]
    );

    // An update that changes nothing keeps the deployment.
    let (_, same) = api.post("/v1/agents/bot", json!({})).await;
    assert_eq!(same["desiredDeploymentId"], ready["desiredDeploymentId"]);
    let (_, updated) = api
        .post(
            "/v1/agents/bot",
            json!({"autoScaling": {"minAgents": 1, "maxAgents": 2}}),
        )
        .await;
    assert_ne!(updated["desiredDeploymentId"], ready["desiredDeploymentId"]);
    // The operator has not picked the new deployment up: the old revision
    // is in place and ready, as the service reports it.
    assert_eq!(
        (updated["ready"].clone(), updated["available"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        updated["reconciledDeploymentId"],
        ready["desiredDeploymentId"]
    );
    api.get("/v1/agents/bot").await; // the operator lags one read
    let rolling = api.get("/v1/agents/bot").await.1;
    assert_eq!(
        (rolling["ready"].clone(), rolling["available"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(
        rolling["reconciledDeploymentId"],
        updated["desiredDeploymentId"]
    );
    assert_eq!(
        rolling["previousRevision"]["deploymentID"],
        ready["desiredDeploymentId"]
    );

    let (_, list) = api.get("/v1/agents?includeActiveDeployment=true").await;
    assert_eq!(list["services"][0]["name"], "bot");
    assert!(list["services"][0]["deployment"]["manifest"].is_object());
    let (_, list) = api.get("/v1/agents?region=eu-central").await;
    assert_eq!(list["services"], json!([]));
    assert_eq!(
        api.call(Method::DELETE, "/v1/agents/bot", None).await.1,
        json!({"status": "OK"})
    );
    assert_eq!(api.get("/v1/agents/bot").await.0, 404);
}

#[tokio::test]
async fn sessions_start_proxy_and_stop() {
    let api = Api::start().await;
    let (status, body) = api.post("/v1/public/ghost/start", json!({})).await;
    assert_eq!(status, 404, "{body}");
    api.post(
        "/v1/agents",
        json!({"serviceName": "bot", "image": "i", "autoScaling": {"maxAgents": 1}}),
    )
    .await;
    // Not deployed yet.
    let (status, body) = api.post("/v1/public/bot/start", json!({})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("PCC-1001"))
    );
    while api.get("/v1/agents/bot").await.1["ready"] != true {}

    let (status, started) = api
        .post(
            "/v1/public/bot/start",
            json!({"createDailyRoom": true, "body": {"a": 1}}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(started["dailyRoom"].is_string() && started["dailyToken"].is_string());
    let id = started["sessionId"].as_str().unwrap().to_string();
    let (status, body) = api.post("/v1/public/bot/start", json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"status": 429, "code": "429", "message": "Rate limit exceeded. Please try again later"})
    );
    assert_eq!(api.get("/v1/agents/bot").await.1["activeSessionCount"], 1);

    // The proxy echoes what the bot would get.
    let response = api
        .request(
            Method::POST,
            &format!("/v1/public/bot/sessions/{id}/api/offer%2Fx?a=1&b=%20"),
        )
        .header("content-type", "application/octet-stream")
        .header("x-trace", "t1")
        .body(vec![0u8, 1, 2, 255])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(h["x-fake-method"], "POST");
    assert_eq!(h["x-fake-path"], "api/offer%2Fx");
    assert_eq!(h["x-fake-query"], "a=1&b=%20");
    assert_eq!(h["x-echo-x-trace"], "t1");
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(h.get("x-echo-authorization").is_none());
    assert_eq!(response.bytes().await.unwrap().as_ref(), [0u8, 1, 2, 255]);
    let head = api
        .request(
            Method::HEAD,
            &format!("/v1/public/bot/sessions/{id}/status"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        (head.status(), head.headers()["x-fake-method"].clone()),
        (StatusCode::OK, "HEAD".parse().unwrap())
    );
    let options = api
        .request(
            Method::OPTIONS,
            &format!("/v1/public/bot/sessions/{id}/status"),
        )
        .send()
        .await
        .unwrap();
    assert!(
        options.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert!(options.bytes().await.unwrap().is_empty());
    let requests = api.fake.requests();
    assert_eq!(
        requests.last().unwrap().operation.as_deref(),
        Some("sessionProxyOptions")
    );

    let (_, listed) = api.get("/v1/agents/bot/sessions?status=active").await;
    assert_eq!(listed["total_count"], 1);
    assert_eq!(listed["sessions"][0]["sessionId"], id.as_str());
    let (_, one) = api.get(&format!("/v1/agents/bot/sessions/{id}")).await;
    assert_eq!(one["endedAt"], Value::Null);
    let (status, stopped) = api
        .call(
            Method::DELETE,
            &format!("/v1/agents/bot/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(stopped["session_id"], id.as_str());
    let (status, body) = api
        .get(&format!("/v1/public/bot/sessions/{id}/status"))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("PCC-1001"))
    );
    let (_, ended) = api.get("/v1/agents/bot/sessions?status=ended").await;
    assert_eq!(ended["total_count"], 1);
    assert!(ended["sessions"][0]["endedAt"].is_string());
    let (status, body) = api.get("/v1/agents/bot/sessions?status=bad").await;
    assert_eq!((status.as_u16(), body["code"].clone()), (400, json!("400")));

    // A websocket start, then bodies over the limits.
    let (_, ws) = api
        .post(
            "/v1/public/bot/start",
            json!({"transport": "websocket", "body": {"k": "v"}}),
        )
        .await;
    assert!(ws["token"].is_string() && ws["wsUrl"].is_string());
    assert_eq!(ws["body"], "eyJrIjoidiJ9");
    let big = "x".repeat(5000);
    let (status, _) = api
        .post(
            "/v1/public/bot/start",
            json!({"transport": "websocket", "body": {"k": big}}),
        )
        .await;
    assert_eq!(status, 413);
    let huge = "x".repeat(1_100_000);
    let (status, _) = api
        .post(
            "/v1/public/bot/start",
            json!({"transport": "daily", "body": {"k": huge}}),
        )
        .await;
    assert_eq!(status, 413);
    // Past axum's default limit too, the answer is the service's.
    let (status, body) = api
        .post(
            "/v1/public/bot/start",
            json!({"body": {"k": "x".repeat(3_000_000)}}),
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].clone()), (413, json!("413")));

    // Sessions wrote to the agent's log.
    let (_, logs) = api
        .get(&format!("/v1/agents/bot/logs?sessionId={id}&order=asc"))
        .await;
    assert!(logs["total"]["value"].as_u64().unwrap() >= 3);
    assert!(logs["logs"][0]["log"].as_str().unwrap().contains(&id));
}

#[tokio::test]
async fn a_million_log_lines_page_by_ten_thousand() {
    let api = Api::start().await;
    api.ready_agent("bot", json!({})).await;
    api.fake.seed_logs("bot", 1_000_000);
    let mut seen = 0;
    for page in 0..100 {
        let (status, body) = api
            .get(&format!(
                "/v1/agents/bot/logs?order=asc&limit=10000&offset={}",
                page * 10_000
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], json!({"value": 1_000_000, "relation": "eq"}));
        let logs = body["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 10_000);
        assert_eq!(logs[0]["log"], format!("synthetic log line {seen}"));
        seen += logs.len();
    }
    // No time limit here (the machine may be busy): speed is the bench's.
    assert_eq!(seen, 1_000_000);
    let (_, last) = api.get("/v1/agents/bot/logs?limit=1").await;
    assert_eq!(last["logs"][0]["log"], "synthetic log line 999999");
    assert_eq!(
        last["logs"][0]["timestamp"],
        "2025-01-01T00:16:39.999000000Z"
    );
    assert_eq!(api.get("/v1/agents/bot/logs?limit=10001").await.0, 400);
    assert_eq!(api.get("/v1/agents/ghost/logs").await.0, 404);
}

#[tokio::test]
async fn builds_upload_cache_and_deploy() {
    let api = Api::start().await;
    let (_, upload) = api
        .post("/v1/builds/upload-url", json!({"region": "us-west"}))
        .await;
    let url = upload["uploadUrl"].as_str().unwrap();
    assert!(upload["uploadFields"]["key"].is_string() && upload["expiresAt"].is_string());
    // Like a storage host: a raw body, or a form missing the fields, is refused.
    let raw = api.http.post(url).body("context").send().await.unwrap();
    assert_eq!(raw.status(), 412);
    let form = |fields: &[(String, String)]| {
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--B\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"context.tar.gz\"\r\n\r\ncontext\r\n--B--\r\n");
        body
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    // In the order handed out (a `Value` object may sort its keys).
    for name in [
        "key",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "x-amz-security-token",
        "Policy",
        "X-Amz-Signature",
    ] {
        let value = upload["uploadFields"][name].as_str().unwrap();
        fields.push((name.to_string(), value.to_string()));
    }
    assert_eq!(
        upload["uploadFields"].as_object().unwrap().len(),
        fields.len()
    );
    fields.push(("Content-Type".into(), "application/gzip".into()));
    let send = |body: String| {
        api.http
            .post(url)
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body)
            .send()
    };
    let missing = send(form(&fields[1..])).await.unwrap();
    assert_eq!(missing.status(), 403);
    let uploaded = send(form(&fields)).await.unwrap();
    assert_eq!(uploaded.status(), 204);
    let request = json!({"uploadId": upload["uploadId"], "region": "us-west"});
    let (status, created) = api.post("/v1/builds", request.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            created["cached"].clone(),
            created["build"]["status"].clone()
        ),
        (json!(false), json!("pending"))
    );
    // md5("context") starts 0d4b3ce5f9d5b7e5.
    let hash = created["contextHash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16);
    let id = created["build"]["id"].as_str().unwrap().to_string();

    // Not deployable until it succeeds.
    let (status, body) = api
        .post("/v1/agents", json!({"serviceName": "bot", "buildId": id}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Build is not ready"),
        "{body}"
    );
    assert_eq!(
        api.get(&format!("/v1/builds/{id}")).await.1["build"]["status"],
        "building"
    );
    let (_, done) = api.get(&format!("/v1/builds/{id}")).await;
    assert_eq!(done["build"]["status"], "success");
    assert!(done["build"]["imageUri"].is_string());

    let (status, cached) = api.post("/v1/builds", request).await;
    assert_eq!(
        (status.as_u16(), cached["cached"].clone()),
        (200, json!(true))
    );
    assert_eq!(cached["build"]["id"], id.as_str());
    let (_, listed) = api
        .get(&format!("/v1/builds?contextHash={hash}&status=success"))
        .await;
    assert_eq!(
        (listed["total"].clone(), listed["limit"].clone()),
        (json!(1), json!(20))
    );
    assert_eq!(api.get("/v1/builds?limit=101").await.0, 400);
    let (_, logs) = api.get(&format!("/v1/builds/{id}/logs?limit=2")).await;
    assert_eq!(logs["logs"].as_array().unwrap().len(), 2);
    let token = logs["nextToken"].as_str().unwrap();
    let (_, rest) = api
        .get(&format!("/v1/builds/{id}/logs?nextToken={token}"))
        .await;
    assert!(rest.get("nextToken").is_none());
    assert_eq!(api.get("/v1/builds/not-a-uuid").await.0, 400);
    assert_eq!(
        api.get("/v1/builds/00000000-0000-4000-8000-00000000ffff")
            .await
            .0,
        404
    );

    let (status, agent) = api
        .post("/v1/agents", json!({"serviceName": "bot", "buildId": id}))
        .await;
    assert_eq!(status, 200, "{agent}");
    let (status, body) = api
        .post(
            "/v1/builds",
            json!({"uploadId": "00000000-0000-4000-8000-00000000ffff", "region": "us-west"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].clone()),
        (400, json!("Upload not found"))
    );
}

#[tokio::test]
async fn properties_and_default_region() {
    let api = Api::start().await;
    assert_eq!(
        api.get("/v1/properties").await.1,
        json!({"properties": {"defaultRegion": "us-west"}})
    );
    for bad in [
        json!({}),
        json!({"color": "red"}),
        json!({"defaultRegion": "mars"}),
    ] {
        let (status, _) = api
            .call(Method::PATCH, "/v1/properties", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}");
    }
    let empty = api
        .request(Method::PATCH, "/v1/properties")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    let (status, schema) = api
        .call(
            Method::PATCH,
            "/v1/properties",
            Some(json!({"defaultRegion": "eu-central"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        schema["properties"]["defaultRegion"]["currentValue"],
        "eu-central"
    );
    assert_eq!(schema["properties"]["defaultRegion"]["readOnly"], false);
    let (_, agent) = api
        .post("/v1/agents", json!({"serviceName": "bot", "image": "i"}))
        .await;
    assert_eq!(agent["region"], "eu-central");
    let (_, schema) = api.get("/v1/properties/schema").await;
    assert!(schema["properties"]["defaultRegion"]["availableValues"].is_array());
}

#[tokio::test]
async fn faults() {
    let api = Api::start().await;

    // A canned answer with Retry-After.
    api.fake.fail_next(
        Op::ListRegions,
        1,
        Fault::empty(503).with_header("retry-after", "7"),
    );
    let response = api
        .request(Method::GET, "/v1/regions")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");

    // A stall, then the normal answer.
    api.fake
        .fail_next(Op::ListRegions, 1, Fault::Stall(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(api.get("/v1/regions").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A reset: no answer at all, and the operation does not run.
    api.fake
        .fail_next(Op::CreateService, 1, Fault::ResetBeforeResponse);
    let before = api.fake.request_count();
    let sent = api
        .request(Method::POST, "/v1/agents")
        .json(&json!({"serviceName": "bot", "image": "i"}))
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");
    assert_eq!(api.fake.request_count(), before + 1);
    assert_eq!(api.get("/v1/agents/bot").await.0, 404);

    // Cut mid-body: status and headers arrive, the body does not, the
    // operation ran.
    api.fake
        .fail_next(Op::CreateService, 1, Fault::CloseMidBody);
    let response = api
        .request(Method::POST, "/v1/agents")
        .json(&json!({"serviceName": "bot", "image": "i"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err());
    assert_eq!(api.get("/v1/agents/bot").await.0, 200);

    // The fake still serves after all that.
    assert_eq!(api.get("/v1/regions").await.0, 200);
}

#[tokio::test]
async fn an_amendment_changes_the_answer_of_its_operation_only() {
    let api = Api::start().await;
    api.fake.fail_next(
        Op::GetProperties,
        1,
        Fault::amend("/newField", json!({"any": "thing"})),
    );
    // Another operation's answer is left alone.
    let (_, schema) = api.get("/v1/properties/schema").await;
    assert_eq!(schema.get("newField"), None);
    let (status, properties) = api.get("/v1/properties").await;
    assert_eq!(status, 200);
    assert_eq!(properties["newField"], json!({"any": "thing"}));
    // Once only.
    let (_, properties) = api.get("/v1/properties").await;
    assert_eq!(properties.get("newField"), None);
}
