//! Shorthands for the secrets resource: building an upsert body without
//! spelling out the generated types, and the jobs people do with sets in one
//! call each: storing pairs and/or a `.env` file in a set, in a region, and
//! waiting until it is ready ([`SecretSetUpdate`] and
//! [`Client::put_secret_set`]; [`Client::put_secrets_from_env_file`] and
//! [`Client::set_secrets`] are shorthands of it), and removing keys
//! ([`Client::remove_secrets`]).
//!
//! What the API allows for single keys is described at
//! [`Client::set_secrets`].

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::jobs::dotenv::{EnvFile, EnvWarning};
use crate::types::GetSecretSetResponse;
use crate::types::{
    ImagePullSecretRequest, RegularSecretsRequest, RegularSecretsRequestSecretsItem,
    RegularSecretsRequestSecretsItemSecretKey, UpsertSecretSetBody, UpsertSecretSetSetName,
};
use crate::{Client, Error, SecretValue, Wait};

/// Secrets to store in a set: `KEY=VALUE` pairs and/or a `.env` file, in a
/// region, then a wait until the set is ready. Build it with bare-name
/// setters, [`check`](Self::check) it (nothing is sent), and send it with
/// [`Client::put_secret_set`].
///
/// ```no_run
/// # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
/// use pipecat_api::SecretSetUpdate;
///
/// let update = SecretSetUpdate::new("my-agent-secrets")
///     .region("us-west")
///     .env_file(".env")
///     .pair("DEBUG", "1")
///     .check()?;
/// for warning in update.warnings() {
///     eprintln!("warning: {warning}"); // lines the official CLI reads differently
/// }
/// let set = client.put_secret_set(update).await?;
/// println!("{} keys ready", set.secrets.len());
/// # Ok(()) }
/// ```
///
/// `Debug` shows keys, never values.
#[derive(Clone)]
#[must_use]
pub struct SecretSetUpdate {
    name: String,
    region: Option<String>,
    pairs: Vec<(String, String)>,
    env_file: Option<PathBuf>,
    wait: Wait,
}

impl fmt::Debug for SecretSetUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSetUpdate")
            .field("name", &self.name)
            .field("region", &self.region)
            .field(
                "keys",
                &self.pairs.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("env_file", &self.env_file)
            .field("wait", &self.wait)
            .finish()
    }
}

impl SecretSetUpdate {
    /// Secrets for the set `name`, created if it does not exist. Add
    /// [`pairs`](Self::pairs) and/or an [`env_file`](Self::env_file).
    pub fn new(name: impl Into<String>) -> Self {
        SecretSetUpdate {
            name: name.into(),
            region: None,
            pairs: Vec::new(),
            env_file: None,
            wait: Wait::default(),
        }
    }

    /// The region of a new set (default: the organization's default
    /// region). A set's region cannot change later.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// One secret to add or replace.
    pub fn pair(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((key.into(), value.into()));
        self
    }

