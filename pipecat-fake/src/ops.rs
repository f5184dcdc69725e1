//! The operation table: every operation the fake serves, once, with its
//! method, route and key. The router, authentication, faults and the
//! request log all read it; [`Op`] is made from it, and a test checks it
//! against the spec (`openapi/pipecat-cloud.yaml`).

use std::fmt;
use std::str::FromStr;

/// Which key an operation takes, as the documentation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Private,
    Public,
    /// None: the storage host a presigned upload goes to, which takes no
    /// Pipecat key (the fields carry the credentials).
    Storage,
}

/// One row of the table.
pub(crate) struct Operation {
    pub(crate) op: Op,
    /// The spec's `operationId`.
    pub(crate) id: &'static str,
    /// `GET`, `POST`, ...
    pub(crate) method: &'static str,
    /// The route as axum reads it: the spec's server path and path
    /// template, `{*name}` for a parameter that spans segments.
    pub(crate) route: &'static str,
    pub(crate) key: Key,
}

/// The table, and [`Op`] made from it, so that the two cannot disagree.
macro_rules! operations {
    ($($op:ident = $id:literal, $method:literal $route:literal, $key:ident;)*) => {
        /// An operation of the fake, for arming faults
        /// ([`FakeCloud::fail_next`](crate::FakeCloud::fail_next)): every
        /// operation of the Pipecat Cloud spec, and
        /// [`Op::UploadBuildContext`], the presigned upload to the storage
        /// host. Its [`Display`](fmt::Display) and [`FromStr`] forms are
        /// the spec's operation id (`deleteSecretSet`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Op {
            $(
                #[doc = concat!("`", $id, "`: `", $method, " ", $route, "`.")]
                $op,
            )*
        }

        impl Op {
            /// The spec's operation id, e.g. `"deleteSecretSet"`: what
            /// [`RecordedRequest::operation`](crate::RecordedRequest::operation)
            /// holds for a request routed to this operation.
            pub fn id(self) -> &'static str {
                match self {
                    $(Op::$op => $id,)*
                }
            }
        }

        /// Every operation served, in the order routes are added.
        pub(crate) const OPERATIONS: &[Operation] = &[
            $(Operation { op: Op::$op, id: $id, method: $method, route: $route, key: Key::$key },)*
        ];
    };
}

operations! {
    // Not an API operation: the presigned upload, named so that faults
    // can be armed for it.
    UploadBuildContext = "uploadBuildContext", "POST" "/fake-uploads/{uploadId}", Storage;
    ListSecretSets = "listSecretSets", "GET" "/v1/secrets", Private;
    GetSecretSet = "getSecretSet", "GET" "/v1/secrets/{setName}", Private;
    UpsertSecretSet = "upsertSecretSet", "PUT" "/v1/secrets/{setName}", Private;
    DeleteSecretSet = "deleteSecretSet", "DELETE" "/v1/secrets/{setName}", Private;
    DeleteSecretFromSet = "deleteSecretFromSet", "DELETE" "/v1/secrets/{setName}/{secretKey}", Private;
    CreateService = "createService", "POST" "/v1/agents", Private;
    ListServices = "listServices", "GET" "/v1/agents", Private;
    GetService = "getService", "GET" "/v1/agents/{agentName}", Private;
    UpdateService = "updateService", "POST" "/v1/agents/{agentName}", Private;
    DeleteService = "deleteService", "DELETE" "/v1/agents/{agentName}", Private;
    GetLogs = "getLogs", "GET" "/v1/agents/{agentName}/logs", Private;
    GetSessions = "getSessions", "GET" "/v1/agents/{agentName}/sessions", Private;
    GetSession = "getSession", "GET" "/v1/agents/{agentName}/sessions/{sessionId}", Private;
    StopSession = "stopSession", "DELETE" "/v1/agents/{agentName}/sessions/{sessionId}", Private;
    CreateBuild = "createBuild", "POST" "/v1/builds", Private;
    ListBuilds = "listBuilds", "GET" "/v1/builds", Private;
    GetBuildUploadUrl = "getBuildUploadUrl", "POST" "/v1/builds/upload-url", Private;
    GetBuild = "getBuild", "GET" "/v1/builds/{buildId}", Private;
    GetBuildLogs = "getBuildLogs", "GET" "/v1/builds/{buildId}/logs", Private;
    GetProperties = "getProperties", "GET" "/v1/properties", Private;
    UpdateProperties = "updateProperties", "PATCH" "/v1/properties", Private;
    GetPropertiesSchema = "getPropertiesSchema", "GET" "/v1/properties/schema", Private;
    ListRegions = "listRegions", "GET" "/v1/regions", Private;
    StartService = "startService", "POST" "/v1/public/{agentName}/start", Public;
    SessionProxyGet = "sessionProxyGet", "GET" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyPost = "sessionProxyPost", "POST" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyPut = "sessionProxyPut", "PUT" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyPatch = "sessionProxyPatch", "PATCH" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyDelete = "sessionProxyDelete", "DELETE" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyOptions = "sessionProxyOptions", "OPTIONS" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
    SessionProxyHead = "sessionProxyHead", "HEAD" "/v1/public/{serviceName}/sessions/{sessionId}/{*path}", Public;
}

