//! Agent logs: `GET /v1/agents/{agentName}/logs`.
//!
//! An agent's log is a run of synthetic lines ([`crate::FakeCloud::seed_logs`]),
//! made up from their index when shown, followed by the lines the fake wrote
//! itself (sessions starting and stopping). Paging through a million
//! synthetic lines therefore takes no memory, and a page costs its length.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::answers::error;
use crate::clock;
use crate::params::{Params, page};
use crate::state::State;

/// Time of synthetic line 0: 2025-01-01T00:00:00Z.
pub(crate) const SEED_START_NANOS: i64 = 1_735_689_600_000_000_000;
/// Synthetic line `i` is `i` milliseconds after line 0.
pub(crate) const SEED_STEP_NANOS: i64 = 1_000_000;
/// Most lines one page shows.
pub(crate) const MAX_LIMIT: i64 = 10_000;

/// Every agent's log, by agent name.
#[derive(Default)]
pub(crate) struct Store {
    agents: HashMap<String, AgentLog>,
    /// When set, a larger total is shown as this many, relation `gte`.
    pub(crate) total_cap: Option<usize>,
}

#[derive(Default)]
struct AgentLog {
    /// How many synthetic lines come first, and their deployment.
    seeded: usize,
    seeded_deployment: Option<String>,
    lines: Vec<Line>,
}

struct Line {
    nanos: i64,
    text: String,
    deployment_id: Option<String>,
    session_id: Option<String>,
}

impl Line {
    fn entry(&self) -> Entry<'_> {
        Entry {
            nanos: self.nanos,
            text: Cow::Borrowed(&self.text),
            deployment_id: self.deployment_id.as_deref(),
        }
    }
}

/// The text of synthetic line `i`.
pub(crate) fn seeded_text(i: usize) -> String {
    format!("synthetic log line {i}")
}

/// The time of synthetic line `i`, in nanoseconds since the epoch.
pub(crate) fn seeded_nanos(i: usize) -> i64 {
    let i = i64::try_from(i).unwrap_or(i64::MAX);
    SEED_START_NANOS.saturating_add(i.saturating_mul(SEED_STEP_NANOS))
}

impl Store {
    /// Appends a line to `agent`'s log, stamped now.
    pub(crate) fn write(
        &mut self,
        agent: &str,
        deployment_id: Option<&str>,
        session_id: Option<&str>,
        text: String,
    ) {
        let log = self.agents.entry(agent.to_string()).or_default();
        // Strictly increasing, so order by time is order of writing.
        let last = log.lines.last().map_or(i64::MIN, |l| l.nanos);
        let nanos = clock::epoch_nanos(clock::now()).max(last.saturating_add(1));
        log.lines.push(Line {
            nanos,
            text,
            deployment_id: deployment_id.map(str::to_string),
            session_id: session_id.map(str::to_string),
        });
    }

    /// Makes `count` synthetic lines of `deployment_id` come first in
    /// `agent`'s log, replacing any seeded before.
    pub(crate) fn seed(&mut self, agent: &str, count: usize, deployment_id: Option<String>) {
        let log = self.agents.entry(agent.to_string()).or_default();
        log.seeded = count;
        log.seeded_deployment = deployment_id;
    }

    /// Appends `count` lines to `agent`'s log, stamped now, numbered on from
    /// the lines written before: `appended log line {k}`.
    pub(crate) fn append(&mut self, agent: &str, count: usize, deployment_id: Option<&str>) {
        let first = self.agents.get(agent).map_or(0, |l| {
            l.lines
                .iter()
                .filter(|l| l.text.starts_with("appended log line "))
                .count()
        });
        for k in first..first + count {
            self.write(agent, deployment_id, None, format!("appended log line {k}"));
        }
    }

    /// Drops `agent`'s log.
    pub(crate) fn forget(&mut self, agent: &str) {
        self.agents.remove(agent);
    }
}

/// What `getLogs` asks for.
#[derive(Debug, Default)]
struct LogQuery {
    limit: usize,
    offset: usize,
    descending: bool,
    deployment_id: Option<String>,
    session_id: Option<String>,
    text: Option<String>,
    /// At or after, in nanoseconds.
    after: Option<i64>,
    /// At or before, in nanoseconds.
    before: Option<i64>,
}

impl LogQuery {
    fn parse(params: &Params) -> Result<LogQuery, String> {
        let limit = params.int("limit", 10, 1, MAX_LIMIT)?;
        let offset = params.int("offset", 0, 0, i64::MAX)?;
        Ok(LogQuery {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            descending: params.choice("order", &["asc", "desc"], "desc")? == "desc",
            deployment_id: params.text("deploymentId").map(str::to_string),
            session_id: params.text("sessionId").map(str::to_string),
            text: params.text("query").map(str::to_string),
            after: params.opt_int("startTime")?.map(clock::filter_nanos),
            before: params.opt_int("endTime")?.map(clock::filter_nanos),
        })
    }

    fn in_time(&self, nanos: i64) -> bool {
        self.after.is_none_or(|t| nanos >= t) && self.before.is_none_or(|t| nanos <= t)
    }
}

