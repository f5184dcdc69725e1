//! What every command runs with: the output, `--yes`, and a client made
//! with the key the command needs.

use std::path::PathBuf;

/// Which key a command needs: the library's own kinds.
pub use pipecat_api::KeyKind as Key;
use pipecat_api::{
    Client, ClientBuilder, ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT, Wait,
};

use crate::failure::Failure;
use crate::output::Output;

/// The global options that say how to make a client.
#[derive(Debug, Default)]
pub struct Settings {
    /// `--host`.
    pub host: Option<String>,
    /// `--api-key-file`.
    pub api_key_file: Option<PathBuf>,
    /// `--public-key-file`.
    pub public_key_file: Option<PathBuf>,
}

/// What a command runs with: the output and the settings to make a client.
pub struct Ctx {
    pub out: Output,
    pub yes: bool,
    pub settings: Settings,
}

/// How long a command waits for a job (a secret set, a rollout, a build's
/// log), in seconds, when set; each command's own default otherwise.
pub const ENV_WAIT_TIMEOUT: &str = "PIPECAT_WAIT_TIMEOUT";

impl Ctx {
    /// `default`, with the deadline `PIPECAT_WAIT_TIMEOUT` gives when it is
    /// set; a value that is not a number of seconds above 0 is a usage
    /// failure naming the variable (nothing is sent).
    pub fn wait(&self, default: Wait) -> Result<Wait, Failure> {
        match std::env::var(ENV_WAIT_TIMEOUT) {
            Err(std::env::VarError::NotPresent) => Ok(default),
            Ok(text) if text.trim().is_empty() => Ok(default),
            Ok(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|seconds| *seconds > 0.0)
                .and_then(|seconds| std::time::Duration::try_from_secs_f64(seconds).ok())
                .map(|timeout| default.timeout(timeout))
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "{ENV_WAIT_TIMEOUT}={text:?}: must be a number of seconds greater than 0"
                    ))
                }),
            Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
                "{ENV_WAIT_TIMEOUT}: must be a number of seconds greater than 0"
            ))),
        }
    }

    /// A client holding the key `key` (and the host), or a usage failure
    /// naming the variable to set. The key's text is never shown.
    pub fn client(&self, key: Key) -> Result<Client, Failure> {
        self.make_client(key, None)
    }

    /// A client for starting sessions, with `public_key` (the official
    /// `agent start --api-key`) over the environment and `--public-key-file`.
    pub fn client_with_public_key(&self, public_key: Option<&str>) -> Result<Client, Failure> {
        self.make_client(Key::Public, public_key)
    }

    /// The library reads the environment and the key files; here the
    /// flags are mapped onto its builder, and a missing key is named with
    /// the flag that gives it.
    fn make_client(&self, key: Key, public_key: Option<&str>) -> Result<Client, Failure> {
        let mut builder = ClientBuilder::from_env()?
            .user_agent(concat!("pipecat-cloud/", env!("CARGO_PKG_VERSION")));
        if let Some(host) = &self.settings.host {
            builder = builder.host(host.clone());
        }
        if let Some(path) = &self.settings.api_key_file {
            builder = builder.private_key_file(path);
        }
        if let Some(path) = &self.settings.public_key_file {
            builder = builder.public_key_file(path);
        }
        if let Some(public_key) = public_key.map(str::trim).filter(|k| !k.is_empty()) {
            builder = builder.public_key(public_key);
        }
        if !builder.has_key(key) {
            return Err(Failure::Usage(match key {
                Key::Private => {
                    format!("no private API key: set {ENV_PRIVATE_KEY} or pass --api-key-file PATH")
                }
                Key::Public => format!(
                    "no public API key (needed to start sessions): set {ENV_PUBLIC_KEY} \
                     (or {ENV_PUBLIC_KEY_ALT}) or pass --public-key-file PATH"
                ),
            }));
        }
        Ok(builder.build()?)
    }
}
