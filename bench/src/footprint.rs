//! What depending on pipecat-api costs: crates pulled in, proc-macro crates
//! in a dependent's build, the generated code's size, and a clean release
//! build's time. Each command is printed before it runs, from the
//! workspace root; `--locked` keeps them from touching `Cargo.lock`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::process;
use crate::report::{self, Table};

/// Proc-macro crates expected in a dependent's build.
const EXPECTED_PROC_MACROS: [&str; 3] = ["serde_derive", "thiserror-impl", "schemars_derive"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// The distinct packages (`name vX.Y.Z`, markers dropped) of a `cargo tree` listing.
fn packages(listing: &str) -> BTreeSet<String> {
    listing
        .lines()
        .map(|line| line.trim().trim_end_matches(" (*)").to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

/// The packages `cargo tree -p pipecat-api -e <edges> <extra>` lists.
fn tree(edges: &str, extra: &[&str]) -> anyhow::Result<BTreeSet<String>> {
    let output = process::run_ok(
        cargo()
            .args(["tree", "-p", "pipecat-api", "-e", edges])
            .args(["--prefix", "none", "--locked"])
            .args(extra),
        Duration::from_secs(120),
    )?;
    Ok(packages(&output.stdout))
}

/// Runs every measure and prints them.
pub async fn run() -> anyhow::Result<()> {
    tokio::task::spawn_blocking(measure).await?
}

fn measure() -> anyhow::Result<()> {
    report::heading("footprint: what a dependent of pipecat-api pulls in");
    let root = workspace_root();
    println!("  workspace: {}", root.display());

    // Crates in a dependent's normal build, with and without http2.
    println!(
        "  $ cargo tree -p pipecat-api -e normal --prefix none --locked | sed 's/ (\\*)$//' | sort -u | wc -l"
    );
    let normal = tree("normal", &[])?;
    println!("  $ the same with --no-default-features --features rustls (no http2)");
    let without_http2 = tree("normal", &["--no-default-features", "--features", "rustls"])?;

    // Proc-macro crates, build dependencies included.
    println!(
        "  $ cargo tree -p pipecat-api -e normal,build --prefix none --locked | grep '(proc-macro)' | sort -u"
    );
    let with_build = tree("normal,build", &[])?;
    let proc_macros: Vec<&String> = with_build
        .iter()
        .filter(|p| p.ends_with("(proc-macro)"))
        .collect();
    let unexpected: Vec<&String> = proc_macros
        .iter()
        .copied()
        .filter(|p| {
            let name = p.split_whitespace().next().unwrap_or_default();
            !EXPECTED_PROC_MACROS.contains(&name)
        })
        .collect();

    // Generated code.
    let generated = root.join("pipecat-api/src/generated.rs");
    let text = std::fs::read_to_string(&generated)
        .with_context(|| format!("cannot read {}", generated.display()))?;

    let mut table = Table::new(&["measure", "value"]);
    table.row(vec![
        "crates in a dependent's normal build (pipecat-api included)".into(),
        normal.len().to_string(),
    ]);
    table.row(vec![
        "the same without the default `http2` feature".into(),
        without_http2.len().to_string(),
    ]);
    table.row(vec![
        "crates with build dependencies too".into(),
        with_build.len().to_string(),
    ]);
    table.row(vec![
        "generated.rs".into(),
        format!(
            "{} lines, {} bytes",
            report::int(text.lines().count() as f64),
            report::int(text.len() as f64)
        ),
    ]);
    table.print();
    println!("  proc-macro crates in a dependent's build (normal + build edges):");
    for p in &proc_macros {
        let name = p.split_whitespace().next().unwrap_or_default();
        let mark = if EXPECTED_PROC_MACROS.contains(&name) {
            "expected"
        } else {
            "OTHER"
        };
        println!("    {p}  [{mark}]");
    }
    if unexpected.is_empty() {
        println!("  → none besides serde_derive / thiserror-impl / schemars_derive");
    } else {
        println!(
            "  → {} besides serde_derive / thiserror-impl / schemars_derive",
            unexpected.len()
        );
    }

    // Clean build time.
    let scratch =
        std::env::temp_dir().join(format!("pipecat-bench-footprint-{}", std::process::id()));
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "  $ CARGO_TARGET_DIR={} cargo build --release -p pipecat-api --locked   ({jobs} jobs)",
        scratch.display()
    );
    report::progress(&format!(
        "clean release build of pipecat-api (a few minutes on 2 cores); {} before",
        crate::load_average()
    ));
    let built = process::run(
        cargo()
            .args(["build", "--release", "-p", "pipecat-api", "--locked"])
            .env("CARGO_TARGET_DIR", &scratch),
        Duration::from_secs(900),
    );
    let _ = std::fs::remove_dir_all(&scratch);
    match built {
        Ok(finished) if finished.status.success() => {
            let units = finished
                .stderr
                .lines()
                .filter(|l| l.trim_start().starts_with("Compiling "))
                .count();
            println!(
                "  clean release build of pipecat-api: {:.1} s ({units} crates compiled)",
                finished.elapsed.as_secs_f64()
            );
        }
        Ok(finished) => println!(
            "  clean build failed ({}):\n{}",
            finished.status,
            finished.tail()
        ),
        Err(e) => println!("  clean build did not complete: {e:#}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_drop_repeat_markers() {
        let listing = "a v1.0.0\nb v2.0.0\na v1.0.0 (*)\nserde_derive v1.0.0 (proc-macro)\n\n";
        let set = packages(listing);
        assert_eq!(set.len(), 3);
        assert!(set.contains("serde_derive v1.0.0 (proc-macro)"));
    }
}
