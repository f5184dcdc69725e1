#![allow(clippy::unwrap_used)]

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

/// The warnings, as text; asserts the sentinel is in none.
fn warnings(text: &str) -> Vec<String> {
    let file = EnvFile::parse(text, "bot.env").unwrap();
    let all: Vec<String> = file.warnings.iter().map(ToString::to_string).collect();
    for w in &all {
        assert!(!w.contains(SENTINEL), "value in a warning: {w}");
    }
    assert!(!format!("{:?}", file.warnings).contains(SENTINEL));
    all
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
    // `export` without a space is a key like any other.
    assert_eq!(pairs("export=1\n")[0].0, "export");
}

#[test]
fn unquoted_values_keep_inner_spaces_quotes_and_backslashes() {
    assert_eq!(one("A=hello = world\n"), "hello = world");
    assert_eq!(one("A=it's \"fine\"\n"), "it's \"fine\"");
    assert_eq!(one(r"A=C:\path\n"), r"C:\path\n");
    assert_eq!(one("A=  padded  \n"), "padded");
    assert_eq!(one("A=café ✓ 日本\n"), "café ✓ 日本");
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(one("KEY='a b # c \\n $HOME'\n"), "a b # c \\n $HOME");
    assert_eq!(one("KEY=\"a b # c\"\n"), "a b # c");
    assert_eq!(
        one(r#"KEY="say \"hi\"\nnext \\ \t \q \$5""#),
        "say \"hi\"\nnext \\ \t \\q \\$5"
    );
    assert_eq!(one(r#"KEY="\a\b\f\r\v\'""#), "\u{7}\u{8}\u{c}\r\u{b}'");
    assert_eq!(one("KEY=\"it's\"\n"), "it's");
    assert_eq!(one("KEY='say \"hi\"'\n"), "say \"hi\"");
    assert_eq!(one(r"KEY='back\slash\$ \\ \''"), r"back\slash\$ \ '");
    // A `\` before the closing quote escapes it, as in python-dotenv; at the
    // end of the text the value closes at that last escaped quote.
    assert_eq!(one(r#"KEY="a\\""#), "a\\");
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
    assert_eq!(one("KEY=val#ue # c # d\n"), "val#ue");
    assert_eq!(one("KEY=\"quoted\" # a comment\n"), "quoted");
    assert_eq!(one("KEY=\"quoted\"# a comment\n"), "quoted");
    // python-dotenv's rule: the spaces after `=` are not part of the value,
    // so this `#` starts the value, not a comment.
    assert_eq!(one("KEY= #not-a-comment\n"), "#not-a-comment");
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
    // Line ends inside quotes are read as Python reads a text file.
    assert_eq!(one("K='one\r\ntwo\rthree'\n"), "one\ntwo\nthree");
    assert_eq!(one("K=\"\\r\"\r\n"), "\r");
}

#[test]
fn crlf_lone_cr_bom_and_no_final_newline() {
    assert_eq!(
        pairs("\u{feff}A=1\r\nB=2\r\n")[1],
        ("B".to_owned(), "2".to_owned())
    );
    assert_eq!(one("A=1 "), "1");
    assert_eq!(one("A=1"), "1");
    // A lone CR ends a line: two entries, not one value "1\rB=2".
    assert_eq!(
        pairs("A=1\rB=2\r"),
        [("A", "1"), ("B", "2")].map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let e = error("A=1\rB=\r\nC=3\n\rD=");
    assert!(e.contains("secrets.env:2: B: empty value"), "{e}");
    assert!(e.contains("secrets.env:5: D: empty value"), "{e}");
}

#[test]
fn keys_follow_the_api_rule() {
    assert_eq!(pairs("MY-KEY=v\n")[0].0, "MY-KEY");
    assert_eq!(pairs("9LIVES=v\n")[0].0, "9LIVES");
    assert_eq!(pairs("'QUOTED'=v\n")[0].0, "QUOTED");
    let key = "K".repeat(64);
    assert_eq!(pairs(&format!("{key}=v\n"))[0].0, key);
    for bad in ["MY.KEY", "KÉY", "a/b", &"K".repeat(65)] {
        let e = error(&format!("{bad}={SENTINEL}\n"));
        assert!(e.contains("a secret key is 1-64 letters"), "{bad}: {e}");
    }
    let e = error(&format!("'MY KEY'={SENTINEL}\n"));
    assert!(e.contains("secrets.env:1: the key (not shown"), "{e}");
}

#[test]
fn variables_are_refused_with_their_line() {
    // $PATH is set in any test run: it must never come out.
    for (text, line) in [
        ("KEY=$PATH\n", 1),
        ("A=1\nKEY=\"${PATH}\"\n", 2),
        ("A=1\n\n# $comment\nKEY=x$PATH\n", 4),
        ("KEY='${PATH}'\n", 1),
        ("KEY=\\$PATH\n", 1),
        ("KEY=\"a\\$_X\"\n", 1),
        ("KEY=${\n", 1),
    ] {
        let e = error(text);
        assert!(
            e.contains(&format!(
                "secrets.env:{line}: KEY: `$NAME` or `${{NAME}}` would substitute"
            )),
            "{text:?}: {e}"
        );
    }
    assert_eq!(one("KEY='$PATH'\n"), "$PATH");
    assert_eq!(one("KEY=costs 5$ or $5 or $\n"), "costs 5$ or $5 or $");
    assert_eq!(one("KEY=1 # costs $HOME\n"), "1");
}

#[test]
fn every_error_names_file_and_line_but_never_the_value() {
    let cases: [(String, &str); 10] = [
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
            format!("A=1\nKEY {SENTINEL}\n"),
            "secrets.env:2: unexpected text after the key",
        ),
        (format!("A=1\n{SENTINEL}\n"), "secrets.env:2: no `=`"),
        (
            format!("A=1\n\nKEY=\"{SENTINEL}\nB=2\n"),
            "secrets.env:3: the value's opening `\"` is not closed",
        ),
        (
            format!("A=1\nKEY='{SENTINEL}' {SENTINEL}\n"),
            "secrets.env:2: unexpected text after the key or the closing quote",
        ),
        (format!("={SENTINEL}\n"), "secrets.env:1: no key"),
    ];
    for (text, expected) in cases {
        let e = error(&text);
        assert!(e.contains(expected), "{text:?}: {e}");
    }
}

#[test]
fn a_bad_line_does_not_swallow_the_next() {
    let e = error(&format!("A=\"{SENTINEL}\nB=2\nC='x\n"));
    assert!(e.contains("secrets.env:1:"), "{e}");
    assert!(e.contains("secrets.env:3:"), "{e}");
    assert!(!e.contains("secrets.env:2:"), "{e}");
}

#[test]
fn all_problems_are_reported_and_nothing_returned() {
    let e = error(&format!("A=\nB {SENTINEL}\nC={SENTINEL}\nC={SENTINEL}\n"));
    assert!(e.contains("secrets.env:1: A: empty value"), "{e}");
    assert!(e.contains("; secrets.env:2: unexpected text"), "{e}");
    assert!(
        e.contains("; secrets.env:4: C: given twice (first on line 3)"),
        "{e}"
    );
}

#[test]
fn values_never_show_in_debug() {
    let all = parse_env(&format!("A={SENTINEL}\n"), ".env").unwrap();
    assert!(!format!("{all:?}").contains(SENTINEL));
    let file = EnvFile::parse(&format!("A='{SENTINEL}'\n"), ".env").unwrap();
    assert!(!format!("{file:?}").contains(SENTINEL));
}

#[test]
fn warnings_where_the_official_cli_stores_another_value() {
    // Lines it reads the same way: no warning.
    for same in [
        "A=plain\n",
        "A = spaced value = here \n",
        "A=\"double quoted\"\n",
        "A=it's\n",
        "  A=x\r\n",
        "A=\"x\" \n",
    ] {
        assert_eq!(warnings(same), Vec::<String>::new(), "{same:?}");
    }
    let cases = [
        (
            format!("A=1\nB='{SENTINEL}'\n"),
            "bot.env:2: B: ",
            "keeps single quotes",
        ),
        (
            format!("B={SENTINEL} # note\n"),
            "bot.env:1: B: ",
            "keeps a comment",
        ),
        (
            format!("B=\"{SENTINEL}\" # note\n"),
            "bot.env:1: B: ",
            "keeps a comment",
        ),
        (
            format!("B=\"{SENTINEL}\\n\"\n"),
            "bot.env:1: B: ",
            "does not decode escapes",
        ),
        (
            format!("\nB=\"{SENTINEL}\nx\"\n"),
            "bot.env:2: B: ",
            "reads each line on its own",
        ),
        (
            format!("export B={SENTINEL}\n"),
            "bot.env:1: B: ",
            "refuse this key",
        ),
        (
            format!("'B'={SENTINEL}\n"),
            "bot.env:1: B: ",
            "refuse this key",
        ),
    ];
    for (text, at, why) in cases {
        let all = warnings(&text);
        assert_eq!(all.len(), 1, "{text:?}: {all:?}");
        assert!(
            all[0].starts_with(at) && all[0].contains(why),
            "{text:?}: {all:?}"
        );
    }
    // The pairs themselves are python-dotenv's.
    assert_eq!(one("B='x' # c\n"), "x");
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
    std::fs::write(&path, "A=1\nB='2'\n").unwrap();
    assert_eq!(read_env_file(&path).unwrap()[0].0, "A");
    let file = EnvFile::read(&path).unwrap();
    assert_eq!(file.warnings.len(), 1);
    assert_eq!(file.warnings[0].line, 2);
    // Local I/O, not a refusal: the CLI exits 1, not 2 ("usage").
    let e = read_env_file(dir.join("missing.env")).unwrap_err();
    assert!(
        matches!(&e, crate::Error::Io { path, .. } if path == &dir.join("missing.env")),
        "{e:?}"
    );
    // A directory is no better.
    let e = read_env_file(&dir).unwrap_err();
    assert!(matches!(&e, crate::Error::Io { .. }), "{e:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file of bad lines is refused with the first 20 problems and a count,
/// not a message as long as the file.
#[test]
fn many_problems_are_listed_up_to_twenty() {
    let text = "=x\n".repeat(100_000);
    let e = parse_env(&text, "big.env").unwrap_err().to_string();
    assert!(e.contains("big.env:20: no key"), "{e}");
    assert!(!e.contains("big.env:21:"), "{e}");
    assert!(e.ends_with("; and 99980 more"), "{e}");
}

/// Time this thread has run on a CPU (from `/proc/thread-self/schedstat`), so
/// a busy machine does not inflate the figure; `None` where there is none.
fn thread_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

/// Prints the time to parse a 1,000,000-line (12 MB) file:
/// `cargo test -p pipecat-api --lib dotenv::tests::time_a_large_file -- --ignored --nocapture`
/// (`DOTENV_LINES` sets the number of lines). Wall time and this thread's
/// CPU time; nothing asserted.
#[test]
#[ignore = "measurement: prints the time to parse a large file"]
fn time_a_large_file() {
    let lines: usize = std::env::var("DOTENV_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut text = String::new();
    for i in 0..lines {
        text.push_str(&format!("K{i:07}=v{}\n", i % 10));
    }
    let (wall, cpu) = (std::time::Instant::now(), thread_cpu());
    let n = parse_env(&text, ".env").unwrap().len();
    let cpu = thread_cpu().zip(cpu).map(|(after, before)| after - before);
    eprintln!(
        "{} bytes, {n} entries: {:?} wall, {cpu:?} CPU",
        text.len(),
        wall.elapsed()
    );
}

/// A FIFO where the file is expected is refused at once, not read forever.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let err = EnvFile::read(&path).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}
