//! `agent …`: agents, their sessions and logs, and starting a session.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Subcommand, ValueEnum};
use futures_util::{StreamExt as _, TryStreamExt as _};
use pipecat_api::deploy_config::DEPLOY_CONFIG_FILE;
use pipecat_api::types::{GetLogsResponseLogsItem, GetSessionsStatus, StartRequest};
use pipecat_api::{Connection, Follow};

use crate::arguments::SecretArg;
use crate::confirm::confirm;
use crate::context::{Ctx, Key};
use crate::dashboard;
use crate::failure::Failure;
use crate::output::{Cell, Table};
use crate::progress::ctrl_c;

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List the organization's agents.
    #[command(after_help = "Example: pipecat-cloud agent list --output json")]
    List {
        /// Only the agents in this region.
        #[arg(long, short = 'r')]
        region: Option<String>,
    },
    /// Show an agent: deployment, readiness, revision health, autoscaling.
    #[command(after_help = "Example: pipecat-cloud agent status my-agent")]
    Status {
        /// The agent's name.
        name: String,
    },
    /// Delete an agent and everything deployed for it (asks first; --force or --yes skips the question).
    #[command(after_help = "Example: pipecat-cloud agent delete my-agent --force")]
    Delete {
        /// The agent's name.
        name: String,
        /// Do not ask first (the official CLI's name for --yes here).
        #[arg(long, short = 'f')]
        force: bool,
    },
    /// Show an agent's latest log lines, oldest first; with --follow, keep
    /// printing new lines until Ctrl-C.
    #[command(
        after_help = "Example: pipecat-cloud agent logs my-agent --since 15m --limit 200\n\
                      Example: pipecat-cloud agent logs my-agent -l ERROR -f JSON\n\
                      Example: pipecat-cloud agent logs my-agent --follow\n\
                      With --follow, Ctrl-C ends it with exit code 0, and --output json\n\
                      prints one JSON object per line (JSON Lines) instead of one document.\n\
                      --level keeps the lines whose first level word (DEBUG, INFO, WARNING,\n\
                      ERROR, CRITICAL; none: INFO) is that level, as the official CLI does."
    )]
    Logs {
        /// The agent's name.
        name: String,
        /// Keep printing new lines as they arrive, until Ctrl-C. No short
        /// form: `-f` is the official CLI's `--format`.
        #[arg(long)]
        follow: bool,
        /// How many of the latest lines to show (with --follow: to start from).
        #[arg(long, short = 'n', default_value_t = 100)]
        limit: usize,
        /// Only lines after this: a duration ago (`90s`, `15m`, `2h`, `1d`) or a Unix time in seconds.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only lines of this session.
        #[arg(long, short = 's', visible_alias = "session", value_name = "ID")]
        session_id: Option<String>,
        /// Only lines of this deployment.
        #[arg(long, short = 'd', value_name = "ID")]
        deployment: Option<String>,
        /// Only lines of this level.
        #[arg(long, short = 'l', value_enum, ignore_case = true)]
        level: Option<LogLevel>,
        /// How to print each line: `TEXT` (timestamp and line) or `JSON`
        /// (`{"timestamp": …, "log": …}` per line).
        #[arg(
            long,
            short = 'f',
            value_enum,
            ignore_case = true,
            default_value = "TEXT"
        )]
        format: LogFormat,
    },
    /// List an agent's sessions, newest first.
    #[command(
        after_help = "Example: pipecat-cloud agent sessions my-agent --status active\n\
                      Example: pipecat-cloud agent sessions --id 3f1c…   (the agent from pcc-deploy.toml)"
    )]
    Sessions {
        /// The agent's name (default: `agent_name` in pcc-deploy.toml).
        name: Option<String>,
        #[command(flatten)]
        config: ConfigFileArg,
        /// Only the session with this id (read by id, however old).
        #[arg(long, short = 'i', value_name = "ID")]
        id: Option<String>,
        /// How the sessions ended: `active` only (the REST API reports no
        /// other end state; `--status ended` gives every ended session).
        #[arg(long, value_name = "STATE")]
        end_state: Option<String>,
        /// Which sessions.
        #[arg(long, value_enum, default_value = "all")]
        status: SessionStatus,
        /// At most this many sessions.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: usize,
    },
    /// Stop a running session.
    #[command(after_help = "Example: pipecat-cloud agent stop my-agent --session-id 3f1c…")]
    Stop {
        /// The agent's name (default: `agent_name` in pcc-deploy.toml).
        name: Option<String>,
        /// The session's id (a UUID); or give it with --session-id.
        #[arg(value_name = "SESSION_ID", conflicts_with = "session_id")]
        session: Option<String>,
        /// The session's id (a UUID).
        #[arg(long, short = 's', value_name = "ID")]
        session_id: Option<String>,
        #[command(flatten)]
        config: ConfigFileArg,
        /// Skip confirmations (the official CLI's; this command does not ask).
        #[arg(long, short = 'f')]
        force: bool,
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
        /// The agent's name (default: `agent_name` in pcc-deploy.toml).
        name: Option<String>,
        #[command(flatten)]
        config: ConfigFileArg,
        /// A JSON object handed to the bot when it starts.
        #[arg(long, short = 'd', value_name = "JSON")]
        data: Option<String>,
        /// Create a Daily room for the session (same as --transport daily).
        #[arg(long, short = 'D', conflicts_with = "transport")]
        use_daily: bool,
        /// Daily room properties, a JSON object (with --use-daily).
        #[arg(long, short = 'p', value_name = "JSON")]
        daily_properties: Option<String>,
        /// The public API key to start with (default: $PIPECAT_PUBLIC_API_KEY
        /// or --public-key-file). Never shown.
        #[arg(long, short = 'k', value_name = "KEY")]
        api_key: Option<SecretArg>,
        /// How the caller reaches the bot.
        #[arg(long, value_enum, value_name = "T")]
        transport: Option<Transport>,
        /// Skip confirmations (the official CLI's; this command does not ask).
        #[arg(long, short = 'f')]
        force: bool,
    },
    #[command(flatten)]
    DashboardOnly(dashboard::AgentOnly),
}

