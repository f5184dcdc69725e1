//! `secrets …`: secret sets and image pull secrets. Values are sent, never shown.

use clap::Subcommand;
use pipecat_api::Wait;
use pipecat_api::types::UpsertSecretSetBody;

use crate::app::{Ctx, Failure, Key, key_values};
use crate::confirm::confirm;
use crate::output::{Cell, Table};

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List secret sets (name, type, region, status), or one set's keys. Values are never shown.
    #[command(after_help = "Example: pipecat-cloud secrets list my-secrets")]
    List {
        /// Show this set's keys instead of every set.
        name: Option<String>,
    },
    /// Create or update a secret set from KEY=VALUE pairs, then wait until it is ready.
    #[command(
        after_help = "Example: pipecat-cloud secrets set my-secrets OPENAI_API_KEY=sk-... DEBUG=1"
    )]
    Set {
        /// The set's name.
        name: String,
        /// Secrets to add or replace; keys not given stay in the set.
        #[arg(value_name = "KEY=VALUE", required = true)]
        pairs: Vec<String>,
        /// The region of a new set (default: the organization's default region).
        #[arg(long)]
        region: Option<String>,
    },
    /// Remove one key from a secret set.
    #[command(after_help = "Example: pipecat-cloud secrets unset my-secrets DEBUG")]
    Unset {
        /// The set's name.
        name: String,
        /// The key to remove.
        key: String,
    },
    /// Delete a whole secret set (asks first; --yes skips the question).
    #[command(after_help = "Example: pipecat-cloud secrets delete my-secrets --yes")]
    Delete {
        /// The set's name.
        name: String,
    },
    /// Store registry credentials for pulling a private agent image.
    #[command(
        after_help = "Example: pipecat-cloud secrets image-pull-secret my-registry https://index.docker.io/v1/ alice:dckr_pat_..."
    )]
    ImagePullSecret {
        /// The secret's name.
        name: String,
        /// The registry, e.g. `https://index.docker.io/v1/`.
        // Its own id: `host` is the global `--host` (the API host).
        #[arg(id = "registry_host", value_name = "HOST")]
        host: String,
        /// `user:token`.
        credentials: String,
        /// The region of a new secret (default: the organization's default region).
        #[arg(long)]
        region: Option<String>,
    },
}

pub async fn run(command: SecretsCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        SecretsCommand::List { name: None } => {
            let list = ctx.client(Key::Private)?.list_secret_sets().send().await?;
            if out.is_json() {
                return out.json_listing(&list, "sets");
            }
            let mut table = Table::new(&["NAME", "TYPE", "REGION", "STATUS"]);
            for set in &list.sets {
                table.row(vec![
                    Cell::opt(set.name.as_ref()),
                    Cell::opt(set.type_.as_ref()),
                    Cell::opt(set.region.as_ref()),
                    Cell::status(set.status.as_ref()),
                ]);
            }
            if table.is_empty() {
                out.note("No secret sets.");
                return Ok(());
            }
            out.table(&table)
        }
        SecretsCommand::List { name: Some(name) } => {
            let client = ctx.client(Key::Private)?;
            let set = client
                .get_secret_set()
                .set_name(name.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json_listing(&set, "secrets");
            }
            out.note(&format!(
                "Secret set {name}: region {}, status {}",
                set.region.as_deref().unwrap_or("-"),
                set.status
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or("-".into())
            ));
            if let Some(message) = &set.error_message {
                out.warn(message);
            }
            let mut table = Table::new(&["KEY"]);
            for key in &set.secrets {
                table.row(vec![Cell::opt(key.field_name.as_ref())]);
            }
            out.table(&table)
        }
        SecretsCommand::Set {
            name,
            pairs,
            region,
        } => {
            let pairs = key_values(&pairs, "pair")?;
            let mut body = UpsertSecretSetBody::secrets(pairs)?;
            if let Some(region) = region {
                body = body.in_region(region);
            }
            let client = ctx.client(Key::Private)?;
            client
                .upsert_secret_set()
                .set_name(name.as_str())
                .body(body)
                .send()
                .await?;
            out.note(&format!(
                "Stored; waiting for secret set {name} to be ready…"
            ));
            let set = client.wait_secret_set_ready(&name, Wait::default()).await?;
            if out.is_json() {
                return out.json(&set);
            }
            out.line(&format!(
                "Secret set {name} is ready (region {}, {} keys).",
                set.region.as_deref().unwrap_or("-"),
                set.secrets.len()
            ))
        }
        SecretsCommand::Unset { name, key } => {
            let client = ctx.client(Key::Private)?;
            let answer = client
                .delete_secret_from_set()
                .set_name(name.as_str())
                .secret_key(key.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line(&format!("Removed {key} from secret set {name}."))
        }
        SecretsCommand::Delete { name } => {
            let client = ctx.client(Key::Private)?;
            confirm(&format!("delete secret set {name}"), ctx.yes)?;
            let answer = client
                .delete_secret_set()
                .set_name(name.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line(&format!("Deleted secret set {name}."))
        }
        SecretsCommand::ImagePullSecret {
            name,
            host,
            credentials,
            region,
        } => {
            let Some((user, token)) = credentials.split_once(':') else {
                return Err(Failure::Usage(
                    "CREDENTIALS must be user:token (no `:` found)".into(),
                ));
            };
            let mut body = UpsertSecretSetBody::image_pull_secret(host.as_str(), user, token)?;
            if let Some(region) = region {
                body = body.in_region(region);
            }
            let answer = ctx
                .client(Key::Private)?
                .upsert_secret_set()
                .set_name(name.as_str())
                .body(body)
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line(&format!("Stored image pull secret {name} for {host}."))
        }
    }
}
