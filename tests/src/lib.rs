//! Shared pieces of the end-to-end suite: a fake Pipecat Cloud on loopback,
//! a client pointed at it, and stable renderings of what went over the wire.

// Test support: a failed setup should stop the test at once.
#![allow(clippy::expect_used)]

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
