//! Reading a `.env` file into secrets: ordered `(key, value)` pairs, checked
//! against the API's rules, for [`UpsertSecretSetBody::secrets`].
//!
//! ```
//! use pipecat_api::dotenv::parse_env;
//!
//! let text = "# keys for the bot\nexport OPENAI_API_KEY=sk-123\nGREETING=\"Hello, world\" # shown first\n";
//! let secrets = parse_env(text, ".env")?;
//! assert_eq!(secrets[0].0, "OPENAI_API_KEY");
//! assert_eq!(secrets[1].1.expose_secret(), "Hello, world");
//! let body = pipecat_api::types::UpsertSecretSetBody::secrets(
//!     secrets.iter().map(|(k, v)| (k, v.expose_secret())),
//! )?;
//! # Ok::<(), pipecat_api::Error>(())
//! ```
//!
//! The syntax is dotenv's as people write it, parsed by the `dotenvy` crate:
//! blank lines and `#` comments; an optional `export ` prefix; `KEY=value`
//! with spaces around `=` allowed and `=` allowed inside the value; a `#`
//! after whitespace ends an unquoted value; `'single quotes'` take
//! everything literally; `"double quotes"` take `\n`, `\"`, `\\`, `\$` and
//! `\ ` escapes and may span lines; a `\` escapes the same characters in an
//! unquoted value. Keys are letters, digits and `_` (not starting with a
//! digit) — dotenv's rule, stricter than the API's, so a key with `-` cannot
//! be written in a `.env` file. A quote inside an unquoted value opens a
//! quoted part (`dotenvy`'s rule), so write `A="it's"`, not `A=it's`; an
//! unclosed quote is reported at the line where it opens.
//!
//! **No variable substitution.** Other dotenv readers replace `$NAME` and
//! `${NAME}` with a variable of the process environment or of the file; here
//! that would copy whatever the reading process holds into a secret set, so a
//! `$` that would start a substitution (unquoted or in double quotes, not
//! escaped) is an error. Write `\$` or single-quote the value for a literal
//! `$`. Nothing here sets the process environment or reads a variable from
//! it. (The one lookup left is `dotenvy`'s own, of the empty name at the end
//! of each value, which finds nothing.)
//!
//! Every problem is reported, with the file, the line (where the entry
//! starts) and the rule — a key that breaks the API's key rule, an empty
//! value, a key given twice, a syntax error — and never a value. Nothing is
//! returned when any line is bad.
//!
//! [`UpsertSecretSetBody::secrets`]: crate::types::UpsertSecretSetBody::secrets

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use crate::patterns::secret_key;
use crate::{Error, SecretValue};

/// Reads a `.env` file into ordered `(key, value)` pairs; see the [module
/// docs](self) for the syntax and the rules. Errors name the file and line.
pub fn read_env_file(path: impl AsRef<Path>) -> Result<Vec<(String, SecretValue)>, Error> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| refused(vec![format!("{origin}: cannot read the file: {e}")]))?;
    parse_env(&text, &origin)
}

