//! Instructions per call, counted by valgrind's callgrind: where wall-clock
//! ratios on a shared 2-core machine wobble by several percent, instruction
//! counts repeat to a fraction of a percent, so they show a per-call
//! overhead of a few percent reliably.
//!
//! Each (client, call) runs in a fresh child process under callgrind, once
//! with `n1` calls and once with `n2`; (Ir(n2) − Ir(n1)) / (n2 − n1) is the
//! cost of one call with start-up taken out. The child runs a
//! current-thread runtime, so all of the client's work (hyper's connection
//! task included) is counted; the server runs here, uncounted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::clients::{BenchClient, Call, Kind};
use crate::process;
use crate::report::{self, Table};
use crate::server::{BenchServer, Options};
use crate::stats;

/// Runs every (client, call) pair under callgrind and prints the table.
pub async fn run() -> anyhow::Result<()> {
    tokio::task::spawn_blocking(measure).await?
}

fn calls(call: Call) -> (u32, u32) {
    match call {
        Call::GetLogs => (2, 6),
        _ => (100, 300),
    }
}

fn measure() -> anyhow::Result<()> {
    report::heading("instructions per call (valgrind --tool=callgrind), no network noise");
    let version = process::run(
        Command::new("valgrind").arg("--version"),
        Duration::from_secs(10),
    );
    let Ok(version) = version.map(|v| v.stdout.trim().to_string()) else {
        println!("  skipped: valgrind is not installed");
        return Ok(());
    };
    let server = BenchServer::start(Options::default())?;
    let exe = std::env::current_exe()?;
    let out_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the executable has no grandparent directory")?
        .join("pipecat-bench-callgrind");
    std::fs::create_dir_all(&out_dir)?;
    println!(
        "  {version}; each pair: a child with n1 and one with n2 calls, (Ir(n2) - Ir(n1)) / (n2 - n1)"
    );

    let mut table = Table::new(&[
        "call",
        "n1/n2",
        "hyper",
        "reqwest",
        "pipecat-api",
        "reqwest/floor",
        "pipecat/floor",
        "pipecat vs reqwest",
    ]);
    for call in Call::ALL {
        let (n1, n2) = calls(call);
        let mut per_call = Vec::new();
        for kind in Kind::ALL {
            report::progress(&format!("{} {}", kind.name(), call.id()));
            let file = |n: u32| out_dir.join(format!("{}-{}-{n}.out", kind.name(), call.id()));
            let a = callgrind(&exe, kind, call, n1, &server.url(), &file(n1))?;
            let b = callgrind(&exe, kind, call, n2, &server.url(), &file(n2))?;
            per_call.push(b.saturating_sub(a) as f64 / f64::from(n2 - n1));
        }
        let [hyper, reqwest, pipecat] = [per_call[0], per_call[1], per_call[2]];
        table.row(vec![
            call.name().to_string(),
            format!("{n1}/{n2}"),
            report::int(hyper),
            report::int(reqwest),
            report::int(pipecat),
            report::times(stats::ratio(reqwest, hyper)),
            report::times(stats::ratio(pipecat, hyper)),
            report::percent(stats::ratio(pipecat, reqwest)),
        ]);
    }
    table.print();
    println!(
        "  callgrind files: {}/<client>-<call>-<n>.out (e.g. `callgrind_annotate --inclusive=yes FILE`)",
        out_dir.display()
    );
    Ok(())
}

/// Runs `n` calls in a child under callgrind; its total instruction count.
fn callgrind(
    exe: &Path,
    kind: Kind,
    call: Call,
    n: u32,
    url: &str,
    out: &PathBuf,
) -> anyhow::Result<u64> {
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(["calls-child", kind.name(), call.id(), &n.to_string(), url]);
    process::run_ok(&mut command, Duration::from_secs(300))?;
    let text = std::fs::read_to_string(out)?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no totals in {}", out.display()))
}

/// The child: `calls-child <client> <call> <n> <url>`.
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let [kind, call, n, url] = args else {
        bail!("usage: calls-child <client> <call> <n> <url>");
    };
    let (kind, call, n) = (Kind::parse(kind)?, Call::parse(call)?, n.parse::<u32>()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = BenchClient::new(kind, url)?;
        for _ in 0..n {
            client.call(call).await?;
        }
        Ok(())
    })
}
