//! `build …`: cloud builds (listing, status, output).

use clap::Subcommand;
use futures_util::{StreamExt as _, TryStreamExt as _};
use pipecat_api::uuid::Uuid;

use crate::app::{Ctx, Failure, Key};
use crate::output::{Cell, Table};

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// List the organization's builds, newest first.
    #[command(after_help = "Example: pipecat-cloud build list --limit 5")]
    List {
        /// At most this many builds.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
    },
    /// Show one build: status, image or error.
    #[command(after_help = "Example: pipecat-cloud build status 0b8e…")]
    Status {
        /// The build's id (a UUID).
        id: String,
    },
    /// Print a build's output.
    #[command(after_help = "Example: pipecat-cloud build logs 0b8e…")]
    Logs {
        /// The build's id (a UUID).
        id: String,
    },
}

/// A build id, checked here so that a typo is a usage error naming the argument.
fn build_id(id: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(id.trim())
        .map_err(|e| Failure::Usage(format!("ID {id:?} is not a build id (a UUID): {e}")))
}

pub async fn run(command: BuildCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        BuildCommand::List { limit } => {
            let client = ctx.client(Key::Private)?;
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let builds: Vec<_> = client
                .list_builds()
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
        BuildCommand::Logs { id } => {
            let id = build_id(&id)?;
            let answer = ctx
                .client(Key::Private)?
                .get_build_logs()
                .build_id(id)
                .send()
                .await?;
            if out.is_json() {
                return out.json_listing(&answer, "logs");
            }
            if answer.logs.is_empty() {
                out.note("No output yet.");
            }
            for line in &answer.logs {
                out.line(line)?;
            }
            Ok(())
        }
    }
}
