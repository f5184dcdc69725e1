//! `regions …` and `properties …`: the organization's regions and settings.

use clap::Subcommand;
use pipecat_api::types::UpdatePropertiesBody;

use crate::arguments::key_values;
use crate::context::{Ctx, Key};
use crate::dashboard;
use crate::failure::Failure;
use crate::output::{Cell, Table};

#[derive(Debug, Subcommand)]
pub enum RegionsCommand {
    /// List the regions agents and secret sets can live in.
    #[command(after_help = "Example: pipecat-cloud regions list")]
    List,
    #[command(flatten)]
    DashboardOnly(dashboard::RegionsOnly),
}

#[derive(Debug, Subcommand)]
pub enum PropertiesCommand {
    /// Show the organization's settings.
    #[command(after_help = "Example: pipecat-cloud properties get")]
    Get,
    /// Change settings (known: defaultRegion).
    #[command(after_help = "Example: pipecat-cloud properties set defaultRegion=eu-central")]
    Set {
        /// Settings to change.
        #[arg(value_name = "KEY=VALUE", required = true)]
        pairs: Vec<String>,
    },
}

pub async fn regions(command: RegionsCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        RegionsCommand::DashboardOnly(c) => Err(c.refusal()),
        RegionsCommand::List => {
            let list = ctx.client(Key::Private)?.list_regions().send().await?;
            if out.is_json() {
                return out.json_listing(&list, "regions");
            }
            let mut table = Table::new(&["CODE", "NAME"]);
            for region in &list.regions {
                table.row(vec![
                    Cell::new(region.code.clone()),
                    Cell::opt(region.display_name.as_ref()),
                ]);
            }
            out.table(&table)
        }
    }
}

pub async fn properties(command: PropertiesCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        PropertiesCommand::Get => {
            let answer = ctx.client(Key::Private)?.get_properties().send().await?;
            if out.is_json() {
                return out.json(&answer);
            }
            // Through JSON, so that every setting the answer has is shown by
            // its API name.
            let value = serde_json::to_value(&answer.properties)
                .map_err(|e| Failure::Internal(format!("cannot read the settings: {e}")))?;
            let mut table = Table::new(&["SETTING", "VALUE"]);
            if let serde_json::Value::Object(map) = value {
                for (key, value) in map {
                    let text = match value {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => "-".into(),
                        other => other.to_string(),
                    };
                    table.row(vec![Cell::new(key), Cell::new(text)]);
                }
            }
            out.table(&table)
        }
        PropertiesCommand::Set { pairs } => {
            let mut body = UpdatePropertiesBody::builder();
            for (key, value) in key_values(&pairs, "setting")? {
                match key.as_str() {
                    "defaultRegion" | "default-region" | "default_region" => {
                        body = body.default_region(value);
                    }
                    other => {
                        return Err(Failure::Usage(format!(
                            "unknown setting {other}: the settings that can be changed are: defaultRegion"
                        )));
                    }
                }
            }
            let body: UpdatePropertiesBody = body
                .try_into()
                .map_err(|e| Failure::Usage(format!("invalid settings: {e}")))?;
            let answer = ctx
                .client(Key::Private)?
                .update_properties()
                .body(body)
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line("Settings updated.")
        }
    }
}
