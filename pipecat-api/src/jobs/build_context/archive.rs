//! Writing the deterministic `.tar.gz` and hashing it as it is written.
//!
//! The tar stream is compressed on every core by [`gzip::ParallelGzip`],
//! whose bytes do not depend on the number of cores; the MD5 is computed
//! on its writer thread, beside the compression.

mod gzip;
#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};
use std::path::Path;

use md5::{Digest, Md5};

use crate::Error;

use super::refuse;
use super::walk::Found;

/// The buffer between the compressor and the archive file.
pub(super) const WRITE_BUFFER: usize = 256 * 1024;

/// What [`write_archive`] wrote: the archive's size and hash.
pub(super) struct Written {
    pub(super) bytes: u64,
    pub(super) hash: String,
    /// Blocks compressed and stored, for the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) gzip: gzip::Summary,
}

/// Writes the sorted files into a deterministic `.tar.gz` on `out`, hashing
/// it on the way; gives `out` back (not flushed) with the size and hash.
/// Compresses on every core.
pub(super) fn write_archive<W: Write + Send + 'static>(
    root: &Path,
    files: &[Found],
    out: W,
) -> Result<(W, Written), Error> {
    write_archive_with(root, files, out, gzip::default_workers())
}

/// [`write_archive`] with `workers` compression threads: the bytes are the
/// same whatever their number.
pub(super) fn write_archive_with<W: Write + Send + 'static>(
    root: &Path,
    files: &[Found],
    out: W,
    workers: usize,
) -> Result<(W, Written), Error> {
    let out = Hashing {
        inner: out,
        md5: Md5::new(),
        bytes: 0,
    };
    let gzip = gzip::ParallelGzip::new(out, workers).map_err(|err| Error::io(root, err))?;
    let mut tar = tar::Builder::new(gzip);
    for file in files {
        if let Some(target) = &file.link {
            // A path to a directory packed elsewhere (see walk).
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            tar.append_link(&mut header, &file.rel, target)
                .map_err(|err| Error::io(root.join(&file.rel), err))?;
            continue;
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.size);
        header.set_mode(if file.executable { 0o755 } else { 0o644 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let rel = &file.rel;
        // A regular file only: never hang on a FIFO swapped in since the walk.
        let opened = crate::jobs::regular_file::open(&file.source)
            .map_err(|err| Error::io(&file.source, err))?;
        let mut reader = Counted {
            inner: opened.take(file.size),
            read: 0,
        };
        tar.append_data(&mut header, rel, &mut reader)
            .map_err(|err| Error::io(&file.source, err))?;
        // Shorter than it was when walked, or longer (a byte left over).
        let grew = reader.inner.into_inner().read(&mut [0u8; 1]).unwrap_or(0) > 0;
        if reader.read != file.size || grew {
            return Err(refuse(
                root,
                format!("`{rel}` changed size while it was being packed; try again"),
            ));
        }
    }
    // Writing the archive (to its temporary file) failed.
    let gzip = tar.into_inner().map_err(|err| Error::io(root, err))?;
    let (out, summary) = gzip.finish().map_err(|err| Error::io(root, err))?;
    let hash = out
        .md5
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok((
        out.inner,
        Written {
            bytes: out.bytes,
            hash,
            gzip: summary,
        },
    ))
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    md5: Md5,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that counts what it gives.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
