//! API keys and which operation gets which.

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// Which of the organization's two keys an operation is sent with.
///
/// The generated operation table maps every operation to one of these, from
/// the spec's `security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// The private key: agents, secrets, builds, properties, regions.
    Private,
    /// The public key: starting sessions and talking to them.
    Public,
}

impl KeyKind {
    /// How a caller supplies this key, for error messages.
    pub(crate) fn how_to_set(self) -> &'static str {
        match self {
            KeyKind::Private => "set PIPECAT_API_KEY or call ClientBuilder::private_key",
            KeyKind::Public => "set PIPECAT_PUBLIC_API_KEY or call ClientBuilder::public_key",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyKind::Private => "private",
            KeyKind::Public => "public",
        }
    }
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
