//! The three clients compared, each making the same three calls and
//! decoding the JSON of each answer:
//!
//! - `hyper`: hyper-util's legacy pooled client, URIs parsed once: the floor;
//! - `reqwest`: a `reqwest::Client` (the version pipecat-api uses) with
//!   pipecat-api's default connect and call timeouts, decoding into plain
//!   local structs;
//!
//! The raw clients' structs keep a field optional where the published
//! schema does, as the generated types must (a log line's fields are all
//! optional there): so the comparison measures pipecat-api's layer, not the
//! schema. The `decode` part shows what required fields would save.
//! - `pipecat-api`: the generated operation builders, decoding into the
//!   generated types.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::Uri;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use crate::payload::{self, AGENT, OptionalLogsPage, PlainServices, PlainStatus, SECRET_SET};

/// The private key every client sends (the bench servers check none).
pub const PRIVATE_KEY: &str = "sk-bench-0123456789abcdef";
/// The public key session starts are sent with.
pub const PUBLIC_KEY: &str = "pk-bench-0123456789abcdef";
/// The `Authorization` value raw clients start sessions with.
const PUBLIC_AUTH: &str = "Bearer pk-bench-0123456789abcdef";
const RAW_USER_AGENT: &str = "pipecat-bench-raw/0.1";

/// One of the three calls measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `DELETE /v1/secrets/{name}`: no query, a tiny answer.
    DeleteSecretSet,
    /// `GET /v1/agents`: a list of 20 agents (~6 KB).
    ListServices,
    /// `GET /v1/agents/{name}/logs`: 10,000 log lines (~2 MB).
    GetLogs,
}

impl Call {
    /// Every call, in table order.
    pub const ALL: [Call; 3] = [Call::DeleteSecretSet, Call::ListServices, Call::GetLogs];

    /// The operation's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Call::DeleteSecretSet => "delete_secret_set",
            Call::ListServices => "list_services",
            Call::GetLogs => "get_logs (10k lines)",
        }
    }

    /// A short name, for the command line.
    pub fn id(self) -> &'static str {
        match self {
            Call::DeleteSecretSet => "delete",
            Call::ListServices => "list",
            Call::GetLogs => "logs",
        }
    }

    /// The call with this [`Call::id`].
    pub fn parse(id: &str) -> anyhow::Result<Call> {
        Call::ALL
            .into_iter()
            .find(|c| c.id() == id)
            .with_context(|| format!("no call named {id:?}"))
    }

    /// The number of items a correct answer decodes to.
    pub fn expected_items(self) -> usize {
        match self {
            Call::DeleteSecretSet => 1,
            Call::ListServices => payload::SERVICES,
            Call::GetLogs => payload::LOG_PAGE as usize,
        }
    }
}

/// Which client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// hyper-util's legacy client: the floor.
    Hyper,
    /// Raw reqwest.
    Reqwest,
    /// pipecat-api.
    Pipecat,
}

impl Kind {
    /// Every client, in table order.
    pub const ALL: [Kind; 3] = [Kind::Hyper, Kind::Reqwest, Kind::Pipecat];

    /// The client's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hyper => "hyper",
            Kind::Reqwest => "reqwest",
            Kind::Pipecat => "pipecat-api",
        }
    }

    /// The client named `name` (as [`Kind::name`]).
    pub fn parse(name: &str) -> anyhow::Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .with_context(|| format!("no client named {name:?}"))
    }
}

/// The targets of the raw clients' calls, one per [`Call`].
#[derive(Clone)]
pub struct Targets<T> {
    delete: T,
    list: T,
    logs: T,
}

impl<T: Clone> Targets<T> {
    fn get(&self, call: Call) -> T {
        match call {
            Call::DeleteSecretSet => self.delete.clone(),
            Call::ListServices => self.list.clone(),
            Call::GetLogs => self.logs.clone(),
        }
    }
}

fn targets(base: &str) -> Targets<String> {
    Targets {
        delete: format!("{base}/v1/secrets/{SECRET_SET}"),
        list: format!("{base}/v1/agents"),
        logs: format!("{base}/v1/agents/{AGENT}/logs"),
    }
}

/// A client ready to make the three calls against one server.
#[derive(Clone)]
pub enum BenchClient {
    /// hyper-util's legacy client.
    Hyper {
        /// The pooled client.
        client: HyperClient<HttpConnector, Empty<Bytes>>,
        /// The calls' URIs, parsed once.
        uris: Box<Targets<Uri>>,
        /// `Bearer <key>`.
        auth: HeaderValue,
    },
    /// Raw reqwest.
    Reqwest {
        /// The pooled client.
        client: reqwest::Client,
        /// The calls' URLs, as strings (parsed by reqwest per call, as usual).
        urls: Box<Targets<String>>,
        /// `Bearer <key>`.
        auth: HeaderValue,
    },
    /// pipecat-api.
    Pipecat(pipecat_api::Client),
}

impl BenchClient {
    /// A client of `kind` for the server at `base` (`http://127.0.0.1:port`).
    pub fn new(kind: Kind, base: &str) -> anyhow::Result<Self> {
        let auth = HeaderValue::try_from(format!("Bearer {PRIVATE_KEY}"))?;
        let t = targets(base);
        Ok(match kind {
            Kind::Hyper => BenchClient::Hyper {
                client: HyperClient::builder(TokioExecutor::new()).build_http(),
                uris: Box::new(Targets {
                    delete: t.delete.parse()?,
                    list: t.list.parse()?,
                    logs: t.logs.parse()?,
                }),
                auth,
            },
            Kind::Reqwest => BenchClient::Reqwest {
                // Configured as pipecat-api configures its own: a call
                // timeout costs a timer per request, and a careful caller
                // of raw reqwest sets one too.
                client: reqwest::Client::builder()
                    .connect_timeout(pipecat_api::DEFAULT_CONNECT_TIMEOUT)
                    .timeout(pipecat_api::DEFAULT_TIMEOUT)
                    .build()?,
                urls: Box::new(t),
                auth,
            },
            Kind::Pipecat => BenchClient::Pipecat(pipecat_client(base, None)?),
        })
    }

