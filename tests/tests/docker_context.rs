//! `build_context::pack` against the real `docker` CLI: for hundreds of
//! generated trees and `.dockerignore` files (seeded, so every run is the
//! same), the files we pack must be the files Docker sends, but for the
//! deviations the module docs of `build_context` list.
//!
//! With `DOCKER_BUILDKIT=0`, `docker build` tars the context on the client,
//! applying the `.dockerignore`, and POSTs it to the daemon's `/build`. A
//! stand-in daemon on a unix socket answers `/_ping`, keeps each `/build`
//! body (by the `t=` tag of the request) and answers with a build error, so
//! the client exits at once. No daemon is needed, and nothing leaves the
//! machine. Skipped, with a message, where `docker` is not on `PATH`.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipecat_api::build_context::{ContextOptions, pack};

/// Random cases on top of the fixed ones.
const RANDOM_CASES: usize = 300;
/// `docker` processes run at once.
const WORKERS: usize = 3;

fn docker_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("docker"))
        .find(|candidate| candidate.is_file())
}

// --- The stand-in daemon.

/// Build bodies received, by tag.
type Bodies = Arc<Mutex<HashMap<String, Vec<u8>>>>;

fn serve(listener: UnixListener, bodies: Bodies) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let bodies = bodies.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &bodies);
        });
    }
}

/// Answers the requests on one connection (the client may keep it open).
fn answer(stream: UnixStream, bodies: &Bodies) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        let (kind, content) = if target.contains("/build") {
            let tag = target
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("t="))
                .unwrap_or("")
                .to_owned();
            bodies.lock().unwrap().insert(tag, body);
            (
                "application/json",
                "{\"errorDetail\":{\"message\":\"stand-in daemon\"},\"error\":\"stand-in daemon\"}\n",
            )
        } else {
            ("text/plain", "OK")
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nOstype: linux\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            content.len()
        );
        writer.write_all(head.as_bytes())?;
        if method != "HEAD" {
            writer.write_all(content.as_bytes())?;
        }
        writer.flush()?;
    }
}

/// The regular files in a tar stream.
fn tar_files(body: &[u8]) -> BTreeSet<String> {
    let mut archive = tar::Archive::new(body);
    archive
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.header().entry_type().is_file())
        .map(|entry| {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            path.trim_start_matches("./").to_owned()
        })
        .collect()
}

// --- Cases.

struct Case {
    files: Vec<String>,
    ignore: String,
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "a",
    "b",
    "d",
    "f",
    "g",
    "x.md",
    "y.txt",
    "z.log",
    "keep",
    "src",
    "docs",
    "temp1",
    "tmp",
    "README.md",
    "README-secret.md",
    "main.go",
    "ab",
    "a.b",
    "lib",
];

/// Files at depths 1 to 4; a name is never both a file and a directory.
fn random_tree(rng: &mut Rng) -> Vec<String> {
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for _ in 0..3 + rng.below(14) {
        let depth = 1 + rng.below(4);
        let parts: Vec<&str> = (0..depth).map(|_| rng.pick(NAMES)).collect();
        let path = parts.join("/");
        let clash = (1..depth).any(|d| files.contains(&parts[..d].join("/")))
            || dirs.contains(&path)
            || path == "Dockerfile"
            || path == ".dockerignore";
        if clash {
            continue;
        }
        for d in 1..depth {
            dirs.insert(parts[..d].join("/"));
        }
        files.insert(path);
    }
    files.into_iter().collect()
}

/// A `.dockerignore` line from Docker's shapes, with `!`, `/` at either end,
/// `..`, `.`, classes, `?`, `*`, `**` and a suffix `**`.
fn random_line(rng: &mut Rng) -> String {
    const SHAPES: &[&str] = &[
        "N",
        "N/N",
        "N/N/N",
        "*.md",
        "**/*.md",
        "**.md",
        "**.log",
        "**/N",
        "N/**",
        "N/*",
        "N*",
        "*",
        "N/**/N",
        "**/N/**",
        "*/N",
        "*/*/N",
        "N?",
        "[ab]",
        "[^a]*",
        "[a-d]/N",
        "?",
        "**N",
        "/N",
        "N/",
        "./N",
        "N/../N",
        "../N",
        "N/./N",
        "**",
        "*/temp*",
        "*/*/temp*",
        "temp?",
        "**/*.go",
        "README*.md",
        "N[^/]N",
        "**/N*",
        "N/**/*.txt",
    ];
    let mut line = String::new();
    if rng.below(3) == 0 {
        line.push('!');
    }
    for c in rng.pick(SHAPES).chars() {
        if c == 'N' {
            line.push_str(rng.pick(NAMES));
        } else {
            line.push(c);
        }
    }
    if rng.below(12) == 0 {
        line.push_str("  ");
    }
    line
}

