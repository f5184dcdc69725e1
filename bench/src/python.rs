//! The official Python SDK (`pipecatcloud` from PyPI) starting sessions
//! against the same bench servers, beside pipecat-api: on plain HTTP (in
//! alternating batches), then over the TLS link with its 20 ms round trip.
//!
//! The SDK starts a session with `Session(agent, key, params).start()`,
//! which opens a new `aiohttp.ClientSession` per call, so every call
//! connects (and, over TLS, shakes hands) anew. It is installed into a
//! virtualenv beside the target directory (`target/pipecat-bench-venv`) on
//! first use; where python3 or PyPI is missing, the part says why and ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::clients::{self, PUBLIC_KEY};
use crate::latency::{self, Link, Observed};
use crate::payload::AGENT;
use crate::process;
use crate::report::{self, Table};
use crate::server::{BenchServer, Options};
use crate::stats;

/// The script each batch runs, written beside the virtualenv.
const SCRIPT: &str = include_str!("../python/start_sessions.py");
/// Calls per batch.
const CALLS: usize = 200;
/// Alternating batches per client on plain HTTP.
const ROUNDS: usize = 3;

/// A virtualenv with the SDK installed.
pub struct Python {
    /// The virtualenv's interpreter.
    pub python: PathBuf,
    script: PathBuf,
    /// The virtualenv.
    pub dir: PathBuf,
}

/// What one batch of the Python script reported.
#[derive(Deserialize)]
struct Batch {
    sdk: String,
    aiohttp: String,
    python: String,
    durations_us: Vec<f64>,
    wall_s: f64,
}

/// Runs both comparisons and prints what they saw.
pub async fn run() -> anyhow::Result<()> {
    report::heading(
        "python: the official SDK (pipecatcloud) starting sessions, beside pipecat-api",
    );
    let python = match tokio::task::spawn_blocking(prepare).await? {
        Ok(python) => python,
        Err(why) => {
            println!("  skipped: the Python SDK is not usable here: {why:#}");
            return Ok(());
        }
    };

    // Plain HTTP, alternating batches.
    let server = BenchServer::start(Options::default())?;
    let client = clients::pipecat_client(&server.url(), None)?;
    clients::start_session(&client).await?;
    let mut ours: Vec<f64> = Vec::new();
    let mut theirs: Vec<f64> = Vec::new();
    let (mut our_rates, mut their_rates) = (Vec::new(), Vec::new());
    let (mut our_conns, mut their_conns) = (0, 0);
    let mut versions = String::new();
    for round in 0..ROUNDS {
        report::progress(&format!(
            "plain HTTP round {}/{ROUNDS}: {CALLS} starts each",
            round + 1
        ));
        for i in 0..2 {
            let before = server.counts();
            if (i + round) % 2 == 0 {
                let started = Instant::now();
                for _ in 0..CALLS {
                    let t = Instant::now();
                    clients::start_session(&client).await?;
                    ours.push(t.elapsed().as_secs_f64() * 1e6);
                }
                our_rates.push(CALLS as f64 / started.elapsed().as_secs_f64());
                our_conns += server.counts().since(&before).connections;
            } else {
                let batch = python.batch(&server.url(), None).await?;
                their_rates.push(CALLS as f64 / batch.wall_s);
                theirs.extend(&batch.durations_us);
                their_conns += server.counts().since(&before).connections;
                versions = format!(
                    "pipecatcloud {} (aiohttp {}, Python {})",
                    batch.sdk, batch.aiohttp, batch.python
                );
            }
        }
    }
    println!("  {versions}; venv {}", python.dir.display());
    println!(
        "  Plain HTTP on 127.0.0.1, {ROUNDS} alternating batches of {CALLS} sequential starts each \
         (Python: timed inside the script, interpreter start-up excluded):"
    );
    let mut table = Table::new(&[
        "client",
        "p50",
        "p99",
        "calls/s",
        "TCP conns",
        "vs pipecat-api (p50)",
    ]);
    let ours_p50 = stats::median(&ours);
    for (name, samples, rates, conns) in [
        ("pipecat-api", &ours, &our_rates, our_conns),
        ("pipecatcloud (Python)", &theirs, &their_rates, their_conns),
    ] {
        let p50 = stats::median(samples);
        table.row(vec![
            name.to_string(),
            report::micros(p50),
            report::micros(stats::quantile(samples, 0.99)),
            report::int(stats::median(rates)),
            format!("{conns} for {} calls", samples.len()),
            report::times(stats::ratio(p50, ours_p50)),
        ]);
    }
    table.print();
    drop(server);

    // The TLS link.
    report::progress(&format!("TLS + 20 ms RTT: {CALLS} starts each"));
    let link = Link::start()?;
    let starter = link.pipecat()?;
    let ours = latency::sequential_starts(&[(&link, &starter)], CALLS)
        .await?
        .pop()
        .context("no run")?;
    let cert = python.dir.join("bench-cert.pem");
    std::fs::write(&cert, &link.cert.pem)?;
    let (server_before, proxy_before) = link.counts();
    let batch = python.batch(&link.url(), Some(&cert)).await?;
    let (server_after, proxy_after) = link.counts();
    let theirs = Observed {
        latencies_ms: batch.durations_us.iter().map(|us| us / 1000.0).collect(),
        wall: Duration::from_secs_f64(batch.wall_s),
        connections: proxy_after - proxy_before,
        server: server_after.since(&server_before),
    };
    println!(
        "  TLS (rustls server, self-signed cert via SSL_CERT_FILE for Python) behind the 10 ms/direction proxy, \
         {CALLS} sequential starts each (fresh client; p50/p99 over all calls):"
    );
    let mut table = Table::new(&latency::COLUMNS);
    table.row(ours.row("pipecat-api", 0, true));
    table.row(theirs.row("pipecatcloud (Python)", 0, true));
    table.print();
    println!(
        "  (The proxy cannot delay TCP's own handshake, so each new connection costs one RTT less \
         here than on a real link: the SDK's per-call connections cost more in practice.)"
    );
    Ok(())
}

