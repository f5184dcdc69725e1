//! Docker's `.dockerignore` patterns.
//!
//! A small matcher of our own rather than a glob crate: Docker's `**` may stand
//! anywhere in a pattern (`a**b`), a pattern excludes everything below a
//! directory it matches, and exceptions are decided per path by the last
//! matching pattern; no glob crate has exactly these rules, and the common ones
//! bring a regex engine. Matching runs over the path once, keeping the set of
//! pattern positions reached (no backtracking), so no pattern can make it slow,
//! and the same pass tells whether a parent directory matched.

/// The ignore rules, in order.
#[derive(Default)]
pub(super) struct Rules {
    patterns: Vec<Rule>,
}

struct Rule {
    glob: Glob,
    exception: bool,
}

impl Rules {
    /// Adds one line (already known not to be a comment): trimmed, `!` for
    /// an exception, cleaned, a leading `/` dropped. Blank lines add nothing.
    pub(super) fn add(&mut self, line: &str) -> Result<(), String> {
        let mut pattern = line.trim();
        if pattern.is_empty() {
            return Ok(());
        }
        let exception = pattern.starts_with('!');
        if exception {
            pattern = pattern[1..].trim();
        }
        if pattern.is_empty() {
            // A lone `!`: Docker keeps it as a pattern that matches nothing.
            return Ok(());
        }
        let mut cleaned = clean(pattern);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        self.patterns.push(Rule {
            glob: Glob::compile(&cleaned)?,
            exception,
        });
        Ok(())
    }

    /// Whether `rel` is excluded: the last pattern that matches it, or one
    /// of its parent directories, decides.
    pub(super) fn excluded(&self, rel: &str) -> bool {
        let path: Vec<char> = rel.chars().collect();
        let mut excluded = false;
        for rule in &self.patterns {
            // An exception only matters when the path is excluded so far,
            // and a pattern only when it could change the answer.
            if rule.exception != excluded {
                continue;
            }
            if rule.glob.matches_or_parent(&path) {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether some exception pattern could match a path below directory
    /// `rel` (conservative: true when unsure). A path below `rel` starts with
    /// `rel/`, and a path matched by a pattern starts with the pattern's
    /// literal prefix, so the two must agree as far as both go.
    pub(super) fn may_reinclude_below(&self, rel: &str) -> bool {
        let dir = format!("{rel}/");
        self.patterns
            .iter()
            .filter(|rule| rule.exception)
            .any(|rule| {
                let prefix = rule.glob.literal_prefix();
                prefix.starts_with(&dir) || dir.starts_with(&prefix)
            })
    }
}

/// Go's `filepath.Clean` on a `/`-separated path: no repeated separators,
/// no `.` elements, `..` resolved lexically, no trailing separator.
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// This character.
    Literal(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: any run of characters but `/`.
    Star,
    /// `**` before more pattern: nothing, or anything ending in `/`.
    Dirs,
    /// `**` at the end: anything.
    Rest,
    /// `[...]`: one character (but `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob, matched against a whole path.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    pub(super) tokens: Vec<Token>,
}

impl Glob {
    pub(super) fn compile(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    // `**/` is `**`.
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    tokens.push(if chars.peek().is_none() {
                        Token::Rest
                    } else {
                        Token::Dirs
                    });
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' => match chars.next() {
                    Some(escaped) => tokens.push(Token::Literal(escaped)),
                    None => return Err("ends with an unfinished `\\` escape".to_owned()),
                },
                '[' => {
                    let negated = chars.peek() == Some(&'^');
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    loop {
                        let low = match chars.next() {
                            None => return Err("has an unclosed `[`".to_owned()),
                            Some(']') if !ranges.is_empty() => break,
                            Some(']') => return Err("has an empty `[]` class".to_owned()),
                            Some('\\') => chars
                                .next()
                                .ok_or_else(|| "has an unclosed `[`".to_owned())?,
                            Some(c) => c,
                        };
                        let mut high = low;
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            high = match chars.next() {
                                None => return Err("has an unclosed `[`".to_owned()),
                                Some(']') => return Err("has a range without an end".to_owned()),
                                Some('\\') => chars
                                    .next()
                                    .ok_or_else(|| "has an unclosed `[`".to_owned())?,
                                Some(c) => c,
                            };
                            if high < low {
                                return Err(format!("has a reversed range `{low}-{high}`"));
                            }
                        }
                        ranges.push((low, high));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Ok(Glob { tokens })
    }

    /// The characters every matching path starts with.
    pub(super) fn literal_prefix(&self) -> String {
        self.tokens
            .iter()
            .map_while(|token| match token {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether the whole of `path` matches.
    pub(super) fn matches(&self, path: &[char]) -> bool {
        self.scan(path, false)
    }

    /// Whether `path`, or one of its parent directories, matches.
    pub(super) fn matches_or_parent(&self, path: &[char]) -> bool {
        self.scan(path, true)
    }

    /// Runs the pattern over `path` once, left to right, keeping the set of
    /// pattern positions reached (`at[i]`: the first `i` tokens matched;
    /// `inside[i]`: within the `.../` run of the `**` at `i`). A match at the
    /// end, or with `parents` just before a `/`, answers true.
    fn scan(&self, path: &[char], parents: bool) -> bool {
        let t = self.tokens.len();
        let mut at = vec![false; t + 1];
        let mut inside = vec![false; t];
        let mut next_at = vec![false; t + 1];
        let mut next_inside = vec![false; t];
        at[0] = true;
        self.skip_empty(&mut at);
        for (j, &c) in path.iter().enumerate() {
            if parents && c == '/' && j > 0 && at[t] {
                return true;
            }
            next_at.fill(false);
            next_inside.fill(false);
            let mut alive = false;
            for (i, token) in self.tokens.iter().enumerate() {
                let (here, within) = (at[i], inside[i]);
                if !here && !within {
                    continue;
                }
                let (advance, stay) = match token {
                    Token::Literal(l) => (here && c == *l, false),
                    Token::One => (here && c != '/', false),
                    Token::Class { negated, ranges } => {
                        let hit = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
                        (here && c != '/' && hit != *negated, false)
                    }
                    Token::Star => (false, here && c != '/'),
                    Token::Rest => (false, here),
                    Token::Dirs => {
                        // Within the run either way; a `/` may also end it.
                        next_inside[i] = true;
                        alive = true;
                        (c == '/', false)
                    }
                };
                if advance {
                    next_at[i + 1] = true;
                    alive = true;
                }
                if stay {
                    next_at[i] = true;
                    alive = true;
                }
            }
            if !alive {
                return false;
            }
            self.skip_empty(&mut next_at);
            std::mem::swap(&mut at, &mut next_at);
            std::mem::swap(&mut inside, &mut next_inside);
        }
        at[t]
    }

    /// Follows the tokens that can match nothing (`*`, `**`).
    fn skip_empty(&self, at: &mut [bool]) {
        for (i, token) in self.tokens.iter().enumerate() {
            if at[i] && matches!(token, Token::Star | Token::Dirs | Token::Rest) {
                at[i + 1] = true;
            }
        }
    }
}
