//! `build …`: cloud builds (listing, status, output).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use futures_util::{StreamExt as _, TryStreamExt as _};
use pipecat_api::build_context::{
    self, CancelToken, ContextOptions, DEFAULT_DOCKERFILE, HeldBack, PackedContext,
};
use pipecat_api::cloud_build::{BuildProgress, CloudBuild, FinishedBuild};
use pipecat_api::follow::BuildLogEvent;
use pipecat_api::types::BuildStatus;
use pipecat_api::uuid::Uuid;
use serde_json::json;

use crate::context::{Ctx, Key};
use crate::failure::Failure;
use crate::output::{Cell, Style, Table};
use crate::progress::{Progress, ctrl_c};

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// Show the cloud-build context of a directory without uploading it:
    /// files, held-back files and why, sizes and the context hash.
    #[command(after_help = "Example: pipecat-cloud build context ./my-bot --output json")]
    Context {
        #[command(flatten)]
        context: ContextArgs,
    },
    /// Build an image in the cloud from a directory, without deploying it;
    /// prints the build id (a build of the same context is reused).
    #[command(after_help = "Example: pipecat-cloud build create ./my-bot --region us-west")]
    Create {
        #[command(flatten)]
        context: ContextArgs,
        /// The region to build in (default: the organization's default region).
        #[arg(long)]
        region: Option<String>,
    },
    /// List the organization's builds, newest first.
    #[command(after_help = "Example: pipecat-cloud build list --limit 5")]
    List {
        /// At most this many builds.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Only builds with this status.
        #[arg(long, short = 's', value_parser = ["pending", "building", "success", "failed", "timeout"])]
        status: Option<String>,
        /// Only builds in this region.
        #[arg(long, short = 'r')]
        region: Option<String>,
    },
    /// Show one build: status, image or error.
    #[command(after_help = "Example: pipecat-cloud build status 0b8e…")]
    Status {
        /// The build's id (a UUID).
        id: String,
    },
    /// Print a build's output; with --follow, keep printing new lines until
    /// the build ends.
    #[command(after_help = "Example: pipecat-cloud build logs 0b8e… --follow\n\
                      With --follow, the exit code is 0 when the build succeeds and 1 when it\n\
                      fails or times out (with the build's error); Ctrl-C stops following with 0\n\
                      (the build goes on). --output json then prints one JSON object per line\n\
                      (JSON Lines, `{\"log\": …}`) instead of one document.")]
    Logs {
        /// The build's id (a UUID).
        id: String,
        /// Keep printing new lines until the build succeeds, fails or times out.
        #[arg(long, short = 'f')]
        follow: bool,
        /// At most this many lines (1-10000; default: 10000, the API's maximum).
        #[arg(
            long,
            short = 'n',
            conflicts_with = "follow",
            value_parser = clap::value_parser!(u32).range(1..=10_000)
        )]
        limit: Option<u32>,
    },
}

/// The directory and packing options `build context` and `build create` share.
#[derive(Debug, clap::Args)]
pub struct ContextArgs {
    /// The build context directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The Dockerfile, relative to DIR.
    #[arg(long, default_value = DEFAULT_DOCKERFILE)]
    pub dockerfile: PathBuf,
    /// An extra ignore pattern (.dockerignore syntax); may be repeated.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Upload this secret-looking file anyway (its path relative to DIR); may be repeated.
    #[arg(long, value_name = "PATH")]
    pub allow_secret: Vec<PathBuf>,
}

impl ContextArgs {
    fn options(&self) -> ContextOptions {
        let mut options = ContextOptions::new().dockerfile(&self.dockerfile);
        for pattern in &self.exclude {
            options = options.exclude(pattern.clone());
        }
        for path in &self.allow_secret {
            options = options.allow_secret(path);
        }
        options
    }
}

