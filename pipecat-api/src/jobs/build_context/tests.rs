#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::archive::write_archive;
use super::walk::Found;
use super::*;
use md5::{Digest, Md5};
use std::io::Read;
use tempfile::TempDir;

/// A context directory holding `files` (paths `/`-separated).
pub(super) fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (path, content) in files {
        write(dir.path(), path, content);
    }
    dir
}

pub(super) fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, content).unwrap();
}

pub(super) fn packed(context: &PackedContext) -> Vec<&str> {
    context.files().iter().map(PackedFile::path).collect()
}

fn message(result: Result<PackedContext, Error>) -> String {
    match result {
        Err(Error::InvalidRequest { message }) => message,
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(context) => panic!("packed, but should have failed: {:?}", packed(&context)),
    }
}

/// One entry read back from an archive.
#[derive(Debug, PartialEq)]
struct Entry {
    path: String,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    user: Vec<u8>,
    group: Vec<u8>,
    content: Vec<u8>,
    link: Option<String>,
}

fn read_back(archive: &[u8]) -> Vec<Entry> {
    let mut reader = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    reader
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            Entry {
                path: entry.path().unwrap().to_str().unwrap().to_owned(),
                kind: header.entry_type(),
                mode: header.mode().unwrap(),
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                mtime: header.mtime().unwrap(),
                user: header.username_bytes().unwrap_or_default().to_vec(),
                group: header.groupname_bytes().unwrap_or_default().to_vec(),
                content,
                link: header
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_str().unwrap().to_owned()),
            }
        })
        .collect()
}

