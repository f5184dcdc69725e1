//! `Client::cloud_build` end to end: from a directory to a build id, over
//! HTTP against the fake (its upload endpoint standing in for the storage
//! host).

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipecat_api::cloud_build::{BuildProgress, CloudBuild};
use pipecat_api::types::BuildStatus;
use pipecat_api::{Error, StatusCode, Wait};
use pipecat_e2e::setup;
use pipecat_fake::{FakeCloud, Fault, Op, RecordedRequest};

const SECRET: &str = "sk-live-do-not-upload-4242";

/// A bot's directory: a Dockerfile, code, and a `.env` that must stay home.
fn bot_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("Dockerfile"),
        "FROM dailyco/pipecat-base:latest\nCOPY . /app\n",
    )
    .unwrap();
    std::fs::write(root.join("bot.py"), "print('hello')\n").unwrap();
    std::fs::create_dir(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/util.py"), "X = 1\n").unwrap();
    std::fs::write(root.join(".env"), format!("OPENAI_API_KEY={SECRET}\n")).unwrap();
    dir
}

fn quick() -> Wait {
    Wait::default()
        .timeout(Duration::from_secs(10))
        .polling(Duration::from_millis(5), Duration::from_millis(20))
}

fn build_of(dir: &tempfile::TempDir) -> CloudBuild {
    CloudBuild::new(dir.path()).region("us-west").wait(quick())
}

fn uploads(fake: &FakeCloud) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/fake-uploads/"))
        .collect()
}

fn calls(fake: &FakeCloud, operation: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some(operation))
        .count()
}

/// The `name`s of a multipart body's parts, in order.
fn part_names(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split("Content-Disposition: form-data; name=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn a_directory_becomes_a_successful_build_without_its_env_file() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    // A .dockerignore that forgets `.env`: it is held back all the same.
    std::fs::write(dir.path().join(".dockerignore"), "*.md\n").unwrap();
    let built = client.cloud_build(build_of(&dir)).await.unwrap();

    assert!(!built.cached());
    assert!(!built.build_id().is_nil());
    let files: Vec<_> = built.files().iter().map(|f| f.path()).collect();
    assert_eq!(
        files,
        [".dockerignore", "Dockerfile", "bot.py", "lib/util.py"]
    );
    let held: Vec<_> = built.held_back().iter().map(|h| h.path()).collect();
    assert_eq!(held, [".env"]);
    // The hash the fake computed from what it received is the one we packed.
    let packed = pipecat_api::build_context::pack(
        dir.path(),
        &pipecat_api::build_context::ContextOptions::new(),
    )
    .unwrap();
    assert_eq!(built.context_hash(), packed.hash());
    assert_eq!(built.build().context_hash.as_deref(), Some(packed.hash()));
    assert_eq!(built.build().status, Some(BuildStatus::Success));

    // The service agrees, and the build is deployable.
    let remote = client
        .get_build()
        .build_id(built.build_id())
        .send()
        .await
        .unwrap()
        .build
        .unwrap();
    assert_eq!(remote.status, Some(BuildStatus::Success));
    assert_eq!(remote.dockerfile_path.as_deref(), Some("Dockerfile"));

    let uploads = uploads(&fake);
    assert_eq!(uploads.len(), 1);
    // The archive arrived whole, and the secret is nowhere in it.
    let archive = packed.read_archive().unwrap();
    assert!(
        uploads[0]
            .body
            .windows(archive.len())
            .any(|w| w == archive.as_slice())
    );
    assert!(!String::from_utf8_lossy(&uploads[0].body).contains(SECRET));
}

#[tokio::test]
async fn the_upload_carries_no_api_key_and_every_field_in_order_with_the_file_last() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    client.cloud_build(build_of(&dir)).await.unwrap();

    let uploads = uploads(&fake);
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(upload.header("authorization"), None);
    for (name, value) in &upload.headers {
        assert!(
            !value.contains(fake.private_key()) && !value.contains(fake.public_key()),
            "the API key went to the storage host in {name}"
        );
    }
    assert!(!String::from_utf8_lossy(&upload.body).contains(fake.private_key()));
    // The API calls did carry it.
    let api_call = fake
        .requests()
        .into_iter()
        .find(|r| r.operation.as_deref() == Some("getBuildUploadUrl"))
        .unwrap();
    assert!(
        api_call
            .header("authorization")
            .unwrap()
            .contains(fake.private_key())
    );

    // The fake hands the fields out in this order (neither sorted nor a
    // map's), without Content-Type, which the client adds before the file.
    assert_eq!(
        part_names(&upload.body),
        [
            "key",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "x-amz-security-token",
            "Policy",
            "X-Amz-Signature",
            "Content-Type",
            "file",
        ]
    );
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains("name=\"file\"; filename=\"context.tar.gz\""),
        "{body:.400}"
    );
    assert!(body.contains("name=\"Content-Type\"\r\n\r\napplication/gzip\r\n"));
    assert!(
        upload
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
}

