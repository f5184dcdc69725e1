//! `.env` parsing against python-dotenv itself: many generated texts (seeded),
//! each written to a file and read by `dotenv_values` in one Python
//! subprocess, and by `pipecat_api::dotenv::parse_env`. Where python-dotenv
//! accepts a text we must return exactly its pairs, in order; where we refuse
//! on purpose (a key the API refuses, an empty or missing value, a key given
//! twice, `$NAME`/`${NAME}`, a line python-dotenv skips as invalid) we must
//! refuse. Skipped, with a message, when `python3 -c 'import dotenv'` fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Reads each file as `dotenv_values` does (python-dotenv's own functions):
/// the pairs, and per binding its key, value, whether it is an error and the
/// quote its value opened with.
const PYTHON: &str = r#"
import io, json, sys
from dotenv import dotenv_values
from dotenv import parser as p

def quote_of(original):
    r = p.Reader(io.StringIO(original))
    try:
        r.read_regex(p._multiline_whitespace)
        r.read_regex(p._export)
        p.parse_key(r)
        r.read_regex(p._whitespace)
        if r.peek(1) != "=":
            return ""
        r.read_regex(p._equal_sign)
        c = r.peek(1)
        return c if c in ("'", '"') else ""
    except p.Error:
        return ""

out = []
for path in json.load(sys.stdin):
    values = list(dotenv_values(path).items())
    with open(path, encoding="utf-8") as f:
        bindings = [[b.key, b.value, b.error, quote_of(b.original.string)]
                    for b in p.parse_stream(f)]
    out.append({"values": values, "bindings": bindings})
json.dump(out, sys.stdout)
"#;

/// splitmix64: a seeded generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Characters of values: the ones python-dotenv treats specially (quotes,
/// `\`, `#`, `=`, whitespace of several kinds) and some beyond ASCII.
const CHARS: &[&str] = &[
    "a", "b", "Z", "0", "7", "_", "-", " ", " ", "\t", "=", "#", "'", "\"", "\\", "é", "✓", "日本",
    ",", ".", "/", ":", "\u{a0}", "\u{b}", "\u{c}", "!", "%", "&",
];

fn chars(rng: &mut Rng, extra: &[&str], max: usize) -> String {
    let n = rng.below(max + 1);
    (0..n)
        .map(|_| {
            if !extra.is_empty() && rng.chance(20) {
                rng.pick(extra)
            } else {
                rng.pick(CHARS)
            }
        })
        .collect()
}

fn key(rng: &mut Rng, i: usize) -> String {
    match rng.below(60) {
        0 => "MY.KEY".into(),
        1 => format!("k{i}é"),
        2 => "K".repeat(65),
        3..=5 => format!("'Q{i}'"),
        6 => "DUP".into(),
        7..=9 => format!("{i}lives"),
        10..=14 => format!("my-key-{i}"),
        _ => format!("KEY_{i}"),
    }
}

fn value(rng: &mut Rng) -> String {
    match rng.below(40) {
        0 => String::new(),
        1..=3 => rng
            .pick(&[
                "$HOME", "x$NAME", "\"${X}\"", "'${X}'", "'$X'", "5$", "$5", "\\$HOME",
            ])
            .into(),
        4..=12 => format!("'{}'", chars(rng, &["\\'", "\\\\", "\n", "\r\n"], 8)),
        13..=21 => format!(
            "\"{}\"",
            chars(
                rng,
                &[
                    "\\\"", "\\\\", "\\n", "\\t", "\\x", "\\a", "\\'", "\n", "\r"
                ],
                8
            )
        ),
        22 => format!("\"{}", chars(rng, &[], 4)),
        _ => chars(rng, &[], 10),
    }
}

