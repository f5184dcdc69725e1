#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::Command;

use md5::{Digest, Md5};
use tempfile::TempDir;

use super::super::walk::Found;
use super::gzip::{BLOCK, ParallelGzip, Summary};
use super::{Written, write_archive, write_archive_with};

/// xorshift64: the same bytes on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Bytes that do not compress (like model weights).
    fn noise(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Source-like text that compresses about 2x.
    fn text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: &[&str] = &[
            "def ", "self", ".frame", " = ", "await ", "\n    ", "pipeline", "(",
        ];
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            if self.next().is_multiple_of(3) {
                for _ in 0..1 + self.next() % 6 {
                    out.push(b'a' + (self.next() % 26) as u8);
                }
            } else {
                out.extend_from_slice(
                    WORDS[(self.next() % WORDS.len() as u64) as usize].as_bytes(),
                );
            }
        }
        out.truncate(len);
        out
    }
}

/// A tree of text files and incompressible "weights", sized so files
/// straddle the compressor's block boundaries; its files in archive order.
fn mixed_tree(seed: u64) -> (TempDir, Vec<Found>) {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(seed);
    let mut files: Vec<(String, Vec<u8>)> = vec![("Dockerfile".into(), b"FROM scratch\n".to_vec())];
    for i in 0..24 {
        let len = (rng.next() % 24_000) as usize;
        files.push((format!("src/mod{i:02}.py"), rng.text(len)));
    }
    files.push(("weights/a.bin".into(), rng.noise(2 * BLOCK + 1234)));
    files.push(("weights/b.bin".into(), rng.noise(BLOCK / 3)));
    files.push(("z/empty.txt".into(), Vec::new()));
    files.push(("z/more.txt".into(), rng.text(BLOCK + 100)));
    files.sort();
    let found = files
        .iter()
        .map(|(rel, content)| {
            let source = dir.path().join(rel);
            fs::create_dir_all(source.parent().unwrap()).unwrap();
            fs::write(&source, content).unwrap();
            Found {
                rel: rel.clone(),
                source,
                size: content.len() as u64,
                executable: false,
                link: None,
            }
        })
        .collect();
    (dir, found)
}

fn pack_with(dir: &Path, files: &[Found], workers: usize) -> (Vec<u8>, Written) {
    write_archive_with(dir, files, Vec::new(), workers).unwrap()
}

/// The archive's entries (path, content), read with flate2 and tar.
fn entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(archive)
        .read_to_end(&mut decoded)
        .unwrap();
    tar::Archive::new(decoded.as_slice())
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_str().unwrap().to_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (path, content)
        })
        .collect()
}

fn expected(files: &[Found]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|f| (f.rel.clone(), fs::read(&f.source).unwrap()))
        .collect()
}

