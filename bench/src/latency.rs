//! Session starts over a real-looking link: TLS (rustls, a self-signed
//! certificate made at run time) on 127.0.0.1, behind [`DelayProxy`]
//! holding each direction 10 ms (a 20 ms round trip).
//!
//! 200 sequential starts with pipecat-api, interleaved call by call with
//! 200 from raw reqwest (same TLS settings; the floor for this link), each
//! client on a link of its own so that connections and handshakes are
//! counted per client; then 200 pipecat-api starts from 16 concurrent
//! tasks. The server offers h2 and http/1.1 by ALPN and records which was
//! chosen.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::clients::{self, Starter};
use crate::proxy::{self, DelayProxy};
use crate::report::{self, Table};
use crate::server::{BenchServer, Counts, Options};
use crate::stats;
use crate::tls::TestCert;

/// Delay per direction.
pub const ONE_WAY: Duration = Duration::from_millis(10);
/// Sequential starts measured per client.
pub const SEQUENTIAL: usize = 200;
/// Tasks of the concurrent run.
pub const TASKS: usize = 16;
/// Starts of the concurrent run, shared among the tasks.
pub const CONCURRENT: usize = 200;
/// Target: after the first call, p50 ≤ this × RTT + server time.
pub const TARGET_RTT_FACTOR: f64 = 1.1;

/// A TLS server behind a delay proxy.
pub struct Link {
    /// The certificate the server presents.
    pub cert: TestCert,
    /// The TLS server.
    pub server: BenchServer,
    /// The proxy in front of it.
    pub proxy: DelayProxy,
}

impl Link {
    /// Starts a TLS server and a delay proxy in front of it.
    pub fn start() -> anyhow::Result<Self> {
        let cert = TestCert::generate()?;
        let server = BenchServer::start(Options {
            tls: Some(cert.server_config()?),
            ..Options::default()
        })?;
        let proxy = DelayProxy::start(server.addr(), ONE_WAY)?;
        Ok(Self {
            cert,
            server,
            proxy,
        })
    }

    /// The host clients are given: the proxy, over https.
    pub fn url(&self) -> String {
        format!("https://{}", self.proxy.addr())
    }

    /// The counts now: server counters, and the proxy's accepted connections.
    pub fn counts(&self) -> (Counts, u64) {
        (self.server.counts(), self.proxy.accepted())
    }

    /// A pipecat-api starter of its own (own pool), trusting the certificate.
    pub fn pipecat(&self) -> anyhow::Result<Starter> {
        let http = self.cert.reqwest_client()?;
        Ok(Starter::Pipecat(Box::new(clients::pipecat_client(
            &self.url(),
            Some(http),
        )?)))
    }

    /// A raw reqwest starter of its own, trusting the certificate.
    pub fn raw(&self) -> anyhow::Result<Starter> {
        Ok(Starter::raw(self.cert.reqwest_client()?, &self.url()))
    }
}

/// What one run of session starts saw.
#[derive(Default)]
pub struct Observed {
    /// Per-call latencies, in ms, in call order (for sequential runs).
    pub latencies_ms: Vec<f64>,
    /// Wall time of the whole run (the sum of its calls, for interleaved runs).
    pub wall: Duration,
    /// TCP connections the proxy accepted during the run.
    pub connections: u64,
    /// What the server counted during the run.
    pub server: Counts,
}

impl Observed {
    /// p50 and p99 of calls `from..` (ms).
    pub fn p50_p99(&self, from: usize) -> (f64, f64) {
        let rest = self.latencies_ms.get(from..).unwrap_or_default();
        (stats::quantile(rest, 0.5), stats::quantile(rest, 0.99))
    }