#[tokio::test]
async fn the_same_directory_again_is_served_from_the_cache_without_uploading() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    let first = client.cloud_build(build_of(&dir)).await.unwrap();
    assert_eq!(uploads(&fake).len(), 1);
    let upload_urls = calls(&fake, "getBuildUploadUrl");
    let creates = calls(&fake, "createBuild");

    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let again = client
        .cloud_build(build_of(&dir).on_progress(move |e| seen.lock().unwrap().push(e.clone())))
        .await
        .unwrap();
    assert!(again.cached());
    assert_eq!(again.build_id(), first.build_id());
    assert_eq!(again.context_hash(), first.context_hash());
    // No second upload, upload URL or build.
    assert_eq!(uploads(&fake).len(), 1);
    assert_eq!(calls(&fake, "getBuildUploadUrl"), upload_urls);
    assert_eq!(calls(&fake, "createBuild"), creates);
    let lookup = fake
        .requests()
        .into_iter()
        .rfind(|r| r.operation.as_deref() == Some("listBuilds"))
        .unwrap();
    let query = lookup.query.unwrap();
    for part in [
        format!("contextHash={}", first.context_hash()),
        "region=us-west".to_string(),
        "status=success".to_string(),
        "limit=1".to_string(),
    ] {
        assert!(query.contains(&part), "{query}");
    }
    let events = events.lock().unwrap().clone();
    assert!(
        matches!(events[0], BuildProgress::Packed { .. }),
        "{events:?}"
    );
    assert_eq!(
        events[1..],
        [
            BuildProgress::Cached {
                build_id: first.build_id()
            },
            BuildProgress::Done {
                build_id: first.build_id()
            },
        ]
    );

    // A changed file is a new context: uploaded and built again.
    std::fs::write(dir.path().join("bot.py"), "print('changed')\n").unwrap();
    let changed = client.cloud_build(build_of(&dir)).await.unwrap();
    assert!(!changed.cached());
    assert_ne!(changed.build_id(), first.build_id());
    assert_eq!(uploads(&fake).len(), 2);
}

#[tokio::test]
async fn a_build_the_service_reports_cached_200_is_a_cached_success() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    let first = client.cloud_build(build_of(&dir)).await.unwrap();
    // The lookup misses (say the build was made with another Dockerfile
    // path spelling), so the context is uploaded again; createBuild then
    // answers 200 with the earlier build.
    fake.fail_next(
        Op::ListBuilds,
        1,
        Fault::json(
            200,
            serde_json::json!({"builds": [], "total": 0, "limit": 1, "offset": 0}),
        ),
    );
    let again = client.cloud_build(build_of(&dir)).await.unwrap();
    assert_eq!(uploads(&fake).len(), 2);
    let create = fake
        .requests()
        .into_iter()
        .rfind(|r| r.operation.as_deref() == Some("createBuild"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["region"], "us-west");
    assert_eq!(body["dockerfilePath"], "Dockerfile");
    assert!(again.cached());
    assert_eq!(again.build_id(), first.build_id());
}

