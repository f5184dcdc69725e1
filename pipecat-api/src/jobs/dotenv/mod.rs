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
//! # Syntax: python-dotenv's
//!
//! Values are read as python-dotenv 1.2 (`dotenv_values`) reads them, the
//! convention of the Python ecosystem Pipecat bots live in:
//!
//! - **Lines.** `\n`, `\r\n` and a lone `\r` each end a line, and are read
//!   as `\n` (inside quoted values too), as Python reads a text file: a lone
//!   `\r` never joins two lines into one value. Blank lines and lines
//!   starting with `#` are skipped. A leading byte-order mark is dropped.
//! - **`export`.** `export KEY=value` is `KEY=value` (`export` and at least
//!   one space).
//! - **Keys.** Everything up to `=`, whitespace or `#` (or `'quoted'`); spaces
//!   around `=` are allowed. Then the API's rule applies (below).
//! - **Unquoted values** run to the end of the line, inner spaces and `=`
//!   included: `A=hello = world` is `hello = world`. A `#` after whitespace
//!   starts a comment (`A=1 # one` is `1`; `A=a#b` is `a#b`); trailing
//!   whitespace is dropped. Quotes and backslashes inside are kept as
//!   written (`A=it's` is `it's`).
//! - **Single quotes** take everything literally except `\\` (a backslash)
//!   and `\'` (a quote).
//! - **Double quotes** decode `\\`, `\'`, `\"`, `\a`, `\b`, `\f`, `\n`, `\r`,
//!   `\t` and `\v`; any other backslash stays.
//! - **Quoted values may span lines**; a comment may follow the closing
//!   quote. A quote left open makes its line an error (python-dotenv skips
//!   such a line; here the file is refused).
//!
//! # What the API and this library add
//!
//! - **Keys**: 1-64 letters, digits, `_` and `-`, the same rule as
//!   [`UpsertSecretSetBody::secrets`] and `secrets set KEY=VALUE` (so
//!   `MY-KEY=v` is fine and `MY.KEY=v` is not).
//! - **Every key has a non-empty value** (`KEY` alone, `KEY=` and `KEY=''`
//!   are refused: the API stores no empty secret), and appears once.
//! - **No variable substitution.** `$NAME` (unquoted or in double quotes)
//!   and `${NAME}` (anywhere, since python-dotenv expands it even in single
//!   quotes) are refused with their line: other readers would put a variable
//!   of the reading process's environment there, which must not leak into a
//!   secret set, and leaving the text as written would store something other
//!   than the author meant. Write `'$NAME'` (single quotes) for a literal
//!   `$NAME`; a literal `${` cannot come from a file (use `secrets set
//!   KEY=VALUE`). Any other `$` (`price$`, `$5`) is literal. Nothing here
//!   reads or sets the process environment.
//!
//! Every problem is reported (the first 20, then how many more), with the
//! file, the line (where the entry starts) and the rule, and never a value;
//! nothing is returned when any line is bad.
//!
//! # The official CLI
//!
//! The official CLI (`pipecatcloud secrets set --file`, 1.4) reads a file
//! more simply: no `export`, no single quotes, no escapes, no comment after a
//! value, one line per value; only a value in double quotes loses its
//! quotes. Where it would store a different value (or refuse the key) for an
//! entry, [`EnvFile::warnings`] names the line and key, never the value, so
//! a file shared between the two tools can be fixed.
//!
//! Parsing is linear in the size of the text: one forward scan, each line
//! counted once, and no quote searched for twice; a one-million-line file
//! takes under a second of CPU in a release build (`time_a_large_file`).
//!
//! [`UpsertSecretSetBody::secrets`]: crate::types::UpsertSecretSetBody::secrets

mod grammar;
mod official;

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;

use grammar::{Binding, Entry, Quote, Scanner, Syntax};

use crate::runtime::patterns::secret_key;
use crate::{Error, SecretValue};

