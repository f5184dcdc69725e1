//! [`UploadFields`]: the form fields of a presigned upload, in the order
//! the service gave them, their values redacted.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The form fields a presigned upload must carry (`uploadFields` of
/// `getBuildUploadUrl`), in the order the service sent them.
///
/// A storage host checks a presigned POST's fields against its policy, and
/// some want them in the order given, before the file; a map would lose
/// that order. The values are credentials (a policy, a signature, a
/// session token): `Debug` shows the field names only.
///
/// ```
/// let fields: pipecat_api::UploadFields =
///     serde_json::from_str(r#"{"key": "a/b.tar.gz", "Policy": "cG9s", "X-Amz-Signature": "s1g"}"#)?;
/// assert_eq!(fields.names().collect::<Vec<_>>(), ["key", "Policy", "X-Amz-Signature"]);
/// assert!(!format!("{fields:?}").contains("s1g"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct UploadFields(Vec<(String, SecretString)>);

impl UploadFields {
    /// Fields from (name, value) pairs, in the order given.
    pub fn new<N: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (N, V)>) -> Self {
        UploadFields(
            fields
                .into_iter()
                .map(|(n, v)| (n.into(), SecretString::from(v.into())))
                .collect(),
        )
    }

    /// The field names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The fields with their values, in order. The values are credentials:
    /// take care where they go.
    pub fn expose(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.expose_secret()))
    }

    /// Whether a field of this name is present (names compare ignoring
    /// ASCII case, as form field names of storage hosts do).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for UploadFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, _)| (n, "<redacted>")))
            .finish()
    }
}

impl serde::Serialize for UploadFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value.expose_secret())?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for UploadFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UploadFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string fields")
            }
            // A JSON object's entries arrive in document order.
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<UploadFields, A::Error> {
                let mut fields = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some((name, value)) = access.next_entry::<String, String>()? {
                    fields.push((name, SecretString::from(value)));
                }
                Ok(UploadFields(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for UploadFields {
    fn schema_name() -> String {
        "UploadFields".into()
    }

    /// An object of secret strings (`format: password`), in order.
    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, ObjectValidation, Schema, SchemaObject};
        let value = crate::values::secret_value::secret_string_schema();
        SchemaObject {
            instance_type: Some(InstanceType::Object.into()),
            object: Some(Box::new(ObjectValidation {
                additional_properties: Some(Box::new(Schema::Object(value))),
                ..Default::default()
            })),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_received_and_hides_values() {
        // Neither sorted nor any hash order would give this sequence reliably.
        let json = r#"{"key":"k","X-Amz-Date":"d","Policy":"p0l1cy","x-amz-security-token":"t0k3n","A":"a"}"#;
        let fields: UploadFields = serde_json::from_str(json).unwrap();
        let names: Vec<_> = fields.names().collect();
        assert_eq!(
            names,
            ["key", "X-Amz-Date", "Policy", "x-amz-security-token", "A"]
        );
        assert_eq!(serde_json::to_string(&fields).unwrap(), json);
        let debug = format!("{fields:?}");
        assert!(
            !debug.contains("p0l1cy") && !debug.contains("t0k3n"),
            "{debug}"
        );
        assert!(debug.contains("Policy"));
        assert!(fields.contains("policy") && !fields.contains("file"));
    }

    #[test]
    fn values_must_be_strings() {
        assert!(serde_json::from_str::<UploadFields>(r#"{"a":1}"#).is_err());
    }
}