#[tokio::test]
async fn the_same_context_with_another_dockerfile_is_not_reused() {
    let (fake, client) = setup().await;
    let dir = bot_dir();
    std::fs::write(
        dir.path().join("Dockerfile.prod"),
        "FROM dailyco/pipecat-base:latest\n",
    )
    .unwrap();
    let first = client.cloud_build(build_of(&dir)).await.unwrap();
    let prod = client
        .cloud_build(build_of(&dir).dockerfile("Dockerfile.prod"))
        .await
        .unwrap();
    // Same archive, same hash, but another Dockerfile: a build of its own.
    assert_eq!(prod.context_hash(), first.context_hash());
    assert!(!prod.cached());
    assert_ne!(prod.build_id(), first.build_id());
    assert_eq!(
        prod.build().dockerfile_path.as_deref(),
        Some("Dockerfile.prod")
    );
    assert_eq!(uploads(&fake).len(), 2);
}

#[tokio::test]
async fn a_503_from_the_storage_host_is_retried() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::UploadBuildContext,
        1,
        Fault::body(
            503,
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ),
    );
    let dir = bot_dir();
    let built = client.cloud_build(build_of(&dir)).await.unwrap();
    assert!(!built.build_id().is_nil());
    let uploads = uploads(&fake);
    assert_eq!(uploads.len(), 2);
    // The retry is the same form, fields and all.
    assert_eq!(part_names(&uploads[0].body), part_names(&uploads[1].body));
    assert_eq!(calls(&fake, "createBuild"), 1);
}