/// What Ctrl-C while packing says: true whether in `build context`, a
/// dry run or a build (packing comes before anything is sent).
const PACKING_STOPPED: &str = "interrupted while packing the build context: nothing was sent, \
                               and the partial archive was deleted";

/// Packs `dir` as a cloud build would, sending nothing, on a blocking
/// thread. Ctrl-C cancels the pack and waits for it to delete its partial
/// archive (a second Ctrl-C exits at once).
pub async fn pack_context(dir: &Path, options: &ContextOptions) -> Result<PackedContext, Failure> {
    let token = CancelToken::new();
    let options = options.clone().cancel_token(token.clone());
    let dir = dir.to_path_buf();
    let mut job = tokio::task::spawn_blocking(move || build_context::pack(dir, &options));
    let joined = tokio::select! {
        joined = &mut job => joined,
        () = ctrl_c() => {
            token.cancel();
            // Whatever the pack ends with now, the user asked to stop; a
            // finished archive is deleted when dropped here.
            let _ = until_second_ctrl_c(&mut job).await;
            return Err(Failure::Interrupted(PACKING_STOPPED.into()));
        }
    };
    joined
        .map_err(|e| Failure::Internal(format!("packing the build context stopped: {e}")))?
        .map_err(Failure::from)
}

/// Waits for `work` to end after a first Ctrl-C asked it to stop; a second
/// Ctrl-C exits with 130 at once, without waiting.
pub(crate) async fn until_second_ctrl_c<F: std::future::Future + Unpin>(work: &mut F) -> F::Output {
    tokio::select! {
        output = work => output,
        () = ctrl_c() => {
            crate::output::to_stderr("interrupted again: exiting without waiting for the cleanup");
            std::process::exit(130);
        }
    }
}

/// Warns (on stderr) about files left out of a context.
pub fn warn_held_back(held_back: &[HeldBack], progress: &Progress) {
    for held in held_back {
        progress.println(&format!(
            "not uploaded: {} ({})",
            held.path(),
            held.reason()
        ));
    }
}

/// What a build is doing, as a phase line.
pub fn build_phase(event: &BuildProgress, progress: &Progress) {
    match event {
        BuildProgress::Packed {
            files,
            bytes,
            held_back,
        } => {
            let files = crate::output::count(*files, "file");
            progress.phase(&format!("packed {files} ({bytes} bytes compressed)"));
            // Said before the upload starts, so Ctrl-C can still stop it.
            warn_held_back(held_back, progress);
        }
        BuildProgress::Cached { build_id } => {
            progress.phase(&format!("reusing build {build_id} of the same context"));
        }
        BuildProgress::Uploading { sent, total } => {
            progress.bytes("uploading the context", *sent, *total);
        }
        BuildProgress::ConfirmingUpload { .. } => {
            progress.phase("waiting for the storage host to confirm the upload");
        }
        BuildProgress::Created { build_id } => {
            progress.phase(&format!("build {build_id} created"));
        }
        BuildProgress::Building { status } => progress.phase(&format!("build: {status}")),
        // The caller's summary line says it, with the context hash.
        _ => {}
    }
}

/// Where a cloud build is, for what Ctrl-C should say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Nothing sent yet; the partial archive is to be deleted.
    Packing,
    /// Looking for a cached build, or uploading: no build exists.
    Sending,
    /// All bytes sent, the storage host's answer awaited: no build exists.
    Confirming,
    /// Uploaded; `createBuild` sent or about to be: a build may exist.
    Creating,
    /// The build exists (its id) and goes on in the service.
    Building(Uuid),
}

impl Stage {
    /// The stage after `event`.
    pub(crate) fn after(self, event: &BuildProgress) -> Stage {
        match event {
            BuildProgress::Packed { .. } | BuildProgress::Uploading { .. } => Stage::Sending,
            BuildProgress::ConfirmingUpload { .. } => Stage::Confirming,
            BuildProgress::Uploaded => Stage::Creating,
            BuildProgress::Created { build_id }
            | BuildProgress::Cached { build_id }
            | BuildProgress::Done { build_id } => Stage::Building(*build_id),
            _ => self,
        }
    }

