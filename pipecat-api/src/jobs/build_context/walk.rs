//! The walk over the context directory: what each entry is and whether it is
//! packed, excluded or held back.
//!
//! Each real directory is walked once. The real tree is walked first; the
//! directory symlinks met on the way are followed after it, in the order
//! met, so a directory reachable both by its own path and by links is packed
//! under its own path. A path that leads to a directory already walked (a
//! second link to it, or a link to a directory that contains the link) is
//! packed as a symlink entry to where it was walked, so the extracted tree
//! is the same and its size grows with the real tree, not with the number
//! of paths through links (a pnpm `node_modules` has exponentially many).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::jobs::regular_file;

use super::ignore::Rules;
use super::secrets::{SNIFF_BYTES, SecretNames, by_content};
use super::{HeldBack, HeldBackReason, refuse};

/// An entry to pack, found by the walk.
pub(super) struct Found {
    /// Path in the archive.
    pub(super) rel: String,
    /// Path to read (through the link, for a followed symlink).
    pub(super) source: PathBuf,
    pub(super) size: u64,
    pub(super) executable: bool,
    /// For a path to a directory packed elsewhere: a symlink entry to this
    /// target, relative to the entry's directory (no content).
    pub(super) link: Option<String>,
}

/// A directory symlink met during the walk, followed after the real tree.
struct PendingLink {
    /// The link's path on disk.
    abs: PathBuf,
    /// Its path in the context.
    rel: String,
    /// The canonical path of the directory it leads to.
    target: PathBuf,
}

/// What the walk is given.
pub(super) struct WalkSettings {
    pub(super) rules: Rules,
    pub(super) secrets: SecretNames,
    pub(super) dockerfile: String,
    pub(super) allowed: HashSet<String>,
    pub(super) max_bytes: u64,
}

/// What the walk found.
pub(super) struct Walked {
    pub(super) found: Vec<Found>,
    pub(super) held_back: Vec<HeldBack>,
    pub(super) total: u64,
    pub(super) excluded: usize,
}

/// Walks the context, deciding for each entry.
struct Walker<'a> {
    root: &'a Path,
    canon_root: PathBuf,
    settings: WalkSettings,
    out: Walked,
    /// Each real directory walked (canonical path), with its path in the
    /// context.
    visited: HashMap<PathBuf, String>,
    pending: VecDeque<PendingLink>,
}

/// Walks the context at `root` (canonically `canon_root`).
pub(super) fn walk(
    root: &Path,
    canon_root: PathBuf,
    settings: WalkSettings,
) -> Result<Walked, Error> {
    let mut walker = Walker {
        root,
        canon_root: canon_root.clone(),
        settings,
        out: Walked {
            found: Vec::new(),
            held_back: Vec::new(),
            total: 0,
            excluded: 0,
        },
        visited: HashMap::new(),
        pending: VecDeque::new(),
    };
    walker.directory(root, canon_root, String::new())?;
    while let Some(link) = walker.pending.pop_front() {
        walker.directory(&link.abs, link.target, link.rel)?;
    }
    Ok(walker.out)
}

