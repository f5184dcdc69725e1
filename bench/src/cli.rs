//! `pipecat-cloud` (pipecat-cli) from process start to exit: `--help`, and
//! `regions list` against a pipecat-fake on 127.0.0.1, beside the official
//! CLI's `pcc --help` from the bench's virtualenv (see [`crate::python`]),
//! in interleaved rounds. Target: ≤ 20 ms for ours.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::python;
use crate::report::{self, Table};
use crate::stats;

/// Interleaved rounds; each runs every command once, in a rotating order.
const ROUNDS: usize = 20;
/// Ours should start, answer and exit within this.
const TARGET_MS: f64 = 20.0;

/// `target/release/pipecat-cloud` beside this binary, built if missing.
fn our_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the bench executable has no directory")?;
    let binary = dir.join("pipecat-cloud");
    if !binary.exists() {
        report::progress("cargo build --release -p pipecat-cli (pipecat-cloud is not built)");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        crate::process::run_ok(
            Command::new(cargo).args(["build", "--release", "-p", "pipecat-cli"]),
            Duration::from_secs(1800),
        )?;
    }
    if !binary.exists() {
        bail!("{} is missing after building pipecat-cli", binary.display());
    }
    Ok(binary)
}

/// One run of `command`, start to exit, in ms; a failure is an error.
/// (Not `process::run`: it polls every 20 ms, coarser than what is measured.)
fn time(command: &mut Command) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(ms)
}

/// A command to time, by name.
struct Case {
    name: String,
    make: Box<dyn Fn() -> Command + Send>,
    ms: Vec<f64>,
}

pub async fn run() -> anyhow::Result<()> {
    report::heading("cli: pipecat-cloud start to exit, beside the official `pcc`");
    let ours = tokio::task::spawn_blocking(our_binary).await??;
    let fake = pipecat_fake::FakeCloud::start().await?;
    let (url, key) = (fake.url(), fake.private_key().to_string());

    let help = ours.clone();
    let regions = ours.clone();
    let mut cases = vec![
        Case {
            name: "pipecat-cloud --help".into(),
            make: Box::new(move || {
                let mut c = Command::new(&help);
                c.arg("--help");
                c
            }),
            ms: Vec::new(),
        },
        Case {
            name: "pipecat-cloud regions list (fake)".into(),
            make: Box::new(move || {
                let mut c = Command::new(&regions);
                c.args(["regions", "list"])
                    .env("PIPECAT_API_HOST", &url)
                    .env("PIPECAT_API_KEY", &key);
                c
            }),
            ms: Vec::new(),
        },
    ];
    let pcc = match tokio::task::spawn_blocking(official).await? {
        Ok(pcc) => Some(pcc),
        Err(why) => {
            println!("  the official CLI is not measured: {why:#}");
            None
        }
    };
    if let Some((name, program, args)) = pcc {
        cases.push(Case {
            name,
            make: Box::new(move || {
                let mut c = Command::new(&program);
                c.args(&args);
                c
            }),
            ms: Vec::new(),
        });
    }

    report::progress(&format!("{ROUNDS} interleaved rounds"));
    let cases = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Case>> {
        // One warm-up each (page cache, the venv's .pyc files).
        for case in &cases {
            time(&mut (case.make)())?;
        }
        for round in 0..ROUNDS {
            let n = cases.len();
            for i in 0..n {
                let case = &mut cases[(i + round) % n];
                let ms = time(&mut (case.make)())?;
                case.ms.push(ms);
            }
        }
        Ok(cases)
    })
    .await??;
    drop(fake);

    let base = stats::median(&cases[0].ms);
    let mut table = Table::new(&[
        "command",
        "median",
        "min",
        "max",
        "vs pipecat-cloud --help",
        "target ≤ 20 ms",
    ]);
    for (i, case) in cases.iter().enumerate() {
        let median = stats::median(&case.ms);
        let (min, max) = stats::range(&case.ms);
        let target = if i < 2 {
            report::verdict(median <= TARGET_MS).to_string()
        } else {
            "-".to_string()
        };
        table.row(vec![
            case.name.clone(),
            format!("{median:.1} ms"),
            format!("{min:.1} ms"),
            format!("{max:.1} ms"),
            report::times(stats::ratio(median, base)),
            target,
        ]);
    }
    table.print();
    println!("  process start to exit, wall clock, {ROUNDS} rounds after one warm-up each");
    Ok(())
}

/// The official CLI's `--help`: `pcc` from the bench's virtualenv, or,
/// where `pipecatcloud` ships its CLI only as a `pipecat cloud` extension
/// (1.4 does: no `pcc` entry point), its Typer app run the way the entry
/// point would (`python -c`, the app called with `--help`).
fn official() -> anyhow::Result<(String, PathBuf, Vec<String>)> {
    let dir = python::venv()?;
    let pcc = Path::new(&dir).join("bin").join("pcc");
    if pcc.exists() {
        return Ok((
            "pcc --help (official, Python)".into(),
            pcc,
            vec!["--help".into()],
        ));
    }
    let python = Path::new(&dir).join("bin").join("python");
    let script = "import sys; sys.argv[0] = 'pcc'; \
                  from pipecatcloud.cli.entry_point import entrypoint_cli_typer as app; app()";
    Ok((
        "official CLI --help (pipecatcloud's app; no pcc entry point)".into(),
        python,
        vec!["-c".into(), script.into(), "--help".into()],
    ))
}
