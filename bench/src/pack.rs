//! Packing and uploading a cloud-build context.
//!
//! `pack`: a generated context (many small source files, a few large model
//! weights that do not compress; 50 MB and 200 MB) packed by pipecat-api's
//! `build_context::pack` and by the official CLI's own packer
//! (`pipecatcloud._utils.build_utils`, called from
//! `bench/python/pack_context.py` the way its `deploy` command calls it),
//! each in a fresh child process, in interleaved rounds: time (ours from
//! process start to exit; theirs both the packing alone, interpreter
//! start-up and imports excluded, and start to exit), peak RSS (`VmHWM` of
//! the child at its end) and bytes out. Then ours once more on one core
//! (`taskset -c 0`) and on two, to show the hash does not depend on the
//! number of cores.
//!
//! `upload`: the upload step of `Client::cloud_build` against pipecat-fake's
//! presigned-upload endpoint, beside a raw reqwest multipart POST of the same
//! archive file to the same endpoint, interleaved.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipecat_api::build_context::{self, ContextOptions};
use pipecat_api::cloud_build::{BuildProgress, CloudBuild};
use serde::{Deserialize, Serialize};

use crate::memory::status_kb;
use crate::process;
use crate::python;
use crate::report::{self, Table};
use crate::stats;

/// Interleaved rounds per packer and size.
const ROUNDS: usize = 5;
/// Interleaved rounds per uploader.
const UPLOAD_ROUNDS: usize = 15;
/// Bumped whenever the generator changes, so old trees are made anew.
const GENERATOR: &str = "pack-context v2";

/// A generated context: its name, small files, and large files.
struct Shape {
    name: &'static str,
    small_files: usize,
    large_files: usize,
    large_bytes: usize,
}

/// About 50 MB: 1,500 small files (~15 MB), 5 weights of 7 MB.
const MB50: Shape = Shape {
    name: "50 MB",
    small_files: 1_500,
    large_files: 5,
    large_bytes: 7_000_000,
};

/// About 200 MB: 6,000 small files (~60 MB), 7 weights of 20 MB (the
/// 140 MB of model weights of issue 16).
const MB200: Shape = Shape {
    name: "200 MB",
    small_files: 6_000,
    large_files: 7,
    large_bytes: 20_000_000,
};

/// About 9 MB, for `upload`: pipecat-fake refuses bodies over 8 MiB, and
/// this packs to about 6 MB.
const UPLOAD: Shape = Shape {
    name: "upload 9 MB",
    small_files: 100,
    large_files: 1,
    large_bytes: 8_000_000,
};

/// What a packing child reports (ours and the Python script alike).
#[derive(Serialize, Deserialize, Clone)]
struct Packed {
    seconds: f64,
    hwm_before_kb: u64,
    hwm_kb: u64,
    bytes: u64,
    hash: String,
    files: usize,
    #[serde(default)]
    version: String,
    /// From process start to exit, measured by the parent (to the 20 ms
    /// its polling allows, so never under).
    #[serde(default)]
    wall: f64,
}

/// Where the bench keeps its trees and archives: `target/pipecat-bench-pack`.
fn work_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the executable has no grandparent directory")?;
    Ok(target.join("pipecat-bench-pack"))
}

/// xorshift64*: seeded, so every run makes the same tree.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "import",
    "def",
    "return",
    "self",
    "async",
    "await",
    "session",
    "agent",
    "pipeline",
    "frame",
    "audio",
    "transport",
    "None",
    "True",
    "False",
    "if",
    "else",
    "for",
    "in",
    "with",
    "as",
    "class",
    "from",
    "=",
    "==",
    "+=",
    "(",
    ")",
    ":",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "#",
];

/// Code-like text: common words, random identifiers and numbers, so gzip
/// finds some redundancy (about 2-3x) but not a trivial amount.
fn text(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    while out.len() < end {
        match rng.below(10) {
            0..=5 => {
                out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes())
            }
            6 | 7 => {
                for _ in 0..3 + rng.below(8) {
                    out.push(b'a' + rng.below(26) as u8);
                }
            }
            8 => out.extend_from_slice(format!("{:x}", rng.next() >> rng.below(56)).as_bytes()),
            _ => {
                out.push(b'\n');
                for _ in 0..rng.below(4) * 4 {
                    out.push(b' ');
                }
                continue;
            }
        }
        out.push(b' ');
    }
    out.truncate(end);
}

