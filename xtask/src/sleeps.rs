//! The sleep check: every pause of the library and the CLI is in the one
//! poller (`jobs/poll.rs`) or the one retry loop (`runtime/retry.rs`), so
//! that back-off, jitter and deadlines are written once and tests can drive
//! them with a paused clock.
//!
//! Scanned: the hand-written `.rs` files of `pipecat-api/src` and
//! `pipecat-cli/src`, without `generated.rs`, test files (`tests.rs`,
//! `*_tests.rs`) and each file's `#[cfg(test)]` module (from that line to
//! the end of the file), and without `//` comments. Flagged: a call of
//! `sleep(`, `sleep_until(` or `interval(` (as a whole name, so
//! `poll_interval(` is not one) and `thread::sleep`.

use std::fs;
use std::path::{Path, PathBuf};

/// The source folders scanned, from the workspace root.
pub const SCANNED: [&str; 2] = ["pipecat-api/src", "pipecat-cli/src"];

/// The only files that may pause, from the workspace root.
pub const ALLOWED: [&str; 2] = [
    "pipecat-api/src/jobs/poll.rs",
    "pipecat-api/src/runtime/retry.rs",
];

/// The names whose call is a pause.
const PAUSES: [&str; 3] = ["sleep", "sleep_until", "interval"];

/// Each pause outside [`ALLOWED`], as `path:line: code`.
pub fn pauses_outside_the_poller(workspace: &Path) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for dir in SCANNED {
        let mut files = Vec::new();
        rust_files(&workspace.join(dir), &mut files)?;
        files.sort();
        for file in files {
            let shown = file
                .strip_prefix(workspace)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            if ALLOWED.contains(&shown.as_str()) || !hand_written_code(&file) {
                continue;
            }
            let text = fs::read_to_string(&file).map_err(|e| format!("{shown}: {e}"))?;
            for (number, line) in pauses(&text) {
                found.push(format!("{shown}:{number}: {}", line.trim()));
            }
        }
    }
    Ok(found)
}

/// Whether `file` is hand-written code rather than generated or test code.
fn hand_written_code(file: &Path) -> bool {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name != "generated.rs" && name != "tests.rs" && !name.ends_with("_tests.rs")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The lines of `text` (1-based numbers) that call a pause, before its
/// `#[cfg(test)]` module, comments left out.
fn pauses(text: &str) -> Vec<(usize, &str)> {
    let code = match text.find("\n#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.split("//").next().unwrap_or("");
            line.contains("thread::sleep") || PAUSES.iter().any(|name| calls(line, name))
        })
        .map(|(i, line)| (i + 1, line))
        .collect()
}

/// Whether `line` calls `name(` as a whole name.
fn calls(line: &str, name: &str) -> bool {
    let call = format!("{name}(");
    line.match_indices(&call).any(|(at, _)| {
        line[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_found_as_calls_outside_comments_and_tests() {
        let text = "fn a() {\n    tokio::time::sleep(d).await;\n    let x = poll_interval(d);\n    \
                    // sleep(d) in a comment\n    std::thread::sleep(d);\n    \
                    let t = tokio::time::interval(d);\n}\n#[cfg(test)]\nmod tests { fn b() { sleep(d) } }\n";
        let lines: Vec<usize> = pauses(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(lines, [2, 5, 6]);
        assert!(!hand_written_code(Path::new("src/generated.rs")));
        assert!(!hand_written_code(Path::new("src/x/hostile_tests.rs")));
        assert!(hand_written_code(Path::new("src/jobs/poll.rs")));
    }

    #[test]
    fn every_pause_is_in_the_poller_or_the_retry_loop() {
        let found = pauses_outside_the_poller(&crate::workspace_root()).unwrap_or_else(|e| vec![e]);
        assert!(
            found.is_empty(),
            "pauses outside {ALLOWED:?} (use the poller, jobs/poll.rs, or the retry loop):\n{}",
            found.join("\n")
        );
    }
}
