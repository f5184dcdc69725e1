//! [`Client`] and [`ClientBuilder`]: configuration, keys and construction.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::SecretString;

use crate::Error;
use crate::runtime::auth::{ApiKey, KeyKind, read_key_file};
pub use crate::runtime::auth::{ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT};
use crate::runtime::config::ClientConfig;
use crate::runtime::retry::RetryPolicy;

/// The host used when none is given.
pub const DEFAULT_HOST: &str = "https://api.pipecat.daily.co";
/// How long connecting may take, unless [`ClientBuilder::connect_timeout`] says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest success answer read, unless [`ClientBuilder::max_answer_bytes`]
/// says otherwise: 64 MiB, far above any page the API sends.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// How long a whole call may take, unless [`ClientBuilder::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variable overriding the host.
pub const ENV_HOST: &str = "PIPECAT_API_HOST";

/// A Pipecat Cloud client.
///
/// Every operation of the API is a method named after its operation id that
/// returns a request builder; `send().await` performs it:
///
/// ```no_run
/// # async fn run() -> Result<(), pipecat_api::Error> {
/// let client = pipecat_api::Client::from_env()?;
/// client.delete_secret_set().set_name("my-secrets").send().await?;
/// # Ok(()) }
/// ```
///
/// The right key goes with each operation: the private key to the private
/// API, the public key to session starts and the session proxy. Cloning is
/// cheap and clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    /// The HTTP client every call goes through (the generated calls use it
    /// by this name).
    pub(crate) client: reqwest::Client,
    /// Keys, base URL and settings (the generated calls use it by this name).
    pub(crate) inner: ClientConfig,
}

impl Client {
    /// A client for the private API, with the organization's private key.
    pub fn new(private_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder().private_key(private_key).build()
    }

    /// A client configured from the environment: `PIPECAT_API_KEY` (private
    /// key), `PIPECAT_PUBLIC_API_KEY` or `PIPECAT_DEFAULT_PUBLIC_KEY` (public
    /// key) and `PIPECAT_API_HOST` (default `https://api.pipecat.daily.co`).
    /// At least one key must be set.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL requests go to, e.g. `https://api.pipecat.daily.co/v1`.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = self.config();
        let redacted = |key: &Option<_>| key.as_ref().map(|_| "<redacted>");
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("private_key", &redacted(&config.private_key))
            .field("public_key", &redacted(&config.public_key))
            .field("timeout", &config.timeout)
            .field("retry", &config.retry)
            .finish()
    }
}

/// Settings for a [`Client`]. Start from [`Client::builder`] or
/// [`ClientBuilder::from_env`]; anything set afterwards wins.
#[derive(Default, Debug)]
pub struct ClientBuilder {
    private_key: Option<KeySource>,
    public_key: Option<KeySource>,
    host: Option<(String, &'static str)>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
    retry: Option<RetryPolicy>,
    max_answer_bytes: Option<usize>,
}

/// Where a key comes from. `Debug` never shows a key (`SecretString`).
#[derive(Debug)]
enum KeySource {
    /// The key, and the setting or variable that gave it, for errors.
    Text(SecretString, &'static str),
    /// A file holding the key, read by [`ClientBuilder::build`].
    File(PathBuf),
}

impl KeySource {
    fn load(self, kind: KeyKind) -> Result<ApiKey, Error> {
        match self {
            KeySource::Text(key, setting) => ApiKey::new(&key, setting).map_err(Error::config),
            KeySource::File(path) => {
                let setting = match kind {
                    KeyKind::Private => "the private key file",
                    KeyKind::Public => "the public key file",
                };
                let key = read_key_file(&path, setting)?;
                let shown = format!("{setting} {}", path.display());
                ApiKey::new(&key, &shown).map_err(Error::config)
            }
        }
    }
}

impl ClientBuilder {
    /// A builder holding what the environment sets (see [`Client::from_env`]).
    /// Unset or empty variables are skipped; a variable that is not valid
    /// Unicode is an error naming it.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name))
    }

