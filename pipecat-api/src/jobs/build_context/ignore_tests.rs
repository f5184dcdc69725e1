//! Tests of the `.dockerignore` rules: reading lines, compiling and matching
//! patterns, deciding with parent results, the index against a plain scan,
//! and packing with each kind of rule Docker has.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::ignore::{Glob, Pattern, Rules, Token, clean};
use super::tests::tree;
use super::*;

/// The files packed from `files` plus a Dockerfile and this `.dockerignore`,
/// leaving those two out of the answer.
fn packed_with(ignore: &str, files: &[&str]) -> Vec<String> {
    let mut all = vec![("Dockerfile", "FROM x\n"), (".dockerignore", ignore)];
    all.extend(files.iter().map(|f| (*f, "")));
    let dir = tree(&all);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    context
        .files()
        .iter()
        .map(|f| f.path().to_owned())
        .filter(|p| p != "Dockerfile" && p != ".dockerignore")
        .collect()
}

fn pack_error(ignore: &str) -> String {
    let dir = tree(&[("Dockerfile", "FROM x\n"), (".dockerignore", ignore)]);
    match pack(dir.path(), &ContextOptions::new()) {
        Ok(_) => panic!("{ignore:?} was accepted"),
        Err(err) => err.to_string(),
    }
}

fn rules(lines: &[&str]) -> Rules {
    let mut rules = Rules::default();
    for line in lines {
        rules.add(line).unwrap();
    }
    rules
}

// --- Each kind of difference from Docker found; each test fails on the
// --- matcher before this one.

#[test]
fn parent_results_decide_children_as_docker_does() {
    // `!d` is never tried on `d` (nothing is excluded yet), so `d/f` does
    // not inherit it: Docker sends `d/g` only.
    assert_eq!(packed_with("d/f\n!d\n", &["d/f", "d/g"]), ["d/g"]);
    // `docs` does not match `**/*.md`, so `!docs` is not tried on it.
    assert_eq!(
        packed_with("**/*.md\n!docs\n", &["docs/x.md", "docs/y.txt", "a.md"]),
        ["docs/y.txt"]
    );
    // A parent's exclusion is inherited past a later exception that only
    // matched the parent while it was being re-included.
    let r = rules(&["a", "!a", "a/b"]);
    assert!(!r.excluded("a"));
    assert!(r.excluded("a/b"));
    assert!(!r.excluded("a/c"));
    // What the parent matched counts even where the pattern would be
    // skipped for the child itself.
    let r = rules(&["d", "!d/x", "!d/x/y/z"]);
    assert!(r.excluded("d/w"));
    assert!(!r.excluded("d/x/y"));
    assert!(!r.excluded("d/x/y/z/w"));
}

#[test]
fn double_star_then_literals_is_a_suffix_test() {
    assert_eq!(
        packed_with(
            "**.log\n",
            &["a.log", "dir/b.log", "keep.txt", "x.logs", "dir/log"]
        ),
        ["dir/log", "keep.txt", "x.logs"]
    );
    for (pattern, path, matches) in [
        ("**foo", "xfoo", true),
        ("**foo", "a/barfoo", true),
        ("**foo", "foox", false),
        ("**a/b", "xa/b", true),
        ("**/foo", "foo", true),
        ("**/foo", "x/foo", true),
        ("**/foo", "xfoo", false),
        ("**", "anything/at/all", true),
        // With a wildcard after it, `**` is `(.*/)?` again.
        ("**.lo?", "a.log", false),
        ("**.lo?", ".log", true),
        ("**.lo?", "dir/.log", true),
    ] {
        let r = rules(&[pattern]);
        assert_eq!(r.excluded(path), matches, "{pattern:?} on {path:?}");
    }
}

#[test]
fn a_lone_exclamation_mark_is_refused_naming_the_line() {
    for line in ["!", "! ", "!/", "!  //", "\t!\t"] {
        let msg = pack_error(&format!("ok\n# c\n{line}\n"));
        assert!(msg.contains(".dockerignore line 3"), "{line:?}: {msg}");
        assert!(msg.contains("illegal exclusion pattern"), "{line:?}: {msg}");
    }
    // `!.` is a pattern (that matches nothing), not a lone `!`.
    assert_eq!(packed_with("!.\n", &["a"]), ["a"]);
}

