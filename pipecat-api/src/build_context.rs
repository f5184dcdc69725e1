//! Packing a directory into a cloud-build context: a gzip'd tar archive and
//! its hash, ready to upload. Nothing here touches the network.
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
//! # Ok(()) }
//! ```
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
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

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
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            dockerfile: PathBuf::from(DEFAULT_DOCKERFILE),
            excludes: Vec::new(),
            allowed_secrets: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
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
}

/// A packed build context: the `.tar.gz` bytes, their hash, and what went in
/// and what was held back.
#[derive(Clone)]
#[non_exhaustive]
pub struct PackedContext {
    archive: Vec<u8>,
    hash: String,
    files: Vec<PackedFile>,
    held_back: Vec<HeldBack>,
    uncompressed_bytes: u64,
    excluded: usize,
}

impl PackedContext {
    /// The gzip'd tar archive, to upload.
    pub fn archive(&self) -> &[u8] {
        &self.archive
    }

    /// The archive, taken out of the context (`bytes::Bytes::from` takes it
    /// without copying).
    pub fn into_archive(self) -> Vec<u8> {
        self.archive
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
        self.archive.len() as u64
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
            .field("compressed_bytes", &self.archive.len())
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
/// File contents are streamed into the compressor; only the compressed
/// archive is held in memory.
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

    let archive = write_archive(root, &found)?;
    let hash = Md5::digest(&archive)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(PackedContext {
        archive,
        hash,
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

/// Writes the sorted files into a deterministic `.tar.gz`.
fn write_archive(root: &Path, files: &[Found]) -> Result<Vec<u8>, Error> {
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::default());
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
        if reader.read != file.size {
            return Err(refuse(
                root,
                format!("`{rel}` changed size while it was being packed; try again"),
            ));
        }
    }
    let gzip = tar
        .into_inner()
        .map_err(|err| refuse(root, format!("cannot finish the archive: {err}")))?;
    gzip.finish()
        .map_err(|err| refuse(root, format!("cannot finish the archive: {err}")))
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
// bring a regex engine. Matching is a dynamic program over (pattern token,
// path position), so no pattern can make it slow.

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
        let parents: Vec<usize> = path
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == '/')
            .map(|(i, _)| i)
            .collect();
        let mut excluded = false;
        for rule in &self.patterns {
            // An exception only matters when the path is excluded so far,
            // and a pattern only when it could change the answer.
            if rule.exception != excluded {
                continue;
            }
            let matched = rule.glob.matches(&path)
                || parents.iter().any(|&end| rule.glob.matches(&path[..end]));
            if matched {
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
        let (t, p) = (self.tokens.len(), path.len());
        // next[j]: tokens[i + 1..] match path[j..]; computed from the end.
        let mut next: Vec<bool> = (0..=p).map(|j| j == p).collect();
        let mut here = vec![false; p + 1];
        for i in (0..t).rev() {
            // For `Dirs`: some `/` at k >= j with next[k + 1].
            let mut slash_then_rest = false;
            for j in (0..=p).rev() {
                let c = path.get(j).copied();
                here[j] = match &self.tokens[i] {
                    Token::Literal(l) => c == Some(*l) && next[j + 1],
                    Token::One => c.is_some_and(|c| c != '/') && next[j + 1],
                    Token::Class { negated, ranges } => {
                        c.is_some_and(|c| {
                            c != '/'
                                && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
                                    != *negated
                        }) && next[j + 1]
                    }
                    Token::Star => next[j] || (c.is_some_and(|c| c != '/') && here[j + 1]),
                    Token::Dirs => {
                        if c == Some('/') && next[j + 1] {
                            slash_then_rest = true;
                        }
                        next[j] || slash_then_rest
                    }
                    Token::Rest => true,
                };
            }
            std::mem::swap(&mut next, &mut here);
        }
        next[0]
    }
}
