//! `deploy`: a refused value given by a flag is named by that flag, and a
//! dry run fails on an unreadable `--api-key-file`; nothing is sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pipecat_fake::FakeCloud;

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_refused_value_names_the_flag_that_gave_it() {
    let fake = FakeCloud::start().await.unwrap();
    // No pcc-deploy.toml here: every value comes from the command line.
    let dir = temp_dir("deploy-flags");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--max-session-duration", "5"],
            "--max-session-duration: must be between 60 and 14400 (got 5)",
        ),
        (
            &["--krisp-viva-audio-filter", ""],
            "--krisp-viva-audio-filter: must not be empty",
        ),
        (&["--credentials", ""], "--credentials: must not be empty"),
        (
            &["--resources", "cpu=lots,memory=4Gi"],
            "--resources: give a number with an optional unit",
        ),
        (&["--build-dir", ""], "--build-dir: must not be empty"),
        (&["--dockerfile", ""], "--dockerfile: must not be empty"),
    ];
    for (flag, said) in cases {
        let mut args = vec!["deploy", "flag-bot", "example/bot:1"];
        args.extend_from_slice(flag);
        let mut cmd = command(&fake, &args);
        cmd.current_dir(&dir);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{flag:?}: {}", stderr(&out));
    }
    assert_eq!(fake.request_count(), 0, "a refused config reached the API");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_dry_run_with_an_unreadable_api_key_file_fails_naming_it() {
    let fake = FakeCloud::start().await.unwrap();
    let dir = temp_dir("deploy-key-file");
    let missing = dir.join("no-such-key");
    let missing = missing.to_str().unwrap();
    let mut cmd = command(
        &fake,
        &[
            "--api-key-file",
            missing,
            "deploy",
            "key-bot",
            "example/bot:1",
            "--dry-run",
        ],
    );
    cmd.current_dir(&dir);
    let out = run(cmd).await;
    // Local I/O, not usage: exit 1, naming the file.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot use {missing}: ")),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(fake.request_count(), 0);
    std::fs::remove_dir_all(&dir).ok();
}