    /// What stopping here means, said on Ctrl-C.
    pub(crate) fn interrupted(self) -> String {
        match self {
            Stage::Packing => PACKING_STOPPED.into(),
            Stage::Sending => {
                "interrupted: the upload was stopped before it finished; nothing was built".into()
            }
            Stage::Confirming => "interrupted while waiting for the storage host to confirm the \
                                  upload: it was stopped; nothing was built"
                .into(),
            Stage::Creating => "interrupted just as the build was being created: it may have \
                                started; see `pipecat-cloud build list`"
                .into(),
            Stage::Building(id) => format!(
                "interrupted: stopped waiting; build {id} goes on in Pipecat Cloud; follow it \
                 with `pipecat-cloud build logs {id} --follow`"
            ),
        }
    }
}

/// Runs a cloud build, showing its steps. Ctrl-C while packing cancels the
/// pack and waits for its partial archive to be deleted; later, it stops at
/// once; either way it says what that left (exit 130).
pub async fn run_cloud_build(
    client: &pipecat_api::Client,
    build: CloudBuild,
) -> Result<FinishedBuild, Failure> {
    let progress = Progress::new();
    progress.phase("packing the build context");
    let shown = progress.clone();
    let stage = std::sync::Arc::new(std::sync::Mutex::new(Stage::Packing));
    let seen = std::sync::Arc::clone(&stage);
    let token = CancelToken::new();
    let build = build.cancel_token(token.clone()).on_progress(move |event| {
        if let Ok(mut stage) = seen.lock() {
            *stage = stage.after(event);
        }
        build_phase(event, &shown);
    });
    let mut job = std::pin::pin!(client.cloud_build(build));
    let result = tokio::select! {
        result = &mut job => result,
        () = ctrl_c() => {
            let now = stage.lock().map_or(Stage::Packing, |s| *s);
            if now == Stage::Packing {
                token.cancel();
                // The pack ends at its next write and deletes its archive.
                let _ = until_second_ctrl_c(&mut job).await;
            }
            progress.finish();
            return Err(Failure::Interrupted(now.interrupted()));
        }
    };
    progress.finish();
    Ok(result?)
}

/// A build id, checked here so that a typo is a usage error naming the argument.
fn build_id(id: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(id.trim())
        .map_err(|e| Failure::Api(pipecat_api::Error::invalid_parameter("build ID", e)))
}

/// What `command` is about, for naming it when the service answers 404.
pub fn subject(command: &BuildCommand) -> Option<String> {
    match command {
        BuildCommand::Status { id, .. } | BuildCommand::Logs { id, .. } => {
            Some(format!("build {id:?}"))
        }
        _ => None,
    }
}

