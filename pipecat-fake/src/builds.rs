//! Cloud builds: `/v1/builds`, and the upload target the fake hands out
//! (`POST /fake-uploads/{uploadId}`, standing in for the presigned S3 POST).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use crate::answers::{Failure, error};
use crate::names::looks_like_uuid;
use crate::params::{Params, page};
use crate::state::{ORGANIZATION_ID, State};
use crate::{clock, regions};

/// Builds, the uploads they start from, and how building behaves.
pub(crate) struct Store {
    uploads: HashMap<String, Upload>,
    /// Oldest first.
    builds: Vec<Build>,
    /// Reads (`getBuild`, `listBuilds`) a new build spends `building`.
    pub(crate) building_reads: u32,
    /// Why the next new build fails, if it should.
    pub(crate) next_failure: Option<String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            uploads: HashMap::new(),
            builds: Vec::new(),
            building_reads: 1,
            next_failure: None,
        }
    }
}

struct Upload {
    region: String,
    /// The form fields handed out, in order: the upload must carry them.
    fields: Vec<(String, String)>,
    /// Hash and size of what was uploaded, once it was.
    context: Option<(String, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Building,
    Success,
    Failed,
}

impl Status {
    fn text(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Building => "building",
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }
}

struct Build {
    id: String,
    status: Status,
    region: String,
    context_hash: String,
    dockerfile_path: String,
    context_size: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    reads_left: u32,
    /// What building ends in: `None` for success, a message for failed.
    failure: Option<String>,
}

/// What an agent deploying a build needs to know about it.
pub(crate) struct BuildInfo<'a> {
    pub(crate) region: &'a str,
    pub(crate) status: &'static str,
}

impl Store {
    /// Build `id` as it is now (looking does not advance it).
    pub(crate) fn info(&self, id: &str) -> Option<BuildInfo<'_>> {
        self.builds.iter().find(|b| b.id == id).map(|b| BuildInfo {
            region: &b.region,
            status: b.status.text(),
        })
    }
}

impl Build {
    /// One read of the build: it moves on, pending -> building -> outcome.
    fn observe(&mut self) {
        if matches!(self.status, Status::Success | Status::Failed) {
            return;
        }
        let now = clock::now();
        self.started_at.get_or_insert(now);
        self.updated_at = now;
        if self.reads_left > 0 {
            self.reads_left -= 1;
            self.status = Status::Building;
            return;
        }
        self.status = if self.failure.is_some() {
            Status::Failed
        } else {
            Status::Success
        };
        self.completed_at = Some(now);
    }

    fn image_uri(&self) -> String {
        format!(
            "registry.fake.invalid/pipecat-cloud/fake-org:{}",
            self.context_hash
        )
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "organizationId": ORGANIZATION_ID,
            "status": self.status.text(),
            "region": self.region,
            "contextHash": self.context_hash,
            "dockerfilePath": self.dockerfile_path,
            "logsUrl": format!("https://console.fake.invalid/builds/{}", self.id),
            "contextSizeBytes": self.context_size,
            "createdAt": clock::millis(self.created_at),
            "updatedAt": clock::millis(self.updated_at),
        });
        if let Some(started) = self.started_at {
            v["startedAt"] = json!(clock::millis(started));
        }
        if let (Some(started), Some(completed)) = (self.started_at, self.completed_at) {
            v["completedAt"] = json!(clock::millis(completed));
            v["buildDurationSeconds"] = json!((completed - started).num_seconds());
        }
        match (self.status, &self.failure) {
            (Status::Success, _) => {
                v["imageUri"] = json!(self.image_uri());
                v["imageSizeBytes"] = json!(524_288_000);
            }
            (Status::Failed, Some(message)) => v["errorMessage"] = json!(message),
            _ => {}
        }
        v
    }

    /// The build's log so far.
    fn log_lines(&self) -> Vec<String> {
        let at = |t: Option<DateTime<Utc>>| {
            t.unwrap_or(self.created_at)
                .format("%Y/%m/%d %H:%M:%S")
                .to_string()
        };
        let start = at(self.started_at);
        let end = at(self.completed_at);
        let mut lines = Vec::new();
        if self.status == Status::Pending {
            return lines;
        }
        lines.push(format!("[Container] {start} Entering phase: INSTALL"));
        lines.push(format!(
            "[Container] {start} Running command docker build -f {} .",
            self.dockerfile_path
        ));
        lines.push(format!(
            "[Container] {start} Step 1/3 : FROM dailyco/pipecat-base:latest"
        ));
        match (self.status, &self.failure) {
            (Status::Success, _) => {
                lines.push(format!(
                    "[Container] {end} Successfully built {}",
                    self.context_hash
                ));
                lines.push(format!("[Container] {end} Pushing {}", self.image_uri()));
                lines.push(format!(
                    "[Container] {end} Phase complete: BUILD State: SUCCEEDED"
                ));
            }
            (Status::Failed, Some(message)) => {
                lines.push(format!("[Container] {end} {message}"));
                lines.push(format!(
                    "[Container] {end} Phase complete: BUILD State: FAILED"
                ));
            }
            _ => {}
        }
        lines
    }
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "GENERIC_BAD_REQUEST")
}