#[test]
fn go_syntax_errors_are_refused_naming_the_line() {
    for bad in [
        "[-]", "[-x]", "[a-b-c]", "[]", "[]a]", "[a", "[a-]", "[^]", "x\\", "[\\", "a[b-",
    ] {
        let msg = pack_error(&format!("a\n{bad}\n"));
        assert!(msg.contains(".dockerignore line 2"), "{bad:?}: {msg}");
        assert!(msg.contains("syntax error"), "{bad:?}: {msg}");
        assert!(Rules::default().add(bad).is_err(), "{bad:?}");
    }
    for good in [
        "[a-c]", "[\\-]", "[\\]]", "[^a]x", "[a-bc]", "[[]", "a]", "x[!]",
    ] {
        assert!(Rules::default().add(good).is_ok(), "{good:?}");
    }
    // What Go's filepath.Match accepts but Docker's regex reads otherwise.
    for odd in ["[b-a]", "a\\d", "[\\w]", "[*]", "[?]", "[[:alpha:]]"] {
        let err = Rules::default().add(odd).unwrap_err();
        assert!(!err.is_empty(), "{odd:?}");
    }
}

#[test]
fn lines_are_read_as_docker_reads_them() {
    // Trailing spaces before a `/` survive the first clean and go in the
    // second trim; a `!` pattern keeps a space after a leading `/`.
    let r = rules(&["a /"]);
    assert!(r.excluded("a"));
    let r = rules(&["*", "!/ a"]);
    assert!(!r.excluded(" a"));
    assert!(r.excluded("a"));
    // `..` is resolved first; a leading `/` is dropped; `/` alone stays.
    let r = rules(&["x/../b", "/c", "/"]);
    assert!(r.excluded("b") && r.excluded("c") && !r.excluded("x"));
    // `^` is literal in a pattern without wildcards and an anchor in one
    // with them (Docker's regex).
    assert!(rules(&["a^b"]).excluded("a^b"));
    assert!(!rules(&["a^b*"]).excluded("a^bc"));
    assert!(rules(&["^b*"]).excluded("bc"));
    // Regex punctuation is literal.
    assert!(rules(&["a.(b)+*"]).excluded("a.(b)+c"));
    assert!(!rules(&["a.(b)+*"]).excluded("ax(b)+c"));
}

#[test]
fn classes_are_read_as_the_regex_engine_reads_them() {
    // Unlike filepath.Match, a negated class matches `/`.
    assert!(rules(&["a[^x]b"]).excluded("a/b"));
    assert!(rules(&["a[/]b"]).excluded("a/b"));
    assert!(!rules(&["a?b"]).excluded("a/b"));
    // `**` is `.*`, which stops at a newline; `*` and `?` do not.
    assert!(!rules(&["a/**"]).excluded("a\nb/c"));
    assert!(!rules(&["x*/**"]).excluded("x/a\nb"));
    assert!(rules(&["x*/**"]).excluded("x/ab"));
    assert!(rules(&["a*b"]).excluded("a\nb"));
}

// --- Matching.

fn glob(pattern: &str, path: &str) -> bool {
    let path: Vec<char> = path.chars().collect();
    Glob::compile(pattern).unwrap().matches(&path)
}

#[test]
fn glob_matching() {
    let yes = [
        ("*", "abc"),
        ("*", ""),
        ("a*c", "ac"),
        ("a*c", "abbbc"),
        ("?", "é"),
        ("**", "a/b/c"),
        ("**/c", "c"),
        ("**/c", "a/b/c"),
        ("a/**/c", "a/c"),
        ("a/**/c", "a/x/y/c"),
        ("a/**", "a/b"),
        ("a**c", "a/b/c"),
        ("a**c", "ac"),
        ("[a-c]x", "bx"),
        ("[^a-c]x", "dx"),
        ("\\*", "*"),
        ("[\\]]", "]"),
        ("*.*.*", "a.b.c"),
        ("[^a]", "/"),
    ];
    let no = [
        ("*", "a/b"),
        ("?", ""),
        ("?", "/"),
        ("a*c", "a/c"),
        ("**/c", "ac"),
        ("a/**/c", "ac"),
        ("a/**/c", "a/xc"),
        ("a/**", "a"),
        ("a**c", "abc"),
        ("[a-c]x", "dx"),
        ("[^a-c]x", "ax"),
        ("\\*", "a"),
        ("abc", "ab"),
        ("ab", "abc"),
    ];
    for (pattern, path) in yes {
        assert!(glob(pattern, path), "{pattern:?} should match {path:?}");
    }
    for (pattern, path) in no {
        assert!(
            !glob(pattern, path),
            "{pattern:?} should not match {path:?}"
        );
    }
    // No exponential backtracking.
    let many = "*a".repeat(30);
    assert!(!glob(&many, &"a".repeat(29)));
}

