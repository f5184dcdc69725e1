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
//! computed as it is written: packing holds one file's read buffer, the
//! compressors' state and at most a few dozen 256 KiB blocks in flight,
//! never the archive, so its memory does not grow with the context.
//!
//! # Speed
//!
//! The archive is compressed on every core the process may use, in fixed
//! 256 KiB blocks of the tar stream; a block that a sample shows does not
//! compress (model weights, media) is stored as is. The bytes, and so the
//! hash, are the same whatever the number of cores. The file is deleted when the last clone of the
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
//! timestamps, owners and creation order and whatever the machine's cores,
//! with the same version of this crate.
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

mod archive;
mod ignore;
#[cfg(test)]
mod tests;
mod walk;

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::Error;

use archive::{WRITE_BUFFER, write_archive};
use ignore::{Glob, Rules};
use walk::Walker;

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
