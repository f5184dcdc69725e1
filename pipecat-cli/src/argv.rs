//! The official CLI's multi-letter short flags (`deploy -min 1 -max 5 -nc`).
//!
//! clap cannot declare a short flag of more than one letter, and would read
//! `-min` as `-m -i -n`. So before parsing, these three are rewritten to
//! their long forms, and only where the official CLI takes them: as an
//! option of `deploy`, not as the value of another option, not after `--`.

use std::ffi::OsString;

/// The official `deploy`'s multi-letter short flags and their long forms.
const DEPLOY_SHORTS: [(&str, &str); 3] = [
    ("-min", "--min-agents"),
    ("-max", "--max-agents"),
    ("-nc", "--no-credentials"),
];

/// Options (global or `deploy`'s) whose next argument is their value, so a
/// `-min` there is a value, not a flag.
const TAKES_VALUE: [&str; 32] = [
    "--output",
    "--host",
    "--api-key-file",
    "--public-key-file",
    "--organization",
    "-o",
    "--config-file",
    "--config",
    "--credentials",
    "-c",
    "--secrets",
    "-s",
    "--region",
    "-r",
    "--min-agents",
    "--max-agents",
    "--krisp-viva-audio-filter",
    "--profile",
    "-p",
    "--resources",
    "--architecture",
    "--max-session-duration",
    "--build-dir",
    "-d",
    "--dockerfile",
    "--build-id",
    "-b",
    "--repo",
    "--branch",
    "--dockerfile-path",
    "--subdirectory",
    "--allow-secret",
];

/// `args` (the program name first) with the official multi-letter short
/// flags of `deploy` rewritten to their long forms; everything else as is.
pub fn official_shorts<I>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = OsString>,
{
    let mut out: Vec<OsString> = Vec::new();
    // Whether the command word `deploy` has been seen, and whether the
    // previous argument was an option waiting for its value.
    let mut in_deploy = false;
    let mut seen_command = false;
    let mut value_next = false;
    let mut ended = false;
    for (i, arg) in args.into_iter().enumerate() {
        let text = arg.to_str().map(str::to_owned);
        let Some(text) = text.filter(|_| i > 0 && !ended) else {
            out.push(arg);
            continue;
        };
        if value_next {
            value_next = false;
            out.push(arg);
            continue;
        }
        if text == "--" {
            ended = true;
            out.push(arg);
            continue;
        }
        if in_deploy && let Some((_, long)) = DEPLOY_SHORTS.iter().find(|(short, _)| *short == text)
        {
            out.push(OsString::from(*long));
            continue;
        }
        if text.starts_with('-') {
            value_next = TAKES_VALUE.contains(&text.as_str());
        } else if !seen_command {
            seen_command = true;
            in_deploy = text == "deploy";
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let args = std::iter::once("pipecat-cloud")
            .chain(args.iter().copied())
            .map(OsString::from);
        official_shorts(args)
            .into_iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn deploy_shorts_become_long_flags() {
        assert_eq!(
            rewrite(&["deploy", "a", "img:1", "-min", "1", "-max", "5", "-nc"]),
            [
                "deploy",
                "a",
                "img:1",
                "--min-agents",
                "1",
                "--max-agents",
                "5",
                "--no-credentials"
            ]
        );
        // The value of an option that takes one is left as it is.
        assert_eq!(
            rewrite(&["deploy", "--allow-secret", "-nc", "-nc"]),
            ["deploy", "--allow-secret", "-nc", "--no-credentials"]
        );
        // Global options before the command word.
        assert_eq!(
            rewrite(&["--output", "json", "deploy", "-nc"]),
            ["--output", "json", "deploy", "--no-credentials"]
        );
    }

    #[test]
    fn only_in_the_positions_the_official_cli_takes_them() {
        // Not outside deploy.
        assert_eq!(
            rewrite(&["agent", "logs", "a", "-min"]),
            ["agent", "logs", "a", "-min"]
        );
        // Not as the value of another option.
        assert_eq!(
            rewrite(&["deploy", "--secrets", "-nc", "-s", "-min"]),
            ["deploy", "--secrets", "-nc", "-s", "-min"]
        );
        // Not after `--`.
        assert_eq!(rewrite(&["deploy", "--", "-nc"]), ["deploy", "--", "-nc"]);
        // A value named `deploy` is not the command word.
        assert_eq!(
            rewrite(&["--host", "deploy", "secrets", "-nc"]),
            ["--host", "deploy", "secrets", "-nc"]
        );
        // A word after the command is not a command.
        assert_eq!(
            rewrite(&["agent", "deploy", "-nc"]),
            ["agent", "deploy", "-nc"]
        );
    }
}