    /// A row of the latency tables: p50 and p99 of calls `from..`; the
    /// first call's latency if the run was `sequential`.
    pub fn row(&self, name: &str, from: usize, sequential: bool) -> Vec<String> {
        let (p50, p99) = self.p50_p99(from);
        let first = self.latencies_ms.first().filter(|_| sequential);
        vec![
            name.to_string(),
            first.map_or("-".to_string(), |f| format!("{f:.1} ms")),
            format!("{p50:.1} ms"),
            format!("{p99:.1} ms"),
            format!("{:.2} s", self.wall.as_secs_f64()),
            self.server.requests.to_string(),
            self.connections.to_string(),
            format!("{}/{}", self.server.tls_full, self.server.tls_resumed),
            format!("{}/{}", self.server.alpn_h2, self.server.alpn_http1),
        ]
    }
}

/// The headers for [`Observed::row`].
pub const COLUMNS: [&str; 9] = [
    "run",
    "first call",
    "p50",
    "p99",
    "wall",
    "requests",
    "TCP conns",
    "TLS full/resumed",
    "ALPN h2/http1.1",
];

/// `n` sequential session starts by each starter through its own link,
/// interleaved call by call.
pub async fn sequential_starts(
    runs: &[(&Link, &Starter)],
    n: usize,
) -> anyhow::Result<Vec<Observed>> {
    let before: Vec<(Counts, u64)> = runs.iter().map(|(link, _)| link.counts()).collect();
    let mut observed: Vec<Observed> = runs.iter().map(|_| Observed::default()).collect();
    for _ in 0..n {
        for ((_, starter), seen) in runs.iter().zip(&mut observed) {
            let t = Instant::now();
            starter.start().await?;
            let took = t.elapsed();
            seen.wall += took;
            seen.latencies_ms.push(took.as_secs_f64() * 1e3);
        }
    }
    for (((link, _), seen), (server_before, proxy_before)) in
        runs.iter().zip(&mut observed).zip(&before)
    {
        let (server_after, proxy_after) = link.counts();
        seen.connections = proxy_after - proxy_before;
        seen.server = server_after.since(server_before);
    }
    Ok(observed)
}

/// `n` session starts from `tasks` concurrent tasks sharing `starter`;
/// with `warm_up`, after one start on its own (counted in the connections
/// and handshakes, not in the latencies).
pub async fn concurrent_starts(
    link: &Link,
    starter: &Starter,
    tasks: usize,
    n: usize,
    warm_up: bool,
) -> anyhow::Result<Observed> {
    let (server_before, proxy_before) = link.counts();
    if warm_up {
        starter.start().await?;
    }
    let left = Arc::new(AtomicUsize::new(n));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let starter = starter.clone();
        let left = left.clone();
        set.spawn(async move {
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                .is_ok()
            {
                let t = Instant::now();
                starter.start().await?;
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, anyhow::Error>(latencies)
        });
    }
    let mut latencies_ms = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        latencies_ms.extend(done??);
    }
    let wall = started.elapsed();
    let (server_after, proxy_after) = link.counts();
    Ok(Observed {
        latencies_ms,
        wall,
        connections: proxy_after - proxy_before,
        server: server_after.since(&server_before),
    })
}

