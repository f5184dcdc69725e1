//! `agent …`: agents, their sessions and logs, and starting a session.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Subcommand, ValueEnum};
use futures_util::{StreamExt as _, TryStreamExt as _};
use pipecat_api::types::{GetLogsResponseLogsItem, GetSessionsStatus, StartRequest};
use pipecat_api::{Connection, Follow};

use crate::app::{Ctx, Failure, Key};
use crate::confirm::confirm;
use crate::output::{Cell, Table};
use crate::progress::ctrl_c;

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List the organization's agents.
    #[command(after_help = "Example: pipecat-cloud agent list --output json")]
    List,
    /// Show an agent: deployment, readiness, revision health, autoscaling.
    #[command(after_help = "Example: pipecat-cloud agent status my-agent")]
    Status {
        /// The agent's name.
        name: String,
    },
    /// Delete an agent and everything deployed for it (asks first; --yes skips the question).
    #[command(after_help = "Example: pipecat-cloud agent delete my-agent --yes")]
    Delete {
        /// The agent's name.
        name: String,
    },
    /// Show an agent's latest log lines, oldest first; with --follow, keep
    /// printing new lines until Ctrl-C.
    #[command(
        after_help = "Example: pipecat-cloud agent logs my-agent --since 15m --limit 200\n\
                      Example: pipecat-cloud agent logs my-agent --follow\n\
                      With --follow, Ctrl-C ends it with exit code 0, and --output json\n\
                      prints one JSON object per line (JSON Lines) instead of one document."
    )]
    Logs {
        /// The agent's name.
        name: String,
        /// Keep printing new lines as they arrive, until Ctrl-C.
        #[arg(long, short = 'f')]
        follow: bool,
        /// How many of the latest lines to show (with --follow: to start from).
        #[arg(long, short = 'n', default_value_t = 100)]
        limit: usize,
        /// Only lines after this: a duration ago (`90s`, `15m`, `2h`, `1d`) or a Unix time in seconds.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only lines of this session.
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Only lines of this deployment.
        #[arg(long, value_name = "ID")]
        deployment: Option<String>,
    },
    /// List an agent's sessions, newest first.
    #[command(after_help = "Example: pipecat-cloud agent sessions my-agent --status active")]
    Sessions {
        /// The agent's name.
        name: String,
        /// Which sessions.
        #[arg(long, value_enum, default_value = "all")]
        status: SessionStatus,
        /// At most this many sessions.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: usize,
    },
    /// Stop a running session.
    #[command(after_help = "Example: pipecat-cloud agent stop my-agent 3f1c…")]
    Stop {
        /// The agent's name.
        name: String,
        /// The session's id (a UUID).
        session_id: String,
    },
    /// Start a session with the public key and print how to join it.
    ///
    /// Human output shows the session id and the Daily room or WebSocket URL,
    /// never a token; `--output json` gives the whole answer, tokens included,
    /// for scripts that connect.
    #[command(
        after_help = "Example: pipecat-cloud agent start my-agent --use-daily --data '{\"lang\":\"en\"}'"
    )]
    Start {
        /// The agent's name.
        name: String,
        /// A JSON object handed to the bot when it starts.
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
        /// Create a Daily room for the session (same as --transport daily).
        #[arg(long, conflicts_with = "transport")]
        use_daily: bool,
        /// How the caller reaches the bot.
        #[arg(long, value_enum, value_name = "T")]
        transport: Option<Transport>,
    },
}

/// `agent sessions --status`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SessionStatus {
    Active,
    Ended,
    All,
}

/// `agent start --transport`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Transport {
    Daily,
    Webrtc,
    Websocket,
}

/// What `command` is about, for naming it when the service answers 404.
pub fn subject(command: &AgentCommand) -> Option<String> {
    match command {
        AgentCommand::List => None,
        AgentCommand::Stop {
            name, session_id, ..
        } => Some(format!("session {session_id:?} of agent {name:?}")),
        AgentCommand::Status { name, .. }
        | AgentCommand::Delete { name, .. }
        | AgentCommand::Logs { name, .. }
        | AgentCommand::Sessions { name, .. }
        | AgentCommand::Start { name, .. } => Some(format!("agent {name:?}")),
    }
}

