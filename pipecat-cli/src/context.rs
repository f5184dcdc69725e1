//! What every command runs with: the output, `--yes`, and a client made
//! with the key the command needs.

use std::path::{Path, PathBuf};

use pipecat_api::{Client, ClientBuilder, ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT};

use crate::failure::Failure;
use crate::output::Output;

/// Which key a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The private key: everything but starting sessions.
    Private,
    /// The public key: starting sessions.
    Public,
}

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

impl Ctx {
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

    fn make_client(&self, key: Key, public_key: Option<&str>) -> Result<Client, Failure> {
        let mut builder = ClientBuilder::from_env()?
            .user_agent(concat!("pipecat-cloud/", env!("CARGO_PKG_VERSION")));
        if let Some(host) = &self.settings.host {
            builder = builder.host(host.clone());
        }
        if let Some(path) = &self.settings.api_key_file {
            builder = builder.private_key(read_key(path, "--api-key-file")?);
        }
        if let Some(path) = &self.settings.public_key_file {
            builder = builder.public_key(read_key(path, "--public-key-file")?);
        }
        let public_key = public_key.map(str::trim).filter(|k| !k.is_empty());
        if let Some(public_key) = public_key {
            builder = builder.public_key(public_key.to_string());
        }
        let present = match key {
            Key::Private => self.settings.api_key_file.is_some() || env_set(ENV_PRIVATE_KEY),
            Key::Public => {
                public_key.is_some()
                    || self.settings.public_key_file.is_some()
                    || env_set(ENV_PUBLIC_KEY)
                    || env_set(ENV_PUBLIC_KEY_ALT)
            }
        };
        if !present {
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

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.to_string_lossy().trim().is_empty())
}

/// The key in `path`, surrounding whitespace removed.
fn read_key(path: &Path, flag: &str) -> Result<String, Failure> {
    // Local I/O, not usage: exits 1.
    let text = std::fs::read_to_string(path).map_err(|source| {
        Failure::Api(pipecat_api::Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(Failure::Usage(format!(
            "{flag} {}: the file is empty",
            path.display()
        )));
    }
    Ok(key.to_string())
}