const FILES: &[(&str, &str)] = &[
    ("Dockerfile", "FROM python:3.12\n"),
    ("a.txt", "a"),
    ("a/b.txt", "ab"),
    ("B.txt", "capital b"),
    ("run.sh", "#!/bin/sh\necho hi\n"),
    ("sub/dir/deep.py", "print('deep')\n"),
    ("z", ""),
];

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn same_tree_packs_to_same_bytes_whatever_the_metadata() {
    use std::time::{Duration, SystemTime};
    let first = tree(FILES);
    // The second tree: files created in reverse order, other times and modes.
    let second = TempDir::new().unwrap();
    for (path, content) in FILES.iter().rev() {
        write(second.path(), path, content);
    }
    for (path, _) in FILES {
        let file = fs::File::options()
            .write(true)
            .open(second.path().join(path))
            .unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
            .unwrap();
        set_mode(&second.path().join(path), 0o600);
    }
    set_mode(&first.path().join("run.sh"), 0o755);
    set_mode(&second.path().join("run.sh"), 0o700);

    let one = pack(first.path(), &ContextOptions::new()).unwrap();
    let two = pack(second.path(), &ContextOptions::new()).unwrap();
    let archive = one.read_archive().unwrap();
    assert_eq!(archive, two.read_archive().unwrap());
    assert_eq!(one.hash(), two.hash());

    // gzip header: magic, deflate, no flags (no file name), mtime 0, OS 255.
    assert_eq!(&archive[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&archive[4..8], &[0, 0, 0, 0]);
    assert_eq!(archive[9], 255);
    assert_eq!(one.compressed_bytes(), archive.len() as u64);

    let entries = read_back(&archive);
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    // Byte order of the `/`-separated path: uppercase first, `.` before `/`.
    assert_eq!(
        paths,
        [
            "B.txt",
            "Dockerfile",
            "a.txt",
            "a/b.txt",
            "run.sh",
            "sub/dir/deep.py",
            "z"
        ]
    );
    assert_eq!(packed(&one), paths);
    for entry in &entries {
        let (_, content) = FILES.iter().find(|(p, _)| *p == entry.path).unwrap();
        assert_eq!(entry.content, content.as_bytes(), "{}", entry.path);
        assert_eq!(entry.kind, tar::EntryType::Regular, "{}", entry.path);
        let mode = if entry.path == "run.sh" { 0o755 } else { 0o644 };
        assert_eq!(entry.mode, mode, "{}", entry.path);
        assert_eq!(
            (entry.uid, entry.gid, entry.mtime),
            (0, 0, 0),
            "{}",
            entry.path
        );
        assert!(
            entry.user.is_empty() && entry.group.is_empty(),
            "{}",
            entry.path
        );
    }
    let run = one.files().iter().find(|f| f.path() == "run.sh").unwrap();
    assert!(run.executable());
    assert_eq!(run.size(), FILES[4].1.len() as u64);
    let total: usize = FILES.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(one.uncompressed_bytes(), total as u64);
}

#[test]
fn archive_bytes_are_those_of_the_in_memory_packer() {
    // Pinned: streaming the archive to a file must not change a byte, nor
    // must the machine. A 3 MB file of pseudo-random text spans many
    // buffers and compressor blocks. (Changed from 1e959dc84f19a252 when
    // compression went parallel: see CHANGELOG.md.)
    let dir = tree(FILES);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let big: String = (0..3_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    write(dir.path(), "data/big.txt", &big);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(
        (context.hash(), context.compressed_bytes()),
        ("a45e5ae0a1970726", 1_820_533)
    );
}

#[test]
fn the_archive_file_goes_in_temp_dir_and_is_deleted_with_the_last_clone() {
    let dir = tree(FILES);
    let scratch = TempDir::new().unwrap();
    let context = pack(dir.path(), &ContextOptions::new().temp_dir(scratch.path())).unwrap();
    let path = context.path().to_path_buf();
    assert_eq!(path.parent(), Some(scratch.path()));
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        context.compressed_bytes()
    );
    let mut opened = Vec::new();
    context.open().unwrap().read_to_end(&mut opened).unwrap();
    assert_eq!(opened, context.read_archive().unwrap());
    let clone = context.clone();
    drop(context);
    assert!(path.exists());
    drop(clone);
    assert!(!path.exists());
    // A temp_dir that does not exist is a local I/O error naming it.
    let err = pack(
        dir.path(),
        &ContextOptions::new().temp_dir(scratch.path().join("missing")),
    )
    .unwrap_err();
    let Error::Io { path, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(path, &scratch.path().join("missing"));
}

#[test]
fn hash_is_the_first_16_hex_digits_of_the_archive_md5() {
    let dir = tree(FILES);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let digest = Md5::digest(context.read_archive().unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(context.hash(), &hex[..16]);
    // Another tree, another hash.
    write(dir.path(), "a.txt", "changed");
    let changed = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_ne!(changed.hash(), context.hash());
}

#[test]
fn long_paths_round_trip() {
    let long = format!("{}/{}.txt", "d".repeat(80), "f".repeat(90));
    let dir = tree(&[("Dockerfile", "FROM x\n"), (&long, "long")]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let entries = read_back(&context.read_archive().unwrap());
    assert_eq!(entries[1].path, long);
    assert_eq!(entries[1].content, b"long");
}

/// The files packed from a fixed tree with this `.dockerignore`.
fn with_dockerignore(ignore: &str) -> Vec<String> {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", ignore),
        ("README.md", ""),
        ("a.txt", ""),
        ("ab.txt", ""),
        ("docs/a.md", ""),
        ("docs/keep.md", ""),
        ("docs/deep/b.md", ""),
        ("src/app.py", ""),
        ("src/z.txt", ""),
        ("src/x/y/z.txt", ""),
    ]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    packed(&context)
        .into_iter()
        .filter(|p| *p != "Dockerfile" && *p != ".dockerignore")
        .map(str::to_owned)
        .collect()
}

const ALL: &[&str] = &[
    "README.md",
    "a.txt",
    "ab.txt",
    "docs/a.md",
    "docs/deep/b.md",
    "docs/keep.md",
    "src/app.py",
    "src/x/y/z.txt",
    "src/z.txt",
];

fn all_but(out: &[&str]) -> Vec<String> {
    ALL.iter()
        .filter(|p| !out.contains(p))
        .map(|p| (*p).to_owned())
        .collect()
}

#[test]
fn dockerignore_follows_dockers_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("# *.md\n\n   \n", &[]),
        // `*` does not cross `/`.
        ("*.md", &["README.md"]),
        ("*/*.md", &["docs/a.md", "docs/keep.md"]),
        // `**` crosses any number of directories, none included.
        (
            "**/*.md",
            &["README.md", "docs/a.md", "docs/deep/b.md", "docs/keep.md"],
        ),
        ("src/**/z.txt", &["src/x/y/z.txt", "src/z.txt"]),
        ("docs/**", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
        // `?` is one character.
        ("?.txt", &["a.txt"]),
        ("[a-b]?.txt", &["ab.txt"]),
        ("[^a].txt", &[]),
        // A directory pattern excludes its contents; `/` at either end is ignored.
        ("docs", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
        ("docs/", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
        ("/docs", &["docs/a.md", "docs/deep/b.md", "docs/keep.md"]),
        ("docs/deep", &["docs/deep/b.md"]),
        // Patterns are relative to the root: `z.txt` is not `src/z.txt`.
        ("z.txt", &[]),
        // Cleaned like filepath.Clean.
        ("./docs//deep/../a.md", &["docs/a.md"]),
        // Exceptions, and later lines override earlier ones.
        ("docs\n!docs/keep.md", &["docs/a.md", "docs/deep/b.md"]),
        (
            "!docs/keep.md\ndocs",
            &["docs/a.md", "docs/deep/b.md", "docs/keep.md"],
        ),
        ("*.md\n!README.md", &[]),
        (
            "**/*.md\n!**/keep.md",
            &["README.md", "docs/a.md", "docs/deep/b.md"],
        ),
        (
            "*\n!src",
            &[
                "README.md",
                "a.txt",
                "ab.txt",
                "docs/a.md",
                "docs/deep/b.md",
                "docs/keep.md",
            ],
        ),
        // A comment only when `#` starts the line.
        ("#a.txt\n\\#a.txt", &[]),
    ];
    for (ignore, out) in cases {
        assert_eq!(
            with_dockerignore(ignore),
            all_but(out),
            "pattern {ignore:?}"
        );
    }
}

#[test]
fn dockerignore_counts_what_it_leaves_out() {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", "docs\n*.txt\n"),
        ("docs/a.md", ""),
        ("docs/b.md", ""),
        ("a.txt", ""),
        ("keep.py", ""),
    ]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), [".dockerignore", "Dockerfile", "keep.py"]);
    // `docs` as a whole, and `a.txt`.
    assert_eq!(context.excluded(), 2);
    assert!(context.held_back().is_empty());
}

#[test]
fn the_dockerfile_is_packed_even_when_a_pattern_matches_it() {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", "*\n"),
        ("app.py", ""),
    ]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), ["Dockerfile"]);

    // In a directory the defaults exclude, with a secret-looking name.
    let dir = tree(&[
        ("build/deploy.key", "FROM x\n"),
        ("build/other", ""),
        ("app.py", ""),
    ]);
    let options = ContextOptions::new().dockerfile("./build/deploy.key");
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(packed(&context), ["app.py", "build/deploy.key"]);
}

