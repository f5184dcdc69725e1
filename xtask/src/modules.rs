//! The module map of each crate: which module uses which, read from the
//! source with syn. `cargo xtask modules` prints it; a test fails on any
//! import circle, so that the layout keeps saying which module is built on
//! which.
//!
//! A map is drawn for the crate's top-level modules and again inside each
//! folder module (a module with children, such as `jobs` or
//! `jobs::dotenv`), between its children: a child uses a sibling by
//! `crate::group::sibling`, `super::sibling`, `self::…` or a name the group
//! re-exports. A use counts for the module that holds it and every module
//! above it, up to the group's child (`jobs::dotenv::grammar` using
//! `crate::runtime::patterns` is `jobs` using `runtime` at the top, and
//! nothing inside `jobs` or `jobs::dotenv`). Paths are resolved through
//! `use` items, so `crate::Error` is the module the crate root re-exports it
//! from. Paths in macro calls are read from their tokens.
//!
//! Test code is left out: items marked `#[cfg(test)]` (test modules, their
//! files, and test-only functions).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use syn::visit::Visit;

/// Module name → the modules of the same group it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The crates whose layout is checked, by their `src` folder.
pub const CRATES: [&str; 4] = [
    "pipecat-api/src",
    "pipecat-fake/src",
    "pipecat-cli/src",
    "xtask/src",
];

/// A module path from the crate root (`["jobs", "dotenv"]`; empty for the
/// root itself).
type ModPath = Vec<String>;

/// What one module's own files say (not its children's).
#[derive(Default)]
struct Module {
    /// Its child modules, in the order declared (test modules left out).
    children: Vec<String>,
    /// Every path it names that starts at `crate`, `self`, `super` or a
    /// name in scope, as written.
    paths: Vec<Vec<String>>,
    /// Names its `use` items bring into scope → the path they stand for,
    /// as written.
    aliases: BTreeMap<String, Vec<String>>,
}

/// A crate's modules, read from its sources.
pub struct Crate {
    modules: BTreeMap<ModPath, Module>,
}

impl Crate {
    /// Reads the crate whose sources are in `src`, following `mod` items
    /// from `lib.rs` or `main.rs`.
    pub fn load(src: &Path) -> Result<Crate, String> {
        Self::load_with(src, &mut |path| {
            fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
        })
    }

    /// [`Crate::load`] with the files given by `read`.
    fn load_with(
        src: &Path,
        read: &mut dyn FnMut(&Path) -> Result<String, String>,
    ) -> Result<Crate, String> {
        let (root, text) = ["lib.rs", "main.rs"]
            .iter()
            .find_map(|name| {
                let path = src.join(name);
                read(&path).ok().map(|text| (path, text))
            })
            .ok_or_else(|| format!("{}: no lib.rs or main.rs", src.display()))?;
        let mut krate = Crate {
            modules: BTreeMap::new(),
        };
        // (module path, its file, the folder its children's files are in).
        let mut pending = vec![(Vec::new(), root, src.to_path_buf(), Some(text))];
        while let Some((path, file, dir, text)) = pending.pop() {
            let text = match text {
                Some(text) => text,
                None => read(&file)?,
            };
            let module = parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            for child in &module.children {
                let candidates = [
                    dir.join(format!("{child}.rs")),
                    dir.join(child).join("mod.rs"),
                ];
                let found = candidates
                    .into_iter()
                    .find_map(|f| read(&f).ok().map(|text| (f, text)));
                let Some((child_file, child_text)) = found else {
                    return Err(format!(
                        "{}: `mod {child};` has no file {child}.rs or {child}/mod.rs",
                        dir.display()
                    ));
                };
                let mut child_path = path.clone();
                child_path.push(child.clone());
                pending.push((child_path, child_file, dir.join(child), Some(child_text)));
            }
            krate.modules.insert(path, module);
        }
        Ok(krate)
    }