    /// [`ClientBuilder::from_env`] reading variables through `var`.
    fn from_vars(var: impl Fn(&str) -> Result<String, std::env::VarError>) -> Result<Self, Error> {
        let env_var = |name: &str| match var(name) {
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::config(format!("{name} is not valid Unicode")))
            }
        };
        let mut builder = Self::default();
        if let Some(key) = env_var(ENV_PRIVATE_KEY)? {
            builder.private_key = Some(KeySource::Text(SecretString::from(key), ENV_PRIVATE_KEY));
        }
        for name in [ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_ALT] {
            match env_var(name)? {
                Some(key) if builder.public_key.is_none() => {
                    builder.public_key = Some(KeySource::Text(SecretString::from(key), name));
                }
                _ => {}
            }
        }
        if let Some(host) = env_var(ENV_HOST)? {
            builder.host = Some((host, ENV_HOST));
        }
        Ok(builder)
    }

    /// The private API key (agents, secrets, builds, properties, regions).
    pub fn private_key(mut self, key: impl Into<String>) -> Self {
        self.private_key = Some(KeySource::Text(
            SecretString::from(key.into()),
            "the private key",
        ));
        self
    }

    /// The public API key (starting sessions, the session proxy).
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.public_key = Some(KeySource::Text(
            SecretString::from(key.into()),
            "the public key",
        ));
        self
    }

    /// Read the private API key from the file at `path` (when the client is
    /// built): its text, surrounding whitespace removed. A file that cannot
    /// be read, is not a regular file, is larger than 64 KiB or holds only
    /// whitespace is an [`Error::Config`] naming the file, never its text.
    pub fn private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.private_key = Some(KeySource::File(path.into()));
        self
    }

    /// Read the public API key from the file at `path`, as
    /// [`private_key_file`](Self::private_key_file) reads the private one.
    pub fn public_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.public_key = Some(KeySource::File(path.into()));
        self
    }

    /// Whether this builder holds a key of `kind`, from a setter or the
    /// environment (not blank; a key file is read only by
    /// [`build`](Self::build)). A tool that needs one kind of key can refuse
    /// early, naming [`KeyKind::env_vars`] and its own flags.
    pub fn has_key(&self, kind: KeyKind) -> bool {
        match kind {
            KeyKind::Private => self.private_key.is_some(),
            KeyKind::Public => self.public_key.is_some(),
        }
    }

    /// The API host, e.g. `https://api.pipecat.daily.co` (the default). The
    /// private API is at `{host}/v1`, the public one at `{host}/v1/public`.
    /// Plain `http://` is accepted only for loopback addresses.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some((host.into(), "ClientBuilder::host"));
        self
    }

    /// How long connecting may take (default 10 s). Ignored with
    /// [`ClientBuilder::http_client`], whose own setting applies.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take, answer included (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The `User-Agent` sent with every call (default `pipecat-api/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// How failed calls are retried (default: [`RetryPolicy::default`];
    /// [`RetryPolicy::disabled`] turns retries off).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The largest success answer this client reads (default
    /// [`DEFAULT_MAX_ANSWER_BYTES`]); a longer one is an
    /// [`Error::UnexpectedResponse`] rather than unbounded memory. Error
    /// answers are read up to 64 KiB whatever this says.
    pub fn max_answer_bytes(mut self, max: usize) -> Self {
        self.max_answer_bytes = Some(max);
        self
    }

    /// Send through this `reqwest::Client` (for proxies, custom TLS roots or
    /// a shared pool). Keys, user agent and the call timeout are still
    /// applied per request.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())`: the
    /// client this crate builds never follows a redirect (a 307 would send
    /// the request's body, secret values included, to another host), and a
    /// call that your client's policy redirected to another host is an
    /// error, but by then the request has been sent there.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks every setting and builds the client. Never panics: each
    /// problem is an [`Error::Config`] naming the setting to fix.
    pub fn build(self) -> Result<Client, Error> {
        let private_key = self
            .private_key
            .map(|source| source.load(KeyKind::Private))
            .transpose()?;
        let public_key = self
            .public_key
            .map(|source| source.load(KeyKind::Public))
            .transpose()?;
        if private_key.is_none() && public_key.is_none() {
            return Err(Error::config(format!(
                "no API key: set {ENV_PRIVATE_KEY} (private key) or {ENV_PUBLIC_KEY} (public key), \
                 or pass one to Client::new / ClientBuilder"
            )));
        }

        let (host, host_setting) = self
            .host
            .unwrap_or_else(|| (DEFAULT_HOST.into(), "the default host"));
        let base = base_url(&host, host_setting)?;

        let user_agent = self
            .user_agent
            .unwrap_or_else(|| concat!("pipecat-api/", env!("CARGO_PKG_VERSION")).to_string());
        let user_agent = HeaderValue::try_from(user_agent)
            .map_err(|_| Error::config("ClientBuilder::user_agent is not a valid header value"))?;

        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let request_timeout = self.http_client.is_some().then_some(timeout);
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .timeout(timeout)
                // The API never redirects; following one would re-send the
                // body (secret values) to wherever the answer points.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::config(format!("cannot set up HTTP: {e}")))?,
        };

        let config = ClientConfig {
            base_path: base.path().trim_end_matches('/').to_string(),
            base,
            private_key,
            public_key,
            user_agent,
            request_timeout,
            timeout,
            retry: self.retry.unwrap_or_default(),
            max_answer_bytes: self.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
        };
        Ok(Client {
            client: http,
            inner: config,
        })
    }
}