    /// Secrets to add or replace, after any given before. A key given twice
    /// among the pairs is refused by [`check`](Self::check); a pair whose
    /// key is also in the [`env_file`](Self::env_file) replaces the file's
    /// (see [`CheckedSecretSet::replaced`]).
    pub fn pairs<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.pairs
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// A `.env` file of secrets, read by [`check`](Self::check) with
    /// [`EnvFile::read`] (python-dotenv syntax; see [`crate::dotenv`]).
    pub fn env_file(mut self, path: impl AsRef<Path>) -> Self {
        self.env_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// How long to wait for the set to be ready (default [`Wait::default`]).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Reads the file and checks everything, sending nothing: the set name
    /// (the API's rule), the region (not blank), every key (1-64 letters,
    /// digits, `_` or `-`) and value (not empty), no key twice among the
    /// pairs, and at least one secret in all. A bad `.env` line is refused
    /// with the file and line ([`EnvFile::read`]). Errors are
    /// [`Error::InvalidRequest`] naming the parameter, the key and the
    /// rule, never a value.
    pub fn check(self) -> Result<CheckedSecretSet, Error> {
        UpsertSecretSetSetName::try_from(self.name.as_str())
            .map_err(|e| Error::invalid_parameter("set_name", e))?;
        if let Some(region) = &self.region
            && region.trim().is_empty()
        {
            return Err(invalid(
                "region: must not be empty (leave it out for the organization's default region)",
            ));
        }
        let mut pairs: Vec<(String, SecretValue)> = Vec::with_capacity(self.pairs.len());
        for (i, (key, value)) in self.pairs.into_iter().enumerate() {
            RegularSecretsRequestSecretsItemSecretKey::try_from(key.as_str())
                .map_err(|e| invalid(format!("pairs[{i}]: key: {e}")))?;
            let value = SecretValue::new(value)
                .map_err(|e| invalid(format!("pairs[{i}] (key {key}): {e}")))?;
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(invalid(format!(
                    "pairs[{i}]: key {key} is given twice; give each key once"
                )));
            }
            pairs.push((key, value));
        }
        let (mut secrets, warnings) = match &self.env_file {
            Some(path) => {
                let file = EnvFile::read(path)?;
                (file.secrets, file.warnings)
            }
            None => (Vec::new(), Vec::new()),
        };
        let mut replaced = Vec::new();
        for (key, value) in pairs {
            match secrets.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => {
                    slot.1 = value;
                    replaced.push(key);
                }
                None => secrets.push((key, value)),
            }
        }
        if secrets.is_empty() {
            return Err(invalid(match &self.env_file {
                Some(path) => format!("{}: no secrets in the file", path.display()),
                None => "secrets: at least one secret is required".to_string(),
            }));
        }
        // The file's keys were checked by the same rule as the pairs'.
        let secrets = secrets
            .into_iter()
            .map(|(key, secret_value)| {
                let secret_key = RegularSecretsRequestSecretsItemSecretKey::try_from(key.as_str())
                    .map_err(|e| invalid(format!("key {key}: {e}")))?;
                Ok(RegularSecretsRequestSecretsItem {
                    secret_key,
                    secret_value,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(CheckedSecretSet {
            name: self.name,
            region: self.region,
            secrets,
            warnings,
            replaced,
            wait: self.wait,
        })
    }
}

/// A [`SecretSetUpdate`] read and checked, ready for
/// [`Client::put_secret_set`]: what will be sent, and what the caller may
/// want to show first. `Debug` shows keys, never values.
#[must_use]
pub struct CheckedSecretSet {
    name: String,
    region: Option<String>,
    secrets: Vec<RegularSecretsRequestSecretsItem>,
    warnings: Vec<EnvWarning>,
    replaced: Vec<String>,
    wait: Wait,
}

impl fmt::Debug for CheckedSecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedSecretSet")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("keys", &self.keys().collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .field("replaced", &self.replaced)
            .finish()
    }
}

impl CheckedSecretSet {
    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys that will be sent, in order: the file's, then the pairs'
    /// new keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|item| item.secret_key.as_str())
    }

    /// Entries of the `.env` file the official CLI would read differently
    /// (file, line and key; never a value), to show before sending.
    pub fn warnings(&self) -> &[EnvWarning] {
        &self.warnings
    }

    /// Keys of the file that a pair replaces, in the pairs' order.
    pub fn replaced(&self) -> &[String] {
        &self.replaced
    }
}

impl Client {
    /// Stores the secrets of `update` in its set with **one** PUT (in its
    /// region, when given), then waits until the set is ready and returns
    /// it. Check the update first with [`SecretSetUpdate::check`], which
    /// sends nothing.
    ///
    /// The PUT merges (see [`Client::set_secrets`]): keys already in the set
    /// and not sent stay. A set whose provisioning fails is [`Error::Failed`]
    /// with the service's message; running out of time is
    /// [`Error::Timeout`] (the secrets are stored; the set is still being
    /// provisioned).
    pub async fn put_secret_set(
        &self,
        update: CheckedSecretSet,
    ) -> Result<GetSecretSetResponse, Error> {
        let CheckedSecretSet {
            name,
            region,
            secrets,
            wait,
            ..
        } = update;
        let body: UpsertSecretSetBody = RegularSecretsRequest { secrets, region }.into();
        self.upsert_secret_set()
            .set_name(name.as_str())
            .body(body)
            .send()
            .await?;
        self.wait_secret_set_ready(&name, wait).await
    }

