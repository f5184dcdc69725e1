//! [`SecretValue`]: a secret's value, which no `Debug` or `Display` shows.

use secrecy::{ExposeSecret, SecretString};

/// The value of a secret (or an image pull credential).
///
/// Generated request types hold values as this type, so formatting a request
/// with `{:?}` shows `SecretValue(<redacted>)`. The value is only read when
/// the request body is serialized, and is zeroed when dropped.
///
/// ```
/// let value: pipecat_api::SecretValue = "sk-live-123".parse()?;
/// assert_eq!(format!("{value:?}"), "SecretValue(<redacted>)");
/// # Ok::<(), pipecat_api::InvalidSecretValue>(())
/// ```
#[derive(Clone)]
pub struct SecretValue(SecretString);

/// A secret value was empty; the API requires at least one character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a secret value must not be empty")]
pub struct InvalidSecretValue;

impl SecretValue {
    /// Wraps `value`, refusing an empty one.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidSecretValue> {
        let value: String = value.into();
        if value.is_empty() {
            return Err(InvalidSecretValue);
        }
        Ok(Self(SecretString::from(value)))
    }

    /// The value itself. Take care where it goes.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl std::str::FromStr for SecretValue {
    type Err = InvalidSecretValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for SecretValue {
    type Error = InvalidSecretValue;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for SecretValue {
    type Error = InvalidSecretValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&String> for SecretValue {
    type Error = InvalidSecretValue;
    fn try_from(s: &String) -> Result<Self, Self::Error> {
        Self::new(s.as_str())
    }
}

impl serde::Serialize for SecretValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl<'de> serde::Deserialize<'de> for SecretValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SecretValue {
    fn schema_name() -> String {
        "SecretValue".into()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            string: Some(Box::new(schemars::schema::StringValidation {
                min_length: Some(1),
                ..Default::default()
            })),
            ..secret_string_schema()
        }
        .into()
    }
}

/// A string marked `format: password`, OpenAPI's mark for a sensitive
/// value (also the values of [`crate::UploadFields`]).
#[cfg(feature = "schemars")]
pub(crate) fn secret_string_schema() -> schemars::schema::SchemaObject {
    schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        format: Some("password".into()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_the_value_but_never_shows_it() {
        let v = SecretValue::new("hunter2").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), r#""hunter2""#);
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[test]
    fn empty_is_refused() {
        assert_eq!(SecretValue::new("").err(), Some(InvalidSecretValue));
        assert!(serde_json::from_str::<SecretValue>(r#""""#).is_err());
    }
}