/// `{host}/v1`, after checking that `host` is an http(s) URL without query,
/// fragment or credentials, and that plain http only goes to loopback.
fn base_url(host: &str, setting: &str) -> Result<reqwest::Url, Error> {
    let bad = |why: &str| Error::config(format!("{setting} {why}"));
    let mut url = reqwest::Url::parse(host.trim())
        .map_err(|e| bad(&format!("is not a URL ({e}); expected e.g. {DEFAULT_HOST}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not contain credentials; pass keys with ClientBuilder",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(&format!(
            "must not have a query or fragment; expected e.g. {DEFAULT_HOST}"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(&format!(
                "is plain http to {}; API keys are only sent over https (plain http is allowed for loopback only)",
                url.host_str().unwrap_or("?")
            )));
        }
        other => return Err(bad(&format!("has scheme `{other}`; use https"))),
    }
    let path = format!("{}/v1", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_message(result: Result<Client, Error>) -> String {
        match result {
            Err(Error::Config { message }) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn default_base_url() {
        let client = Client::new("pk_test").unwrap();
        assert_eq!(client.base_url(), "https://api.pipecat.daily.co/v1");
    }

    #[test]
    fn host_path_is_kept() {
        let client = Client::builder()
            .private_key("k")
            .host("http://127.0.0.1:8080/proxy/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080/proxy/v1");
    }

    #[test]
    fn no_key_names_the_variables() {
        let message = config_message(Client::builder().build());
        assert!(
            message.contains("PIPECAT_API_KEY") && message.contains("PIPECAT_PUBLIC_API_KEY"),
            "{message}"
        );
    }

    #[test]
    fn malformed_host_names_the_setting() {
        let message = config_message(Client::builder().private_key("k").host("not a url").build());
        assert!(
            message.starts_with("ClientBuilder::host is not a URL"),
            "{message}"
        );
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        let message = config_message(
            Client::builder()
                .private_key("k")
                .host("http://api.example.com")
                .build(),
        );
        assert!(message.contains("only sent over https"), "{message}");
        for host in ["http://localhost:1", "http://127.0.0.9:1", "http://[::1]:1"] {
            assert!(
                Client::builder()
                    .private_key("k")
                    .host(host)
                    .build()
                    .is_ok(),
                "{host}"
            );
        }
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_refused_without_echoing_it() {
        let message = config_message(Client::new("abc\ndef-secret"));
        assert_eq!(
            message,
            "the private key contains characters that cannot be sent in an HTTP header"
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, std::env::VarError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or(std::env::VarError::NotPresent)
        }
    }

    #[test]
    fn from_env_reads_keys_and_host() {
        let builder = ClientBuilder::from_vars(vars(&[
            ("PIPECAT_API_KEY", "sk"),
            ("PIPECAT_DEFAULT_PUBLIC_KEY", "pk"),
            ("PIPECAT_API_HOST", "http://localhost:7"),
        ]))
        .unwrap();
        let client = builder.build().unwrap();
        assert_eq!(client.base_url(), "http://localhost:7/v1");
        assert!(client.config().private_key.is_some() && client.config().public_key.is_some());

        // The documented name wins over the Python SDK's.
        let both = ClientBuilder::from_vars(vars(&[
            ("PIPECAT_PUBLIC_API_KEY", "a"),
            ("PIPECAT_DEFAULT_PUBLIC_KEY", "b"),
        ]))
        .unwrap();
        let Some(KeySource::Text(_, from)) = both.public_key else {
            panic!("no public key");
        };
        assert_eq!(from, "PIPECAT_PUBLIC_API_KEY");
    }

    #[test]
    fn from_env_errors_name_the_variable() {
        let message = config_message(
            ClientBuilder::from_vars(vars(&[("PIPECAT_API_KEY", "  ")]))
                .unwrap()
                .build(),
        );
        assert!(
            message.starts_with("no API key: set PIPECAT_API_KEY"),
            "{message}"
        );
        let message = config_message(
            ClientBuilder::from_vars(vars(&[
                ("PIPECAT_API_KEY", "k"),
                ("PIPECAT_API_HOST", "api.pipecat.daily.co"),
            ]))
            .unwrap()
            .build(),
        );
        assert!(
            message.starts_with("PIPECAT_API_HOST is not a URL"),
            "{message}"
        );
        let err = ClientBuilder::from_vars(|_| Err(std::env::VarError::NotUnicode("x".into())))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot build the Pipecat Cloud client: PIPECAT_API_KEY is not valid Unicode"
        );
    }

    #[test]
    fn a_key_file_is_read_trimmed_and_its_text_never_shown() {
        let dir = tempfile::TempDir::new().unwrap();
        let good = dir.path().join("key");
        std::fs::write(&good, "  sk-FILE-SENTINEL\n").unwrap();
        let client = Client::builder()
            .private_key_file(&good)
            .public_key_file(&good)
            .build()
            .unwrap();
        let header = client.config().private_key.as_ref().unwrap().header();
        assert_eq!(header.to_str().unwrap(), "Bearer sk-FILE-SENTINEL");
        assert!(client.config().public_key.is_some());

        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n\t\n").unwrap();
        let message = config_message(Client::builder().private_key_file(&empty).build());
        assert_eq!(
            message,
            format!(
                "the private key file {}: the file is empty",
                empty.display()
            )
        );

        let missing = dir.path().join("missing");
        // Reading is local I/O, so an `Io` error naming the file (exit 1 in
        // the CLI), not a setting.
        match Client::builder().public_key_file(&missing).build() {
            Err(Error::Io { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }

        let message = config_message(Client::builder().private_key_file(dir.path()).build());
        assert!(message.ends_with(": not a regular file"), "{message}");

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "sk-FILE-SENTINEL\nsecond line").unwrap();
        let message = config_message(Client::builder().private_key_file(&bad).build());
        assert!(
            message.contains("cannot be sent in an HTTP header"),
            "{message}"
        );
        assert!(message.contains(&bad.display().to_string()), "{message}");
        assert!(!message.contains("SENTINEL"), "{message}");
    }

    #[test]
    fn has_key_says_which_keys_the_builder_holds() {
        let builder =
            ClientBuilder::from_vars(vars(&[("PIPECAT_DEFAULT_PUBLIC_KEY", "pk")])).unwrap();
        assert!(builder.has_key(KeyKind::Public));
        assert!(!builder.has_key(KeyKind::Private));
        let builder = builder.private_key_file("/nonexistent/key");
        assert!(builder.has_key(KeyKind::Private));
        let blank = ClientBuilder::from_vars(vars(&[("PIPECAT_API_KEY", " ")])).unwrap();
        assert!(!blank.has_key(KeyKind::Private));
        assert_eq!(KeyKind::Private.env_vars(), ["PIPECAT_API_KEY"]);
        assert_eq!(
            KeyKind::Public.env_vars(),
            ["PIPECAT_PUBLIC_API_KEY", "PIPECAT_DEFAULT_PUBLIC_KEY"]
        );
    }

    #[test]
    fn debug_shows_no_key() {
        let client = Client::builder()
            .private_key("sk-SENTINEL")
            .public_key("pk-SENTINEL")
            .build()
            .unwrap();
        let builder = Client::builder()
            .private_key("sk-SENTINEL")
            .public_key("pk-SENTINEL");
        for shown in [format!("{client:?}"), format!("{builder:?}")] {
            assert!(!shown.contains("SENTINEL"), "{shown}");
        }
    }
}
