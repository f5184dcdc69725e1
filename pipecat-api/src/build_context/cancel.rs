//! Stopping a pack (or a whole cloud build) from another thread or task:
//! a shared flag, checked between the archive's writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that stops [`pack`](super::pack) (and
/// [`Client::cloud_build`](crate::Client::cloud_build)) early: once
/// [`cancel`](Self::cancel) is called on any clone, packing stops at its
/// next write (every few tens of KiB of compressed output), the partial
/// archive is deleted, and the call ends with [`Error::Cancelled`](crate::Error::Cancelled).
///
/// ```
/// use pipecat_api::build_context::{CancelToken, ContextOptions};
///
/// let token = CancelToken::new();
/// let options = ContextOptions::new().cancel_token(token.clone());
/// // From a Ctrl-C handler, another thread or task:
/// token.cancel();
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder of a clone of this token to stop; cannot be undone.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// A writer that fails once its token is cancelled: wrapped around the
/// archive's file, it stops the compressor between two of its writes
/// without the walk or the archive writer knowing about tokens.
pub(super) struct Cancellable<W> {
    pub(super) inner: W,
    pub(super) token: CancelToken,
}

impl<W: std::io::Write> std::io::Write for Cancellable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.token.is_cancelled() {
            return Err(std::io::Error::new(
                // Not `Interrupted`: `write_all` would retry that forever.
                std::io::ErrorKind::Other,
                "packing was cancelled",
            ));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
