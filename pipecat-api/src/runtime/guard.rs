//! What may be sent: the request's target must be exactly what its
//! operation's template says, so that no parameter value can make a request
//! address another resource.

use crate::runtime::operation::Operation;

/// Checks that `path` addresses exactly what the operation's template says:
/// the same number of segments, the same literal segments, and no parameter
/// that is empty, `.` or `..` (URL parsing removes dot segments, so such a
/// value would silently address the parent resource, e.g. a whole secret set).
pub(crate) fn check_target(path: &str, base_path: &str, op: &Operation) -> Result<(), String> {
    let rest = path.strip_prefix(base_path).unwrap_or(path);
    // Walked in step over bytes, without collecting: this runs on every
    // call, and the paths are short.
    let mut template = op.path.as_bytes().split(|&b| b == b'/');
    let mut actual = rest.as_bytes().split(|&b| b == b'/');
    loop {
        match (template.next(), actual.next()) {
            (None, None) => return Ok(()),
            (Some(t), Some(a)) => match t.strip_prefix(b"{").and_then(|t| t.strip_suffix(b"}")) {
                Some(param) if a.is_empty() || matches!(a, b"." | b".." | b"%2e" | b"%2E") => {
                    return Err(format!(
                        "{}: must not be empty, `.` or `..`",
                        String::from_utf8_lossy(param)
                    ));
                }
                Some(_) => {}
                None if t != a => {
                    return Err(format!(
                        "{} would be sent to {rest}, not {}",
                        op.id, op.path
                    ));
                }
                None => {}
            },
            _ => {
                return Err(format!(
                    "a path parameter of {} is empty, `.` or `..`, which would address another resource ({} instead of {})",
                    op.id, rest, op.path
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::operations::DELETE_SECRET_FROM_SET as OP;

    #[test]
    fn exact_target_passes() {
        assert_eq!(check_target("/v1/secrets/my-set/KEY", "/v1", &OP), Ok(()));
    }

    #[test]
    fn a_vanished_segment_is_refused() {
        // What `..` or `.` in the key leaves after URL normalisation.
        let err = check_target("/v1/secrets/my-set", "/v1", &OP)
            .err()
            .unwrap_or_default();
        assert!(err.contains("deleteSecretFromSet"), "{err}");
        let err = check_target("/v1/secrets/my-set/", "/v1", &OP)
            .err()
            .unwrap_or_default();
        assert_eq!(err, "secretKey: must not be empty, `.` or `..`");
    }

    #[test]
    fn a_changed_literal_is_refused() {
        assert!(check_target("/v1/agents/my-set/KEY", "/v1", &OP).is_err());
    }
}