#[test]
fn defaults_apply_without_a_dockerignore() {
    let excluded = [
        ".git/config",
        ".hg/store",
        ".svn/entries",
        ".venv/bin/python",
        "venv/bin/python",
        "env/bin/python",
        "__pycache__/m.cpython-312.pyc",
        "src/__pycache__/m.cpython-312.pyc",
        "src/old.pyc",
        ".pytest_cache/v",
        ".mypy_cache/v",
        ".ruff_cache/v",
        "node_modules/left-pad/index.js",
        "web/node_modules/x.js",
        "dist/app.whl",
        "build/lib/app.py",
        "target/debug/app",
        "app.egg-info/PKG-INFO",
        ".idea/workspace.xml",
        ".vscode/settings.json",
        "server.log",
        "logs/today.log",
        ".DS_Store",
        "pcc-deploy.toml",
        ".env",
        ".env.local",
        "config/.env",
        "cert.pem",
        "tls/server.key",
        "id_rsa",
        ".github/workflows/ci.yml",
    ];
    let kept = ["Dockerfile", "requirements.txt", "src/app.py", "src/env.py"];
    let all: Vec<(&str, &str)> = excluded.iter().chain(&kept).map(|p| (*p, "x")).collect();
    let dir = tree(&all);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), kept);
    assert!(context.held_back().is_empty());
    assert!(context.excluded() > 0);

    // The caller's patterns come after the defaults, and can re-include.
    let options = ContextOptions::new()
        .exclude("requirements.txt")
        .exclude("!node_modules/left-pad/index.js");
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(
        packed(&context),
        [
            "Dockerfile",
            "node_modules/left-pad/index.js",
            "src/app.py",
            "src/env.py"
        ]
    );
}

