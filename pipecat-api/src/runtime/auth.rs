//! API keys: which operation gets which, where they come from (the
//! environment, a setter, a file), and the prepared `Authorization` value.

use std::io::Read as _;
use std::path::Path;

use crate::Error;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// Environment variable holding the private API key.
pub const ENV_PRIVATE_KEY: &str = "PIPECAT_API_KEY";
/// Environment variable holding the public API key.
pub const ENV_PUBLIC_KEY: &str = "PIPECAT_PUBLIC_API_KEY";
/// The official Python SDK's name for the public key, also accepted.
pub const ENV_PUBLIC_KEY_ALT: &str = "PIPECAT_DEFAULT_PUBLIC_KEY";

/// Which of the organization's two API keys a call is sent with.
///
/// Each operation needs one (the spec's `security`): the private key for
/// agents, secrets, builds, properties and regions; the public key for
/// starting sessions and the session proxy. A tool that makes a client for
/// one job can check it holds the right key first with
/// [`ClientBuilder::has_key`](crate::ClientBuilder::has_key), and name
/// where to set it with [`KeyKind::env_vars`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The private key: agents, secrets, builds, properties, regions.
    Private,
    /// The public key: starting sessions and talking to them.
    Public,
}

impl KeyKind {
    /// The environment variables [`ClientBuilder::from_env`](crate::ClientBuilder::from_env)
    /// reads this key from, the first set (and not blank) winning:
    /// `PIPECAT_API_KEY` for the private key; `PIPECAT_PUBLIC_API_KEY`, then
    /// the official Python SDK's `PIPECAT_DEFAULT_PUBLIC_KEY`, for the
    /// public key.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            KeyKind::Private => &[ENV_PRIVATE_KEY],
            KeyKind::Public => &[ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT],
        }
    }

    /// How a caller supplies this key, for error messages.
    pub(crate) fn how_to_set(self) -> &'static str {
        match self {
            KeyKind::Private => "set PIPECAT_API_KEY or call ClientBuilder::private_key",
            KeyKind::Public => "set PIPECAT_PUBLIC_API_KEY or call ClientBuilder::public_key",
        }
    }

    /// `private` or `public`.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Private => "private",
            KeyKind::Public => "public",
        }
    }
}

/// The largest key file read: a key is a few dozen bytes.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// The key in the file at `path`, surrounding whitespace removed. Only a
/// regular file is read (a FIFO would hang), of at most 64 KiB; an empty
/// one is refused. `setting` names it in errors, which never quote the
/// file's text.
pub(crate) fn read_key_file(path: &Path, setting: &str) -> Result<SecretString, Error> {
    let shown = path.display();
    // Reading is local I/O (`Error::Io`); what the file holds is a setting.
    let io = |e: std::io::Error| Error::io(path, e);
    let bad = |why: &str| Error::config(format!("{setting} {shown}: {why}"));
    let file = std::fs::File::open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(bad("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(bad(&format!(
            "larger than {MAX_KEY_FILE_BYTES} bytes; it must hold the key only"
        )));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text; it must hold the key only"))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(bad("the file is empty"));
    }
    Ok(SecretString::from(key.to_string()))
}

/// One API key, ready to send: the `Authorization` value is built once, at
/// construction, and marked sensitive so that no `Debug` of a request or
/// header map shows it.
#[derive(Clone)]
pub(crate) struct ApiKey {
    header: HeaderValue,
}

impl ApiKey {
    /// Checks and prepares `key`. `setting` names where it came from.
    pub(crate) fn new(key: &SecretString, setting: &str) -> Result<Self, String> {
        let key = key.expose_secret().trim();
        if key.is_empty() {
            return Err(format!("{setting} is empty"));
        }
        let mut header = HeaderValue::try_from(format!("Bearer {key}")).map_err(|_| {
            format!("{setting} contains characters that cannot be sent in an HTTP header")
        })?;
        header.set_sensitive(true);
        Ok(Self { header })
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// The key itself, for redacting it from what the service answers.
    pub(crate) fn expose_for_redaction(&self) -> Option<&str> {
        self.header.to_str().ok()?.strip_prefix("Bearer ")
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}
