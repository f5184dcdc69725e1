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
            // `other`, not `Interrupted`: `write_all` retries that forever.
            return Err(std::io::Error::other("packing was cancelled"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Error;
    use crate::jobs::build_context::{ContextOptions, pack};

    #[test]
    fn a_cancelled_token_stops_pack_and_leaves_no_file() {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let temp = tempfile::tempdir().unwrap();
        let token = CancelToken::new();
        token.cancel();
        let options = ContextOptions::new()
            .temp_dir(temp.path())
            .cancel_token(token.clone());
        let err = pack(context.path(), &options).unwrap_err();
        assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
        assert!(err.to_string().contains("nothing was sent"), "{err}");
        assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
        // A clone shares the flag; a fresh token packs.
        assert!(token.clone().is_cancelled());
        let fresh = ContextOptions::new()
            .temp_dir(temp.path())
            .cancel_token(CancelToken::new());
        assert!(pack(context.path(), &fresh).is_ok());
    }

    #[test]
    fn the_writer_fails_once_cancelled_and_not_before() {
        use std::io::Write as _;
        let token = CancelToken::new();
        let mut out = Cancellable {
            inner: Vec::new(),
            token: token.clone(),
        };
        out.write_all(b"abc").unwrap();
        token.cancel();
        assert!(out.write_all(b"def").is_err());
        assert_eq!(out.inner, b"abc");
    }
}