fn random_case(rng: &mut Rng) -> Case {
    let files = random_tree(rng);
    let mut ignore = String::new();
    for _ in 0..1 + rng.below(6) {
        // Now and then a path from the tree itself, or one of its
        // directories, so that patterns hit.
        let line = if rng.below(4) == 0 && !files.is_empty() {
            let file = &files[rng.below(files.len())];
            let parts: Vec<&str> = file.split('/').collect();
            let keep = 1 + rng.below(parts.len());
            let bang = if rng.below(2) == 0 { "!" } else { "" };
            format!("{bang}{}", parts[..keep].join("/"))
        } else {
            random_line(rng)
        };
        ignore.push_str(&line);
        ignore.push('\n');
    }
    if rng.below(10) == 0 {
        ignore.push_str("# a comment\n\n");
    }
    Case { files, ignore }
}

/// Docker's documented examples, and the cases of issue 16.
fn fixed_cases() -> Vec<Case> {
    let case = |ignore: &str, files: &[&str]| Case {
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        ignore: ignore.to_owned(),
    };
    let docs_tree = &[
        "README.md",
        "README-secret.md",
        "CHANGES.md",
        "a/temporary.txt",
        "a/b/temp.txt",
        "a/b/temporal/x",
        "temp1",
        "tempa",
        "temp12",
        "src/main.go",
        "src/x/util.go",
        "main.go",
    ];
    vec![
        case("*/temp*\n*/*/temp*\ntemp?\n", docs_tree),
        case("**/*.go\n", docs_tree),
        case("*.md\n!README.md\n", docs_tree),
        case("*.md\n!README*.md\nREADME-secret.md\n", docs_tree),
        case("*.md\nREADME-secret.md\n!README*.md\n", docs_tree),
        case("# comment\n  \n/src/\n!src/main.go\n", docs_tree),
        case("d/f\n!d\n", &["d/f", "d/g"]),
        case("**/*.md\n!docs\n", &["docs/x.md", "docs/y.txt", "a.md"]),
        case("**.log\n", &["a.log", "dir/b.log", "keep.txt"]),
        case("a\n!a/b\n", &["a/b/c", "a/c", "a/d"]),
        case("*\n!src\n", &["src/a", "src/b/c", "x"]),
        case(
            "node_modules\n!**/*.md\n",
            &["node_modules/x/README.md", "node_modules/x/i.js", "a.md"],
        ),
        case("a/[^x]b\n[/]\n", &["a/cb", "a/xb", "b"]),
        case("**/\n!a\n", &["a", "b/a"]),
        case(".dockerignore\n", &["x"]),
        case("x /\n!/ y\n", &["x", " y", "y"]),
        // Refused by both: a lone `!`, Go syntax errors, a reversed range.
        case("a\n!\n", &["a"]),
        case("!/\n", &["a"]),
        case("[-]\n", &["a"]),
        case("a\n[a-b-c]\n", &["a"]),
        case("[b-a]\n", &["a"]),
        // Accepted by Docker with a meaning other than the plain one; refused.
        case("a\\d\n", &["a1", "ad"]),
        case("[*]\n", &["a"]),
    ]
}

// --- Running both.

/// Writes the case into `dir` (with a Dockerfile).
fn write_case(dir: &Path, case: &Case) {
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), &case.ignore).unwrap();
    for file in &case.files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
}