/// The regex Docker builds for these tokens, for the `regex` crate (same
/// syntax as Go's for what is used here).
fn to_regex(tokens: &[Token]) -> String {
    let mut out = String::from(r"\A(?:");
    for token in tokens {
        match token {
            Token::Literal(c) => out.push_str(&regex::escape(&c.to_string())),
            Token::Start => out.push('^'),
            Token::One => out.push_str("[^/]"),
            Token::Star => out.push_str("[^/]*"),
            Token::Dirs => out.push_str("(?:.*/)?"),
            Token::Rest => out.push_str(".*"),
            Token::Class { negated, ranges } => {
                out.push('[');
                if *negated {
                    out.push('^');
                }
                for (lo, hi) in ranges {
                    out.push_str(&regex::escape(&lo.to_string()));
                    out.push('-');
                    out.push_str(&regex::escape(&hi.to_string()));
                }
                out.push(']');
            }
        }
    }
    out.push_str(r")\z");
    out
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random pattern from pieces that exercise every kind of token.
fn random_pattern(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a", "b", "ab", "/", "/", "*", "**", "**/", "?", "[ab]", "[^a]", "[a-c]", ".", "\\*", "^",
        "x",
    ];
    let mut p = String::new();
    for _ in 0..1 + rng.below(5) {
        p.push_str(rng.pick(PIECES));
    }
    p
}

fn random_path(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &["a", "b", "c", "/", "ab", ".", "x", "*", "\n", "^"];
    let mut p = String::new();
    for _ in 0..rng.below(7) {
        p.push_str(rng.pick(PIECES));
    }
    p
}

#[test]
fn one_pass_matching_agrees_with_a_regex_engine() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for _ in 0..800 {
        let text = random_pattern(&mut rng);
        let Ok(pattern) = Pattern::compile(&clean(&text), false) else {
            continue;
        };
        let Some(tokens) = pattern.tokens() else {
            continue;
        };
        let regex = regex::Regex::new(&to_regex(tokens)).unwrap();
        for _ in 0..40 {
            let path = random_path(&mut rng);
            assert_eq!(
                pattern.matches(&path),
                regex.is_match(&path),
                "{text:?} ({}) on {path:?}",
                to_regex(tokens)
            );
            checked += 1;
        }
    }
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn patterns_are_cleaned_like_go() {
    let cases = [
        ("", "."),
        (".", "."),
        ("a/", "a"),
        ("./a", "a"),
        ("a//b/./c/..", "a/b"),
        ("a/../..", ".."),
        ("../a", "../a"),
        ("/../a", "/a"),
        ("/", "/"),
        ("**/", "**"),
        ("!a/../b", "b"),
        ("!../a", "!../a"),
    ];
    for (input, output) in cases {
        assert_eq!(clean(input), output, "{input:?}");
    }
}

// --- The index, and which excluded directories are walked.

/// A random rule set: Docker's kinds of pattern, with exceptions.
fn random_rules(rng: &mut Rng, count: usize) -> (Vec<String>, Rules) {
    const NAMES: &[&str] = &["a", "b", "d", "x.md", "y.txt", "keep", "src", "docs"];
    const SHAPES: &[&str] = &[
        "N", "N/N", "N/N/N", "*.md", "**/*.md", "**.txt", "**/N", "N/**", "N/*", "N*", "*",
        "N/**/N", "[ab]", "[^a]*", "?", "N?", "**N", "/N/", "./N", "N/../N",
    ];
    let mut lines = Vec::new();
    let mut rules = Rules::default();
    for _ in 0..count {
        let mut line = String::new();
        if rng.below(3) == 0 {
            line.push('!');
        }
        for c in rng.pick(SHAPES).chars() {
            if c == 'N' {
                line.push_str(rng.pick(NAMES));
            } else {
                line.push(c);
            }
        }
        if rules.add(&line).is_ok() {
            lines.push(line);
        }
    }
    (lines, rules)
}

/// Every path of up to three levels over a few names.
fn all_paths() -> Vec<String> {
    const NAMES: &[&str] = &[
        "a", "b", "d", "x.md", "y.txt", "keep", "src", "docs", "keepy",
    ];
    let mut paths: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut level = paths.clone();
    for _ in 0..2 {
        level = level
            .iter()
            .flat_map(|p| NAMES.iter().map(move |n| format!("{p}/{n}")))
            .collect();
        paths.extend(level.iter().cloned());
    }
    paths
}

#[test]
fn indexed_decisions_agree_with_scanning_every_pattern() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let paths = all_paths();
    for round in 0..20 {
        let (lines, rules) = random_rules(&mut rng, 1 + round % 12);
        // In walk order, and then in reverse (the parent stack is rebuilt).
        for path in paths.iter().chain(paths.iter().rev()) {
            assert_eq!(
                rules.excluded(path),
                rules.excluded_by_scanning_all(path),
                "{lines:?} on {path:?}"
            );
        }
    }
}

