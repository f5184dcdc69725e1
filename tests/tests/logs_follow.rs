//! Following an agent's log (`GetLogs::follow`) over HTTP against the fake,
//! with lines arriving while the stream is read.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use futures_util::StreamExt as _;
use pipecat_api::types::{CreateServiceRequest, GetLogsResponseLogsItem};
use pipecat_api::{Client, Error, Follow};
use pipecat_e2e::setup;

const AGENT: &str = "voice-bot";

async fn create(client: &Client) {
    let request = CreateServiceRequest::builder()
        .service_name(AGENT)
        .image("example/bot:1.0");
    client.create_service().body(request).send().await.unwrap();
}

fn quick() -> Follow {
    Follow::new()
        .poll_interval(Duration::from_millis(10))
        .max_poll_interval(Duration::from_millis(40))
        .page_size(10)
}

/// The texts of the next `n` lines.
async fn take<S>(logs: &mut S, n: usize) -> Vec<String>
where
    S: Stream<Item = Result<GetLogsResponseLogsItem, Error>> + Unpin,
{
    let mut out = Vec::new();
    for _ in 0..n {
        let line = tokio::time::timeout(Duration::from_secs(5), logs.next())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} lines: {out:?}", out.len()))
            .unwrap()
            .unwrap();
        out.push(line.log.unwrap());
    }
    out
}

/// Fails if a line comes within `wait`.
async fn nothing_more<S>(logs: &mut S, wait: Duration)
where
    S: Stream<Item = Result<GetLogsResponseLogsItem, Error>> + Unpin,
{
    if let Ok(line) = tokio::time::timeout(wait, logs.next()).await {
        panic!("unexpected line: {line:?}");
    }
}

fn synthetic(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("synthetic log line {i}")).collect()
}

fn appended(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("appended log line {i}")).collect()
}

#[tokio::test]
async fn existing_lines_then_new_ones_as_they_are_written() {
    let (fake, client) = setup().await;
    create(&client).await;
    fake.seed_logs(AGENT, 25);
    let fake = Arc::new(fake);
    let writer = {
        let fake = fake.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(15)).await;
                fake.append_logs(AGENT, 3);
            }
        })
    };
    let mut logs = std::pin::pin!(client.get_logs().agent_name(AGENT).follow_with(quick()));
    assert_eq!(take(&mut logs, 25).await, synthetic(0..25));
    assert_eq!(take(&mut logs, 30).await, appended(0..30));
    writer.await.unwrap();
    nothing_more(&mut logs, Duration::from_millis(200)).await;
    fake.append_logs(AGENT, 1);
    assert_eq!(take(&mut logs, 1).await, appended(30..31));
}

#[tokio::test]
async fn a_burst_of_many_pages_between_polls_comes_once_in_order() {
    let (fake, client) = setup().await;
    create(&client).await;
    fake.seed_logs(AGENT, 5);
    // Totals are only lower bounds: the follower must not stop at them.
    fake.cap_log_totals(Some(3));
    let mut logs = std::pin::pin!(client.get_logs().agent_name(AGENT).follow_with(quick()));
    assert_eq!(take(&mut logs, 5).await, synthetic(0..5));
    // The follower polls and finds nothing...
    nothing_more(&mut logs, Duration::from_millis(100)).await;
    // ...then 35 lines (3.5 pages) arrive before its next poll.
    fake.clear_requests();
    fake.append_logs(AGENT, 35);
    assert_eq!(take(&mut logs, 35).await, appended(0..35));
    nothing_more(&mut logs, Duration::from_millis(200)).await;

    // The burst was read in back-to-back pages, each starting on the last
    // line yielded.
    let offsets: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.query.clone())
        .collect();
    for (i, offset) in ["offset=4", "offset=13", "offset=22", "offset=31"]
        .iter()
        .enumerate()
    {
        assert!(
            offsets
                .iter()
                .any(|q| q.contains(offset) && q.contains("order=asc")),
            "page {i} ({offset}) not read: {offsets:?}"
        );
    }
}

#[tokio::test]
async fn tail_starts_from_the_last_lines() {
    for cap in [None, Some(10)] {
        let (fake, client) = setup().await;
        create(&client).await;
        fake.seed_logs(AGENT, 100);
        // With a cap the count is found by reading, not from the total.
        fake.cap_log_totals(cap);
        let mut logs = std::pin::pin!(
            client
                .get_logs()
                .agent_name(AGENT)
                .follow_with(quick().tail(7))
        );
        assert_eq!(take(&mut logs, 7).await, synthetic(93..100), "cap {cap:?}");
        fake.append_logs(AGENT, 2);
        assert_eq!(take(&mut logs, 2).await, appended(0..2), "cap {cap:?}");
        nothing_more(&mut logs, Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn tail_longer_than_the_log_gives_it_all() {
    let (fake, client) = setup().await;
    create(&client).await;
    fake.seed_logs(AGENT, 4);
    let mut logs = std::pin::pin!(
        client
            .get_logs()
            .agent_name(AGENT)
            .follow_with(quick().tail(50))
    );
    assert_eq!(take(&mut logs, 4).await, synthetic(0..4));
    nothing_more(&mut logs, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn idle_polling_backs_off_and_dropping_the_stream_stops_it() {
    let (fake, client) = setup().await;
    create(&client).await;
    fake.seed_logs(AGENT, 3);
    let follow = Follow::new()
        .poll_interval(Duration::from_millis(10))
        .max_poll_interval(Duration::from_millis(50));
    let mut logs = Box::pin(client.get_logs().agent_name(AGENT).follow_with(follow));
    assert_eq!(take(&mut logs, 3).await, synthetic(0..3));
    fake.clear_requests();
    nothing_more(&mut logs, Duration::from_millis(600)).await;
    let polls = fake.request_count();
    // Without backoff, 60 polls; backing off to 50 ms, about 15.
    assert!((5..=25).contains(&polls), "{polls} polls in 600 ms");

    drop(logs);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let at_drop = fake.request_count();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.request_count(),
        at_drop,
        "polling went on after the drop"
    );
}
