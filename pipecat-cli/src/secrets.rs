//! `secrets …`: secret sets and image pull secrets. Values are sent, never shown.

use std::path::PathBuf;

use clap::Subcommand;
use pipecat_api::types::{
    RegularSecretsRequestSecretsItemSecretKey, UpsertSecretSetBody, UpsertSecretSetSetName,
};
use pipecat_api::{Error, SecretSetUpdate, Wait};

use crate::arguments::{SecretArg, key_values};
use crate::confirm::confirm;
use crate::context::{Ctx, Key};
use crate::dashboard;
use crate::failure::Failure;
use crate::output::{Cell, Table, count};
use crate::progress::{Progress, interruptible};

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List secret sets (name, type, region, status), or one set's keys. Values are never shown.
    #[command(after_help = "Example: pipecat-cloud secrets list my-secrets")]
    List {
        /// Show this set's keys instead of every set.
        name: Option<String>,
        /// Accepted for the official CLI's grammar, where it changes
        /// nothing either (its default is already on).
        #[arg(long, short = 's')]
        sets: bool,
        /// Only the sets in this region.
        #[arg(long, short = 'r')]
        region: Option<String>,
    },
    /// Create or update a secret set from KEY=VALUE pairs and/or a .env file
    /// (one request), then wait until it is ready. Keys not given stay in the set.
    #[command(
        after_help = "Example: pipecat-cloud secrets set my-secrets --file .env DEBUG=1\n\
                      A pair given on the command line replaces the same key from the file.\n\
                      Errors name the file, the line and the key, never a value."
    )]
    Set {
        /// The set's name.
        name: String,
        /// Secrets to add or replace.
        #[arg(value_name = "KEY=VALUE", required_unless_present = "file")]
        pairs: Vec<SecretArg>,
        /// A .env file of secrets (python-dotenv syntax; keys as the API allows; no `$NAME` substitution).
        #[arg(long, short = 'f', value_name = "PATH")]
        file: Option<PathBuf>,
        /// The region of a new set (default: the organization's default region).
        #[arg(long, short = 'r')]
        region: Option<String>,
        /// Skip confirmations (the official CLI's; this command does not ask).
        #[arg(long, short = 's')]
        skip: bool,
    },
    /// Remove keys from a secret set, keeping the others.
    #[command(after_help = "Example: pipecat-cloud secrets unset my-secrets DEBUG OLD_KEY")]
    Unset {
        /// The set's name.
        name: String,
        /// The keys to remove (keys the set does not hold are skipped).
        #[arg(required = true)]
        keys: Vec<String>,
        /// Skip confirmations (the official CLI's; this command does not ask).
        #[arg(long, short = 's')]
        skip: bool,
    },
    /// Delete a whole secret set (asks first; --skip or --yes skips the question).
    #[command(after_help = "Example: pipecat-cloud secrets delete my-secrets --skip")]
    Delete {
        /// The set's name.
        name: String,
        /// Do not ask first (the official CLI's name for --yes here).
        #[arg(long, short = 's')]
        skip: bool,
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
        credentials: SecretArg,
        /// The region of a new secret (default: the organization's default region).
        #[arg(long, short = 'r')]
        region: Option<String>,
        /// Base64-encode the credentials: always done (accepted for the official CLI's grammar).
        #[arg(long, short = 'e')]
        encode: bool,
        /// Skip confirmations (the official CLI's; this command does not ask).
        #[arg(long, short = 's')]
        skip: bool,
    },
    #[command(flatten)]
    DashboardOnly(dashboard::SecretsOnly),
}

/// What `command` is about, for naming it when the service answers 404.
pub fn subject(command: &SecretsCommand) -> Option<String> {
    match command {
        SecretsCommand::List { name: None, .. } | SecretsCommand::DashboardOnly(_) => None,
        SecretsCommand::List {
            name: Some(name), ..
        }
        | SecretsCommand::Set { name, .. }
        | SecretsCommand::Unset { name, .. }
        | SecretsCommand::Delete { name, .. }
        | SecretsCommand::ImagePullSecret { name, .. } => Some(format!("secret set {name:?}")),
    }
}