#[test]
fn extra_patterns_add_to_a_dockerignore() {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", "docs\n"),
        ("docs/a.md", ""),
        ("notes/b.md", ""),
        ("app.py", ""),
    ]);
    let options = ContextOptions::new()
        .exclude("notes/")
        .exclude(".dockerignore");
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(packed(&context), ["Dockerfile", "app.py"]);
}

const SECRETS: &[(&str, &str)] = &[
    ("Dockerfile", "FROM x\n"),
    (".dockerignore", "# let everything through\n"),
    (".env", "KEY=1"),
    (".env.production", "KEY=2"),
    ("config/server.pem", "pem"),
    ("tls.key", "key"),
    ("id_rsa", "key"),
    ("id_rsa.pub", "public"),
    ("cert.p12", "p12"),
    (".npmrc", "token"),
    ("gcp/credentials.json", "{}"),
    ("app.py", "print()"),
    ("environment.py", ""),
];

#[test]
fn secrets_are_held_back_even_when_the_dockerignore_lets_them_through() {
    let dir = tree(SECRETS);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(
        packed(&context),
        [
            ".dockerignore",
            "Dockerfile",
            "app.py",
            "environment.py",
            "id_rsa.pub"
        ]
    );
    let held: Vec<(&str, HeldBackReason)> = context
        .held_back()
        .iter()
        .map(|h| (h.path(), h.reason()))
        .collect();
    let name = |pattern| HeldBackReason::SecretName { pattern };
    assert_eq!(
        held,
        [
            (".env", name(".env")),
            (".env.production", name(".env.*")),
            (".npmrc", name(".npmrc")),
            ("cert.p12", name("*.p12")),
            ("config/server.pem", name("*.pem")),
            ("gcp/credentials.json", name("credentials.json")),
            ("id_rsa", name("id_rsa*")),
            ("tls.key", name("*.key")),
        ]
    );
    assert!(held.iter().all(|(_, reason)| reason.is_secret()));
}

#[test]
fn secrets_are_packed_when_allowed_by_exact_path() {
    let dir = tree(SECRETS);
    let options = ContextOptions::new()
        .allow_secret("config/server.pem")
        .allow_secret("./.env")
        // Not a path in the context: the file name alone allows nothing.
        .allow_secret("credentials.json");
    let context = pack(dir.path(), &options).unwrap();
    let files = packed(&context);
    assert!(files.contains(&"config/server.pem") && files.contains(&".env"));
    assert!(!files.contains(&"gcp/credentials.json"));
    assert!(!files.contains(&".env.production"));
    let held: Vec<&str> = context.held_back().iter().map(HeldBack::path).collect();
    assert!(!held.contains(&"config/server.pem") && held.contains(&"gcp/credentials.json"));
}

#[test]
fn secrets_excluded_by_the_dockerignore_are_not_listed() {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", ".env\n"),
        (".env", "KEY=1"),
        ("key.pem", ""),
    ]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let held: Vec<&str> = context.held_back().iter().map(HeldBack::path).collect();
    assert_eq!(held, ["key.pem"]);
    assert_eq!(context.excluded(), 1);
}

#[test]
fn missing_or_wrong_directory_is_an_error() {
    let dir = tree(FILES);
    let missing = dir.path().join("nope");
    let msg = message(pack(&missing, &ContextOptions::new()));
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");

    let file = dir.path().join("a.txt");
    let msg = message(pack(&file, &ContextOptions::new()));
    assert!(
        msg.contains("a.txt") && msg.contains("not a directory"),
        "{msg}"
    );
}

#[test]
fn missing_dockerfile_is_an_error_naming_it() {
    let dir = tree(&[("app.py", "")]);
    let msg = message(pack(dir.path(), &ContextOptions::new()));
    assert!(
        msg.contains("Dockerfile `Dockerfile` not found in the context"),
        "{msg}"
    );
    assert!(
        msg.starts_with(&format!("build context {}", dir.path().display())),
        "{msg}"
    );

    let options = ContextOptions::new().dockerfile("docker/Dockerfile.prod");
    let msg = message(pack(dir.path(), &options));
    assert!(msg.contains("`docker/Dockerfile.prod` not found"), "{msg}");

    // Outside the context, even if it exists.
    let dir = tree(&[("ctx/app.py", ""), ("Dockerfile", "FROM x\n")]);
    let options = ContextOptions::new().dockerfile("../Dockerfile");
    let msg = message(pack(dir.path().join("ctx"), &options));
    assert!(
        msg.contains("`../Dockerfile` is not a relative path inside"),
        "{msg}"
    );
}

