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
//! contexts too. An empty directory is therefore not in the context. The one
//! exception is a second path to a directory, packed as a symlink entry (see
//! [Symlinks](#symlinks)).
//!
//! # What stays out
//!
//! - With a `.dockerignore` at the context root, its patterns are applied
//!   exactly as Docker applies them (see [`ContextOptions::exclude`] and
//!   [Differences from Docker](self#differences-from-docker)). Without one,
//!   the default set [`DEFAULT_EXCLUSIONS`] applies, plus [`SECRET_PATTERNS`]
//!   at any depth (so a file with a secret's name is excluded, and counted,
//!   not listed). Extra patterns given with [`ContextOptions::exclude`] come
//!   after either, so they can also re-include (`!path`).
//! - **Credentials are held back**, with or without a `.dockerignore`, even
//!   when the ignore rules let them through, and listed in
//!   [`PackedContext::held_back`] with the rule that decided
//!   ([`HeldBackReason`]):
//!   - by name: the file's path matches one of [`SECRET_PATTERNS`]
//!     (`.env`, `prod.env`, `.envrc`, `.aws/credentials`, `*.pem`, …);
//!   - by link target: a symlink with an innocent name whose target's path
//!     in the context matches one (`app.cfg -> .env`, `tls -> server.key`),
//!     and a file under a directory link whose real path matches one;
//!   - by content: whatever its name, the first 8 KiB of the file (through
//!     the link, for a symlink) show a private key (PEM, OpenSSH or PGP, a
//!     boundary line starting `-----BEGIN … PRIVATE KEY`), a Google
//!     credential JSON (`"type": "service_account"` or
//!     `"authorized_user"`), or an AWS credentials file (INI with an
//!     `aws_secret_access_key`). Only that prefix is read, so packing stays
//!     one pass over the data, and no message ever holds file contents.
//!
//!   [`ContextOptions::allow_secret`] (the CLI's `--allow-secret PATH`)
//!   uploads one on purpose, by the exact path it is packed under (a
//!   symlink's own path); without a `.dockerignore` it also lifts the
//!   default exclusion of that path. The Dockerfile is never held back.
//! - Files the ignore rules leave out are only counted
//!   ([`PackedContext::excluded`]).
//! - Sockets, FIFOs and devices, and symlinks to them, are held back
//!   ([`HeldBackReason::NotRegularFile`]). Nothing that is not a regular
//!   file is ever opened: types are checked before opening, files are opened
//!   non-blocking and checked again once open, so a FIFO or device (even one
//!   swapped in while packing) is an error or held back, never a hang. A
//!   `.dockerignore` or Dockerfile that is not a regular file is an error
//!   naming it and what it is.
//! - Only the `.dockerignore` at the context root is read (not BuildKit's
//!   `<Dockerfile>.dockerignore` beside a Dockerfile).
//! - The Dockerfile is always packed, even when a pattern matches it or its
//!   name looks like a secret: the build cannot run without it.
//!
//! # Differences from Docker
//!
//! What Docker would leave out of a context is never packed. Checked
//! against the `docker` CLI itself (the `docker_context` test of the e2e
//! crate); the deliberate differences, each with its reason:
//!
//! - **Where the legacy builder and BuildKit differ, BuildKit.** Both decide
//!   each path with its parent directory's results, but the legacy builder
//!   never walks into an excluded directory unless an exception's text
//!   starts with the directory's path, while BuildKit walks into it once an
//!   exception has a wildcard: `node_modules` then `!**/*.md` re-includes
//!   `node_modules/x/README.md` with BuildKit (and here), not with the
//!   legacy builder. BuildKit is Docker's default builder.
//! - **A `.dockerignore` that excludes itself stays out.** The legacy
//!   builder's CLI re-adds it to the archive (BuildKit does not); the cloud
//!   build does not read it, and the user asked for it to stay out.
//! - **The Dockerfile is always packed**, even when excluded (the legacy
//!   builder's CLI re-adds it too; BuildKit sends it beside the context): the
//!   cloud build reads it from the archive.
//! - **Without a `.dockerignore`**, [`DEFAULT_EXCLUSIONS`] and
//!   [`SECRET_PATTERNS`] apply, where Docker sends everything: version
//!   control, virtual environments, caches and credentials are never what a
//!   cloud build needs, and uploading them by default leaks them.
//! - **Secret-looking files are held back** even when the ignore rules let
//!   them through ([`PackedContext::held_back`]), unless allowed.
//! - **Patterns Docker accepts but reads otherwise than they look are
//!   refused**, naming the line: `\` before a letter, digit or non-ASCII
//!   character (Docker's regular expression reads `\d` as any digit, `\n` as
//!   a newline), `*` or `?` inside `[...]` (Docker turns `[*]` into a
//!   different class), `[:` inside `[...]` (a POSIX class to it). A reversed
//!   range such as `[b-a]` is refused too; Docker fails on it when it first
//!   tries the pattern.
//! - **A `.dockerignore` that is not UTF-8 is refused** (Docker reads bytes).
//! - **Symlinks are followed** and only regular files are packed (see
//!   [Symlinks](self#symlinks) and [What goes in](self#what-goes-in));
//!   Docker sends links, directories and empty directories as such.
//!
//! Docker's own quirks are followed, not corrected: a pattern that is
//! `**` followed by plain characters is a suffix test (`**.log` matches
//! `a.log` and `dir/b.log`); `d/f` then `!d` leaves `d/f` out (`!d` was
//! never tried on `d`, so `d/f` does not inherit it); a negated class
//! `[^a]` matches `/`; `^` is literal in a pattern without wildcards and
//! anchors one with them; a lone `!` and what Go's `filepath.Match` calls a
//! syntax error (`[-]`, `[a-b-c]`, an unclosed `[`, a trailing `\`) are
//! errors.
//!
//! # Symlinks
//!
//! Docker sends a context's symlinks as links and never follows them; we
//! follow a link whose target resolves inside the context, so a link to a
//! shared file or directory brings its content (the official CLI follows
//! links too). A link to a file is packed as a regular file with the
//! target's content (and the target's execute bit), judged as a secret by
//! its own name, its target's path and the content. A link that points
//! outside the context and a dangling link are errors naming the link;
//! excluding the link with a pattern avoids the error, since excluded links
//! are never resolved.
//!
//! A directory link is followed after the real tree is walked, and **each
//! real directory is walked once**: under its own path when the ignore rules
//! let it in, otherwise under the first link to it (in the order the walk
//! meets links). Every other path that leads to a directory already walked — a
//! second link to it, or a link to a directory that contains the link (a
//! loop) — is packed as a symlink entry ([`PackedFile::link_target`],
//! relative, as Docker would send it) to where it was packed. The extracted
//! context has the same paths with the same contents, and its size grows
//! with the real tree, not with the number of paths through links: a
//! pnpm-style `node_modules`, where links form a DAG of 2^N paths, packs
//! each package once. (A path under such a link entry is matched by the
//! ignore rules only under the path where the directory was packed. The
//! directories on the way to the Dockerfile are always walked at the
//! Dockerfile's path, so it is a file there.)
//!
//! # Errors
//!
//! Every failure is [`Error::InvalidRequest`] naming the path and the rule,
//! and nothing is produced: a missing directory or one that is not a
//! directory, a missing Dockerfile or one that is not a regular file, more
//! than [`ContextOptions::max_bytes`] bytes of file content, a file or
//! directory that cannot be read, a `.dockerignore` that is not a regular
//! file, a file name that is not UTF-8, a bad pattern, a symlink as above.
//! Messages never include file contents.
//!
//! # Cancelling
//!
//! With a [`CancelToken`] ([`ContextOptions::cancel_token`]), another thread
//! can stop a pack: it ends with [`Error::Cancelled`] at its next write to
//! the archive (or before the archive is started), and the partial archive
//! is deleted. The walk of the tree is not interrupted (it holds no file).