/// What Docker sends for `dir`, or `None` when it refused (sent nothing).
fn docker_files(
    docker: &Path,
    socket: &Path,
    config: &Path,
    bodies: &Bodies,
    tag: &str,
    dir: &Path,
) -> Result<BTreeSet<String>, String> {
    let mut child = Command::new(docker)
        .args(["build", "-t", tag, "."])
        .current_dir(dir)
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("docker build for {tag} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().unwrap();
    match bodies.lock().unwrap().remove(tag) {
        Some(body) => Ok(tar_files(&body)),
        None => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// Go's `filepath.Clean` on a `/`-separated path.
fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The exception patterns as Docker holds them (its reader, then
/// `patternmatcher.New`), without their `!`.
fn exceptions(ignore: &str) -> Vec<String> {
    ignore
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.trim().strip_prefix('!')?.trim();
            let mut cleaned = go_clean(rest);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let again = go_clean(format!("!{cleaned}").trim());
            again.strip_prefix('!').map(str::to_owned)
        })
        .collect()
}

/// Whether the legacy builder's walk explains why Docker left out `file`
/// that we pack: it skips an excluded directory unless an exception's text
/// starts with the directory's path, where BuildKit (which we follow) walks
/// into it once an exception has a wildcard and applies the exception below.
fn legacy_skip_explains(file: &str, ignore: &str, sent: &BTreeSet<String>) -> bool {
    let exceptions = exceptions(ignore);
    let wild = exceptions.iter().any(|e| {
        let e = e.strip_suffix("/**").unwrap_or(e);
        let e = e.strip_suffix("/*").unwrap_or(e);
        e.contains(['*', '[', ']', '?', '^', '\\'])
    });
    if !wild {
        return false;
    }
    file.match_indices('/').any(|(at, _)| {
        let dir = format!("{}/", &file[..at]);
        !exceptions.iter().any(|e| format!("{e}/").starts_with(&dir))
            && !sent.iter().any(|s| s.starts_with(&dir))
    })
}

/// Our refusals of patterns Docker accepts but reads differently from their
/// plain meaning (listed in the module docs of `build_context`).
const REFUSED_ON_PURPOSE: &[&str] = &["is not a plain escape", "inside `[...]`", "reversed range"];

#[derive(Default)]
struct Tally {
    agree: usize,
    legacy_skip: usize,
    both_refused: usize,
    refused_by_us_only: usize,
    dockerignore_kept_by_docker: usize,
    disagreements: Vec<String>,
}

#[test]
fn packed_files_are_the_files_docker_sends() {
    let Some(docker) = docker_on_path() else {
        println!("skipping docker_context: `docker` is not on PATH");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let socket = scratch.path().join("docker.sock");
    let config = scratch.path().join("config");
    std::fs::create_dir(&config).unwrap();
    let listener = UnixListener::bind(&socket).unwrap();
    let bodies: Bodies = Arc::default();
    {
        let bodies = bodies.clone();
        std::thread::spawn(move || serve(listener, bodies));
    }

    let mut cases = fixed_cases();
    let mut rng = Rng(0x0dd0_c4e1_9a77_3e15);
    cases.extend((0..RANDOM_CASES).map(|_| random_case(&mut rng)));
    let cases = Arc::new(cases);
    let next = Arc::new(Mutex::new(0usize));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (cases, next, tally) = (cases.clone(), next.clone(), tally.clone());
            let (docker, socket, config, bodies) =
                (docker.clone(), socket.clone(), config.clone(), bodies.clone());
            std::thread::spawn(move || {
                loop {
                    let n = {
                        let mut next = next.lock().unwrap();
                        *next += 1;
                        *next - 1
                    };
                    let Some(case) = cases.get(n) else { return };
                    let dir = tempfile::tempdir().unwrap();
                    write_case(dir.path(), case);
                    let ours = pack(dir.path(), &ContextOptions::new());
                    let theirs =
                        docker_files(&docker, &socket, &config, &bodies, &format!("c{n}"), dir.path());
                    let mut tally = tally.lock().unwrap();
                    let context = match (ours, theirs) {
                        (Err(_), Err(_)) => {
                            tally.both_refused += 1;
                            continue;
                        }
                        (Err(err), Ok(_)) => {
                            // Only the patterns the module docs list as
                            // refused on purpose.
                            let err = err.to_string();
                            if REFUSED_ON_PURPOSE.iter().any(|why| err.contains(why)) {
                                tally.refused_by_us_only += 1;
                            } else {
                                tally.disagreements.push(format!(
                                    "case {n}: we refuse, Docker accepts: {err}\n{}",
                                    case.ignore
                                ));
                            }
                            continue;
                        }
                        (Ok(_), Err(stderr)) => {
                            tally.disagreements.push(format!(
                                "case {n}: Docker refused, we packed\n{}{stderr}",
                                case.ignore
                            ));
                            continue;
                        }
                        (Ok(context), Ok(theirs)) => (context, theirs),
                    };
                    let (context, mut theirs) = context;
                    let ours: BTreeSet<String> =
                        context.files().iter().map(|f| f.path().to_owned()).collect();
                    // Docker re-adds a `.dockerignore` that excludes itself.
                    if !ours.contains(".dockerignore") && theirs.remove(".dockerignore") {
                        tally.dockerignore_kept_by_docker += 1;
                    }
                    let missing: Vec<&String> = theirs.difference(&ours).collect();
                    let extra: Vec<&String> = ours.difference(&theirs).collect();
                    if missing.is_empty() && extra.is_empty() {
                        tally.agree += 1;
                    } else if missing.is_empty()
                        && extra
                            .iter()
                            .all(|f| legacy_skip_explains(f, &case.ignore, &theirs))
                    {
                        tally.legacy_skip += 1;
                        println!(
                            "case {n}: the legacy builder skips what BuildKit walks: only we send {extra:?}; .dockerignore {:?}",
                            case.ignore
                        );
                    } else {
                        tally.disagreements.push(format!(
                            "case {n}: only Docker sends {missing:?}, only we send {extra:?}\n.dockerignore:\n{}tree: {:?}",
                            case.ignore, case.files
                        ));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }

    let tally = tally.lock().unwrap();
    println!(
        "docker_context: {} cases in {:.1} s: {} agree, {} differ only where the legacy builder \
         skips a directory BuildKit walks, {} refused by both, {} refused by us only (patterns \
         Docker's regex misreads), {} where Docker re-adds the .dockerignore, {} disagree",
        cases.len(),
        started.elapsed().as_secs_f64(),
        tally.agree,
        tally.legacy_skip,
        tally.both_refused,
        tally.refused_by_us_only,
        tally.dockerignore_kept_by_docker,
        tally.disagreements.len()
    );
    assert!(
        tally.disagreements.is_empty(),
        "{}",
        tally.disagreements.join("\n\n")
    );
    assert!(tally.agree > cases.len() / 2, "too few cases compared");
}