impl Walker<'_> {
    /// Walks directory `abs` (canonically `canon`), whose path in the
    /// context is `rel` (empty for the root), unless that real directory
    /// was walked already: then `rel` becomes a symlink entry to it.
    fn directory(&mut self, abs: &Path, canon: PathBuf, rel: String) -> Result<(), Error> {
        // Except on the way to the Dockerfile, which must be a file at its
        // own path (finitely many prefixes, so no loop).
        if let Some(first) = self.visited.get(&canon)
            && !self.leads_to_dockerfile(&rel)
        {
            let target = relative_link(&rel, first);
            self.out.found.push(Found {
                rel,
                source: abs.to_path_buf(),
                size: 0,
                executable: false,
                link: Some(target),
            });
            return Ok(());
        }
        self.visited
            .entry(canon.clone())
            .or_insert_with(|| rel.clone());
        let rel = rel.as_str();
        let shown = if rel.is_empty() { "." } else { rel };
        let entries = fs::read_dir(abs).map_err(|err| Error::io(abs, err))?;
        let mut children = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| Error::io(abs, err))?;
            let name = entry.file_name().into_string().map_err(|name| {
                refuse(
                    self.root,
                    format!(
                        "file name `{}` in `{shown}` is not UTF-8",
                        name.to_string_lossy()
                    ),
                )
            })?;
            let file_type = entry
                .file_type()
                .map_err(|err| Error::io(abs.join(&name), err))?;
            children.push((name, file_type));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));

        for (name, file_type) in children {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let child_abs = abs.join(&name);
            let excluded = self.settings.rules.excluded(&child_rel);
            let needed = self.needed_below(&child_rel, excluded);

            if file_type.is_symlink() {
                if excluded && !needed && child_rel != self.settings.dockerfile {
                    self.out.excluded += 1;
                    continue;
                }
                let target = self.resolve_link(&child_abs, &child_rel)?;
                let meta = fs::metadata(&target).map_err(|err| Error::io(&child_abs, err))?;
                if meta.is_dir() {
                    if excluded && !needed {
                        self.out.excluded += 1;
                    } else {
                        self.pending.push_back(PendingLink {
                            abs: child_abs,
                            rel: child_rel,
                            target,
                        });
                    }
                } else {
                    let real = self.in_context(&target);
                    self.file(child_rel, child_abs, real, &meta, excluded)?;
                }
            } else if file_type.is_dir() {
                if excluded && !needed {
                    self.out.excluded += 1;
                } else {
                    self.directory(&child_abs, canon.join(&name), child_rel)?;
                }
            } else {
                // Not following links here: a plain entry's own type.
                let meta =
                    fs::symlink_metadata(&child_abs).map_err(|err| Error::io(&child_abs, err))?;
                let real = self.in_context(&canon.join(&name));
                self.file(child_rel, child_abs, real, &meta, excluded)?;
            }
        }
        Ok(())
    }

    /// Whether the Dockerfile is below directory `rel`.
    fn leads_to_dockerfile(&self, rel: &str) -> bool {
        rel.is_empty()
            || self
                .settings
                .dockerfile
                .strip_prefix(rel)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Whether an excluded directory must still be walked: it holds the
    /// Dockerfile, or an exception pattern may re-include something below it.
    fn needed_below(&self, rel: &str, excluded: bool) -> bool {
        excluded
            && (self
                .settings
                .dockerfile
                .strip_prefix(rel)
                .is_some_and(|rest| rest.starts_with('/'))
                || self.settings.rules.may_reinclude_below(rel))
    }

    /// Resolves a symlink, which must point to something inside the context.
    fn resolve_link(&self, abs: &Path, rel: &str) -> Result<PathBuf, Error> {
        let target = fs::canonicalize(abs).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                refuse(
                    self.root,
                    format!("symlink `{rel}` is dangling (its target does not exist)"),
                )
            } else {
                Error::io(abs, err)
            }
        })?;
        if !target.starts_with(&self.canon_root) {
            return Err(refuse(
                self.root,
                format!(
                    "symlink `{rel}` points outside the context; copy the file in or exclude the link"
                ),
            ));
        }
        Ok(target)
    }

    /// The `/`-separated path in the context of canonical path `canon`.
    fn in_context(&self, canon: &Path) -> Option<String> {
        let rel = canon.strip_prefix(&self.canon_root).ok()?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        Some(parts?.join("/"))
    }

    /// Decides on one non-directory entry; `real` is its target's path in
    /// the context (the same as `rel` unless reached through a link), and
    /// `meta` the target's metadata.
    fn file(
        &mut self,
        rel: String,
        source: PathBuf,
        real: Option<String>,
        meta: &fs::Metadata,
        excluded: bool,
    ) -> Result<(), Error> {
        let is_dockerfile = rel == self.settings.dockerfile;
        if excluded && !is_dockerfile {
            self.out.excluded += 1;
            return Ok(());
        }
        if !meta.is_file() {
            self.out.held_back.push(HeldBack {
                path: rel,
                reason: HeldBackReason::NotRegularFile,
            });
            return Ok(());
        }
        if !is_dockerfile
            && !self.settings.allowed.contains(&rel)
            && let Some(reason) = self.secret(&rel, real.as_deref(), &source)?
        {
            self.out.held_back.push(HeldBack { path: rel, reason });
            return Ok(());
        }
        let size = meta.len();
        self.out.total = self.out.total.saturating_add(size);
        if self.out.total > self.settings.max_bytes {
            return Err(refuse(
                self.root,
                format!(
                    "the files add up to more than the limit of {} bytes (reached at `{rel}`); exclude what the build does not need",
                    self.settings.max_bytes
                ),
            ));
        }
        self.out.found.push(Found {
            rel,
            source,
            size,
            executable: is_executable(meta),
            link: None,
        });
        Ok(())
    }

    /// Why the file at `rel` (whose target is at `real`) looks like a
    /// secret, if it does: its own name, its target's, then its first bytes.
    fn secret(
        &self,
        rel: &str,
        real: Option<&str>,
        source: &Path,
    ) -> Result<Option<HeldBackReason>, Error> {
        if let Some(pattern) = self.settings.secrets.matching(rel) {
            return Ok(Some(HeldBackReason::SecretName { pattern }));
        }
        if let Some(real) = real.filter(|real| *real != rel)
            && let Some(pattern) = self.settings.secrets.matching(real)
        {
            return Ok(Some(HeldBackReason::SecretLinkTarget { pattern }));
        }
        // Opened as a regular file only, so a FIFO swapped in since the
        // walk saw a file cannot hang us.
        let prefix = regular_file::open(source)
            .and_then(|file| regular_file::read_prefix(file, SNIFF_BYTES))
            .map_err(|err| Error::io(source, err))?;
        Ok(by_content(&prefix).map(HeldBackReason::SecretContent))
    }
}

/// The target of a symlink at `from` (a path in the context) that leads to
/// `to` (another path in the context, empty for the root), relative to the
/// link's directory.
pub(super) fn relative_link(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    let from_dir = from_dir
        .get(..from_dir.len().saturating_sub(1))
        .unwrap_or(&[]);
    let to: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from_dir.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from_dir.len() - common];
    parts.extend(to.iter().skip(common));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}