impl Python {
    /// Runs one batch of [`CALLS`] starts against `host`.
    async fn batch(&self, host: &str, cert: Option<&Path>) -> anyhow::Result<Batch> {
        let mut command = Command::new(&self.python);
        command
            .arg(&self.script)
            .args(["--agent", AGENT, "--key", PUBLIC_KEY, "--count"])
            .arg(CALLS.to_string())
            .env("PIPECAT_API_HOST", host)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(cert) = cert {
            command.env("SSL_CERT_FILE", cert);
        }
        let finished = tokio::task::spawn_blocking(move || {
            process::run_ok(&mut command, Duration::from_secs(180))
        })
        .await??;
        let batch: Batch = serde_json::from_str(finished.stdout.trim())
            .with_context(|| format!("the script printed {:?}", finished.tail()))?;
        if batch.durations_us.len() != CALLS {
            bail!(
                "the script made {} calls, not {CALLS}",
                batch.durations_us.len()
            );
        }
        Ok(batch)
    }
}

/// The virtualenv with `pipecatcloud` installed (made on first use), for
/// the `cli` part's `pcc`.
pub fn venv() -> anyhow::Result<PathBuf> {
    Ok(prepare()?.dir)
}

/// Finds or makes the virtualenv with `pipecatcloud` (recent enough to have
/// the cloud-build packer, for the `pack` part), and writes the script.
pub fn prepare() -> anyhow::Result<Python> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot place the virtualenv: the executable has no grandparent directory")?;
    let dir = target.join("pipecat-bench-venv");
    let python = dir.join("bin").join("python");
    if !python.exists() {
        report::progress(&format!("creating a virtualenv in {}", dir.display()));
        process::run_ok(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            Duration::from_secs(120),
        )
        .context("python3 -m venv failed (is python3 with venv installed?)")?;
    }
    let has_sdk = |python: &Path| {
        process::run(
            Command::new(python).args([
                "-c",
                "import pipecatcloud.session, pipecatcloud._utils.build_utils",
            ]),
            Duration::from_secs(60),
        )
        .is_ok_and(|f| f.status.success())
    };
    if !has_sdk(&python) {
        report::progress("pip install pipecatcloud (from PyPI; once)");
        process::run_ok(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "--upgrade",
                "pipecatcloud",
            ]),
            Duration::from_secs(600),
        )
        .context("pip install pipecatcloud failed")?;
        if !has_sdk(&python) {
            bail!(
                "pipecatcloud installed but `import pipecatcloud.session, pipecatcloud._utils.build_utils` fails"
            );
        }
    }
    let script = dir.join("start_sessions.py");
    std::fs::write(&script, SCRIPT)?;
    Ok(Python {
        python,
        script,
        dir,
    })
}
