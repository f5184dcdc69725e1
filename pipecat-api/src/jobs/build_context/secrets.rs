//! Telling files that hold credentials: by name ([`SECRET_PATTERNS`]) and by
//! the shape of their first bytes ([`SecretContent`]).

use super::ignore::Glob;
use super::{SECRET_PATTERNS, SecretContent};

/// How much of a file's start is read to judge it by content: enough for
/// any key file's header, small enough that packing stays fast.
pub(super) const SNIFF_BYTES: usize = 8 * 1024;

/// The compiled [`SECRET_PATTERNS`].
pub(super) struct SecretNames {
    /// Each pattern, compiled, with how many path components it spans.
    patterns: Vec<(&'static str, Glob, usize)>,
}

impl SecretNames {
    pub(super) fn compile() -> Result<SecretNames, String> {
        let mut patterns = Vec::with_capacity(SECRET_PATTERNS.len());
        for pattern in SECRET_PATTERNS {
            let glob = Glob::compile(pattern).map_err(|why| format!("`{pattern}`: {why}"))?;
            patterns.push((*pattern, glob, pattern.split('/').count()));
        }
        Ok(SecretNames { patterns })
    }

    /// The first pattern matching the end of `rel` (its name, or for a
    /// pattern like `.aws/credentials` its last components); a name ending
    /// in `.pub` (a public key) never matches.
    pub(super) fn matching(&self, rel: &str) -> Option<&'static str> {
        if rel.ends_with(".pub") {
            return None;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        self.patterns.iter().find_map(|(pattern, glob, count)| {
            let start = parts.len().checked_sub(*count)?;
            let tail: Vec<char> = parts.get(start..)?.join("/").chars().collect();
            glob.matches(&tail).then_some(*pattern)
        })
    }
}

/// What `prefix` (the first [`SNIFF_BYTES`] of a file) shows it to hold, if
/// a credential. Only shapes that ordinary source does not have: a PEM or
/// PGP private-key boundary at the start of a line (RFC 7468), a JSON object
/// whose `"type"` is a Google credential, and an INI file (first line a
/// `[section]`) with an `aws_secret_access_key =` line.
pub(super) fn by_content(prefix: &[u8]) -> Option<SecretContent> {
    let text = String::from_utf8_lossy(prefix);
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            if rest.starts_with("PGP PRIVATE KEY BLOCK-----") {
                return Some(SecretContent::PgpPrivateKey);
            }
            if rest.starts_with("OPENSSH PRIVATE KEY-----") {
                return Some(SecretContent::OpenSshPrivateKey);
            }
            // `PRIVATE KEY`, `RSA PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, ...
            if let Some(label) = rest.split("-----").next()
                && label.ends_with("PRIVATE KEY")
                && rest.len() > label.len()
            {
                return Some(SecretContent::PemPrivateKey);
            }
        }
    }
    let start = text.trim_start();
    if start.starts_with('{') && google_credential(start) {
        return Some(SecretContent::GoogleCredentials);
    }
    if aws_credentials(&text) {
        return Some(SecretContent::AwsCredentials);
    }
    None
}

/// A `"type"` key whose value is one of Google's credential types, spaces
/// allowed around the colon.
fn google_credential(json: &str) -> bool {
    json.match_indices("\"type\"").any(|(at, key)| {
        let rest = json.get(at + key.len()..).unwrap_or("").trim_start();
        let Some(value) = rest.strip_prefix(':') else {
            return false;
        };
        let value = value.trim_start();
        ["\"service_account\"", "\"authorized_user\""]
            .iter()
            .any(|kind| value.starts_with(kind))
    })
}

/// The AWS shared credentials file: INI, its first meaningful line a
/// `[section]`, and a line setting `aws_secret_access_key`. (A line like
/// `aws_secret_access_key=os.environ[...]` in Python source does not count:
/// source does not start with a `[section]`.)
fn aws_credentials(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'));
    if !lines.next().is_some_and(|first| first.starts_with('[')) {
        return false;
    }
    lines.any(|line| {
        line.strip_prefix("aws_secret_access_key")
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}
