//! python-dotenv's grammar (its `parser.py`, 1.2), as a single forward scan.
//!
//! Each call to [`Scanner::next`] reads one binding the way python-dotenv's
//! `parse_binding` does: the same characters count as whitespace, the same
//! quote and escape rules, the same recovery after a bad line (skip to the
//! end of the physical line). Nothing is checked against the API here; that
//! is the parent module's job.
//!
//! The text has `\n` line ends only: the parent module turns `\r\n` and a
//! lone `\r` into `\n` first, as Python reads a text file.
//!
//! Linear time: every byte is passed a bounded number of times. The one
//! place python-dotenv rescans is an unclosed quote (its regex looks to the
//! end of the text for each one); here the search for a closing quote is
//! cached, so a file of unclosed quotes costs no more than one scan.

use std::borrow::Cow;

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quote {
    /// `KEY=value`
    None,
    /// `KEY='value'`
    Single,
    /// `KEY="value"`
    Double,
}

/// A value as python-dotenv reads it, with how it was written.
pub(super) struct Value<'a> {
    /// The value, escapes decoded and (unquoted) a trailing comment cut:
    /// borrowed from the text unless an escape changed it.
    pub text: Cow<'a, str>,
    /// How it was quoted.
    pub quote: Quote,
    /// A quoted value whose escapes changed it (`\n`, `\"`, …).
    pub decoded: bool,
    /// A comment followed the value on its line (cut, or after the quote).
    pub comment: bool,
}

/// Why python-dotenv could not read a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Syntax {
    /// Nothing usable as a key (the line starts with `=`, or `export` ends it).
    NoKey,
    /// A `'quoted key'` is not closed (or is empty).
    UnclosedKey,
    /// A quoted value's quote (this character) is not closed.
    UnclosedQuote(char),
    /// Text follows the value or the key where only a comment or the end of
    /// the line may.
    TrailingText,
}

/// What one binding holds.
pub(super) enum Entry<'a> {
    /// A key, and its value if it had `=`.
    Pair {
        /// The key as written (without quotes, if quoted).
        key: &'a str,
        /// Written as `export KEY…` or `'KEY'`, which the official CLI does not read.
        key_form_unusual: bool,
        /// The value, or `None` for a line with a key and no `=`.
        value: Option<Value<'a>>,
    },
    /// A comment line (the blank lines before it belong to it).
    Comment,
    /// A line python-dotenv skips as invalid.
    Error(Syntax),
}

/// One binding: what it holds and where it is.
pub(super) struct Binding<'a> {
    /// The 1-based line of its first character that is not whitespace.
    pub line: usize,
    /// Its text, from that character to its line break (excluded).
    pub text: &'a str,
    /// What it holds.
    pub entry: Entry<'a>,
}

/// Python's `\s` (and `str.isspace`): Unicode whitespace plus the ASCII
/// separators U+001C..U+001F, which Rust's `char::is_whitespace` leaves out.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `[^\S\r\n]`: whitespace within a line.
fn is_inline_space(c: char) -> bool {
    c != '\n' && is_space(c)
}

/// A cached answer to "the first index `k >= from` where the predicate
/// holds": later questions from further on reuse it while it still applies,
/// so the scans never overlap.
struct Seek {
    from: usize,
    found: Option<usize>,
}

impl Seek {
    const EMPTY: Seek = Seek {
        from: usize::MAX,
        found: None,
    };

    fn first(
        &mut self,
        bytes: &[u8],
        from: usize,
        pred: impl Fn(&[u8], usize) -> bool,
    ) -> Option<usize> {
        if self.from <= from && self.found.is_none_or(|k| k >= from) {
            return self.found;
        }
        let found = (from..bytes.len()).find(|&k| pred(bytes, k));
        *self = Seek { from, found };
        found
    }
}

/// Reads bindings from `.env` text, in order.
pub(super) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    /// The line of `line_pos` (1-based); both only move forward.
    line: usize,
    line_pos: usize,
    /// The next `'` (a quoted key's end).
    next_single: Seek,
    /// The next closing `'` / `"` of a value: one not right after a `\`.
    bare_single: Seek,
    bare_double: Seek,
    /// The last `\'` / `\"` in the text, where an unclosed quoted value
    /// closes instead (python-dotenv's regex backtracks to it).
    last_escaped_single: Option<usize>,
    last_escaped_double: Option<usize>,
}

