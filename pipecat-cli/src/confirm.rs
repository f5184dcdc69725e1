//! Asking before destructive commands.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use crate::failure::Failure;

/// Goes on when `yes` was given or the user answers yes on a terminal.
/// Without a terminal (and without `--yes`) it refuses at once instead of
/// waiting for input that may never come.
pub fn confirm(action: &str, yes: bool) -> Result<(), Failure> {
    confirm_naming(action, yes, "--yes")
}

/// [`confirm`], naming `flags` as the way to confirm without a terminal.
pub fn confirm_naming(action: &str, yes: bool, flags: &str) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Failure::Refused(format!(
            "not going to {action} without confirmation: no terminal to ask on; \
             pass {flags} to confirm"
        )));
    }
    let mut stderr = std::io::stderr();
    // A prompt that cannot be written or read is a refusal, not a yes.
    let asked = write!(stderr, "{action}? [y/N] ").and_then(|()| stderr.flush());
    let mut answer = String::new();
    let read = asked.and_then(|()| std::io::stdin().lock().read_line(&mut answer));
    match (read, answer.trim().to_ascii_lowercase().as_str()) {
        (Ok(_), "y" | "yes") => Ok(()),
        _ => Err(Failure::Refused(format!("did not {action}: not confirmed"))),
    }
}
