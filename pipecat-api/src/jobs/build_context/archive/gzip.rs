//! A gzip writer that compresses on every core and still writes the same
//! bytes whatever the number of cores (the context hash is the MD5 of these
//! bytes, so it must not depend on the machine).
//!
//! The uncompressed stream is cut into blocks of [`BLOCK`] bytes at fixed
//! offsets (the last one shorter). Each block is deflated on its own by a
//! fresh compressor, primed with the 32 KiB of the stream before it as its
//! dictionary, and ended with a sync flush (byte-aligned, not final); the
//! last one ends the deflate stream. The blocks' outputs are written in
//! order, so together they are one raw deflate stream in one gzip member,
//! and the CRC-32 of the whole is combined from the blocks' CRCs. What a
//! block becomes depends only on its bytes and the 32 KiB before it: never
//! on which worker took it or when.
//!
//! A block whose content does not compress (model weights, archives,
//! media) is not deflated at all: a sample of it is tried first at
//! level 2, and when the sample does not shrink by
//! [`STORE_ABOVE_PERCENT`] the block goes in as stored deflate blocks. A
//! block that was deflated but came out no smaller than stored is stored
//! too. Both rules look only at the content.
//!
//! Memory is bounded: at most [`MAX_IN_FLIGHT`] blocks wait to be
//! compressed or written, so a slow disk holds the reader back instead of
//! piling blocks up.

use std::io::{self, Write};
use std::mem;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Size of the blocks the uncompressed stream is cut into. Changing it
/// changes every archive's bytes, so every context hash.
pub(crate) const BLOCK: usize = 256 * 1024;
/// The deflate window: how much of the stream before a block primes it.
const WINDOW: usize = 32 * 1024;
/// The deflate level (zlib's default).
const LEVEL: u32 = 6;
/// The sample tried before deflating a block: this many slices, evenly
/// spread over the block, of [`SAMPLE_SLICE`] bytes each.
const SAMPLE_SLICES: usize = 4;
/// The size of one slice of the sample.
const SAMPLE_SLICE: usize = 4 * 1024;
/// A block is stored when its sample, deflated at [`SAMPLE_LEVEL`], is
/// still more than this percentage of its size.
pub(crate) const STORE_ABOVE_PERCENT: usize = 95;
/// The level the sample is tried at: zlib-rs's level 1 codes literals with
/// the fixed Huffman table, so text of few distinct bytes (base64, hex,
/// lowercase) would not shrink there; level 2 builds its own table.
const SAMPLE_LEVEL: u32 = 2;
/// Largest payload of one stored deflate block.
const STORED_MAX: usize = 65_535;
/// Workers at most, whatever the machine offers (beyond this the reader and
/// the MD5 are the limit).
const MAX_WORKERS: usize = 16;
/// Blocks waiting to be compressed or written, at most.
const MAX_IN_FLIGHT: usize = 24;

/// The gzip header: deflate, no flags, mtime 0, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// How many compression workers to run here: one per core this process may
/// use (its CPU affinity included), at most [`MAX_WORKERS`].
pub(crate) fn default_workers() -> usize {
    thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_WORKERS)
}

/// What was written, besides the bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Blocks the stream was cut into.
    pub(crate) blocks: u64,
    /// Of which stored without compression (not counting an empty last one).
    pub(crate) stored: u64,
    /// Uncompressed bytes.
    pub(crate) input: u64,
}

/// One block to compress.
struct Job {
    block: Vec<u8>,
    /// The 32 KiB of the stream before `block` (less at the start).
    dictionary: Vec<u8>,
    last: bool,
    done: SyncSender<Result<Done, String>>,
}

/// One compressed block, ready to be written.
struct Done {
    bytes: Vec<u8>,
    crc: Crc,
    stored: bool,
    last: bool,
}

/// The writer's end of the pipeline: `write` fills the current block and
/// hands full ones to the workers; a thread writes their output to `W`, in
/// order. Call [`finish`](Self::finish) to end the gzip member; dropping it
/// unfinished stops the threads and leaves `W` with a truncated stream.
pub(crate) struct ParallelGzip<W: Write + Send + 'static> {
    block: Vec<u8>,
    dictionary: Vec<u8>,
    jobs: Option<SyncSender<Job>>,
    order: Option<SyncSender<Receiver<Result<Done, String>>>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<(W, Summary)>>>,
}

