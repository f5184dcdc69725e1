//! Docker's `.dockerignore` rules, as Docker applies them.
//!
//! Three steps, each following what Docker does (moby/patternmatcher, read
//! through its `ignorefile` reader, and the walks of BuildKit's fsutil and
//! the legacy builder):
//!
//! 1. **A line becomes a pattern** ([`Rules::add`]): trimmed; a leading `!`
//!    marks an exception and is trimmed off; the rest cleaned like Go's
//!    `filepath.Clean` and one leading `/` dropped; then the whole, `!`
//!    included, trimmed and cleaned once more (Docker does both). A lone `!`
//!    is refused, and so is what Go's `filepath.Match` calls a syntax error.
//! 2. **A pattern becomes a test** ([`Pattern::compile`]): Docker turns each
//!    pattern into one of four tests, and so do we: a pattern of plain
//!    characters is an exact comparison; one whose only wildcard is a
//!    trailing `**` a prefix test; one that starts with `**` followed by
//!    plain characters a *suffix* test (so `**.log` matches `a.log` and
//!    `dir/b.log`); anything else a regular expression (`*` is `[^/]*`, `?`
//!    `[^/]`, `**` `(.*/)?` in the middle and `.*` at the end, classes as
//!    the regex engine reads them, so `[^a]` also matches `/`). The
//!    expression is matched here by a one-pass automaton
//!    ([`Pattern::matches`]), so no pattern can make matching slow.
//! 3. **A path is decided with its parent's results**
//!    ([`Rules::excluded`]): for each pattern in order, a pattern that
//!    matched the parent directory counts as matching the child; any other
//!    is tried on the child's own path, but only when it could change the
//!    answer so far (an exception while excluded, an exclusion while not).
//!    The last pattern that counts decides. So `d/f` then `!d` leaves `d/f`
//!    out: `!d` never matched `d` (nothing was excluded yet when it was
//!    tried), so `d/f` does not inherit it.
//!
//! Testing 10,000 patterns one by one on every path is slow, so the patterns
//! are indexed by their literal text (exact paths, literal prefixes and
//! suffixes), each path is tried only on the patterns it can match, and the
//! ordered rule above is replayed over just those and the parent's matches:
//! a pattern that neither matches nor matched the parent changes nothing.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The ignore rules, in order, with their index.
#[derive(Default)]
pub(super) struct Rules {
    patterns: Vec<Pattern>,
    index: Index,
    reinclusion: Reinclusion,
    /// The results of the directories on the path last asked about, outermost
    /// first: Docker's per-directory `MatchInfo`, as the indices of the
    /// patterns the directory counted as matching. A stack, as in Docker's
    /// walks, so its size is the depth of the tree.
    parents: RefCell<Vec<(String, Vec<u32>)>>,
}

/// One pattern: its test, and whether it is an exception (`!`).
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The cleaned pattern, without its `!`: what Docker matches and compares.
    text: String,
    test: Test,
    exception: bool,
}

/// Docker's four kinds of test.
#[derive(Debug, Clone)]
enum Test {
    /// The path is the pattern.
    Exact,
    /// The path starts with this (the pattern before its trailing `**`).
    Prefix(String),
    /// The path ends with this (the pattern after its leading `**`), or,
    /// when this starts with `/`, is this without the `/`.
    Suffix(String),
    /// The regular expression Docker builds, as tokens.
    Regex(Vec<Token>),
}

