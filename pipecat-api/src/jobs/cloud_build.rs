//! A cloud build from a directory, in one call: pack, look for a cached
//! build, upload, build, wait.
//!
//! ```no_run
//! use pipecat_api::cloud_build::{BuildProgress, CloudBuild};
//!
//! # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
//! let build = client
//!     .cloud_build(
//!         CloudBuild::new("./my-bot")
//!             .region("us-west")
//!             .on_progress(|event| eprintln!("{event:?}")),
//!     )
//!     .await?;
//! for held in build.held_back() {
//!     eprintln!("not uploaded: {} ({})", held.path(), held.reason());
//! }
//! println!("deploy build {} (cached: {})", build.build_id(), build.cached());
//! # Ok(()) }
//! ```
//!
//! # Steps
//!
//! 1. The directory is packed with [`build_context::pack`] (on a blocking
//!    thread): files, exclusions and held-back secrets as described there.
//! 2. A successful build of the same context hash in the region is looked
//!    for (`listBuilds`, the latest one); when there is one, made with the
//!    same Dockerfile, it is the result, and nothing is uploaded.
//! 3. `getBuildUploadUrl`, then a `multipart/form-data` POST to the storage
//!    host: every upload field in the order the service gave them,
//!    `Content-Type: application/gzip` unless a field sets it, and the
//!    archive last, as the `file` field named `context.tar.gz`, streamed from
//!    the packed archive's temporary file (never held in memory). The storage
//!    host is not Pipecat Cloud: no API key is sent there. Once the last
//!    byte is sent, the storage host's answer is awaited at most
//!    [`CloudBuild::upload_response_timeout`] (default
//!    [`UPLOAD_RESPONSE_TIMEOUT`]; [`BuildProgress::ConfirmingUpload`] says
//!    so). Connection failures, timeouts, 408, 429 and 5xx are retried (a
//!    presigned POST may be repeated) with the client's
//!    [`RetryPolicy`](crate::RetryPolicy) backoff and attempts; then, and
//!    for another refusal, the error is [`Error::Storage`] naming the storage
//!    host and quoting its `<Code>` and `<Message>` (never the upload
//!    fields, which are credentials).
//! 4. `createBuild` (201: a new build; 200: the service reused a cached one),
//!    then `getBuild` until the status is `success`, `failed` or `timeout`.
//!    Any other status, one newer than this crate included, keeps waiting,
//!    up to the [`Wait`] deadline ([`Error::Timeout`]). A `failed` or
//!    `timeout` build is [`Error::Failed`] with the build's error message and
//!    the last lines of its log.
//!
//! # Cancelling
//!
//! Dropping the future stops the build where it is: while packing, the pack
//! on its blocking thread is [cancelled](build_context::CancelToken) too and
//! its partial archive deleted (nothing was sent); while uploading, the
//! upload is aborted (nothing is built); once `createBuild` was sent
//! ([`BuildProgress::Created`]), the build goes on in the service. A
//! [`CloudBuild::cancel_token`] cancelled while packing ends the call with
//! [`Error::Cancelled`] once the partial archive is deleted, which lets a
//! caller wait for that cleanup.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::USER_AGENT;

use crate::jobs::build_context::{
    self, CancelToken, ContextOptions, HeldBack, PackedContext, PackedFile,
};
use crate::jobs::build_logs::assess_build;
use crate::jobs::deploy_config::BuildSettings;
use crate::jobs::poll::{PollError, poll};
use crate::jobs::state::JobState;
use crate::runtime::retry::{self, Verdict};
use crate::types::{self, BuildStatus};
use crate::{Client, Error, Job, UploadFields, Wait};

/// How many lines of a failed build's log its error quotes.
pub const FAILED_LOG_LINES: usize = 20;

