//! Showing long work: a spinner (or a byte bar while uploading) with the
//! current phase on a terminal, plain lines on stderr otherwise (never an
//! escape sequence on a pipe), and stopping a wait on Ctrl-C.

use std::future::Future;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::failure::Failure;
use crate::output::{sanitize, to_stderr};

/// Where progress goes: shared, so a library callback (which must be
/// `Send + Sync + 'static`) can hold a copy.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

enum Inner {
    /// On a terminal: one line redrawn in place.
    Bar(ProgressBar),
    /// Not on a terminal: a line per phase change (the last one shown, to
    /// skip repeats).
    Plain(Mutex<String>),
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Inner::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// True when stderr is a terminal that can redraw a line.
fn animated() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl Progress {
    /// A spinner on a terminal, plain lines otherwise.
    pub fn new() -> Self {
        let inner = if animated() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(100));
            Inner::Bar(bar)
        } else {
            Inner::Plain(Mutex::new(String::new()))
        };
        Progress {
            inner: Arc::new(inner),
        }
    }

    /// The current phase; shown as a new line only when it changed. Its
    /// text may hold the service's words, so it is sanitized.
    pub fn phase(&self, text: &str) {
        let text = &*sanitize(text);
        match &*self.inner {
            Inner::Bar(bar) => {
                if bar.length().is_some() {
                    bar.set_style(spinner_style());
                    bar.unset_length();
                }
                bar.set_message(text.to_string());
            }
            Inner::Plain(last) => {
                let Ok(mut last) = last.lock() else { return };
                if *last != text {
                    to_stderr(text);
                    text.clone_into(&mut last);
                }
            }
        }
    }

    /// Bytes sent of `total`: a bar on a terminal; without one, a line when
    /// the upload starts and one when it is done.
    pub fn bytes(&self, what: &str, sent: u64, total: u64) {
        match &*self.inner {
            Inner::Bar(bar) => {
                if bar.length() != Some(total) {
                    bar.set_style(bytes_style());
                    bar.set_length(total);
                    bar.set_message(what.to_string());
                }
                bar.set_position(sent);
            }
            Inner::Plain(_) => {
                if sent == 0 {
                    self.phase(&format!("{what}: {total} bytes"));
                } else if sent == total {
                    self.phase(&format!("{what}: done"));
                }
            }
        }
    }

    /// A line that stays (a warning, a result on the way), above the spinner.
    pub fn println(&self, text: &str) {
        let text = &*sanitize(text);
        match &*self.inner {
            Inner::Bar(bar) => bar.println(text),
            Inner::Plain(_) => to_stderr(text),
        }
    }

    /// Clears the spinner (plain lines stay).
    pub fn finish(&self) {
        if let Inner::Bar(bar) = &*self.inner {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Resolves when Ctrl-C is pressed; never, when the handler cannot be set up.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `work`, or stops waiting for it on Ctrl-C with
/// [`Failure::Interrupted`] saying what was left running (`left`).
pub async fn interruptible<T, E>(
    work: impl Future<Output = Result<T, E>>,
    progress: &Progress,
    left: &str,
) -> Result<T, Failure>
where
    Failure: From<E>,
{
    tokio::select! {
        result = work => {
            progress.finish();
            result.map_err(Failure::from)
        }
        () = ctrl_c() => {
            progress.finish();
            Err(Failure::Interrupted(format!("interrupted: stopped waiting; {left}")))
        }
    }
}
