//! Following an agent's log like `tail -f`: [`builder::GetLogs::follow`];
//! and a build's log until the build ends:
//! [`Client::follow_build_logs`](crate::Client::follow_build_logs)
//! ([`BuildLogEvent`]).
//!
//! # The cursor
//!
//! The log is read in ascending order by position (`offset`). The follower
//! keeps two things: how many lines precede the next unread one
//! (`consumed`) and the last line it yielded (its timestamp, text and
//! deployment). Every read starts one line early, at `consumed - 1`, so the
//! first line returned must be the last line yielded. Full pages are read
//! back to back, so a burst of any size between polls is paged through at
//! once; `total` is never trusted (a `gte` total is only a lower bound).
//!
//! When the first line is not the one expected, the log has shifted under
//! the cursor: old lines expired (retention) or a line was inserted behind
//! the cursor (a late write). The follower then resynchronises: it looks for
//! its last line in a window of `page_size` lines either side of where it
//! was, and carries on after it; failing that, it finds by binary search the
//! first line with a later timestamp and carries on from there.
//!
//! # What is guaranteed
//!
//! - While the log only grows at its end (the normal case), every line is
//!   yielded exactly once, in order, however many arrive between polls.
//! - After a shift found within the window, still no duplicates and no gaps
//!   among the lines after the last one yielded. Lines inserted *behind* the
//!   cursor (older than what was already yielded) are never yielded.
//! - After the timestamp fallback (shift larger than the window, or the
//!   last line itself expired), no line older than the last one yielded is
//!   repeated; lines with exactly the last line's timestamp may be skipped.
//!   Timestamps are compared as integers (nanoseconds), else as text of
//!   equal length (RFC 3339); a line without one, or whose timestamp cannot
//!   be compared, counts as later (it may be repeated). When the last line
//!   has no timestamp there is no fallback: the follower carries on at its
//!   old position, which may repeat or skip lines.
//! - The state is a few numbers and one line, whatever the log's length.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures_core::Stream;
use futures_util::stream;

use crate::jobs::poll::Backoff;
use crate::types::{GetLogsOrder, GetLogsResponseLogsItem, GetLogsResponseTotalRelation};
use crate::{Error, builder};

pub use crate::jobs::build_logs::BuildLogEvent;

/// How to follow a log: see [`builder::GetLogs::follow_with`]. The default
/// polls every second while lines arrive, backing off (×1.5, each pause
/// jittered by ±20%) to every 10 s while idle, starts from the first line, and reads 1000 lines a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Follow {
    /// The pause between polls while lines arrive (the shortest pause).
    pub poll_interval: Duration,
    /// The longest pause between polls while no lines arrive.
    pub max_poll_interval: Duration,
    /// Start from the last this many lines instead of from the first.
    pub tail: Option<u64>,
    /// Lines asked for per request (1-10000).
    pub page_size: u32,
}

impl Default for Follow {
    fn default() -> Self {
        Follow {
            poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(10),
            tail: None,
            page_size: 1000,
        }
    }
}

impl Follow {
    /// The defaults.
    pub fn new() -> Follow {
        Follow::default()
    }

    /// The pause between polls while lines arrive (the shortest pause).
    pub fn poll_interval(mut self, interval: Duration) -> Follow {
        self.poll_interval = interval;
        self
    }

    /// The longest pause between polls while no lines arrive.
    pub fn max_poll_interval(mut self, interval: Duration) -> Follow {
        self.max_poll_interval = interval;
        self
    }

    /// Start from the last `lines` lines instead of from the first.
    pub fn tail(mut self, lines: u64) -> Follow {
        self.tail = Some(lines);
        self
    }

    /// Lines asked for per request (clamped to 1-10000).
    pub fn page_size(mut self, lines: u32) -> Follow {
        self.page_size = lines;
        self
    }
}

/// One page in ascending order, and the total when it is exact.
pub(crate) struct Page {
    pub(crate) lines: Vec<GetLogsResponseLogsItem>,
    pub(crate) exact_total: Option<u64>,
}

/// What identifies a line: timestamp, text and deployment.
type Key = (Option<String>, Option<String>, Option<String>);

fn key(line: &GetLogsResponseLogsItem) -> Key {
    (
        line.timestamp.clone(),
        line.log.clone(),
        line.deployment_id.clone(),
    )
}