/// A `.env` file read and checked: its secrets in order, and notes on
/// entries the official CLI would read differently.
#[derive(Debug)]
#[non_exhaustive]
pub struct EnvFile {
    /// The `(key, value)` pairs, in the file's order.
    pub secrets: Vec<(String, SecretValue)>,
    /// Entries the official CLI would store differently (or refuse).
    pub warnings: Vec<EnvWarning>,
}

/// An entry the official CLI (`pipecatcloud secrets set --file`) would read
/// differently. Names the file, line and key; never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvWarning {
    /// Where the text came from (a file name).
    pub origin: String,
    /// The 1-based line where the entry starts.
    pub line: usize,
    /// The entry's key.
    pub key: String,
    /// What the official CLI would do instead, in words.
    pub message: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.origin, self.line, self.key, self.message
        )
    }
}

/// The largest `.env` file read: far above any set of secrets.
const MAX_ENV_FILE_BYTES: u64 = 64 * 1024 * 1024;

impl EnvFile {
    /// Reads and checks the `.env` file at `path`; see the [module
    /// docs](self). Errors name the file and line.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        // A regular file only (a FIFO would hang the read), of bounded size.
        let bytes = crate::jobs::regular_file::read(path, MAX_ENV_FILE_BYTES)
            .map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::refused(vec![format!("{origin}: the file is not UTF-8 text")]))?;
        Self::parse(&text, &origin)
    }

    /// Parses and checks `.env` text; `origin` names where it came from (a
    /// file name) in errors and warnings.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Line ends as Python reads a text file (python-dotenv and the
        // official CLI both do): `\r\n` and a lone `\r` become `\n`.
        let text: Cow<'_, str> = if text.contains('\r') {
            Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
        } else {
            Cow::Borrowed(text)
        };
        let mut scanner = Scanner::new(&text);
        // At most one entry a line: sized once (bounded, for a file of
        // blank lines), not grown step by step, rehashing every key.
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        let mut secrets = Vec::with_capacity(lines.min(1 << 20));
        let mut warnings = Vec::new();
        let mut first_lines = FirstLines::with_capacity(lines.min(1 << 20));
        let mut problems = Vec::new();
        while let Some(Binding {
            line,
            text: written,
            entry,
        }) = scanner.next_binding()
        {
            let (key, key_form_unusual, value) = match entry {
                Entry::Comment => continue,
                Entry::Error(syntax) => {
                    problems.push(format!("{origin}:{line}: {}", syntax_problem(syntax)));
                    continue;
                }
                // A line without `=` may be a pasted value: not shown.
                Entry::Pair { value: None, .. } => {
                    problems.push(format!(
                        "{origin}:{line}: no `=`: each entry is `KEY=value`"
                    ));
                    continue;
                }
                Entry::Pair {
                    key,
                    key_form_unusual,
                    value: Some(value),
                } => (key, key_form_unusual, value),
            };
            let mut fail = |rule: &str| {
                let shown = shown_key(key);
                problems.push(format!("{origin}:{line}: {shown}: {rule}"));
            };
            if !secret_key(key) {
                fail("a secret key is 1-64 letters, digits, `_` and `-`");
                continue;
            }
            if let Some(first) = first_lines.first(key, line) {
                fail(&format!("given twice (first on line {first})"));
                continue;
            }
            if substitutes(&value.text, value.quote) {
                fail(
                    "`$NAME` or `${NAME}` would substitute a variable in other dotenv \
                     readers, and variables are not expanded here: write '$NAME' in \
                     single quotes for a literal `$NAME` (a literal `${` cannot come \
                     from a file)",
                );
                continue;
            }
            if value.text.is_empty() {
                fail("empty value (the API takes no empty secret)");
                continue;
            }
            if let Some(message) = official::difference(written, key_form_unusual, key, &value) {
                warnings.push(EnvWarning {
                    origin: origin.to_owned(),
                    line,
                    key: key.to_owned(),
                    message,
                });
            }
            // The value's one copy (none when an escape already made one).
            let Ok(secret) = SecretValue::new(value.text) else {
                fail("empty value (the API takes no empty secret)");
                continue;
            };
            secrets.push((key.to_owned(), secret));
        }
        if problems.is_empty() {
            Ok(EnvFile { secrets, warnings })
        } else {
            Err(Error::refused(problems))
        }
    }
}

