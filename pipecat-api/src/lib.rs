//! Rust client for the [Pipecat Cloud](https://pipecat.daily.co) REST API.
//!
//! Manage secret sets, agents and builds, and start agent sessions, from Rust.
//!
//! ```no_run
//! use pipecat_api::{Client, types::UpsertSecretSetBody};
//!
//! # async fn run() -> Result<(), pipecat_api::Error> {
//! let client = Client::from_env()?; // PIPECAT_API_KEY
//!
//! let body = UpsertSecretSetBody::secrets([("OPENAI_API_KEY", "sk-...")])?;
//! client.upsert_secret_set().set_name("my-secrets").body(body).send().await?;
//!
//! for set in client.list_secret_sets().send().await?.sets {
//!     println!("{:?} {:?}", set.name, set.status);
//! }
//! client.delete_secret_set().set_name("my-secrets").send().await?;
//! # Ok(()) }
//! ```
//!
//! Every operation is a method of [`Client`] named after its operation id,
//! returning a builder from [`builder`]; parameters are checked against the
//! API's rules before anything is sent. `send()` gives the decoded answer and
//! `send_with_response()` adds its status and headers ([`Response`]); every
//! failure is an [`Error`]. The request and response types are in [`types`]:
//! structs are `#[non_exhaustive]` and built with `T::builder()`, and every
//! enum the service sends keeps values newer than this crate
//! ([`UnknownValue`]).
//!
//! Beyond single calls:
//! - retries that never run a call twice: [`RetryPolicy`];
//! - paged listings as streams: [`pages`] (`get_logs()…into_stream()`), and
//!   agent logs that follow like `tail -f`: [`follow`] (`get_logs()…follow()`);
//! - waiting for asynchronous work: [`Client::wait_secret_set_ready`],
//!   [`Client::wait_agent_ready`], [`Client::wait_rollout`], and a build's
//!   log until the build ends: [`Client::follow_build_logs`]; every wait
//!   and follow shares one jittered back-off ([`Wait`]), and a job that
//!   failed or timed out says which ([`Job`]) and keeps its last state
//!   ([`JobState`]);
//! - jobs in one call: [`Client::deploy`] (create or update an agent from a
//!   [`deploy_config::DeployConfig`] and wait for its rollout, see
//!   [`deploy`]), [`Client::put_secret_set`] (pairs and/or a `.env` file
//!   into a set, in a region, see [`SecretSetUpdate`]) with its shorthands
//!   [`Client::put_secrets_from_env_file`] and [`Client::set_secrets`], and
//!   [`Client::remove_secrets`];
//! - sessions: [`types::StartRequest::daily`] and friends,
//!   [`types::StartResponse::connection`], and [`Client::session_proxy`] to
//!   call a running bot;
//! - cloud builds: [`Client::cloud_build`] goes from a directory to a build
//!   id in one call ([`cloud_build`]); [`build_context::pack`] packs a
//!   directory into a deterministic build context (`.tar.gz` and its hash),
//!   offline.
//!
//! Cargo features: `rustls` (default) or `native-tls` for TLS; `http2`
//! (default) for HTTP/2 where the server offers it, so that concurrent calls
//! share a connection; `cloud-build` (default) for [`build_context`] and
//! [`cloud_build`]; `schemars` for `schemars::JsonSchema` on every request
//! and response type.

// The README's code blocks are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

// Formatted by the generator (prettyplease), so `gen --check` compares like with like.
#[rustfmt::skip]
mod generated;
mod jobs;
mod runtime;
mod session;
mod values;

#[cfg(feature = "cloud-build")]
#[doc(inline)]
pub use jobs::{build_context, cloud_build};
#[doc(inline)]
pub use jobs::{deploy, deploy_config, deploy_plan, dotenv, follow, pages};

/// The request builder of each operation, as returned by its [`Client`]
/// method: a setter per parameter, then `send()`.
pub use generated::builder;
/// The JSON Schema of every type in [`types`], by name (feature `schemars`).
#[cfg(feature = "schemars")]
pub use generated::json_schemas;
/// The API's request and response types. Structs are `#[non_exhaustive]`:
/// read their public fields; build them with `T::builder()` or the
/// constructors this crate adds. Enums the service sends have an `Unknown`
/// variant (see [`UnknownValue`]).
pub use generated::types;
pub use jobs::follow::Follow;
pub use jobs::poll::Wait;
pub use jobs::secret_sets::{CheckedSecretSet, SecretSetUpdate};
pub use jobs::state::JobState;
/// Request methods, for [`Client::session_proxy`].
pub use reqwest::Method;
/// Statuses and headers, as [`Response`] and [`ApiError`] give them.
pub use reqwest::{StatusCode, header};
pub use runtime::auth::KeyKind;
pub use runtime::client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HOST, DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_TIMEOUT, ENV_HOST, ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT,
};
pub use runtime::error::{ApiError, Error, Job, LastState, SpendLimit};
pub use runtime::response::Response;
pub use runtime::retry::RetryPolicy;
pub use session::Connection;
pub use session::proxy::{ProxyRequest, ProxyResponse};
/// Session, build and deployment ids are UUIDs.
pub use uuid;
pub use values::secret_value::{InvalidSecretValue, SecretValue};
pub use values::unknown::UnknownValue;
pub use values::upload_fields::UploadFields;
