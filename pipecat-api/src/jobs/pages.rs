//! Listings paged with `limit`/`offset` (agent logs, agent sessions, builds)
//! as lazy streams of items.
//!
//! Build logs (`get_build_logs`) are not a stream: the API returns at most
//! 10,000 lines and a `nextToken` when there are more, but `getBuildLogs`
//! takes no parameter to send the token back (nor an offset), so the lines
//! after the first page cannot be asked for. Read them with one call and a
//! `limit` of up to 10,000; `next_token` tells whether some were left out.
//! Agent logs can also be followed as they are written:
//! [`GetLogs::follow`](crate::builder::GetLogs::follow).
//!
//! Set the filters on the generated builder as usual, then call
//! `into_stream()`: pages are fetched as the stream is read, and at most one
//! page is held in memory.
//!
//! ```no_run
//! use futures_util::TryStreamExt as _;
//! # async fn run(client: pipecat_api::Client) -> Result<(), pipecat_api::Error> {
//! let mut logs = std::pin::pin!(client.get_logs().agent_name("my-agent").into_stream());
//! while let Some(line) = logs.try_next().await? {
//!     println!("{} {}", line.timestamp.unwrap_or_default(), line.log.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

use std::future::Future;

use futures_core::Stream;
use futures_util::{TryStreamExt as _, stream};

use crate::types::{Build, GetLogsResponseLogsItem, GetLogsResponseTotalRelation, SessionResponse};
use crate::{Error, builder};

/// Items fetched per page unless the caller says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// One fetched page: its items, and the total when the service knows it exactly.
struct Page<T> {
    items: Vec<T>,
    exact_total: Option<u64>,
}

/// A stream of the items of successive pages. `fetch(offset, limit)` gets
/// one page; the stream ends after a short page, or once `exact_total`
/// items have been seen. An error ends the stream after yielding it.
fn paginate<'a, T, F, Fut>(page_size: u32, fetch: F) -> impl Stream<Item = Result<T, Error>> + 'a
where
    T: 'a,
    F: Fn(u64, u32) -> Fut + 'a,
    Fut: Future<Output = Result<Page<T>, Error>> + 'a,
{
    let page_size = page_size.max(1);
    stream::try_unfold((0u64, false), move |(offset, done)| {
        let page = (!done).then(|| fetch(offset, page_size));
        async move {
            let Some(page) = page else {
                return Ok::<_, Error>(None);
            };
            let Page { items, exact_total } = page.await?;
            let seen = offset + items.len() as u64;
            let done = items.len() < page_size as usize || exact_total.is_some_and(|t| seen >= t);
            Ok(Some((items, (seen, done))))
        }
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
}

fn non_negative(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok())
}

impl<'a> builder::GetLogs<'a> {
    /// Every matching log line, [`DEFAULT_PAGE_SIZE`] per request. The
    /// `limit` and `offset` set on the builder are replaced.
    pub fn into_stream(self) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + 'a {
        self.into_stream_with_page_size(DEFAULT_PAGE_SIZE)
    }

    /// Every matching log line, `page_size` per request.
    pub fn into_stream_with_page_size(
        self,
        page_size: u32,
    ) -> impl Stream<Item = Result<GetLogsResponseLogsItem, Error>> + 'a {
        paginate(page_size, move |offset, limit| {
            let request = self.clone().offset(offset as i64).limit(i64::from(limit));
            async move {
                let page = request.send().await?;
                let exact_total = page
                    .total
                    .filter(|t| t.relation == Some(GetLogsResponseTotalRelation::Eq))
                    .and_then(|t| non_negative(t.value));
                Ok(Page {
                    items: page.logs,
                    exact_total,
                })
            }
        })
    }
}

impl<'a> builder::GetSessions<'a> {
    /// Every matching session, [`DEFAULT_PAGE_SIZE`] per request. The
    /// `limit` and `offset` set on the builder are replaced.
    pub fn into_stream(self) -> impl Stream<Item = Result<SessionResponse, Error>> + 'a {
        self.into_stream_with_page_size(DEFAULT_PAGE_SIZE)
    }

    /// Every matching session, `page_size` per request.
    pub fn into_stream_with_page_size(
        self,
        page_size: u32,
    ) -> impl Stream<Item = Result<SessionResponse, Error>> + 'a {
        paginate(page_size, move |offset, limit| {
            let request = self.clone().offset(offset as i64).limit(i64::from(limit));
            async move {
                let page = request.send().await?;
                Ok(Page {
                    items: page.sessions,
                    exact_total: non_negative(page.total_count),
                })
            }
        })
    }
}

impl<'a> builder::ListBuilds<'a> {
    /// Every matching build, at most 100 per request (the API's maximum).
    /// The `limit` and `offset` set on the builder are replaced.
    pub fn into_stream(self) -> impl Stream<Item = Result<Build, Error>> + 'a {
        self.into_stream_with_page_size(DEFAULT_PAGE_SIZE)
    }

    /// Every matching build, `page_size` (1-100) per request.
    pub fn into_stream_with_page_size(
        self,
        page_size: u32,
    ) -> impl Stream<Item = Result<Build, Error>> + 'a {
        let page_size = page_size.clamp(1, 100);
        paginate(page_size, move |offset, limit| {
            let request = self.clone().offset(offset).limit(u64::from(limit));
            async move {
                let page = request.send().await?;
                Ok(Page {
                    items: page.builds,
                    exact_total: non_negative(page.total),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A fake listing of `total` numbers, recording each (offset, limit) asked.
    fn listing(
        total: u64,
        exact: bool,
        calls: &RefCell<Vec<(u64, u32)>>,
    ) -> impl Stream<Item = Result<u64, Error>> + '_ {
        paginate(3, move |offset, limit| {
            calls.borrow_mut().push((offset, limit));
            let items: Vec<u64> = (offset..total.min(offset + u64::from(limit))).collect();
            async move {
                Ok(Page {
                    items,
                    exact_total: exact.then_some(total),
                })
            }
        })
    }

    fn collect(s: impl Stream<Item = Result<u64, Error>>) -> Vec<u64> {
        futures_executor_lite(s.try_collect::<Vec<u64>>()).unwrap_or_default()
    }

    /// Runs a future that never waits (the fake pages are ready at once).
    fn futures_executor_lite<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn pages_until_a_short_page() {
        let calls = RefCell::new(Vec::new());
        assert_eq!(
            collect(listing(7, false, &calls)),
            (0..7).collect::<Vec<_>>()
        );
        assert_eq!(*calls.borrow(), [(0, 3), (3, 3), (6, 3)]);
    }

    #[test]
    fn an_exact_total_saves_the_last_request() {
        let calls = RefCell::new(Vec::new());
        assert_eq!(collect(listing(6, true, &calls)).len(), 6);
        assert_eq!(*calls.borrow(), [(0, 3), (3, 3)]);
        let calls = RefCell::new(Vec::new());
        assert_eq!(collect(listing(6, false, &calls)).len(), 6);
        assert_eq!(
            calls.borrow().len(),
            3,
            "without a total, an empty page ends it"
        );
    }

    #[test]
    fn nothing_is_fetched_until_read() {
        let calls = RefCell::new(Vec::new());
        let stream = listing(7, false, &calls);
        assert!(calls.borrow().is_empty());
        drop(stream);
    }
}
