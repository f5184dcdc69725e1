//! Decoding one 10,000-line logs page, no network: pipecat-api's generated
//! `types::GetLogsResponse` against serde_json into a plain local struct
//! (fields required), and into one with the schema's optional fields, in
//! rotating rounds.

use std::time::{Duration, Instant};

use crate::payload::{self, OptionalLogsPage, PlainLogsPage};
use crate::report::{self, Table};
use crate::stats;

/// Rounds (each decodes with every decoder, in rotating order).
const ROUNDS: usize = 8;
/// How long each decoder runs per round.
const CELL: Duration = Duration::from_millis(400);

/// Decodes a page; returns its number of lines.
type Decoder = fn(&[u8]) -> anyhow::Result<usize>;

/// Runs the comparison and prints its table.
pub fn run() -> anyhow::Result<()> {
    report::heading("decode: the 10,000-line logs page, generated type vs plain struct");
    let page = payload::logs_page(0, payload::LOG_PAGE, payload::LOG_PAGE)?;
    let mb = page.len() as f64 / 1e6;
    println!(
        "  page: {} bytes ({} lines); {ROUNDS} rotating rounds of {} ms each",
        report::int(page.len() as f64),
        payload::LOG_PAGE,
        CELL.as_millis()
    );
    let decoders: [(&str, Decoder); 3] = [
        ("plain struct (serde_json)", |b| {
            Ok(serde_json::from_slice::<PlainLogsPage>(b)?.logs.len())
        }),
        ("plain struct, fields optional", |b| {
            Ok(serde_json::from_slice::<OptionalLogsPage>(b)?.logs.len())
        }),
        ("pipecat_api::types::GetLogsResponse", |b| {
            Ok(
                serde_json::from_slice::<pipecat_api::types::GetLogsResponse>(b)?
                    .logs
                    .len(),
            )
        }),
    ];
    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 0..ROUNDS {
        for i in 0..decoders.len() {
            let d = (i + round) % decoders.len();
            let decode = decoders[d].1;
            let started = Instant::now();
            let mut n = 0u32;
            while started.elapsed() < CELL || n < 3 {
                let lines = decode(std::hint::black_box(&page))?;
                std::hint::black_box(lines);
                n += 1;
            }
            rates[d].push(f64::from(n) * mb / started.elapsed().as_secs_f64());
        }
    }
    let plain = stats::median(&rates[0]);
    let mut table = Table::new(&["decoder", "MB/s", "ms per page", "vs plain", "range (MB/s)"]);
    for (d, (name, _)) in decoders.iter().enumerate() {
        let rate = stats::median(&rates[d]);
        let (lo, hi) = stats::range(&rates[d]);
        table.row(vec![
            (*name).to_string(),
            format!("{rate:.0}"),
            format!("{:.2}", mb / rate * 1000.0),
            report::times(stats::ratio(rate, plain)),
            format!("{lo:.0} .. {hi:.0}"),
        ]);
    }
    table.print();
    Ok(())
}