/// How long one upload attempt may take: the presigned upload expires after
/// about 15 minutes anyway.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long the storage host's answer is awaited, by default, once the
/// whole archive is sent (see [`CloudBuild::upload_response_timeout`]).
pub const UPLOAD_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// The archive is read from its file and goes out in chunks of (at most)
/// this size, one [`BuildProgress::Uploading`] event each.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// A progress callback, shared with the upload's body stream.
type Callback = Arc<dyn Fn(&BuildProgress) + Send + Sync>;

/// What to build and how: see [`Client::cloud_build`].
///
/// ```
/// use pipecat_api::cloud_build::CloudBuild;
/// use pipecat_api::Wait;
/// use std::time::Duration;
///
/// let build = CloudBuild::new("./my-bot")
///     .region("us-west")
///     .dockerfile("docker/Dockerfile")
///     .exclude("docs/")
///     .allow_secret("certs/ca.pem")
///     .wait(Wait::default().timeout(Duration::from_secs(1800)));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CloudBuild {
    dir: PathBuf,
    region: Option<String>,
    dockerfile: PathBuf,
    options: ContextOptions,
    wait: Wait,
    progress: Option<Callback>,
    cancel: CancelToken,
    upload_response_timeout: Duration,
}

impl fmt::Debug for CloudBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudBuild")
            .field("dir", &self.dir)
            .field("region", &self.region)
            .field("dockerfile", &self.dockerfile)
            .field("options", &self.options)
            .field("wait", &self.wait)
            .field("on_progress", &self.progress.is_some())
            .field("cancelled", &self.cancel.is_cancelled())
            .field("upload_response_timeout", &self.upload_response_timeout)
            .finish()
    }
}