mod archive;
mod cancel;
#[cfg(test)]
mod hostile_tests;
mod ignore;
#[cfg(test)]
mod ignore_tests;
mod secrets;
#[cfg(test)]
mod tests;
mod walk;

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::Error;

use crate::jobs::regular_file;

use archive::{WRITE_BUFFER, write_archive};
pub use cancel::CancelToken;
use cancel::Cancellable;
use ignore::Rules;
use secrets::SecretNames;
use walk::{WalkSettings, Walked};

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

/// Name patterns of files that hold credentials; such a file is held back
/// ([`HeldBackReason::SecretName`]) unless allowed by
/// [`ContextOptions::allow_secret`]. Matched, with the same glob rules as
/// ignore patterns, against the file's name, or for a pattern with a `/`
/// (`.aws/credentials`) against as many of its path's last components; a
/// name ending in `.pub` (a public key) never counts as a secret.
///
/// Environment files (`.env`, `.env.*`, `*.env`, direnv's `.envrc`), private
/// keys and certificates with their keys (`*.pem`, `*.key`, PKCS#12, Java
/// and Android key stores, SSH and PuTTY private keys, Apple's `AuthKey_*.p8`,
/// GnuPG's `secring.gpg`), the credential files of cloud and container tools
/// (AWS, Docker, Kubernetes, Google Cloud, Vault, Terraform variables), of
/// package managers, git, `netrc` and PostgreSQL, and Rails-style
/// `secrets.yml`. Files with an innocent name are judged by content too
/// ([`SecretContent`]): that is how `*.asc` private keys are found, since
/// most `.asc` files are public keys and signatures.
pub const SECRET_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "AuthKey_*.p8",
    "secring.gpg",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".aws/credentials",
    ".docker/config.json",
    ".kube/config",
    ".vault-token",
    "*.tfvars",
    "*.tfvars.json",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    "credentials.json",
    "application_default_credentials.json",
    "secrets.yml",
    "secrets.yaml",
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
    cancel: Option<CancelToken>,
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            dockerfile: PathBuf::from(DEFAULT_DOCKERFILE),
            excludes: Vec::new(),
            allowed_secrets: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            temp_dir: None,
            cancel: None,
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
    /// directories (`**/x`, `a/**/x`, `a/**`); `**` followed by plain
    /// characters matches any path ending with them (`**.log`). A pattern
    /// starting with `!` re-includes what it matches. Each path is decided
    /// with its parent directory's results: a pattern that matched the
    /// directory counts for everything below it, so a pattern that matches
    /// a directory excludes its contents, and for each path the last pattern
    /// that counts decides. (In a `.dockerignore`, lines starting with `#`
    /// are comments and blank lines are skipped.) A lone `!` and patterns
    /// with syntax errors are refused: see [Differences from
    /// Docker](self#differences-from-docker).
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.excludes.push(pattern.into());
        self
    }

    /// Allows one secret-looking file, by its exact path relative to the
    /// context root (e.g. `certs/ca.pem`; for a symlink, the link's own
    /// path), to be packed whatever its name, target or content. A
    /// `.dockerignore` still applies to it; without one, the default
    /// exclusion of secret names is lifted for that path (the other
    /// defaults and [`exclude`](Self::exclude) patterns still apply). Can be
    /// called more than once.
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

    /// Stops packing when `token` is cancelled (see [`CancelToken`]): the
    /// partial archive is deleted and [`pack`] ends with
    /// [`Error::Cancelled`].
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
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