/// One piece of a pattern compiled to Docker's regular expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// This character.
    Literal(char),
    /// `^` outside a class: the regex anchor, true only at the path's start.
    Start,
    /// `?`, i.e. `[^/]`: one character but `/`.
    One,
    /// `*`, i.e. `[^/]*`: any run of characters but `/`.
    Star,
    /// `**` before more pattern, i.e. `(.*/)?`: nothing, or a run of
    /// characters but a newline ending in `/`.
    Dirs,
    /// `**` at the end, i.e. `.*`: any run of characters but a newline.
    Rest,
    /// `[...]`: one character in (or, negated, not in) the ranges; unlike
    /// `filepath.Match`, the regex class does not leave out `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Rules {
    /// Adds one line (already known not to be a comment), as Docker reads it:
    /// blank lines add nothing; a lone `!` or a pattern with a syntax error
    /// is an error saying why.
    pub(super) fn add(&mut self, line: &str) -> Result<(), String> {
        let Some(pattern) = read_line(line) else {
            return Ok(());
        };
        let (exception, text) = split_exception(&pattern)?;
        let pattern = Pattern::compile(text, exception)?;
        let index = u32::try_from(self.patterns.len())
            .map_err(|_| "more patterns than can be counted".to_owned())?;
        self.index.insert(&pattern, index);
        if pattern.exception {
            self.reinclusion.insert(&pattern);
        }
        self.patterns.push(pattern);
        self.parents.get_mut().clear();
        Ok(())
    }

    /// Whether `rel` (a `/`-separated path relative to the context root) is
    /// excluded, deciding with its parent directories' results as Docker's
    /// walk does.
    pub(super) fn excluded(&self, rel: &str) -> bool {
        match rel.rsplit_once('/') {
            None => self.decide(rel, &[]).0,
            Some((parent, _)) => {
                self.enter(parent);
                let parents = self.parents.borrow();
                let inherited = parents.last().map_or(&[][..], |(_, info)| info);
                self.decide(rel, inherited).0
            }
        }
    }

    /// Whether an exception pattern could re-include a path below the
    /// excluded directory `rel`; when not, the directory need not be walked.
    ///
    /// A path below `rel` can only be re-included by an exception that
    /// matches it itself (what it inherits from `rel` leaves it excluded),
    /// and a path below `rel` starts with `rel/`: an exception whose
    /// matches all start with a literal that disagrees with `rel/` cannot.
    /// BuildKit walks into every excluded directory once an exception has a
    /// wildcard; this walks into fewer with the same outcome.
    pub(super) fn may_reinclude_below(&self, rel: &str) -> bool {
        let reinclusion = &self.reinclusion;
        if reinclusion.anywhere || reinclusion.ancestors.contains(rel) {
            return true;
        }
        let mut found = Vec::new();
        reinclusion
            .leads
            .collect(&format!("{rel}/"), false, &mut found);
        !found.is_empty()
    }

    /// Makes the top of the parent stack directory `dir`'s results: pops
    /// what does not contain `dir`, then decides each directory from the
    /// deepest one left down to `dir`, as Docker's walk would have.
    fn enter(&self, dir: &str) {
        let mut parents = self.parents.borrow_mut();
        while let Some((top, _)) = parents.last() {
            if within(dir, top) {
                break;
            }
            parents.pop();
        }
        loop {
            let done = parents.last().map(|(top, _)| top.len());
            if done == Some(dir.len()) {
                return;
            }
            let start = done.map_or(0, |len| len + 1);
            let end = dir
                .get(start..)
                .and_then(|rest| rest.find('/'))
                .map_or(dir.len(), |at| start + at);
            let Some(path) = dir.get(..end) else {
                return;
            };
            let inherited = parents.last().map_or(&[][..], |(_, info)| info);
            let (_, info) = self.decide(path, inherited);
            parents.push((path.to_owned(), info));
        }
    }

    /// Docker's `MatchesUsingParentResults`: whether `path` is excluded, and
    /// the patterns it counts as matching (for its children), given those
    /// of its parent (`inherited`, sorted).
    fn decide(&self, path: &str, inherited: &[u32]) -> (bool, Vec<u32>) {
        let own = self.index.matching(&self.patterns, path);
        let mut excluded = false;
        let mut info = Vec::new();
        let (mut a, mut b) = (inherited.iter().peekable(), own.iter().peekable());
        loop {
            // The next pattern, in order, that the parent matched or that
            // matches the path; the others change nothing.
            let (index, from_parent) = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(&&x), None) => {
                    a.next();
                    (x, true)
                }
                (None, Some(&&y)) => {
                    b.next();
                    (y, false)
                }
                (Some(&&x), Some(&&y)) => {
                    if x <= y {
                        a.next();
                        if x == y {
                            b.next();
                        }
                        (x, true)
                    } else {
                        b.next();
                        (y, false)
                    }
                }
            };
            let Some(pattern) = self.patterns.get(index as usize) else {
                continue;
            };
            // A pattern the parent did not match is only tried when it
            // could change the answer.
            if from_parent || pattern.exception == excluded {
                info.push(index);
                excluded = !pattern.exception;
            }
        }
        (excluded, info)
    }

    /// The same decision, testing every pattern in turn as Docker's code
    /// does: the reference the indexed [`decide`](Self::decide) is checked
    /// against.
    #[cfg(test)]
    pub(super) fn excluded_by_scanning_all(&self, rel: &str) -> bool {
        let mut inherited = vec![false; self.patterns.len()];
        let mut excluded = false;
        let parts: Vec<&str> = rel.split('/').collect();
        for depth in 1..=parts.len() {
            let path = parts[..depth].join("/");
            excluded = false;
            let mut info = vec![false; self.patterns.len()];
            for (i, pattern) in self.patterns.iter().enumerate() {
                let mut matched = inherited[i];
                if !matched {
                    if pattern.exception != excluded {
                        continue;
                    }
                    matched = pattern.matches(&path);
                }
                info[i] = matched;
                if matched {
                    excluded = !pattern.exception;
                }
            }
            inherited = info;
        }
        excluded
    }
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// One line as Docker's `ignorefile` reader and then `patternmatcher.New`
/// read it: `None` for a blank line, else the pattern with its `!`.
fn read_line(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (exception, rest) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let mut pattern = String::new();
    if !rest.is_empty() {
        pattern = clean(rest);
        if pattern.len() > 1 && pattern.starts_with('/') {
            pattern.remove(0);
        }
    }
    if exception {
        pattern.insert(0, '!');
    }
    // `patternmatcher.New` trims and cleans again, `!` included.
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return None;
    }
    Some(clean(pattern))
}