/// Model weights: bytes that do not compress (trained weights are close
/// to that: gzip gains a few percent at most).
fn weights(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    while out.len() < end {
        let word = rng.next().to_le_bytes();
        out.extend_from_slice(word.get(..(end - out.len()).min(8)).unwrap_or_default());
    }
}

/// Makes the tree for `shape` under the work dir, unless already made by
/// this generator.
fn generate(shape: &Shape) -> anyhow::Result<PathBuf> {
    let work = work_dir()?;
    let slug = shape.name.replace(' ', "").to_lowercase();
    let dir = work.join(format!("context-{slug}"));
    let done = work.join(format!("context-{slug}.done"));
    if std::fs::read_to_string(&done).is_ok_and(|v| v == GENERATOR) {
        return Ok(dir);
    }
    report::progress(&format!(
        "generating the {} context in {}",
        shape.name,
        dir.display()
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM dailyco/pipecat-base:latest\nCOPY . /app\n",
    )?;
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ shape.small_files as u64);
    let mut buf = Vec::new();
    for i in 0..shape.small_files {
        let sub = dir.join(format!("src/pkg{:02}/mod{:02}", i % 40, (i / 40) % 8));
        std::fs::create_dir_all(&sub)?;
        buf.clear();
        let len = 1_000 + rng.below(19_000) as usize;
        text(&mut rng, len, &mut buf);
        let name = if i % 50 == 0 {
            format!("run{i}.sh")
        } else {
            format!("file{i}.py")
        };
        let path = sub.join(name);
        std::fs::write(&path, &buf)?;
        if i % 50 == 0 {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    std::fs::create_dir_all(dir.join("assets"))?;
    for i in 0..shape.large_files {
        buf.clear();
        weights(&mut rng, shape.large_bytes, &mut buf);
        std::fs::write(dir.join(format!("assets/model{i}.bin")), &buf)?;
    }
    std::fs::write(&done, GENERATOR)?;
    Ok(dir)
}

/// The total size of the regular files under `dir`.
fn tree_bytes(dir: &Path) -> anyhow::Result<(u64, usize)> {
    let (mut bytes, mut files) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            let (b, f) = tree_bytes(&entry.path())?;
            bytes += b;
            files += f;
        } else {
            bytes += meta.len();
            files += 1;
        }
    }
    Ok((bytes, files))
}