impl CloudBuild {
    /// A build of the context in directory `dir`, with the defaults: the
    /// organization's default region, `Dockerfile`, the default exclusions,
    /// and a wait of at most 30 minutes, polling every 3 s at most.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        CloudBuild {
            dir: dir.as_ref().to_path_buf(),
            region: None,
            dockerfile: PathBuf::from(build_context::DEFAULT_DOCKERFILE),
            options: ContextOptions::new(),
            wait: Wait {
                initial_interval: Duration::from_millis(500),
                max_interval: Duration::from_secs(3),
                timeout: Duration::from_secs(30 * 60),
            },
            progress: None,
            cancel: CancelToken::new(),
            upload_response_timeout: UPLOAD_RESPONSE_TIMEOUT,
        }
    }

    /// The build a `pcc-deploy.toml` `[build]` table describes: its
    /// [context directory](BuildSettings::context_path), Dockerfile,
    /// exclusions and allowed secrets, with the other defaults of
    /// [`new`](Self::new). [`Client::deploy`] builds a `[build]` table this
    /// way.
    pub fn from_settings(settings: &BuildSettings) -> Self {
        let mut build =
            CloudBuild::new(settings.context_path()).dockerfile(settings.get_dockerfile());
        for pattern in settings.get_exclude_patterns() {
            build = build.exclude(pattern.clone());
        }
        for path in settings.get_allow_secrets() {
            build = build.allow_secret(path);
        }
        build
    }

    /// The directory packed.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the directory is packed with (exclusions, allowed
    /// secrets, the Dockerfile, limits), e.g. to pack it with
    /// [`build_context::pack`] and see what a build would upload without
    /// sending anything.
    pub fn context_options(&self) -> ContextOptions {
        self.options.clone().dockerfile(&self.dockerfile)
    }

    /// The region to build in (agents deploying the build must be in it).
    /// Without one, the organization's `defaultRegion` (`getProperties`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The Dockerfile, relative to the directory (default `Dockerfile`).
    pub fn dockerfile(mut self, path: impl AsRef<Path>) -> Self {
        self.dockerfile = path.as_ref().to_path_buf();
        self
    }

    /// Adds an ignore pattern (see [`ContextOptions::exclude`]).
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.options = self.options.exclude(pattern);
        self
    }

    /// Allows one secret-looking file to be uploaded, by its exact relative
    /// path (see [`ContextOptions::allow_secret`]).
    pub fn allow_secret(mut self, path: impl AsRef<Path>) -> Self {
        self.options = self.options.allow_secret(path);
        self
    }

    /// The limit on the context's size before compression (see
    /// [`ContextOptions::max_bytes`]).
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.options = self.options.max_bytes(max_bytes);
        self
    }

    /// Where the archive is packed (see [`ContextOptions::temp_dir`]).
    pub fn temp_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.options = self.options.temp_dir(dir);
        self
    }

    /// How long and how often to poll the build.
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// A token that stops packing when cancelled: the call then ends with
    /// [`Error::Cancelled`] once the partial archive is deleted (see
    /// [Cancelling](crate::jobs::cloud_build#cancelling)). Cancelling it later,
    /// once packing is over, has no effect on this build.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// How long to wait for the storage host's answer once the whole
    /// archive is sent (default [`UPLOAD_RESPONSE_TIMEOUT`]); past it, the
    /// attempt fails as a timeout (retried like one). Each upload attempt is
    /// bounded by [`UPLOAD_TIMEOUT`] as a whole too.
    pub fn upload_response_timeout(mut self, timeout: Duration) -> Self {
        self.upload_response_timeout = timeout;
        self
    }

    /// Calls `callback` with each step as it happens, in order (see
    /// [`BuildProgress`]). It runs on the task making the build (and, for
    /// upload progress, inside the HTTP client): keep it short.
    pub fn on_progress(
        mut self,
        callback: impl Fn(&BuildProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    fn report(&self, event: BuildProgress) {
        if let Some(callback) = &self.progress {
            callback(&event);
        }
    }
}

/// A step of [`Client::cloud_build`], in the order they happen: `Packed`,
/// then either `Cached` (a build found before uploading), or `Uploading`
/// (from `sent: 0` to `sent == total` as the archive is handed to the
/// connection, again from 0 when an attempt is retried) and
/// `ConfirmingUpload` once all of it is sent, `Uploaded`, then `Created` and
/// `Building` once per status change the polls see; then `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildProgress {
    /// The context is packed.
    Packed {
        /// How many files went in.
        files: usize,
        /// The archive's size.
        bytes: u64,
        /// Files the ignore rules let through but that were not packed
        /// (they look like secrets), known before anything is uploaded.
        held_back: Vec<HeldBack>,
    },
    /// A successful build of the same context exists: no upload, no build.
    Cached {
        /// That build.
        build_id: uuid::Uuid,
    },
    /// Bytes of the archive sent so far, in this attempt.
    Uploading {
        /// Sent so far.
        sent: u64,
        /// The archive's size.
        total: u64,
    },
    /// The whole archive is sent: waiting (at most
    /// [`CloudBuild::upload_response_timeout`]) for the storage host to
    /// confirm the upload.
    ConfirmingUpload {
        /// The archive's size.
        total: u64,
    },
    /// The storage host confirmed the upload; `createBuild` is sent next
    /// (from here on, a build may exist in the service).
    Uploaded,
    /// `createBuild` answered: the build exists in the service and goes on
    /// there whatever happens to this call.
    Created {
        /// The build's id.
        build_id: uuid::Uuid,
    },
    /// The build's status, each time it changes.
    Building {
        /// As the service reports it (possibly one newer than this crate).
        status: BuildStatus,
    },
    /// The build succeeded.
    Done {
        /// The build, ready to deploy.
        build_id: uuid::Uuid,
    },
}

/// A successful cloud build: its id, whether it was reused, and what was
/// packed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FinishedBuild {
    build_id: uuid::Uuid,
    cached: bool,
    context_hash: String,
    build: types::Build,
    files: Vec<PackedFile>,
    held_back: Vec<HeldBack>,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
}

impl FinishedBuild {
    /// The build's id: deploy it as `buildId`.
    pub fn build_id(&self) -> uuid::Uuid {
        self.build_id
    }

    /// Whether an earlier successful build of the same context was reused
    /// (found before uploading, or reported by `createBuild` as cached).
    pub fn cached(&self) -> bool {
        self.cached
    }