pub async fn run(command: BuildCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        BuildCommand::Context { context } => {
            let packed = pack_context(&context.dir, &context.options()).await?;
            if out.is_json() {
                return out.json(&packed);
            }
            let mut table = Table::new(&["FILE", "SIZE"]);
            for file in packed.files() {
                let shown = match file.link_target() {
                    Some(target) => format!("{} -> {target}", file.path()),
                    None => file.path().to_owned(),
                };
                table.row(vec![Cell::new(shown), Cell::new(file.size().to_string())]);
            }
            out.table(&table)?;
            if !packed.held_back().is_empty() {
                out.line("")?;
                let mut held = Table::new(&["HELD BACK", "WHY"]);
                for h in packed.held_back() {
                    held.row(vec![
                        Cell::styled(h.path(), Some(Style::Yellow)),
                        Cell::new(h.reason().to_string()),
                    ]);
                }
                out.table(&held)?;
            }
            out.line("")?;
            out.fields(&[
                ("Context hash", Cell::new(packed.hash())),
                ("Files", Cell::new(packed.files().len().to_string())),
                ("Held back", Cell::new(packed.held_back().len().to_string())),
                ("Excluded", Cell::new(packed.excluded().to_string())),
                (
                    "Size",
                    Cell::new(format!("{} bytes", packed.uncompressed_bytes())),
                ),
                (
                    "Compressed",
                    Cell::new(format!("{} bytes", packed.compressed_bytes())),
                ),
            ])
        }
        BuildCommand::Create { context, region } => {
            let client = ctx.client(Key::Private)?;
            let mut build = CloudBuild::new(&context.dir).dockerfile(&context.dockerfile);
            for pattern in &context.exclude {
                build = build.exclude(pattern.clone());
            }
            for path in &context.allow_secret {
                build = build.allow_secret(path);
            }
            if let Some(region) = region {
                build = build.region(region);
            }
            let finished = run_cloud_build(&client, build).await?;
            if out.is_json() {
                return out.json(&json!({
                    "buildId": finished.build_id(),
                    "contextHash": finished.context_hash(),
                    "cached": finished.cached(),
                    "imageUri": finished.build().image_uri,
                    "region": finished.build().region,
                    "compressedBytes": finished.compressed_bytes(),
                }));
            }
            let cached = if finished.cached() {
                " (reused: same context)"
            } else {
                ""
            };
            out.line(&format!(
                "Build {} succeeded{cached}; context {}.",
                finished.build_id(),
                finished.context_hash()
            ))?;
            out.line(&format!(
                "To deploy it: build_id = \"{}\" in pcc-deploy.toml, then `pipecat-cloud deploy`",
                finished.build_id()
            ))
        }
        BuildCommand::List {
            limit,
            status,
            region,
        } => {
            let client = ctx.client(Key::Private)?;
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let mut request = client.list_builds();
            if let Some(status) = status {
                let status: BuildStatus = status
                    .parse()
                    .map_err(|e| Failure::Usage(format!("--status {status:?}: {e}")))?;
                request = request.status(status);
            }
            if let Some(region) = region {
                request = request.region(region);
            }
            let builds: Vec<_> = request
                .into_stream_with_page_size(page)
                .take(limit)
                .try_collect()
                .await?;
            if out.is_json() {
                return out.json(&serde_json::json!({ "builds": builds }));
            }
            if builds.is_empty() {
                out.note("No builds.");
                return Ok(());
            }
            let mut table = Table::new(&["ID", "STATUS", "REGION", "CREATED", "IMAGE"]);
            for b in &builds {
                table.row(vec![
                    Cell::opt(b.id),
                    Cell::status(b.status.as_ref()),
                    Cell::opt(b.region.as_ref()),
                    Cell::opt(b.created_at.as_ref()),
                    Cell::opt(b.image_uri.as_ref()),
                ]);
            }
            out.table(&table)
        }
        BuildCommand::Status { id } => {
            let id = build_id(&id)?;
            let answer = ctx
                .client(Key::Private)?
                .get_build()
                .build_id(id)
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            let Some(b) = &answer.build else {
                return Err(Failure::Api(pipecat_api::Error::UnexpectedResponse {
                    status: None,
                    message: format!("the answer for build {id} holds no build"),
                }));
            };
            let mut rows = vec![
                ("Build", Cell::opt(b.id.or(Some(id)))),
                ("Status", Cell::status(b.status.as_ref())),
                ("Region", Cell::opt(b.region.as_ref())),
                ("Context hash", Cell::opt(b.context_hash.as_ref())),
                ("Dockerfile", Cell::opt(b.dockerfile_path.as_ref())),
                ("Created", Cell::opt(b.created_at.as_ref())),
                ("Completed", Cell::opt(b.completed_at.as_ref())),
                ("Duration (s)", Cell::opt(b.build_duration_seconds)),
                ("Image", Cell::opt(b.image_uri.as_ref())),
            ];
            if let Some(message) = &b.error_message {
                rows.push((
                    "Error",
                    Cell::styled(message.clone(), Some(crate::output::Style::Red)),
                ));
            }
            out.fields(&rows)
        }
        BuildCommand::Logs { id, follow, limit } => {
            let id = build_id(&id)?;
            let client = ctx.client(Key::Private)?;
            if follow {
                return tokio::select! {
                    result = follow_build_logs(&client, id, ctx) => result,
                    () = ctrl_c() => Ok(()),
                };
            }
            // As many lines as asked, else as many as the API gives (its
            // default is 500).
            let answer = client
                .get_build_logs()
                .build_id(id)
                .limit(limit.unwrap_or(MAX_LOG_LINES))
                .send()
                .await?;
            if out.is_json() {
                out.json_listing(&answer, "logs")?;
            } else {
                if answer.logs.is_empty() {
                    out.note("No output yet.");
                }
                for line in &answer.logs {
                    out.line(line)?;
                }
            }
            if answer.next_token.is_some() {
                out.warn(&lines_left_out(&client, id, answer.logs.len(), limit).await);
            }
            Ok(())
        }
    }
}

