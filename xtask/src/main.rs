//! Maintainers' tasks for the pipecat-api workspace.
//!
//! `cargo xtask gen` regenerates `pipecat-api/src/generated.rs` from
//! `openapi/pipecat-cloud.yaml`; `cargo xtask gen --check` fails, with a diff,
//! when the committed file is stale. `cargo xtask drift <upstream>` lists how
//! our spec differs from an upstream document, failing on unknown differences.
//! `cargo xtask modules` prints each crate's module map and fails on an
//! import circle.
//!
//! # Why the generator is more than progenitor's settings
//!
//! `generate` runs progenitor with its own settings wherever one exists:
//! the builder interface, merged tags, the inner type, derives, type
//! replacements (`UploadFields`) and schema conversions (timestamps as
//! strings, `format: password` as `SecretValue`: `generate::conversions`).
//! What is left is done in code, each piece for a reason no setting covers
//! (progenitor 0.15 has no global attribute setting, and a patch only
//! renames a type or adds derives and attributes to one named type):
//!
//! - `fixups` (the spec, before progenitor): mount path-level servers,
//!   drop error answers and hand-written operations, ordered upload fields;
//!   checks that path parameters are single segments and that answers
//!   accept unknown fields; integer ranges typify would make types of.
//! - `surface` (the public API): the crate's own `Client` and error type,
//!   `send()` through the crate's transport (auth, guard, retries), open
//!   enums, `#[non_exhaustive]` structs, setters that take values, integer
//!   range checks.
//! - `rewrite` (correctness and build cost): conversion errors that keep
//!   their reason, `TryFrom<&String>`, `schemars` behind a feature (a global
//!   `cfg_attr`, which no setting can add), and the speed-only rewrites kept
//!   because the bench's instruction counts show them (see that module).
//! - `operations` and `schemas`: the operation table and schema index the
//!   hand-written layer reads.

mod drift;
mod fixups;
mod generate;
mod modules;
mod operations;
mod rewrite;
mod schemas;
#[cfg(test)]
mod sleeps;
mod spec;
mod surface;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask gen [--check] | cargo xtask drift <upstream.json|yaml> | cargo xtask modules";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen"] => cmd_gen(false),
        ["gen", "--check"] => cmd_gen(true),
        ["drift", upstream] => drift::run(upstream),
        ["modules"] => modules::print(&workspace_root()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

fn cmd_gen(check: bool) -> Result<(), String> {
    let root = workspace_root();
    let spec_rel = generate::SPEC_PATH;
    let out_rel = generate::OUTPUT_PATH;
    let spec_bytes =
        std::fs::read(root.join(spec_rel)).map_err(|e| format!("cannot read {spec_rel}: {e}"))?;
    let generated = generate::generate(&spec_bytes)?;
    let out_path = root.join(out_rel);

    if check {
        let committed = std::fs::read_to_string(&out_path).unwrap_or_default();
        if committed == generated {
            println!("{out_rel} is up to date with {spec_rel}");
            return Ok(());
        }
        let diff = similar::TextDiff::from_lines(&committed, &generated)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{out_rel} (committed)"),
                &format!("{out_rel} (from {spec_rel})"),
            )
            .to_string();
        eprintln!("{diff}");
        return Err(format!(
            "{out_rel} is stale: run `cargo xtask gen` and commit the result"
        ));
    }

    std::fs::write(&out_path, generated).map_err(|e| format!("cannot write {out_rel}: {e}"))?;
    println!("wrote {out_rel}");
    Ok(())
}