/// `--config-file`: where an agent name left out is read from.
#[derive(Debug, clap::Args)]
pub struct ConfigFileArg {
    /// The deploy settings file the agent name is read from when it is left
    /// out (default: ./pcc-deploy.toml).
    #[arg(long, visible_alias = "config", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

impl ConfigFileArg {
    /// `name`, or the `agent_name` of the config file.
    pub fn agent_name(&self, name: Option<String>) -> Result<String, Failure> {
        if let Some(name) = name {
            return Ok(name);
        }
        match crate::deploy::read_config(self.config_file.as_deref())? {
            Some(config) => Ok(config.get_agent_name().to_string()),
            None => Err(Failure::Usage(format!(
                "no agent name: give AGENT_NAME, or run where {DEPLOY_CONFIG_FILE} is, \
                 or pass --config-file FILE"
            ))),
        }
    }
}

/// `agent logs --level`: the official CLI's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    /// Lines naming DEBUG.
    Debug,
    /// Lines naming INFO, or no level at all.
    Info,
    /// Lines naming WARNING.
    Warning,
    /// Lines naming ERROR.
    Error,
    /// Lines naming CRITICAL.
    Critical,
}

impl LogLevel {
    const ALL: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
    ];

    fn word(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }

    /// A line's level as the official CLI judges it: the first level, in
    /// the order above, whose word the upper-cased line contains; INFO if none.
    fn of(line: &str) -> LogLevel {
        let upper = line.to_uppercase();
        Self::ALL
            .into_iter()
            .find(|level| upper.contains(level.word()))
            .unwrap_or(LogLevel::Info)
    }
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