    /// The folder modules (those with children), the root first, each
    /// group before the groups inside it.
    pub fn groups(&self) -> Vec<ModPath> {
        self.modules
            .iter()
            .filter(|(_, m)| !m.children.is_empty())
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// The map between the children of `group`.
    pub fn graph(&self, group: &[String]) -> Graph {
        let mut graph = Graph::new();
        let Some(parent) = self.modules.get(group) else {
            return graph;
        };
        for child in &parent.children {
            let mut prefix = group.to_vec();
            prefix.push(child.clone());
            let mut uses = BTreeSet::new();
            for (path, module) in self.modules.range(prefix.clone()..) {
                if !path.starts_with(&prefix) {
                    break;
                }
                for written in &module.paths {
                    let Some(target) = self.resolve(path, written) else {
                        continue;
                    };
                    if let Some(sibling) = target.get(group.len())
                        && target.starts_with(group)
                        && sibling != child
                        && parent.children.contains(sibling)
                    {
                        uses.insert(sibling.clone());
                    }
                }
            }
            graph.insert(child.clone(), uses);
        }
        graph
    }

    /// The absolute path that `written`, named in module `at`, stands
    /// for, through `use` items; `None` for another crate's path or a
    /// local name.
    fn resolve(&self, at: &[String], written: &[String]) -> Option<ModPath> {
        let mut path = self.absolute(at, written)?;
        // Each step replaces a name brought in by `use` with what it stands
        // for; bounded, as `use` items could (wrongly) name each other.
        for _ in 0..16 {
            let Some((len, target)) = (1..=path.len()).rev().find_map(|len| {
                let (name, module) = path[..len].split_last()?;
                let alias = self.modules.get(module)?.aliases.get(name)?;
                // A module's own child is not an alias of itself.
                Some((len, self.absolute(module, alias)?)).filter(|(_, t)| t[..] != path[..len])
            }) else {
                return Some(path);
            };
            let mut next = target;
            next.extend_from_slice(&path[len..]);
            path = next;
        }
        Some(path)
    }

    /// `written` from the crate root: `crate::`, `self::` and `super::`
    /// resolved, a first name that is a child or a `use` of module `at`
    /// taken relative to it; `None` otherwise (another crate, a local name).
    fn absolute(&self, at: &[String], written: &[String]) -> Option<ModPath> {
        let (first, rest) = written.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([at, rest].concat()),
            "super" => {
                let supers = written.iter().take_while(|s| *s == "super").count();
                let base = at.get(..at.len().checked_sub(supers)?)?;
                Some([base, &written[supers..]].concat())
            }
            _ => {
                let module = self.modules.get(at)?;
                (module.children.contains(first) || module.aliases.contains_key(first))
                    .then(|| [at, written].concat())
            }
        }
    }
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

/// Every circle of `krate`, at the top and inside each group, as text
/// (`jobs::dotenv: grammar -> official`).
pub fn all_cycles(krate: &Crate) -> Vec<String> {
    let mut all = Vec::new();
    for group in krate.groups() {
        let name = if group.is_empty() {
            "crate".to_string()
        } else {
            group.join("::")
        };
        for cycle in cycles(&krate.graph(&group)) {
            let first = cycle.first().cloned().unwrap_or_default();
            all.push(format!("{name}: {} -> {first}", cycle.join(" -> ")));
        }
    }
    all
}

/// Prints each crate's map, one line a module, the map inside a folder
/// module indented under it, then the circles.
pub fn print(workspace: &Path) -> Result<(), String> {
    let mut circles = 0;
    for src in CRATES {
        let krate = Crate::load(&workspace.join(src))?;
        println!("{src}");
        print_group(&krate, &[], 1);
        for circle in all_cycles(&krate) {
            circles += 1;
            println!("  CIRCLE {circle}");
        }
    }
    if circles > 0 {
        return Err(format!("{circles} import circle(s)"));
    }
    Ok(())
}

fn print_group(krate: &Crate, group: &[String], depth: usize) {
    let indent = "  ".repeat(depth);
    let width = 18usize.saturating_sub(indent.len());
    for (module, uses) in &krate.graph(group) {
        let uses: Vec<&str> = uses.iter().map(String::as_str).collect();
        println!("{indent}{module:<width$} uses {}", uses.join(", "));
        let mut path = group.to_vec();
        path.push(module.clone());
        print_group(krate, &path, depth + 1);
    }
}

/// A module's own file: its children, the paths it names, its `use` names.
fn parse(text: &str) -> Result<Module, String> {
    let file = syn::parse_file(text).map_err(|e| e.to_string())?;
    let mut reader = Reader::default();
    reader.visit_file(&file);
    Ok(reader.module)
}

#[derive(Default)]
struct Reader {
    module: Module,
}

/// Whether the attributes hold `#[cfg(test)]` (or a `cfg` naming `test`).
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && matches!(&attr.meta, syn::Meta::List(list)
                if list.tokens.clone().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "test")))
    })
}