/// The most lines one `getBuildLogs` answer holds (the API's `limit` cap).
const MAX_LOG_LINES: u32 = 10_000;

/// Says that a build's log goes on past the `shown` lines printed, which
/// the API cannot return (it has no parameter to page on), and where the
/// whole log is.
async fn lines_left_out(
    client: &pipecat_api::Client,
    id: Uuid,
    shown: usize,
    limit: Option<u32>,
) -> String {
    let url = match client.get_build().build_id(id).send().await {
        Ok(answer) => answer.build.and_then(|b| b.logs_url),
        Err(_) => None,
    };
    // The service's text, kept off the terminal's control sequences.
    let url = url
        .map(|u| u.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|u| !u.is_empty());
    let whole = match url {
        Some(url) => format!("the whole log is at {url}"),
        None => "see the whole log in the Pipecat Cloud dashboard".to_string(),
    };
    match limit {
        Some(limit) if limit < MAX_LOG_LINES => format!(
            "build {id}'s log has more lines than the {shown} shown (--limit {limit}): \
             raise --limit (up to {MAX_LOG_LINES}), or {whole}"
        ),
        _ => format!(
            "build {id}'s log has more lines than the {shown} shown: the API returns at most \
             {MAX_LOG_LINES} lines of a build's log and cannot page past them; lines after \
             line {shown} were left out; {whole}"
        ),
    }
}

/// `build logs --follow`: the library's follow of the build's log
/// ([`pipecat_api::Client::follow_build_logs`]), rendered: each line once,
/// a warning when the log was cut (saying where the whole log is), then `Ok`
/// on success and the build's typed failure when it failed or timed out.
/// The caller stops it on Ctrl-C.
async fn follow_build_logs(
    client: &pipecat_api::Client,
    id: Uuid,
    ctx: &Ctx,
) -> Result<(), Failure> {
    // A follow watches until the build ends (the service times builds
    // out), so its deadline is far unless PIPECAT_WAIT_TIMEOUT says
    // otherwise; the pauses are short for a terminal.
    let wait = ctx.wait(
        pipecat_api::Wait::default()
            .timeout(std::time::Duration::from_secs(6 * 3600))
            .polling(
                std::time::Duration::from_millis(200),
                std::time::Duration::from_secs(2),
            ),
    )?;
    let out = &ctx.out;
    let mut log = std::pin::pin!(client.follow_build_logs(id, wait));
    while let Some(event) = log.next().await {
        match event? {
            BuildLogEvent::Line(line) if out.is_json() => out.json_line(&json!({ "log": line }))?,
            BuildLogEvent::Line(line) => out.line(&line)?,
            BuildLogEvent::Cut { shown } => {
                out.warn(&lines_left_out(client, id, shown, None).await);
            }
            _ => {}
        }
    }
    Ok(())
}
