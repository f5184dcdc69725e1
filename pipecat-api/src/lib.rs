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
//! for set in client.list_secret_sets().send().await?.into_inner().sets {
//!     println!("{:?} {:?}", set.name, set.status);
//! }
//! client.delete_secret_set().set_name("my-secrets").send().await?;
//! # Ok(()) }
//! ```
//!
//! Every operation is a method of [`Client`] named after its operation id,
//! returning a builder from [`builder`]; parameters are checked against the
//! API's rules before anything is sent, and every failure is an [`Error`].
//! The request and response types are in [`types`].
//!
//! Beyond single calls:
//! - retries that never run a call twice: [`RetryPolicy`];
//! - paged listings as streams: [`pages`] (`get_logs()…into_stream()`);
//! - waiting for asynchronous work: [`Client::wait_secret_set_ready`],
//!   [`Client::wait_agent_ready`];
//! - sessions: [`types::StartRequest::daily`] and friends,
//!   [`types::StartResponse::connection`], and [`Client::session_proxy`] to
//!   call a running bot.
//!
//! Cargo features: `rustls` (default) or `native-tls` for TLS; `http2`
//! (default) for HTTP/2 where the server offers it, so that concurrent calls
//! share a connection; `schemars` for `schemars::JsonSchema` on every request
//! and response type.

mod auth;
mod client;
mod config;
pub mod deploy_config;
pub mod dotenv;
mod error;
// Formatted by the generator (prettyplease), so `gen --check` compares like with like.
#[rustfmt::skip]
pub mod generated;
mod hooks;
pub mod pages;
mod patterns;
mod proxy;
mod retry;
mod secret;
mod secrets;
mod session;
mod wait;

pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HOST, DEFAULT_TIMEOUT, ENV_HOST,
    ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT,
};
pub use error::{ApiError, Error};
pub use generated::{ResponseValue, builder, types};
pub use proxy::{ProxyRequest, ProxyResponse};
/// Request methods, for [`Client::session_proxy`].
pub use reqwest::Method;
pub use retry::RetryPolicy;
pub use secret::{InvalidSecretValue, SecretValue};
pub use session::Connection;
/// Session, build and deployment ids are UUIDs.
pub use uuid;
pub use wait::Wait;
