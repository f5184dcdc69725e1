//! Hostile trees: link fan-out, FIFOs and devices, credential files by
//! name, by link target and by content.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::tests::{packed, tree, write};
use super::walk::Found;
use super::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn held(context: &PackedContext) -> Vec<(&str, HeldBackReason)> {
    context
        .held_back()
        .iter()
        .map(|h| (h.path(), h.reason()))
        .collect()
}

fn message<T>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::InvalidRequest { message }) => message,
        // Local I/O failed (a FIFO, a device, an unreadable file).
        Err(error @ Error::Io { .. }) => error.to_string(),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("should have failed"),
    }
}

/// Runs `f` on another thread and fails the test if it takes more than 10 s
/// (on a hang the thread is left behind; the test still ends).
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what}: still running after 10 s (hung)"))
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A pnpm-like DAG: `levels` real directories, each holding a file and two
/// links (`a`, `b`) to the next; `top` links to the first. With
/// `hide_store`, the real directories are under `.store`, which the
/// `.dockerignore` leaves out, so they are reachable only through links.
#[cfg(unix)]
fn link_dag(levels: usize, hide_store: bool) -> TempDir {
    use std::os::unix::fs::symlink;
    let dir = tree(&[("Dockerfile", "FROM x\n")]);
    if hide_store {
        write(dir.path(), ".dockerignore", ".store\n");
    }
    let store = dir.path().join(".store");
    for level in 0..=levels {
        write(
            &store,
            &format!("l{level}/file.txt"),
            &format!("level {level}"),
        );
        if level < levels {
            let next = format!("../l{}", level + 1);
            symlink(&next, store.join(format!("l{level}/a"))).unwrap();
            symlink(&next, store.join(format!("l{level}/b"))).unwrap();
        }
    }
    symlink(".store/l0", dir.path().join("top")).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn a_link_dag_packs_each_real_directory_once() {
    // Followed link by link, 12 levels are 2^13 paths; each real directory
    // is packed once, every other path to it is a link entry.
    for hide_store in [false, true] {
        let dir = link_dag(12, hide_store);
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        let files: Vec<&PackedFile> = context
            .files()
            .iter()
            .filter(|f| f.link_target().is_none() && f.path().ends_with("file.txt"))
            .collect();
        assert_eq!(files.len(), 13, "hide_store {hide_store}");
        let links = context
            .files()
            .iter()
            .filter(|f| f.link_target().is_some())
            .count();
        // Visible store: `top` and both links of each level are entries.
        // Hidden store: `top` and one link per level are walked, the other
        // link of each level is an entry.
        assert_eq!(links, if hide_store { 12 } else { 25 }, "{hide_store}");
        if hide_store {
            // The extracted tree has every path: `top/b` leads where `top/a` was packed.
            let b = context
                .files()
                .iter()
                .find(|f| f.path() == "top/b")
                .unwrap();
            assert_eq!(b.link_target(), Some("a"));
            assert!(packed(&context).contains(&"top/a/a/a/file.txt"));
        }
    }
}

#[cfg(unix)]
#[test]
fn a_link_dag_of_20_levels_packs_promptly() {
    let dir = link_dag(20, true);
    let start = Instant::now();
    let path = dir.path().to_path_buf();
    let context = within_10s("packing a 20-level link DAG", move || {
        pack(&path, &ContextOptions::new()).unwrap()
    });
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(context.files().len(), 1 + 1 + 21 + 20);
    assert!(context.compressed_bytes() < 64 * 1024);
}

#[cfg(unix)]
#[test]
fn a_fifo_as_dockerignore_is_an_error_not_a_hang() {
    let dir = tree(&[("Dockerfile", "FROM x\n")]);
    mkfifo(&dir.path().join(".dockerignore"));
    let path = dir.path().to_path_buf();
    let msg = message(within_10s(".dockerignore FIFO", move || {
        pack(&path, &ContextOptions::new())
    }));
    assert!(msg.contains(".dockerignore"), "{msg}");
    assert!(msg.contains("not a regular file (a FIFO"), "{msg}");
    // A device behind a link is no better.
    fs::remove_file(dir.path().join(".dockerignore")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join(".dockerignore")).unwrap();
    let msg = message(pack(dir.path(), &ContextOptions::new()));
    assert!(msg.contains("not a regular file (a device)"), "{msg}");
}

#[cfg(unix)]
#[test]
fn a_fifo_as_dockerfile_is_an_error_naming_it() {
    let dir = tree(&[("app.py", "")]);
    mkfifo(&dir.path().join("Dockerfile"));
    let msg = message(pack(dir.path(), &ContextOptions::new()));
    assert!(
        msg.contains("Dockerfile `Dockerfile` is not a regular file (a FIFO"),
        "{msg}"
    );
}

#[cfg(unix)]
#[test]
fn fifos_and_links_to_them_in_the_tree_are_held_back() {
    let dir = tree(&[("Dockerfile", "FROM x\n"), ("app.py", "")]);
    mkfifo(&dir.path().join("queue"));
    std::os::unix::fs::symlink("queue", dir.path().join("app.cfg")).unwrap();
    let path = dir.path().to_path_buf();
    let context = within_10s("FIFO in the tree", move || {
        pack(&path, &ContextOptions::new()).unwrap()
    });
    assert_eq!(packed(&context), ["Dockerfile", "app.py"]);
    assert_eq!(
        held(&context),
        [
            ("app.cfg", HeldBackReason::NotRegularFile),
            ("queue", HeldBackReason::NotRegularFile)
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_file_swapped_for_a_fifo_after_the_walk_is_an_error_not_a_hang() {
    let dir = tree(&[]);
    mkfifo(&dir.path().join("data.bin"));
    let found = vec![Found {
        rel: "data.bin".to_owned(),
        source: dir.path().join("data.bin"),
        size: 5,
        executable: false,
        link: None,
    }];
    let root = dir.path().to_path_buf();
    let msg = message(within_10s("archive of a FIFO", move || {
        archive::write_archive(&root, &found, Vec::new()).map(|_| ())
    }));
    assert!(msg.contains("data.bin"), "{msg}");
    assert!(msg.contains("not a regular file"), "{msg}");
}

/// Every credential file name of issue 16, with harmless content.
const CREDENTIAL_NAMES: &[(&str, &str)] = &[
    ("prod.env", "*.env"),
    ("config/staging.env", "*.env"),
    (".envrc", ".envrc"),
    (".aws/credentials", ".aws/credentials"),
    ("home/.aws/credentials", ".aws/credentials"),
    (".docker/config.json", ".docker/config.json"),
    (".kube/config", ".kube/config"),
    (".pgpass", ".pgpass"),
    (".vault-token", ".vault-token"),
    ("keys/deploy.ppk", "*.ppk"),
    ("AuthKey_ABC123.p8", "AuthKey_*.p8"),
    ("android/release.keystore", "*.keystore"),
    (".gnupg/secring.gpg", "secring.gpg"),
    ("infra/prod.tfvars", "*.tfvars"),
    ("infra/prod.tfvars.json", "*.tfvars.json"),
    ("config/secrets.yml", "secrets.yml"),
    ("config/secrets.yaml", "secrets.yaml"),
];

const INNOCENT: &[&str] = &[
    "app.py",
    "environment.py",
    "docs/env.md",
    "aws/credentials.md",
    "kube/config",
    "docker/config.json",
    "keys/KEYS.asc",
    "terraform/main.tf",
    "config/secrets.py",
];

#[test]
fn credential_files_are_held_back_by_name_with_a_dockerignore() {
    let mut files: Vec<(&str, &str)> = vec![
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", "# let everything through\n"),
    ];
    files.extend(CREDENTIAL_NAMES.iter().map(|(path, _)| (*path, "harmless")));
    files.extend(INNOCENT.iter().map(|path| (*path, "harmless")));
    let dir = tree(&files);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let mut want: Vec<(&str, HeldBackReason)> = CREDENTIAL_NAMES
        .iter()
        .map(|(path, pattern)| (*path, HeldBackReason::SecretName { pattern }))
        .collect();
    want.sort_by_key(|(path, _)| *path);
    assert_eq!(held(&context), want);
    let mut kept: Vec<&str> = INNOCENT.to_vec();
    kept.extend([".dockerignore", "Dockerfile"]);
    kept.sort();
    assert_eq!(packed(&context), kept);
}

#[test]
fn credential_files_stay_out_without_a_dockerignore_and_can_be_allowed() {
    let mut files: Vec<(&str, &str)> = vec![("Dockerfile", "FROM x\n")];
    files.extend(CREDENTIAL_NAMES.iter().map(|(path, _)| (*path, "harmless")));
    files.push(("app.py", ""));
    let dir = tree(&files);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), ["Dockerfile", "app.py"]);

    // Allowed by exact path, one is packed, with or without a .dockerignore.
    let options = ContextOptions::new()
        .allow_secret("prod.env")
        .allow_secret(".aws/credentials");
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(
        packed(&context),
        [".aws/credentials", "Dockerfile", "app.py", "prod.env"]
    );
    write(dir.path(), ".dockerignore", "");
    let context = pack(dir.path(), &options).unwrap();
    assert!(packed(&context).contains(&"prod.env"));
    assert!(!held(&context).iter().any(|(path, _)| *path == "prod.env"));
}

const PEM_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecret\n-----END RSA PRIVATE KEY-----\n";

#[test]
fn files_with_innocent_names_are_judged_by_content() {
    let padded_pem = format!("# a certificate bundle\n\n  {PEM_KEY}");
    let cases: &[(&str, &str, SecretContent)] = &[
        ("cert.txt", &padded_pem, SecretContent::PemPrivateKey),
        (
            "keys/pkcs8",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n",
            SecretContent::PemPrivateKey,
        ),
        (
            "deploy",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n",
            SecretContent::OpenSshPrivateKey,
        ),
        (
            "keys/me.asc",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBF\n",
            SecretContent::PgpPrivateKey,
        ),
        (
            "gcp-key.json",
            "{\n  \"type\" : \"service_account\",\n  \"project_id\": \"p\"\n}\n",
            SecretContent::GoogleCredentials,
        ),
        (
            "adc.json",
            "{\"client_id\": \"x\", \"type\":\"authorized_user\"}",
            SecretContent::GoogleCredentials,
        ),
        (
            "aws.ini",
            "# mine\n[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI\n",
            SecretContent::AwsCredentials,
        ),
    ];
    let harmless: &[(&str, &str)] = &[
        ("Dockerfile", "FROM x\n"),
        (".dockerignore", ""),
        (
            "keys/KEYS.asc",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n",
        ),
        ("keys/sig.asc", "-----BEGIN PGP SIGNATURE-----\n\niQIzBA\n"),
        ("ca.crt", "-----BEGIN CERTIFICATE-----\nMIID\n"),
        (
            "detect.rs",
            "const HEADER: &str = \"-----BEGIN PRIVATE KEY-----\";\n",
        ),
        (
            "s3.py",
            "client = boto3.client(\n    \"s3\",\n    aws_secret_access_key=os.environ[\"KEY\"],\n)\n",
        ),
        ("package.json", "{\"type\": \"module\", \"name\": \"x\"}"),
        (
            "notes.md",
            "Set `\"type\": \"service_account\"` in the key file.\n",
        ),
    ];
    let mut files: Vec<(&str, &str)> = harmless.to_vec();
    files.extend(cases.iter().map(|(path, content, _)| (*path, *content)));
    let dir = tree(&files);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    let mut want: Vec<(&str, HeldBackReason)> = cases
        .iter()
        .map(|(path, _, kind)| (*path, HeldBackReason::SecretContent(*kind)))
        .collect();
    want.sort_by_key(|(path, _)| *path);
    assert_eq!(held(&context), want);
    let mut kept: Vec<&str> = harmless.iter().map(|(path, _)| *path).collect();
    kept.sort();
    assert_eq!(packed(&context), kept);

    // Messages name the rule, never the content.
    for held in context.held_back() {
        let shown = format!("{} {:?} {context:?}", held.reason(), held);
        assert!(!shown.contains("secretsecret") && !shown.contains("wJalr"));
        assert!(held.reason().to_string().contains("holds "), "{shown}");
    }
    // Allowed on purpose, it is packed.
    let context = pack(dir.path(), &ContextOptions::new().allow_secret("cert.txt")).unwrap();
    assert!(packed(&context).contains(&"cert.txt"));
}

#[test]
fn only_the_start_of_a_file_is_judged() {
    let late = format!("{}\n{PEM_KEY}", "x".repeat(secrets::SNIFF_BYTES));
    let dir = tree(&[("Dockerfile", "FROM x\n"), ("big.txt", &late)]);
    let context = pack(dir.path(), &ContextOptions::new()).unwrap();
    assert_eq!(packed(&context), ["Dockerfile", "big.txt"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_is_judged_by_its_target_too() {
    use std::os::unix::fs::symlink;
    for dockerignore in [None, Some(".aws\n")] {
        let dir = tree(&[
            ("Dockerfile", "FROM x\n"),
            (".env", "KEY=1"),
            ("server.key", "key"),
            ("keys/plain.txt", PEM_KEY),
            (".aws/credentials", "harmless"),
            ("app.py", ""),
        ]);
        if let Some(text) = dockerignore {
            write(dir.path(), ".dockerignore", text);
        }
        symlink(".env", dir.path().join("app.cfg")).unwrap();
        symlink("server.key", dir.path().join("tls")).unwrap();
        symlink("keys/plain.txt", dir.path().join("readme.txt")).unwrap();
        symlink(".aws", dir.path().join("creds")).unwrap();
        let context = pack(dir.path(), &ContextOptions::new()).unwrap();
        let target = |pattern| HeldBackReason::SecretLinkTarget { pattern };
        let mut got = held(&context);
        got.retain(|(path, _)| {
            ["app.cfg", "creds/credentials", "readme.txt", "tls"].contains(path)
        });
        let mut want = vec![
            ("app.cfg", target(".env")),
            (
                "readme.txt",
                HeldBackReason::SecretContent(SecretContent::PemPrivateKey),
            ),
            ("tls", target("*.key")),
        ];
        if dockerignore.is_some() {
            // `.aws` is left out, so `creds` is walked and judged by its target.
            want.insert(1, ("creds/credentials", target(".aws/credentials")));
        }
        assert_eq!(got, want, "{dockerignore:?}");
        let files = packed(&context);
        assert!(!files.contains(&"app.cfg") && !files.contains(&"tls"));
        assert!(!files.contains(&"creds/credentials"));

        // Allowed by the link's own path, the link is packed.
        let context = pack(dir.path(), &ContextOptions::new().allow_secret("app.cfg")).unwrap();
        assert!(packed(&context).contains(&"app.cfg"));
    }
}

#[test]
fn secret_names_match_the_last_path_components() {
    let names = secrets::SecretNames::compile().unwrap();
    assert_eq!(
        names.matching("a/b/.aws/credentials"),
        Some(".aws/credentials")
    );
    assert_eq!(names.matching("credentials"), None);
    assert_eq!(names.matching("aws/credentials"), None);
    assert_eq!(names.matching("x/.kube/config"), Some(".kube/config"));
    assert_eq!(names.matching("prod.env"), Some("*.env"));
    assert_eq!(names.matching(".env"), Some(".env"));
    assert_eq!(names.matching("id_rsa.pub"), None);
    assert_eq!(names.matching("AuthKey_X.p8"), Some("AuthKey_*.p8"));
    assert_eq!(names.matching("key.p8"), None);
}

#[cfg(unix)]
#[test]
fn a_dockerfile_under_a_second_path_to_a_directory_is_still_packed() {
    use std::os::unix::fs::symlink;
    let dir = tree(&[("real/Dockerfile", "FROM x\n"), ("real/app.py", "")]);
    symlink("real", dir.path().join("linkdir")).unwrap();
    let options = ContextOptions::new().dockerfile("linkdir/Dockerfile");
    let context = pack(dir.path(), &options).unwrap();
    assert_eq!(
        packed(&context),
        [
            "linkdir/Dockerfile",
            "linkdir/app.py",
            "real/Dockerfile",
            "real/app.py"
        ]
    );
    // A loop on the way is no problem: each prefix of the path is finite.
    symlink("..", dir.path().join("real/up")).unwrap();
    let options = ContextOptions::new().dockerfile("real/up/linkdir/Dockerfile");
    let context = pack(dir.path(), &options).unwrap();
    assert!(packed(&context).contains(&"real/up/linkdir/Dockerfile"));
}
