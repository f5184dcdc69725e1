//! Per-call latency and throughput of the three clients over loopback
//! HTTP/1.1, side by side, in interleaved rounds: each round measures every
//! (call, concurrency) cell for the three clients back to back, in an order
//! that rotates from round to round, so that drift of the machine (another
//! build, thermal limits) hits all three alike.
//!
//! The clients run on a current-thread runtime of their own and the server
//! on a one-worker runtime: one core each, no work stealing between them,
//! so a client's per-call cost is not blurred by where its tasks happened
//! to be scheduled, and its CPU time (from `/proc/thread-self/schedstat`)
//! is exactly the client's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::task::JoinSet;

use crate::clients::{BenchClient, Call, Kind};
use crate::report::{self, Table};
use crate::server::{BenchServer, Options};
use crate::stats;

/// Concurrency levels measured (1 is the sequential run).
pub const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// Target: pipecat-api's throughput at least this fraction of raw reqwest's.
pub const TARGET_THROUGHPUT: f64 = 0.95;
/// Target: pipecat-api's per-call latency at most this multiple of raw reqwest's.
pub const TARGET_LATENCY: f64 = 1.05;

/// How long and how often to measure.
#[derive(Clone)]
pub struct Settings {
    /// Interleaved rounds.
    pub rounds: usize,
    /// How long one cell (client, call, concurrency) runs, for the small calls.
    pub cell: Duration,
    /// How long one cell runs for the 10k-line logs call.
    pub logs_cell: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rounds: 20,
            cell: Duration::from_millis(150),
            logs_cell: Duration::from_millis(300),
        }
    }
}

/// What one client measured for one call.
#[derive(Default)]
struct Series {
    /// Per round: the sequential per-call latencies, in µs.
    latency: Vec<Vec<f64>>,
    /// Per round: the client thread's CPU time per sequential call, in µs.
    cpu: Vec<f64>,
    /// Per concurrency level (as [`CONCURRENCY`]), per round: calls/s.
    rates: [Vec<f64>; 3],
}

/// Runs the comparison (on a thread and runtime of its own) and prints its tables.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        crate::background::pin_to(Some(0));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(measure(&settings))
    })
    .await?
}

async fn measure(settings: &Settings) -> anyhow::Result<()> {
    report::heading("throughput: hyper (floor) vs raw reqwest vs pipecat-api, loopback HTTP/1.1");
    // Two cores: the clients on the first, the server on the second.
    let server = BenchServer::start(Options {
        workers: 1,
        pin: Some(1),
        ..Options::default()
    })?;
    let url = server.url();
    let clients = Kind::ALL
        .iter()
        .map(|kind| BenchClient::new(*kind, &url).map(Arc::new))
        .collect::<anyhow::Result<Vec<_>>>()?;
    println!(
        "  server {url} (a runtime of its own, 1 worker); clients on one current-thread runtime; \
         {} rounds, cells of {} ms ({} ms for get_logs)",
        settings.rounds,
        settings.cell.as_millis(),
        settings.logs_cell.as_millis()
    );

    // Every client must decode every answer fully before anything is timed.
    for (kind, client) in Kind::ALL.iter().zip(&clients) {
        for call in Call::ALL {
            let items = client.call(call).await?;
            if items != call.expected_items() {
                bail!(
                    "{} {} decoded {items} items, not {}",
                    kind.name(),
                    call.name(),
                    call.expected_items()
                );
            }
        }
        // Open the connections the concurrent cells will use.
        concurrent(
            client,
            Call::DeleteSecretSet,
            64,
            Duration::from_millis(150),
        )
        .await?;
    }

    let mut results: Vec<Vec<Series>> = Kind::ALL
        .iter()
        .map(|_| Call::ALL.iter().map(|_| Series::default()).collect())
        .collect();
    let started = Instant::now();
    for round in 0..settings.rounds {
        report::progress(&format!(
            "round {}/{} ({:.0} s so far)",
            round + 1,
            settings.rounds,
            started.elapsed().as_secs_f64()
        ));
        for (c, call) in Call::ALL.into_iter().enumerate() {
            let cell = if call == Call::GetLogs {
                settings.logs_cell
            } else {
                settings.cell
            };
            for (level, concurrency) in CONCURRENCY.into_iter().enumerate() {
                for i in 0..Kind::ALL.len() {
                    let k = (i + round) % Kind::ALL.len();
                    let series = &mut results[k][c];
                    if concurrency == 1 {
                        let (latencies, rate, cpu) = sequential(&clients[k], call, cell).await?;
                        series.latency.push(latencies);
                        series.cpu.push(cpu);
                        series.rates[level].push(rate);
                    } else {
                        let rate = concurrent(&clients[k], call, concurrency, cell).await?;
                        series.rates[level].push(rate);
                    }
                }
            }
        }
    }
    print_latency(&results);
    print_throughput(&results);
    Ok(())
}

/// Calls `call` one after another for `duration`: the per-call latencies
/// (µs), the calls per second, and this thread's CPU time per call (µs).
async fn sequential(
    client: &BenchClient,
    call: Call,
    duration: Duration,
) -> anyhow::Result<(Vec<f64>, f64, f64)> {
    let mut latencies = Vec::new();
    let cpu_before = thread_cpu_ns();
    let started = Instant::now();
    while started.elapsed() < duration || latencies.len() < 5 {
        let t = Instant::now();
        client.call(call).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, thread_cpu_ns()) {
        (Some(before), Some(after)) => (after - before) as f64 / 1e3 / latencies.len() as f64,
        _ => f64::NAN,
    };
    Ok((latencies, rate, cpu))
}