/// Splits off a leading `!`; a `!` alone is Docker's "illegal exclusion
/// pattern".
fn split_exception(pattern: &str) -> Result<(bool, &str), String> {
    match pattern.strip_prefix('!') {
        Some("") => Err(
            "a lone `!` is not a pattern (Docker: \"illegal exclusion pattern\"); \
             write the path to re-include after it"
                .to_owned(),
        ),
        Some(rest) => Ok((true, rest)),
        None => Ok((false, pattern)),
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

impl Pattern {
    /// Compiles a cleaned pattern (without its `!`) as Docker does, after
    /// the syntax check Docker makes with Go's `filepath.Match`.
    pub(super) fn compile(text: &str, exception: bool) -> Result<Pattern, String> {
        check_syntax(text)?;
        let (kind, tokens) = tokenize(text)?;
        let test = match kind {
            Kind::Exact => Test::Exact,
            // The trailing `**` and leading `**` are two ASCII bytes.
            Kind::Prefix => Test::Prefix(
                text.get(..text.len().saturating_sub(2))
                    .unwrap_or("")
                    .to_owned(),
            ),
            Kind::Suffix => Test::Suffix(text.get(2..).unwrap_or("").to_owned()),
            Kind::Regex => Test::Regex(tokens),
        };
        Ok(Pattern {
            text: text.to_owned(),
            test,
            exception,
        })
    }

    /// Whether the pattern matches `path` itself (not a parent).
    pub(super) fn matches(&self, path: &str) -> bool {
        match &self.test {
            Test::Exact => path == self.text,
            Test::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Test::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Test::Regex(tokens) => run(tokens, path),
        }
    }

    /// The regex tokens, for tests.
    #[cfg(test)]
    pub(super) fn tokens(&self) -> Option<&[Token]> {
        match &self.test {
            Test::Regex(tokens) => Some(tokens),
            _ => None,
        }
    }
}

/// The kind of test Docker picks while reading a pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// Reads a pattern as Docker's compiler does, picking the kind of test as it
/// goes, and the regex tokens. Refuses what Docker's regex would read
/// differently from the pattern's plain meaning (see the module docs of
/// `build_context`, "Differences from Docker").
fn tokenize(text: &str) -> Result<(Kind, Vec<Token>), String> {
    let mut kind = Kind::Exact;
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        tokens.push(Token::Rest);
                        kind = Kind::Regex;
                    }
                } else {
                    tokens.push(Token::Dirs);
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = Kind::Regex;
            }
            '?' => {
                tokens.push(Token::One);
                kind = Kind::Regex;
            }
            '\\' => {
                let escaped = chars
                    .next()
                    .ok_or_else(|| "ends with an unfinished `\\` escape".to_owned())?;
                tokens.push(Token::Literal(regex_escape(escaped)?));
                kind = Kind::Regex;
            }
            '[' => {
                tokens.push(class(&mut chars)?);
                kind = Kind::Regex;
            }
            ']' => {
                tokens.push(Token::Literal(']'));
                kind = Kind::Regex;
            }
            '^' => tokens.push(Token::Start),
            c => tokens.push(Token::Literal(c)),
        }
        first = false;
    }
    Ok((kind, tokens))
}