impl<W: Write + Send + 'static> ParallelGzip<W> {
    /// Starts `workers` compression threads (at least one) and the thread
    /// writing to `out`.
    pub(crate) fn new(out: W, workers: usize) -> io::Result<Self> {
        let workers = workers.clamp(1, MAX_WORKERS);
        let in_flight = (2 * workers + 2).min(MAX_IN_FLIGHT);
        let (jobs, job_queue) = sync_channel::<Job>(workers);
        let job_queue = Arc::new(Mutex::new(job_queue));
        let (order, order_queue) = sync_channel(in_flight);
        let mut this = Self {
            block: Vec::with_capacity(BLOCK),
            dictionary: Vec::new(),
            jobs: Some(jobs),
            order: Some(order),
            workers: Vec::with_capacity(workers),
            writer: None,
        };
        for index in 0..workers {
            let queue = Arc::clone(&job_queue);
            this.workers.push(
                thread::Builder::new()
                    .name(format!("pipecat-gzip-{index}"))
                    .spawn(move || work(&queue))?,
            );
        }
        this.writer = Some(
            thread::Builder::new()
                .name("pipecat-gzip-writer".to_owned())
                .spawn(move || write_in_order(out, &order_queue))?,
        );
        Ok(this)
    }

    /// Ends the stream (the last block, the CRC and the length) and gives
    /// `W` back, not flushed, with what was written.
    pub(crate) fn finish(mut self) -> io::Result<(W, Summary)> {
        self.dispatch(true)?;
        self.stop();
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the archive writer thread failed")),
            None => Err(io::Error::other("the archive writer is gone")),
        }
    }

    /// Hands the current block to the workers and starts the next one.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let block = mem::replace(
            &mut self.block,
            Vec::with_capacity(if last { 0 } else { BLOCK }),
        );
        let tail = block.len().saturating_sub(WINDOW);
        let next_dictionary = block.get(tail..).unwrap_or_default().to_vec();
        let dictionary = mem::replace(&mut self.dictionary, next_dictionary);
        let (done, result) = sync_channel(1);
        let sent = match (&self.order, &self.jobs) {
            // The writer learns the order first, so blocks are written in
            // the order they were cut whichever worker ends first.
            (Some(order), Some(jobs)) => {
                order.send(result).is_ok()
                    && jobs
                        .send(Job {
                            block,
                            dictionary,
                            last,
                            done,
                        })
                        .is_ok()
            }
            _ => false,
        };
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// Why the pipeline stopped taking blocks: the writer's error, if it
    /// had one.
    fn stopped(&mut self) -> io::Error {
        self.stop();
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Err(err))) => err,
            _ => io::Error::other("the archive writer stopped"),
        }
    }

    /// Closes the queues and waits for the workers.
    fn stop(&mut self) {
        self.jobs = None;
        self.order = None;
        for worker in self.workers.drain(..) {
            // A worker that failed has already reported it as its block's result.
            let _ = worker.join();
        }
    }
}

impl<W: Write + Send + 'static> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.block.len());
        self.block
            .extend_from_slice(buf.get(..n).unwrap_or_default());
        if self.block.len() == BLOCK {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Block boundaries are fixed by the data, never by a flush.
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.stop();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A worker: compresses blocks until the queue closes.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        let result = compress_block(&job.block, &job.dictionary, job.last);
        // The writer is gone only when packing already failed.
        let _ = job.done.send(result);
    }
}

/// Writes the header, then each block's output in order, then the trailer
/// once the last block has come.
fn write_in_order<W: Write>(
    mut out: W,
    order: &Receiver<Receiver<Result<Done, String>>>,
) -> io::Result<(W, Summary)> {
    out.write_all(&HEADER)?;
    let mut crc = Crc::new();
    let mut summary = Summary::default();
    let mut input = 0u64;
    for result in order {
        let done = result
            .recv()
            .map_err(|_| io::Error::other("a compression worker stopped"))?
            .map_err(io::Error::other)?;
        out.write_all(&done.bytes)?;
        crc.combine(&done.crc);
        input += u64::from(done.crc.amount());
        summary.blocks += 1;
        summary.stored += u64::from(done.stored);
        if done.last {
            out.write_all(&crc.sum().to_le_bytes())?;
            // ISIZE: the length modulo 2^32, as gzip defines it.
            out.write_all(&crc.amount().to_le_bytes())?;
            summary.input = input;
            return Ok((out, summary));
        }
    }
    Err(io::Error::other("the archive was not finished"))
}