#[test]
fn skipped_directories_hold_nothing_an_exception_would_re_include() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let paths = all_paths();
    let mut skipped = 0;
    for round in 0..30 {
        let (lines, rules) = random_rules(&mut rng, 1 + round % 10);
        for dir in &paths {
            if !rules.excluded_by_scanning_all(dir) || rules.may_reinclude_below(dir) {
                continue;
            }
            skipped += 1;
            let inside = format!("{dir}/");
            for below in paths.iter().filter(|p| p.starts_with(&inside)) {
                assert!(
                    rules.excluded_by_scanning_all(below),
                    "{lines:?}: {dir:?} skipped, but {below:?} is re-included"
                );
            }
        }
    }
    assert!(skipped > 50, "{skipped}");
    // Literal exceptions elsewhere do not make a directory walked.
    let r = rules(&["node_modules", "build", "!build/keep/*.txt"]);
    assert!(!r.may_reinclude_below("node_modules"));
    assert!(r.may_reinclude_below("build"));
    assert!(r.may_reinclude_below("build/keep"));
    assert!(!r.may_reinclude_below("build/other"));
    assert!(r.excluded("build/other/x.txt"));
    assert!(!r.excluded("build/keep/x.txt"));
    assert!(r.excluded("build/keep/x.md"));
    let r = rules(&["node_modules", "!**/*.md"]);
    assert!(r.may_reinclude_below("node_modules"));
    assert!(!r.excluded("node_modules/x/README.md"));
}

// --- Scale.

/// 10,000 patterns of the common shapes, a quarter of them exceptions, over
/// 2,000 files; run with `cargo test -p pipecat-api --lib
/// ten_thousand_patterns -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; prints the time"]
fn ten_thousand_patterns_over_two_thousand_files() {
    let mut ignore = String::new();
    for i in 0..10_000 {
        let line = match i % 8 {
            0 => format!("gen/d{i}/f.txt"),
            1 => format!("**/*.x{i}"),
            2 => format!("src/m{i}/**"),
            3 => format!("**/name{i}.py"),
            4 => format!("!src/m{}/keep.py", i - 2),
            5 => format!("docs/p{i}*.md"),
            6 => format!("!docs/p{}*.md", i - 1),
            _ => format!("assets/a{i}/*.png"),
        };
        ignore.push_str(&line);
        ignore.push('\n');
    }
    let mut files: Vec<(String, &str)> = vec![
        ("Dockerfile".to_owned(), "FROM x\n"),
        (".dockerignore".to_owned(), &ignore),
    ];
    for i in 0..2_000 {
        let path = match i % 5 {
            0 => format!("src/m{}/keep.py", (i * 7) % 10_000),
            1 => format!("src/m{}/lib/x.py", (i * 3) % 10_000),
            2 => format!("docs/p{}/a.md", i * 5),
            3 => format!("assets/a{}/img.png", i * 4 + 7),
            _ => format!("app/pkg{}/name{}.py", i % 40, i * 2 + 3),
        };
        files.push((path, ""));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let dir = tree(&borrowed);
    let start = std::time::Instant::now();
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let with_rules = start.elapsed().as_secs_f64();
    // The same tree with one pattern, for the cost of packing itself.
    fs::write(dir.path().join(".dockerignore"), "nothing\n").unwrap();
    let start = std::time::Instant::now();
    pack(dir.path(), &ContextOptions::new()).unwrap();
    println!(
        "10,000 patterns x 2,000 files: {with_rules:.3} s ({} packed, {} excluded); \
         the same tree with one pattern: {:.3} s",
        context.files().len(),
        context.excluded(),
        start.elapsed().as_secs_f64()
    );
    // The rules alone, in memory: indexed, and testing every pattern.
    let start = std::time::Instant::now();
    let mut rules = Rules::default();
    for line in ignore.lines() {
        rules.add(line).unwrap();
    }
    let paths: Vec<&str> = borrowed.iter().skip(2).map(|(p, _)| *p).collect();
    let indexed: Vec<bool> = paths.iter().map(|p| rules.excluded(p)).collect();
    let indexed_time = start.elapsed().as_secs_f64();
    // Testing every pattern is slow: 100 paths of the 2,000.
    let start = std::time::Instant::now();
    let scanned: Vec<bool> = paths
        .iter()
        .step_by(20)
        .map(|p| rules.excluded_by_scanning_all(p))
        .collect();
    let sampled: Vec<bool> = indexed.iter().step_by(20).copied().collect();
    assert_eq!(sampled, scanned);
    println!(
        "rules alone: read 10,000 lines and decide 2,000 paths: {indexed_time:.3} s indexed; \
         testing every pattern: {:.3} s for 100 of the paths",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn a_bad_pattern_is_quoted_short_whatever_its_length() {
    let long = format!("[{}", "a".repeat(100_000));
    let dir = tree(&[("Dockerfile", "FROM x\n"), (".dockerignore", &long)]);
    let Err(err) = pack(dir.path(), &ContextOptions::new()) else {
        panic!("an unclosed `[` is refused")
    };
    let message = err.to_string();
    assert!(message.contains(".dockerignore line 1"), "{message}");
    assert!(message.len() < 500, "{} bytes", message.len());
}
