//! `pipecat-bench`: measures pipecat-api against a raw hyper client (the
//! floor) and raw reqwest, against the official Python SDK, and its own
//! footprint, with servers of its own on 127.0.0.1. See `bench/README.md`.
//!
//! ```sh
//! cargo run --release -p pipecat-bench -- all
//! cargo run --release -p pipecat-bench -- throughput decode   # some parts
//! ```
//!
//! Nothing here asserts on time: every part prints what it measured beside
//! the target it is read against.

mod background;
mod cli;
mod clients;
mod decode;
mod footprint;
mod instructions;
mod latency;
mod memory;
mod pack;
mod payload;
mod process;
mod proxy;
mod python;
mod report;
mod server;
mod stats;
mod throughput;
mod tls;

use std::time::Instant;

use anyhow::bail;

/// One part of the benchmark, run by its subcommand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    Throughput,
    Decode,
    Instructions,
    Latency,
    Python,
    Memory,
    Pack,
    Upload,
    Footprint,
    Cli,
}

impl Part {
    /// In the order `all` runs them: the footprint's clean build last, so
    /// that it disturbs no other measurement.
    const ALL: [Part; 10] = [
        Part::Throughput,
        Part::Decode,
        Part::Instructions,
        Part::Latency,
        Part::Python,
        Part::Memory,
        Part::Cli,
        Part::Pack,
        Part::Upload,
        Part::Footprint,
    ];

    fn name(self) -> &'static str {
        match self {
            Part::Throughput => "throughput",
            Part::Decode => "decode",
            Part::Instructions => "instructions",
            Part::Latency => "latency",
            Part::Python => "python",
            Part::Memory => "memory",
            Part::Pack => "pack",
            Part::Upload => "upload",
            Part::Footprint => "footprint",
            Part::Cli => "cli",
        }
    }

    fn parse(name: &str) -> anyhow::Result<Part> {
        match Part::ALL.into_iter().find(|p| p.name() == name) {
            Some(part) => Ok(part),
            None => bail!("unknown part {name:?}\n\n{USAGE}"),
        }
    }

    async fn run(self) -> anyhow::Result<()> {
        match self {
            Part::Throughput => throughput::run(throughput::Settings::default()).await,
            Part::Decode => decode::run(),
            Part::Instructions => instructions::run().await,
            Part::Latency => latency::run().await,
            Part::Python => python::run().await,
            Part::Memory => memory::run().await,
            Part::Pack => pack::run_pack().await,
            Part::Upload => pack::run_upload().await,
            Part::Footprint => footprint::run().await,
            Part::Cli => cli::run().await,
        }
    }
}

const USAGE: &str = "usage: pipecat-bench [all | PART...]

parts (all, in this order, when none is named):
  throughput  per-call latency and calls/s at concurrency 1/16/64: hyper vs reqwest vs pipecat-api
  decode      decoding a 10,000-line logs page: generated type vs plain struct (MB/s)
  instructions  instructions per call under callgrind (if valgrind is installed): the same three clients
  latency     200 session starts over TLS behind a 20 ms RTT proxy, then 16 concurrent
  python      the official Python SDK starting sessions beside pipecat-api
  memory      peak RSS following 1,000,000 log lines (child process)
  cli         pipecat-cloud --help / regions list (fake) start to exit, beside the official pcc --help
  pack        packing a 50 MB and a 200 MB build context: pipecat-api vs the official CLI's packer
  upload      cloud_build's upload vs a raw reqwest multipart POST, to pipecat-fake
  footprint   crates pulled in, proc-macros, generated code size, clean build time

for profiling by hand:
  serve       the bench server alone; prints its URL and serves until killed
  calls-child <hyper|reqwest|pipecat-api> <delete|list|logs> <n> <url>
              n sequential calls on a current-thread runtime";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("memory-child") => return memory::child(&args[1..]),
        Some("pack-child") => return pack::child(&args[1..]),
        Some("calls-child") => return instructions::child(&args[1..]),
        Some("serve") => return serve(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return Ok(());
        }
        _ => {}
    }
    let parts = if args.is_empty() || args.iter().any(|a| a == "all") {
        Part::ALL.to_vec()
    } else {
        args.iter()
            .map(|a| Part::parse(a))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&parts))
}

async fn run(parts: &[Part]) -> anyhow::Result<()> {
    print_machine();
    let started = Instant::now();
    let mut failed = Vec::new();
    for part in parts {
        let part_started = Instant::now();
        // A part that fails says why; the others still run.
        if let Err(e) = part.run().await {
            println!("  {} FAILED: {e:#}", part.name());
            failed.push(part.name());
        }
        println!(
            "  ({} took {:.1} s)",
            part.name(),
            part_started.elapsed().as_secs_f64()
        );
    }
    println!();
    println!("total: {:.1} s", started.elapsed().as_secs_f64());
    if !failed.is_empty() {
        bail!("parts failed: {}", failed.join(", "));
    }
    Ok(())
}

/// `serve`: the bench server alone, for profiling a client by hand
/// (`calls-child <client> <call> <n> <url>` under strace or perf). Serves
/// until killed.
fn serve() -> anyhow::Result<()> {
    let server = server::BenchServer::start(server::Options::default())?;
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}

/// What the numbers were measured on.
fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("pipecat-bench: {cores} cores ({cpu}); {}", load_average());
    println!(
        "build: {}; pipecat-api `http2` (pipecat-bench default feature): {}",
        if cfg!(debug_assertions) {
            "DEBUG (numbers meaningless: use --release)"
        } else {
            "release"
        },
        if cfg!(feature = "http2") { "on" } else { "off" }
    );
}

/// `load average 0.12 0.30 0.41` (1, 5, 15 min), to judge whether the
/// machine was quiet.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let numbers: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("load average {}", numbers.join(" "))
}
