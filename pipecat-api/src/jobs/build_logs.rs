//! Following a build's log until the build ends:
//! [`Client::follow_build_logs`], on the poller ([`crate::jobs::poll`]).

use std::collections::VecDeque;

use futures_core::Stream;

use crate::jobs::poll::{Poller, Verdict};
use crate::jobs::state::JobState;
use crate::types::{Build, BuildStatus};
use crate::{Client, Error, Job, Wait};

/// The most lines one `getBuildLogs` answer holds (the API's `limit` cap).
const MAX_LINES: u32 = 10_000;

/// What [`Client::follow_build_logs`] yields: the log's lines, each once and
/// in order, then (when the log is longer than the API returns)
/// [`Cut`](BuildLogEvent::Cut), then [`Succeeded`](BuildLogEvent::Succeeded)
/// as the last item. A build that failed or timed out in the service ends
/// the stream with [`Error::Failed`] instead, one still running at the
/// deadline with [`Error::Timeout`] (both with the build as last read,
/// [`JobState::Build`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BuildLogEvent {
    /// A line of the log.
    Line(String),
    /// The build ended with a log longer than the API returns (it has no
    /// parameter to page on): the lines after the first `shown` could not
    /// be read. The whole log is at the build's `logsUrl`.
    Cut {
        /// How many lines were yielded.
        shown: usize,
    },
    /// The build succeeded: the last item.
    Succeeded(Box<Build>),
}

/// Where a build is: done on `success`, failed on `failed` or `timeout`
/// (with its error message), pending on any other status, one newer than
/// this crate included.
pub(crate) fn assess_build(build: &Build) -> Verdict<()> {
    let message = || build.error_message.clone().filter(|m| !m.is_empty());
    match &build.status {
        Some(BuildStatus::Success) => Verdict::Done,
        Some(BuildStatus::Failed) => Verdict::Failed(
            message().unwrap_or_else(|| "the build ended in status failed (no message)".into()),
        ),
        Some(BuildStatus::Timeout) => Verdict::Failed(match message() {
            Some(message) => format!("the build timed out in the service: {message}"),
            None => "the build timed out in the service (no message)".into(),
        }),
        _ => Verdict::Pending(()),
    }
}

/// The follow's state between items.
struct BuildLogs<'a> {
    client: &'a Client,
    build_id: uuid::Uuid,
    poller: Poller,
    /// Whether the first poll was made (it is made without a pause).
    polled: bool,
    /// Lines yielded (or queued) so far: the log only grows, so the lines
    /// of each read after these are the new ones.
    shown: usize,
    /// Items to yield before polling again.
    queue: VecDeque<Result<BuildLogEvent, Error>>,
    /// Whether the stream ends once `queue` is empty.
    ended: bool,
    /// The build as last read.
    last: Build,
}

impl BuildLogs<'_> {
    async fn next(&mut self) -> Option<Result<BuildLogEvent, Error>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            if self.polled && !self.poller.pause().await {
                self.ended = true;
                return Some(Err(Error::Timeout {
                    job: Job::Build {
                        build_id: self.build_id,
                    },
                    waited: self.poller.waited(),
                    last: JobState::Build(Box::new(std::mem::take(&mut self.last))).into(),
                }));
            }
            self.polled = true;
            if let Err(error) = self.read().await {
                self.ended = true;
                return Some(Err(error));
            }
        }
    }

    /// One poll: the status, then the log, queueing the new lines and, when
    /// the build is final, its outcome.
    async fn read(&mut self) -> Result<(), Error> {
        // The status first: once it is final, the log read after it is whole.
        let build = self
            .client
            .get_build()
            .build_id(self.build_id)
            .send()
            .await?
            .build
            .unwrap_or_default();
        let logs = self
            .client
            .get_build_logs()
            .build_id(self.build_id)
            .limit(MAX_LINES)
            .send()
            .await?;
        let total = logs.logs.len();
        self.queue.extend(
            logs.logs
                .into_iter()
                .skip(self.shown)
                .map(|line| Ok(BuildLogEvent::Line(line))),
        );
        self.shown = self.shown.max(total);
        let verdict = assess_build(&build);
        if verdict != Verdict::Pending(()) {
            self.ended = true;
            if logs.next_token.is_some() {
                self.queue
                    .push_back(Ok(BuildLogEvent::Cut { shown: self.shown }));
            }
        }
        match verdict {
            Verdict::Done => self
                .queue
                .push_back(Ok(BuildLogEvent::Succeeded(Box::new(build)))),
            Verdict::Failed(reason) => self.queue.push_back(Err(Error::Failed {
                job: Job::Build {
                    build_id: self.build_id,
                },
                reason,
                last: JobState::Build(Box::new(build)).into(),
            })),
            Verdict::Pending(()) => self.last = build,
        }
        Ok(())
    }
}

impl Client {
    /// Follows the log of build `build_id` until the build ends, like
    /// `tail -f`: polls the build and its log (on the poller, with `wait`'s
    /// pauses and deadline) and yields each line once, in order; ends with
    /// the build's outcome (see [`BuildLogEvent`]). Any status other than
    /// `success`, `failed` and `timeout`, one newer than this crate
    /// included, keeps it going. An error reading the build or its log
    /// ends the stream with that error. Drop the stream to stop.
    ///
    /// The API cannot page a build's log and returns at most its first
    /// 10 000 lines; the log only grows, so the lines already yielded are
    /// counted and skipped.
    ///
    /// ```no_run
    /// use futures_util::StreamExt as _;
    /// use pipecat_api::follow::BuildLogEvent;
    /// # async fn run(client: pipecat_api::Client, id: pipecat_api::uuid::Uuid) -> Result<(), pipecat_api::Error> {
    /// let mut log = std::pin::pin!(client.follow_build_logs(id, pipecat_api::Wait::default()));
    /// while let Some(event) = log.next().await {
    ///     match event? {
    ///         BuildLogEvent::Line(line) => println!("{line}"),
    ///         BuildLogEvent::Cut { shown } => eprintln!("only the first {shown} lines"),
    ///         BuildLogEvent::Succeeded(_) => eprintln!("built"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn follow_build_logs(
        &self,
        build_id: uuid::Uuid,
        wait: Wait,
    ) -> impl Stream<Item = Result<BuildLogEvent, Error>> + Send + '_ {
        let follow = BuildLogs {
            client: self,
            build_id,
            poller: Poller::new(&wait),
            polled: false,
            shown: 0,
            queue: VecDeque::new(),
            ended: false,
            last: Build::default(),
        };
        futures_util::stream::unfold(follow, |mut follow| async move {
            let item = follow.next().await?;
            Some((item, follow))
        })
    }
}