fn same(line: &GetLogsResponseLogsItem, key: &Key) -> bool {
    line.timestamp == key.0 && line.log == key.1 && line.deployment_id == key.2
}

/// Whether timestamp `a` is after `b`: as integers (nanoseconds) when both
/// parse, else as text of the same length (fixed-width RFC 3339 in UTC sorts
/// as text); `None` when they cannot be compared.
fn after(a: &str, b: &str) -> Option<bool> {
    match (a.trim().parse::<i128>(), b.trim().parse::<i128>()) {
        (Ok(a), Ok(b)) => Some(a > b),
        _ if a.len() == b.len() => Some(a > b),
        _ => None,
    }
}

/// The follower's state.
struct Follower<F> {
    fetch: F,
    options: Follow,
    /// Lines before the next unread one.
    consumed: u64,
    /// The last line yielded (or skipped as the anchor of a tail).
    last: Option<Key>,
    /// Whether the starting position is still to be found.
    started: bool,
    /// Fetched lines not yet yielded.
    ready: VecDeque<GetLogsResponseLogsItem>,
    /// Whether the last read was a full page (read on without pausing).
    more: bool,
    /// Whether the last read lost the cursor and resynchronised.
    resynced: bool,
    /// The pause before the next idle poll (the poller's back-off).
    backoff: Backoff,
}

impl<F, Fut> Follower<F>
where
    F: FnMut(u64, u32) -> Fut,
    Fut: Future<Output = Result<Page, Error>>,
{
    fn page_size(&self) -> u32 {
        self.options.page_size.clamp(1, 10_000)
    }

    async fn next(&mut self) -> Result<GetLogsResponseLogsItem, Error> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                self.consumed += 1;
                self.last = Some(key(&line));
                return Ok(line);
            }
            if !self.started {
                self.start().await?;
                self.started = true;
                continue;
            }
            if !self.more {
                // No deadline: a follow runs until it is dropped.
                self.backoff.pause(None).await;
            }
            // After an error, pause before trying again.
            self.more = false;
            let read = self.read().await?;
            self.more = read >= u64::from(self.page_size());
            if read > 0 {
                self.backoff.reset();
            }
        }
    }

    /// Places the cursor: at the first line, or `tail` lines from the end.
    async fn start(&mut self) -> Result<(), Error> {
        let Some(tail) = self.options.tail else {
            self.more = true;
            return Ok(());
        };
        let total = self.count().await?;
        self.consumed = total.saturating_sub(tail);
        if self.consumed > 0 {
            // The line before the tail is the anchor; it is not yielded.
            let page = (self.fetch)(self.consumed - 1, 1).await?;
            self.last = page.lines.first().map(key);
            if self.last.is_none() {
                self.consumed = 0;
            }
        }
        self.more = true;
        Ok(())
    }

    /// Reads the lines after the cursor into `ready`; returns how many.
    async fn read(&mut self) -> Result<u64, Error> {
        let size = self.page_size();
        let Some(last) = self.last.clone() else {
            let page = (self.fetch)(self.consumed, size).await?;
            let n = page.lines.len() as u64;
            self.ready.extend(page.lines);
            return Ok(n);
        };
        let page = (self.fetch)(self.consumed.saturating_sub(1), size).await?;
        let mut lines = page.lines.into_iter();
        match lines.next() {
            Some(first) if self.consumed > 0 && same(&first, &last) => {
                self.resynced = false;
                let before = self.ready.len();
                self.ready.extend(lines);
                Ok((self.ready.len() - before) as u64)
            }
            _ => {
                let again = std::mem::replace(&mut self.resynced, true);
                self.resync(&last).await?;
                if again {
                    // Lost twice running: the log does not hold still at
                    // its offsets (or the service ignores `offset`). Pause
                    // and back off like an idle poll, not a tight loop.
                    tracing::debug!("the log shifted again under the cursor; backing off");
                    return Ok(0);
                }
                // Read on at once from the new position.
                Ok(u64::from(size))
            }
        }
    }

    /// Finds `last` again after the log shifted and sets `consumed` after it.
    async fn resync(&mut self, last: &Key) -> Result<(), Error> {
        let size = self.page_size();
        let half = u64::from(size / 2).max(1);
        let from = self.consumed.saturating_sub(half + 1);
        let window = (self.fetch)(from, size).await?;
        let expected = self.consumed.saturating_sub(1);
        let found = window
            .lines
            .iter()
            .enumerate()
            .filter(|(_, line)| same(line, last))
            .map(|(i, _)| from + i as u64)
            .min_by_key(|p| p.abs_diff(expected));
        if let Some(position) = found {
            self.consumed = position + 1;
            return Ok(());
        }
        let Some(last_time) = last.0.as_deref() else {
            // Nothing to search by: carry on where we were, unanchored.
            self.last = None;
            return Ok(());
        };
        // The first line with a later timestamp, by binary search.
        let (mut lo, mut hi) = (0, self.count().await?);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let page = (self.fetch)(mid, 1).await?;
            let later = page
                .lines
                .first()
                .and_then(|l| l.timestamp.as_deref())
                .is_none_or(|t| after(t, last_time).unwrap_or(true));
            if later {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        self.consumed = lo;
        if lo == 0 {
            self.last = None;
        } else {
            let page = (self.fetch)(lo - 1, 1).await?;
            self.last = page.lines.first().map(key);
        }
        Ok(())
    }

    /// How many lines the log has now: the total when it is exact, else
    /// found by galloping then binary search on one-line reads.
    async fn count(&mut self) -> Result<u64, Error> {
        let page = (self.fetch)(0, 1).await?;
        if let Some(total) = page.exact_total {
            return Ok(total);
        }
        if page.lines.is_empty() {
            return Ok(0);
        }
        // Lines exist at every position below `lo`; none at `hi` (once found).
        let mut lo = 1u64;
        let mut hi = 2u64;
        loop {
            let page = (self.fetch)(hi - 1, 1).await?;
            if let Some(total) = page.exact_total {
                return Ok(total);
            }
            if page.lines.is_empty() {
                break;
            }
            lo = hi;
            hi = hi.saturating_mul(2);
        }
        // Now total is in lo..hi.
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            let page = (self.fetch)(mid - 1, 1).await?;
            if page.lines.is_empty() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(lo)
    }
}

