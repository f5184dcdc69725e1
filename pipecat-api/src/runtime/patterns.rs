//! The spec's name patterns, checked without a regex engine.
//!
//! The generator replaces the regex match of a pattern listed in
//! `xtask/src/rewrite.rs` (`KNOWN_PATTERNS`) with a call to the function
//! here: a name is checked on every call, and a byte loop costs a fraction
//! of a backtracking match. A test checks each against the regex it stands
//! for.

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`: a DNS label (agent names).
pub(crate) fn dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => *first != b'-' && *last != b'-' && bytes.iter().all(inner),
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`:
/// DNS labels joined by `.` (secret set names).
pub(crate) fn dns_subdomain(value: &str) -> bool {
    value.split('.').all(dns_label)
}

/// `^[A-Za-z0-9_-]{1,64}$` (secret keys).
pub(crate) fn secret_key(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each function against the regex it replaces, on strings made of the
    /// characters that matter (and a few that do not), of every length
    /// around the limits.
    #[test]
    fn each_function_agrees_with_its_regex() {
        type Check = fn(&str) -> bool;
        let cases: [(&str, Check); 3] = [
            (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", dns_label),
            (
                r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                dns_subdomain,
            ),
            (r"^[A-Za-z0-9_-]{1,64}$", secret_key),
        ];
        let alphabet: Vec<char> = "az09-._AZ /é\n".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        for (pattern, check) in cases {
            let regex = regress::Regex::new(pattern).unwrap();
            for i in 0..20_000 {
                let len = if i % 10 == 0 {
                    rng.usize(60..70)
                } else {
                    rng.usize(0..8)
                };
                let value: String = (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect();
                assert_eq!(
                    check(&value),
                    regex.find(&value).is_some(),
                    "{pattern} on {value:?}"
                );
            }
            for value in [
                "",
                ".",
                "..",
                "a",
                "a.b",
                "a..b",
                "-",
                "a-",
                "-a",
                &"k".repeat(64),
                &"k".repeat(65),
            ] {
                assert_eq!(
                    check(value),
                    regex.find(value).is_some(),
                    "{pattern} on {value:?}"
                );
            }
        }
    }
}
