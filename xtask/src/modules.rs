//! The module map of each crate: which top-level module uses which, read
//! from the source (`crate::x` paths, `use crate::{x, y::z}` groups, and
//! items the crate root re-exports, such as `crate::Error`). `cargo xtask
//! modules` prints it; a test fails on any import circle, so that the layout
//! keeps saying which module is built on which.
//!
//! Test code is left out: a file's `#[cfg(test)]` module (from that line to
//! the end of the file) and files named `tests.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Module name → the modules of the same crate it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The crates whose layout is checked, by their `src` folder.
pub const CRATES: [&str; 4] = [
    "pipecat-api/src",
    "pipecat-fake/src",
    "pipecat-cli/src",
    "xtask/src",
];

/// The graph of the crate whose sources are in `src`.
pub fn graph(src: &Path) -> Result<Graph, String> {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("{}: no lib.rs or main.rs", src.display()))?;
    let root_text = read(&root)?;
    let modules = declared_modules(&root_text);
    let reexports = reexports(&root_text, &modules);
    let mut graph = Graph::new();
    for module in &modules {
        let mut text = String::new();
        for file in module_files(src, module) {
            text.push_str(without_tests(&read(&file)?));
            text.push('\n');
        }
        let used = used_names(&text)
            .into_iter()
            .filter_map(|name| {
                if modules.contains(&name) {
                    Some(name)
                } else {
                    reexports.get(&name).cloned()
                }
            })
            .filter(|name| name != module)
            .collect();
        graph.insert(module.clone(), used);
    }
    Ok(graph)
}

/// Every circle in `graph`, each once, as the modules along it.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn walk(graph: &Graph, start: &str, path: &mut Vec<String>, found: &mut BTreeSet<Vec<String>>) {
    let Some(last) = path.last().cloned() else {
        return;
    };
    for next in graph.get(&last).into_iter().flatten() {
        if next == start {
            // Each circle once: only from its smallest module.
            if path.iter().all(|m| m.as_str() >= start) {
                found.insert(path.clone());
            }
        } else if !path.contains(next) && next.as_str() > start {
            path.push(next.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}

/// Prints each crate's map, one line a module, and its circles.
pub fn print(workspace: &Path) -> Result<(), String> {
    let mut circles = 0;
    for src in CRATES {
        let graph = graph(&workspace.join(src))?;
        println!("{src}");
        for (module, uses) in &graph {
            let uses: Vec<&str> = uses.iter().map(String::as_str).collect();
            println!("  {module:<16} uses {}", uses.join(", "));
        }
        for cycle in cycles(&graph) {
            circles += 1;
            println!("  CIRCLE: {} -> {}", cycle.join(" -> "), cycle[0]);
        }
    }
    if circles > 0 {
        return Err(format!("{circles} import circle(s)"));
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `mod x;` and `pub mod x;` declared in the crate root.
fn declared_modules(root: &str) -> BTreeSet<String> {
    root.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            let name = rest.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// Names the crate root re-exports (`pub use error::{ApiError, Error};`),
/// mapped to the module they come from.
fn reexports(root: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let text = without_tests(root);
    let mut rest = text;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let statement = &rest[..end];
        rest = &rest[end..];
        let Some((module, items)) = statement.split_once("::") else {
            continue;
        };
        let module = module.trim();
        if !modules.contains(module) {
            continue;
        }
        for item in items.split(|c: char| "{},".contains(c)) {
            // `a::b as c` → `c`; `a::b` → `b`.
            let item = item.trim();
            let name = item
                .rsplit_once(" as ")
                .map_or_else(
                    || item.rsplit("::").next().unwrap_or(item),
                    |(_, alias)| alias,
                )
                .trim();
            if !name.is_empty() && name != "self" && name != "*" {
                map.insert(name.to_string(), module.to_string());
            }
        }
    }
    map
}

/// The files of module `name`: `name.rs`, or `name/mod.rs` and the files
/// beside it (nested modules belong to their top-level module).
fn module_files(src: &Path, name: &str) -> Vec<PathBuf> {
    let single = src.join(format!("{name}.rs"));
    let mut files = Vec::new();
    if single.is_file() {
        files.push(single);
    }
    let dir = src.join(name);
    if dir.is_dir() {
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.file_name().is_some_and(|n| n != "tests.rs")
                {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

/// The text before the file's `#[cfg(test)]` module.
fn without_tests(text: &str) -> &str {
    match text.find("\n#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Every first segment after `crate::`, including each name of a
/// `use crate::{a, b::c}` group, in code (not in comments or strings).
fn used_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            // `pipecat_api::crate::` cannot occur; skip quoted tokens of
            // generated code (`quote! { crate::x }` in xtask) by requiring
            // the name to be a module of this crate later on.
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let first = item.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() {
                        names.insert(first.to_string());
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &str)]) -> Graph {
        let mut graph = Graph::new();
        for (from, to) in pairs {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    }

    #[test]
    fn circles_are_found_once_each() {
        let graph = edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "c")]);
        assert_eq!(
            cycles(&graph),
            vec![
                vec!["a".to_string(), "b".to_string(), "c".to_string()],
                vec!["c".to_string(), "d".to_string()],
            ]
        );
        assert!(cycles(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }

    #[test]
    fn uses_groups_and_reexports_are_read() {
        let text =
            "use crate::{a, b::X};\nfn f() { crate::c::g(); } // crate::d\nlet e: crate::Error;";
        let names: Vec<String> = used_names(text).into_iter().collect();
        assert_eq!(names, ["Error", "a", "b", "c"]);
        let modules: BTreeSet<String> = ["error".to_string(), "client".to_string()].into();
        let map = reexports(
            "pub use error::{ApiError, Error};\npub use client::Client as C;",
            &modules,
        );
        assert_eq!(map.get("Error").map(String::as_str), Some("error"));
        assert_eq!(map.get("ApiError").map(String::as_str), Some("error"));
        assert_eq!(map.get("C").map(String::as_str), Some("client"));
    }

    #[test]
    fn no_crate_of_the_workspace_has_an_import_circle() {
        let workspace = crate::workspace_root();
        let mut report = Vec::new();
        for src in CRATES {
            let graph = graph(&workspace.join(src)).unwrap_or_default();
            assert!(!graph.is_empty(), "{src}: no modules found");
            for cycle in cycles(&graph) {
                report.push(format!("{src}: {}", cycle.join(" -> ")));
            }
        }
        assert!(
            report.is_empty(),
            "import circles (run `cargo xtask modules`):\n{}",
            report.join("\n")
        );
    }
}