/// Parses `.env` text into ordered `(key, value)` pairs; `origin` names where
/// the text came from (a file name) in error messages.
///
/// ```
/// let err = pipecat_api::dotenv::parse_env("A=1\nB=\nA=2\n", "prod.env").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "request not sent: prod.env:2: B: empty value (the API takes no empty secret); \
///      prod.env:3: A: given twice (first on line 1)"
/// );
/// ```
pub fn parse_env(text: &str, origin: &str) -> Result<Vec<(String, SecretValue)>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `dotenvy` substitutes `$NAME` from the process environment and cannot
    // be told not to. So it never sees a `$`: each becomes `\` and a
    // placeholder character the text does not hold. Where the `$` was
    // literal (escaped, or in single quotes) the pair comes out as `\` and
    // the placeholder, which turns back into `$`; where it would have
    // started a substitution, `\` + placeholder is an invalid escape, so the
    // line fails to parse and is reported.
    let Some(placeholder) = (0xE000..=0xF8FF)
        .filter_map(char::from_u32)
        .find(|c| !text.contains(*c))
    else {
        return Err(refused(vec![format!(
            "{origin}: holds every private-use character; cannot be read"
        )]));
    };
    let escaped_placeholder: String = ['\\', placeholder].iter().collect();
    let mut guarded = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '$' {
            guarded.push_str(&escaped_placeholder);
        } else {
            guarded.push(c);
        }
    }
    // dotenvy refuses a last line ending in a space when no newline follows.
    if !guarded.ends_with('\n') {
        guarded.push('\n');
    }

    let consumed = Rc::new(Cell::new(0));
    let reader = LineByLine {
        rest: guarded.as_bytes(),
        consumed: Rc::clone(&consumed),
    };
    let mut pairs = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    let mut start = 0;
    for item in dotenvy::from_read_iter(reader) {
        let end = consumed.get();
        let entry = guarded.get(start..end).unwrap_or_default();
        let line = entry_line(&guarded, start, end);
        start = end;
        let (key, value) = match item {
            Ok(pair) => pair,
            // The error holds the line's text, values included: never shown.
            Err(_) => {
                let entry = entry.replace(&escaped_placeholder, "$");
                problems.push(format!("{origin}:{line}: {}", syntax_problem(&entry)));
                continue;
            }
        };
        let mut fail = |rule: String| problems.push(format!("{origin}:{line}: {key}: {rule}"));
        if !secret_key(&key) {
            fail("a secret key is 1-64 letters, digits, `_` and `-`".into());
        }
        if let Some(first) = first_line.get(&key) {
            fail(format!("given twice (first on line {first})"));
        } else {
            first_line.insert(key.clone(), line);
        }
        let value = value.replace(&escaped_placeholder, "$");
        if value.contains(placeholder) {
            // Cannot happen (see above); refused rather than sent garbled.
            fail("`$` would substitute a variable: write `\\$` or single-quote the value".into());
            continue;
        }
        match SecretValue::new(value) {
            Ok(value) => pairs.push((key, value)),
            Err(_) => fail("empty value (the API takes no empty secret)".into()),
        }
    }

    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(refused(problems))
    }
}

/// The one way this module makes an error.
fn refused(problems: Vec<String>) -> Error {
    Error::InvalidRequest {
        message: problems.join("; "),
    }
}

/// Why an entry (its text, `$` restored) failed to parse, without its text.
fn syntax_problem(entry: &str) -> &'static str {
    if entry.contains('$') {
        // Parsed again with each `$` as a plain placeholder (no substitution
        // possible): if that works, the `$` was the only problem.
        let plain = entry.replace('$', "\u{E000}");
        if dotenvy::from_read_iter(plain.as_bytes()).all(|item| item.is_ok()) {
            return "`$` would substitute a variable, which is not supported here \
                    (the process environment must not leak into secrets): \
                    write `\\$` or single-quote the value";
        }
    }
    "syntax error: expected `KEY=value` or `export KEY=value`, with a key of \
     letters, digits and `_` (not starting with a digit) and the value quoted \
     if it holds spaces; check for an unclosed quote"
}

/// The 1-based line where the entry in `text[start..end]` begins: the first
/// line that is neither blank nor a comment (those are skipped before it).
fn entry_line(text: &str, start: usize, end: usize) -> usize {
    let line_of = |offset: usize| {
        text.as_bytes()[..offset.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let mut offset = start;
    for physical in text
        .get(start..end)
        .unwrap_or_default()
        .split_inclusive('\n')
    {
        let trimmed = physical.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            return line_of(offset);
        }
        offset += physical.len();
    }
    line_of(end.saturating_sub(1))
}

/// Hands out at most one line per `read`, so that `dotenvy`'s buffered
/// reader holds nothing beyond the entry it returns, and counts the bytes
/// handed out: after each entry, `consumed` is where that entry ends.
struct LineByLine<'a> {
    rest: &'a [u8],
    consumed: Rc<Cell<usize>>,
}