/// What `\c` means to Docker's regex: `c` itself for ASCII punctuation and
/// space; anything else (`\d`, `\n`, `\p`, `\é`, ...) is a class, control
/// character, anchor or error there, and is refused.
fn regex_escape(c: char) -> Result<char, String> {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        Ok(c)
    } else {
        Err(format!(
            "`\\{c}` is not a plain escape (Docker's regular expression reads it as something else); \
             escape only punctuation"
        ))
    }
}

/// Reads a class after its `[` (the syntax is already checked), as the
/// regex engine reads it.
fn class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Token, String> {
    let negated = chars.peek() == Some(&'^');
    if negated {
        chars.next();
    }
    let mut ranges = Vec::new();
    let item = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| match chars.next() {
        Some('\\') => regex_escape(chars.next().unwrap_or('\\')),
        Some('*' | '?') => Err(
            "has `*` or `?` inside `[...]`, which Docker turns into a different class; \
                 escape it (`\\*`)"
                .to_owned(),
        ),
        Some('[') if chars.peek() == Some(&':') => Err(
            "has `[:` inside `[...]`, which Docker's regular expression reads as a named class"
                .to_owned(),
        ),
        Some(c) => Ok(c),
        None => Err("has an unclosed `[`".to_owned()),
    };
    loop {
        if chars.peek() == Some(&']') && !ranges.is_empty() {
            chars.next();
            break;
        }
        let low = item(chars)?;
        let mut high = low;
        if chars.peek() == Some(&'-') {
            chars.next();
            high = item(chars)?;
        }
        if high < low {
            return Err(format!(
                "has the reversed range `{low}-{high}` (Docker fails on it)"
            ));
        }
        ranges.push((low, high));
    }
    Ok(Token::Class { negated, ranges })
}