/// Each key's first line, for "given twice": the keys in file order, and a
/// hash table of positions in that list. A slot is one `usize`, not a
/// `(&str, usize)`, so a large file's table is a third of the memory its
/// random accesses miss the cache in (those misses were most of the time).
struct FirstLines<'a> {
    seen: Vec<(&'a str, usize)>,
    index: hashbrown::HashTable<usize>,
    /// SipHash with a random key, as `HashMap`'s: a file cannot be written
    /// to make its keys collide.
    hasher: RandomState,
}

impl<'a> FirstLines<'a> {
    fn with_capacity(n: usize) -> Self {
        FirstLines {
            seen: Vec::with_capacity(n),
            index: hashbrown::HashTable::with_capacity(n),
            hasher: RandomState::new(),
        }
    }

    /// The line `key` was first seen on, or `None` (and `line` noted) when
    /// this is the first time.
    fn first(&mut self, key: &'a str, line: usize) -> Option<usize> {
        let FirstLines {
            seen,
            index,
            hasher,
        } = self;
        let key_at = |i: &usize| seen.get(*i).map_or("", |(k, _)| *k);
        match index.entry(
            hasher.hash_one(key),
            |i| key_at(i) == key,
            |i| hasher.hash_one(key_at(i)),
        ) {
            hashbrown::hash_table::Entry::Occupied(at) => seen.get(*at.get()).map(|(_, l)| *l),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(seen.len());
                seen.push((key, line));
                None
            }
        }
    }
}

/// Reads a `.env` file into ordered `(key, value)` pairs; see the [module
/// docs](self) for the syntax and the rules. Errors name the file and line.
/// [`EnvFile::read`] also gives the warnings.
pub fn read_env_file(path: impl AsRef<Path>) -> Result<Vec<(String, SecretValue)>, Error> {
    EnvFile::read(path).map(|file| file.secrets)
}

/// Parses `.env` text into ordered `(key, value)` pairs; `origin` names where
/// the text came from (a file name) in error messages. [`EnvFile::parse`]
/// also gives the warnings.
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
    EnvFile::parse(text, origin).map(|file| file.secrets)
}

/// A key as shown in an error: as written when it is short printable ASCII
/// without spaces, else not at all (it may be a pasted value, or hold
/// control characters meant for a terminal).
fn shown_key(key: &str) -> &str {
    if key.len() <= 100 && key.bytes().all(|b| b.is_ascii_graphic()) {
        key
    } else {
        "the key (not shown: it holds spaces, non-ASCII or control characters)"
    }
}

/// Whether a value holds what another reader would substitute: `${` in any
/// value (python-dotenv expands `${NAME}` even in single quotes), `$NAME`
/// outside single quotes.
fn substitutes(value: &str, quote: Quote) -> bool {
    // Most values hold no `$`: one fast search, then one pass.
    value.contains('$')
        && value.as_bytes().windows(2).any(|w| match w {
            [b'$', b'{'] => true,
            [b'$', c] => quote != Quote::Single && (c.is_ascii_alphabetic() || *c == b'_'),
            _ => false,
        })
}

/// The rule a line broke, in words, without its text.
fn syntax_problem(syntax: Syntax) -> String {
    match syntax {
        Syntax::NoKey => "no key: each entry is `KEY=value` or `export KEY=value`".into(),
        Syntax::UnclosedKey => "a quoted key's `'` is not closed".into(),
        Syntax::UnclosedQuote(q) => format!(
            "the value's opening `{q}` is not closed (a quote inside a value \
             that starts with one ends it early; escape it as `\\{q}`)"
        ),
        Syntax::TrailingText => "unexpected text after the key or the closing quote \
             (a key has no spaces; a comment after a value starts with ` #`)"
            .into(),
    }
}

#[cfg(test)]
mod tests;
