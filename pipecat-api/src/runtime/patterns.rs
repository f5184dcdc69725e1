//! The spec's regex patterns, in one table: each with its rule in words
//! (for [`rules`](super::rules)' messages) and, for the names checked on
//! every call, a hand-written check.
//!
//! The generator (`xtask/src/rewrite.rs`) reads [`PATTERNS`] from this file
//! and replaces the regex match of each pattern that has a `check` with a
//! call to it: a byte loop costs a fraction of a backtracking match. A test
//! checks each function against the regex it stands for.

/// A pattern the spec gives a string parameter.
pub(crate) struct Pattern {
    /// The regex, as the spec writes it.
    pub(crate) regex: &'static str,
    /// The rule, in words, for a message that names the parameter.
    pub(crate) words: &'static str,
    /// The function the generated code calls instead of the regex (`None`:
    /// it keeps the regex). Written as `Some(name)`: the generator reads
    /// the name from this file.
    // Read by the generator (from this file's text) and by the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) check: Option<fn(&str) -> bool>,
}

/// Every pattern of the spec this crate knows.
pub(crate) const PATTERNS: &[Pattern] = &[
    Pattern {
        regex: r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        words: "use lowercase letters a-z, digits and `-`, starting and ending with a letter or digit (e.g. `my-agent`)",
        check: Some(dns_label),
    },
    Pattern {
        regex: r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        words: "use lowercase letters a-z, digits, `-` and `.`, each part between dots starting and ending with a letter or digit (e.g. `my-secrets`)",
        check: Some(dns_subdomain),
    },
    Pattern {
        regex: r"^[A-Za-z0-9_-]{1,64}$",
        words: "use 1 to 64 letters, digits, `_` or `-` (e.g. `OPENAI_API_KEY`)",
        check: Some(secret_key),
    },
    Pattern {
        regex: r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$",
        words: "give a number with an optional unit: m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei (e.g. `500m`, `1.5`, `2Gi`)",
        check: None,
    },
];

/// The words of a pattern written as the spec writes it, if known.
pub(crate) fn words(regex: &str) -> Option<&'static str> {
    PATTERNS.iter().find(|p| p.regex == regex).map(|p| p.words)
}

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
        let cases: Vec<(&str, Check)> = PATTERNS
            .iter()
            .filter_map(|p| Some((p.regex, p.check?)))
            .collect();
        assert_eq!(cases.len(), 3, "dns_label, dns_subdomain, secret_key");
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

    /// Every pattern the generated code checks by regex has its words here
    /// (so no message falls back to showing the regex).
    #[test]
    fn every_pattern_of_the_generated_code_is_in_the_table() {
        let generated = include_str!("../generated.rs");
        let mut regexes = 0;
        for (at, _) in generated.match_indices("::regress::Regex::new(") {
            let rest = &generated[at..];
            let literal = rest.split('"').nth(1).unwrap();
            // A Rust string literal: `\\` is one backslash.
            let regex = literal.replace("\\\\", "\\");
            assert!(words(&regex).is_some(), "no words for {regex}");
            regexes += 1;
        }
        // The patterns with a check are called by name (the generator read
        // them from the table); the names must exist for the crate to build.
        let calls = generated.matches("crate::runtime::patterns::").count();
        assert!(regexes > 0 && calls > 0, "{regexes} regexes, {calls} calls");
    }
}