    /// Stores every secret of the `.env` file at `path` in the set
    /// `set_name` with **one** PUT, then waits until the set is ready and
    /// returns it: [`Client::put_secret_set`] of a [`SecretSetUpdate`] with
    /// this file, region and wait.
    ///
    /// A bad line (syntax, a key breaking the key rule, an empty value, a
    /// key given twice, `$NAME` substitution) is [`Error::InvalidRequest`]
    /// naming the file, the line and the rule, never a value, and then
    /// nothing is sent. To show the warnings about lines the official CLI
    /// reads differently, use [`SecretSetUpdate::check`] and
    /// [`CheckedSecretSet::warnings`]. An empty file is refused too.
    /// `region` places a new set (default: the organization's default
    /// region); a set's region cannot change. A set whose provisioning fails
    /// is [`Error::Failed`] with the service's message.
    ///
    /// The PUT merges (see [`Client::set_secrets`]): keys already in the set
    /// and not in the file stay. To make the set hold exactly the file,
    /// remove the others with [`Client::remove_secrets`].
    ///
    /// ```no_run
    /// # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
    /// let set = client
    ///     .put_secrets_from_env_file("my-agent-secrets", ".env", Some("us-west"), Default::default())
    ///     .await?;
    /// println!("{} keys ready", set.secrets.len());
    /// # Ok(()) }
    /// ```
    pub async fn put_secrets_from_env_file(
        &self,
        set_name: &str,
        path: impl AsRef<Path>,
        region: Option<&str>,
        wait: Wait,
    ) -> Result<GetSecretSetResponse, Error> {
        let mut update = SecretSetUpdate::new(set_name).env_file(path).wait(wait);
        if let Some(region) = region {
            update = update.region(region);
        }
        self.put_secret_set(update.check()?).await
    }

    /// Adds these secrets to the set `set_name`, replacing keys of the same
    /// name and keeping every other key and its value (the API's PUT merges,
    /// below), with one PUT; then waits until the set is ready and returns
    /// it. A set that does not exist is created in the organization's
    /// default region (for another, use [`SecretSetUpdate::region`] and
    /// [`Client::put_secret_set`], of which this is a shorthand).
    ///
    /// Every key and value is checked before anything is sent
    /// ([`SecretSetUpdate::check`]: a key given twice is refused); errors
    /// name keys, never values.
    ///
    /// # What the API allows for single keys
    ///
    /// - `PUT /secrets/{set}` (`upsertSecretSet`) **merges**: the keys it
    ///   carries are added or replace keys of the same name, and keys it does
    ///   not carry stay in the set with their values. (The official CLI relies
    ///   on this: its `secrets set` sends one PUT per key and warns only that
    ///   keys given again are overwritten.) So adding or replacing keys never
    ///   needs the values of the other keys, which the API never returns anyway
    ///   (`getSecretSet` lists key names only).
    /// - `DELETE /secrets/{set}/{key}` (`deleteSecretFromSet`) removes one key;
    ///   there is no call removing several at once.
    /// - Neither works on image pull secret sets (a PUT of regular secrets to
    ///   one is refused), and a set's region never changes.
    /// - Agents pick up changed values only when redeployed
    ///   ([`DeployOptions::force_redeploy`](crate::jobs::deploy::DeployOptions::force_redeploy)).
    pub async fn set_secrets<I, K, V>(
        &self,
        set_name: &str,
        pairs: I,
        wait: Wait,
    ) -> Result<GetSecretSetResponse, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.into()));
        let update = SecretSetUpdate::new(set_name).pairs(pairs).wait(wait);
        self.put_secret_set(update.check()?).await
    }

    /// Removes these keys from the set `set_name`, keeping every other key
    /// and its value: one `DELETE /secrets/{set}/{key}` per key present in
    /// the set (the API has no call removing several). Keys the set does not
    /// hold are skipped, so a repeated call does no harm. Then waits until
    /// the set is ready and returns it.
    ///
    /// Every key is checked against the key rule, and the set read (a set
    /// that does not exist is a not-found error), before any key is removed.
    /// An error part way leaves the keys before it removed.
    pub async fn remove_secrets<I, K>(
        &self,
        set_name: &str,
        keys: I,
        wait: Wait,
    ) -> Result<GetSecretSetResponse, Error>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        let mut checked = Vec::new();
        for (i, key) in keys.into_iter().enumerate() {
            let key = key.as_ref();
            RegularSecretsRequestSecretsItemSecretKey::try_from(key)
                .map_err(|e| invalid(format!("keys[{i}]: {e}")))?;
            if !checked.iter().any(|k: &String| k == key) {
                checked.push(key.to_string());
            }
        }
        let set = self.get_secret_set().set_name(set_name).send().await?;
        for key in checked {
            if !set
                .secrets
                .iter()
                .any(|s| s.field_name.as_deref() == Some(key.as_str()))
            {
                continue;
            }
            match self
                .delete_secret_from_set()
                .set_name(set_name)
                .secret_key(key.as_str())
                .send()
                .await
            {
                Ok(_) => {}
                // Removed meanwhile: what was asked for holds.
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
        }
        self.wait_secret_set_ready(set_name, wait).await
    }
}