/// The summary scripts read (`build context --output json`): `contextHash`,
/// `files`, `heldBack`, `compressedBytes`, `uncompressedBytes` and
/// `excluded`; never the archive's path (a temporary file).
impl Serialize for PackedContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("PackedContext", 6)?;
        s.serialize_field("compressedBytes", &self.compressed_bytes)?;
        s.serialize_field("contextHash", &self.hash)?;
        s.serialize_field("excluded", &self.excluded)?;
        s.serialize_field("files", &self.files)?;
        s.serialize_field("heldBack", &self.held_back)?;
        s.serialize_field("uncompressedBytes", &self.uncompressed_bytes)?;
        s.end()
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

/// One file in the archive. Serializes as `{"executable", "path", "size"}`,
/// plus `"linkTarget"` for a symlink entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PackedFile {
    executable: bool,
    #[serde(rename = "linkTarget", skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    path: String,
    size: u64,
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

    /// For a path to a directory packed under another path (see
    /// [Symlinks](self#symlinks)): the target of the symlink entry packed
    /// here instead, relative to this entry's directory. Such an entry has
    /// size 0.
    pub fn link_target(&self) -> Option<&str> {
        self.link.as_deref()
    }
}

/// A file the ignore rules let through that was not packed. Serializes as
/// `{"message", "path", "reason", "rule"}`: the reason's
/// [`code`](HeldBackReason::code), its text, and its
/// [`rule`](HeldBackReason::rule) when it has one.
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

impl Serialize for HeldBack {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rule = self.reason.rule();
        let mut s = serializer.serialize_struct("HeldBack", 3 + usize::from(rule.is_some()))?;
        s.serialize_field("message", &self.reason.to_string())?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("reason", self.reason.code())?;
        if let Some(rule) = rule {
            s.serialize_field("rule", &rule)?;
        }
        s.end()
    }
}