/// The syntax check Docker makes with Go's `filepath.Match`: a `\` must
/// escape something; a class `[...]` must be closed, hold at least one
/// item, and no item may start with `-` or `]` (unescaped), so `[]`, `[-]`,
/// `[-x]`, `[a-]` and `[a-b-c]` are errors.
fn check_syntax(text: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("syntax error in pattern: {why}"));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // The guard takes the escaped character too.
            '\\' if chars.next().is_none() => return bad("it ends with `\\`"),
            '[' => {
                if chars.peek() == Some(&'^') {
                    chars.next();
                }
                let mut items = 0;
                loop {
                    if chars.peek() == Some(&']') && items > 0 {
                        chars.next();
                        break;
                    }
                    // Go's `getEsc`, for the low and then the high end.
                    for end in 0..2 {
                        match chars.next() {
                            None => return bad("a `[` is not closed"),
                            Some('-') => return bad("an item of `[...]` starts with `-`"),
                            Some(']') => return bad("`[...]` is empty or an item is `]`"),
                            Some('\\') => {
                                if chars.next().is_none() {
                                    return bad("a `[` is not closed");
                                }
                            }
                            Some(_) => {}
                        }
                        if chars.peek().is_none() {
                            return bad("a `[` is not closed");
                        }
                        if end == 0 && chars.peek() == Some(&'-') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    items += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The characters every path a regex pattern matches starts with.
fn literal_prefix(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map_while(|token| match token {
            Token::Literal(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// The characters every path a regex pattern matches ends with.
fn literal_suffix(tokens: &[Token]) -> String {
    let mut suffix: Vec<char> = tokens
        .iter()
        .rev()
        .map_while(|token| match token {
            Token::Literal(c) => Some(*c),
            _ => None,
        })
        .collect();
    suffix.reverse();
    suffix.into_iter().collect()
}

/// Runs the regex over `path` once, left to right, keeping the set of token
/// positions reached (`at[i]`: the first `i` tokens matched; `inside[i]`:
/// within the `.*/` of the `(.*/)?` at `i`); no backtracking.
fn run(tokens: &[Token], path: &str) -> bool {
    let t = tokens.len();
    let mut at = vec![false; t + 1];
    let mut inside = vec![false; t];
    let mut next_at = vec![false; t + 1];
    let mut next_inside = vec![false; t];
    if let Some(first) = at.first_mut() {
        *first = true;
    }
    close(tokens, &mut at, &mut inside, true);
    for c in path.chars() {
        next_at.fill(false);
        next_inside.fill(false);
        let mut alive = false;
        for (i, token) in tokens.iter().enumerate() {
            let here = at.get(i).copied().unwrap_or(false);
            let within = inside.get(i).copied().unwrap_or(false);
            let (advance, stay) = match token {
                Token::Literal(l) => (here && c == *l, false),
                Token::One => (here && c != '/', false),
                Token::Class { negated, ranges } => {
                    let hit = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
                    (here && hit != *negated, false)
                }
                Token::Star => (false, here && c != '/'),
                Token::Rest => (false, here && c != '\n'),
                Token::Dirs => {
                    if within && c != '\n' {
                        if let Some(slot) = next_inside.get_mut(i) {
                            *slot = true;
                        }
                        alive = true;
                    }
                    (within && c == '/', false)
                }
                Token::Start => (false, false),
            };
            if advance {
                if let Some(slot) = next_at.get_mut(i + 1) {
                    *slot = true;
                }
                alive = true;
            }
            if stay {
                if let Some(slot) = next_at.get_mut(i) {
                    *slot = true;
                }
                alive = true;
            }
        }
        if !alive {
            return false;
        }
        close(tokens, &mut next_at, &mut next_inside, false);
        std::mem::swap(&mut at, &mut next_at);
        std::mem::swap(&mut inside, &mut next_inside);
    }
    at.get(t).copied().unwrap_or(false)
}

/// Follows the tokens that can match nothing: `*`, `.*`, `(.*/)?` (also
/// entering its `.*/`), and `^` at the start.
fn close(tokens: &[Token], at: &mut [bool], inside: &mut [bool], start: bool) {
    for (i, token) in tokens.iter().enumerate() {
        if !at.get(i).copied().unwrap_or(false) {
            continue;
        }
        let skip = match token {
            Token::Star | Token::Rest => true,
            Token::Dirs => {
                if let Some(slot) = inside.get_mut(i) {
                    *slot = true;
                }
                true
            }
            Token::Start => start,
            _ => false,
        };
        if skip && let Some(slot) = at.get_mut(i + 1) {
            *slot = true;
        }
    }
}

/// A compiled glob for file names (the secret patterns): Docker's pattern
/// rules, matched against a whole name.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    pattern: Pattern,
}

impl Glob {
    /// Compiles a pattern, refusing what Docker would.
    pub(super) fn compile(pattern: &str) -> Result<Glob, String> {
        Ok(Glob {
            pattern: Pattern::compile(pattern, false)?,
        })
    }

    /// Whether the whole of `path` matches.
    pub(super) fn matches(&self, path: &[char]) -> bool {
        let path: String = path.iter().collect();
        self.pattern.matches(&path)
    }
}

/// What the exceptions can re-include, by the literal text that starts
/// every path each one matches (its lead).
#[derive(Default)]
struct Reinclusion {
    /// Some exception has no lead (it starts with a wildcard).
    anywhere: bool,
    /// Each directory `d` such that some lead starts with `d/`.
    ancestors: HashSet<String>,
    /// The leads of the exceptions that match more than their lead.
    leads: Affixes,
}

impl Reinclusion {
    fn insert(&mut self, pattern: &Pattern) {
        let (lead, exact) = match &pattern.test {
            Test::Exact => (pattern.text.clone(), true),
            Test::Prefix(prefix) => (prefix.clone(), false),
            Test::Suffix(_) => (String::new(), false),
            Test::Regex(tokens) => (literal_prefix(tokens), false),
        };
        if lead.is_empty() {
            self.anywhere = true;
            return;
        }
        for (at, _) in lead.match_indices('/') {
            if let Some(dir) = lead.get(..at) {
                self.ancestors.insert(dir.to_owned());
            }
        }
        if !exact {
            self.leads.insert(lead, 0);
        }
    }
}

/// The patterns, by the literal text a path must have to match them, so a
/// path is tried only on the patterns it can match.
#[derive(Default)]
struct Index {
    /// Exact patterns by their text; `**/x` suffix patterns by `x`.
    exact: HashMap<String, Vec<u32>>,
    /// Prefix patterns, and regex patterns by their literal prefix.
    prefixes: Affixes,
    /// Suffix patterns, and regex patterns with no literal prefix by their
    /// literal suffix.
    suffixes: Affixes,
    /// Regex patterns with neither: tried on every path.
    everywhere: Vec<u32>,
}

/// Texts that a path must start (or end) with, and the lengths they have.
#[derive(Default)]
struct Affixes {
    by_text: HashMap<String, Vec<u32>>,
    lengths: BTreeSet<usize>,
}

impl Affixes {
    fn insert(&mut self, text: String, index: u32) {
        self.lengths.insert(text.len());
        self.by_text.entry(text).or_default().push(index);
    }

    /// Adds the patterns filed under a prefix (or suffix) of `path`.
    fn collect(&self, path: &str, suffix: bool, out: &mut Vec<u32>) {
        for &len in self.lengths.range(..=path.len()) {
            let part = if suffix {
                path.get(path.len() - len..)
            } else {
                path.get(..len)
            };
            if let Some(found) = part.and_then(|part| self.by_text.get(part)) {
                out.extend_from_slice(found);
            }
        }
    }
}

impl Index {
    fn insert(&mut self, pattern: &Pattern, index: u32) {
        match &pattern.test {
            Test::Exact => self
                .exact
                .entry(pattern.text.clone())
                .or_default()
                .push(index),
            Test::Prefix(prefix) => self.prefixes.insert(prefix.clone(), index),
            Test::Suffix(suffix) => {
                if let Some(rest) = suffix.strip_prefix('/') {
                    self.exact.entry(rest.to_owned()).or_default().push(index);
                }
                self.suffixes.insert(suffix.clone(), index);
            }
            Test::Regex(tokens) => {
                let (prefix, suffix) = (literal_prefix(tokens), literal_suffix(tokens));
                if !prefix.is_empty() && prefix.len() >= suffix.len() {
                    self.prefixes.insert(prefix, index);
                } else if !suffix.is_empty() {
                    self.suffixes.insert(suffix, index);
                } else {
                    self.everywhere.push(index);
                }
            }
        }
    }

    /// The indices, sorted, of the patterns that match `path` itself.
    fn matching(&self, patterns: &[Pattern], path: &str) -> Vec<u32> {
        let mut candidates = Vec::new();
        if let Some(found) = self.exact.get(path) {
            candidates.extend_from_slice(found);
        }
        self.prefixes.collect(path, false, &mut candidates);
        self.suffixes.collect(path, true, &mut candidates);
        candidates.extend_from_slice(&self.everywhere);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&i| {
            patterns
                .get(i as usize)
                .is_some_and(|pattern| pattern.matches(path))
        });
        candidates
    }
}