/// The last index `k` with `bytes[k] == quote` right after a `\`.
fn last_escaped(bytes: &[u8], quote: u8) -> Option<usize> {
    (1..bytes.len())
        .rev()
        .find(|&k| bytes.get(k) == Some(&quote) && bytes.get(k - 1) == Some(&b'\\'))
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        Scanner {
            text,
            pos: 0,
            line: 1,
            line_pos: 0,
            next_single: Seek::EMPTY,
            bare_single: Seek::EMPTY,
            bare_double: Seek::EMPTY,
            last_escaped_single: last_escaped(bytes, b'\''),
            last_escaped_double: last_escaped(bytes, b'"'),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    /// Moves to the end of the line (its `\n`, or the end of the text).
    fn skip_to_line_end(&mut self) {
        let rest = self.rest();
        self.pos += rest.find('\n').unwrap_or(rest.len());
    }

    /// Moves past the characters matching `pred`.
    fn skip_while(&mut self, pred: impl Fn(char) -> bool) {
        let rest = self.rest();
        let n = rest.find(|c: char| !pred(c)).unwrap_or(rest.len());
        self.pos += n;
    }

    /// The line of byte `pos` (not before the last one asked about).
    fn line_at(&mut self, pos: usize) -> usize {
        let passed = self
            .text
            .as_bytes()
            .get(self.line_pos..pos)
            .unwrap_or_default();
        self.line += passed.iter().filter(|&&b| b == b'\n').count();
        self.line_pos = self.line_pos.max(pos);
        self.line
    }

    /// The next binding, or `None` at the end of the text.
    pub(super) fn next_binding(&mut self) -> Option<Binding<'a>> {
        self.skip_while(is_space);
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let line = self.line_at(start);
        let entry = match self.binding() {
            Ok(entry) => entry,
            Err(syntax) => {
                // python-dotenv's `_rest_of_line`: up to and including the
                // line break.
                self.skip_to_line_end();
                if self.peek() == Some('\n') {
                    self.pos += 1;
                }
                Entry::Error(syntax)
            }
        };
        let text = self
            .text
            .get(start..self.pos)
            .unwrap_or_default()
            .trim_end_matches('\n');
        Some(Binding { line, text, entry })
    }

    /// One binding from the current position (not whitespace).
    fn binding(&mut self) -> Result<Entry<'a>, Syntax> {
        let mut unusual = false;
        // `(?:export[^\S\r\n]+)?`
        if let Some(after) = self.rest().strip_prefix("export")
            && after.chars().next().is_some_and(is_inline_space)
        {
            self.pos += "export".len();
            self.skip_while(is_inline_space);
            unusual = true;
        }
        let key = match self.peek() {
            Some('#') => None,
            Some('\'') => {
                unusual = true;
                Some(self.quoted_key()?)
            }
            _ => {
                let rest = self.rest();
                let n = rest
                    .find(|c: char| c == '=' || c == '#' || is_space(c))
                    .unwrap_or(rest.len());
                if n == 0 {
                    return Err(Syntax::NoKey);
                }
                self.pos += n;
                rest.get(..n)
            }
        };
        self.skip_while(is_inline_space);
        let mut value = None;
        if self.peek() == Some('=') {
            self.pos += 1;
            self.skip_while(is_inline_space);
            value = Some(self.value()?);
        }
        // `(?:[^\S\r\n]*#[^\r\n]*)?`
        let before = self.pos;
        self.skip_while(is_inline_space);
        if self.peek() == Some('#') {
            self.skip_to_line_end();
            if let Some(value) = &mut value {
                value.comment = true;
            }
        } else {
            self.pos = before;
        }
        // `[^\S\r\n]*(?:\r\n|\n|\r|$)`
        self.skip_while(is_inline_space);
        match self.peek() {
            None => {}
            Some('\n') => self.pos += 1,
            Some(_) => return Err(Syntax::TrailingText),
        }
        Ok(match key {
            Some(key) => Entry::Pair {
                key,
                key_form_unusual: unusual,
                value,
            },
            None => Entry::Comment,
        })
    }

    /// `'([^']+)'`, at the opening quote.
    fn quoted_key(&mut self) -> Result<&'a str, Syntax> {
        let bytes = self.text.as_bytes();
        let open = self.pos;
        if bytes.get(open + 1) == Some(&b'\'') {
            return Err(Syntax::UnclosedKey);
        }
        let close = self
            .next_single
            .first(bytes, open + 1, |b, k| b.get(k) == Some(&b'\''))
            .ok_or(Syntax::UnclosedKey)?;
        self.pos = close + 1;
        self.text.get(open + 1..close).ok_or(Syntax::UnclosedKey)
    }

    /// python-dotenv's `parse_value`, after `=` and the spaces after it.
    fn value(&mut self) -> Result<Value<'a>, Syntax> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                let raw = self.quoted(q)?;
                let text = if q == '"' {
                    decode(raw, |c| {
                        Some(match c {
                            '\\' | '\'' | '"' => c,
                            'a' => '\u{7}',
                            'b' => '\u{8}',
                            'f' => '\u{c}',
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            'v' => '\u{b}',
                            _ => return None,
                        })
                    })
                } else {
                    decode(raw, |c| matches!(c, '\\' | '\'').then_some(c))
                };
                Ok(Value {
                    decoded: matches!(text, Cow::Owned(_)),
                    text,
                    quote: if q == '"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    },
                    comment: false,
                })
            }
            None | Some('\n') => Ok(Value {
                text: Cow::Borrowed(""),
                quote: Quote::None,
                decoded: false,
                comment: false,
            }),
            Some(_) => {
                // `[^\r\n]*`, then `re.sub(r"\s+#.*", "", part).rstrip()`:
                // cut at the first `#` after whitespace, with that whitespace.
                let rest = self.rest();
                let n = rest.find('\n').unwrap_or(rest.len());
                let part = rest.get(..n).unwrap_or_default();
                self.pos += n;
                let mut cut = part.len();
                let mut run_start = None;
                for (i, c) in part.char_indices() {
                    if is_space(c) {
                        run_start.get_or_insert(i);
                    } else {
                        if c == '#'
                            && let Some(s) = run_start
                        {
                            cut = s;
                            break;
                        }
                        run_start = None;
                    }
                }
                let kept = part.get(..cut).unwrap_or_default();
                Ok(Value {
                    text: Cow::Borrowed(kept.trim_end_matches(is_space)),
                    quote: Quote::None,
                    decoded: false,
                    comment: cut < part.len(),
                })
            }
        }
    }

    /// `'((?:\\'|[^'])*)'` (or with `"`), at the opening quote: the content.
    /// It ends at the first quote not right after a `\`; when there is none,
    /// python-dotenv's regex backtracks to the last `\'` and ends there.
    fn quoted(&mut self, q: char) -> Result<&'a str, Syntax> {
        let bytes = self.text.as_bytes();
        let quote = if q == '"' { b'"' } else { b'\'' };
        let start = self.pos + 1;
        let close = if bytes.get(start) == Some(&quote) {
            Some(start)
        } else {
            let seek = if q == '"' {
                &mut self.bare_double
            } else {
                &mut self.bare_single
            };
            seek.first(bytes, start + 1, |b, k| {
                b.get(k) == Some(&quote) && b.get(k - 1) != Some(&b'\\')
            })
        };
        let close = match close {
            Some(k) => k,
            None => {
                let last = if q == '"' {
                    self.last_escaped_double
                } else {
                    self.last_escaped_single
                };
                last.filter(|&k| k > start)
                    .ok_or(Syntax::UnclosedQuote(q))?
            }
        };
        self.pos = close + 1;
        self.text.get(start..close).ok_or(Syntax::UnclosedQuote(q))
    }
}

/// Replaces each `\c` that `escape` maps, left to right, as Python's
/// `re.sub(r"\\[…]", …)` does; any other `\` stays as written. Borrowed
/// when nothing changed.
fn decode(raw: &str, escape: impl Fn(char) -> Option<char>) -> Cow<'_, str> {
    let changes = raw.as_bytes().windows(2).any(|w| {
        w.first() == Some(&b'\\') && w.get(1).is_some_and(|&c| escape(char::from(c)).is_some())
    });
    if !changes {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(decoded) = chars.peek().copied().and_then(&escape)
        {
            out.push(decoded);
            chars.next();
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}
