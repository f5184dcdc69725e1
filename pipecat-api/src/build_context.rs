//! Packing a directory into a cloud-build context: a gzip'd tar archive and
//! its hash, ready to upload. Nothing here touches the network.
//!
//! [`pack`] is also the **dry run** of a cloud build: it makes exactly the
//! archive [`Client::cloud_build`](crate::Client::cloud_build) would upload
//! and reports what would go up ([`files`](PackedContext::files), with
//! sizes), what was [held back](PackedContext::held_back) and why, the sizes
//! before and after compression, and the [`hash`](PackedContext::hash) the
//! service will compute, without any network call.
//!
//! ```no_run
//! use pipecat_api::build_context::{pack, ContextOptions};
//!
//! # fn run() -> Result<(), pipecat_api::Error> {
//! let options = ContextOptions::new().exclude("docs/").allow_secret("certs/ca.pem");
//! let context = pack("./my-agent", &options)?;
//! for held in context.held_back() {
//!     eprintln!("not uploaded: {} ({})", held.path(), held.reason());
//! }
//! println!("{} files, hash {}", context.files().len(), context.hash());
//! println!(
//!     "{} bytes, {} compressed, archive at {}",
//!     context.uncompressed_bytes(),
//!     context.compressed_bytes(),
//!     context.path().display()
//! );
//! # Ok(()) }
//! ```
//!
//! # Memory
//!
//! The archive is streamed to a temporary file as it is made (in
//! [`std::env::temp_dir`], or [`ContextOptions::temp_dir`]), and its hash is
//! computed as it is written: packing holds one file's read buffer and the
//! compressor's state, never the archive, so its memory does not grow with
//! the context. The file is deleted when the last clone of the
//! [`PackedContext`] is dropped; [`PackedContext::open`] reads it back.
//!
//! # What goes in
//!
//! Every regular file under the directory, in byte order of its relative path
//! (`/`-separated), with normalized metadata: mtime 0, uid and gid 0, empty
//! user and group names, mode `0o644`, or `0o755` when any execute bit is set
//! (on unix; elsewhere every file is `0o644`). The gzip header has mtime 0, no
//! file name and the "unknown" OS byte (255). So the same tree packs to the
//! same bytes, and the same [`hash`](PackedContext::hash), whatever its files'
//! timestamps, owners and creation order, with the same version of this crate.
//!
//! Only regular files are written, no directory entries: extracting a file
//! creates its parent directories, which is how the official CLI packs
//! contexts too. An empty directory is therefore not in the context.
//!
//! # What stays out
//!
//! - With a `.dockerignore` at the context root, its patterns are applied with
//!   Docker's rules (see [`ContextOptions::exclude`]). Without one, the
//!   default set [`DEFAULT_EXCLUSIONS`] applies, plus [`SECRET_PATTERNS`] at
//!   any depth. Extra patterns given with [`ContextOptions::exclude`] come
//!   after either, so they can also re-include (`!path`).
//! - Files that look like secrets ([`SECRET_PATTERNS`], matched against the
//!   file name) are held back even when the ignore rules let them through,
//!   unless [allowed](ContextOptions::allow_secret) by exact relative path.
//!   They are listed in [`PackedContext::held_back`]; files left out by the
//!   ignore rules are only counted ([`PackedContext::excluded`]).
//! - Only the `.dockerignore` at the context root is read (not BuildKit's
//!   `<Dockerfile>.dockerignore` beside a Dockerfile).
//! - The Dockerfile is always packed, even when a pattern matches it or its
//!   name looks like a secret: the build cannot run without it.
//!
//! # Symlinks
//!
//! A symlink whose target resolves inside the context is followed: a link to
//! a file is packed as a regular file with the target's content (and the
//! target's execute bit), a link to a directory is walked under the link's
//! path. A link that points outside the context, a dangling link, and a link
//! to a directory that contains it (a loop) are errors naming the link;
//! excluding the link with a pattern avoids the error, since excluded links
//! are never resolved. Sockets, FIFOs and devices are held back
//! ([`HeldBackReason::NotRegularFile`]).
//!
//! # Errors
//!
//! Every failure is [`Error::InvalidRequest`] naming the path and the rule,
//! and nothing is produced: a missing directory or one that is not a
//! directory, a missing Dockerfile, more than [`ContextOptions::max_bytes`]
//! bytes of file content, a file or directory that cannot be read, a file
//! name that is not UTF-8, a bad pattern, a symlink as above. Messages never
//! include file contents.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use flate2::{Compression, GzBuilder};
use md5::{Digest, Md5};

use crate::Error;

/// The default limit on the total size of the packed files before
/// compression: 500 MB (500 * 1000 * 1000 bytes).
pub const DEFAULT_MAX_BYTES: u64 = 500 * 1000 * 1000;

/// The default Dockerfile path, relative to the context root.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";

/// The ignore patterns used when the context has no `.dockerignore`
/// (besides [`SECRET_PATTERNS`], which are added at any depth), in Docker
/// syntax: version control, virtual environments, caches, dependencies,
/// build outputs, editor and tool folders, logs, and `pcc-deploy.toml`.
/// The official CLI's default list is included.
pub const DEFAULT_EXCLUSIONS: &[&str] = &[
    // Version control.
    "**/.git",
    "**/.gitignore",
    "**/.gitattributes",
    "**/.hg",
    "**/.svn",
    // CI and AI tool configuration.
    "**/.github",
    "**/.claude",
    "**/.codex",
    "**/.cursor",
    // Virtual environments.
    "**/.venv",
    "**/venv",
    "**/ENV",
    "**/env",
    // Python artifacts and caches.
    "**/__pycache__",
    "**/*.pyc",
    "**/*.pyo",
    "**/*.pyd",
    "**/*.so",
    "**/.Python",
    "**/.pytest_cache",
    "**/.coverage",
    "**/htmlcov",
    "**/.tox",
    "**/.nox",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/.ipynb_checkpoints",
    "**/.cache",
    // Dependencies and build outputs.
    "**/node_modules",
    "**/dist",
    "**/build",
    "**/target",
    "**/*.egg-info",
    "**/*.egg",
    "**/.eggs",
    // Editors and operating systems.
    "**/.idea",
    "**/.vscode",
    "**/*.swp",
    "**/*.swo",
    "**/.DS_Store",
    "**/Thumbs.db",
    // Logs.
    "**/*.log",
    // Deployment configuration of the Pipecat Cloud CLI.
    "**/pcc-deploy.toml",
];

/// File-name patterns of files that look like secrets; such a file is never
/// packed unless allowed by [`ContextOptions::allow_secret`]. Matched against
/// the file name only, with the same glob rules as ignore patterns; a name
/// ending in `.pub` (a public key) never counts as a secret.
///
/// Environment files, private keys and certificates with their keys
/// (`*.pem`, `*.key`, PKCS#12 and Java key stores, SSH private keys), and the
/// usual credential files of package managers, git, `netrc` and Google Cloud.
pub const SECRET_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    "credentials.json",
    "application_default_credentials.json",
];

