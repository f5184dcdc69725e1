//! What the bench servers answer, made up to look like the real service's
//! answers, and the plain local structs the raw clients decode them into.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Lines in the page `getLogs` answers when no `limit` is asked for.
pub const LOG_PAGE: u64 = 10_000;
/// The agent every call names.
pub const AGENT: &str = "bench-agent";
/// The secret set `deleteSecretSet` deletes (the server keeps no state).
pub const SECRET_SET: &str = "bench-secrets";
/// Agents in the `listServices` answer.
pub const SERVICES: usize = 20;

/// A UUID-shaped id made from `n` (the same `n` gives the same id).
pub fn fake_uuid(n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995_1234_5678;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        (h >> 4) & 0xfff,
        (n >> 2) & 0xfff,
        (h ^ n) & 0xffff_ffff_ffff
    )
}

/// `2025-01-01T00:00:00.000Z` plus `ms` milliseconds (within the day).
fn timestamp(ms: u64) -> String {
    let ms = ms % 86_400_000;
    format!(
        "2025-01-01T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The text of log line `i`: a rotation of the kinds of lines a bot writes.
fn log_text(i: u64) -> String {
    let session = fake_uuid(i / 40);
    match i % 5 {
        0 => format!(
            "{} | INFO     | bot:main:57 - Session {session} started with transport daily",
            timestamp(i)
        ),
        1 => format!(
            "{} | DEBUG    | pipecat.transports.daily.transport:on_participant_joined:1461 - Participant joined {session}",
            timestamp(i)
        ),
        2 => format!(
            "{} | DEBUG    | pipecat.pipeline.task:_process_down_queue:612 - PipelineTask#{}: pushing TTSAudioRawFrame#{i}",
            timestamp(i),
            i / 40
        ),
        3 => format!(
            "{} | WARNING  | pipecat.services.openai.llm:_stream_chat_completions:287 - LLM first token after {} ms",
            timestamp(i),
            300 + i % 700
        ),
        _ => format!(
            "{} | INFO     | pipecat.processors.metrics:report:88 - TTFB tts {}.{:03}s",
            timestamp(i),
            i % 2,
            i % 1000
        ),
    }
}

#[derive(Serialize)]
struct LogLineOut {
    log: String,
    timestamp: String,
    #[serde(rename = "deploymentId")]
    deployment_id: String,
}

#[derive(Serialize)]
struct TotalOut {
    value: u64,
    relation: &'static str,
}

#[derive(Serialize)]
struct LogsPageOut {
    total: TotalOut,
    logs: Vec<LogLineOut>,
}

/// A `getLogs` answer: lines `offset..offset+limit` of a log of `total` lines.
pub fn logs_page(offset: u64, limit: u64, total: u64) -> anyhow::Result<Bytes> {
    let end = total.min(offset.saturating_add(limit));
    let deployment = fake_uuid(7);
    let logs = (offset..end)
        .map(|i| LogLineOut {
            log: log_text(i),
            timestamp: timestamp(i),
            deployment_id: deployment.clone(),
        })
        .collect();
    let page = LogsPageOut {
        total: TotalOut {
            value: total,
            relation: "eq",
        },
        logs,
    };
    Ok(serde_json::to_vec(&page)?.into())
}

/// A `listServices` answer with [`SERVICES`] agents, shaped like the fake's.
pub fn services() -> anyhow::Result<Bytes> {
    let services: Vec<serde_json::Value> = (0..SERVICES as u64)
        .map(|i| {
            serde_json::json!({
                "id": fake_uuid(1000 + i),
                "name": format!("voice-agent-{i:02}"),
                "region": if i % 3 == 0 { "eu-central" } else { "us-west" },
                "desiredDeploymentId": fake_uuid(2000 + i),
                "activeDeploymentId": fake_uuid(2000 + i),
                "reconciledDeploymentId": fake_uuid(2000 + i),
                "organizationId": fake_uuid(1),
                "createdAt": timestamp(i * 3_600_000),
                "updatedAt": timestamp(i * 3_600_000 + 60_000),
                "deletedAt": null,
            })
        })
        .collect();
    Ok(serde_json::to_vec(&serde_json::json!({ "services": services }))?.into())
}

/// A `startService` answer for a Daily session.
pub fn start_response() -> anyhow::Result<Bytes> {
    let token = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.sig",
        "x".repeat(160)
    );
    Ok(serde_json::to_vec(&serde_json::json!({
        "dailyRoom": "https://bench.daily.co/bench-room-4f1c",
        "dailyToken": token,
        "sessionId": fake_uuid(42),
    }))?
    .into())
}

/// The `deleteSecretSet` answer.
pub fn delete_ok() -> Bytes {
    Bytes::from_static(br#"{"status":"OK"}"#)
}

/// `{"status": ...}`, decoded by the raw clients.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainStatus {
    /// `OK`.
    pub status: String,
}

/// One agent of a `listServices` answer, decoded by the raw clients.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainService {
    /// Agent id.
    pub id: Option<String>,
    /// Agent name.
    pub name: Option<String>,
    /// Region code.
    pub region: Option<String>,
    /// Deployment the agent should run.
    pub desired_deployment_id: Option<String>,
    /// Deployment the agent runs.
    pub active_deployment_id: Option<String>,
    /// Deployment last reconciled.
    pub reconciled_deployment_id: Option<String>,
    /// Owning organization.
    pub organization_id: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Deletion time, if deleted.
    pub deleted_at: Option<String>,
    /// The active deployment, as the schema has it (the bench's answers
    /// leave it out, but a struct following the schema holds room for it).
    pub deployment: Option<PlainDeployment>,
}