    /// Makes `call` once; returns how many items the answer decoded to.
    pub async fn call(&self, call: Call) -> anyhow::Result<usize> {
        match self {
            BenchClient::Hyper { client, uris, auth } => {
                let method = match call {
                    Call::DeleteSecretSet => hyper::Method::DELETE,
                    _ => hyper::Method::GET,
                };
                let request = hyper::Request::builder()
                    .method(method)
                    .uri(uris.get(call))
                    .header(AUTHORIZATION, auth.clone())
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .header(USER_AGENT, HeaderValue::from_static(RAW_USER_AGENT))
                    .body(Empty::new())?;
                let response = client.request(request).await?;
                if !response.status().is_success() {
                    bail!("{} answered {}", call.name(), response.status());
                }
                let body = response.into_body().collect().await?.to_bytes();
                decode_plain(call, &body)
            }
            BenchClient::Reqwest { client, urls, auth } => {
                let url = urls.get(call);
                let builder = match call {
                    Call::DeleteSecretSet => client.delete(url),
                    _ => client.get(url),
                };
                let response = builder
                    .header(AUTHORIZATION, auth.clone())
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .header(USER_AGENT, HeaderValue::from_static(RAW_USER_AGENT))
                    .send()
                    .await?
                    .error_for_status()?;
                let body = response.bytes().await?;
                decode_plain(call, &body)
            }
            BenchClient::Pipecat(client) => pipecat_call(client, call).await,
        }
    }
}

/// Decodes an answer into the plain local structs.
fn decode_plain(call: Call, body: &[u8]) -> anyhow::Result<usize> {
    fn decode<T: DeserializeOwned>(body: &[u8]) -> anyhow::Result<T> {
        Ok(serde_json::from_slice(body)?)
    }
    Ok(match call {
        Call::DeleteSecretSet => {
            decode::<PlainStatus>(body)?;
            1
        }
        Call::ListServices => decode::<PlainServices>(body)?.services.len(),
        Call::GetLogs => decode::<OptionalLogsPage>(body)?.logs.len(),
    })
}

/// Makes `call` with pipecat-api.
pub async fn pipecat_call(client: &pipecat_api::Client, call: Call) -> anyhow::Result<usize> {
    Ok(match call {
        Call::DeleteSecretSet => {
            client
                .delete_secret_set()
                .set_name(SECRET_SET)
                .send()
                .await?;
            1
        }
        Call::ListServices => client.list_services().send().await?.services.len(),
        Call::GetLogs => client.get_logs().agent_name(AGENT).send().await?.logs.len(),
    })
}

/// A pipecat-api client for `host`, with both keys, sending through `http`
/// when given (e.g. to trust the bench's certificate).
pub fn pipecat_client(
    host: &str,
    http: Option<reqwest::Client>,
) -> anyhow::Result<pipecat_api::Client> {
    let mut builder = pipecat_api::Client::builder()
        .host(host)
        .private_key(PRIVATE_KEY)
        .public_key(PUBLIC_KEY);
    if let Some(http) = http {
        builder = builder.http_client(http);
    }
    Ok(builder.build()?)
}

/// Something that starts sessions: pipecat-api, or raw reqwest sending
/// the same request (the floor for the TLS link).
#[derive(Clone)]
pub enum Starter {
    /// Raw reqwest, to this `.../v1/public/{agent}/start` URL.
    Raw(reqwest::Client, String),
    /// pipecat-api.
    Pipecat(Box<pipecat_api::Client>),
}

impl Starter {
    /// Raw reqwest through `http`, to the server at `host`.
    pub fn raw(http: reqwest::Client, host: &str) -> Self {
        Starter::Raw(http, format!("{host}/v1/public/{AGENT}/start"))
    }

    /// Starts one Daily session on [`AGENT`].
    pub async fn start(&self) -> anyhow::Result<()> {
        match self {
            Starter::Pipecat(client) => start_session(client).await,
            Starter::Raw(http, url) => {
                let body = br#"{"createDailyRoom":true,"transport":"daily"}"#;
                let answer = http
                    .post(url.as_str())
                    .header(AUTHORIZATION, HeaderValue::from_static(PUBLIC_AUTH))
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .header(USER_AGENT, HeaderValue::from_static(RAW_USER_AGENT))
                    .header(
                        hyper::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )
                    .body(&body[..])
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let started: payload::PlainStart = serde_json::from_slice(&answer)?;
                if started.session_id.is_none() {
                    bail!("the session start answered no sessionId");
                }
                Ok(())
            }
        }
    }
}

/// Starts one Daily session on [`AGENT`] with pipecat-api.
pub async fn start_session(client: &pipecat_api::Client) -> anyhow::Result<()> {
    let started = client
        .start_service()
        .agent_name(AGENT)
        .body(pipecat_api::types::StartRequest::daily())
        .send()
        .await?;
    if started.session_id.is_none() {
        bail!("the session start answered no sessionId");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_auth_carries_the_public_key() {
        assert_eq!(PUBLIC_AUTH, format!("Bearer {PUBLIC_KEY}"));
    }
}