/// Why a file was held back: which rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeldBackReason {
    /// Its path matches this pattern of [`SECRET_PATTERNS`] and it was not
    /// allowed with [`ContextOptions::allow_secret`].
    #[non_exhaustive]
    SecretName {
        /// The pattern, as written in [`SECRET_PATTERNS`].
        pattern: &'static str,
    },
    /// It is a symlink (or under a directory symlink) whose target's path
    /// matches this pattern of [`SECRET_PATTERNS`] (`app.cfg -> .env`), and
    /// it was not allowed.
    #[non_exhaustive]
    SecretLinkTarget {
        /// The pattern, as written in [`SECRET_PATTERNS`].
        pattern: &'static str,
    },
    /// Its first bytes have the shape of a credential, whatever its name,
    /// and it was not allowed.
    SecretContent(SecretContent),
    /// A socket, FIFO or device, which has no content to pack.
    NotRegularFile,
}

impl HeldBackReason {
    /// Whether it was held back as a likely secret (by name, link target or
    /// content), which [`ContextOptions::allow_secret`] can override.
    pub fn is_secret(&self) -> bool {
        matches!(
            self,
            HeldBackReason::SecretName { .. }
                | HeldBackReason::SecretLinkTarget { .. }
                | HeldBackReason::SecretContent(_)
        )
    }

    /// A stable name for scripts: `looksLikeSecret` (by name, link target
    /// or content) or `notRegularFile`.
    pub fn code(&self) -> &'static str {
        match self {
            HeldBackReason::SecretName { .. }
            | HeldBackReason::SecretLinkTarget { .. }
            | HeldBackReason::SecretContent(_) => "looksLikeSecret",
            HeldBackReason::NotRegularFile => "notRegularFile",
        }
    }

    /// Which rule held a likely secret back, for scripts: `name:PATTERN`,
    /// `linkTarget:PATTERN` or `content:KIND` ([`SecretContent::code`]);
    /// `None` for a file that is not regular.
    pub fn rule(&self) -> Option<String> {
        match self {
            HeldBackReason::SecretName { pattern } => Some(format!("name:{pattern}")),
            HeldBackReason::SecretLinkTarget { pattern } => Some(format!("linkTarget:{pattern}")),
            HeldBackReason::SecretContent(kind) => Some(format!("content:{}", kind.code())),
            HeldBackReason::NotRegularFile => None,
        }
    }
}

impl fmt::Display for HeldBackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALLOW: &str = "allow it explicitly to upload it";
        match self {
            HeldBackReason::SecretName { pattern } => {
                write!(
                    f,
                    "looks like a secret: its name matches `{pattern}`; {ALLOW}"
                )
            }
            HeldBackReason::SecretLinkTarget { pattern } => write!(
                f,
                "looks like a secret: a symlink to a file whose name matches `{pattern}`; {ALLOW}"
            ),
            HeldBackReason::SecretContent(kind) => {
                write!(f, "looks like a secret: it holds {kind}; {ALLOW}")
            }
            HeldBackReason::NotRegularFile => f.write_str("not a regular file"),
        }
    }
}

/// The kind of credential a file's first bytes show it holds (see
/// [`HeldBackReason::SecretContent`]). Only the start of each file is read
/// (8 KiB), and the content never appears in any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretContent {
    /// A PEM private key: a line starting `-----BEGIN ... PRIVATE KEY-----`.
    PemPrivateKey,
    /// An OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    OpenSshPrivateKey,
    /// An armored PGP private key (`-----BEGIN PGP PRIVATE KEY BLOCK-----`).
    PgpPrivateKey,
    /// A Google credential file: a JSON object whose `"type"` is
    /// `"service_account"` or `"authorized_user"`.
    GoogleCredentials,
    /// An AWS shared credentials file: INI with an `aws_secret_access_key`.
    AwsCredentials,
}

impl SecretContent {
    /// A stable name for scripts: `pemPrivateKey`, `openSshPrivateKey`,
    /// `pgpPrivateKey`, `googleCredentials`, `awsCredentials`.
    pub fn code(&self) -> &'static str {
        match self {
            SecretContent::PemPrivateKey => "pemPrivateKey",
            SecretContent::OpenSshPrivateKey => "openSshPrivateKey",
            SecretContent::PgpPrivateKey => "pgpPrivateKey",
            SecretContent::GoogleCredentials => "googleCredentials",
            SecretContent::AwsCredentials => "awsCredentials",
        }
    }
}

