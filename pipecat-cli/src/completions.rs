//! `completions SHELL`: the completion script for bash, zsh, fish,
//! PowerShell or elvish.
//!
//! clap_complete's scripts are used as they come, except one repair: for a
//! binary named with a `-`, its bash script names the root command
//! `pipecat__cloud` where it tracks the words typed but
//! `pipecat__subcmd__cloud` in the branches that complete them, so nothing
//! past the first word ever matched (`pipecat-cloud agent <TAB>` fell back
//! to file names). The repair renames the branches to the name the tracker
//! uses; should clap_complete fix this, the repair finds nothing to rename.

use clap_complete::Shell;

use crate::context::Ctx;
use crate::failure::Failure;

/// The binary's name, as shells see it.
const BIN: &str = "pipecat-cloud";

/// The completion script for `shell`, for the command line `command`.
pub fn script(shell: Shell, mut command: clap::Command) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => repair_bash(&script),
        _ => script,
    }
}

/// Gives every branch of the bash script the root name the word tracker
/// uses (see the module's comment).
fn repair_bash(script: &str) -> String {
    let tracked = BIN.replace('-', "__");
    let mangled = BIN.replace('-', "__subcmd__");
    script.replace(&format!("{mangled}__"), &format!("{tracked}__"))
}

/// Prints the script (or, with `--output json`, `{"shell", "script"}`).
pub fn run(shell: Shell, command: clap::Command, ctx: &Ctx) -> Result<(), Failure> {
    let script = script(shell, command);
    if ctx.out.is_json() {
        ctx.out
            .json(&serde_json::json!({ "shell": shell.to_string(), "script": script }))
    } else {
        ctx.out.line(script.trim_end())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use clap::CommandFactory as _;

    fn cli() -> clap::Command {
        crate::app::Cli::command()
    }

    /// Every branch the bash script's `case "${cmd}"` offers is a name its
    /// word tracker can produce: the defect was branches no word reached.
    #[test]
    fn every_bash_branch_is_reachable_from_the_tracker() {
        let script = script(Shell::Bash, cli());
        let tracked: Vec<&str> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("cmd=\""))
            .filter_map(|l| l.strip_suffix('"'))
            .collect();
        assert!(tracked.contains(&"pipecat__cloud__subcmd__agent__subcmd__logs"));
        let branches: Vec<&str> = script
            .lines()
            .filter(|l| l.starts_with("        ") && !l.starts_with("         "))
            .filter_map(|l| l.trim().strip_suffix(')'))
            .filter(|l| l.starts_with("pipecat"))
            .collect();
        assert!(branches.len() > 10, "{branches:?}");
        for branch in branches {
            assert!(tracked.contains(&branch), "unreachable branch {branch}");
        }
    }

    #[test]
    fn other_shells_are_left_as_generated() {
        for shell in [Shell::Zsh, Shell::Fish] {
            assert!(script(shell, cli()).contains(BIN));
        }
    }
}