/// The follow stream over any ascending page source (`fetch(offset, limit)`).
pub(crate) fn follow<'a, F, Fut>(
    options: Follow,
    fetch: F,
) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + 'a
where
    F: FnMut(u64, u32) -> Fut + 'a,
    Fut: Future<Output = Result<Page, Error>> + 'a,
{
    let backoff = Backoff::new(options.poll_interval, options.max_poll_interval);
    let follower = Follower {
        fetch,
        options,
        consumed: 0,
        last: None,
        started: false,
        ready: VecDeque::new(),
        more: true,
        resynced: false,
        backoff,
    };
    stream::unfold(follower, |mut follower| async move {
        let item = follower.next().await;
        Some((item, follower))
    })
}

impl<'a> builder::GetLogs<'a> {
    /// Every matching line, oldest first, then each new line as it is
    /// written, until the stream is dropped (like `tail -f`), with the
    /// default [`Follow`] options. See the [module](crate::jobs::follow) for the
    /// cursor and what it guarantees.
    ///
    /// The `limit`, `offset` and `order` set on the builder are replaced;
    /// the other filters apply. An error is yielded and the stream carries
    /// on polling from the same position; stop reading to stop.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt as _;
    /// # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
    /// let mut logs = std::pin::pin!(client.get_logs().agent_name("my-agent").follow());
    /// while let Some(line) = logs.try_next().await? {
    ///     println!("{}", line.log.unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn follow(self) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + 'a {
        self.follow_with(Follow::default())
    }

    /// As [`follow`](Self::follow), with the given polling, start and page size.
    pub fn follow_with(
        self,
        options: Follow,
    ) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + 'a {
        follow(options, move |offset, limit| {
            let request = self
                .clone()
                .order(GetLogsOrder::Asc)
                .offset(i64::try_from(offset).unwrap_or(i64::MAX))
                .limit(i64::from(limit));
            async move {
                let page = request.send().await?;
                let exact_total = page
                    .total
                    .filter(|t| t.relation == Some(GetLogsResponseTotalRelation::Eq))
                    .and_then(|t| t.value)
                    .and_then(|v| u64::try_from(v).ok());
                Ok(Page {
                    lines: page.logs,
                    exact_total,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures_util::StreamExt as _;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn line(i: u64) -> GetLogsResponseLogsItem {
        GetLogsResponseLogsItem {
            timestamp: Some((i * 10).to_string()),
            log: Some(format!("line {i}")),
            ..Default::default()
        }
    }

    /// A follower over an in-memory log the test changes as it reads.
    fn over(
        log: &Rc<RefCell<Vec<GetLogsResponseLogsItem>>>,
    ) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + use<> {
        let log = log.clone();
        let options = Follow::new()
            .poll_interval(Duration::from_millis(1))
            .max_poll_interval(Duration::from_millis(2))
            .page_size(5);
        follow(options, move |offset, limit| {
            let log = log.borrow();
            let start = (offset as usize).min(log.len());
            let end = (start + limit as usize).min(log.len());
            let lines = log[start..end].to_vec();
            async move {
                Ok(Page {
                    lines,
                    exact_total: None,
                })
            }
        })
    }

    async fn texts<S>(s: &mut S, n: usize) -> Vec<String>
    where
        S: Stream<Item = Result<GetLogsResponseLogsItem, Error>> + Unpin,
    {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(s.next().await.unwrap().unwrap().log.unwrap());
        }
        out
    }

    fn expected(r: std::ops::Range<u64>) -> Vec<String> {
        r.map(|i| format!("line {i}")).collect()
    }

    #[tokio::test]
    async fn old_lines_expiring_neither_repeats_nor_skips() {
        let log = Rc::new(RefCell::new((0..20).map(line).collect::<Vec<_>>()));
        let mut s = std::pin::pin!(over(&log));
        assert_eq!(texts(&mut s, 20).await, expected(0..20));
        log.borrow_mut().drain(0..2);
        log.borrow_mut().extend((20..27).map(line));
        assert_eq!(texts(&mut s, 7).await, expected(20..27));
    }

    #[tokio::test]
    async fn a_late_line_behind_the_cursor_is_not_yielded_nor_repeats_others() {
        let log = Rc::new(RefCell::new((0..10).map(line).collect::<Vec<_>>()));
        let mut s = std::pin::pin!(over(&log));
        assert_eq!(texts(&mut s, 10).await, expected(0..10));
        let mut late = line(3);
        late.log = Some("late".into());
        log.borrow_mut().insert(4, late);
        log.borrow_mut().extend((10..13).map(line));
        assert_eq!(texts(&mut s, 3).await, expected(10..13));
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_ignores_offset_is_polled_with_backoff_not_in_a_tight_loop() {
        // Every read answers the first lines, whatever the offset asked.
        let log: Vec<_> = (0..10).map(line).collect();
        let calls = Rc::new(RefCell::new(0u32));
        let counter = calls.clone();
        let options = Follow::new()
            .poll_interval(Duration::from_millis(100))
            .max_poll_interval(Duration::from_secs(1))
            .page_size(5);
        let mut s = std::pin::pin!(follow(options, move |_offset, limit| {
            *counter.borrow_mut() += 1;
            let n = *counter.borrow();
            let lines = log[..limit as usize].to_vec();
            async move {
                if n > 10_000 {
                    // Only a tight loop gets here; end it so the test fails.
                    return Err(Error::InvalidRequest {
                        message: "tight loop".into(),
                    });
                }
                Ok(Page {
                    lines,
                    exact_total: None,
                })
            }
        }));
        assert_eq!(texts(&mut s, 5).await, expected(0..5));
        let waited = tokio::time::timeout(Duration::from_secs(10), s.next()).await;
        assert!(
            waited.is_err(),
            "no new line, yet the follower ended: {waited:?}"
        );
        let calls = *calls.borrow();
        // Backing off to 1 s: about a dozen polls in 10 s, a few reads each.
        assert!(calls < 100, "{calls} reads in 10 s");
    }

    #[tokio::test]
    async fn a_shift_wider_than_the_window_resumes_by_timestamp() {
        let log = Rc::new(RefCell::new((0..20).map(line).collect::<Vec<_>>()));
        let mut s = std::pin::pin!(over(&log));
        assert_eq!(texts(&mut s, 20).await, expected(0..20));
        // 12 lines expire: the last one yielded is now 12 places earlier.
        log.borrow_mut().drain(0..12);
        log.borrow_mut().extend((20..24).map(line));
        assert_eq!(texts(&mut s, 4).await, expected(20..24));
        // The anchor itself expires too.
        log.borrow_mut().clear();
        log.borrow_mut().extend((24..26).map(line));
        assert_eq!(texts(&mut s, 2).await, expected(24..26));
    }
}