impl fmt::Display for SecretContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretContent::PemPrivateKey => "a PEM private key",
            SecretContent::OpenSshPrivateKey => "an OpenSSH private key",
            SecretContent::PgpPrivateKey => "a PGP private key",
            SecretContent::GoogleCredentials => "a Google service-account or user credential",
            SecretContent::AwsCredentials => "an AWS secret access key",
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
        Err(err) => return Err(Error::io(root, err)),
    }
    let canon_root = fs::canonicalize(root).map_err(|err| Error::io(root, err))?;

    let dockerfile = relative_in_context(&options.dockerfile).ok_or_else(|| {
        refuse(
            root,
            format!(
                "Dockerfile `{}` is not a relative path inside the context",
                options.dockerfile.display()
            ),
        )
    })?;
    match fs::metadata(root.join(&dockerfile)) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => {
            return Err(refuse(
                root,
                format!(
                    "Dockerfile `{dockerfile}` is not a regular file ({})",
                    regular_file::kind(&meta)
                ),
            ));
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(refuse(
                root,
                format!("Dockerfile `{dockerfile}` not found in the context"),
            ));
        }
        Err(err) => return Err(Error::io(root.join(&dockerfile), err)),
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

    let token = options.cancel.clone().unwrap_or_default();
    let cancelled = || Error::Cancelled {
        what: format!(
            "packing the build context {} (nothing was sent; no archive is left behind)",
            root.display()
        ),
    };
    if token.is_cancelled() {
        return Err(cancelled());
    }
    // Without a .dockerignore the defaults leave secrets out by name; an
    // allowed one is re-included after them (the caller's patterns still
    // come last). With one, its own rules decide, as documented.
    let mut extra = Vec::new();
    if matches!(fs::metadata(root.join(DOCKERIGNORE)), Err(err) if err.kind() == io::ErrorKind::NotFound)
    {
        let mut sorted: Vec<&String> = allowed.iter().collect();
        sorted.sort();
        extra.extend(
            sorted
                .into_iter()
                .map(|path| format!("!{}", escape_glob(path))),
        );
    }
    extra.extend(options.excludes.iter().cloned());
    let rules = load_rules(root, &extra)?;
    let secrets =
        SecretNames::compile().map_err(|why| refuse(root, format!("secret pattern {why}")))?;

    let settings = WalkSettings {
        rules,
        secrets,
        dockerfile: dockerfile.clone(),
        allowed,
        max_bytes: options.max_bytes,
    };
    let Walked {
        mut found,
        mut held_back,
        total,
        excluded,
    } = walk::walk(root, canon_root, settings)?;
    if !found.iter().any(|file| file.rel == dockerfile) {
        return Err(refuse(
            root,
            format!("Dockerfile `{dockerfile}` not found in the context"),
        ));
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    held_back.sort_by(|a, b| a.path.cmp(&b.path));
    if token.is_cancelled() {
        return Err(cancelled());
    }

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
        let dir = options.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        Error::io(dir, err)
    })?;
    // `temp_path` deletes the file when dropped: on every early return
    // below, a cancelled pack included, no partial archive is left.
    let (file, temp_path) = temp.into_parts();
    let out = Cancellable {
        inner: BufWriter::with_capacity(WRITE_BUFFER, file),
        token: token.clone(),
    };
    let (out, written) = match write_archive(root, &found, out) {
        Ok(done) => done,
        Err(_) if token.is_cancelled() => return Err(cancelled()),
        Err(err) => return Err(err),
    };
    out.inner
        .into_inner()
        .map_err(|err| Error::io(&*temp_path, err.into_error()))?;
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
                link: file.link,
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

/// `path` as a pattern that matches exactly it (`\\` before `*?[\\`).
fn escape_glob(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The most bytes of `.dockerignore` read (one that is larger is refused).
const MAX_DOCKERIGNORE_BYTES: u64 = 16 * 1024 * 1024;

/// A pattern as an error message quotes it: at most 100 characters, so a
/// file of one huge line does not become a huge message.
fn shown_pattern(line: &str) -> String {
    match line.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

/// The ignore rules: the `.dockerignore` if there is one, else the defaults,
/// then the caller's patterns.
fn load_rules(root: &Path, extra: &[String]) -> Result<Rules, Error> {
    let mut rules = Rules::default();
    // A regular file only: a FIFO or device there must not hang us.
    match regular_file::read(&root.join(DOCKERIGNORE), MAX_DOCKERIGNORE_BYTES) {
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
                        format!(
                            "{DOCKERIGNORE} line {}: pattern `{}`: {why}",
                            index + 1,
                            shown_pattern(line)
                        ),
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
        Err(err) => return Err(Error::io(root.join(DOCKERIGNORE), err)),
    }
    for pattern in extra {
        rules
            .add(pattern)
            .map_err(|why| refuse(root, format!("exclude pattern `{pattern}`: {why}")))?;
    }
    Ok(rules)
}
