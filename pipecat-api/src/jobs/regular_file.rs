//! Opening only regular files.
//!
//! Opening a FIFO for reading blocks until a writer comes, and reading a
//! character device may never end, so a FIFO or device where a file is
//! expected (`pcc-deploy.toml`, `.dockerignore`, a file in a build context)
//! would hang us. The type is checked before opening (so nothing with side
//! effects on open, like a tape device, is opened), the open itself does not
//! block (`O_NONBLOCK` on unix), and the opened file's type is checked again,
//! so a file swapped for a FIFO between the two cannot hang us either.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` (following symlinks) for reading if it is a regular file;
/// anything else is an [`io::ErrorKind::InvalidInput`] error saying what it is.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    check(&fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    check(&file.metadata()?)?;
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes.
pub(crate) fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// Reads up to `limit` bytes from the start of `file`.
#[cfg(feature = "cloud-build")]
pub(crate) fn read_prefix(file: File, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(limit);
    file.take(limit as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What a file system entry is, in words, for an error message.
pub(crate) fn kind(meta: &fs::Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_file() {
        return "a regular file";
    }
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

fn check(meta: &fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind(meta)),
        ))
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK only changes how a FIFO or device opens and reads; for
    // the regular file we keep, reads behave as usual.
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::process::Command;

    fn mkfifo(path: &Path) {
        let status = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::TempDir::new().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let err = open(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let err = read(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        // Through a symlink too.
        std::os::unix::fs::symlink(&fifo, dir.path().join("link")).unwrap();
        assert!(open(&dir.path().join("link")).is_err());
    }

    #[test]
    fn devices_and_directories_are_refused_and_files_read() {
        let err = read(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        let dir = tempfile::TempDir::new().unwrap();
        let err = open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let file = dir.path().join("f");
        fs::write(&file, "12345").unwrap();
        assert_eq!(read(&file, 5).unwrap(), b"12345");
        let err = read(&file, 4).unwrap_err();
        assert!(err.to_string().contains("larger than 4 bytes"), "{err}");
    }
}