/// A line about to be shown.
#[derive(Debug, PartialEq)]
struct Entry<'a> {
    nanos: i64,
    text: Cow<'a, str>,
    deployment_id: Option<&'a str>,
}

impl AgentLog {
    /// The synthetic lines that pass every filter but the text query: a
    /// range, since they share one deployment and are evenly spaced in time.
    fn seeded_range(&self, q: &LogQuery) -> Range<usize> {
        let deployment_ok = q
            .deployment_id
            .as_ref()
            .is_none_or(|d| Some(d) == self.seeded_deployment.as_ref());
        if q.session_id.is_some() || !deployment_ok {
            return 0..0;
        }
        // First index at or after `after`, first index after `before`.
        let index_from = |nanos: i64, round_up: bool| -> usize {
            let delta = nanos.saturating_sub(SEED_START_NANOS);
            if delta <= 0 {
                return 0;
            }
            let steps = delta / SEED_STEP_NANOS;
            let steps = if round_up && delta % SEED_STEP_NANOS != 0 {
                steps + 1
            } else {
                steps
            };
            usize::try_from(steps).unwrap_or(usize::MAX)
        };
        let start = q.after.map_or(0, |t| index_from(t, true));
        let end = q.before.map_or(self.seeded, |t| {
            if t < SEED_START_NANOS {
                0
            } else {
                index_from(t, false).saturating_add(1)
            }
        });
        let end = end.min(self.seeded);
        start.min(end)..end
    }

    fn seeded_entry(&self, i: usize) -> Entry<'_> {
        Entry {
            nanos: seeded_nanos(i),
            text: Cow::Owned(seeded_text(i)),
            deployment_id: self.seeded_deployment.as_deref(),
        }
    }

    /// The total of matching lines and the page `q` asks for.
    fn select(&self, q: &LogQuery) -> (usize, Vec<Entry<'_>>) {
        let seeded = self.seeded_range(q);
        let stored: Vec<&Line> = self
            .lines
            .iter()
            .filter(|l| {
                q.in_time(l.nanos)
                    && q.deployment_id
                        .as_ref()
                        .is_none_or(|d| Some(d) == l.deployment_id.as_ref())
                    && q.session_id
                        .as_ref()
                        .is_none_or(|s| Some(s) == l.session_id.as_ref())
            })
            .collect();
        let Some(text) = &q.text else {
            // Every line is addressable by position: no need to look at the rest.
            let total = seeded.len() + stored.len();
            let entries = page(total, q.offset, q.limit)
                .map(|p| {
                    let ascending = if q.descending { total - 1 - p } else { p };
                    match ascending.checked_sub(seeded.len()) {
                        None => self.seeded_entry(seeded.start + ascending),
                        Some(i) => stored[i].entry(),
                    }
                })
                .collect();
            return (total, entries);
        };
        // A text query has to look at every line.
        let all = seeded
            .map(|i| self.seeded_entry(i))
            .chain(stored.iter().copied().map(Line::entry))
            .filter(|e| e.text.contains(text.as_str()));
        if q.descending {
            collect_page(all.rev(), q.offset, q.limit)
        } else {
            collect_page(all, q.offset, q.limit)
        }
    }
}

/// Counts `lines` and keeps those at positions `offset..offset + limit`.
fn collect_page<'a>(
    lines: impl Iterator<Item = Entry<'a>>,
    offset: usize,
    limit: usize,
) -> (usize, Vec<Entry<'a>>) {
    let mut total = 0;
    let mut shown = Vec::new();
    for line in lines {
        if total >= offset && shown.len() < limit {
            shown.push(line);
        }
        total += 1;
    }
    (total, shown)
}

/// The `getLogs` answer, serialized straight from the page.
#[derive(Serialize)]
struct LogPage<'a> {
    total: Total,
    logs: Vec<LogLine<'a>>,
}

#[derive(Serialize)]
struct Total {
    value: usize,
    relation: &'static str,
}

#[derive(Serialize)]
struct LogLine<'a> {
    log: &'a str,
    timestamp: String,
    #[serde(rename = "deploymentId")]
    deployment_id: Option<&'a str>,
}