/// The attributes of an item, for the kinds that can be test-only.
fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

impl<'a> Visit<'a> for Reader {
    fn visit_item(&mut self, item: &'a syn::Item) {
        if is_test(item_attrs(item)) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'a syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Fn(f) => &f.attrs,
            syn::ImplItem::Const(c) => &c.attrs,
            _ => &[][..],
        };
        if !is_test(attrs) {
            syn::visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, item: &'a syn::ItemMod) {
        // `mod x;` is a child with its own file; an inline `mod x { … }`
        // is read as part of this module.
        if item.content.is_none() {
            self.module.children.push(item.ident.to_string());
        }
        syn::visit::visit_item_mod(self, item);
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        let mut found = Vec::new();
        use_paths(&item.tree, Vec::new(), &mut found);
        for (path, name) in found {
            if let Some(name) = name {
                self.module.aliases.insert(name, path.clone());
            }
            self.module.paths.push(path);
        }
    }

    fn visit_path(&mut self, path: &'a syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.module.paths.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        let mut tokens = Vec::new();
        flatten(mac.tokens.clone(), &mut tokens);
        self.module.paths.extend(token_paths(&tokens));
        syn::visit::visit_macro(self, mac);
    }
}

/// The paths of a `use` tree, each with the name it brings into scope
/// (`None` for a glob).
fn use_paths(
    tree: &syn::UseTree,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let with = |name: &syn::Ident| {
        let mut path = prefix.clone();
        path.push(name.to_string());
        path
    };
    match tree {
        syn::UseTree::Path(p) => use_paths(&p.tree, with(&p.ident), out),
        syn::UseTree::Name(n) if n.ident == "self" => {
            let name = prefix.last().cloned();
            out.push((prefix, name));
        }
        syn::UseTree::Name(n) => out.push((with(&n.ident), Some(n.ident.to_string()))),
        syn::UseTree::Rename(r) => out.push((with(&r.ident), Some(r.rename.to_string()))),
        syn::UseTree::Glob(_) => out.push((prefix, None)),
        syn::UseTree::Group(g) => {
            for item in &g.items {
                use_paths(item, prefix.clone(), out);
            }
        }
    }
}

/// A macro's tokens, groups opened (their edges kept as breaks).
enum Token {
    Ident(String),
    Colon,
    Other,
}

fn flatten(tokens: proc_macro2::TokenStream, out: &mut Vec<Token>) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Group(g) => {
                out.push(Token::Other);
                flatten(g.stream(), out);
                out.push(Token::Other);
            }
            proc_macro2::TokenTree::Ident(i) => out.push(Token::Ident(i.to_string())),
            proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' => out.push(Token::Colon),
            _ => out.push(Token::Other),
        }
    }
}