    /// The context hash (16 hex digits).
    pub fn context_hash(&self) -> &str {
        &self.context_hash
    }

    /// The build as the service last reported it (image, sizes, times).
    pub fn build(&self) -> &types::Build {
        &self.build
    }

    /// The files packed, in archive order.
    pub fn files(&self) -> &[PackedFile] {
        &self.files
    }

    /// The files left out that the ignore rules let through, and why.
    pub fn held_back(&self) -> &[HeldBack] {
        &self.held_back
    }

    /// The archive's size.
    pub fn compressed_bytes(&self) -> u64 {
        self.compressed_bytes
    }

    /// The packed files' total size before compression.
    pub fn uncompressed_bytes(&self) -> u64 {
        self.uncompressed_bytes
    }
}

impl Client {
    /// Builds an image from a directory, from packing to a successful build
    /// (see the [module docs](crate::jobs::cloud_build) for each step), and
    /// returns the build, ready to deploy.
    ///
    /// Errors: packing errors as [`build_context::pack`] gives them, before
    /// anything is sent; API errors; an upload refused by the storage host,
    /// or one it never confirmed ([`Error::Storage`], quoting its message);
    /// [`Error::Cancelled`] when the [`CloudBuild::cancel_token`] is
    /// cancelled while packing; a build that
    /// failed or timed out ([`Error::Failed`], with its error message and the
    /// last [`FAILED_LOG_LINES`] lines of its log); [`Error::Timeout`] when
    /// the build is not final by the deadline.
    pub async fn cloud_build(&self, build: CloudBuild) -> Result<FinishedBuild, Error> {
        let dockerfile = build
            .dockerfile
            .to_str()
            .ok_or_else(|| Error::InvalidRequest {
                message: format!(
                    "the Dockerfile path {} is not valid Unicode",
                    build.dockerfile.display()
                ),
            })?;
        // The service wants `/`; only on Windows is `\\` a separator.
        let dockerfile = if cfg!(windows) {
            dockerfile.replace('\\', "/")
        } else {
            dockerfile.to_string()
        };
        let options = build
            .options
            .clone()
            .dockerfile(&build.dockerfile)
            .cancel_token(build.cancel.clone());
        let dir = build.dir.clone();
        // Dropping this future while packing cancels the pack: its thread
        // would otherwise go on (and keep its partial archive) after the
        // caller gave up.
        let guard = CancelOnDrop(Some(build.cancel.clone()));
        let packed = tokio::task::spawn_blocking(move || build_context::pack(dir, &options)).await;
        // Finished, well or not: only a drop mid-pack cancels (the token
        // may be shared with clones of this `CloudBuild`).
        guard.disarm();
        // The packing thread panicked or was torn down: local work that
        // stopped, not a refusal.
        let packed = packed.map_err(|e| {
            Error::io(
                &build.dir,
                std::io::Error::other(format!("packing the build context stopped: {e}")),
            )
        })??;
        // Cancelled just as the pack finished: still nothing is sent.
        if build.cancel.is_cancelled() {
            return Err(Error::Cancelled {
                what: "the cloud build, right after packing (nothing was sent)".into(),
            });
        }
        build.report(BuildProgress::Packed {
            files: packed.files().len(),
            bytes: packed.compressed_bytes(),
            held_back: packed.held_back().to_vec(),
        });

        let region = match &build.region {
            Some(region) => region.clone(),
            None => self.default_region().await?,
        };
        let context_hash = packed.hash().to_string();
        let mut finished = FinishedBuild {
            build_id: uuid::Uuid::nil(),
            cached: false,
            context_hash: context_hash.clone(),
            build: types::Build::default(),
            files: packed.files().to_vec(),
            held_back: packed.held_back().to_vec(),
            compressed_bytes: packed.compressed_bytes(),
            uncompressed_bytes: packed.uncompressed_bytes(),
        };

        let cached = self
            .list_builds()
            .context_hash(context_hash.as_str())
            .region(region.as_str())
            .status(BuildStatus::Success)
            .limit(1)
            .send()
            .await?
            .builds
            .into_iter()
            // The service's cache key also has the Dockerfile: a build of
            // the same context with another one is not this build. (On a
            // miss here, createBuild still answers 200 with a match.)
            .find(|b| {
                b.status == Some(BuildStatus::Success)
                    && b.id.is_some()
                    && b.dockerfile_path
                        .as_deref()
                        .unwrap_or(build_context::DEFAULT_DOCKERFILE)
                        == dockerfile
            });
        if let Some(existing) = cached {
            let build_id = existing.id.unwrap_or_default();
            build.report(BuildProgress::Cached { build_id });
            build.report(BuildProgress::Done { build_id });
            finished.build_id = build_id;
            finished.cached = true;
            finished.build = existing;
            return Ok(finished);
        }

        let upload = self
            .get_build_upload_url()
            .body(types::UploadUrlRequest::builder().region(region.as_str()))
            .send()
            .await?;
        let (Some(upload_id), Some(upload_url)) = (upload.upload_id, upload.upload_url) else {
            return Err(Error::UnexpectedResponse {
                status: None,
                message: "getBuildUploadUrl answered without uploadId or uploadUrl".into(),
            });
        };
        let fields = upload.upload_fields.unwrap_or_default();
        upload_context(self, &upload_url, &fields, &packed, &build).await?;
        build.report(BuildProgress::Uploaded);
        // The archive's file is deleted here, once it is uploaded.
        drop(packed);

        let created = self
            .create_build()
            .body(
                types::CreateBuildRequest::builder()
                    .upload_id(upload_id)
                    .region(region.as_str())
                    .dockerfile_path(dockerfile),
            )
            .send_with_response()
            .await?;
        let status = created.status();
        let created = created.into_value();
        if let Some(hash) = created.context_hash {
            finished.context_hash = hash;
        }
        let Some(build_id) = created.build.as_ref().and_then(|b| b.id) else {
            return Err(Error::UnexpectedResponse {
                status: Some(status),
                message: "createBuild answered without the build's id".into(),
            });
        };
        finished.build_id = build_id;
        finished.cached = status == StatusCode::OK || created.cached == Some(true);
        build.report(BuildProgress::Created { build_id });

        let mut last_status = None::<BuildStatus>;
        let polled = poll(
            &build.wait,
            || async {
                let answer = self.get_build().build_id(build_id).send().await?;
                Ok(answer.build.unwrap_or_default())
            },
            |current: &types::Build| {
                if let Some(status) = &current.status
                    && last_status.as_ref() != Some(status)
                {
                    build.report(BuildProgress::Building {
                        status: status.clone(),
                    });
                    last_status = Some(status.clone());
                }
                assess_build(current)
            },
        )
        .await;
        let done = match polled {
            Ok(done) => done,
            Err(PollError::Failed { state, reason }) => {
                return Err(self.build_failure(build_id, state, reason).await);
            }
            Err(end) => {
                return Err(
                    end.into_error(Job::Build { build_id }, |b, _| JobState::Build(Box::new(b)))
                );
            }
        };
        build.report(BuildProgress::Done { build_id });
        finished.build = done;
        Ok(finished)
    }

