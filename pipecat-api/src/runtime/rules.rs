//! Broken parameter rules in words.
//!
//! The generated setters report a value that breaks the spec as the parser
//! saw it: `set_name: doesn't match pattern "^[a-z0-9]…"` (typify) or
//! `session_id: invalid character: found `n` at 0` (uuid). Before such a
//! message becomes [`crate::Error::InvalidRequest`] it is rewritten here to
//! say the rule as the `pcc-deploy.toml` checks do, keeping the parameter's
//! name and never adding its value. A message this module does not know is
//! left as it is. The words of each pattern are in [`super::patterns::PATTERNS`].

/// What a UUID looks like, for messages.
const UUID_FORM: &str = "give a UUID: 32 hexadecimal digits in groups of 8-4-4-4-12 (e.g. `3f1c2a4e-9b7d-4c1e-8a2f-0123456789ab`)";

/// `message` (`name: what the parser said`, the name possibly a path such
/// as `body: secrets[1].secretKey`) with the rule in words.
pub(crate) fn in_words(message: String) -> String {
    for (at, _) in message.match_indices(": ") {
        let (name, detail) = (&message[..at], &message[at + 2..]);
        if let Some(rule) = pattern_rule(detail) {
            return format!("{name}: {rule}");
        }
        if let Some(found) = uuid_problem(detail) {
            return format!("{name}: {UUID_FORM}; {found}");
        }
    }
    message
}

/// The words for `doesn't match pattern "…"`, when the pattern is known.
fn pattern_rule(detail: &str) -> Option<String> {
    let quoted = detail.strip_prefix("doesn't match pattern ")?;
    let pattern = quoted.strip_prefix('"')?.strip_suffix('"')?;
    // typify writes the pattern with Rust's escapes (`\\.` for `\.`).
    let pattern = pattern.replace("\\\\", "\\");
    match super::patterns::words(&pattern) {
        Some(words) => Some(words.to_string()),
        None => Some(format!(
            "does not have the form the API expects ({pattern})"
        )),
    }
}

/// What was wrong with a value the uuid crate refused, in words; `None`
/// when `detail` is not one of its messages.
fn uuid_problem(detail: &str) -> Option<String> {
    if let Some(rest) = detail.strip_prefix("invalid character: found ") {
        // "`n` at 0": the character and a 0-based index.
        let (character, index) = rest.rsplit_once(" at ")?;
        let position = index.parse::<usize>().ok()?.saturating_add(1);
        return Some(format!(
            "character {position} is {character}, not a hexadecimal digit or `-`"
        ));
    }
    if let Some(rest) = detail.strip_prefix("invalid group count: expected 5, found ") {
        return Some(format!("it has {rest} `-`-separated groups, not 5"));
    }
    if let Some(rest) = detail.strip_prefix("invalid group length in group ") {
        // "2: expected 4, found 3" (groups counted from 0).
        let (group, lengths) = rest.split_once(": expected ")?;
        let (expected, found) = lengths.split_once(", found ")?;
        let group = group.parse::<usize>().ok()?.saturating_add(1);
        return Some(format!("group {group} has {found} digits, not {expected}"));
    }
    if let Some(found) = detail.strip_prefix("invalid length: found ") {
        return Some(format!("it is {found} characters long"));
    }
    if detail.starts_with("invalid length: expected") || detail == "failed to parse a UUID" {
        return Some("it is not one".into());
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The messages as the generated code makes them today: a typify
    /// pattern error and each uuid error, through the real parsers.
    #[test]
    fn parser_messages_become_rules_in_words() {
        let set: Result<crate::types::UpsertSecretSetSetName, _> = "Bad_Name!".parse();
        let raw = format!("set_name: {}", set.err().unwrap());
        assert!(raw.contains("doesn't match pattern"), "{raw}");
        let words = in_words(raw);
        assert!(
            words.starts_with("set_name: use lowercase letters"),
            "{words}"
        );
        assert!(
            !words.contains('^') && !words.contains("Bad_Name"),
            "{words}"
        );

        for (value, expect) in [
            ("nope", "character 1 is `n`"),
            ("3f1c2a4e-9b7d-4c1e-8a2f", "4 `-`-separated groups"),
            (
                "3f1c2a4e-9b7d-4c1e-8a2-0123456789ab",
                "group 4 has 3 digits, not 4",
            ),
            ("3f1c", "4 characters long"),
        ] {
            let raw = format!("session_id: {}", value.parse::<uuid::Uuid>().err().unwrap());
            let words = in_words(raw.clone());
            assert!(
                words.starts_with("session_id: give a UUID"),
                "{raw} -> {words}"
            );
            assert!(words.contains(expect), "{raw} -> {words}");
        }
    }

    #[test]
    fn a_nested_field_keeps_its_path() {
        let words = in_words(
            "body: secrets[1].secretKey: doesn't match pattern \"^[A-Za-z0-9_-]{1,64}$\"".into(),
        );
        assert_eq!(
            words,
            "body: secrets[1].secretKey: use 1 to 64 letters, digits, `_` or `-` (e.g. `OPENAI_API_KEY`)"
        );
    }

    #[test]
    fn unknown_messages_are_left_alone() {
        for m in ["plain", "x: must be at most 50 (got 99)", "k: other: text"] {
            assert_eq!(in_words(m.to_string()), m);
        }
    }
}