/// `agent logs --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogFormat {
    /// The timestamp, then the line.
    Text,
    /// One `{"timestamp": …, "log": …}` object per line.
    Json,
}

/// What `command` is about, for naming it when the service answers 404.
pub fn subject(command: &AgentCommand) -> Option<String> {
    let agent = |name: &Option<String>| match name {
        Some(name) => format!("agent {name:?}"),
        None => "the agent of pcc-deploy.toml".to_owned(),
    };
    match command {
        AgentCommand::List { .. } | AgentCommand::DashboardOnly(_) => None,
        // The session id comes positionally or with --session-id (never both).
        AgentCommand::Stop {
            name,
            session,
            session_id,
            ..
        } => Some(match session_id.as_ref().or(session.as_ref()) {
            Some(id) => format!("session {id:?} of {}", agent(name)),
            None => agent(name),
        }),
        AgentCommand::Status { name, .. }
        | AgentCommand::Delete { name, .. }
        | AgentCommand::Logs { name, .. } => Some(format!("agent {name:?}")),
        AgentCommand::Sessions { name, .. } | AgentCommand::Start { name, .. } => Some(agent(name)),
    }
}

pub async fn run(command: AgentCommand, ctx: &Ctx) -> Result<(), Failure> {
    let out = &ctx.out;
    match command {
        AgentCommand::DashboardOnly(c) => Err(c.refusal()),
        AgentCommand::List { region } => {
            let client = ctx.client(Key::Private)?;
            let mut request = client.list_services();
            if let Some(region) = region {
                request = request.region(region);
            }
            let list = request.send().await?;
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
        AgentCommand::Delete { name, force } => {
            let client = ctx.client(Key::Private)?;
            confirm(&format!("delete agent {name}"), ctx.yes || force)?;
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
            session_id,
            deployment,
            level,
            format,
        } => {
            let since = since.map(|t| parse_since(&t)).transpose()?;
            let client = ctx.client(Key::Private)?;
            let mut request = client.get_logs().agent_name(name.as_str());
            if let Some(since) = since {
                request = request.start_time(since);
            }
            if let Some(session) = session_id {
                request = request.session_id(session);
            }
            if let Some(deployment) = deployment {
                request = request.deployment_id(deployment);
            }
            let shown = LogFilter { level, format };
            if follow {
                return follow_logs(request, limit, shown, ctx).await;
            }
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let mut logs: Vec<_> = request
                .into_stream_with_page_size(page)
                .take(limit)
                .try_collect()
                .await?;
            // Newest first from the API; shown (and given) oldest first.
            logs.reverse();
            logs.retain(|line| shown.keeps(line));
            if out.is_json() {
                return out.json(&serde_json::json!({ "logs": logs }));
            }
            for line in &logs {
                print_log_line(line, shown.format, ctx)?;
            }
            Ok(())
        }
        AgentCommand::Sessions {
            name,
            config,
            id,
            end_state,
            status,
            limit,
        } => {
            let name = config.agent_name(name)?;
            let status = match end_state.as_deref() {
                None => status,
                Some("active") => SessionStatus::Active,
                Some(other) => {
                    return Err(Failure::Usage(format!(
                        "--end-state {other:?}: the REST API does not report how a session \
                         ended; --end-state active works, and --status ended lists every ended session"
                    )));
                }
            };
            let status = match status {
                SessionStatus::Active => GetSessionsStatus::Active,
                SessionStatus::Ended => GetSessionsStatus::Ended,
                SessionStatus::All => GetSessionsStatus::All,
            };
            let client = ctx.client(Key::Private)?;
            let page = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
            let sessions: Vec<_> = match &id {
                // The official `--id`: that one session, read by id (not
                // looked for among the latest --limit).
                Some(id) => {
                    let uuid = pipecat_api::uuid::Uuid::parse_str(id.trim()).map_err(|e| {
                        Failure::Usage(format!("--id {id:?} is not a session id (a UUID): {e}"))
                    })?;
                    let session = client
                        .get_session()
                        .agent_name(name.as_str())
                        .session_id(uuid)
                        .send()
                        .await?;
                    vec![session]
                }
                None => {
                    client
                        .get_sessions()
                        .agent_name(name.as_str())
                        .status(status)
                        .into_stream_with_page_size(page)
                        .take(limit)
                        .try_collect()
                        .await?
                }
            };
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
        AgentCommand::Stop {
            name,
            session,
            session_id,
            config,
            force: _,
        } => {
            let Some(session_id) = session_id.or(session) else {
                return Err(Failure::Usage(
                    "agent stop: which session? give --session-id ID".into(),
                ));
            };
            let name = config.agent_name(name)?;
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
            config,
            data,
            use_daily,
            daily_properties,
            api_key,
            transport,
            force: _,
        } => {
            let name = config.agent_name(name)?;
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
            if let Some(properties) = daily_properties {
                if !matches!(transport, Some(Transport::Daily)) {
                    return Err(Failure::Usage(
                        "--daily-properties: only with --use-daily (a Daily room)".into(),
                    ));
                }
                let value: serde_json::Value = serde_json::from_str(&properties)
                    .map_err(|e| Failure::Usage(format!("--daily-properties is not JSON: {e}")))?;
                let serde_json::Value::Object(map) = value else {
                    return Err(Failure::Usage(
                        "--daily-properties: must be a JSON object".into(),
                    ));
                };
                request.daily_room_properties = map;
            }
            let client = ctx.client_with_public_key(api_key.as_ref().map(SecretArg::expose))?;
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

/// `--level` and `--format` of `agent logs`.
#[derive(Debug, Clone, Copy)]
struct LogFilter {
    level: Option<LogLevel>,
    format: LogFormat,
}

impl LogFilter {
    /// Whether `--level` keeps this line (always, without it).
    fn keeps(&self, line: &GetLogsResponseLogsItem) -> bool {
        self.level
            .is_none_or(|level| LogLevel::of(line.log.as_deref().unwrap_or("")) == level)
    }
}

/// One log line: timestamp and text (sanitized by the renderer), or with
/// `--format JSON` one JSON object (exact).
fn print_log_line(
    line: &GetLogsResponseLogsItem,
    format: LogFormat,
    ctx: &Ctx,
) -> Result<(), Failure> {
    if format == LogFormat::Json {
        let text = serde_json::json!({
            "timestamp": line.timestamp.as_deref().unwrap_or(""),
            "log": line.log.as_deref().unwrap_or(""),
        });
        return ctx.out.line(&text.to_string());
    }
    ctx.out
        .log_line(line.timestamp.as_deref(), line.log.as_deref())
}

/// `agent logs --follow`: the last `limit` lines, then new ones as they
/// come, until Ctrl-C (exit 0: it is the way to end a follow) or an error.
async fn follow_logs(
    request: pipecat_api::builder::GetLogs<'_>,
    limit: usize,
    shown: LogFilter,
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
        if !shown.keeps(&line) {
            continue;
        }
        if out.is_json() {
            out.json_line(&line)?;
        } else {
            print_log_line(&line, shown.format, ctx)?;
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
    fn a_stopped_session_is_named_whichever_way_its_id_came() {
        use clap::Parser as _;
        let id = "3f1c0b2a-0000-4000-8000-000000000001";
        for args in [
            &["pipecat-cloud", "agent", "stop", "bot", id][..],
            &["pipecat-cloud", "agent", "stop", "bot", "--session-id", id][..],
        ] {
            let crate::app::Command::Agent(command) =
                crate::app::Cli::try_parse_from(args).unwrap().command
            else {
                panic!("not an agent command");
            };
            assert_eq!(
                subject(&command).as_deref(),
                Some(format!("session {id:?} of agent \"bot\"").as_str()),
                "{args:?}"
            );
        }
    }

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