pub(crate) async fn get(
    AxumState(state): AxumState<Arc<State>>,
    Path(agent_name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let q = match LogQuery::parse(&Params(params)) {
        Ok(q) => q,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message, "GENERIC_BAD_REQUEST"),
    };
    let inner = state.lock();
    if !inner.agents.agents.contains_key(&agent_name) {
        return error(StatusCode::NOT_FOUND, "Not found", "NOT_FOUND");
    }
    let empty = AgentLog::default();
    let log = inner.logs.agents.get(&agent_name).unwrap_or(&empty);
    let (total, entries) = log.select(&q);
    let (total, relation) = match inner.logs.total_cap {
        Some(cap) if total > cap => (cap, "gte"),
        _ => (total, "eq"),
    };
    let logs: Vec<LogLine<'_>> = entries
        .iter()
        .map(|e| LogLine {
            log: &e.text,
            timestamp: clock::nanos(e.nanos),
            deployment_id: e.deployment_id,
        })
        .collect();
    Json(LogPage {
        total: Total {
            value: total,
            relation,
        },
        logs,
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(seeded: usize, stored: &[(&str, Option<&str>)]) -> AgentLog {
        let mut store = Store::default();
        store.seed("a", seeded, Some("dep-1".into()));
        for (text, session) in stored {
            store.write("a", Some("dep-2"), *session, text.to_string());
        }
        store.agents.remove("a").unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> LogQuery {
        let params = Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        LogQuery::parse(&params).unwrap()
    }

    fn texts(entries: &[Entry<'_>]) -> Vec<String> {
        entries.iter().map(|e| e.text.to_string()).collect()
    }

    #[test]
    fn defaults_and_bounds() {
        let q = query(&[]);
        assert_eq!((q.limit, q.offset, q.descending), (10, 0, true));
        for bad in [
            ("limit", "0"),
            ("limit", "10001"),
            ("offset", "-1"),
            ("order", "up"),
            ("startTime", "soon"),
        ] {
            let params = Params(HashMap::from([(bad.0.to_string(), bad.1.to_string())]));
            assert!(LogQuery::parse(&params).is_err(), "{bad:?}");
        }
        assert_eq!(query(&[("limit", "10000")]).limit, 10_000);
    }

    #[test]
    fn pages_through_seeded_then_stored() {
        let log = log_with(5, &[("started", Some("s1")), ("stopped", Some("s1"))]);
        let (total, page) = log.select(&query(&[("order", "asc"), ("limit", "3")]));
        assert_eq!(total, 7);
        assert_eq!(
            texts(&page),
            [
                "synthetic log line 0",
                "synthetic log line 1",
                "synthetic log line 2"
            ]
        );
        let (_, page) = log.select(&query(&[("order", "asc"), ("offset", "4"), ("limit", "3")]));
        assert_eq!(texts(&page), ["synthetic log line 4", "started", "stopped"]);
        let (_, page) = log.select(&query(&[("limit", "3")]));
        assert_eq!(texts(&page), ["stopped", "started", "synthetic log line 4"]);
        let (_, page) = log.select(&query(&[("offset", "6"), ("limit", "3")]));
        assert_eq!(texts(&page), ["synthetic log line 0"]);
        let (total, page) = log.select(&query(&[("offset", "7")]));
        assert_eq!((total, page.len()), (7, 0));
    }

    #[test]
    fn filters() {
        let log = log_with(5, &[("started", Some("s1")), ("other", Some("s2"))]);
        let (total, page) = log.select(&query(&[("sessionId", "s1")]));
        assert_eq!((total, texts(&page)), (1, vec!["started".to_string()]));
        let (total, _) = log.select(&query(&[("deploymentId", "dep-1")]));
        assert_eq!(total, 5);
        let (total, _) = log.select(&query(&[("deploymentId", "dep-2")]));
        assert_eq!(total, 2);
        let (total, page) = log.select(&query(&[("query", "line 3")]));
        assert_eq!(
            (total, texts(&page)),
            (1, vec!["synthetic log line 3".to_string()])
        );
        let (total, page) =
            log.select(&query(&[("query", "t"), ("order", "asc"), ("offset", "5")]));
        assert_eq!(total, 7);
        assert_eq!(texts(&page), ["started", "other"]);
    }

    #[test]
    fn time_window_over_seeded_lines() {
        let log = log_with(100, &[]);
        // Line i is at SEED_START + i ms; seconds 0..=1 hold lines 0..=99.
        let start = SEED_START_NANOS;
        let after = (start + 10 * SEED_STEP_NANOS).to_string();
        let before = (start + 20 * SEED_STEP_NANOS).to_string();
        let (total, page) = log.select(&query(&[
            ("startTime", &after),
            ("endTime", &before),
            ("order", "asc"),
            ("limit", "100"),
        ]));
        assert_eq!(total, 11);
        assert_eq!(page[0].text, "synthetic log line 10");
        assert_eq!(page[10].text, "synthetic log line 20");
        // Just past a line's time excludes it at the start.
        let after = (start + 10 * SEED_STEP_NANOS + 1).to_string();
        let (total, _) = log.select(&query(&[("startTime", &after)]));
        assert_eq!(total, 89);
        let (total, _) = log.select(&query(&[("endTime", "1000")]));
        assert_eq!(total, 0);
        let (total, _) = log.select(&query(&[("startTime", "4000000000")]));
        assert_eq!(total, 0);
    }

    #[test]
    fn a_million_lines_page_by_position() {
        let log = log_with(1_000_000, &[]);
        let (total, page) = log.select(&query(&[
            ("order", "asc"),
            ("offset", "990000"),
            ("limit", "10000"),
        ]));
        assert_eq!(total, 1_000_000);
        assert_eq!(page.len(), 10_000);
        assert_eq!(page[0].text, "synthetic log line 990000");
        assert_eq!(page[9_999].text, "synthetic log line 999999");
        assert_eq!(page[0].nanos, seeded_nanos(990_000));
    }
}