#[test]
fn more_than_the_limit_is_an_error() {
    let dir = tree(&[("Dockerfile", "12345"), ("data.bin", "1234567890")]);
    let options = ContextOptions::new().max_bytes(15);
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(context.uncompressed_bytes(), 15);

    let options = ContextOptions::new().max_bytes(14);
    let msg = message(pack(dir.path(), &options));
    assert!(msg.contains("limit of 14 bytes"), "{msg}");
    assert!(msg.contains("`data.bin`"), "{msg}");
    // Excluded and held-back files do not count (the 9-byte .dockerignore does).
    write(dir.path(), ".dockerignore", "data.bin\n");
    write(dir.path(), "big.pem", "1234567890");
    let options = ContextOptions::new().max_bytes(14);
    assert_eq!(pack(dir.path(), &options).unwrap().uncompressed_bytes(), 14);
}

#[test]
fn a_file_that_changes_size_after_the_walk_is_an_error() {
    let dir = tree(&[("data.bin", "12345")]);
    for size in [3, 10] {
        let found = [Found {
            rel: "data.bin".to_owned(),
            source: dir.path().join("data.bin"),
            size,
            executable: false,
            link: None,
        }];
        let msg = message(write_archive(dir.path(), &found, Vec::new()).map(|_| unreachable!()));
        assert!(msg.contains("`data.bin` changed size"), "{msg}");
    }
}

#[test]
fn bad_patterns_are_errors_naming_the_line() {
    let dir = tree(&[("Dockerfile", ""), (".dockerignore", "ok\n# fine\n[abc\n")]);
    let msg = message(pack(dir.path(), &ContextOptions::new()));
    assert!(
        msg.contains(".dockerignore line 3: pattern `[abc`"),
        "{msg}"
    );
    let dir = tree(&[("Dockerfile", "")]);
    let msg = message(pack(dir.path(), &ContextOptions::new().exclude("a\\")));
    assert!(msg.contains("exclude pattern `a\\`"), "{msg}");
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_and_outside_refused() {
    use std::os::unix::fs::symlink;
    let outer = tree(&[("secret.txt", "outside"), ("ctx/Dockerfile", "FROM x\n")]);
    let root = outer.path().join("ctx");
    write(&root, "real/data.txt", "data");
    set_mode(&root.join("real/data.txt"), 0o755);
    symlink("real/data.txt", root.join("link.txt")).unwrap();
    symlink("real", root.join("linkdir")).unwrap();

    // `real` is walked under its own path; `linkdir`, another path to
    // it, is packed as a link to it.
    let context = pack(&root, &ContextOptions::new()).unwrap();
    assert_eq!(
        packed(&context),
        ["Dockerfile", "link.txt", "linkdir", "real/data.txt"]
    );
    let entries = read_back(&context.read_archive().unwrap());
    assert_eq!(entries[1].content, b"data");
    assert_eq!(entries[1].kind, tar::EntryType::Regular);
    assert_eq!(entries[1].mode, 0o755);
    assert_eq!(entries[2].kind, tar::EntryType::Symlink);
    assert_eq!(entries[2].link.as_deref(), Some("real"));
    assert_eq!(context.files()[2].link_target(), Some("real"));
    assert_eq!(context.files()[2].size(), 0);

    // When the real path is left out, the link's path gets the files.
    let options = ContextOptions::new().exclude("real");
    let context = pack(&root, &options).unwrap();
    assert_eq!(
        packed(&context),
        ["Dockerfile", "link.txt", "linkdir/data.txt"]
    );

    // Outside the context.
    symlink("../secret.txt", root.join("escape.txt")).unwrap();
    let msg = message(pack(&root, &ContextOptions::new()));
    assert!(
        msg.contains("symlink `escape.txt` points outside the context"),
        "{msg}"
    );
    // Excluded links are not resolved.
    let options = ContextOptions::new().exclude("escape.txt");
    assert!(pack(&root, &options).is_ok());
    fs::remove_file(root.join("escape.txt")).unwrap();

    // Dangling.
    symlink("nowhere", root.join("dangling")).unwrap();
    let msg = message(pack(&root, &ContextOptions::new()));
    assert!(msg.contains("symlink `dangling` is dangling"), "{msg}");
    fs::remove_file(root.join("dangling")).unwrap();

    // A directory link outside, and a loop.
    symlink(outer.path(), root.join("up")).unwrap();
    let msg = message(pack(&root, &ContextOptions::new()));
    assert!(msg.contains("symlink `up` points outside"), "{msg}");
    fs::remove_file(root.join("up")).unwrap();
    // A link to a directory that holds it is a link to where that was packed.
    symlink("..", root.join("real/loop")).unwrap();
    let context = pack(&root, &ContextOptions::new()).unwrap();
    let loop_entry = context
        .files()
        .iter()
        .find(|f| f.path() == "real/loop")
        .unwrap();
    assert_eq!(loop_entry.link_target(), Some(".."));
}

#[test]
fn relative_links_between_context_paths() {
    use super::walk::relative_link;
    let cases = [
        ("a", "b", "b"),
        ("a", "", "."),
        ("real/loop", "", ".."),
        ("a/b/c", "x/y", "../../x/y"),
        ("a/b/c", "a/d", "../d"),
        ("a/b/c", "a/b", "."),
        ("a/b/c", "a", ".."),
        ("a/x", "a/x/y", "x/y"),
    ];
    for (from, to, want) in cases {
        assert_eq!(relative_link(from, to), want, "{from} -> {to}");
    }
}

#[cfg(unix)]
#[test]
fn sockets_are_held_back() {
    let dir = tree(&[("Dockerfile", "FROM x\n")]);
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("app.sock")).unwrap();
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), ["Dockerfile"]);
    assert_eq!(context.held_back()[0].path(), "app.sock");
    assert_eq!(
        context.held_back()[0].reason(),
        HeldBackReason::NotRegularFile
    );
}