pub async fn run(command: AgentCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        AgentCommand::List => {
            let list = ctx.client(Key::Private)?.list_services().send().await?;
            if out.is_json() {
                return out.json_listing(&list, "services");
            }
            if list.services.is_empty() {
                out.note("No agents.");
                return Ok(());
            }
            let mut table = Table::new(&["NAME", "REGION", "ACTIVE DEPLOYMENT", "UPDATED"]);
            for agent in &list.services {
                table.row(vec![
                    Cell::opt(agent.name.as_ref()),
                    Cell::opt(agent.region.as_ref()),
                    Cell::opt(agent.active_deployment_id.as_ref()),
                    Cell::opt(agent.updated_at.as_ref()),
                ]);
            }
            out.table(&table)
        }
        AgentCommand::Status { name } => {
            let client = ctx.client(Key::Private)?;
            let agent = client
                .get_service()
                .agent_name(name.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json(&agent);
            }
            let yes_no = |b: Option<bool>| Cell::status(b.map(|b| if b { "yes" } else { "no" }));
            let image = agent
                .deployment
                .as_ref()
                .and_then(|d| d.manifest.as_ref())
                .and_then(|m| serde_json::to_value(m).ok())
                .and_then(|m| find_string(&m, "image"));
            let scaling = agent.auto_scaling.as_ref().map(|s| {
                format!(
                    "min {}, max {}",
                    s.min_replicas.map_or("-".into(), |n| n.to_string()),
                    s.max_replicas.map_or("-".into(), |n| n.to_string())
                )
            });
            let mut rows = vec![
                ("Agent", Cell::opt(agent.name.as_ref().or(Some(&name)))),
                ("Region", Cell::opt(agent.region.as_ref())),
                ("Ready", yes_no(agent.ready)),
                ("Available", yes_no(agent.available)),
                ("Deployment", Cell::opt(agent.active_deployment_id.as_ref())),
                ("Image", Cell::opt(image)),
                ("Active sessions", Cell::opt(agent.active_session_count)),
                ("Autoscaling", Cell::opt(scaling)),
            ];
            for (label, revision) in [
                ("Current revision", &agent.current_revision),
                ("Previous revision", &agent.previous_revision),
            ] {
                let Some(revision) = revision else { continue };
                rows.push((label, Cell::status(revision.phase.as_ref())));
                if let Some(health) = &revision.health {
                    let text = health.message.as_ref().or(health.reason.as_ref());
                    if let Some(text) = text {
                        rows.push(("  health", Cell::new(text.clone())));
                    }
                }
            }
            out.fields(&rows)
        }
        AgentCommand::Delete { name } => {
            let client = ctx.client(Key::Private)?;
            confirm(&format!("delete agent {name}"), ctx.yes)?;
            let answer = client
                .delete_service()
                .agent_name(name.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line(&format!("Deleted agent {name}."))
        }
        AgentCommand::Logs {
            name,
            follow,
            limit,
            since,
            session,
            deployment,
        } => {
            let since = since.map(|t| parse_since(&t)).transpose()?;
            let client = ctx.client(Key::Private)?;
            let mut request = client.get_logs().agent_name(name.as_str());
            if let Some(since) = since {
                request = request.start_time(since);
            }
            if let Some(session) = session {
                request = request.session_id(session);
            }
            if let Some(deployment) = deployment {
                request = request.deployment_id(deployment);
            }
            if follow {
                return follow_logs(request, limit, ctx).await;
            }
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let mut logs: Vec<_> = request
                .into_stream_with_page_size(page)
                .take(limit)
                .try_collect()
                .await?;
            // Newest first from the API; shown (and given) oldest first.
            logs.reverse();
            if out.is_json() {
                return out.json(&serde_json::json!({ "logs": logs }));
            }
            for line in &logs {
                print_log_line(line, ctx)?;
            }
            Ok(())
        }
        AgentCommand::Sessions {
            name,
            status,
            limit,
        } => {
            let status = match status {
                SessionStatus::Active => GetSessionsStatus::Active,
                SessionStatus::Ended => GetSessionsStatus::Ended,
                SessionStatus::All => GetSessionsStatus::All,
            };
            let client = ctx.client(Key::Private)?;
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let sessions: Vec<_> = client
                .get_sessions()
                .agent_name(name.as_str())
                .status(status)
                .into_stream_with_page_size(page)
                .take(limit)
                .try_collect()
                .await?;
            if out.is_json() {
                return out.json(&serde_json::json!({ "sessions": sessions }));
            }
            if sessions.is_empty() {
                out.note("No sessions.");
                return Ok(());
            }
            let mut table = Table::new(&["SESSION", "STATE", "CREATED", "ENDED", "OUTCOME"]);
            for s in &sessions {
                let state = if s.ended_at.is_some() {
                    "ended"
                } else {
                    "active"
                };
                table.row(vec![
                    Cell::opt(s.session_id.as_ref()),
                    Cell::status(Some(state)),
                    Cell::opt(s.created_at.as_ref()),
                    Cell::opt(s.ended_at.as_ref()),
                    Cell::opt(s.completion_status.as_ref()),
                ]);
            }
            out.table(&table)
        }
        AgentCommand::Stop { name, session_id } => {
            let answer = ctx
                .client(Key::Private)?
                .stop_session()
                .agent_name(name.as_str())
                .session_id(session_id.as_str())
                .send()
                .await?;
            if out.is_json() {
                return out.json(&answer);
            }
            out.line(&format!("Stopped session {session_id} of agent {name}."))
        }
        AgentCommand::Start {
            name,
            data,
            use_daily,
            transport,
        } => {
            let transport = if use_daily {
                Some(Transport::Daily)
            } else {
                transport
            };
            let mut request = match transport {
                Some(Transport::Daily) => StartRequest::daily(),
                Some(Transport::Webrtc) => StartRequest::webrtc(),
                Some(Transport::Websocket) => StartRequest::websocket(),
                None => StartRequest::builder()
                    .try_into()
                    .map_err(|e| Failure::Internal(format!("cannot build the request: {e}")))?,
            };
            if let Some(data) = data {
                let value: serde_json::Value = serde_json::from_str(&data)
                    .map_err(|e| Failure::Usage(format!("--data is not JSON: {e}")))?;
                request = request.with_body(value)?;
            }
            let client = ctx.client(Key::Public)?;
            let started = client
                .start_service()
                .agent_name(name.as_str())
                .body(request)
                .send()
                .await?;
            if out.is_json() {
                return out.json(&started);
            }
            out.line(&format!(
                "Started session {} of agent {name}.",
                started.session_id.as_deref().unwrap_or("(no id given)")
            ))?;
            match started.connection() {
                Connection::Daily { room, token } => {
                    // On a terminal, the link to click, token included, as
                    // the official CLI shows it; piped or in CI the token
                    // would land in a log, so only --output json gives it.
                    match token {
                        Some(token) if out.shows_tokens() => {
                            out.line("Join your session by visiting the link below:")?;
                            out.link_line(
                                "",
                                &crate::output::join_url(room, token.expose_secret()),
                            )?;
                        }
                        Some(_) => {
                            out.line(&format!("Join the Daily room: {room}"))?;
                            out.note("A meeting token was issued; --output json shows it.");
                        }
                        None => out.line(&format!("Join the Daily room: {room}"))?,
                    }
                }
                Connection::WebSocket { url, .. } => {
                    out.line(&format!("Connect a WebSocket to: {url}"))?;
                    out.note(
                        "Its single-use token (valid 5 minutes) is not shown; --output json gives it.",
                    );
                }
                Connection::WebRtc { .. } => {
                    out.line("Connect over WebRTC; --output json gives the ICE servers.")?;
                }
                _ => {
                    out.line("Talk to the bot through the session proxy.")?;
                }
            }
            Ok(())
        }
    }
}

