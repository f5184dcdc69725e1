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

/// An agent name: 1-54 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit. (The published pattern wants two
/// characters at least; the documented rule does not.)
pub(crate) fn valid_agent_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=54).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// Whether `id` has the shape of a UUID (`8-4-4-4-12` hex digits).
pub(crate) fn looks_like_uuid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(looks_like_uuid("639f91d8-d511-4677-a83b-bd7564d5d92f"));
        assert!(looks_like_uuid("00000000-0000-4000-8000-00000000000A"));
        for bad in [
            "",
            "639f91d8d5114677a83bbd7564d5d92f",
            "639f91d8-d511-4677-a83b-bd7564d5d92",
            "639f91d8-d511-4677-a83b-bd7564d5d92g",
            "639f91d8-d511-4677-a83b_bd7564d5d92f",
        ] {
            assert!(!looks_like_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn agent_names() {
        for ok in [
            "a",
            "7",
            "ab",
            "my-agent",
            "a1",
            "9-9",
            "a--b",
            &"a".repeat(54),
        ] {
            assert!(valid_agent_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-",
            "-ab",
            "ab-",
            "My-agent",
            "my_agent",
            "my.agent",
            "my agent",
            "agént",
            &"a".repeat(55),
        ] {
            assert!(!valid_agent_name(bad), "{bad}");
        }
    }

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