/// Refuses a set name the API would refuse, before any progress is shown.
fn check_set_name(name: &str) -> Result<(), Failure> {
    UpsertSecretSetSetName::try_from(name).map_err(|e| Error::invalid_parameter("set_name", e))?;
    Ok(())
}

pub async fn run(command: SecretsCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        SecretsCommand::DashboardOnly(c) => Err(c.refusal()),
        SecretsCommand::List {
            name: None, region, ..
        } => {
            let mut list = ctx.client(Key::Private)?.list_secret_sets().send().await?;
            // The REST list takes no region: filtered here, as the official CLI's filter.
            if let Some(region) = region {
                list.sets
                    .retain(|set| set.region.as_deref() == Some(region.as_str()));
            }
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
        SecretsCommand::List {
            name: Some(name), ..
        } => {
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
            file,
            region,
            skip: _,
        } => {
            let pairs: Vec<String> = pairs.iter().map(|p| p.expose().to_string()).collect();
            let pairs = key_values(&pairs, "pair")?;
            // Read and checked once, before anything is shown or sent; then
            // the lines the official CLI would read differently.
            let mut update = SecretSetUpdate::new(name.as_str())
                .pairs(pairs)
                .wait(ctx.wait(Wait::default())?);
            if let Some(path) = &file {
                update = update.env_file(path);
            }
            if let Some(region) = region {
                update = update.region(region);
            }
            let update = update.check()?;
            for warning in update.warnings() {
                out.warn(&warning.to_string());
            }
            let client = ctx.client(Key::Private)?;
            let progress = Progress::new();
            progress.phase(&format!(
                "storing secret set {name} and waiting until it is ready"
            ));
            for key in update.replaced() {
                progress.println(&format!(
                    "note: {key} from the command line replaces the one in the file"
                ));
            }
            let left = format!("see `pipecat-cloud secrets list {name}`");
            let set = interruptible(client.put_secret_set(update), &progress, &left).await?;
            if out.is_json() {
                return out.json_listing(&set, "secrets");
            }
            out.line(&format!(
                "Secret set {name} is ready (region {}, {}).",
                set.region.as_deref().unwrap_or("-"),
                count(set.secrets.len(), "key")
            ))
        }
        SecretsCommand::Unset { name, keys, .. } => {
            check_set_name(&name)?;
            for (i, key) in keys.iter().enumerate() {
                RegularSecretsRequestSecretsItemSecretKey::try_from(key.as_str())
                    .map_err(|e| Error::invalid_parameter(&format!("key {}", i + 1), e))?;
            }
            let client = ctx.client(Key::Private)?;
            // Read first, to say which keys were not there to remove.
            let before = client
                .get_secret_set()
                .set_name(name.as_str())
                .send()
                .await?;
            let absent: Vec<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| {
                    !before
                        .secrets
                        .iter()
                        .any(|s| s.field_name.as_deref() == Some(*k))
                })
                .collect();
            for key in &absent {
                out.warn(&format!(
                    "{key} was not in secret set {name}; nothing to remove"
                ));
            }
            let progress = Progress::new();
            progress.phase(&format!(
                "removing {} from secret set {name}",
                count(keys.len().saturating_sub(absent.len()), "key")
            ));
            let job = client.remove_secrets(&name, &keys, ctx.wait(Wait::default())?);
            let set = interruptible(
                job,
                &progress,
                &format!("see `pipecat-cloud secrets list {name}`"),
            )
            .await?;
            if out.is_json() {
                return out.json_listing(&set, "secrets");
            }
            let removed: Vec<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| !absent.contains(k))
                .collect();
            let left = count(set.secrets.len(), "key");
            if removed.is_empty() {
                out.line(&format!(
                    "Nothing removed from secret set {name} ({left} left)."
                ))
            } else {
                out.line(&format!(
                    "Removed {} from secret set {name} ({left} left).",
                    removed.join(", ")
                ))
            }
        }
        SecretsCommand::Delete { name, skip } => {
            let client = ctx.client(Key::Private)?;
            confirm(&format!("delete secret set {name}"), ctx.yes || skip)?;
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
            ..
        } => {
            let Some((user, token)) = credentials.expose().split_once(':') else {
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