/// The context hash the service computes: the first 16 hex digits of the
/// MD5 of the uploaded archive.
pub(crate) fn context_hash(archive: &[u8]) -> String {
    Md5::digest(archive)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    }
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub(crate) async fn upload_url(
    AxumState(state): AxumState<Arc<State>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(region) = object(&body).and_then(|obj| string_field(&obj, "region")) else {
        return bad_request("region is required");
    };
    if !regions::known(&region) {
        return bad_request(&format!("Cloud build is not enabled for region '{region}'"));
    }
    let inner = &mut *state.lock();
    let id = inner.new_id();
    // In the order a storage host's presigned POST lists them, which is
    // neither sorted nor any map's order: a client must keep it. No
    // `Content-Type`: the client adds it.
    let fields = vec![
        ("key".to_string(), format!("fake-org/{id}.tar.gz")),
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            "FAKEKEY/20250101/us-west-2/s3/aws4_request".into(),
        ),
        ("X-Amz-Date".into(), "20250101T000000Z".into()),
        ("x-amz-security-token".into(), "fake-session-token".into()),
        ("Policy".into(), "ZmFrZS1wb2xpY3k=".into()),
        ("X-Amz-Signature".into(), "fake-signature".into()),
    ];
    // Written by hand so the object keeps that order whatever serde_json's
    // features.
    let object = fields
        .iter()
        .map(|(n, v)| format!("{}:{}", json!(n), json!(v)))
        .collect::<Vec<_>>()
        .join(",");
    inner.builds.uploads.insert(
        id.clone(),
        Upload {
            region,
            fields,
            context: None,
        },
    );
    let body = format!(
        r#"{{"uploadId":{},"uploadUrl":{},"uploadFields":{{{object}}},"expiresAt":{}}}"#,
        json!(id),
        json!(format!("{}/fake-uploads/{id}", state.base_url)),
        json!(clock::millis(clock::now() + Duration::minutes(15))),
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Where the upload URL points, standing in for a storage host's presigned
/// POST: a `multipart/form-data` body carrying every field handed out, in
/// that order and with those values, then `Content-Type`, then the archive
/// last as the `file` part. An upload carrying an `Authorization` header is
/// refused (a storage host takes one credential, and the Pipecat key must
/// never go there). Refusals are XML, as storage hosts answer; success is
/// 204. Faults: `fail_next(Op::UploadBuildContext, ..)`.
pub(crate) async fn receive_upload(
    AxumState(state): AxumState<Arc<State>>,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm form field or the Authorization header may be given",
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(parts) = multipart_parts(content_type, &body) else {
        return storage_error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "Bucket POST must be of the enclosure-type multipart/form-data",
        );
    };
    let mut inner = state.lock();
    let Some(upload) = inner.builds.uploads.get_mut(&upload_id) else {
        return storage_error(StatusCode::NOT_FOUND, "NoSuchUpload", "No such upload");
    };
    let Some((file, fields)) = parts.split_last() else {
        return storage_error(StatusCode::BAD_REQUEST, "InvalidArgument", "Empty form");
    };
    if file.name != "file" || file.filename.is_none() {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "The file must be the last field of the form",
        );
    }
    let sent: Vec<(&str, &[u8])> = fields
        .iter()
        .filter(|p| upload.fields.iter().any(|(n, _)| *n == p.name))
        .map(|p| (p.name.as_str(), p.content))
        .collect();
    let expected: Vec<(&str, &[u8])> = upload
        .fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    if sent != expected {
        return storage_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed",
        );
    }
    let gzip = fields
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("content-type") && p.content == b"application/gzip");
    if !gzip {
        return storage_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$Content-Type\", \"application/gzip\"]",
        );
    }
    let size = u64::try_from(file.content.len()).unwrap_or(u64::MAX);
    upload.context = Some((context_hash(file.content), size));
    StatusCode::NO_CONTENT.into_response()
}

