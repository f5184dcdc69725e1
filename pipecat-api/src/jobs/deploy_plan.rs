//! What a deploy of a [`DeployConfig`] would change, field by field, before
//! anything is sent: the plan a CLI shows (like `terraform plan`) and asks
//! about.
//!
//! A plan is computed from the request the config makes (exactly the body
//! [`Client::deploy`] would send) and the live agent (`getService`, a
//! read-only call). For an agent that does not exist yet it is a create
//! listing every field sent. For an existing agent it lists each field
//! the update sends whose value differs from the live one, and nothing
//! else; an empty list means the deploy would change nothing, and
//! [`Client::deploy`] then sends nothing (unless forced).
//!
//! The file is the desired state: what it leaves out goes to the service's
//! default where the API can express one, as the official CLI does:
//! `scaling.min_agents` is `0` and Krisp VIVA is off. Fields the API cannot
//! reset (secret sets, profile, session limit, …) are sent only when the
//! file names them; left out, they keep their live values and are not in
//! the plan.
//!
//! The service does not report every field: `build_id`, `architecture` and
//! `websocket_auth` cannot be read back, so when the update sends them they
//! are listed with a live value of [`PlanValue::NotReported`], counted as a
//! change (a plan never hides a change it cannot rule out).
//!
//! Values are the API's (names of secret sets, never their contents), so a
//! plan can be shown and logged.
//!
//! ```no_run
//! use pipecat_api::deploy_config::DeployConfig;
//!
//! # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
//! let config = DeployConfig::from_file("pcc-deploy.toml")?;
//! let plan = client.plan_deploy(&config).await?;
//! for change in &plan.changes {
//!     println!("{}: {} -> {}", change.field, change.live, change.new);
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jobs::deploy_config::DeployConfig;
use crate::types::ServiceDetailsResponse;
use crate::{Client, Error};

/// What a deploy would do to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PlanAction {
    /// The agent does not exist: it would be created.
    Create,
    /// The agent exists and at least one field would change.
    Update,
    /// The agent exists and nothing would change: nothing is sent (unless
    /// a redeploy is forced).
    NoChange,
}

impl fmt::Display for PlanAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlanAction::Create => "create",
            PlanAction::Update => "update",
            PlanAction::NoChange => "no change",
        })
    }
}

/// One side of a change: a value, none, or a value that cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PlanValue {
    /// Not set (for Krisp VIVA: off; for an image: the agent runs a build).
    Unset,
    /// A value, as the API spells it.
    Set(Value),
    /// The service does not report this field, so the live value is
    /// unknown.
    NotReported,
    /// The id of the cloud build this deploy runs first (not known until
    /// the build is done).
    PendingBuild,
}

impl fmt::Display for PlanValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanValue::Unset => f.write_str("(none)"),
            PlanValue::Set(Value::String(s)) => f.write_str(s),
            PlanValue::Set(v) => write!(f, "{v}"),
            PlanValue::NotReported => f.write_str("(not reported by the service)"),
            PlanValue::PendingBuild => f.write_str("(the id of the cloud build made first)"),
        }
    }
}

/// One field a deploy would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FieldChange {
    /// The field as `pcc-deploy.toml` names it, e.g. `scaling.min_agents`.
    pub field: String,
    /// The field in the API's request body, e.g. `autoScaling.minAgents`.
    pub api_field: String,
    /// Its value on the live agent ([`PlanValue::Unset`] for a new agent).
    pub live: PlanValue,
    /// The value the deploy sends.
    pub new: PlanValue,
}

/// What a deploy of a config would change on the live agent. Serializable,
/// so a CLI can print it as JSON; it holds no secret values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeployPlan {
    /// The agent.
    pub agent_name: String,
    /// Create, update, or nothing to do.
    pub action: PlanAction,
    /// The agent's region: the live one, or for a create the one the config
    /// names (none: the organization's default region).
    pub region: Option<String>,
    /// The live agent's current deployment, when it exists.
    pub live_deployment_id: Option<String>,
    /// Each field that changes, in a fixed order (every field sent, for a
    /// create).
    pub changes: Vec<FieldChange>,
}

