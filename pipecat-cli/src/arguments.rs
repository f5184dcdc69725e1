//! Argument values several commands share.

use crate::failure::Failure;

/// A command-line argument holding a secret (an API key, a `KEY=VALUE`
/// pair, registry credentials): its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretArg(String);

impl SecretArg {
    /// The text, for sending.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretArg(***)")
    }
}

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretArg(s.to_string()))
    }
}

/// Splits `KEY=VALUE` arguments. A malformed one is named by position only:
/// it may be a secret typed in the wrong place.
pub fn key_values(args: &[String], what: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(Failure::Usage(format!(
                "{what} {} is not KEY=VALUE (no `=`)",
                i + 1
            )));
        };
        if key.is_empty() {
            return Err(Failure::Usage(format!(
                "{what} {}: the key is empty",
                i + 1
            )));
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(Failure::Usage(format!("{what}: key {key} is given twice")));
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}