impl Read for LineByLine<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let line = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.rest.len(), |i| i + 1);
        let n = line.min(buf.len());
        let (head, tail) = self.rest.split_at(n);
        buf[..n].copy_from_slice(head);
        self.rest = tail;
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SENTINEL: &str = "s3ntinel-VALUE-9f2c";

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_env(text, ".env")
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.expose_secret().to_owned()))
            .collect()
    }

    fn one(text: &str) -> String {
        let mut all = pairs(text);
        assert_eq!(all.len(), 1, "{text:?}");
        all.remove(0).1
    }

    /// The error's message; asserts the sentinel shows neither there nor in
    /// `Debug`.
    fn error(text: &str) -> String {
        let err = parse_env(text, "secrets.env").unwrap_err();
        let message = err.to_string();
        assert!(!message.contains(SENTINEL), "value leaked: {message}");
        assert!(
            !format!("{err:?}").contains(SENTINEL),
            "value leaked in Debug"
        );
        message
    }

    #[test]
    fn comments_blank_lines_and_order() {
        let text = "# leading comment\n\nB=2\n   # indented comment\n\nA=1\nC=3\n";
        assert_eq!(
            pairs(text),
            [("B", "2"), ("A", "1"), ("C", "3")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(pairs("# nothing\n\n").is_empty());
        assert!(pairs("").is_empty());
    }

    #[test]
    fn export_prefix_and_spaces_around_equals() {
        assert_eq!(one("export KEY=v\n"), "v");
        assert_eq!(one("KEY = v\n"), "v");
        assert_eq!(one("  KEY=v  \n"), "v");
        assert_eq!(pairs("export A=1\nexport   B=2")[1].0, "B");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(one("KEY='a b # c \\n $HOME'\n"), "a b # c \\n $HOME");
        assert_eq!(one("KEY=\"a b # c\"\n"), "a b # c");
        assert_eq!(
            one(r#"KEY="say \"hi\"\nnext \\ \$5""#),
            "say \"hi\"\nnext \\ $5"
        );
        assert_eq!(one(r"KEY=a\ b\$c"), "a b$c");
        assert_eq!(one("KEY=\"it's\"\n"), "it's");
        assert_eq!(one("KEY='say \"hi\"'\n"), "say \"hi\"");
        assert_eq!(one(r"KEY='back\slash\$'"), r"back\slash\$");
    }

    #[test]
    fn equals_inside_values_and_inline_comments() {
        assert_eq!(
            one("URL=postgres://u@h/db?sslmode=require&a=b\n"),
            "postgres://u@h/db?sslmode=require&a=b"
        );
        assert_eq!(one("TOKEN=abc==\n"), "abc==");
        assert_eq!(one("KEY=value # a comment\n"), "value");
        assert_eq!(one("KEY=value\t# a comment\n"), "value");
        assert_eq!(one("KEY=val#ue\n"), "val#ue");
        assert_eq!(one("KEY=\"quoted\" # a comment\n"), "quoted");
    }

    #[test]
    fn multi_line_values_and_line_numbers_after_them() {
        let text = "A=1\nCERT=\"-----BEGIN-----\nline two\n-----END-----\"\nB=\n";
        let all = parse_env("A=1\nCERT=\"x\ny\"\nB=2\n", ".env").unwrap();
        assert_eq!(all[1].1.expose_secret(), "x\ny");
        assert_eq!(all[2].0, "B");
        assert_eq!(
            error(text),
            "request not sent: secrets.env:5: B: empty value (the API takes no empty secret)"
        );
    }

    #[test]
    fn crlf_and_bom_and_no_final_newline() {
        assert_eq!(
            pairs("\u{feff}A=1\r\nB=2\r\n")[1],
            ("B".to_owned(), "2".to_owned())
        );
        assert_eq!(one("A=1 "), "1");
        assert_eq!(one("A=1"), "1");
    }

    #[test]
    fn dollar_is_literal_only_when_escaped_or_single_quoted() {
        // $PATH is set in any test run: it must never come out.
        for text in [
            "KEY=$PATH\n",
            "KEY=\"${PATH}\"\n",
            "KEY=a$\n",
            "A=1\nKEY=$A\n",
        ] {
            let e = error(text);
            assert!(
                e.contains(": `$` would substitute a variable"),
                "{text:?}: {e}"
            );
        }
        assert_eq!(one("KEY='$PATH'\n"), "$PATH");
        assert_eq!(one("KEY=\\$PATH\n"), "$PATH");
        assert_eq!(one("KEY=\"\\${PATH}\"\n"), "${PATH}");
        let e = error("A=1\n\n# $comment\nKEY=x$PATH\n");
        assert!(e.starts_with("request not sent: secrets.env:4: `$`"), "{e}");
        assert_eq!(one("KEY=1 # costs $5\n"), "1");
    }

    #[test]
    fn every_error_names_file_and_line_but_never_the_value() {
        let cases: [(String, &str); 8] = [
            (
                format!("A=1\nBAD.KEY={SENTINEL}\n"),
                "secrets.env:2: BAD.KEY: a secret key is",
            ),
            (
                format!("{}={SENTINEL}\n", "K".repeat(65)),
                "secrets.env:1: KKKK",
            ),
            (
                "A=1\n\nEMPTY=\n".into(),
                "secrets.env:3: EMPTY: empty value",
            ),
            ("EMPTY=''\n".into(), "secrets.env:1: EMPTY: empty value"),
            (
                format!("A={SENTINEL}\n# c\nA={SENTINEL}x\n"),
                "secrets.env:3: A: given twice (first on line 1)",
            ),
            (
                format!("A=1\nKEY={SENTINEL} and more\n"),
                "secrets.env:2: syntax error",
            ),
            (format!("A=1\n{SENTINEL}\n"), "secrets.env:2: syntax error"),
            (
                format!("A=1\n\nKEY=\"{SENTINEL}\nB=2\n"),
                "secrets.env:3: syntax error",
            ),
        ];
        for (text, expected) in cases {
            let e = error(&text);
            assert!(e.contains(expected), "{text:?}: {e}");
        }
        let e = error(&format!("MY-KEY={SENTINEL}\n"));
        assert!(e.contains("secrets.env:1: syntax error"), "{e}");
        let e = error(&format!("A={SENTINEL}$HOME\n"));
        assert!(e.contains("secrets.env:1: `$` would substitute"), "{e}");
    }

    #[test]
    fn a_quote_inside_an_unquoted_value_opens_a_quoted_part() {
        let e = error(&format!("A=1\nB=it's {SENTINEL}\nC=2\n"));
        assert!(e.contains("secrets.env:2: syntax error"), "{e}");
        assert!(e.contains("unclosed quote"), "{e}");
        assert_eq!(one("B=\"it's\"\n"), "it's");
    }

    #[test]
    fn all_problems_are_reported_and_nothing_returned() {
        let e = error(&format!("A=\nB={SENTINEL} x\nC={SENTINEL}\nC={SENTINEL}\n"));
        assert!(e.contains("secrets.env:1: A: empty value"), "{e}");
        assert!(e.contains("; secrets.env:2: syntax error"), "{e}");
        assert!(
            e.contains("; secrets.env:4: C: given twice (first on line 3)"),
            "{e}"
        );
    }

    #[test]
    fn values_never_show_in_debug() {
        let all = parse_env(&format!("A={SENTINEL}\n"), ".env").unwrap();
        assert!(!format!("{all:?}").contains(SENTINEL));
    }

    #[test]
    fn keys_at_the_limit() {
        let key = "K".repeat(64);
        assert_eq!(pairs(&format!("{key}=v\n"))[0].0, key);
        assert_eq!(pairs("_under_score1=v\n")[0].0, "_under_score1");
    }

    #[test]
    fn reads_a_file_and_names_it() {
        let dir = std::env::temp_dir().join(format!("pcc-dotenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bot.env");
        std::fs::write(&path, format!("A=1\nB=\nC={SENTINEL}\n")).unwrap();
        let e = read_env_file(&path).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{}:2: B: empty value", path.display())),
            "{e}"
        );
        assert!(!e.contains(SENTINEL));
        std::fs::write(&path, "A=1\n").unwrap();
        assert_eq!(read_env_file(&path).unwrap()[0].0, "A");
        let e = read_env_file(dir.join("missing.env"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.env: cannot read the file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