/// An error as a storage host answers it: XML with a code and a message.
fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAKE0001</RequestId></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// One part of a `multipart/form-data` body.
struct Part<'a> {
    name: String,
    filename: Option<String>,
    content: &'a [u8],
}

/// A quoted parameter (`name="..."`) of a `Content-Disposition` line.
fn disposition_param(head: &str, param: &str) -> Option<String> {
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let key = format!("{param}=\"");
    let at = line
        .match_indices(&key)
        .find(|(i, _)| *i == 0 || matches!(line.as_bytes()[i - 1], b' ' | b';'))?
        .0;
    let rest = &line[at + key.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The parts of a `multipart/form-data` body, in order, if it is one.
fn multipart_parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("\r\n--{boundary}");
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    // The first delimiter may open the body without a line break before it.
    let first = format!("--{boundary}");
    let mut rest = body.strip_prefix(first.as_bytes())?;
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let at = find(rest, delimiter.as_bytes())?;
        let part = &rest[..at];
        rest = &rest[at + delimiter.len()..];
        let head_end = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..head_end]);
        parts.push(Part {
            name: disposition_param(&head, "name")?,
            filename: disposition_param(&head, "filename"),
            content: &part[head_end + 4..],
        });
    }
}

pub(crate) async fn create(
    AxumState(state): AxumState<Arc<State>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(obj) = object(&body) else {
        return bad_request("Invalid request format");
    };
    let (Some(upload_id), Some(region)) =
        (string_field(&obj, "uploadId"), string_field(&obj, "region"))
    else {
        return bad_request("uploadId and region are required");
    };
    let dockerfile_path =
        string_field(&obj, "dockerfilePath").unwrap_or_else(|| "Dockerfile".to_string());
    let inner = &mut *state.lock();
    let Some(upload) = inner.builds.uploads.get(&upload_id) else {
        return bad_request("Upload not found");
    };
    if upload.region != region {
        return bad_request(&format!(
            "Region '{region}' does not match the region of the upload ('{}')",
            upload.region
        ));
    }
    // What was uploaded decides the hash; without an upload, a `contextHash`
    // in the body (a test's shortcut), else one per upload.
    let (hash, size) = upload.context.clone().unwrap_or_else(|| {
        let hash =
            string_field(&obj, "contextHash").unwrap_or_else(|| context_hash(upload_id.as_bytes()));
        (hash, 0)
    });
    let cached = inner.builds.builds.iter().rev().find(|b| {
        b.status == Status::Success
            && b.context_hash == hash
            && b.region == region
            && b.dockerfile_path == dockerfile_path
    });
    if let Some(build) = cached {
        return Json(json!({"build": build.to_json(), "contextHash": hash, "cached": true}))
            .into_response();
    }
    let now = clock::now();
    let build = Build {
        id: inner.new_id(),
        status: Status::Pending,
        region,
        context_hash: hash.clone(),
        dockerfile_path,
        context_size: size,
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
        reads_left: inner.builds.building_reads,
        failure: inner.builds.next_failure.take(),
    };
    let v = json!({"build": build.to_json(), "contextHash": hash, "cached": false});
    inner.builds.builds.push(build);
    (StatusCode::CREATED, Json(v)).into_response()
}