/// `pack-child <dir> <temp dir>`: packs with pipecat-api, prints a JSON
/// [`Packed`].
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let [dir, temp] = args else {
        bail!("usage: pack-child <dir> <temp dir>");
    };
    let hwm_before_kb = status_kb("VmHWM")?;
    let started = Instant::now();
    let packed = build_context::pack(dir, &ContextOptions::new().temp_dir(temp))?;
    let seconds = started.elapsed().as_secs_f64();
    let report = Packed {
        seconds,
        hwm_before_kb,
        hwm_kb: status_kb("VmHWM")?,
        bytes: packed.compressed_bytes(),
        hash: packed.hash().to_string(),
        files: packed.files().len(),
        version: format!("pipecat-api {}", env!("CARGO_PKG_VERSION")),
        // Measured by the parent.
        wall: 0.0,
    };
    drop(packed);
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Runs one packing child and reads its report.
fn run_child(mut command: Command) -> anyhow::Result<Packed> {
    let finished = process::run_ok(&mut command, Duration::from_secs(600))?;
    let mut packed: Packed = serde_json::from_str(finished.stdout.trim())
        .with_context(|| format!("the child printed {:?}", finished.tail()))?;
    packed.wall = finished.elapsed.as_secs_f64();
    Ok(packed)
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

fn mib_kb(kb: f64) -> String {
    format!("{:.1} MiB", kb / 1024.0)
}

/// The `pack` part.
pub async fn run_pack() -> anyhow::Result<()> {
    report::heading("pack: packing a build context, pipecat-api vs the official CLI's packer");
    tokio::task::spawn_blocking(measure_pack).await?
}

fn measure_pack() -> anyhow::Result<()> {
    let python = match python::prepare() {
        Ok(python) => Some(python),
        Err(why) => {
            println!("  the official packer is not usable here (only ours is measured): {why:#}");
            None
        }
    };
    let exe = std::env::current_exe()?;
    let temp = work_dir()?.join("tmp");
    std::fs::create_dir_all(&temp)?;
    let script = work_dir()?.join("pack_context.py");
    std::fs::write(&script, include_str!("../python/pack_context.py"))?;
    let mut versions = String::new();
    for shape in [MB50, MB200] {
        let dir = generate(&shape)?;
        let (input, count) = tree_bytes(&dir)?;
        let (mut ours, mut theirs): (Vec<Packed>, Vec<Packed>) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            report::progress(&format!("{}: round {}/{ROUNDS}", shape.name, round + 1));
            for i in 0..2 {
                if (i + round) % 2 == 0 {
                    let mut command = Command::new(&exe);
                    command.arg("pack-child").arg(&dir).arg(&temp);
                    ours.push(run_child(command)?);
                } else if let Some(python) = &python {
                    let mut command = Command::new(&python.python);
                    command
                        .arg(&script)
                        .arg(&dir)
                        .env("PYTHONDONTWRITEBYTECODE", "1");
                    let packed = run_child(command)?;
                    versions = packed.version.clone();
                    theirs.push(packed);
                }
            }
        }
        // The hash on one core and on two (when `taskset` is here): the
        // number of compression workers follows the CPU affinity.
        let mut by_cores = Vec::new();
        for cpus in ["0", "0,1"] {
            let mut command = Command::new("taskset");
            command
                .arg("-c")
                .arg(cpus)
                .arg(&exe)
                .arg("pack-child")
                .arg(&dir)
                .arg(&temp);
            match run_child(command) {
                Ok(packed) => by_cores.push((cpus, packed)),
                Err(why) => println!("  (not run with taskset -c {cpus}: {why:#})"),
            }
        }
        println!(
            "  {} context: {} files, {} before compression; {ROUNDS} interleaved rounds, each packer in a fresh child process",
            shape.name,
            report::int(count as f64),
            mb(input as f64)
        );
        let mut table = Table::new(&[
            "packer",
            "start to exit (median)",
            "range",
            "packing only (median)",
            "MB/s in",
            "peak RSS (max)",
            "bytes out",
            "files",
        ]);
        let summary = |runs: &[Packed]| Summary {
            wall: stats::median(&runs.iter().map(|r| r.wall).collect::<Vec<_>>()),
            wall_range: stats::range(&runs.iter().map(|r| r.wall).collect::<Vec<_>>()),
            packing: stats::median(&runs.iter().map(|r| r.seconds).collect::<Vec<_>>()),
            hwm: runs.iter().map(|r| r.hwm_kb).max().unwrap_or(0) as f64,
            bytes: runs.first().map_or(0, |r| r.bytes) as f64,
            files: runs.first().map_or(0, |r| r.files),
        };
        let ours_s = (!ours.is_empty()).then(|| summary(&ours));
        let theirs_s = (!theirs.is_empty()).then(|| summary(&theirs));
        for (name, s) in [
            ("pipecat-api", &ours_s),
            ("pipecatcloud (Python)", &theirs_s),
        ] {
            let Some(s) = s else { continue };
            table.row(vec![
                name.to_string(),
                format!("{:.2} s", s.wall),
                format!("{:.2}-{:.2} s", s.wall_range.0, s.wall_range.1),
                format!("{:.2} s", s.packing),
                format!("{:.0}", input as f64 / 1e6 / s.wall),
                mib_kb(s.hwm),
                mb(s.bytes),
                report::int(s.files as f64),
            ]);
        }
        // Ours from start to exit against theirs packing only: the ratio
        // the target is about, and the one least in our favour.
        let ratio = match (&ours_s, &theirs_s) {
            (Some(o), Some(t)) => {
                table.row(vec![
                    "ours (start to exit) / official (packing only)".to_string(),
                    report::times(stats::ratio(o.wall, t.packing)),
                    String::new(),
                    String::new(),
                    String::new(),
                    report::times(stats::ratio(o.hwm, t.hwm)),
                    report::times(stats::ratio(o.bytes, t.bytes)),
                    String::new(),
                ]);
                table.row(vec![
                    "ours / official, both start to exit".to_string(),
                    report::times(stats::ratio(o.wall, t.wall)),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                Some(stats::ratio(o.wall, t.packing))
            }
            _ => None,
        };
        table.print();
        let hashes: std::collections::BTreeSet<&str> = ours
            .iter()
            .chain(by_cores.iter().map(|(_, p)| p))
            .map(|r| r.hash.as_str())
            .collect();
        for (cpus, packed) in &by_cores {
            println!(
                "  taskset -c {cpus}: hash {}, {:.2} s start to exit, peak RSS {}",
                packed.hash,
                packed.wall,
                mib_kb(packed.hwm_kb as f64)
            );
        }
        let our_peak = ours_s.as_ref().map_or(0.0, |s| s.hwm);
        println!(
            "  targets: ours ≤ 0.25x the official packer: {}; our peak RSS ≤ 64 MiB: {} ({}); our hash the same every round and on 1 and 2 cores: {} ({})",
            ratio.map_or("not measured", |r| report::verdict(r <= 0.25)),
            report::verdict(our_peak <= 64.0 * 1024.0),
            mib_kb(our_peak),
            report::verdict(hashes.len() == 1),
            hashes.into_iter().collect::<Vec<_>>().join(", "),
        );
    }
    if !versions.is_empty() {
        println!(
            "  official: {versions} (gzip level 9 in one thread, tar and gzip both in memory); ours: flate2/zlib-rs level 6 on {} cores, incompressible blocks stored, streamed to a file in {}",
            std::thread::available_parallelism().map_or(1, usize::from),
            temp.display()
        );
    }
    println!("  (the archives differ, so the hashes do: the compression levels are not the same)");
    Ok(())
}

/// Medians and maxima of one packer's rounds.
struct Summary {
    wall: f64,
    wall_range: (f64, f64),
    packing: f64,
    hwm: f64,
    bytes: f64,
    files: usize,
}

/// The `upload` part.
pub async fn run_upload() -> anyhow::Result<()> {
    report::heading(
        "upload: cloud_build's upload vs a raw reqwest multipart POST, to pipecat-fake",
    );
    let dir = tokio::task::spawn_blocking(|| generate(&UPLOAD)).await??;
    let temp = work_dir()?.join("tmp");
    std::fs::create_dir_all(&temp)?;
    let fake = pipecat_fake::FakeCloud::start().await?;
    let client = pipecat_api::Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .build()?;
    let raw = reqwest::Client::new();
    let marker = dir.join("bench-round.txt");
    let wait = pipecat_api::Wait::default()
        .timeout(Duration::from_secs(60))
        .polling(Duration::from_millis(5), Duration::from_millis(20));
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = 0u64;
    let result: anyhow::Result<()> = async {
        for round in 0..UPLOAD_ROUNDS {
            report::progress(&format!("round {}/{UPLOAD_ROUNDS}", round + 1));
            // A new hash for each upload, so no build is found in the cache.
            std::fs::write(&marker, format!("raw {round} at {:?}\n", Instant::now()))?;
            let options = ContextOptions::new().temp_dir(&temp);
            let context = dir.clone();
            let packed =
                tokio::task::spawn_blocking(move || build_context::pack(context, &options))
                    .await??;
            size = packed.compressed_bytes();
            let (mut mine, mut mine_size, mut raw_s) = (0.0, 0, 0.0);
            for i in 0..2 {
                fake.clear_requests();
                if (i + round) % 2 == 0 {
                    std::fs::write(&marker, format!("ours {round} at {:?}\n", Instant::now()))?;
                    (mine, mine_size) = ours_once(&client, &dir, wait).await?;
                } else {
                    raw_s = raw_once(&client, &raw, &packed).await?;
                }
            }
            let (ours_rate, raw_rate) = (mine_size as f64 / mine, size as f64 / raw_s);
            ours.push(ours_rate);
            theirs.push(raw_rate);
            ratios.push(ours_rate / raw_rate);
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&marker);
    result?;
    println!(
        "  a {} archive (pipecat-fake takes at most 8 MiB), {UPLOAD_ROUNDS} interleaved rounds over HTTP/1.1 to the fake on 127.0.0.1 (it buffers, parses and hashes each upload)",
        mb(size as f64)
    );
    let mut table = Table::new(&["uploader", "MB/s (median)", "range"]);
    for (name, rates) in [
        ("pipecat-api cloud_build upload", &ours),
        (
            "raw reqwest multipart POST (file read into memory)",
            &theirs,
        ),
    ] {
        let (lo, hi) = stats::range(rates);
        table.row(vec![
            name.to_string(),
            format!("{:.0}", stats::median(rates) / 1e6),
            format!("{:.0}-{:.0}", lo / 1e6, hi / 1e6),
        ]);
    }
    let (lo, hi) = stats::range(&ratios);
    table.row(vec![
        "pipecat / raw (median of per-round ratios)".to_string(),
        report::times(stats::median(&ratios)),
        format!("{}-{}", report::times(lo), report::times(hi)),
    ]);
    table.print();
    println!(
        "  target ≥ 0.90x: {} (each timed from opening the archive to the first getBuild answer after \
         the POST and createBuild: ours by its Uploading {{ sent: 0 }} and first Building events, raw by the \
         clock around POST + createBuild + getBuild made by hand)",
        report::verdict(stats::median(&ratios) >= 0.9)
    );
    Ok(())
}

/// One `cloud_build`, timed from the upload's start to the build's first
/// status.
async fn ours_once(
    client: &pipecat_api::Client,
    dir: &Path,
    wait: pipecat_api::Wait,
) -> anyhow::Result<(f64, u64)> {
    let marks: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let seen = Arc::clone(&marks);
    let build = CloudBuild::new(dir)
        .region("us-west")
        .wait(wait)
        .on_progress(move |event| {
            let mut marks = seen.lock().unwrap_or_else(|p| p.into_inner());
            match event {
                BuildProgress::Uploading { sent: 0, .. } => marks.0 = Some(Instant::now()),
                BuildProgress::Building { .. } | BuildProgress::Done { .. }
                    if marks.1.is_none() =>
                {
                    marks.1 = Some(Instant::now());
                }
                _ => {}
            }
        });
    let finished = client.cloud_build(build).await?;
    if finished.cached() {
        bail!("the build was served from the cache: nothing was uploaded");
    }
    let marks = *marks.lock().unwrap_or_else(|p| p.into_inner());
    match marks {
        (Some(start), Some(end)) => Ok((
            end.duration_since(start).as_secs_f64(),
            finished.compressed_bytes(),
        )),
        _ => bail!("no upload progress seen"),
    }
}

/// One raw multipart POST of the packed archive (read into memory) to a
/// fresh upload URL, then createBuild and getBuild, timed from reading the
/// file to the last answer.
async fn raw_once(
    client: &pipecat_api::Client,
    raw: &reqwest::Client,
    packed: &build_context::PackedContext,
) -> anyhow::Result<f64> {
    let upload = client
        .get_build_upload_url()
        .body(pipecat_api::types::UploadUrlRequest::builder().region("us-west"))
        .send()
        .await?;
    let url = upload.upload_url.context("no uploadUrl")?;
    let fields = upload.upload_fields.unwrap_or_default();
    let started = Instant::now();
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields.expose() {
        form = form.text(name.to_string(), value.to_string());
    }
    form = form.text("Content-Type", "application/gzip");
    // The whole file read into memory and sent as one part: the fastest
    // raw form (streaming `Body::from(tokio::fs::File)` reads 4 KiB at a
    // time through the blocking pool, and is slower).
    let bytes = tokio::fs::read(packed.path()).await?;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("context.tar.gz")
        .mime_str("application/gzip")?;
    let response = raw
        .post(url)
        .multipart(form.part("file", part))
        .send()
        .await?;
    let status = response.status();
    let _ = response.bytes().await?;
    if !status.is_success() {
        bail!("the raw upload was answered {status}");
    }
    // The same calls cloud_build makes before its first Building event.
    let created = client
        .create_build()
        .body(
            pipecat_api::types::CreateBuildRequest::builder()
                .upload_id(upload.upload_id.context("no uploadId")?)
                .region("us-west")
                .dockerfile_path("Dockerfile"),
        )
        .send()
        .await?;
    let id = created.build.and_then(|b| b.id).context("no build id")?;
    client.get_build().build_id(id).send().await?;
    Ok(started.elapsed().as_secs_f64())
}