    /// The organization's default region.
    async fn default_region(&self) -> Result<String, Error> {
        self.get_properties()
            .send()
            .await?
            .properties
            .and_then(|p| p.default_region)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::InvalidRequest {
                message: "no region given and the organization has no defaultRegion".into(),
            })
    }

    /// The error of a failed (or timed-out) build: `reason` (its message)
    /// and the last lines of its log (as far as they can be read).
    async fn build_failure(
        &self,
        build_id: uuid::Uuid,
        build: types::Build,
        reason: String,
    ) -> Error {
        let mut reason = reason;
        match self
            .get_build_logs()
            .build_id(build_id)
            .limit(10_000)
            .send()
            .await
        {
            Ok(logs) => {
                let lines = logs.logs;
                let tail = &lines[lines.len().saturating_sub(FAILED_LOG_LINES)..];
                if !tail.is_empty() {
                    reason.push_str(&format!(
                        "\nlast {} lines of the build log:\n{}",
                        tail.len(),
                        tail.join("\n")
                    ));
                }
            }
            Err(e) => reason.push_str(&format!("\n(the build log could not be read: {e})")),
        }
        Error::Failed {
            job: Job::Build { build_id },
            reason,
            last: JobState::Build(Box::new(build)).into(),
        }
    }
}

/// Cancels its token when dropped, unless disarmed first.
struct CancelOnDrop(Option<CancelToken>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.cancel();
        }
    }
}