impl UpsertSecretSetBody {
    /// A body adding (or replacing) these key/value secrets. Keys not listed
    /// stay in the set.
    ///
    /// Every key must be 1-64 letters, digits, `_` or `-` and every value
    /// non-empty; the error names the offending entry by position and key,
    /// never by value.
    ///
    /// ```
    /// use pipecat_api::types::UpsertSecretSetBody;
    /// let body = UpsertSecretSetBody::secrets([("OPENAI_API_KEY", "sk-..."), ("DEBUG", "1")])?
    ///     .in_region("us-west");
    /// # Ok::<(), pipecat_api::Error>(())
    /// ```
    pub fn secrets<I, K, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut secrets = Vec::new();
        for (i, (key, value)) in pairs.into_iter().enumerate() {
            let key = key.as_ref();
            let secret_key = RegularSecretsRequestSecretsItemSecretKey::try_from(key)
                .map_err(|e| invalid(format!("body: secrets[{i}].secretKey: {e}")))?;
            let secret_value = SecretValue::new(value)
                .map_err(|e| invalid(format!("body: secrets[{i}].secretValue (key {key}): {e}")))?;
            secrets.push(RegularSecretsRequestSecretsItem {
                secret_key,
                secret_value,
            });
        }
        if secrets.is_empty() {
            return Err(invalid("body: secrets: at least one secret is required"));
        }
        Ok(RegularSecretsRequest {
            secrets,
            region: None,
        }
        .into())
    }

    /// A body storing registry credentials for pulling a private agent
    /// image: `host` such as `https://index.docker.io/v1/`, and the
    /// `username` and `token` (sent as base64 of `username:token`).
    pub fn image_pull_secret(
        host: impl Into<String>,
        username: &str,
        token: &str,
    ) -> Result<Self, Error> {
        let host = host.into();
        if host.trim().is_empty() {
            return Err(invalid("body: host must not be empty"));
        }
        if username.is_empty() || token.is_empty() {
            return Err(invalid(
                "body: secretValue: username and token must not be empty",
            ));
        }
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{token}"));
        let secret_value =
            SecretValue::new(encoded).map_err(|e| invalid(format!("body: secretValue: {e}")))?;
        Ok(ImagePullSecretRequest {
            host,
            is_image_pull_secret: true,
            region: None,
            secret_value,
        }
        .into())
    }

    /// The same body, creating the set in `region` (default: the
    /// organization's default region). A set's region cannot change later.
    pub fn in_region(mut self, region: impl Into<String>) -> Self {
        let region = Some(region.into());
        match &mut self {
            UpsertSecretSetBody::RegularSecretsRequest(r) => r.region = region,
            UpsertSecretSetBody::ImagePullSecretRequest(r) => r.region = region,
        }
        self
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_request(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_serialize_as_the_api_expects() {
        let body = UpsertSecretSetBody::secrets([("A", "1"), ("B_2", "two")])
            .unwrap()
            .in_region("eu-central");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"secrets": [
                {"secretKey": "A", "secretValue": "1"},
                {"secretKey": "B_2", "secretValue": "two"}
            ], "region": "eu-central"})
        );
    }

    #[test]
    fn a_bad_key_is_named_and_the_value_is_not() {
        let err = UpsertSecretSetBody::secrets([("OK", "v"), ("BAD KEY", "hunter2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("secrets[1].secretKey"), "{err}");
        assert!(err.contains("use 1 to 64 letters"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = UpsertSecretSetBody::secrets([("K", "")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("secrets[0].secretValue (key K): a secret value must not be empty"),
            "{err}"
        );
        let none: [(&str, &str); 0] = [];
        assert!(UpsertSecretSetBody::secrets(none).is_err());
    }

    #[test]
    fn image_pull_secret_encodes_credentials() {
        let body =
            UpsertSecretSetBody::image_pull_secret("https://index.docker.io/v1/", "me", "tok")
                .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({
                "host": "https://index.docker.io/v1/",
                "isImagePullSecret": true,
                "secretValue": "bWU6dG9r"
            })
        );
        assert!(!format!("{body:?}").contains("bWU6dG9r"));
    }
}