/// One log line: timestamp and text (sanitized by the renderer).
fn print_log_line(line: &GetLogsResponseLogsItem, ctx: &Ctx) -> Result<(), Failure> {
    ctx.out
        .log_line(line.timestamp.as_deref(), line.log.as_deref())
}

/// `agent logs --follow`: the last `limit` lines, then new ones as they
/// come, until Ctrl-C (exit 0: it is the way to end a follow) or an error.
async fn follow_logs(
    request: pipecat_api::builder::GetLogs<'_>,
    limit: usize,
    ctx: &Ctx,
) -> Result<(), Failure> {
    let out = &ctx.out;
    let options = Follow::new().tail(u64::try_from(limit).unwrap_or(u64::MAX));
    let mut lines = std::pin::pin!(request.follow_with(options));
    loop {
        let next = tokio::select! {
            next = lines.try_next() => next?,
            () = ctrl_c() => return Ok(()),
        };
        let Some(line) = next else { return Ok(()) };
        if out.is_json() {
            out.json_line(&line)?;
        } else {
            print_log_line(&line, ctx)?;
        }
    }
}

/// The first string value named `key` anywhere in `value`.
fn find_string(value: &serde_json::Value, key: &str) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => map
            .get(key)
            .and_then(|v| v.as_str().map(str::to_string))
            .or_else(|| map.values().find_map(|v| find_string(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_string(v, key)),
        _ => None,
    }
}

/// `--since`: a duration ago (`90s`, `15m`, `2h`, `1d`) or a Unix time in seconds.
fn parse_since(text: &str) -> Result<i64, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "--since {text:?}: give a duration such as 90s, 15m, 2h or 1d, or a Unix time in seconds"
        ))
    };
    let text = text.trim();
    if let Ok(unix) = text.parse::<i64>() {
        return Ok(unix);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(now.saturating_sub(number.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn since_takes_durations_and_unix_times() {
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let t = parse_since("15m").unwrap();
        assert!((now - 900 - t).abs() <= 2, "{t}");
        assert!((now - 2 * 86_400 - parse_since("2d").unwrap()).abs() <= 2);
        for bad in ["", "m", "15x", "1.5h", "-"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