impl DeployPlan {
    /// True when the deploy would change nothing on an existing agent.
    pub fn is_no_change(&self) -> bool {
        self.action == PlanAction::NoChange
    }

    /// The plan for deploying `config` over `live` (the agent as
    /// `getService` answered it; `None` when it does not exist). Checks
    /// the config's rules first; an agent in another region than the
    /// config names is refused (a region cannot change). Sends nothing.
    pub fn compute(
        config: &DeployConfig,
        live: Option<&ServiceDetailsResponse>,
    ) -> Result<DeployPlan, Error> {
        config.validate()?;
        let name = config.get_agent_name().to_string();
        // A `[build]` source with no image or build id yet: the build
        // supplies `buildId`.
        let pending_build = config.get_image().is_none()
            && config.get_build_id().is_none()
            && config.get_build().is_some();
        let Some(live) = live else {
            let body = config.create_request()?;
            let body = to_json(&body)?;
            let mut changes: Vec<FieldChange> = FIELDS
                .iter()
                .filter_map(|f| {
                    lookup(&body, f.api).map(|new| FieldChange {
                        field: f.toml.to_string(),
                        api_field: f.api.join("."),
                        live: PlanValue::Unset,
                        new,
                    })
                })
                .collect();
            if let Some(region) = config.get_region() {
                changes.insert(0, change("region", "region", PlanValue::Unset, set(region)));
            }
            if pending_build {
                changes.insert(
                    0,
                    change(
                        "build_id",
                        "buildId",
                        PlanValue::Unset,
                        PlanValue::PendingBuild,
                    ),
                );
            }
            return Ok(DeployPlan {
                agent_name: name,
                action: PlanAction::Create,
                region: config.get_region().map(str::to_string),
                live_deployment_id: None,
                changes,
            });
        };
        check_region(config, live)?;
        let body = config.update_request(false)?;
        let body = to_json(&body)?;
        let live_json = to_json(live)?;
        let mut changes = Vec::new();
        if pending_build {
            changes.push(change(
                "build_id",
                "buildId",
                PlanValue::NotReported,
                PlanValue::PendingBuild,
            ));
        }
        for field in FIELDS {
            let Some(new) = lookup(&body, field.api) else {
                continue;
            };
            let current = (field.live)(&live_json);
            if current != new {
                changes.push(FieldChange {
                    field: field.toml.to_string(),
                    api_field: field.api.join("."),
                    live: current,
                    new,
                });
            }
        }
        Ok(DeployPlan {
            agent_name: name,
            action: if changes.is_empty() {
                PlanAction::NoChange
            } else {
                PlanAction::Update
            },
            region: live.region.clone(),
            live_deployment_id: live
                .desired_deployment_id
                .clone()
                .or_else(|| live.active_deployment_id.clone()),
            changes,
        })
    }
}

impl Client {
    /// The plan for deploying `config`: reads the agent (`getService`, the
    /// only call made; a 404 plans a create) and compares it with the
    /// request the config makes. See the [module docs](crate::jobs::deploy_plan).
    pub async fn plan_deploy(&self, config: &DeployConfig) -> Result<DeployPlan, Error> {
        config.validate()?;
        let live = self.live_agent(config.get_agent_name()).await?;
        DeployPlan::compute(config, live.as_ref())
    }