/// The name of the ignore file read at the context root.
const DOCKERIGNORE: &str = ".dockerignore";

/// How to pack a build context: the Dockerfile's path, extra ignore
/// patterns, secret-looking files to allow, and the size limit.
///
/// ```
/// use pipecat_api::build_context::ContextOptions;
///
/// let options = ContextOptions::new()
///     .dockerfile("docker/Dockerfile")
///     .exclude("*.md")
///     .exclude("!README.md")
///     .allow_secret("certs/server.pem")
///     .max_bytes(100 * 1000 * 1000);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ContextOptions {
    dockerfile: PathBuf,
    excludes: Vec<String>,
    allowed_secrets: Vec<PathBuf>,
    max_bytes: u64,
    temp_dir: Option<PathBuf>,
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            dockerfile: PathBuf::from(DEFAULT_DOCKERFILE),
            excludes: Vec::new(),
            allowed_secrets: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            temp_dir: None,
        }
    }
}

impl ContextOptions {
    /// The defaults: `Dockerfile`, no extra patterns, no allowed secrets,
    /// a limit of [`DEFAULT_MAX_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The Dockerfile's path relative to the context root (default
    /// `Dockerfile`). It must exist inside the context; it is always packed.
    pub fn dockerfile(mut self, path: impl AsRef<Path>) -> Self {
        self.dockerfile = path.as_ref().to_path_buf();
        self
    }

    /// Adds an ignore pattern, in `.dockerignore` syntax, applied after the
    /// `.dockerignore` (or the defaults). Can be called more than once.
    ///
    /// Docker's rules: a pattern is relative to the context root (a leading
    /// `/` is ignored, and so is a trailing one); it is cleaned like Go's
    /// `filepath.Clean`; `*` matches any run of characters but `/`, `?` one
    /// character but `/`, `[a-z]`/`[^a-z]` one character of (or not of) a
    /// class, `\` escapes the next character, and `**` any number of
    /// directories (`**/x`, `a/**/x`, `a/**`). A pattern that matches a
    /// directory excludes everything below it. A pattern starting with `!`
    /// re-includes what it matches; for each path the last matching pattern
    /// decides. (In a `.dockerignore`, lines starting with `#` are comments
    /// and blank lines are skipped.)
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.excludes.push(pattern.into());
        self
    }

    /// Allows one secret-looking file, by its exact path relative to the
    /// context root (e.g. `certs/ca.pem`), to be packed. The ignore rules
    /// still apply to it. Can be called more than once.
    pub fn allow_secret(mut self, path: impl AsRef<Path>) -> Self {
        self.allowed_secrets.push(path.as_ref().to_path_buf());
        self
    }

    /// The limit on the total size of the packed files before compression
    /// (default [`DEFAULT_MAX_BYTES`]); a context over it is an error.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The directory the archive is written to (default
    /// [`std::env::temp_dir`]): choose one on disk where the default is a
    /// small or memory-backed file system (`tmpfs`).
    pub fn temp_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.temp_dir = Some(dir.as_ref().to_path_buf());
        self
    }
}

/// A packed build context: the `.tar.gz` archive (in a temporary file), its
/// hash, and what went in and what was held back.
///
/// Clones share the file, which is deleted when the last one is dropped.
#[derive(Clone)]
#[non_exhaustive]
pub struct PackedContext {
    archive: Arc<tempfile::TempPath>,
    compressed_bytes: u64,
    hash: String,
    files: Vec<PackedFile>,
    held_back: Vec<HeldBack>,
    uncompressed_bytes: u64,
    excluded: usize,
}

impl PackedContext {
    /// Where the gzip'd tar archive is: a temporary file, deleted when the
    /// last clone of this context is dropped (copy it to keep it).
    pub fn path(&self) -> &Path {
        &self.archive
    }

    /// Opens the archive for reading, from its start (each call opens it
    /// anew, so an upload can be repeated).
    pub fn open(&self) -> io::Result<fs::File> {
        fs::File::open(&*self.archive)
    }

    /// Reads the whole archive into memory: for small contexts and tests;
    /// prefer [`open`](Self::open) or [`path`](Self::path) for large ones.
    pub fn read_archive(&self) -> io::Result<Vec<u8>> {
        fs::read(&*self.archive)
    }

    /// The context hash: the first 16 hex digits (lowercase) of the MD5 of
    /// the archive, as Pipecat Cloud computes it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The packed files, in archive order.
    pub fn files(&self) -> &[PackedFile] {
        &self.files
    }

    /// Files the ignore rules let through but that were not packed, and why,
    /// in path order.
    pub fn held_back(&self) -> &[HeldBack] {
        &self.held_back
    }

    /// The total size of the packed files, before compression.
    pub fn uncompressed_bytes(&self) -> u64 {
        self.uncompressed_bytes
    }

    /// The size of the archive.
    pub fn compressed_bytes(&self) -> u64 {
        self.compressed_bytes
    }

    /// How many entries the ignore rules left out; a directory left out
    /// whole counts once, whatever it holds.
    pub fn excluded(&self) -> usize {
        self.excluded
    }
}

impl fmt::Debug for PackedContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedContext")
            .field("hash", &self.hash)
            .field("path", &self.path())
            .field("compressed_bytes", &self.compressed_bytes)
            .field("uncompressed_bytes", &self.uncompressed_bytes)
            .field("files", &self.files.len())
            .field("held_back", &self.held_back)
            .field("excluded", &self.excluded)
            .finish()
    }
}

/// One file in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackedFile {
    path: String,
    size: u64,
    executable: bool,
}

impl PackedFile {
    /// The path in the archive: relative to the context root, `/`-separated.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether it was packed with mode `0o755` (any execute bit set).
    pub fn executable(&self) -> bool {
        self.executable
    }
}

/// A file the ignore rules let through that was not packed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeldBack {
    path: String,
    reason: HeldBackReason,
}

impl HeldBack {
    /// The path relative to the context root, `/`-separated.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why it was not packed.
    pub fn reason(&self) -> HeldBackReason {
        self.reason
    }
}

/// Why a file was held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeldBackReason {
    /// Its name matches [`SECRET_PATTERNS`] and it was not allowed with
    /// [`ContextOptions::allow_secret`].
    LooksLikeSecret,
    /// A socket, FIFO or device, which has no content to pack.
    NotRegularFile,
}

impl fmt::Display for HeldBackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeldBackReason::LooksLikeSecret => {
                "looks like a secret; allow it explicitly to upload it"
            }
            HeldBackReason::NotRegularFile => "not a regular file",
        })
    }
}