fn md5_16(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_archive_is_one_valid_gzip_member_holding_every_file() {
    let (dir, files) = mixed_tree(1);
    let (archive, written) = pack_with(dir.path(), &files, 3);
    assert_eq!(entries(&archive), expected(&files));
    assert_eq!(written.bytes, archive.len() as u64);
    assert_eq!(written.hash, md5_16(&archive));
    // One member: nothing after the first member's trailer (MultiGzDecoder
    // would read a second one; GzDecoder stops after the first).
    let mut all = Vec::new();
    flate2::read::MultiGzDecoder::new(archive.as_slice())
        .read_to_end(&mut all)
        .unwrap();
    let mut first = Vec::new();
    flate2::read::GzDecoder::new(archive.as_slice())
        .read_to_end(&mut first)
        .unwrap();
    assert_eq!(all, first);
    assert_eq!(written.gzip.input, first.len() as u64);
    // The header: deflate, mtime 0, OS unknown; the trailer: CRC and size.
    assert_eq!(&archive[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let mut crc = flate2::Crc::new();
    crc.update(&first);
    let trailer = &archive[archive.len() - 8..];
    assert_eq!(&trailer[..4], &crc.sum().to_le_bytes());
    assert_eq!(&trailer[4..], &(first.len() as u32).to_le_bytes());
}

#[test]
fn the_bytes_are_the_same_whatever_the_number_of_workers() {
    let (dir, files) = mixed_tree(2);
    let (one, written) = pack_with(dir.path(), &files, 1);
    assert!(written.gzip.blocks > 4, "{:?}", written.gzip);
    for workers in [2, 3, 8] {
        let (many, _) = pack_with(dir.path(), &files, workers);
        assert!(one == many, "{workers} workers wrote other bytes than 1");
    }
}

#[test]
fn the_bytes_are_the_same_run_to_run() {
    let (dir, files) = mixed_tree(3);
    let (first, _) = write_archive(dir.path(), &files, Vec::new()).unwrap();
    for _ in 0..3 {
        let (again, _) = write_archive(dir.path(), &files, Vec::new()).unwrap();
        assert!(first == again);
    }
}

#[test]
fn incompressible_blocks_are_stored_and_text_is_compressed() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(4);
    let noise = rng.noise(4 * BLOCK);
    let text = rng.text(3 * BLOCK);
    fs::write(dir.path().join("model.bin"), &noise).unwrap();
    fs::write(dir.path().join("notes.txt"), &text).unwrap();
    let found = |rel: &str, len: usize| Found {
        rel: rel.into(),
        source: dir.path().join(rel),
        size: len as u64,
        executable: false,
        link: None,
    };
    let (archive, written) = pack_with(dir.path(), &[found("model.bin", noise.len())], 2);
    // 4 blocks of noise and one small last block (the tar trailer): all
    // stored, and the archive barely larger than its content.
    assert_eq!(written.gzip.blocks, 5, "{:?}", written.gzip);
    assert!(written.gzip.stored >= 4, "{:?}", written.gzip);
    assert!((archive.len() as f64) < noise.len() as f64 * 1.001 + 2048.0);
    let (archive, written) = pack_with(dir.path(), &[found("notes.txt", text.len())], 2);
    assert_eq!(written.gzip.stored, 0, "{:?}", written.gzip);
    assert!(archive.len() < text.len() * 3 / 4, "{}", archive.len());
    assert_eq!(entries(&archive), vec![("notes.txt".to_owned(), text)]);
}

/// Streams of every awkward length decode to themselves: empty, shorter
/// than a block, exactly one or more blocks (the last block is then
/// empty), one byte over; written in odd-sized pieces.
#[test]
fn streams_of_any_length_round_trip() {
    let mut rng = Rng(5);
    for len in [0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 7] {
        for data in [rng.text(len), rng.noise(len)] {
            let mut outputs = Vec::new();
            for workers in [1, 3] {
                let mut gz = ParallelGzip::new(Vec::new(), workers).unwrap();
                for piece in data.chunks(7_001) {
                    gz.write_all(piece).unwrap();
                }
                let (out, summary) = gz.finish().unwrap();
                assert_eq!(summary.input, len as u64);
                assert_eq!(summary.blocks, (len / BLOCK + 1) as u64);
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(out.as_slice())
                    .read_to_end(&mut back)
                    .unwrap();
                assert!(back == data, "length {len}");
                outputs.push(out);
            }
            assert!(outputs[0] == outputs[1], "length {len}");
        }
    }
}

/// A golden value: this tree packs to these bytes on every machine. It
/// changes only with the archive format (block size, level, the store
/// rule, the deflate backend), and then the service's context hash for a
/// given tree changes too, which CHANGELOG.md must say.
#[test]
fn a_fixed_tree_has_a_known_hash() {
    let (dir, files) = mixed_tree(6);
    let (archive, written) = pack_with(dir.path(), &files, 2);
    assert_eq!(
        (written.hash.as_str(), archive.len(), written.gzip),
        (
            "b0a689c806f69fa3",
            821_041,
            Summary {
                blocks: 5,
                stored: 1,
                input: 1_210_368
            }
        )
    );
}

/// Where the output fails (a full disk), packing ends with the error
/// instead of hanging with blocks in flight.
#[test]
fn a_failing_output_is_an_error_not_a_hang() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::other("no space left on device"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (dir, files) = mixed_tree(7);
    for workers in [1, 4] {
        let err = match write_archive_with(dir.path(), &files, Full(100_000), workers) {
            Err(error @ crate::Error::Io { .. }) => error.to_string(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("packed into a full disk"),
        };
        assert!(err.contains("no space left on device"), "{err}");
    }
}

/// The official tools read it: `gzip -t`, and Python's `tarfile` lists the
/// same files with the same contents (each skipped, saying so, when absent).
#[test]
fn gzip_and_python_tarfile_read_the_archive() {
    let (dir, files) = mixed_tree(8);
    let (archive, _) = pack_with(dir.path(), &files, 2);
    let out = TempDir::new().unwrap();
    let path = out.path().join("context.tar.gz");
    fs::write(&path, &archive).unwrap();
    match Command::new("gzip").arg("-t").arg(&path).output() {
        Ok(result) => assert!(
            result.status.success(),
            "gzip -t: {}",
            String::from_utf8_lossy(&result.stderr)
        ),
        Err(err) => eprintln!("skipped `gzip -t`: gzip cannot be run here ({err})"),
    }
    let script = "import hashlib, sys, tarfile\n\
        with tarfile.open(sys.argv[1], 'r:gz') as t:\n\
        \x20   for m in t.getmembers():\n\
        \x20       print(m.name, m.size, hashlib.md5(t.extractfile(m).read()).hexdigest())\n";
    match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
    {
        Ok(result) => {
            assert!(
                result.status.success(),
                "python tarfile: {}",
                String::from_utf8_lossy(&result.stderr)
            );
            let want: String = expected(&files)
                .iter()
                .map(|(rel, content)| {
                    let md5: String = Md5::digest(content)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    format!("{rel} {} {md5}\n", content.len())
                })
                .collect();
            assert_eq!(String::from_utf8_lossy(&result.stdout), want);
        }
        Err(err) => eprintln!("skipped Python's tarfile: python3 cannot be run here ({err})"),
    }
}

/// Text of few distinct bytes (random lowercase, like hex or base64) only
/// shrinks through its Huffman code: it must be compressed, not stored.
#[test]
fn text_that_shrinks_only_by_huffman_coding_is_compressed() {
    let mut rng = Rng(9);
    let letters: Vec<u8> = (0..2 * BLOCK)
        .map(|_| b'a' + (rng.next() % 26) as u8)
        .collect();
    let mut gz = ParallelGzip::new(Vec::new(), 2).unwrap();
    gz.write_all(&letters).unwrap();
    let (out, summary) = gz.finish().unwrap();
    assert_eq!(summary.stored, 0, "{summary:?}");
    assert!(out.len() < letters.len() * 7 / 10, "{}", out.len());
}
