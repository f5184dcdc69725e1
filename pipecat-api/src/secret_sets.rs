//! Shorthands for the secrets resource: building an upsert body without
//! spelling out the generated types.

use base64::Engine as _;

use crate::types::{
    ImagePullSecretRequest, RegularSecretsRequest, RegularSecretsRequestSecretsItem,
    RegularSecretsRequestSecretsItemSecretKey, UpsertSecretSetBody,
};
use crate::{Error, SecretValue};

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
    Error::InvalidRequest {
        message: message.into(),
    }
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
        assert!(err.contains("doesn't match pattern"), "{err}");
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