#[tokio::test]
async fn a_403_from_the_storage_host_is_an_error_quoting_its_message() {
    let (fake, client) = setup().await;
    fake.fail_next(
        Op::UploadBuildContext,
        3,
        Fault::body(
            403,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message><RequestId>R1</RequestId></Error>",
        ),
    );
    let dir = bot_dir();
    let err = client.cloud_build(build_of(&dir)).await.unwrap_err();
    match &err {
        Error::Storage {
            host,
            status,
            message,
        } => {
            assert_eq!(host, "127.0.0.1");
            assert_eq!(*status, Some(StatusCode::FORBIDDEN));
            assert!(
                message.contains("AccessDenied: Invalid according to Policy: Policy expired."),
                "{message}"
            );
        }
        other => panic!("expected Storage, got {other:?}"),
    }
    // The storage host failed, not Pipecat Cloud, and the error says so.
    let text = err.to_string();
    assert!(
        text.starts_with("the storage host 127.0.0.1 refused"),
        "{text}"
    );
    assert!(!text.contains("Pipecat Cloud"), "{text}");
    let shown = format!("{err} {err:?}");
    for secret in [
        "fake-signature",
        "fake-session-token",
        "ZmFrZS1wb2xpY3k=",
        fake.private_key(),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // A refusal is not retried, and nothing is built.
    assert_eq!(uploads(&fake).len(), 1);
    assert_eq!(calls(&fake, "createBuild"), 0);
}

#[tokio::test]
async fn a_failed_build_is_an_error_with_its_message_and_log_lines() {
    let (fake, client) = setup().await;
    fake.fail_next_build("COPY failed: file not found in build context: requirements.txt");
    let dir = bot_dir();
    let err = client.cloud_build(build_of(&dir)).await.unwrap_err();
    match &err {
        Error::Failed {
            job,
            reason: message,
            last,
            ..
        } => {
            assert!(matches!(job, pipecat_api::Job::Build { .. }), "{job:?}");
            assert!(
                matches!(last.job_state(), Some(pipecat_api::JobState::Build(b))
                    if b.status == Some(pipecat_api::types::BuildStatus::Failed)),
                "{last:?}"
            );
            assert!(
                message
                    .starts_with("COPY failed: file not found in build context: requirements.txt"),
                "{message}"
            );
            // From the build log (`getBuildLogs`), last line included.
            assert!(
                message.contains("Running command docker build -f Dockerfile ."),
                "{message}"
            );
            assert!(
                message.contains("Phase complete: BUILD State: FAILED"),
                "{message}"
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(calls(&fake, "getBuildLogs"), 1);
}

#[tokio::test]
async fn progress_arrives_in_order_and_unknown_statuses_keep_waiting() {
    let (fake, client) = setup().await;
    fake.set_build_reads(2);
    // The first poll reports a status newer than this crate: not final.
    fake.fail_next(
        Op::GetBuild,
        1,
        Fault::amend("/build/status", serde_json::json!("queued")),
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let dir = bot_dir();
    let built = client
        .cloud_build(build_of(&dir).on_progress(move |e| seen.lock().unwrap().push(e.clone())))
        .await
        .unwrap();
    let events = events.lock().unwrap().clone();
    let BuildProgress::Packed {
        files,
        bytes,
        held_back,
    } = events[0].clone()
    else {
        panic!("{events:?}")
    };
    assert_eq!(files, 3);
    assert_eq!(bytes, built.compressed_bytes());
    assert_eq!(
        held_back,
        built.held_back(),
        "held-back files are told before the upload"
    );
    assert_eq!(
        events[1],
        BuildProgress::Uploading {
            sent: 0,
            total: bytes
        }
    );
    assert_eq!(
        events[2],
        BuildProgress::Uploading {
            sent: bytes,
            total: bytes
        }
    );
    assert_eq!(events[3], BuildProgress::ConfirmingUpload { total: bytes });
    assert_eq!(events[4], BuildProgress::Uploaded);
    assert_eq!(
        events[5],
        BuildProgress::Created {
            build_id: built.build_id()
        }
    );
    let statuses: Vec<String> = events[6..events.len() - 1]
        .iter()
        .map(|e| match e {
            BuildProgress::Building { status } => status.to_string(),
            other => panic!("{other:?} in {events:?}"),
        })
        .collect();
    assert_eq!(statuses, ["queued", "building", "success"]);
    assert_eq!(
        events.last(),
        Some(&BuildProgress::Done {
            build_id: built.build_id()
        })
    );
}

#[tokio::test]
async fn a_build_not_final_by_the_deadline_is_a_timeout() {
    let (fake, client) = setup().await;
    fake.set_build_reads(1_000);
    let dir = bot_dir();
    let wait = Wait::default()
        .timeout(Duration::from_millis(200))
        .polling(Duration::from_millis(5), Duration::from_millis(20));
    let err = client
        .cloud_build(build_of(&dir).wait(wait))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn packing_errors_send_nothing_and_the_call_can_be_spawned() {
    let (fake, client) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot.py"), "x").unwrap();
    // Spawnable: the future is Send.
    let task = tokio::spawn(async move { client.cloud_build(build_of(&dir)).await });
    let err = task.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("Dockerfile"), "{err}");
    assert_eq!(fake.request_count(), 0);
}

/// A storage stand-in on loopback: it reads whatever is sent and never
/// answers (until the test ends). Gives its URL and how many bytes it read.
async fn silent_storage_host() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bucket", listener.local_addr().unwrap());
    let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = read.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    (url, read)
}

#[tokio::test]
async fn a_storage_host_that_takes_the_upload_and_never_answers_is_an_error_in_bounded_time() {
    let fake = FakeCloud::start().await.unwrap();
    // One attempt: a timed-out upload is retried like any timeout otherwise.
    let client = pipecat_api::Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .retry(pipecat_api::RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let (url, read) = silent_storage_host().await;
    fake.fail_next(
        Op::GetBuildUploadUrl,
        1,
        Fault::amend("/uploadUrl", serde_json::json!(url)),
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let dir = bot_dir();
    let started = std::time::Instant::now();
    let build = build_of(&dir)
        .upload_response_timeout(Duration::from_millis(300))
        .on_progress(move |e| seen.lock().unwrap().push(e.clone()));
    let err = tokio::time::timeout(Duration::from_secs(20), client.cloud_build(build))
        .await
        .expect("the upload wait is bounded")
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    match &err {
        Error::Storage {
            host,
            status,
            message,
        } => {
            assert_eq!(host, "127.0.0.1");
            assert_eq!(*status, None);
            assert!(message.contains("did not confirm the upload"), "{message}");
        }
        other => panic!("expected Storage, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.starts_with("the storage host 127.0.0.1 "), "{text}");
    assert!(!text.contains("Pipecat Cloud"), "{text}");
    // The whole body went out, then the wait was said and bounded.
    let events = events.lock().unwrap().clone();
    let Some(BuildProgress::Packed { bytes, .. }) = events.first().cloned() else {
        panic!("{events:?}")
    };
    assert!(read.load(std::sync::atomic::Ordering::SeqCst) as u64 > bytes);
    assert_eq!(
        events.last(),
        Some(&BuildProgress::ConfirmingUpload { total: bytes }),
        "{events:?}"
    );
    assert_eq!(calls(&fake, "createBuild"), 0);
}

/// A context big enough that packing it takes a while: incompressible
/// files (a xorshift stream), so every chunk costs the compressor.
fn big_context(files: usize, each: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..files {
        let mut data = Vec::with_capacity(each);
        while data.len() < each {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        std::fs::write(dir.path().join(format!("weights-{i:03}.bin")), data).unwrap();
    }
    dir
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits (bounded) until packing has started writing its archive in `dir`.
async fn archive_started(dir: &std::path::Path) {
    let started = std::time::Instant::now();
    while entries(dir).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no archive appeared"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_cancelled_pack_stops_sends_nothing_and_leaves_no_archive() {
    let (fake, client) = setup().await;
    let context = big_context(48, 1 << 20);
    let temp = tempfile::tempdir().unwrap();
    let token = pipecat_api::build_context::CancelToken::new();
    let build = CloudBuild::new(context.path())
        .region("us-west")
        .temp_dir(temp.path())
        .cancel_token(token.clone());
    let task = tokio::spawn(async move { client.cloud_build(build).await });
    archive_started(temp.path()).await;
    token.cancel();
    let err = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("a cancelled pack stops promptly")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert_eq!(entries(temp.path()), Vec::<String>::new());
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn dropping_a_cloud_build_while_packing_stops_the_pack_and_deletes_its_archive() {
    let (fake, client) = setup().await;
    let context = big_context(48, 1 << 20);
    let temp = tempfile::tempdir().unwrap();
    let build = CloudBuild::new(context.path())
        .region("us-west")
        .temp_dir(temp.path());
    let task = tokio::spawn(async move { client.cloud_build(build).await });
    archive_started(temp.path()).await;
    task.abort();
    // The pack's thread notices at its next write and deletes its file.
    let started = std::time::Instant::now();
    while !entries(temp.path()).is_empty() {
        // Well under the time the whole pack takes (which the old code
        // ran to the end before deleting anything).
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the partial archive stayed: {:?}",
            entries(temp.path())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(fake.request_count(), 0);
}

/// A pack that fails leaves the build's cancel token alone: the same
/// `CloudBuild` (or a clone sharing its token) runs once the cause is fixed.
#[tokio::test]
async fn a_failed_pack_does_not_cancel_the_next_run_of_the_same_build() {
    let (_fake, client) = setup().await;
    let dir = bot_dir();
    let dockerfile = std::fs::read(dir.path().join("Dockerfile")).unwrap();
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    let build = build_of(&dir);
    let err = client.cloud_build(build.clone()).await.unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let built = client.cloud_build(build).await.unwrap();
    assert!(!built.build_id().is_nil());
}

/// A build created through the API (no upload: the fake's shortcut), not
/// read yet, so still `pending`; its id.
async fn unread_build(client: &pipecat_api::Client) -> pipecat_api::uuid::Uuid {
    use pipecat_api::types::{CreateBuildRequest, UploadUrlRequest};
    let upload = client
        .get_build_upload_url()
        .body(UploadUrlRequest::builder().region("us-west"))
        .send()
        .await
        .unwrap();
    let created = client
        .create_build()
        .body(
            CreateBuildRequest::builder()
                .upload_id(upload.upload_id.unwrap())
                .region("us-west")
                .dockerfile_path("Dockerfile"),
        )
        .send()
        .await
        .unwrap();
    created.build.and_then(|b| b.id).unwrap()
}

/// Everything a follow of build `id`'s log yields: the lines, and how it
/// ended (`Ok` with the succeeded build, or the error).
async fn follow_all(
    client: &pipecat_api::Client,
    id: pipecat_api::uuid::Uuid,
    wait: Wait,
) -> (Vec<String>, Result<pipecat_api::types::Build, Error>) {
    use futures_util::StreamExt as _;
    use pipecat_api::follow::BuildLogEvent;
    let mut log = std::pin::pin!(client.follow_build_logs(id, wait));
    let mut lines = Vec::new();
    let mut end = None;
    while let Some(event) = log.next().await {
        assert!(end.is_none(), "an item after the outcome: {event:?}");
        match event {
            Ok(BuildLogEvent::Line(line)) => lines.push(line),
            Ok(BuildLogEvent::Succeeded(build)) => end = Some(Ok(*build)),
            Ok(other) => panic!("{other:?}"),
            Err(error) => end = Some(Err(error)),
        }
    }
    let Some(end) = end else {
        panic!("the follow ended without the outcome: {lines:?}");
    };
    (lines, end)
}

#[tokio::test]
async fn following_a_build_log_yields_each_line_once_in_order_then_the_outcome() {
    let (fake, client) = setup().await;
    fake.set_build_reads(3);
    let id = unread_build(&client).await;
    let (lines, end) = follow_all(&client, id, quick()).await;
    let build = end.unwrap();
    assert_eq!(build.status, Some(BuildStatus::Success));
    // The whole log, once, in order: what a read of the finished build gives.
    let whole = client.get_build_logs().build_id(id).send().await.unwrap();
    assert_eq!(lines, whole.logs);
    assert_eq!(lines.len(), 6, "{lines:?}");
    // It polled while the build was going, not once.
    assert!(
        calls(&fake, "getBuild") >= 4,
        "{}",
        calls(&fake, "getBuild")
    );

    // A failed build: its lines, then the typed failure with the build.
    fake.fail_next_build("pip install failed");
    fake.set_build_reads(2);
    let id = unread_build(&client).await;
    let (lines, end) = follow_all(&client, id, quick()).await;
    let whole = client.get_build_logs().build_id(id).send().await.unwrap();
    assert_eq!(lines, whole.logs);
    let err = end.unwrap_err();
    let Error::Failed { job, reason, last } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(job, &pipecat_api::Job::Build { build_id: id });
    assert_eq!(reason, "pip install failed");
    assert!(
        matches!(last.job_state(), Some(pipecat_api::JobState::Build(b))
            if b.status == Some(BuildStatus::Failed)),
        "{last:?}"
    );
}

#[tokio::test]
async fn following_a_build_that_does_not_end_by_the_deadline_is_a_timeout_with_its_state() {
    let (fake, client) = setup().await;
    fake.set_build_reads(1_000);
    let id = unread_build(&client).await;
    let wait = Wait::default()
        .timeout(Duration::from_millis(100))
        .polling(Duration::from_millis(5), Duration::from_millis(20));
    let (lines, end) = follow_all(&client, id, wait).await;
    // The lines written so far, once each.
    let whole = client.get_build_logs().build_id(id).send().await.unwrap();
    assert_eq!(lines, whole.logs);
    let err = end.unwrap_err();
    let Error::Timeout { job, last, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(job, &pipecat_api::Job::Build { build_id: id });
    assert!(
        matches!(last.job_state(), Some(pipecat_api::JobState::Build(b))
            if b.status == Some(BuildStatus::Building)),
        "{last:?}"
    );
    assert!(
        err.to_string().contains("last seen: status building"),
        "{err}"
    );
}