#[test]
fn nothing_is_written_to_the_context() {
    let dir = tree(FILES);
    pack(dir.path(), &ContextOptions::new()).unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["B.txt", "Dockerfile", "a", "a.txt", "run.sh", "sub", "z"]
    );
}

#[test]
fn the_summary_serializes_with_the_names_scripts_read() {
    let dir = tree(&[
        ("Dockerfile", "FROM x\n"),
        ("server.key", "k"),
        (".dockerignore", "*.log\n"),
        ("a.log", "x"),
    ]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let json = serde_json::to_value(&context).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "compressedBytes": context.compressed_bytes(),
            "contextHash": context.hash(),
            "excluded": 1,
            "files": [
                {"executable": false, "path": ".dockerignore", "size": 6},
                {"executable": false, "path": "Dockerfile", "size": 7},
            ],
            "heldBack": [{
                "message": "looks like a secret: its name matches `*.key`; allow it explicitly to upload it",
                "path": "server.key",
                "reason": "looksLikeSecret",
                "rule": "name:*.key",
            }],
            "uncompressedBytes": 13,
        })
    );
    // The archive's temporary path is no business of a script.
    assert!(
        !json
            .to_string()
            .contains(&context.path().display().to_string())
    );
}

#[test]
fn a_link_entry_and_each_reason_serialize_with_their_code_and_rule() {
    let file = PackedFile {
        executable: false,
        link: Some("..".into()),
        path: "real/loop".into(),
        size: 0,
    };
    assert_eq!(
        serde_json::to_value(&file).unwrap(),
        serde_json::json!({"executable": false, "linkTarget": "..", "path": "real/loop", "size": 0})
    );
    let cases = [
        (
            HeldBackReason::SecretLinkTarget { pattern: ".env" },
            "looksLikeSecret",
            Some("linkTarget:.env"),
        ),
        (
            HeldBackReason::SecretContent(SecretContent::PemPrivateKey),
            "looksLikeSecret",
            Some("content:pemPrivateKey"),
        ),
        (HeldBackReason::NotRegularFile, "notRegularFile", None),
    ];
    for (reason, code, rule) in cases {
        let held = HeldBack {
            path: "p".into(),
            reason,
        };
        let json = serde_json::to_value(&held).unwrap();
        assert_eq!(json["reason"], code, "{json}");
        assert_eq!(json["message"], reason.to_string(), "{json}");
        assert_eq!(json.get("rule").and_then(|r| r.as_str()), rule, "{json}");
    }
}