/// Packs the directory `dir` into a build context (see the [module
/// docs](self) for what goes in and what stays out).
///
/// This is the dry run of a cloud build: nothing is sent anywhere.
///
/// File contents are streamed through the compressor into a temporary file
/// (see [Memory](self#memory)); the hash is computed as it is written.
pub fn pack(dir: impl AsRef<Path>, options: &ContextOptions) -> Result<PackedContext, Error> {
    let root = dir.as_ref();
    match fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(refuse(root, "not a directory")),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(refuse(root, "the directory does not exist"));
        }
        Err(err) => return Err(refuse(root, format!("cannot read the directory: {err}"))),
    }
    let canon_root = fs::canonicalize(root)
        .map_err(|err| refuse(root, format!("cannot resolve the directory: {err}")))?;

    let dockerfile = relative_in_context(&options.dockerfile).ok_or_else(|| {
        refuse(
            root,
            format!(
                "Dockerfile `{}` is not a relative path inside the context",
                options.dockerfile.display()
            ),
        )
    })?;
    if !root.join(&dockerfile).is_file() {
        return Err(refuse(
            root,
            format!("Dockerfile `{dockerfile}` not found in the context"),
        ));
    }
    let mut allowed = HashSet::new();
    for path in &options.allowed_secrets {
        let rel = relative_in_context(path).ok_or_else(|| {
            refuse(
                root,
                format!(
                    "allowed secret `{}` is not a relative path inside the context",
                    path.display()
                ),
            )
        })?;
        allowed.insert(rel);
    }

    let rules = load_rules(root, &options.excludes)?;
    let mut secrets = Vec::with_capacity(SECRET_PATTERNS.len());
    for pattern in SECRET_PATTERNS {
        secrets.push(
            Glob::compile(pattern)
                .map_err(|why| refuse(root, format!("secret pattern `{pattern}`: {why}")))?,
        );
    }

    let mut walker = Walker {
        root,
        canon_root: canon_root.clone(),
        rules,
        secrets,
        dockerfile,
        allowed,
        max_bytes: options.max_bytes,
        total: 0,
        found: Vec::new(),
        held_back: Vec::new(),
        excluded: 0,
        stack: Vec::new(),
    };
    walker.walk(root, canon_root, "")?;

    let Walker {
        mut found,
        mut held_back,
        total,
        excluded,
        dockerfile,
        ..
    } = walker;
    if !found.iter().any(|file| file.rel == dockerfile) {
        return Err(refuse(
            root,
            format!("Dockerfile `{dockerfile}` not found in the context"),
        ));
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    held_back.sort_by(|a, b| a.path.cmp(&b.path));

    let temp = match &options.temp_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix(".pipecat-context-")
            .suffix(".tar.gz")
            .tempfile_in(dir),
        None => tempfile::Builder::new()
            .prefix(".pipecat-context-")
            .suffix(".tar.gz")
            .tempfile(),
    }
    .map_err(|err| {
        refuse(
            root,
            format!("cannot create a temporary file for the archive: {err}"),
        )
    })?;
    let (file, temp_path) = temp.into_parts();
    let (file, written) =
        write_archive(root, &found, BufWriter::with_capacity(WRITE_BUFFER, file))?;
    file.into_inner()
        .map_err(|err| refuse(root, format!("cannot write the archive: {}", err.error())))?;
    Ok(PackedContext {
        archive: Arc::new(temp_path),
        compressed_bytes: written.bytes,
        hash: written.hash,
        files: found
            .into_iter()
            .map(|file| PackedFile {
                path: file.rel,
                size: file.size,
                executable: file.executable,
            })
            .collect(),
        held_back,
        uncompressed_bytes: total,
        excluded,
    })
}

/// The one way this module fails: refused before anything was sent, naming
/// the context directory; `detail` names the path inside it and the rule.
fn refuse(root: &Path, detail: impl fmt::Display) -> Error {
    Error::InvalidRequest {
        message: format!("build context {}: {detail}", root.display()),
    }
}

/// A relative path that stays inside the context, cleaned and `/`-separated;
/// `None` when it is absolute, climbs out, is empty or is not UTF-8.
fn relative_in_context(path: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// The ignore rules: the `.dockerignore` if there is one, else the defaults,
/// then the caller's patterns.
fn load_rules(root: &Path, extra: &[String]) -> Result<Rules, Error> {
    let mut rules = Rules::default();
    match fs::read(root.join(DOCKERIGNORE)) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| refuse(root, format!("{DOCKERIGNORE} is not UTF-8 text")))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            for (index, line) in text.lines().enumerate() {
                // Docker: a comment is a line starting with `#`, before trimming.
                if line.starts_with('#') {
                    continue;
                }
                rules.add(line).map_err(|why| {
                    refuse(
                        root,
                        format!("{DOCKERIGNORE} line {}: pattern `{line}`: {why}", index + 1),
                    )
                })?;
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let secrets = SECRET_PATTERNS.iter().map(|p| format!("**/{p}"));
            for pattern in DEFAULT_EXCLUSIONS
                .iter()
                .map(|p| (*p).to_owned())
                .chain(secrets)
            {
                rules
                    .add(&pattern)
                    .map_err(|why| refuse(root, format!("default pattern `{pattern}`: {why}")))?;
            }
        }
        Err(err) => return Err(refuse(root, format!("cannot read {DOCKERIGNORE}: {err}"))),
    }
    for pattern in extra {
        rules
            .add(pattern)
            .map_err(|why| refuse(root, format!("exclude pattern `{pattern}`: {why}")))?;
    }
    Ok(rules)
}

/// A file to pack, found by the walk.
struct Found {
    /// Path in the archive.
    rel: String,
    /// Path to read (through the link, for a followed symlink).
    source: PathBuf,
    size: u64,
    executable: bool,
}

/// Walks the context, deciding for each entry.
struct Walker<'a> {
    root: &'a Path,
    canon_root: PathBuf,
    rules: Rules,
    secrets: Vec<Glob>,
    dockerfile: String,
    allowed: HashSet<String>,
    max_bytes: u64,
    total: u64,
    found: Vec<Found>,
    held_back: Vec<HeldBack>,
    excluded: usize,
    /// Canonical paths of the directories being walked, to find loops.
    stack: Vec<PathBuf>,
}