/// Runs both variants and prints what they saw.
pub async fn run() -> anyhow::Result<()> {
    report::heading("latency: session starts over TLS with a 20 ms round trip");
    let rtt_ms = (ONE_WAY * 2).as_secs_f64() * 1e3;
    let pings = proxy::measure_rtt(ONE_WAY, 50).await?;
    let realized = stats::median(&pings);
    let (raw_link, our_link) = (Link::start()?, Link::start()?);
    println!(
        "  rustls servers (self-signed cert made now; ALPN offers h2, http/1.1), each behind a proxy \
         holding each direction {} ms: nominal RTT {rtt_ms:.0} ms; realized (64-byte TCP ping \
         through such a proxy, p50 of {}): {realized:.2} ms",
        ONE_WAY.as_millis(),
        pings.len()
    );
    println!(
        "  pipecat-bench built with feature `http2` (→ pipecat-api/http2 → reqwest/http2): {}",
        if cfg!(feature = "http2") { "yes" } else { "no" }
    );

    report::progress(&format!(
        "{SEQUENTIAL} sequential starts each, raw reqwest and pipecat-api interleaved"
    ));
    let (raw, ours) = (raw_link.raw()?, our_link.pipecat()?);
    let seq = sequential_starts(&[(&raw_link, &raw), (&our_link, &ours)], SEQUENTIAL).await?;
    let [raw_seq, our_seq] =
        <[Observed; 2]>::try_from(seq).map_err(|_| anyhow::anyhow!("expected two runs"))?;
    report::progress(&format!(
        "{CONCURRENT} pipecat-api starts from {TASKS} concurrent tasks (new client)"
    ));
    let cold = our_link.pipecat()?;
    let conc = concurrent_starts(&our_link, &cold, TASKS, CONCURRENT, false).await?;
    report::progress(
        "the same on another new client after one start on its own (one connection in the pool)",
    );
    let warmed = our_link.pipecat()?;
    let warm = concurrent_starts(&our_link, &warmed, TASKS, CONCURRENT, true).await?;

    let mut table = Table::new(&COLUMNS);
    table.row(raw_seq.row(
        &format!("raw reqwest, {SEQUENTIAL} sequential (p50/p99: calls 2..)"),
        1,
        true,
    ));
    table.row(our_seq.row(
        &format!("pipecat-api, {SEQUENTIAL} sequential (p50/p99: calls 2..)"),
        1,
        true,
    ));
    table.row(conc.row(
        &format!("pipecat-api, {CONCURRENT} over {TASKS} tasks, cold (p50/p99: all)"),
        0,
        false,
    ));
    table.row(warm.row(
        &format!("pipecat-api, 1 start, then {CONCURRENT} over {TASKS} tasks"),
        0,
        false,
    ));
    table.print();

    let server_ms = our_seq.server.mean_start_time().as_secs_f64() * 1e3;
    let bound = TARGET_RTT_FACTOR * rtt_ms + server_ms;
    let (p50, _) = our_seq.p50_p99(1);
    let (raw_p50, _) = raw_seq.p50_p99(1);
    println!(
        "  Target: after the first call, p50 ≤ {TARGET_RTT_FACTOR} × RTT + server time = {bound:.2} ms \
         (server time: mean {server_ms:.3} ms in the handler): pipecat-api p50 {p50:.2} ms → {}",
        report::verdict(p50 <= bound)
    );
    println!(
        "  Against the realized RTT ({realized:.2} ms): bound {:.2} ms → {}; pipecat-api over raw \
         reqwest on the same kind of link: {:+.2} ms ({})",
        TARGET_RTT_FACTOR * realized + server_ms,
        report::verdict(p50 <= TARGET_RTT_FACTOR * realized + server_ms),
        p50 - raw_p50,
        report::percent(stats::ratio(p50, raw_p50))
    );
    for (name, o) in [
        ("raw reqwest, sequential", &raw_seq),
        ("pipecat-api, sequential", &our_seq),
        ("pipecat-api, concurrent, cold", &conc),
        ("pipecat-api, concurrent after 1 start", &warm),
    ] {
        println!(
            "  {name}: {} TCP connection(s) for {} requests; {}.",
            o.connections,
            o.server.requests,
            o.server.tls_summary()
        );
    }
    if conc.server.alpn_h2 > 0 {
        println!(
            "  HTTP/2: negotiated. {TASKS} concurrent tasks on a cold client opened {} connection(s) \
             (the pool cannot know a connection will be h2 until ALPN answers, so each waiting \
             request dials its own); after one start on its own, {} connection(s) in all.",
            conc.connections, warm.connections
        );
    } else {
        println!(
            "  HTTP/2: not negotiated. The server offered h2, the client offered only http/1.1: \
             pipecat-api's `http2` feature (on by default; it enables reqwest/http2) is off in \
             this build (`--no-default-features`)."
        );
    }
    Ok(())
}