/// POSTs the archive to the storage host as a presigned form, retrying
/// transient failures.
async fn upload_context(
    client: &Client,
    url: &str,
    fields: &UploadFields,
    packed: &PackedContext,
    build: &CloudBuild,
) -> Result<(), Error> {
    let target = reqwest::Url::parse(url).map_err(|_| Error::UnexpectedResponse {
        status: None,
        message: "getBuildUploadUrl answered an uploadUrl that is not a URL".into(),
    })?;
    // Named in every storage error: it is not Pipecat Cloud that failed.
    let host = target.host_str().unwrap_or("(no host)").to_string();
    match target.scheme() {
        "https" => {}
        "http" if crate::runtime::client::is_loopback(&target) => {}
        _ => {
            return Err(Error::UnexpectedResponse {
                status: None,
                message: "getBuildUploadUrl answered an uploadUrl that is not https".into(),
            });
        }
    }
    let config = client.config();
    let attempt = |attempt: u32, ()| {
        let target = target.clone();
        async move {
            let outcome = upload_once(client, target, fields, packed, build).await;
            if outcome.is_ok() {
                tracing::debug!(attempt, "uploaded the build context");
            }
            // Each attempt reads the archive's file anew: always repeatable.
            (outcome, Some(()))
        }
    };
    retry::run(
        &config.retry,
        "uploadBuildContext",
        (),
        attempt,
        classify_upload,
    )
    .await
    .map_err(|failure| failure.into_error(&host, fields, packed, build))
}

/// Why one upload attempt failed, as the classifier needs it.
enum UploadFailure {
    /// The form could not be made (the archive's file): nothing was sent.
    Local(Error),
    /// The whole archive went out but no answer came in time.
    Unconfirmed,
    /// The storage host answered with this error status.
    Refused {
        status: StatusCode,
        headers: reqwest::header::HeaderMap,
        body: Bytes,
    },
    /// No answer: not connected, timed out, or broken off.
    Broke(reqwest::Error),
}

/// Whether an upload attempt's outcome is worth another attempt: a
/// presigned POST may be repeated, so connection failures, timeouts, an
/// unconfirmed upload, the API's transient statuses and any 5xx (storage
/// hosts ask for a repeat of a 500 too) are retried.
fn classify_upload(outcome: &Result<(), UploadFailure>) -> Verdict {
    let retry = match outcome {
        Ok(()) | Err(UploadFailure::Local(_)) => false,
        Err(UploadFailure::Unconfirmed) => true,
        Err(UploadFailure::Refused {
            status, headers, ..
        }) => {
            if retry::is_transient(*status) || status.is_server_error() {
                return Verdict::Retry {
                    retry_after: retry::retry_after(headers),
                };
            }
            false
        }
        Err(UploadFailure::Broke(source)) => {
            source.is_connect() || source.is_timeout() || source.is_request() || source.is_body()
        }
    };
    if retry {
        Verdict::Retry { retry_after: None }
    } else {
        Verdict::Stop
    }
}