impl Walker<'_> {
    /// Walks directory `abs` (canonically `canon`), whose path in the
    /// context is `rel` (empty for the root).
    fn walk(&mut self, abs: &Path, canon: PathBuf, rel: &str) -> Result<(), Error> {
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

/// The buffer between the compressor and the archive file.
const WRITE_BUFFER: usize = 256 * 1024;

/// What [`write_archive`] wrote: the archive's size and hash.
struct Written {
    bytes: u64,
    hash: String,
}

/// Writes the sorted files into a deterministic `.tar.gz` on `out`, hashing
/// it on the way; gives `out` back (not flushed) with the size and hash.
fn write_archive<W: Write>(root: &Path, files: &[Found], out: W) -> Result<(W, Written), Error> {
    let out = Hashing {
        inner: out,
        md5: Md5::new(),
        bytes: 0,
    };
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::default());
    let mut tar = tar::Builder::new(gzip);
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.size);
        header.set_mode(if file.executable { 0o755 } else { 0o644 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let rel = &file.rel;
        let opened = fs::File::open(&file.source)
            .map_err(|err| refuse(root, format!("cannot read `{rel}`: {err}")))?;
        let mut reader = Counted {
            inner: opened.take(file.size),
            read: 0,
        };
        tar.append_data(&mut header, rel, &mut reader)
            .map_err(|err| refuse(root, format!("cannot pack `{rel}`: {err}")))?;
        // Shorter than it was when walked, or longer (a byte left over).
        let grew = reader.inner.into_inner().read(&mut [0u8; 1]).unwrap_or(0) > 0;
        if reader.read != file.size || grew {
            return Err(refuse(
                root,
                format!("`{rel}` changed size while it was being packed; try again"),
            ));
        }
    }
    let gzip = tar
        .into_inner()
        .map_err(|err| refuse(root, format!("cannot finish the archive: {err}")))?;
    let out = gzip
        .finish()
        .map_err(|err| refuse(root, format!("cannot finish the archive: {err}")))?;
    let hash = out
        .md5
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok((
        out.inner,
        Written {
            bytes: out.bytes,
            hash,
        },
    ))
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    md5: Md5,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that counts what it gives.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Docker's ignore patterns.
//
// A small matcher of our own rather than a glob crate: Docker's `**` may stand
// anywhere in a pattern (`a**b`), a pattern excludes everything below a
// directory it matches, and exceptions are decided per path by the last
// matching pattern; no glob crate has exactly these rules, and the common ones
// bring a regex engine. Matching runs over the path once, keeping the set of
// pattern positions reached (no backtracking), so no pattern can make it slow,
// and the same pass tells whether a parent directory matched.

/// The ignore rules, in order.
#[derive(Default)]
struct Rules {
    patterns: Vec<Rule>,
}

struct Rule {
    glob: Glob,
    exception: bool,
}

impl Rules {
    /// Adds one line (already known not to be a comment): trimmed, `!` for
    /// an exception, cleaned, a leading `/` dropped. Blank lines add nothing.
    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut pattern = line.trim();
        if pattern.is_empty() {
            return Ok(());
        }
        let exception = pattern.starts_with('!');
        if exception {
            pattern = pattern[1..].trim();
        }
        if pattern.is_empty() {
            // A lone `!`: Docker keeps it as a pattern that matches nothing.
            return Ok(());
        }
        let mut cleaned = clean(pattern);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        self.patterns.push(Rule {
            glob: Glob::compile(&cleaned)?,
            exception,
        });
        Ok(())
    }

    /// Whether `rel` is excluded: the last pattern that matches it, or one
    /// of its parent directories, decides.
    fn excluded(&self, rel: &str) -> bool {
        let path: Vec<char> = rel.chars().collect();
        let mut excluded = false;
        for rule in &self.patterns {
            // An exception only matters when the path is excluded so far,
            // and a pattern only when it could change the answer.
            if rule.exception != excluded {
                continue;
            }
            if rule.glob.matches_or_parent(&path) {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether some exception pattern could match a path below directory
    /// `rel` (conservative: true when unsure). A path below `rel` starts with
    /// `rel/`, and a path matched by a pattern starts with the pattern's
    /// literal prefix, so the two must agree as far as both go.
    fn may_reinclude_below(&self, rel: &str) -> bool {
        let dir = format!("{rel}/");
        self.patterns
            .iter()
            .filter(|rule| rule.exception)
            .any(|rule| {
                let prefix = rule.glob.literal_prefix();
                prefix.starts_with(&dir) || dir.starts_with(&prefix)
            })
    }
}

/// Go's `filepath.Clean` on a `/`-separated path: no repeated separators,
/// no `.` elements, `..` resolved lexically, no trailing separator.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
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

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// This character.
    Literal(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: any run of characters but `/`.
    Star,
    /// `**` before more pattern: nothing, or anything ending in `/`.
    Dirs,
    /// `**` at the end: anything.
    Rest,
    /// `[...]`: one character (but `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob, matched against a whole path.
#[derive(Debug, Clone)]
struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    fn compile(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    // `**/` is `**`.
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    tokens.push(if chars.peek().is_none() {
                        Token::Rest
                    } else {
                        Token::Dirs
                    });
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' => match chars.next() {
                    Some(escaped) => tokens.push(Token::Literal(escaped)),
                    None => return Err("ends with an unfinished `\\` escape".to_owned()),
                },
                '[' => {
                    let negated = chars.peek() == Some(&'^');
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    loop {
                        let low = match chars.next() {
                            None => return Err("has an unclosed `[`".to_owned()),
                            Some(']') if !ranges.is_empty() => break,
                            Some(']') => return Err("has an empty `[]` class".to_owned()),
                            Some('\\') => chars
                                .next()
                                .ok_or_else(|| "has an unclosed `[`".to_owned())?,
                            Some(c) => c,
                        };
                        let mut high = low;
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            high = match chars.next() {
                                None => return Err("has an unclosed `[`".to_owned()),
                                Some(']') => return Err("has a range without an end".to_owned()),
                                Some('\\') => chars
                                    .next()
                                    .ok_or_else(|| "has an unclosed `[`".to_owned())?,
                                Some(c) => c,
                            };
                            if high < low {
                                return Err(format!("has a reversed range `{low}-{high}`"));
                            }
                        }
                        ranges.push((low, high));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Ok(Glob { tokens })
    }

    /// The characters every matching path starts with.
    fn literal_prefix(&self) -> String {
        self.tokens
            .iter()
            .map_while(|token| match token {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether the whole of `path` matches.
    fn matches(&self, path: &[char]) -> bool {
        self.scan(path, false)
    }

    /// Whether `path`, or one of its parent directories, matches.
    fn matches_or_parent(&self, path: &[char]) -> bool {
        self.scan(path, true)
    }

    /// Runs the pattern over `path` once, left to right, keeping the set of
    /// pattern positions reached (`at[i]`: the first `i` tokens matched;
    /// `inside[i]`: within the `.../` run of the `**` at `i`). A match at the
    /// end, or with `parents` just before a `/`, answers true.
    fn scan(&self, path: &[char], parents: bool) -> bool {
        let t = self.tokens.len();
        let mut at = vec![false; t + 1];
        let mut inside = vec![false; t];
        let mut next_at = vec![false; t + 1];
        let mut next_inside = vec![false; t];
        at[0] = true;
        self.skip_empty(&mut at);
        for (j, &c) in path.iter().enumerate() {
            if parents && c == '/' && j > 0 && at[t] {
                return true;
            }
            next_at.fill(false);
            next_inside.fill(false);
            let mut alive = false;
            for (i, token) in self.tokens.iter().enumerate() {
                let (here, within) = (at[i], inside[i]);
                if !here && !within {
                    continue;
                }
                let (advance, stay) = match token {
                    Token::Literal(l) => (here && c == *l, false),
                    Token::One => (here && c != '/', false),
                    Token::Class { negated, ranges } => {
                        let hit = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
                        (here && c != '/' && hit != *negated, false)
                    }
                    Token::Star => (false, here && c != '/'),
                    Token::Rest => (false, here),
                    Token::Dirs => {
                        // Within the run either way; a `/` may also end it.
                        next_inside[i] = true;
                        alive = true;
                        (c == '/', false)
                    }
                };
                if advance {
                    next_at[i + 1] = true;
                    alive = true;
                }
                if stay {
                    next_at[i] = true;
                    alive = true;
                }
            }
            if !alive {
                return false;
            }
            self.skip_empty(&mut next_at);
            std::mem::swap(&mut at, &mut next_at);
            std::mem::swap(&mut inside, &mut next_inside);
        }
        at[t]
    }

    /// Follows the tokens that can match nothing (`*`, `**`).
    fn skip_empty(&self, at: &mut [bool]) {
        for (i, token) in self.tokens.iter().enumerate() {
            if at[i] && matches!(token, Token::Star | Token::Dirs | Token::Rest) {
                at[i + 1] = true;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    /// A context directory holding `files` (paths `/`-separated).
    fn tree(files: &[(&str, &str)]) -> TempDir {
        let dir = TempDir::new().unwrap();
        for (path, content) in files {
            write(dir.path(), path, content);
        }
        dir
    }

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }

    fn packed(context: &PackedContext) -> Vec<&str> {
        context.files().iter().map(PackedFile::path).collect()
    }

    fn message(result: Result<PackedContext, Error>) -> String {
        match result {
            Err(Error::InvalidRequest { message }) => message,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(context) => panic!("packed, but should have failed: {:?}", packed(&context)),
        }
    }

    /// One entry read back from an archive.
    #[derive(Debug, PartialEq)]
    struct Entry {
        path: String,
        kind: tar::EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
        user: Vec<u8>,
        group: Vec<u8>,
        content: Vec<u8>,
    }

    fn read_back(archive: &[u8]) -> Vec<Entry> {
        let mut reader = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        reader
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let header = entry.header().clone();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                Entry {
                    path: entry.path().unwrap().to_str().unwrap().to_owned(),
                    kind: header.entry_type(),
                    mode: header.mode().unwrap(),
                    uid: header.uid().unwrap(),
                    gid: header.gid().unwrap(),
                    mtime: header.mtime().unwrap(),
                    user: header.username_bytes().unwrap_or_default().to_vec(),
                    group: header.groupname_bytes().unwrap_or_default().to_vec(),
                    content,
                }
            })
            .collect()
    }

    const FILES: &[(&str, &str)] = &[
        ("Dockerfile", "FROM python:3.12\n"),
        ("a.txt", "a"),
        ("a/b.txt", "ab"),
        ("B.txt", "capital b"),
        ("run.sh", "#!/bin/sh\necho hi\n"),
        ("sub/dir/deep.py", "print('deep')\n"),
        ("z", ""),
    ];

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn same_tree_packs_to_same_bytes_whatever_the_metadata() {
        use std::time::{Duration, SystemTime};
        let first = tree(FILES);
        // The second tree: files created in reverse order, other times and modes.
        let second = TempDir::new().unwrap();
        for (path, content) in FILES.iter().rev() {
            write(second.path(), path, content);
        }
        for (path, _) in FILES {
            let file = fs::File::options()
                .write(true)
                .open(second.path().join(path))
                .unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
                .unwrap();
            set_mode(&second.path().join(path), 0o600);
        }
        set_mode(&first.path().join("run.sh"), 0o755);
        set_mode(&second.path().join("run.sh"), 0o700);

        let one = pack(first.path(), &ContextOptions::new()).unwrap();
        let two = pack(second.path(), &ContextOptions::new()).unwrap();
        let archive = one.read_archive().unwrap();
        assert_eq!(archive, two.read_archive().unwrap());
        assert_eq!(one.hash(), two.hash());

        // gzip header: magic, deflate, no flags (no file name), mtime 0, OS 255.
        assert_eq!(&archive[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&archive[4..8], &[0, 0, 0, 0]);
        assert_eq!(archive[9], 255);
        assert_eq!(one.compressed_bytes(), archive.len() as u64);

        let entries = read_back(&archive);
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        // Byte order of the `/`-separated path: uppercase first, `.` before `/`.
        assert_eq!(
            paths,
            [
                "B.txt",
                "Dockerfile",
                "a.txt",
                "a/b.txt",
                "run.sh",
                "sub/dir/deep.py",
                "z"
            ]
        );
        assert_eq!(packed(&one), paths);
        for entry in &entries {
            let (_, content) = FILES.iter().find(|(p, _)| *p == entry.path).unwrap();
            assert_eq!(entry.content, content.as_bytes(), "{}", entry.path);
            assert_eq!(entry.kind, tar::EntryType::Regular, "{}", entry.path);
            let mode = if entry.path == "run.sh" { 0o755 } else { 0o644 };
            assert_eq!(entry.mode, mode, "{}", entry.path);
            assert_eq!(
                (entry.uid, entry.gid, entry.mtime),
                (0, 0, 0),
                "{}",
                entry.path
            );
            assert!(
                entry.user.is_empty() && entry.group.is_empty(),
                "{}",
                entry.path
            );
        }
        let run = one.files().iter().find(|f| f.path() == "run.sh").unwrap();
        assert!(run.executable());
        assert_eq!(run.size(), FILES[4].1.len() as u64);
        let total: usize = FILES.iter().map(|(_, c)| c.len()).sum();
        assert_eq!(one.uncompressed_bytes(), total as u64);
    }

    #[test]
    fn archive_bytes_are_those_of_the_in_memory_packer() {
        // Pinned when the archive was still built in memory: streaming it to
        // a file must not change a byte. A 3 MB file of pseudo-random text
        // spans many buffers and deflate blocks.
        let dir = tree(FILES);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let big: String = (0..3_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect();
        write(dir.path(), "data/big.txt", &big);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(
            (context.hash(), context.compressed_bytes()),
            ("1e959dc84f19a252", 1_938_143)
        );
    }

    #[test]
    fn the_archive_file_goes_in_temp_dir_and_is_deleted_with_the_last_clone() {
        let dir = tree(FILES);
        let scratch = TempDir::new().unwrap();
        let context = pack(dir.path(), &ContextOptions::new().temp_dir(scratch.path())).unwrap();
        let path = context.path().to_path_buf();
        assert_eq!(path.parent(), Some(scratch.path()));
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            context.compressed_bytes()
        );
        let mut opened = Vec::new();
        context.open().unwrap().read_to_end(&mut opened).unwrap();
        assert_eq!(opened, context.read_archive().unwrap());
        let clone = context.clone();
        drop(context);
        assert!(path.exists());
        drop(clone);
        assert!(!path.exists());
        // A temp_dir that does not exist is an error naming the context.
        let msg = message(pack(
            dir.path(),
            &ContextOptions::new().temp_dir(scratch.path().join("missing")),
        ));
        assert!(msg.contains("temporary file"), "{msg}");
    }

    #[test]
    fn hash_is_the_first_16_hex_digits_of_the_archive_md5() {
        let dir = tree(FILES);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        let digest = Md5::digest(context.read_archive().unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(context.hash(), &hex[..16]);
        // Another tree, another hash.
        write(dir.path(), "a.txt", "changed");
        let changed = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_ne!(changed.hash(), context.hash());
    }

    #[test]
    fn long_paths_round_trip() {
        let long = format!("{}/{}.txt", "d".repeat(80), "f".repeat(90));
        let dir = tree(&[("Dockerfile", "FROM x\n"), (&long, "long")]);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        let entries = read_back(&context.read_archive().unwrap());
        assert_eq!(entries[1].path, long);
        assert_eq!(entries[1].content, b"long");
    }

    /// The files packed from a fixed tree with this `.dockerignore`.
    fn with_dockerignore(ignore: &str) -> Vec<String> {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".dockerignore", ignore),
            ("README.md", ""),
            ("a.txt", ""),
            ("ab.txt", ""),
            ("docs/a.md", ""),
            ("docs/keep.md", ""),
            ("docs/deep/b.md", ""),
            ("src/app.py", ""),
            ("src/z.txt", ""),
            ("src/x/y/z.txt", ""),
        ]);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        packed(&context)
            .into_iter()
            .filter(|p| *p != "Dockerfile" && *p != ".dockerignore")
            .map(str::to_owned)
            .collect()
    }

    const ALL: &[&str] = &[
        "README.md",
        "a.txt",
        "ab.txt",
        "docs/a.md",
        "docs/deep/b.md",
        "docs/keep.md",
        "src/app.py",
        "src/x/y/z.txt",
        "src/z.txt",
    ];

    fn all_but(out: &[&str]) -> Vec<String> {
        ALL.iter()
            .filter(|p| !out.contains(p))
            .map(|p| (*p).to_owned())
            .collect()
    }

    #[test]
    fn dockerignore_follows_dockers_rules() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("# *.md\n\n   \n", &[]),
            // `*` does not cross `/`.
            ("*.md", &["README.md"]),
            ("*/*.md", &["docs/a.md", "docs/keep.md"]),
            // `**` crosses any number of directories, none included.
            (
                "**/*.md",
                &["README.md", "docs/a.md", "docs/deep/b.md", "docs/keep.md"],
            ),
            ("src/**/z.txt", &["src/x/y/z.txt", "src/z.txt"]),
            ("docs/**", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
            // `?` is one character.
            ("?.txt", &["a.txt"]),
            ("[a-b]?.txt", &["ab.txt"]),
            ("[^a].txt", &[]),
            // A directory pattern excludes its contents; `/` at either end is ignored.
            ("docs", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
            ("docs/", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
            ("/docs", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
            ("docs/deep", &["docs/deep/b.md"]),
            // Patterns are relative to the root: `z.txt` is not `src/z.txt`.
            ("z.txt", &[]),
            // Cleaned like filepath.Clean.
            ("./docs//deep/../a.md", &["docs/a.md"]),
            // Exceptions, and later lines override earlier ones.
            ("docs\n!docs/keep.md", &["docs/a.md", "docs/deep/b.md"]),
            (
                "!docs/keep.md\ndocs",
                &["docs/a.md", "docs/deep/b.md", "docs/keep.md"],
            ),
            ("*.md\n!README.md", &[]),
            (
                "**/*.md\n!**/keep.md",
                &["README.md", "docs/a.md", "docs/deep/b.md"],
            ),
            (
                "*\n!src",
                &[
                    "README.md",
                    "a.txt",
                    "ab.txt",
                    "docs/a.md",
                    "docs/deep/b.md",
                    "docs/keep.md",
                ],
            ),
            // A comment only when `#` starts the line.
            ("#a.txt\n\\#a.txt", &[]),
        ];
        for (ignore, out) in cases {
            assert_eq!(
                with_dockerignore(ignore),
                all_but(out),
                "pattern {ignore:?}"
            );
        }
    }

    #[test]
    fn dockerignore_counts_what_it_leaves_out() {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".dockerignore", "docs\n*.txt\n"),
            ("docs/a.md", ""),
            ("docs/b.md", ""),
            ("a.txt", ""),
            ("keep.py", ""),
        ]);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(packed(&context), [".dockerignore", "Dockerfile", "keep.py"]);
        // `docs` as a whole, and `a.txt`.
        assert_eq!(context.excluded(), 2);
        assert!(context.held_back().is_empty());
    }

    #[test]
    fn the_dockerfile_is_packed_even_when_a_pattern_matches_it() {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".dockerignore", "*\n"),
            ("app.py", ""),
        ]);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(packed(&context), ["Dockerfile"]);

        // In a directory the defaults exclude, with a secret-looking name.
        let dir = tree(&[
            ("build/deploy.key", "FROM x\n"),
            ("build/other", ""),
            ("app.py", ""),
        ]);
        let options = ContextOptions::new().dockerfile("./build/deploy.key");
        let context = pack(dir.path(), &options).unwrap();
        assert_eq!(packed(&context), ["app.py", "build/deploy.key"]);
    }

    #[test]
    fn defaults_apply_without_a_dockerignore() {
        let excluded = [
            ".git/config",
            ".hg/store",
            ".svn/entries",
            ".venv/bin/python",
            "venv/bin/python",
            "env/bin/python",
            "__pycache__/m.cpython-312.pyc",
            "src/__pycache__/m.cpython-312.pyc",
            "src/old.pyc",
            ".pytest_cache/v",
            ".mypy_cache/v",
            ".ruff_cache/v",
            "node_modules/left-pad/index.js",
            "web/node_modules/x.js",
            "dist/app.whl",
            "build/lib/app.py",
            "target/debug/app",
            "app.egg-info/PKG-INFO",
            ".idea/workspace.xml",
            ".vscode/settings.json",
            "server.log",
            "logs/today.log",
            ".DS_Store",
            "pcc-deploy.toml",
            ".env",
            ".env.local",
            "config/.env",
            "cert.pem",
            "tls/server.key",
            "id_rsa",
            ".github/workflows/ci.yml",
        ];
        let kept = ["Dockerfile", "requirements.txt", "src/app.py", "src/env.py"];
        let all: Vec<(&str, &str)> = excluded.iter().chain(&kept).map(|p| (*p, "x")).collect();
        let dir = tree(&all);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(packed(&context), kept);
        assert!(context.held_back().is_empty());
        assert!(context.excluded() > 0);

        // The caller's patterns come after the defaults, and can re-include.
        let options = ContextOptions::new()
            .exclude("requirements.txt")
            .exclude("!node_modules/left-pad/index.js");
        let context = pack(dir.path(), &options).unwrap();
        assert_eq!(
            packed(&context),
            [
                "Dockerfile",
                "node_modules/left-pad/index.js",
                "src/app.py",
                "src/env.py"
            ]
        );
    }

    #[test]
    fn extra_patterns_add_to_a_dockerignore() {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".dockerignore", "docs\n"),
            ("docs/a.md", ""),
            ("notes/b.md", ""),
            ("app.py", ""),
        ]);
        let options = ContextOptions::new()
            .exclude("notes/")
            .exclude(".dockerignore");
        let context = pack(dir.path(), &options).unwrap();
        assert_eq!(packed(&context), ["Dockerfile", "app.py"]);
    }

    const SECRETS: &[(&str, &str)] = &[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", "# let everything through\n"),
        (".env", "KEY=1"),
        (".env.production", "KEY=2"),
        ("config/server.pem", "pem"),
        ("tls.key", "key"),
        ("id_rsa", "key"),
        ("id_rsa.pub", "public"),
        ("cert.p12", "p12"),
        (".npmrc", "token"),
        ("gcp/credentials.json", "{}"),
        ("app.py", "print()"),
        ("environment.py", ""),
    ];

    #[test]
    fn secrets_are_held_back_even_when_the_dockerignore_lets_them_through() {
        let dir = tree(SECRETS);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(
            packed(&context),
            [
                ".dockerignore",
                "Dockerfile",
                "app.py",
                "environment.py",
                "id_rsa.pub"
            ]
        );
        let held: Vec<(&str, HeldBackReason)> = context
            .held_back()
            .iter()
            .map(|h| (h.path(), h.reason()))
            .collect();
        let secret = HeldBackReason::LooksLikeSecret;
        assert_eq!(
            held,
            [
                (".env", secret),
                (".env.production", secret),
                (".npmrc", secret),
                ("cert.p12", secret),
                ("config/server.pem", secret),
                ("gcp/credentials.json", secret),
                ("id_rsa", secret),
                ("tls.key", secret),
            ]
        );
    }

    #[test]
    fn secrets_are_packed_when_allowed_by_exact_path() {
        let dir = tree(SECRETS);
        let options = ContextOptions::new()
            .allow_secret("config/server.pem")
            .allow_secret("./.env")
            // Not a path in the context: the file name alone allows nothing.
            .allow_secret("credentials.json");
        let context = pack(dir.path(), &options).unwrap();
        let files = packed(&context);
        assert!(files.contains(&"config/server.pem") && files.contains(&".env"));
        assert!(!files.contains(&"gcp/credentials.json"));
        assert!(!files.contains(&".env.production"));
        let held: Vec<&str> = context.held_back().iter().map(HeldBack::path).collect();
        assert!(!held.contains(&"config/server.pem") && held.contains(&"gcp/credentials.json"));
    }

    #[test]
    fn secrets_excluded_by_the_dockerignore_are_not_listed() {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".dockerignore", ".env\n"),
            (".env", "KEY=1"),
            ("key.pem", ""),
        ]);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        let held: Vec<&str> = context.held_back().iter().map(HeldBack::path).collect();
        assert_eq!(held, ["key.pem"]);
        assert_eq!(context.excluded(), 1);
    }

    #[test]
    fn missing_or_wrong_directory_is_an_error() {
        let dir = tree(FILES);
        let missing = dir.path().join("nope");
        let msg = message(pack(&missing, &ContextOptions::new()));
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
        assert!(msg.contains("does not exist"), "{msg}");

        let file = dir.path().join("a.txt");
        let msg = message(pack(&file, &ContextOptions::new()));
        assert!(
            msg.contains("a.txt") && msg.contains("not a directory"),
            "{msg}"
        );
    }

    #[test]
    fn missing_dockerfile_is_an_error_naming_it() {
        let dir = tree(&[("app.py", "")]);
        let msg = message(pack(dir.path(), &ContextOptions::new()));
        assert!(
            msg.contains("Dockerfile `Dockerfile` not found in the context"),
            "{msg}"
        );
        assert!(
            msg.starts_with(&format!("build context {}", dir.path().display())),
            "{msg}"
        );

        let options = ContextOptions::new().dockerfile("docker/Dockerfile.prod");
        let msg = message(pack(dir.path(), &options));
        assert!(msg.contains("`docker/Dockerfile.prod` not found"), "{msg}");

        // Outside the context, even if it exists.
        let dir = tree(&[("ctx/app.py", ""), ("Dockerfile", "FROM x\n")]);
        let options = ContextOptions::new().dockerfile("../Dockerfile");
        let msg = message(pack(dir.path().join("ctx"), &options));
        assert!(
            msg.contains("`../Dockerfile` is not a relative path inside"),
            "{msg}"
        );
    }

    #[test]
    fn more_than_the_limit_is_an_error() {
        let dir = tree(&[("Dockerfile", "12345"), ("data.bin", "1234567890")]);
        let options = ContextOptions::new().max_bytes(15);
        let context = pack(dir.path(), &options).unwrap();
        assert_eq!(context.uncompressed_bytes(), 15);

        let options = ContextOptions::new().max_bytes(14);
        let msg = message(pack(dir.path(), &options));
        assert!(msg.contains("limit of 14 bytes"), "{msg}");
        assert!(msg.contains("`data.bin`"), "{msg}");
        // Excluded and held-back files do not count (the 9-byte .dockerignore does).
        write(dir.path(), ".dockerignore", "data.bin\n");
        write(dir.path(), "big.pem", "1234567890");
        let options = ContextOptions::new().max_bytes(14);
        assert_eq!(pack(dir.path(), &options).unwrap().uncompressed_bytes(), 14);
    }

    #[test]
    fn a_file_that_changes_size_after_the_walk_is_an_error() {
        let dir = tree(&[("data.bin", "12345")]);
        for size in [3, 10] {
            let found = [Found {
                rel: "data.bin".to_owned(),
                source: dir.path().join("data.bin"),
                size,
                executable: false,
            }];
            let msg =
                message(write_archive(dir.path(), &found, Vec::new()).map(|_| unreachable!()));
            assert!(msg.contains("`data.bin` changed size"), "{msg}");
        }
    }

    #[test]
    fn bad_patterns_are_errors_naming_the_line() {
        let dir = tree(&[("Dockerfile", ""), (".dockerignore", "ok\n# fine\n[abc\n")]);
        let msg = message(pack(dir.path(), &ContextOptions::new()));
        assert!(
            msg.contains(".dockerignore line 3: pattern `[abc`"),
            "{msg}"
        );
        let dir = tree(&[("Dockerfile", "")]);
        let msg = message(pack(dir.path(), &ContextOptions::new().exclude("a\\")));
        assert!(msg.contains("exclude pattern `a\\`"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_followed_and_outside_refused() {
        use std::os::unix::fs::symlink;
        let outer = tree(&[("secret.txt", "outside"), ("ctx/Dockerfile", "FROM x\n")]);
        let root = outer.path().join("ctx");
        write(&root, "real/data.txt", "data");
        set_mode(&root.join("real/data.txt"), 0o755);
        symlink("real/data.txt", root.join("link.txt")).unwrap();
        symlink("real", root.join("linkdir")).unwrap();

        let context = pack(&root, &ContextOptions::new()).unwrap();
        assert_eq!(
            packed(&context),
            [
                "Dockerfile",
                "link.txt",
                "linkdir/data.txt",
                "real/data.txt"
            ]
        );
        let entries = read_back(&context.read_archive().unwrap());
        assert_eq!(entries[1].content, b"data");
        assert_eq!(entries[1].kind, tar::EntryType::Regular);
        assert_eq!(entries[1].mode, 0o755);

        // Outside the context.
        symlink("../secret.txt", root.join("escape.txt")).unwrap();
        let msg = message(pack(&root, &ContextOptions::new()));
        assert!(
            msg.contains("symlink `escape.txt` points outside the context"),
            "{msg}"
        );
        // Excluded links are not resolved.
        let options = ContextOptions::new().exclude("escape.txt");
        assert!(pack(&root, &options).is_ok());
        fs::remove_file(root.join("escape.txt")).unwrap();

        // Dangling.
        symlink("nowhere", root.join("dangling")).unwrap();
        let msg = message(pack(&root, &ContextOptions::new()));
        assert!(msg.contains("symlink `dangling` is dangling"), "{msg}");
        fs::remove_file(root.join("dangling")).unwrap();

        // A directory link outside, and a loop.
        symlink(outer.path(), root.join("up")).unwrap();
        let msg = message(pack(&root, &ContextOptions::new()));
        assert!(msg.contains("symlink `up` points outside"), "{msg}");
        fs::remove_file(root.join("up")).unwrap();
        symlink("..", root.join("real/loop")).unwrap();
        let msg = message(pack(&root, &ContextOptions::new()));
        assert!(msg.contains("symlink `linkdir/loop`") || msg.contains("symlink `real/loop`"));
        assert!(msg.contains("(a loop)"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn sockets_are_held_back() {
        let dir = tree(&[("Dockerfile", "FROM x\n")]);
        let _listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("app.sock")).unwrap();
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        assert_eq!(packed(&context), ["Dockerfile"]);
        assert_eq!(context.held_back()[0].path(), "app.sock");
        assert_eq!(
            context.held_back()[0].reason(),
            HeldBackReason::NotRegularFile
        );
    }

    #[test]
    fn nothing_is_written_to_the_context() {
        let dir = tree(FILES);
        pack(dir.path(), &ContextOptions::new()).unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["B.txt", "Dockerfile", "a", "a.txt", "run.sh", "sub", "z"]
        );
    }

    fn glob(pattern: &str, path: &str) -> bool {
        let path: Vec<char> = path.chars().collect();
        Glob::compile(pattern).unwrap().matches(&path)
    }

    #[test]
    fn glob_matching() {
        let yes = [
            ("*", "abc"),
            ("*", ""),
            ("a*c", "ac"),
            ("a*c", "abbbc"),
            ("?", "é"),
            ("**", "a/b/c"),
            ("**/c", "c"),
            ("**/c", "a/b/c"),
            ("a/**/c", "a/c"),
            ("a/**/c", "a/x/y/c"),
            ("a/**", "a/b"),
            ("a**c", "a/b/c"),
            ("[a-c]x", "bx"),
            ("[^a-c]x", "dx"),
            ("\\*", "*"),
            ("[\\]]", "]"),
            ("*.*.*", "a.b.c"),
        ];
        let no = [
            ("*", "a/b"),
            ("?", ""),
            ("?", "/"),
            ("a*c", "a/c"),
            ("**/c", "ac"),
            ("a/**/c", "ac"),
            ("a/**/c", "a/xc"),
            ("a/**", "a"),
            ("[a-c]x", "dx"),
            ("[^a-c]x", "ax"),
            ("[^a]", "/"),
            ("\\*", "a"),
            ("abc", "ab"),
            ("ab", "abc"),
        ];
        for (pattern, path) in yes {
            assert!(glob(pattern, path), "{pattern:?} should match {path:?}");
        }
        for (pattern, path) in no {
            assert!(
                !glob(pattern, path),
                "{pattern:?} should not match {path:?}"
            );
        }
        // No exponential backtracking.
        let many = "*a".repeat(30);
        assert!(!glob(&many, &"a".repeat(29)));
        for bad in ["[", "[]", "[a-", "[b-a]", "x\\"] {
            assert!(Glob::compile(bad).is_err(), "{bad:?}");
        }
    }

    /// A plain backtracking matcher, as the reference for the one-pass scan.
    fn reference(tokens: &[Token], path: &[char]) -> bool {
        let Some((token, rest)) = tokens.split_first() else {
            return path.is_empty();
        };
        let one = |ok: &dyn Fn(char) -> bool| {
            path.first().is_some_and(|c| *c != '/' && ok(*c)) && reference(rest, &path[1..])
        };
        match token {
            Token::Literal(l) => path.first() == Some(l) && reference(rest, &path[1..]),
            Token::One => one(&|_| true),
            Token::Class { negated, ranges } => {
                one(&|c| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated)
            }
            Token::Star => (0..=path.len())
                .take_while(|&k| !path[..k].contains(&'/'))
                .any(|k| reference(rest, &path[k..])),
            Token::Rest => (0..=path.len()).any(|k| reference(rest, &path[k..])),
            Token::Dirs => {
                reference(rest, path)
                    || (0..path.len()).any(|k| path[k] == '/' && reference(rest, &path[k + 1..]))
            }
        }
    }

    #[test]
    fn one_pass_scan_agrees_with_backtracking() {
        let patterns = [
            "*",
            "a*",
            "*b",
            "a?c",
            "**",
            "**/b",
            "a/**",
            "a/**/c",
            "a**c",
            "*/*",
            "[ab]*",
            "[^a]/**",
            "**/*c",
            "a*/b*",
            "?/?",
            "**/a/**/b",
            "*a*a*",
        ];
        // Every string of up to 5 characters over `a`, `b`, `c` and `/`.
        let mut paths: Vec<Vec<char>> = vec![Vec::new()];
        let mut last = paths.clone();
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|p| {
                    ['a', 'b', 'c', '/'].map(|c| {
                        let mut p = p.clone();
                        p.push(c);
                        p
                    })
                })
                .collect();
            paths.extend(last.iter().cloned());
        }
        for pattern in patterns {
            let glob = Glob::compile(pattern).unwrap();
            for path in &paths {
                let whole = reference(&glob.tokens, path);
                assert_eq!(glob.matches(path), whole, "{pattern:?} on {path:?}");
                let parent =
                    (1..path.len()).any(|j| path[j] == '/' && reference(&glob.tokens, &path[..j]));
                assert_eq!(
                    glob.matches_or_parent(path),
                    whole || parent,
                    "{pattern:?} or a parent on {path:?}"
                );
            }
        }
    }

    #[test]
    fn patterns_are_cleaned_like_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("a/", "a"),
            ("./a", "a"),
            ("a//b/./c/..", "a/b"),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("**/", "**"),
        ];
        for (input, output) in cases {
            assert_eq!(clean(input), output, "{input:?}");
        }
    }

    #[test]
    fn exceptions_decide_which_excluded_directories_are_walked() {
        let mut rules = Rules::default();
        rules.add("node_modules").unwrap();
        rules.add("build").unwrap();
        rules.add("!build/keep/*.txt").unwrap();
        assert!(!rules.may_reinclude_below("node_modules"));
        assert!(rules.may_reinclude_below("build"));
        assert!(rules.may_reinclude_below("build/keep"));
        assert!(!rules.may_reinclude_below("build/other"));
        assert!(rules.excluded("build/other/x.txt"));
        assert!(!rules.excluded("build/keep/x.txt"));
        assert!(rules.excluded("build/keep/x.md"));
        rules.add("!**/*.md").unwrap();
        assert!(rules.may_reinclude_below("node_modules"));
        assert!(!rules.excluded("node_modules/x/README.md"));
    }
}