impl Op {
    /// Every operation, in the table's order.
    pub fn all() -> impl Iterator<Item = Op> {
        OPERATIONS.iter().map(|row| row.op)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Op {
    type Err = UnknownOp;

    /// The operation with this operation id (`"deleteSecretSet"`), exactly
    /// as the spec spells it.
    fn from_str(id: &str) -> Result<Op, UnknownOp> {
        OPERATIONS
            .iter()
            .find(|row| row.id == id)
            .map(|row| row.op)
            .ok_or_else(|| UnknownOp(id.to_string()))
    }
}

/// A string that names no operation of the fake, from [`Op::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOp(String);

impl fmt::Display for UnknownOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an operation of the fake (one of: {})",
            self.0,
            operation_ids().join(", ")
        )
    }
}

impl std::error::Error for UnknownOp {}

/// The operation ids this fake serves, sorted: every operation of the
/// spec, and `uploadBuildContext` (the presigned upload to the storage
/// host). The same as [`Op::all`] as strings.
pub fn operation_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = OPERATIONS.iter().map(|row| row.id).collect();
    ids.sort_unstable();
    ids
}

/// The operation of a routed request, from its method and the route it
/// matched (only known after routing, hence `route_layer`s).
pub(crate) fn operation_of(request: &axum::extract::Request) -> Option<&'static Operation> {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()?
        .as_str();
    let method = request.method().as_str();
    OPERATIONS
        .iter()
        .find(|row| row.method == method && row.route == route)
}

#[cfg(test)]
mod tests {
    // A test stops at the first unexpected result.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// (operation id, method, path, key) of every operation of the spec:
    /// the path is the path of the operation's server (its own, its path
    /// item's, or the spec's) followed by the path template.
    fn spec_operations() -> BTreeSet<(String, String, String, Key)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/pipecat-cloud.yaml");
        let text = std::fs::read_to_string(path).expect("read the spec");
        let spec: Value = serde_yaml_ng::from_str(&text).expect("the spec is YAML");
        let server_path = |servers: &Value| -> Option<String> {
            let url = servers.get(0)?.get("url")?.as_str()?;
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            Some(
                after_scheme
                    .find('/')
                    .map_or("", |at| &after_scheme[at..])
                    .to_string(),
            )
        };
        let top = server_path(&spec["servers"]).expect("the spec names a server");
        let mut ops = BTreeSet::new();
        for (template, item) in spec["paths"].as_object().expect("paths") {
            let base = server_path(&item["servers"]).unwrap_or_else(|| top.clone());
            for (method, op) in item.as_object().expect("a path item") {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let base = server_path(&op["servers"]).unwrap_or_else(|| base.clone());
                let security = op.get("security").unwrap_or(&spec["security"]);
                let public = security
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|scheme| scheme.get("PublicKeyAuth").is_some());
                let key = if public { Key::Public } else { Key::Private };
                ops.insert((
                    id.to_string(),
                    method.to_uppercase(),
                    format!("{base}{template}"),
                    key,
                ));
            }
        }
        ops
    }

    /// The table's API operations in the spec's terms: `{*path}` (axum's
    /// catch-all) is the spec's `{path}`.
    fn table_operations() -> BTreeSet<(String, String, String, Key)> {
        OPERATIONS
            .iter()
            .filter(|row| row.key != Key::Storage)
            .map(|row| {
                (
                    row.id.to_string(),
                    row.method.to_string(),
                    row.route.replace("{*", "{"),
                    row.key,
                )
            })
            .collect()
    }

    #[test]
    fn the_table_is_the_spec() {
        let spec = spec_operations();
        let table = table_operations();
        let missing: Vec<_> = spec.difference(&table).collect();
        let extra: Vec<_> = table.difference(&spec).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "the fake's operation table differs from openapi/pipecat-cloud.yaml\n\
             in the spec, not in the table: {missing:#?}\n\
             in the table, not in the spec: {extra:#?}"
        );
        // A row per operation: faults and the request log find the
        // operation by its id or by its route.
        let ids: BTreeSet<_> = OPERATIONS.iter().map(|row| row.id).collect();
        let routes: BTreeSet<_> = OPERATIONS
            .iter()
            .map(|row| (row.method, row.route))
            .collect();
        assert_eq!(ids.len(), OPERATIONS.len());
        assert_eq!(routes.len(), OPERATIONS.len());
    }

    #[test]
    fn the_storage_upload_is_the_only_operation_beside_the_spec() {
        let storage: Vec<_> = OPERATIONS
            .iter()
            .filter(|row| row.key == Key::Storage)
            .map(|row| (row.op, row.route))
            .collect();
        assert_eq!(
            storage,
            [(Op::UploadBuildContext, "/fake-uploads/{uploadId}")]
        );
    }

    #[test]
    fn an_op_reads_back_from_its_id_and_a_wrong_id_is_an_error() {
        for op in Op::all() {
            assert_eq!(op.id().parse::<Op>(), Ok(op));
            assert_eq!(op.to_string(), op.id());
        }
        let wrong = "deleteSecretSets".parse::<Op>().unwrap_err();
        let message = wrong.to_string();
        assert!(
            message.contains("`deleteSecretSets` is not an operation"),
            "{message}"
        );
        assert!(message.contains("deleteSecretSet,"), "{message}");
        assert_eq!("DeleteSecretSet".parse::<Op>().ok(), None);
    }
}
