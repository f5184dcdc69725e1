//! [`UnknownValue`]: what an enum holds when the service sends a value this
//! version of the crate does not know.

/// A value of an enum that this version of the crate does not know, kept
/// exactly as the service sent it.
///
/// Every enum the service sends has an `Unknown(UnknownValue)` variant:
/// when Pipecat Cloud adds a build status or a secret-set type, answers
/// carrying it still decode, and the value is displayed and sent back
/// unchanged. Match on the variants you know and treat the rest as
/// "something new":
///
/// ```
/// use pipecat_api::types::BuildStatus;
///
/// let status: BuildStatus = serde_json::from_str(r#""queued""#)?;
/// assert_eq!(status.to_string(), "queued");
/// match status {
///     BuildStatus::Success => println!("built"),
///     BuildStatus::Failed | BuildStatus::Timeout => println!("failed"),
///     other => println!("still going: {other}"),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// There is no public constructor: a known value always decodes into its
/// own variant, so `Unknown` never stands for one. To send a value newer
/// than the crate, parse it (`"queued".parse::<BuildStatus>()`).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnknownValue(String);

impl UnknownValue {
    /// Only the generated `FromStr` impls make one, after every known value
    /// failed to match.
    pub(crate) fn new(value: &str) -> Self {
        Self(value.to_string())
    }

    /// The value as the service sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for UnknownValue {
    fn schema_name() -> String {
        "UnknownValue".into()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <String as schemars::JsonSchema>::json_schema(generator)
    }
}

/// The JSON Schema of an open enum: any string, the known values listed.
#[cfg(feature = "schemars")]
pub(crate) fn open_enum_schema(known: &[&str], description: &str) -> schemars::schema::Schema {
    use schemars::schema::{InstanceType, Metadata, Schema, SchemaObject, SubschemaValidation};
    let string = |values: Option<Vec<serde_json::Value>>| {
        Schema::Object(SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            enum_values: values,
            ..Default::default()
        })
    };
    let known = known.iter().map(|v| serde_json::Value::from(*v)).collect();
    SchemaObject {
        metadata: (!description.is_empty()).then(|| {
            Box::new(Metadata {
                description: Some(description.to_string()),
                ..Default::default()
            })
        }),
        subschemas: Some(Box::new(SubschemaValidation {
            // A known value, or any other string (a value newer than this crate).
            any_of: Some(vec![string(Some(known)), string(None)]),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

#[cfg(test)]
mod tests {
    use crate::types::{BuildStatus, SecretSetStatus};

    #[test]
    fn an_unseen_value_decodes_and_goes_back_unchanged() -> Result<(), serde_json::Error> {
        let status: BuildStatus = serde_json::from_str(r#""queued""#)?;
        assert!(matches!(&status, BuildStatus::Unknown(v) if v.as_str() == "queued"));
        assert_eq!(status.to_string(), "queued");
        assert_eq!(serde_json::to_string(&status)?, r#""queued""#);
        assert_eq!("queued".parse::<BuildStatus>().ok(), Some(status));
        Ok(())
    }

    #[test]
    fn known_values_keep_their_variants() -> Result<(), serde_json::Error> {
        let status: SecretSetStatus = serde_json::from_str(r#""ready""#)?;
        assert_eq!(status, SecretSetStatus::Ready);
        assert_eq!(
            "ready".parse::<SecretSetStatus>().ok(),
            Some(SecretSetStatus::Ready)
        );
        Ok(())
    }
}