pub(crate) async fn list(
    AxumState(state): AxumState<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let params = Params(params);
    let parsed = (|| {
        Ok::<_, String>((
            params.int("limit", 20, 1, 100)?,
            params.int("offset", 0, 0, i64::MAX)?,
            match params.0.get("status") {
                None => None,
                Some(_) => Some(params.choice(
                    "status",
                    &["pending", "building", "success", "failed", "timeout"],
                    "pending",
                )?),
            },
        ))
    })();
    let (limit, offset, status) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(&message),
    };
    let region = params.text("region");
    let hash = params.text("contextHash");
    let mut inner = state.lock();
    let matching: Vec<Value> = inner
        .builds
        .builds
        .iter_mut()
        .rev()
        .filter_map(|b| {
            b.observe();
            let keep = status.is_none_or(|s| s == b.status.text())
                && region.is_none_or(|r| r == b.region)
                && hash.is_none_or(|h| h == b.context_hash);
            keep.then(|| b.to_json())
        })
        .collect();
    let shown = page(
        matching.len(),
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    Json(json!({
        "builds": &matching[shown],
        "total": matching.len(),
        "limit": limit,
        "offset": offset,
    }))
    .into_response()
}

fn find_build<'a>(store: &'a mut Store, id: &str) -> Result<&'a mut Build, Failure> {
    if !looks_like_uuid(id) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "Invalid build ID format",
            "GENERIC_BAD_REQUEST",
        ));
    }
    store
        .builds
        .iter_mut()
        .find(|b| b.id == id)
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, "Build not found", "NOT_FOUND"))
}

pub(crate) async fn get(
    AxumState(state): AxumState<Arc<State>>,
    Path(build_id): Path<String>,
) -> Response {
    let mut inner = state.lock();
    match find_build(&mut inner.builds, &build_id) {
        Ok(build) => {
            build.observe();
            Json(json!({"build": build.to_json()})).into_response()
        }
        Err(failure) => failure.into_response(),
    }
}

pub(crate) async fn logs(
    AxumState(state): AxumState<Arc<State>>,
    Path(build_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let params = Params(params);
    let limit = match params.int("limit", 500, 1, 10_000) {
        Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        Err(message) => return bad_request(&message),
    };
    // The token is the position of the next line.
    let from = match params.text("nextToken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(from)) => from,
        Some(Err(_)) => return bad_request("Invalid nextToken"),
    };
    let mut inner = state.lock();
    let build = match find_build(&mut inner.builds, &build_id) {
        Ok(build) => build,
        Err(failure) => return failure.into_response(),
    };
    let lines = build.log_lines();
    let shown = page(lines.len(), from, limit);
    let mut v = json!({"logs": &lines[shown.clone()]});
    if shown.end < lines.len() {
        v["nextToken"] = json!(shown.end.to_string());
    }
    Json(v).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(reads: u32, failure: Option<&str>) -> Build {
        let now = clock::now();
        Build {
            id: "00000000-0000-4000-8000-000000000001".into(),
            status: Status::Pending,
            region: "us-west".into(),
            context_hash: "0123456789abcdef".into(),
            dockerfile_path: "Dockerfile".into(),
            context_size: 10,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            reads_left: reads,
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn pending_building_success() {
        let mut b = build(1, None);
        assert!(b.log_lines().is_empty());
        b.observe();
        assert_eq!(b.status, Status::Building);
        assert!(b.to_json().get("imageUri").is_none());
        assert_eq!(b.log_lines().len(), 3);
        b.observe();
        assert_eq!(b.status, Status::Success);
        let v = b.to_json();
        assert!(v["imageUri"].is_string() && v["completedAt"].is_string());
        assert_eq!(b.log_lines().len(), 6);
        b.observe();
        assert_eq!(b.status, Status::Success);
    }

    #[test]
    fn failure() {
        let mut b = build(0, Some("COPY failed"));
        b.observe();
        assert_eq!(b.status, Status::Failed);
        assert_eq!(b.to_json()["errorMessage"], "COPY failed");
        assert!(b.log_lines().iter().any(|l| l.contains("COPY failed")));
    }

    #[test]
    fn hashes_like_the_cli() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(context_hash(b""), "d41d8cd98f00b204");
    }

    #[test]
    fn multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.tar.gz\"\r\n\
Content-Type: application/gzip\r\n\r\n\x1f\x8b\r\ndata\r\n--XyZ--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].content),
            ("key", &b"k"[..])
        );
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("c.tar.gz"));
        assert_eq!(parts[1].content, &b"\x1f\x8b\r\ndata"[..]);
        assert!(multipart_parts("application/gzip", body).is_none());
        assert!(multipart_parts("multipart/form-data; boundary=other", body).is_none());
    }
}
