//! Showing a deploy plan (the library's `DeployPlan`) as text, like
//! `terraform plan`: one line per field, live value then new value.

use pipecat_api::deploy_plan::{DeployPlan, PlanAction};

use crate::output::sanitize_line;

/// The plan as lines of text: a heading, then `+ field: value` for a create
/// or `~ field: live -> new` for an update. Values from the service have
/// control characters replaced, so they cannot act on a terminal.
pub fn render(plan: &DeployPlan) -> Vec<String> {
    let name = clean(&plan.agent_name);
    let region = match &plan.region {
        Some(region) => clean(region),
        None => "the organization's default region".to_string(),
    };
    let mut lines = Vec::new();
    match plan.action {
        PlanAction::Create => {
            lines.push(format!("Plan: create agent {name} in {region} with:"));
            for change in &plan.changes {
                lines.push(format!(
                    "  + {}: {}",
                    change.field,
                    clean(&change.new.to_string())
                ));
            }
        }
        PlanAction::NoChange => {
            lines.push(format!(
                "Plan: no changes; agent {name} already runs this configuration."
            ));
        }
        _ => {
            let count = plan.changes.len();
            let noun = if count == 1 { "change" } else { "changes" };
            lines.push(format!(
                "Plan: update agent {name} ({region}), {count} {noun}:"
            ));
            let width = plan
                .changes
                .iter()
                .map(|c| c.field.chars().count())
                .max()
                .unwrap_or(0);
            for change in &plan.changes {
                let pad = " ".repeat(width.saturating_sub(change.field.chars().count()));
                lines.push(format!(
                    "  ~ {}:{pad} {} -> {}",
                    change.field,
                    clean(&change.live.to_string()),
                    clean(&change.new.to_string())
                ));
            }
        }
    }
    lines
}

/// `text` from the service, shown on one line: control characters escaped
/// ([`sanitize_line`]), so it cannot act on a terminal or start a line.
fn clean(text: &str) -> String {
    sanitize_line(text).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_update_shows_live_and_new_values_aligned_and_escapes_neutralized() {
        let plan: DeployPlan = serde_json::from_value(serde_json::json!({
            "agentName": "bot", "action": "update", "region": "us-west",
            "liveDeploymentId": "d1",
            "changes": [
                {"field": "image", "apiField": "image",
                 "live": {"state": "set", "value": "me/bot:1\u{1b}]0;x\u{7}"},
                 "new": {"state": "set", "value": "me/bot:2"}},
                {"field": "scaling.min_agents", "apiField": "autoScaling.minAgents",
                 "live": {"state": "set", "value": 2}, "new": {"state": "set", "value": 0}}
            ]
        }))
        .unwrap();
        assert_eq!(
            render(&plan),
            [
                "Plan: update agent bot (us-west), 2 changes:",
                "  ~ image:              me/bot:1\\x1b]0;x\\x07 -> me/bot:2",
                "  ~ scaling.min_agents: 2 -> 0",
            ]
        );
    }
}