impl UploadFailure {
    /// The caller's error: [`Error::Storage`] naming the storage host, for
    /// all but a local failure.
    fn into_error(
        self,
        host: &str,
        fields: &UploadFields,
        packed: &PackedContext,
        build: &CloudBuild,
    ) -> Error {
        match self {
            UploadFailure::Local(error) => error,
            UploadFailure::Unconfirmed => Error::Storage {
                host: host.to_string(),
                status: None,
                message: format!(
                    "took the whole build context ({} bytes) but did not confirm the \
                     upload within {:?}; try again (or raise \
                     CloudBuild::upload_response_timeout)",
                    packed.compressed_bytes(),
                    build.upload_response_timeout
                ),
            },
            UploadFailure::Refused { status, body, .. } => {
                storage_refusal(host, status, &body, fields)
            }
            UploadFailure::Broke(source) => storage_transport(host, source),
        }
    }
}

/// One upload attempt. Once the last byte is handed to the connection, the
/// answer gets [`CloudBuild::upload_response_timeout`]: a host that takes
/// the body and never answers would otherwise hold the upload for all of
/// [`UPLOAD_TIMEOUT`].
async fn upload_once(
    client: &Client,
    target: reqwest::Url,
    fields: &UploadFields,
    packed: &PackedContext,
    build: &CloudBuild,
) -> Result<(), UploadFailure> {
    let config = client.config();
    let sent_all = Arc::new(tokio::sync::Notify::new());
    let form = upload_form(fields, packed, build.progress.clone(), &sent_all)
        .await
        .map_err(UploadFailure::Local)?;
    // The client's own `reqwest::Client`, but not its calls: no
    // Authorization header is ever added here.
    let send = client
        .client
        .post(target)
        .header(USER_AGENT, config.user_agent.clone())
        .timeout(UPLOAD_TIMEOUT)
        .multipart(form)
        .send();
    let mut send = std::pin::pin!(send);
    let sent = std::pin::pin!(sent_all.notified());
    let result = match futures_util::future::select(send.as_mut(), sent).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(((), _)) => {
            build.report(BuildProgress::ConfirmingUpload {
                total: packed.compressed_bytes(),
            });
            tokio::time::timeout(build.upload_response_timeout, send)
                .await
                .map_err(|_| UploadFailure::Unconfirmed)?
        }
    };
    let response = result.map_err(UploadFailure::Broke)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let headers = response.headers().clone();
    let body = crate::runtime::transport::read_error_body(response).await;
    Err(UploadFailure::Refused {
        status,
        headers,
        body,
    })
}

/// The presigned form: the fields in order, `Content-Type` unless given,
/// then the archive as `file`, streamed from its file.
async fn upload_form(
    fields: &UploadFields,
    packed: &PackedContext,
    progress: Option<Callback>,
    sent_all: &Arc<tokio::sync::Notify>,
) -> Result<reqwest::multipart::Form, Error> {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields.expose() {
        form = form.text(name.to_string(), value.to_string());
    }
    if !fields.contains("Content-Type") {
        form = form.text("Content-Type", "application/gzip");
    }
    let total = packed.compressed_bytes();
    let file = tokio::fs::File::open(packed.path())
        .await
        .map_err(|err| Error::io(packed.path(), err))?;
    let sent_all = Arc::clone(sent_all);
    let report = move |sent: u64| {
        if let Some(callback) = &progress {
            callback(&BuildProgress::Uploading { sent, total });
        }
        if sent == total {
            // Kept as a permit when nobody waits yet.
            sent_all.notify_one();
        }
    };
    report(0);
    let body = reqwest::Body::wrap_stream(archive_chunks(file, total, report));
    let part = reqwest::multipart::Part::stream_with_length(body, total)
        .file_name("context.tar.gz")
        .mime_str("application/gzip")
        .map_err(|source| Error::Transport {
            source,
            may_have_taken_effect: false,
        })?;
    Ok(form.part("file", part))
}

