//! The naming rules the service enforces.

/// A secret set name: 3-63 characters, DNS-subdomain style: labels of
/// lowercase letters, digits and `-`, each starting and ending with a letter
/// or digit, joined by `.`.
pub(crate) fn valid_set_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes.first() != Some(&b'-')
                && bytes.last() != Some(&b'-')
        })
}

/// A secret key: 1-64 letters, digits, `_` or `-`.
pub(crate) fn valid_secret_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names() {
        for ok in ["abc", "my-secrets", "a.b-c.d9", &"a".repeat(63)] {
            assert!(valid_set_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "ABC",
            "a..b",
            ".abc",
            "my_set",
            "..",
            &"a".repeat(64),
        ] {
            assert!(!valid_set_name(bad), "{bad}");
        }
    }

    #[test]
    fn secret_keys() {
        for ok in ["A", "API_KEY", "x-1", &"k".repeat(64)] {
            assert!(valid_secret_key(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", &"k".repeat(65)] {
            assert!(!valid_secret_key(bad), "{bad}");
        }
    }
}