    /// The agent, or `None` when the service answers 404.
    pub(crate) async fn live_agent(
        &self,
        name: &str,
    ) -> Result<Option<ServiceDetailsResponse>, Error> {
        match self.get_service().agent_name(name).send().await {
            Ok(agent) => Ok(Some(agent)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// An agent's region cannot change: a config naming another one than the
/// live agent's is refused before anything is sent.
pub(crate) fn check_region(
    config: &DeployConfig,
    live: &ServiceDetailsResponse,
) -> Result<(), Error> {
    if let (Some(wanted), Some(actual)) = (config.get_region(), live.region.as_deref())
        && wanted != actual
    {
        let name = config.get_agent_name();
        return Err(Error::invalid_parameter(
            &config.source_name("region"),
            format_args!(
                "agent {name} is in region {actual}, the config says {wanted}; an \
                 agent's region cannot change (delete it first, or deploy under another name)"
            ),
        ));
    }
    Ok(())
}

/// A field of the request body, how the file names it, and where the live
/// agent reports it.
struct Field {
    toml: &'static str,
    api: &'static [&'static str],
    live: fn(&Value) -> PlanValue,
}

/// Every field a create or update sends, in the order a plan lists them.
const FIELDS: &[Field] = &[
    Field {
        toml: "image",
        api: &["image"],
        live: |a| spec_value(a, "/image"),
    },
    Field {
        toml: "build_id",
        api: &["buildId"],
        live: |_| PlanValue::NotReported,
    },
    Field {
        toml: "image_credentials",
        api: &["imagePullSecretSet"],
        live: |a| spec_value(a, "/imagePullSecretName"),
    },
    Field {
        toml: "secret_set",
        api: &["secretSet"],
        live: |a| spec_value(a, "/envFromSecretNames/0"),
    },
    Field {
        toml: "agent_profile",
        api: &["agentProfile"],
        live: |a| value(a.pointer("/agentProfile")),
    },
    Field {
        toml: "resources",
        api: &["resources"],
        live: |a| spec_value(a, "/resources"),
    },
    Field {
        toml: "architecture",
        api: &["architecture"],
        live: |_| PlanValue::NotReported,
    },
    Field {
        toml: "websocket_auth",
        api: &["websocketAuth"],
        live: |_| PlanValue::NotReported,
    },
    Field {
        toml: "max_session_duration",
        api: &["maxSessionDuration"],
        live: |a| spec_value(a, "/maxSessionDurationSeconds"),
    },
    Field {
        toml: "scaling.min_agents",
        api: &["autoScaling", "minAgents"],
        live: |a| scaling(a, "minReplicas"),
    },
    Field {
        toml: "scaling.max_agents",
        api: &["autoScaling", "maxAgents"],
        live: |a| scaling(a, "maxReplicas"),
    },
    Field {
        toml: "krisp_viva.audio_filter",
        api: &["krispViva", "audioFilter"],
        live: |a| match a.get("krispViva") {
            None => PlanValue::NotReported,
            Some(krisp) => value(krisp.get("audioFilter")),
        },
    },
];

fn change(field: &str, api: &str, live: PlanValue, new: PlanValue) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        api_field: api.to_string(),
        live,
        new,
    }
}

fn set(text: &str) -> PlanValue {
    PlanValue::Set(Value::String(text.to_string()))
}

/// A reported value: null or absent is unset.
fn value(v: Option<&Value>) -> PlanValue {
    match v {
        None | Some(Value::Null) => PlanValue::Unset,
        Some(v) => PlanValue::Set(v.clone()),
    }
}

/// A value of the deployment's manifest spec; not reported when the agent
/// shows no manifest.
fn spec_value(agent: &Value, pointer: &str) -> PlanValue {
    match agent.pointer("/deployment/manifest/spec") {
        Some(spec @ Value::Object(_)) => value(spec.pointer(pointer)),
        _ => PlanValue::NotReported,
    }
}

/// A scaling bound in effect: the agent's `autoScaling`, else the
/// manifest's.
fn scaling(agent: &Value, key: &str) -> PlanValue {
    let top = agent.pointer(&format!("/autoScaling/{key}"));
    let spec = agent.pointer(&format!("/deployment/manifest/spec/autoScaling/{key}"));
    match top.or(spec) {
        Some(v) if !v.is_null() => PlanValue::Set(v.clone()),
        _ => PlanValue::NotReported,
    }
}

/// The value at `path` of a request body, when the body has it (null is a
/// value: Krisp VIVA off).
fn lookup(body: &Value, path: &[&str]) -> Option<PlanValue> {
    let mut at = body;
    for key in path {
        at = at.get(key)?;
    }
    Some(value(Some(at)))
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::invalid_parameter("body", e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    /// A live agent as the service reports it.
    fn live(min: i64, max: i64, filter: Option<&str>) -> ServiceDetailsResponse {
        serde_json::from_value(json!({
            "name": "bot", "region": "us-west", "desiredDeploymentId": "d1",
            "agentProfile": "agent-1x",
            "autoScaling": {"minReplicas": min, "maxReplicas": max},
            "krispViva": {"audioFilter": filter},
            "deployment": {"id": "d1", "manifest": {"spec": {
                "image": "me/bot:1", "envFromSecretNames": ["bot-secrets"],
                "resources": {"cpu": "500m", "memory": "1Gi"}
            }}}
        }))
        .unwrap()
    }

    fn fields(plan: &DeployPlan) -> Vec<&str> {
        plan.changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn the_same_config_plans_no_change() {
        let config = DeployConfig::new("bot")
            .image("me/bot:1")
            .secret_set("bot-secrets")
            .max_agents(5);
        let plan = DeployPlan::compute(&config, Some(&live(0, 5, None))).unwrap();
        assert_eq!(plan.action, PlanAction::NoChange, "{plan:?}");
        assert!(plan.changes.is_empty());
        assert_eq!(plan.live_deployment_id.as_deref(), Some("d1"));
    }

    #[test]
    fn a_file_without_scaling_or_krisp_plans_their_defaults() {
        let config = DeployConfig::new("bot").image("me/bot:1");
        let plan = DeployPlan::compute(&config, Some(&live(2, 5, Some("tel")))).unwrap();
        assert_eq!(plan.action, PlanAction::Update);
        assert_eq!(
            fields(&plan),
            ["scaling.min_agents", "krisp_viva.audio_filter"]
        );
        let min = &plan.changes[0];
        assert_eq!(min.api_field, "autoScaling.minAgents");
        assert_eq!(min.live, PlanValue::Set(json!(2)));
        assert_eq!(min.new, PlanValue::Set(json!(0)));
        assert_eq!(plan.changes[1].live, PlanValue::Set(json!("tel")));
        assert_eq!(plan.changes[1].new, PlanValue::Unset);
    }

    #[test]
    fn only_changed_fields_are_listed_and_unreported_ones_count_as_changes() {
        let config = DeployConfig::new("bot")
            .image("me/bot:2")
            .secret_set("bot-secrets")
            .max_agents(5)
            .max_session_duration(600)
            .architecture("arm64");
        let plan = DeployPlan::compute(&config, Some(&live(0, 5, None))).unwrap();
        assert_eq!(
            fields(&plan),
            ["image", "architecture", "max_session_duration"]
        );
        assert_eq!(plan.changes[1].live, PlanValue::NotReported);
        assert_eq!(plan.changes[2].live, PlanValue::Unset);
        assert_eq!(plan.changes[2].live.to_string(), "(none)");
        assert_eq!(plan.changes[0].to_owned().new.to_string(), "me/bot:2");
    }

    #[test]
    fn a_new_agent_plans_a_create_with_every_field_sent() {
        let config = DeployConfig::new("bot")
            .image("me/bot:1")
            .region("eu-central")
            .secret_set("bot-secrets");
        let plan = DeployPlan::compute(&config, None).unwrap();
        assert_eq!(plan.action, PlanAction::Create);
        assert_eq!(
            fields(&plan),
            [
                "region",
                "image",
                "secret_set",
                "scaling.min_agents",
                "krisp_viva.audio_filter"
            ]
        );
        assert!(plan.changes.iter().all(|c| c.live == PlanValue::Unset));
        let doc = serde_json::to_value(&plan).unwrap();
        assert_eq!(doc["action"], "create");
        assert_eq!(
            doc["changes"][1],
            json!({"field": "image", "apiField": "image",
                   "live": {"state": "unset"}, "new": {"state": "set", "value": "me/bot:1"}})
        );
        let back: DeployPlan = serde_json::from_value(doc).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn a_pending_build_and_another_region() {
        let config =
            DeployConfig::new("bot").build(crate::jobs::deploy_config::BuildSettings::new());
        let plan = DeployPlan::compute(&config, Some(&live(0, 50, None))).unwrap();
        assert_eq!(plan.changes[0].field, "build_id");
        assert_eq!(plan.changes[0].new, PlanValue::PendingBuild);
        let moved = DeployConfig::new("bot")
            .image("me/bot:1")
            .region("eu-central");
        let err = DeployPlan::compute(&moved, Some(&live(0, 50, None)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("region cannot change"), "{err}");
    }
}
