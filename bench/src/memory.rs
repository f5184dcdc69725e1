//! Memory while following a long log: a fresh child process streams
//! 1,000,000 lines with `get_logs().into_stream_with_page_size(10_000)` from
//! a bench server (in this process) that makes each page up when asked, and
//! reports its own peak RSS (`VmHWM` of `/proc/self/status`) and lines/s.

use std::pin::pin;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};

use crate::clients;
use crate::payload::AGENT;
use crate::process;
use crate::report::{self, Table};
use crate::server::{BenchServer, Options};

/// Lines followed.
pub const LINES: u64 = 1_000_000;
/// Lines per page.
pub const PAGE: u32 = 10_000;

/// What the child reports.
#[derive(Serialize, Deserialize)]
struct ChildReport {
    lines: u64,
    text_bytes: u64,
    seconds: f64,
    hwm_before_kb: u64,
    hwm_kb: u64,
    rss_kb: u64,
}

/// Starts the server, runs the child, prints what it saw.
pub async fn run() -> anyhow::Result<()> {
    report::heading(&format!(
        "memory: following {} log lines, into_stream_with_page_size({})",
        report::int(LINES as f64),
        report::int(f64::from(PAGE))
    ));
    let server = BenchServer::start(Options {
        log_total: LINES,
        ..Options::default()
    })?;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command.args([
        "memory-child".to_string(),
        server.url(),
        LINES.to_string(),
        PAGE.to_string(),
    ]);
    report::progress("child process streaming");
    let finished = tokio::task::spawn_blocking(move || {
        process::run_ok(&mut command, Duration::from_secs(300))
    })
    .await??;
    let child: ChildReport = serde_json::from_str(finished.stdout.trim())
        .with_context(|| format!("the child printed {:?}", finished.tail()))?;
    let requests = server.counts().requests;
    let mut table = Table::new(&["measure", "value"]);
    table.row(vec![
        "lines received".into(),
        report::int(child.lines as f64),
    ]);
    table.row(vec![
        "requests (pages)".into(),
        report::int(requests as f64),
    ]);
    table.row(vec![
        "lines/s".into(),
        report::int(child.lines as f64 / child.seconds),
    ]);
    table.row(vec![
        "log text received".into(),
        format!("{:.0} MB", child.text_bytes as f64 / 1e6),
    ]);
    table.row(vec![
        "peak RSS (VmHWM) before the first page".into(),
        format!("{:.1} MB", child.hwm_before_kb as f64 / 1024.0),
    ]);
    table.row(vec![
        "peak RSS (VmHWM) at the end".into(),
        format!("{:.1} MB", child.hwm_kb as f64 / 1024.0),
    ]);
    table.row(vec![
        "RSS at the end (VmRSS)".into(),
        format!("{:.1} MB", child.rss_kb as f64 / 1024.0),
    ]);
    table.print();
    println!(
        "  (the child is this binary, `memory-child`: a tokio runtime, one pipecat-api client; the \
         server runs in the parent and makes each ~2 MB page when asked, so its time counts in lines/s)"
    );
    Ok(())
}

/// The child: `memory-child <host> <lines> <page>`; prints a JSON report.
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let [host, lines, page] = args else {
        bail!("usage: memory-child <host> <lines> <page>");
    };
    let expected: u64 = lines.parse()?;
    let page: u32 = page.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let client = clients::pipecat_client(host, None)?;
        let hwm_before_kb = status_kb("VmHWM")?;
        let started = Instant::now();
        let mut stream = pin!(
            client
                .get_logs()
                .agent_name(AGENT)
                .into_stream_with_page_size(page)
        );
        let (mut lines, mut text_bytes) = (0u64, 0u64);
        while let Some(line) = stream.try_next().await? {
            lines += 1;
            text_bytes += line.log.map_or(0, |l| l.len() as u64);
        }
        let seconds = started.elapsed().as_secs_f64();
        if lines != expected {
            bail!("streamed {lines} lines, expected {expected}");
        }
        Ok::<_, anyhow::Error>(ChildReport {
            lines,
            text_bytes,
            seconds,
            hwm_before_kb,
            hwm_kb: status_kb("VmHWM")?,
            rss_kb: status_kb("VmRSS")?,
        })
    })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A `kB` field of `/proc/self/status` (also read by the `pack` part's child).
pub(crate) fn status_kb(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}