/// The `deployment` of an agent in a `listServices` answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainDeployment {
    /// Deployment id.
    pub id: Option<String>,
    /// The agent it belongs to.
    pub service_id: Option<String>,
    /// Its manifest, free-form.
    #[serde(default)]
    pub manifest: serde_json::Map<String, serde_json::Value>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
}

/// A `listServices` answer, decoded by the raw clients.
#[derive(Deserialize)]
pub struct PlainServices {
    /// The agents.
    pub services: Vec<PlainService>,
}

/// A `startService` answer, decoded by the raw reqwest client on the TLS link.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainStart {
    /// The new session.
    pub session_id: Option<String>,
    /// The Daily room to join.
    pub daily_room: Option<String>,
    /// The meeting token.
    pub daily_token: Option<String>,
}

/// One log line with every field required (the schema has none required):
/// the decode comparison's reference, the fastest decoding serde_json offers.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainLogLine {
    /// The line's text.
    pub log: String,
    /// When it was written.
    pub timestamp: String,
    /// The deployment that wrote it.
    #[serde(rename = "deploymentId")]
    pub deployment_id: String,
}

/// One log line as the published schema has it, every field optional: what
/// a raw-reqwest user following the schema writes. Decoded by the raw
/// clients, and by the decode comparison to tell what the schema costs from
/// what the generated code costs.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct OptionalLogLine {
    /// The line's text.
    pub log: Option<String>,
    /// When it was written.
    pub timestamp: Option<String>,
    /// The deployment that wrote it.
    #[serde(rename = "deploymentId")]
    pub deployment_id: Option<String>,
}

/// A `getLogs` answer with [`OptionalLogLine`]s.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct OptionalLogsPage {
    /// How many lines match in all.
    pub total: Option<PlainTotal>,
    /// This page's lines.
    pub logs: Vec<OptionalLogLine>,
}

/// The `total` of a logs page.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainTotal {
    /// How many lines match.
    pub value: u64,
    /// `eq` or `gte`.
    pub relation: String,
}

/// A `getLogs` answer with [`PlainLogLine`]s, for the decode comparison.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; not read")]
pub struct PlainLogsPage {
    /// How many lines match in all.
    pub total: PlainTotal,
    /// This page's lines.
    pub logs: Vec<PlainLogLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_decode_as_the_generated_types() {
        let page = logs_page(0, 25, 30).unwrap();
        let generated: pipecat_api::types::GetLogsResponse = serde_json::from_slice(&page).unwrap();
        assert_eq!(generated.logs.len(), 25);
        let plain: PlainLogsPage = serde_json::from_slice(&page).unwrap();
        assert_eq!(plain.logs.len(), 25);
        let list: pipecat_api::types::ListServicesResponse =
            serde_json::from_slice(&services().unwrap()).unwrap();
        assert_eq!(list.services.len(), SERVICES);
        let start: pipecat_api::types::StartResponse =
            serde_json::from_slice(&start_response().unwrap()).unwrap();
        assert!(start.session_uuid().is_ok());
        assert!(logs_page(25, 10, 30).unwrap().len() < page.len());
    }

    #[test]
    fn timestamps_and_ids_are_well_formed() {
        assert_eq!(timestamp(3_723_004), "2025-01-01T01:02:03.004Z");
        assert!(uuid_like(&fake_uuid(0)) && uuid_like(&fake_uuid(u64::MAX)));
    }

    fn uuid_like(s: &str) -> bool {
        pipecat_api::uuid::Uuid::parse_str(s).is_ok()
    }
}