fn text(rng: &mut Rng) -> String {
    let mut out = String::new();
    let lines = 1 + rng.below(6);
    for i in 0..lines {
        match rng.below(40) {
            0..=2 => out.push_str(rng.pick(&["", "  ", "\t"])),
            3..=5 => out.push_str(&format!(
                "{}# {}",
                rng.pick(&["", "  "]),
                chars(rng, &[], 6)
            )),
            6 => out.push_str(&chars(rng, &[], 8)),
            7 => out.push_str(&key(rng, i)),
            _ => {
                out.push_str(rng.pick(&["", "", " ", "\t"]));
                if rng.chance(15) {
                    out.push_str(rng.pick(&["export ", "export\t", "export"]));
                }
                out.push_str(&key(rng, i));
                out.push_str(rng.pick(&["", "", " ", "\t"]));
                out.push('=');
                out.push_str(rng.pick(&["", "", " ", "  "]));
                out.push_str(&value(rng));
                out.push_str(rng.pick(&["", "", " ", "\t "]));
                if rng.chance(15) {
                    out.push_str(rng.pick(&[" # note", "# tight", "\t#", " #"]));
                }
            }
        }
        if i + 1 < lines || rng.chance(70) {
            out.push_str(rng.pick(&["\n", "\n", "\r\n", "\r"]));
        }
    }
    out
}

/// The API's key rule (as `UpsertSecretSetBody::secrets`).
fn api_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether we refuse on purpose what python-dotenv read as `bindings`.
fn deliberately_refused(bindings: &[serde_json::Value]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    for b in bindings {
        let (key, value, error, quote) = (&b[0], &b[1], &b[2], b[3].as_str().unwrap());
        if error.as_bool() == Some(true) {
            return Some("a line python-dotenv skips as invalid".into());
        }
        let Some(key) = key.as_str() else { continue };
        let Some(value) = value.as_str() else {
            return Some(format!("{key:?} has no `=`"));
        };
        if !api_key(key) {
            return Some(format!("key {key:?} breaks the API's rule"));
        }
        if !seen.insert(key.to_owned()) {
            return Some(format!("{key:?} given twice"));
        }
        if value.is_empty() {
            return Some(format!("{key:?} is empty"));
        }
        let name = value
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_'));
        if value.contains("${") || (quote != "'" && name) {
            return Some(format!("{key:?} would substitute a variable"));
        }
    }
    None
}

#[test]
fn parse_env_reads_what_python_dotenv_reads() {
    let has_dotenv = Command::new("python3")
        .args(["-c", "import dotenv"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_dotenv {
        eprintln!("skipped: `python3 -c 'import dotenv'` fails (pip install python-dotenv)");
        return;
    }
    let seed: u64 = std::env::var("DOTENV_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0017);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let texts: Vec<String> = (0..3000).map(|_| text(&mut rng)).collect();
    let paths: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let path = dir.path().join(format!("{i}.env"));
            std::fs::write(&path, t).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();

    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&paths).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed");
    let answers: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answers.len(), texts.len());

    let (mut compared, mut refused) = (0, 0);
    for ((text, path), answer) in texts.iter().zip(&paths).zip(&answers) {
        let ours = pipecat_api::dotenv::read_env_file(path);
        let bindings = answer["bindings"].as_array().unwrap();
        if let Some(why) = deliberately_refused(bindings) {
            assert!(
                ours.is_err(),
                "seed {seed}: {text:?}: accepted, but {why}; python-dotenv: {bindings:?}"
            );
            refused += 1;
            continue;
        }
        let ours: Vec<(String, String)> = match ours {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (k, v.expose_secret().to_owned()))
                .collect(),
            Err(e) => panic!("seed {seed}: {text:?}: refused ({e}); python-dotenv: {bindings:?}"),
        };
        let theirs: Vec<(String, String)> = answer["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().to_owned(),
                    kv[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "seed {seed}: {text:?}");
        compared += 1;
    }
    eprintln!("{compared} texts read alike, {refused} refused on purpose");
    // The generator must exercise both sides.
    assert!(compared > 1000 && refused > 1000, "{compared} / {refused}");
}
