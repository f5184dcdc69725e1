//! What the official CLI (pipecatcloud 1.4, `secrets set --file`) stores for
//! a line, so that a line it reads differently can be pointed out.
//!
//! Its reading (facts from its `cli/commands/secrets.py`): the file is read
//! line by line (`\n`, `\r\n` and a lone `\r` end a line); each line is
//! stripped of whitespace; blank lines and lines starting with `#` are
//! skipped; the rest is split at the first `=`, key and value each stripped;
//! a value both starting and ending with `"` loses those two characters.
//! Nothing else: no `export`, no single quotes, no escapes, no comments after
//! a value, no values over several lines. Keys must match
//! `^[a-zA-Z0-9_-]+$` and be at most 64 characters.

use super::grammar::{Quote, Value, is_space};

/// Why the official CLI would treat this entry differently from us, or
/// `None` when it would store the same key and value. Never holds the value.
/// `text` is the entry as written (its binding's text), `key_form_unusual`
/// whether its key was written as `export KEY` or `'KEY'`.
pub(super) fn difference(
    text: &str,
    key_form_unusual: bool,
    key: &str,
    value: &Value<'_>,
) -> Option<String> {
    if text.contains('\n') {
        return Some(
            "the official CLI (`pipecatcloud secrets set --file`) reads each line on its own, \
             so it would not store this value, written over several lines"
                .into(),
        );
    }
    let line = text.trim_matches(is_space);
    let (their_key, their_value) = line.split_once('=')?;
    let their_value = their_value.trim_matches(is_space);
    let their_value = if their_value.starts_with('"') && their_value.ends_with('"') {
        their_value
            .get(1..their_value.len().saturating_sub(1))
            .unwrap_or_default()
    } else {
        their_value
    };
    if key_form_unusual || their_key.trim_matches(is_space) != key {
        return Some(
            "the official CLI (`pipecatcloud secrets set --file`) would refuse this key \
             as written: it takes neither `export` nor a quoted key"
                .into(),
        );
    }
    if their_value == value.text {
        return None;
    }
    let mut why = Vec::new();
    if value.quote == Quote::Single {
        why.push("keeps single quotes");
    }
    if value.comment {
        why.push("keeps a comment after the value");
    }
    if value.quote == Quote::Double && value.decoded {
        why.push("does not decode escapes such as `\\n` and `\\\"`");
    }
    if why.is_empty() {
        why.push("reads the value differently");
    }
    Some(format!(
        "the official CLI (`pipecatcloud secrets set --file`) would store a different \
         value for this line: it {}",
        why.join(" and ")
    ))
}