/// CPU time this thread has run, in ns (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Calls `call` from `concurrency` tasks until `duration` has passed: the
/// calls completed per second (counted until the last task finished).
async fn concurrent(
    client: &Arc<BenchClient>,
    call: Call,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                client.call(call).await?;
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn print_latency(results: &[Vec<Series>]) {
    println!();
    println!(
        "  Sequential per-call latency: median over all calls of all rounds (µs); pipecat vs reqwest \
         is the median of the per-round ratios of medians. Target: pipecat-api < {} over raw reqwest.",
        report::percent(TARGET_LATENCY)
    );
    let mut table = Table::new(&[
        "call",
        "hyper",
        "reqwest",
        "pipecat-api",
        "reqwest/floor",
        "pipecat/floor",
        "pipecat vs reqwest",
        "per-round range",
        "target",
    ]);
    let mut cpu_table = Table::new(&[
        "call",
        "hyper",
        "reqwest",
        "pipecat-api",
        "pipecat − reqwest",
        "pipecat vs reqwest",
        "per-round range",
        "target",
    ]);
    for (c, call) in Call::ALL.into_iter().enumerate() {
        let cpu = |k: usize| stats::median(&results[k][c].cpu);
        let [hyper, reqwest, pipecat] = [0, 1, 2].map(cpu);
        let per_round: Vec<f64> = results[2][c]
            .cpu
            .iter()
            .zip(&results[1][c].cpu)
            .map(|(p, r)| stats::ratio(*p, *r))
            .collect();
        let (lo, hi) = stats::range(&per_round);
        let overhead = stats::median(&per_round);
        cpu_table.row(vec![
            call.name().to_string(),
            format!("{hyper:.1}"),
            format!("{reqwest:.1}"),
            format!("{pipecat:.1}"),
            format!("{:+.1}", pipecat - reqwest),
            report::percent(overhead),
            format!("{} .. {}", report::percent(lo), report::percent(hi)),
            report::verdict(overhead < TARGET_LATENCY).to_string(),
        ]);
        let all = |k: usize| -> Vec<f64> { results[k][c].latency.concat() };
        let [hyper, reqwest, pipecat] = [0, 1, 2].map(|k| stats::median(&all(k)));
        let per_round: Vec<f64> = results[2][c]
            .latency
            .iter()
            .zip(&results[1][c].latency)
            .map(|(p, r)| stats::ratio(stats::median(p), stats::median(r)))
            .collect();
        let (lo, hi) = stats::range(&per_round);
        let overhead = stats::median(&per_round);
        table.row(vec![
            call.name().to_string(),
            report::int(hyper),
            report::int(reqwest),
            report::int(pipecat),
            report::times(stats::ratio(reqwest, hyper)),
            report::times(stats::ratio(pipecat, hyper)),
            report::percent(overhead),
            format!("{} .. {}", report::percent(lo), report::percent(hi)),
            report::verdict(overhead < TARGET_LATENCY).to_string(),
        ]);
    }
    table.print();
    println!();
    println!(
        "  Client CPU per sequential call: the client thread's CPU time / calls, median of the rounds (µs), \
         and the median of the per-round ratios; \
         no wake-up latency in it, but the kernel's loopback TCP work done on the client's thread is \
         (the same for all three)."
    );
    cpu_table.print();
}

fn print_throughput(results: &[Vec<Series>]) {
    println!();
    println!(
        "  Throughput: calls/s, median of the rounds; pipecat/reqwest is the median of the per-round ratios \
         (each round runs the clients back to back). Target: pipecat-api ≥ {:.2}x raw reqwest at every concurrency.",
        TARGET_THROUGHPUT
    );
    let mut table = Table::new(&[
        "call",
        "conc",
        "hyper",
        "reqwest",
        "pipecat-api",
        "reqwest/floor",
        "pipecat/floor",
        "pipecat/reqwest",
        "per-round range",
        "target",
    ]);
    for (c, call) in Call::ALL.into_iter().enumerate() {
        for (level, concurrency) in CONCURRENCY.into_iter().enumerate() {
            let rates = |k: usize| &results[k][c].rates[level];
            let [hyper, reqwest, pipecat] = [0, 1, 2].map(|k| stats::median(rates(k)));
            let per_round: Vec<f64> = rates(2)
                .iter()
                .zip(rates(1))
                .map(|(p, r)| stats::ratio(*p, *r))
                .collect();
            let (lo, hi) = stats::range(&per_round);
            // The two ran back to back in each round, so their ratio in a
            // round is free of the drift between rounds.
            let relative = stats::median(&per_round);
            table.row(vec![
                call.name().to_string(),
                concurrency.to_string(),
                report::int(hyper),
                report::int(reqwest),
                report::int(pipecat),
                report::times(stats::ratio(reqwest, hyper)),
                report::times(stats::ratio(pipecat, hyper)),
                report::times(relative),
                format!("{} .. {}", report::times(lo), report::times(hi)),
                report::verdict(relative >= TARGET_THROUGHPUT).to_string(),
            ]);
        }
    }
    table.print();
}
