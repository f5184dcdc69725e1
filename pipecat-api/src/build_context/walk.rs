//! The walk over the context directory: what each entry is and whether it is packed, excluded or held back.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;

use super::ignore::{Glob, Rules};
use super::{HeldBack, HeldBackReason, refuse};

/// A file to pack, found by the walk.
pub(super) struct Found {
    /// Path in the archive.
    pub(super) rel: String,
    /// Path to read (through the link, for a followed symlink).
    pub(super) source: PathBuf,
    pub(super) size: u64,
    pub(super) executable: bool,
}

/// Walks the context, deciding for each entry.
pub(super) struct Walker<'a> {
    pub(super) root: &'a Path,
    pub(super) canon_root: PathBuf,
    pub(super) rules: Rules,
    pub(super) secrets: Vec<Glob>,
    pub(super) dockerfile: String,
    pub(super) allowed: HashSet<String>,
    pub(super) max_bytes: u64,
    pub(super) total: u64,
    pub(super) found: Vec<Found>,
    pub(super) held_back: Vec<HeldBack>,
    pub(super) excluded: usize,
    /// Canonical paths of the directories being walked, to find loops.
    pub(super) stack: Vec<PathBuf>,
}

impl Walker<'_> {
    /// Walks directory `abs` (canonically `canon`), whose path in the
    /// context is `rel` (empty for the root).
    pub(super) fn walk(&mut self, abs: &Path, canon: PathBuf, rel: &str) -> Result<(), Error> {
        let shown = if rel.is_empty() { "." } else { rel };
        let entries = fs::read_dir(abs)
            .map_err(|err| refuse(self.root, format!("cannot read directory `{shown}`: {err}")))?;
        let mut children = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| {
                refuse(self.root, format!("cannot read directory `{shown}`: {err}"))
            })?;
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
                .map_err(|err| refuse(self.root, format!("cannot read `{shown}/{name}`: {err}")))?;
            children.push((name, file_type));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));

        self.stack.push(canon.clone());
        for (name, file_type) in children {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let child_abs = abs.join(&name);
            let excluded = self.rules.excluded(&child_rel);
            let needed = self.needed_below(&child_rel, excluded);

            if file_type.is_symlink() {
                if excluded && !needed && child_rel != self.dockerfile {
                    self.excluded += 1;
                    continue;
                }
                let target = self.resolve_link(&child_abs, &child_rel)?;
                let meta = fs::metadata(&target).map_err(|err| {
                    refuse(
                        self.root,
                        format!("cannot read symlink `{child_rel}`: {err}"),
                    )
                })?;
                if meta.is_dir() {
                    if self.stack.contains(&target) {
                        return Err(refuse(
                            self.root,
                            format!(
                                "symlink `{child_rel}` points to a directory that contains it (a loop); exclude or remove it"
                            ),
                        ));
                    }
                    if excluded && !needed {
                        self.excluded += 1;
                    } else {
                        self.walk(&child_abs, target, &child_rel)?;
                    }
                } else {
                    self.file(child_rel, child_abs, &meta, excluded)?;
                }
            } else if file_type.is_dir() {
                if excluded && !needed {
                    self.excluded += 1;
                } else {
                    self.walk(&child_abs, canon.join(&name), &child_rel)?;
                }
            } else {
                let meta = fs::metadata(&child_abs).map_err(|err| {
                    refuse(self.root, format!("cannot read `{child_rel}`: {err}"))
                })?;
                self.file(child_rel, child_abs, &meta, excluded)?;
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// Whether an excluded directory must still be walked: it holds the
    /// Dockerfile, or an exception pattern may re-include something below it.
    fn needed_below(&self, rel: &str, excluded: bool) -> bool {
        excluded
            && (self
                .dockerfile
                .strip_prefix(rel)
                .is_some_and(|rest| rest.starts_with('/'))
                || self.rules.may_reinclude_below(rel))
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
                refuse(self.root, format!("cannot resolve symlink `{rel}`: {err}"))
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

    /// Decides on one non-directory entry (`meta` follows symlinks).
    fn file(
        &mut self,
        rel: String,
        source: PathBuf,
        meta: &fs::Metadata,
        excluded: bool,
    ) -> Result<(), Error> {
        let is_dockerfile = rel == self.dockerfile;
        if excluded && !is_dockerfile {
            self.excluded += 1;
            return Ok(());
        }
        if !meta.is_file() {
            self.held_back.push(HeldBack {
                path: rel,
                reason: HeldBackReason::NotRegularFile,
            });
            return Ok(());
        }
        if !is_dockerfile && self.looks_like_secret(&rel) && !self.allowed.contains(&rel) {
            self.held_back.push(HeldBack {
                path: rel,
                reason: HeldBackReason::LooksLikeSecret,
            });
            return Ok(());
        }
        let size = meta.len();
        self.total = self.total.saturating_add(size);
        if self.total > self.max_bytes {
            return Err(refuse(
                self.root,
                format!(
                    "the files add up to more than the limit of {} bytes (reached at `{rel}`); exclude what the build does not need",
                    self.max_bytes
                ),
            ));
        }
        self.found.push(Found {
            rel,
            source,
            size,
            executable: is_executable(meta),
        });
        Ok(())
    }

    fn looks_like_secret(&self, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if name.ends_with(".pub") {
            return false;
        }
        let name: Vec<char> = name.chars().collect();
        self.secrets.iter().any(|glob| glob.matches(&name))
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