/// `crate::a::b`, `self::…` and `super::…` paths in a token list.
fn token_paths(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts =
            matches!(&tokens[i], Token::Ident(s) if s == "crate" || s == "self" || s == "super");
        let after_colons = i >= 2 && matches!(tokens[i - 1], Token::Colon);
        if !starts || after_colons {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        while let Some(Token::Ident(name)) = tokens.get(i) {
            path.push(name.clone());
            if matches!(
                (tokens.get(i + 1), tokens.get(i + 2)),
                (Some(Token::Colon), Some(Token::Colon))
            ) {
                i += 3;
            } else {
                i += 1;
                break;
            }
        }
        if path.len() > 1 {
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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

    /// A crate made of `(file, text)` pairs under `src`.
    fn krate(files: &[(&str, &str)]) -> Crate {
        let files: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|(name, text)| (Path::new("src").join(name), text.to_string()))
            .collect();
        Crate::load_with(Path::new("src"), &mut |path| {
            files
                .get(path)
                .cloned()
                .ok_or_else(|| "missing".to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn uses(graph: &Graph, module: &str) -> Vec<String> {
        graph
            .get(module)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn path(text: &str) -> Vec<String> {
        text.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
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
        let krate = krate(&[
            (
                "lib.rs",
                "mod a; mod b; mod c; mod d; mod error;\npub use error::{ApiError, Error};\npub use c::Thing as C;",
            ),
            (
                "a.rs",
                "use crate::{b, c::X};\nfn f() -> crate::Error { todo!() }",
            ),
            ("b.rs", "fn f() { crate::c::g(); } // crate::d"),
            ("c.rs", "fn f() { let _ = crate::ApiError; }"),
            (
                "d.rs",
                "fn f() { tracing::info!(\"{}\", crate::C::new()); }",
            ),
            ("error.rs", ""),
        ]);
        let top = krate.graph(&[]);
        assert_eq!(uses(&top, "a"), ["b", "c", "error"]);
        assert_eq!(uses(&top, "b"), ["c"]);
        assert_eq!(uses(&top, "c"), ["error"]);
        // In a macro's tokens, through an alias (`C` is `c::Thing`).
        assert_eq!(uses(&top, "d"), ["c"]);
    }

    /// Inside a folder module: `super::`, `crate::group::`, `self::` in
    /// the group's own file, names the group re-exports, and the children
    /// of a child (which count for that child). Test code is left out.
    #[test]
    fn nested_uses_are_read_per_group() {
        let krate = krate(&[
            (
                "lib.rs",
                "mod jobs; mod runtime; pub use runtime::error::Error;",
            ),
            ("runtime/mod.rs", "pub(crate) mod error;"),
            ("runtime/error.rs", ""),
            (
                "jobs/mod.rs",
                "pub mod wait; pub mod deploy; mod dotenv; mod pages;\npub use wait::Wait;\n\
                 fn f() { self::pages::x(); }\n#[cfg(test)]\nmod tests;",
            ),
            ("jobs/wait.rs", "use crate::Error;\npub struct Wait;"),
            (
                "jobs/deploy.rs",
                "use super::Wait;\nfn f() { super::pages::list(); }",
            ),
            (
                "jobs/pages.rs",
                "#[cfg(test)]\nfn t() { crate::jobs::deploy::x(); }",
            ),
            (
                "jobs/dotenv/mod.rs",
                "mod grammar; mod official;\nuse grammar::Scanner;",
            ),
            ("jobs/dotenv/grammar.rs", ""),
            (
                "jobs/dotenv/official.rs",
                "use super::grammar::Entry;\nfn f() { crate::jobs::wait::Wait; super::super::deploy::x(); }",
            ),
        ]);
        assert_eq!(
            krate.groups(),
            [
                path(""),
                path("jobs"),
                path("jobs::dotenv"),
                path("runtime")
            ]
        );
        let top = krate.graph(&[]);
        assert_eq!(uses(&top, "jobs"), ["runtime"]);
        let jobs = krate.graph(&path("jobs"));
        assert_eq!(uses(&jobs, "deploy"), ["pages", "wait"]);
        assert_eq!(uses(&jobs, "dotenv"), ["deploy", "wait"]);
        assert!(uses(&jobs, "pages").is_empty(), "test code is left out");
        assert!(uses(&jobs, "wait").is_empty());
        let dotenv = krate.graph(&path("jobs::dotenv"));
        assert_eq!(uses(&dotenv, "official"), ["grammar"]);
        assert!(all_cycles(&krate).is_empty());
    }

    #[test]
    fn a_circle_inside_a_group_is_reported() {
        let krate = krate(&[
            ("lib.rs", "mod runtime;"),
            ("runtime/mod.rs", "mod client; mod transport; mod retry;"),
            ("runtime/client.rs", "use super::transport::send;"),
            (
                "runtime/transport.rs",
                "use crate::runtime::client::Client;",
            ),
            ("runtime/retry.rs", ""),
        ]);
        assert_eq!(
            all_cycles(&krate),
            ["runtime: client -> transport -> client"]
        );
    }

    #[test]
    fn no_crate_of_the_workspace_has_an_import_circle() {
        let workspace = crate::workspace_root();
        let mut report = Vec::new();
        for src in CRATES {
            let krate = Crate::load(&workspace.join(src)).unwrap_or_else(|e| panic!("{e}"));
            assert!(!krate.graph(&[]).is_empty(), "{src}: no modules found");
            for circle in all_cycles(&krate) {
                report.push(format!("{src}: {circle}"));
            }
        }
        assert!(
            report.is_empty(),
            "import circles (run `cargo xtask modules`):\n{}",
            report.join("\n")
        );
    }
}