/// One block's output: deflated, or stored when it does not compress.
fn compress_block(block: &[u8], dictionary: &[u8], last: bool) -> Result<Done, String> {
    let mut crc = Crc::new();
    crc.update(block);
    let deflated = if sample_compresses(block)? {
        deflate(block, dictionary, last)?.filter(|out| out.len() < stored_len(block.len()))
    } else {
        None
    };
    // The empty last block of a stream cut exactly at a block boundary is
    // not counted: there was nothing to compress.
    let stored = deflated.is_none() && !block.is_empty();
    Ok(Done {
        bytes: deflated.unwrap_or_else(|| stored_blocks(block, last)),
        crc,
        stored,
        last,
    })
}

/// Whether a sample of the block shrinks by more than
/// `100 - STORE_ABOVE_PERCENT` percent at [`SAMPLE_LEVEL`].
fn sample_compresses(block: &[u8]) -> Result<bool, String> {
    let mut sample = Vec::with_capacity(SAMPLE_SLICES * SAMPLE_SLICE);
    if block.len() <= SAMPLE_SLICES * SAMPLE_SLICE {
        sample.extend_from_slice(block);
    } else {
        let step = (block.len() - SAMPLE_SLICE) / (SAMPLE_SLICES - 1);
        for index in 0..SAMPLE_SLICES {
            let start = index * step;
            sample.extend_from_slice(block.get(start..start + SAMPLE_SLICE).unwrap_or_default());
        }
    }
    if sample.is_empty() {
        return Ok(false);
    }
    let mut compressor = Compress::new(Compression::new(SAMPLE_LEVEL), false);
    let mut out = Vec::with_capacity(sample.len() + sample.len() / 8 + 64);
    let status = compressor
        .compress_vec(&sample, &mut out, FlushCompress::Finish)
        .map_err(|err| format!("deflate: {err}"))?;
    // Not finished in that room: it grew, so it does not compress.
    Ok(status == Status::StreamEnd && out.len() * 100 <= sample.len() * STORE_ABOVE_PERCENT)
}

/// Deflates `block` with a fresh compressor primed with `dictionary`; ends
/// with a sync flush, or the end of the stream when `last`. `None` when the
/// output grows past the stored size (it is stored then).
fn deflate(block: &[u8], dictionary: &[u8], last: bool) -> Result<Option<Vec<u8>>, String> {
    let mut compressor = Compress::new(Compression::new(LEVEL), false);
    if !dictionary.is_empty() {
        compressor
            .set_dictionary(dictionary)
            .map_err(|err| format!("deflate dictionary: {err}"))?;
    }
    let limit = stored_len(block.len());
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(block.len() / 2 + 1024);
    let mut rest = block;
    loop {
        let before = compressor.total_in();
        let status = compressor
            .compress_vec(rest, &mut out, flush)
            .map_err(|err| format!("deflate: {err}"))?;
        let used = usize::try_from(compressor.total_in() - before).unwrap_or(usize::MAX);
        rest = rest.get(used..).unwrap_or_default();
        let complete = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            // zlib: a flush is complete when it returns with room left.
            _ => rest.is_empty() && out.len() < out.capacity(),
        };
        if complete {
            return Ok(Some(out));
        }
        if out.len() >= limit {
            return Ok(None);
        }
        out.reserve(block.len() / 4 + 1024);
    }
}

/// The size of `len` bytes as stored deflate blocks.
fn stored_len(len: usize) -> usize {
    len + 5 * len.div_ceil(STORED_MAX).max(1)
}

/// `block` as stored deflate blocks (starting byte-aligned, as every block
/// before ends aligned); the last one final when `last`.
fn stored_blocks(block: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored_len(block.len()));
    let mut chunks = block.chunks(STORED_MAX).peekable();
    if chunks.peek().is_none() {
        if last {
            out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        }
        return out;
    }
    while let Some(chunk) = chunks.next() {
        // BFINAL in bit 0, BTYPE 00 (stored), then padding to the byte.
        out.push(u8::from(last && chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}
