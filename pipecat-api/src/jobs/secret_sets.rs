//! Shorthands for the secrets resource: building an upsert body without
//! spelling out the generated types, and the jobs people do with sets in one
//! call each: a `.env` file into a set ([`Client::put_secrets_from_env_file`]),
//! adding or replacing a few keys ([`Client::set_secrets`]) and removing
//! keys ([`Client::remove_secrets`]).
//!
//! What the API allows for single keys is described at
//! [`Client::set_secrets`].

use std::path::Path;

use base64::Engine as _;

use crate::types::GetSecretSetResponse;
use crate::types::{
    ImagePullSecretRequest, RegularSecretsRequest, RegularSecretsRequestSecretsItem,
    RegularSecretsRequestSecretsItemSecretKey, UpsertSecretSetBody,
};
use crate::{Client, Error, SecretValue, Wait};

impl Client {
    /// Stores every secret of the `.env` file at `path` in the set
    /// `set_name` with **one** PUT, then waits until the set is ready and
    /// returns it.
    ///
    /// The file is read with [`crate::jobs::dotenv::read_env_file`]: a bad line
    /// (syntax, a key breaking the key rule, an empty value, a key given
    /// twice, `$NAME` substitution) is [`Error::InvalidRequest`] naming the
    /// file, the line and the rule, never a value, and then nothing is sent.
    /// To show the warnings about lines the official CLI reads differently,
    /// read the file with [`crate::jobs::dotenv::EnvFile::read`] and send its
    /// secrets with [`Client::set_secrets`]. An empty file is
    /// refused too. `region` places a new set (default: the organization's
    /// default region); a set's region cannot change. A set whose
    /// provisioning fails is [`Error::Failed`] with the service's message.
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
        let path = path.as_ref();
        let secrets = crate::jobs::dotenv::read_env_file(path)?;
        if secrets.is_empty() {
            return Err(invalid(format!(
                "request not sent: {}: no secrets in the file",
                path.display()
            )));
        }
        let mut body =
            UpsertSecretSetBody::secrets(secrets.iter().map(|(k, v)| (k, v.expose_secret())))?;
        if let Some(region) = region {
            body = body.in_region(region);
        }
        self.upsert_secret_set()
            .set_name(set_name)
            .body(body)
            .send()
            .await?;
        self.wait_secret_set_ready(set_name, wait).await
    }

    /// Adds these secrets to the set `set_name`, replacing keys of the same
    /// name and keeping every other key and its value (the API's PUT merges,
    /// below), with one PUT; then waits until the set is ready and returns
    /// it. A set that does not exist is created in the organization's
    /// default region.
    ///
    /// Every key and value is checked before anything is sent
    /// ([`UpsertSecretSetBody::secrets`]); errors name keys, never values.
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
        let body = UpsertSecretSetBody::secrets(pairs)?;
        self.upsert_secret_set()
            .set_name(set_name)
            .body(body)
            .send()
            .await?;
        self.wait_secret_set_ready(set_name, wait).await
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