/// The archive file's bytes in chunks of at most [`UPLOAD_CHUNK`], exactly
/// `total` of them (a file that turns out shorter or longer is an error,
/// which fails the upload), calling `report` with the bytes read so far.
fn archive_chunks(
    file: tokio::fs::File,
    total: u64,
    report: impl Fn(u64) + Send + Sync + 'static,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt as _;
    let report = Arc::new(report);
    futures_util::stream::try_unfold((file, 0u64), move |(mut file, sent)| {
        let report = Arc::clone(&report);
        async move {
            let left = total.saturating_sub(sent);
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(UPLOAD_CHUNK);
            if want == 0 {
                // At the end: the file must end too.
                if file.read(&mut [0u8; 1]).await? != 0 {
                    return Err(changed_size());
                }
                return Ok(None);
            }
            let mut chunk = BytesMut::with_capacity(want);
            while chunk.len() < want {
                let more = (want - chunk.len()) as u64;
                if (&mut file).take(more).read_buf(&mut chunk).await? == 0 {
                    return Err(changed_size());
                }
            }
            let sent = sent + chunk.len() as u64;
            report(sent);
            Ok(Some((chunk.freeze(), (file, sent))))
        }
    })
}

/// The archive's file is not the size it had when it was packed.
fn changed_size() -> std::io::Error {
    std::io::Error::other("the packed build context changed size while it was being uploaded")
}

/// A failure to talk to the storage host (connection, timeout, broken
/// body): named as such, with reqwest's chain but no URL (its query may
/// hold a signature).
fn storage_transport(host: &str, source: reqwest::Error) -> Error {
    let what = if source.is_timeout() {
        "did not answer the build context upload in time"
    } else if source.is_connect() {
        "could not be reached to upload the build context; check the network"
    } else {
        "broke off the build context upload"
    };
    let source = source.without_url();
    Error::Storage {
        host: host.to_string(),
        status: None,
        message: format!(
            "{what} ({}); try again",
            crate::runtime::error::error_chain(&source)
        ),
    }
}

/// A storage host's refusal: its status, and the `<Code>` and `<Message>`
/// of its XML answer; any upload field value in them is redacted.
fn storage_refusal(host: &str, status: StatusCode, body: &[u8], fields: &UploadFields) -> Error {
    let text =
        String::from_utf8_lossy(&body[..body.len().min(crate::runtime::error::MAX_ERROR_BODY)]);
    let code = xml_element(&text, "Code");
    let detail = xml_element(&text, "Message");
    let mut message = format!("refused the build context upload ({status})");
    match (code, detail) {
        (Some(code), Some(detail)) => message.push_str(&format!(": {code}: {detail}")),
        (Some(only), None) | (None, Some(only)) => message.push_str(&format!(": {only}")),
        (None, None) => {}
    }
    for (_, value) in fields.expose() {
        if value.len() >= 4 {
            message = message.replace(value, "<redacted>");
        }
    }
    Error::Storage {
        host: host.to_string(),
        status: Some(status),
        message,
    }
}

/// The text of the first `<name>…</name>` element, unescaped, if any.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let text = xml[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_quote_code_and_message_but_no_field() {
        let fields = UploadFields::new([("Policy", "c2VjcmV0LXBvbGljeQ=="), ("key", "k")]);
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Policy c2VjcmV0LXBvbGljeQ== expired &amp; gone</Message></Error>";
        let err =
            storage_refusal("bucket.example", StatusCode::FORBIDDEN, body, &fields).to_string();
        assert!(
            err.starts_with("the storage host bucket.example refused"),
            "{err}"
        );
        assert!(!err.contains("Pipecat Cloud"), "{err}");
        assert!(
            err.contains("AccessDenied: Policy <redacted> expired & gone"),
            "{err}"
        );
        assert!(err.contains("403"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");
        let plain =
            storage_refusal("bucket.example", StatusCode::FORBIDDEN, b"nope", &fields).to_string();
        assert!(plain.contains("403") && !plain.contains("nope"), "{plain}");
    }

    #[test]
    fn debug_hides_the_callback() {
        let build = CloudBuild::new("x").region("us-west").on_progress(|_| {});
        let debug = format!("{build:?}");
        assert!(
            debug.contains("us-west") && debug.contains("on_progress: true"),
            "{debug}"
        );
    }
}
