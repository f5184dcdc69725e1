//! `cargo xtask drift <upstream spec>`: where our spec and the published one
//! say different things.
//!
//! Each document is flattened into facts: a location such as
//! `operation GET /secrets: response 200: content application/json` and a
//! value (or just "present"). A difference is a fact that only one side has,
//! or that has different values on the two sides; below something only one
//! side has (an operation, a parameter, a property), nothing more is listed.
//!
//! `$ref`s are resolved (inlined) before comparing, so naming or inlining a
//! schema, parameter or response is not drift, and a schema only one
//! document names is not listed by name. Where both documents refer to the
//! same schema, a difference inside it is reported once, under
//! `schema <Name>`, not again at every place that uses it. Descriptions,
//! summaries, examples and `x-` extensions are never read.
//!
//! A difference is known when its line matches an entry of [`KNOWN`]: the
//! corrections `openapi/pipecat-cloud.yaml` makes on purpose, each with a
//! `CORRECTION:` comment there. Any other difference fails the command.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::generate::SPEC_PATH;
use crate::spec::for_each_operation;

/// A deliberate difference: `pattern` matches the whole report line
/// (`location: detail`, without the `[known: …]` suffix); `*` matches any run
/// of characters.
#[derive(Debug)]
pub struct Known {
    pub pattern: &'static str,
    pub reason: &'static str,
}

/// The `CORRECTION:` comments of `openapi/pipecat-cloud.yaml` that make a
/// difference, in the file's order. (Those on upsertSecretSet's 202, the
/// `Unauthorized` response and `BearerAuth` change prose only.)
pub const KNOWN: &[Known] = &[
    // Validation errors the service answers but the published spec omits.
    Known {
        pattern: "operation DELETE /secrets/{setName}: response 400: only in ours",
        reason: "CORRECTION 400 for a bad set name",
    },
    Known {
        pattern: "operation DELETE /secrets/{setName}/{secretKey}: response 400: only in ours",
        reason: "CORRECTION 400 for a bad set name or key",
    },
    Known {
        pattern: "operation GET /agents: response 400: only in ours",
        reason: "CORRECTION 400 for a malformed filter",
    },
    Known {
        pattern: "operation GET /builds: response 400: only in ours",
        reason: "CORRECTION 400 for a filter or page size out of range",
    },
    // Every operation that publishes no 401, though the docs describe it.
    Known {
        pattern: "operation *: response 401: only in ours",
        reason: "CORRECTION 401 documented, not published",
    },
    // createService, updateService: a secret set still provisioning.
    Known {
        pattern: "operation POST /agents*: response 409: only in ours",
        reason: "CORRECTION 409 while a secret set is not ready",
    },
    // getSessions: items are SessionResponse, not an inline copy.
    Known {
        pattern: "operation GET /agents/{agentName}/sessions: response 200: content application/json: property sessions: items: property endedAt: nullable: upstream none, ours true",
        reason: "CORRECTION session items are SessionResponse",
    },
    Known {
        pattern: "operation GET /agents/{agentName}/sessions: response 200: content application/json: property sessions: items: property *: only in ours",
        reason: "CORRECTION session items are SessionResponse",
    },
    // stopSession and startService: 500 as everywhere else.
    Known {
        pattern: "operation DELETE /agents/{agentName}/sessions/{sessionId}: response 500: only in ours",
        reason: "CORRECTION 500 possible",
    },
    // startService: 402, 403, 404, 413, 429 are documented; 500 as everywhere.
    Known {
        pattern: "operation POST /{agentName}/start: response *: only in ours",
        reason: "CORRECTION documented session-start answers",
    },
    // Session proxy: the bot's own status and body pass through.
    Known {
        pattern: "operation * /{serviceName}/sessions/{sessionId}/{path}: response 200: only in upstream",
        reason: "CORRECTION proxy passes the bot's 2XX through",
    },
    Known {
        pattern: "operation * /{serviceName}/sessions/{sessionId}/{path}: response 2XX: only in ours",
        reason: "CORRECTION proxy passes the bot's 2XX through",
    },
    // upsertSecretSet body: the oneOf branches are made mutually exclusive.
    Known {
        pattern: "schema RegularSecretsRequest: *additionalProperties: upstream none, ours false",
        reason: "CORRECTION oneOf branches made exclusive",
    },
    Known {
        pattern: "schema ImagePullSecretRequest: additionalProperties: upstream none, ours false",
        reason: "CORRECTION oneOf branches made exclusive",
    },
    // upsertSecretSet 202: decoded without its published `required`.
    Known {
        pattern: r#"operation PUT /secrets/{setName}: response 202: content application/json: required: upstream ["region","status"], ours none"#,
        reason: "CORRECTION a terser 202 still counts as success",
    },
    // deleteSecretFromSet: `.`, `..` or an empty key would delete the set.
    Known {
        pattern: r#"operation DELETE /secrets/{setName}/{secretKey}: parameter secretKey (path): pattern: upstream none, ours "^[A-Za-z0-9_-]{1,64}$""#,
        reason: "CORRECTION secret keys refused locally",
    },
    // updateProperties: an empty body is refused by the service.
    Known {
        pattern: "operation PATCH /properties: request body: content application/json: minProperties: upstream none, ours 1",
        reason: "CORRECTION empty body refused",
    },
    // AgentName, ServiceName: the agent-name rule, which refuses "", ".", "..".
    Known {
        pattern: r#"operation *: parameter agentName (path): pattern: upstream none, ours "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$""#,
        reason: "CORRECTION agent-name rule",
    },
    Known {
        pattern: "operation *: parameter agentName (path): maxLength: upstream none, ours 63",
        reason: "CORRECTION agent-name rule",
    },
    Known {
        pattern: r#"operation * /{serviceName}/*: parameter serviceName (path): pattern: upstream none, ours "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$""#,
        reason: "CORRECTION agent-name rule",
    },
    Known {
        pattern: "operation * /{serviceName}/*: parameter serviceName (path): maxLength: upstream none, ours 63",
        reason: "CORRECTION agent-name rule",
    },
    // Path: `/`-separated segments, none empty, `.` or `..`.
    Known {
        pattern: r#"operation * /{serviceName}/*: parameter path (path): pattern: upstream none, ours "^/?(?!\\.\\.?(/|$))[^/]+(/(?!\\.\\.?(/|$))[^/]+)*$""#,
        reason: "CORRECTION proxy path spans segments",
    },
    Known {
        pattern: "operation * /{serviceName}/*: parameter path (path): minLength: upstream none, ours 1",
        reason: "CORRECTION proxy path spans segments",
    },
    // ProxiedRequest: the bot may take any body.
    Known {
        pattern: "operation * /{serviceName}/*: request body: content */*: only in ours",
        reason: "CORRECTION proxy body is whatever the bot takes",
    },
    Known {
        pattern: "operation * /{serviceName}/*: request body: content application/json: only in upstream",
        reason: "CORRECTION proxy body is whatever the bot takes",
    },
    // ErrorResponse: `error` and `code` are not always sent (429, gateways),
    // and the extra fields some bodies carry are described.
    Known {
        pattern: r#"schema ErrorResponse: required: upstream ["code","error"], ours none"#,
        reason: "CORRECTION error bodies lack `error`/`code` (429 of session start)",
    },
    Known {
        pattern: "schema ErrorResponse: property *: only in ours",
        reason: "CORRECTION extra error-body fields described",
    },
    // Create/UpdateServiceRequest: published defaults would always be sent.
    Known {
        pattern: r#"schema *ServiceRequest: property region: default: upstream "us-west", ours none"#,
        reason: "CORRECTION published defaults left out",
    },
    Known {
        pattern: r#"schema *ServiceRequest: property nodeType: default: upstream "arm", ours none"#,
        reason: "CORRECTION published defaults left out",
    },
    Known {
        pattern: r#"schema *ServiceRequest: property agentProfile: default: upstream "agent-1x", ours none"#,
        reason: "CORRECTION published defaults left out",
    },
    Known {
        pattern: r#"schema *ServiceRequest: property maxSessionDuration: default: upstream 7200, ours none"#,
        reason: "CORRECTION published defaults left out",
    },
    // CreateServiceRequest.serviceName: the published pattern needs 2 chars.
    Known {
        pattern: r#"schema CreateServiceRequest: property serviceName: pattern: upstream "^[a-z0-9]([-a-z0-9]*[a-z0-9])$", ours "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$""#,
        reason: "CORRECTION agent-name rule",
    },
    // agentProfile: organizations define more profiles; a string.
    Known {
        pattern: "schema *ServiceRequest: property agentProfile: enum *: only in upstream",
        reason: "CORRECTION agentProfile is any profile name",
    },
    // websocketAuth, resources, architecture: sent by the official SDK.
    Known {
        pattern: "schema *ServiceRequest: property websocketAuth: only in ours",
        reason: "CORRECTION field the official SDK sends",
    },
    Known {
        pattern: "schema *ServiceRequest: property resources: only in ours",
        reason: "CORRECTION field the official SDK sends",
    },
    Known {
        pattern: "schema *ServiceRequest: property architecture: only in ours",
        reason: "CORRECTION field the official SDK sends",
    },
    // AutoScalingConfig: the bounds the official SDK checks.
    Known {
        pattern: "schema *ServiceRequest: property autoScaling: property minAgents: minimum: upstream none, ours 0",
        reason: "CORRECTION autoScaling bounds",
    },
    Known {
        pattern: "schema *ServiceRequest: property autoScaling: property maxAgents: minimum: upstream none, ours 1",
        reason: "CORRECTION autoScaling bounds",
    },
    // KrispVivaConfig: `audioFilter` required and nullable, null turns it off.
    Known {
        pattern: r#"schema *ServiceRequest: property krispViva: required: upstream none, ours ["audioFilter"]"#,
        reason: "CORRECTION audioFilter null turns the filter off",
    },
    Known {
        pattern: "schema *ServiceRequest: property krispViva: property audioFilter: enum null: only in upstream",
        reason: "CORRECTION audioFilter null turns the filter off",
    },
    // ServiceListItem, ServiceDetailsResponse: null before reconciliation.
    Known {
        pattern: "schema Service*: property reconciledDeploymentId: nullable: upstream none, ours true",
        reason: "CORRECTION reconciledDeploymentId can be null",
    },
    // ServiceDetailsResponse: `anyOf` with null, as `nullable` + `allOf` refuses null.
    Known {
        pattern: "schema ServiceDetailsResponse: property *Revision: allOf 0: only in upstream",
        reason: "CORRECTION revisions can be null",
    },
    Known {
        pattern: "schema ServiceDetailsResponse: property *Revision: anyOf *: only in ours",
        reason: "CORRECTION revisions can be null",
    },
    Known {
        pattern: "schema ServiceDetailsResponse: property *Revision: nullable: upstream true, ours none",
        reason: "CORRECTION revisions can be null",
    },
    Known {
        pattern: "schema ServiceDetailsResponse: property conditions: only in ours",
        reason: "CORRECTION conditions the service sends and the official CLI reads",
    },
    // Credentials in answers stay out of Debug output and error text.
    Known {
        pattern: r#"schema StartResponse: property *: format: upstream none, ours "password""#,
        reason: "CORRECTION session tokens are credentials",
    },
    Known {
        pattern: r#"schema UploadUrlResponse: property uploadFields: additionalProperties: format: upstream none, ours "password""#,
        reason: "CORRECTION presigned upload fields are credentials",
    },
    // ProxiedResponse: any JSON value, text or bytes.
    Known {
        pattern: r#"schema ProxiedResponse: type: upstream "object", ours none"#,
        reason: "CORRECTION proxy answers are any body",
    },
    // RegularSecretsRequest: the documented key rule, enforced locally.
    Known {
        pattern: r#"schema RegularSecretsRequest: property secrets: items: property secretKey: pattern: upstream none, ours "^[A-Za-z0-9_-]{1,64}$""#,
        reason: "CORRECTION secret keys refused locally",
    },
    // secretValue (both request kinds): sensitive and non-empty.
    Known {
        pattern: r#"schema *Request: *property secretValue: format: upstream none, ours "password""#,
        reason: "CORRECTION secret values never printed",
    },
    Known {
        pattern: "schema *Request: *property secretValue: minLength: upstream none, ours 1",
        reason: "CORRECTION empty secret values refused",
    },
    // GetBuildLogsResponse: decoded without `logs`, as the official SDK does.
    Known {
        pattern: r#"schema GetBuildLogsResponse: required: upstream ["logs"], ours none"#,
        reason: "CORRECTION a terser answer is not an error",
    },
    // PropertySchema: only `type` is in every answer.
    Known {
        pattern: r#"schema PropertySchema: required: upstream ["currentValue","default","description","readOnly","type"], ours ["type"]"#,
        reason: "CORRECTION examples omit readOnly",
    },
    // Region: only `code` is certain.
    Known {
        pattern: r#"schema Region: required: upstream ["code","display_name"], ours ["code"]"#,
        reason: "CORRECTION only code is certain",
    },
];

/// `cargo xtask drift <upstream>`: prints the differences; fails when any of
/// them is not a known correction.
pub fn run(upstream_path: &str) -> Result<(), String> {
    let ours = load(&crate::workspace_root().join(SPEC_PATH))?;
    let upstream = load(std::path::Path::new(upstream_path))?;
    println!("{SPEC_PATH} (ours) against {upstream_path} (upstream):");
    let (lines, result) = check(&ours, &upstream, KNOWN);
    for line in lines {
        println!("{line}");
    }
    result
}

fn load(path: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A JSON or YAML document.
fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).or_else(|json| {
        serde_yaml_ng::from_str(text)
            .map_err(|yaml| format!("neither JSON ({json}) nor YAML ({yaml})"))
    })
}

/// The report (difference lines, then a summary) and the command's outcome.
fn check(ours: &Value, upstream: &Value, known: &[Known]) -> (Vec<String>, Result<(), String>) {
    let shared = shared_names(ours, upstream);
    let differences = differences(&flatten(ours, &shared), &flatten(upstream, &shared));
    let mut lines = Vec::new();
    let mut unknown = 0;
    let mut used = vec![false; known.len()];
    for difference in &differences {
        match known.iter().position(|k| matches(k.pattern, difference)) {
            Some(i) => {
                used[i] = true;
                lines.push(format!("  {difference}  [known: {}]", known[i].reason));
            }
            None => {
                unknown += 1;
                lines.push(format!("  {difference}"));
            }
        }
    }
    lines.push(format!(
        "{} differences, {} known, {unknown} unknown",
        differences.len(),
        differences.len() - unknown
    ));
    for (entry, _) in known.iter().zip(used).filter(|(_, used)| !*used) {
        lines.push(format!(
            "note: known correction matches nothing: {}",
            entry.pattern
        ));
    }
    let result = if unknown == 0 {
        Ok(())
    } else {
        Err(format!(
            "{unknown} differences are not known corrections: fix {SPEC_PATH}, or mark a \
             deliberate one with a CORRECTION comment there and in KNOWN (xtask/src/drift.rs)"
        ))
    };
    (lines, result)
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        return rest.is_empty(); // no `*` at all
    };
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Where a fact is: one segment per level, e.g. `["schema Thing", "property
/// name", "type"]`. Sorting these keeps a thing and what it holds together.
type Location = Vec<String>;

/// What a document says: location -> rendered value.
type Facts = BTreeMap<Location, String>;

/// A flattened document.
struct Flat {
    facts: Facts,
    /// Where a schema was inlined from a `$ref`: location -> schema name.
    refs: BTreeMap<Location, String>,
}

/// The value of facts that only say that something exists.
const PRESENT: &str = "present";

/// Component names both documents define.
#[derive(Default)]
struct Shared {
    /// Listed by name (as are those no `$ref` uses); one that only one
    /// document names and uses is compared where it is used.
    schemas: BTreeSet<String>,
    /// Only these are compared; which scheme an operation uses is compared
    /// per operation.
    security_schemes: BTreeSet<String>,
}

fn shared_names(a: &Value, b: &Value) -> Shared {
    let both = |pointer: &str| -> BTreeSet<String> {
        let names = |doc: &Value| -> BTreeSet<String> {
            doc.pointer(pointer)
                .and_then(Value::as_object)
                .map(|map| map.keys().cloned().collect())
                .unwrap_or_default()
        };
        names(a).intersection(&names(b)).cloned().collect()
    };
    Shared {
        schemas: both("/components/schemas"),
        security_schemes: both("/components/securitySchemes"),
    }
}

fn flatten(doc: &Value, shared: &Shared) -> Flat {
    let mut flat = Flattener {
        doc,
        shared,
        inlining: Vec::new(),
        facts: Facts::new(),
        refs: BTreeMap::new(),
    };
    for_each_operation(doc, |path, method, op, item| {
        flat.operation(path, method, op, item);
    });
    flat.component_schemas();
    flat.security_schemes();
    Flat {
        facts: flat.facts,
        refs: flat.refs,
    }
}

struct Flattener<'a> {
    doc: &'a Value,
    shared: &'a Shared,
    /// Schemas being inlined, innermost last: a reference back to one of
    /// them is recorded by name instead of inlined forever.
    inlining: Vec<String>,
    facts: Facts,
    refs: BTreeMap<Location, String>,
}

fn child(at: &[String], segment: impl Into<String>) -> Location {
    let mut location = at.to_vec();
    location.push(segment.into());
    location
}

/// A value as the report shows it: JSON, so strings are quoted.
fn render(value: &Value) -> String {
    value.to_string()
}

impl<'a> Flattener<'a> {
    fn present(&mut self, at: Location) {
        self.facts.insert(at, PRESENT.to_string());
    }

    fn value(&mut self, at: &[String], name: &str, value: &Value) {
        self.facts.insert(child(at, name), render(value));
    }

    fn operation(&mut self, path: &str, method: &str, op: &'a Value, item: &'a Value) {
        let at = vec![format!("operation {} {path}", method.to_uppercase())];
        self.present(at.clone());
        if let Some(id) = op.get("operationId") {
            self.value(&at, "operationId", id);
        }
        let servers = op
            .get("servers")
            .or_else(|| item.get("servers"))
            .or_else(|| self.doc.get("servers"));
        if let Some(url) = servers.and_then(|s| s.pointer("/0/url")) {
            self.value(&at, "server", url);
        }
        for ((name, location), param) in parameters(self.doc, item, op) {
            let at = child(&at, format!("parameter {name} ({location})"));
            self.present(at.clone());
            let required = param.get("required").cloned().unwrap_or(Value::Bool(false));
            self.value(&at, "required", &required);
            if let Some(schema) = param.get("schema") {
                self.schema(&at, schema);
            }
        }
        if let Some(body) = op.get("requestBody").map(|b| resolve(self.doc, b)) {
            let at = child(&at, "request body");
            self.present(at.clone());
            let required = body.get("required").cloned().unwrap_or(Value::Bool(false));
            self.value(&at, "required", &required);
            self.content(&at, body);
        }
        let responses = op.get("responses").and_then(Value::as_object);
        for (status, response) in responses.into_iter().flatten() {
            if status.starts_with("x-") {
                continue;
            }
            let at = child(&at, format!("response {status}"));
            self.present(at.clone());
            self.content(&at, resolve(self.doc, response));
        }
        let security = op.get("security").or_else(|| self.doc.get("security"));
        self.value(&at, "security", &Value::String(security_text(security)));
    }

    fn content(&mut self, at: &[String], holder: &'a Value) {
        let content = holder.get("content").and_then(Value::as_object);
        for (media_type, media) in content.into_iter().flatten() {
            let at = child(at, format!("content {media_type}"));
            self.present(at.clone());
            if let Some(schema) = media.get("schema") {
                self.schema(&at, schema);
            }
        }
    }

    /// The facts of one schema, at `at` itself (its properties, items and
    /// branches one level below).
    fn schema(&mut self, at: &[String], schema: &'a Value) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            self.reference(at, reference);
            return;
        }
        const VALUES: [&str; 14] = [
            "type",
            "format",
            "pattern",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
            "default",
        ];
        for name in VALUES {
            if let Some(value) = schema.get(name) {
                self.value(at, name, value);
            }
        }
        if schema.get("nullable") == Some(&Value::Bool(true)) {
            self.value(at, "nullable", &Value::Bool(true));
        }
        for value in schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.present(child(at, format!("enum {}", render(value))));
        }
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !required.is_empty() {
            self.value(at, "required", &Value::from(Vec::from_iter(required)));
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, property) in properties.into_iter().flatten() {
            self.sub_schema(at, format!("property {name}"), property);
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => self.value(at, "additionalProperties", &Value::Bool(false)),
            Some(object @ Value::Object(_)) => {
                self.sub_schema(at, "additionalProperties".into(), object);
            }
            _ => {}
        }
        if let Some(items) = schema.get("items") {
            self.sub_schema(at, "items".into(), items);
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            let branches = schema.get(combinator).and_then(Value::as_array);
            for (i, branch) in branches.into_iter().flatten().enumerate() {
                self.sub_schema(at, format!("{combinator} {i}"), branch);
            }
        }
        if let Some(not) = schema.get("not") {
            self.sub_schema(at, "not".into(), not);
        }
    }

    fn sub_schema(&mut self, at: &[String], segment: String, schema: &'a Value) {
        let at = child(at, segment);
        self.present(at.clone());
        self.schema(&at, schema);
    }

    /// A `$ref` inside a schema: inlined, unless it refers back to a schema
    /// being inlined (or cannot be resolved): then recorded by name.
    fn reference(&mut self, at: &[String], reference: &str) {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or(reference);
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| self.doc.pointer(pointer));
        match target {
            Some(target) if !self.inlining.iter().any(|n| n == name) => {
                self.refs.insert(at.to_vec(), name.to_string());
                self.inlining.push(name.to_string());
                self.schema(at, target);
                self.inlining.pop();
            }
            _ => self.value(at, "$ref", &Value::from(name)),
        }
    }

    /// Component schemas, except those only this document names and uses:
    /// they are compared where they are used.
    fn component_schemas(&mut self) {
        let doc = self.doc;
        let used = used_schemas(doc);
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        for (name, schema) in schemas.into_iter().flatten() {
            if !self.shared.schemas.contains(name) && used.contains(name.as_str()) {
                continue;
            }
            let at = vec![format!("schema {name}")];
            self.present(at.clone());
            self.inlining.push(name.clone());
            self.schema(&at, schema);
            self.inlining.pop();
        }
    }

    /// Security schemes both documents define.
    fn security_schemes(&mut self) {
        let schemes = self
            .doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object);
        for (name, scheme) in schemes.into_iter().flatten() {
            if !self.shared.security_schemes.contains(name) {
                continue;
            }
            let at = vec![format!("security scheme {name}")];
            self.present(at.clone());
            for field in ["type", "scheme", "in", "name", "bearerFormat"] {
                if let Some(value) = scheme.get(field) {
                    self.value(&at, field, value);
                }
            }
        }
    }
}

/// An operation's parameters by (name, in), path-level ones overridden by
/// the operation's own.
fn parameters<'a>(
    doc: &'a Value,
    item: &'a Value,
    op: &'a Value,
) -> BTreeMap<(String, String), &'a Value> {
    let mut params = BTreeMap::new();
    for list in [item.get("parameters"), op.get("parameters")] {
        for param in list.and_then(Value::as_array).into_iter().flatten() {
            let param = resolve(doc, param);
            let text = |field: &str| param.get(field).and_then(Value::as_str).unwrap_or("?");
            params.insert((text("name").to_string(), text("in").to_string()), param);
        }
    }
    params
}

/// Follows a local `$ref` (to a parameter, response or request body).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..8 {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| doc.pointer(pointer))
        {
            Some(target) => value = target,
            None => break,
        }
    }
    value
}

/// Names of the component schemas some `$ref` of the document points to.
fn used_schemas(doc: &Value) -> BTreeSet<&str> {
    fn walk<'a>(value: &'a Value, used: &mut BTreeSet<&'a str>) {
        match value {
            Value::Object(map) => {
                let name = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"));
                used.extend(name);
                map.values().for_each(|v| walk(v, used));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, used)),
            _ => {}
        }
    }
    let mut used = BTreeSet::new();
    walk(doc, &mut used);
    used
}

/// `A or B and C`: the alternatives of a security requirement, sorted.
fn security_text(security: Option<&Value>) -> String {
    let mut alternatives: Vec<String> = security
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|requirement| match requirement.len() {
            0 => "anonymous".to_string(),
            _ => Vec::from_iter(requirement.keys().map(String::as_str)).join(" and "),
        })
        .collect();
    alternatives.sort();
    if alternatives.is_empty() {
        "none".to_string()
    } else {
        alternatives.join(" or ")
    }
}

/// Facts that differ, as `location: detail` lines in location order.
///
/// Nothing is listed below a location only one side has, nor below one
/// where both sides inlined the same named schema (its differences are
/// listed under `schema <Name>`).
fn differences(ours: &Flat, upstream: &Flat) -> Vec<String> {
    let locations: BTreeSet<&Location> = ours.facts.keys().chain(upstream.facts.keys()).collect();
    let same_ref = |at: &[String]| {
        ours.refs
            .get(at)
            .is_some_and(|n| upstream.refs.get(at) == Some(n))
    };
    let mut one_sided: BTreeSet<&[String]> = BTreeSet::new();
    let mut lines = Vec::new();
    for location in locations {
        if (1..location.len())
            .any(|n| one_sided.contains(&location[..n]) || same_ref(&location[..n]))
        {
            continue;
        }
        let detail = match (upstream.facts.get(location), ours.facts.get(location)) {
            (Some(u), Some(o)) if u == o => continue,
            (Some(u), None) if u == PRESENT => {
                one_sided.insert(location);
                "only in upstream".to_string()
            }
            (None, Some(o)) if o == PRESENT => {
                one_sided.insert(location);
                "only in ours".to_string()
            }
            (u, o) => format!(
                "upstream {}, ours {}",
                u.map_or("none", String::as_str),
                o.map_or("none", String::as_str)
            ),
        };
        lines.push(format!("{}: {detail}", location.join(": ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(text: &str) -> Value {
        parse(text).unwrap()
    }

    fn base() -> Value {
        fixture(include_str!("../fixtures/drift/base.yaml"))
    }

    const FIXTURE_KNOWN: &[Known] = &[Known {
        pattern: r#"operation * /*: parameter thingName (path): pattern: upstream none, ours "^[a-z]+$""#,
        reason: "CORRECTION names refused locally",
    }];

    #[test]
    fn changes_are_reported_in_order_with_known_ones_marked() {
        let changed = fixture(include_str!("../fixtures/drift/changed.json"));
        let (lines, result) = check(&base(), &changed, FIXTURE_KNOWN);
        let known = "  [known: CORRECTION names refused locally]";
        assert_eq!(
            lines,
            [
                "  operation DELETE /things/{thingName}: only in ours".to_string(),
                "  operation GET /things: parameter limit (query): maximum: upstream 500, ours 100"
                    .to_string(),
                "  operation GET /things/{thingName}: only in upstream".to_string(),
                format!(
                    "  operation POST /{{thingName}}/start: parameter thingName (path): pattern: upstream none, ours \"^[a-z]+$\"{known}"
                ),
                format!(
                    "  operation PUT /things/{{thingName}}: parameter thingName (path): pattern: upstream none, ours \"^[a-z]+$\"{known}"
                ),
                "  operation PUT /things/{thingName}: response 200: only in upstream".to_string(),
                "  operation PUT /things/{thingName}: response 202: only in ours".to_string(),
                "  schema Thing: property color: enum \"blue\": only in upstream".to_string(),
                "  schema Thing: property size: only in ours".to_string(),
                "9 differences, 2 known, 7 unknown".to_string(),
            ]
        );
        assert!(
            result
                .unwrap_err()
                .starts_with("7 differences are not known")
        );
    }

    #[test]
    fn refs_and_inline_definitions_are_equivalent() {
        let inlined = fixture(include_str!("../fixtures/drift/inlined.json"));
        let (lines, result) = check(&base(), &inlined, &[]);
        assert_eq!(lines, ["0 differences, 0 known, 0 unknown"]);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn only_known_differences_succeed() {
        let changed = fixture(include_str!("../fixtures/drift/changed.json"));
        let all = &[Known {
            pattern: "*",
            reason: "test",
        }];
        let (lines, result) = check(&base(), &changed, all);
        assert_eq!(lines.last().unwrap(), "9 differences, 9 known, 0 unknown");
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn unused_known_entries_are_noted() {
        let (lines, result) = check(&base(), &base(), FIXTURE_KNOWN);
        assert_eq!(result, Ok(()));
        assert_eq!(
            lines[1],
            format!(
                "note: known correction matches nothing: {}",
                FIXTURE_KNOWN[0].pattern
            )
        );
    }

    #[test]
    fn json_and_yaml_both_parse() {
        assert_eq!(parse(r#"{"a": [1]}"#), Ok(json!({"a": [1]})));
        assert_eq!(parse("a:\n  - 1\n"), Ok(json!({"a": [1]})));
        assert!(parse("a: [").unwrap_err().contains("neither JSON"));
    }

    #[test]
    fn wildcards_match_any_run() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abcd"));
        assert!(matches("a*d", "abcd"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-c"));
        assert!(!matches("ab*ba", "aba"));
    }

    fn one_schema_doc(thing: Value, extra: Value) -> Value {
        json!({"components": {"schemas": {"Thing": thing, "Extra": extra}}})
    }

    #[test]
    fn a_shared_schema_differs_once_and_inline_copies_compare_by_content() {
        let holder =
            |b: Value| json!({"properties": {"a": {"$ref": "#/components/schemas/Thing"}, "b": b}});
        let ours = json!({"components": {"schemas": {
            "Thing": {"type": "string"},
            "Holder": holder(json!({"$ref": "#/components/schemas/Thing"}))
        }}});
        let upstream = json!({"components": {"schemas": {
            "Thing": {"type": "integer"},
            "Holder": holder(json!({"type": "string"}))
        }}});
        let shared = shared_names(&ours, &upstream);
        let lines = differences(&flatten(&ours, &shared), &flatten(&upstream, &shared));
        // Not again under `property a`; `property b` is ours' Thing, which
        // matches upstream's inline copy.
        assert_eq!(
            lines,
            ["schema Thing: type: upstream \"integer\", ours \"string\""]
        );
    }

    #[test]
    fn a_schema_only_one_side_names_and_uses_is_not_listed() {
        let doc = json!({"components": {"schemas": {
            "Mine": {"type": "integer"},
            "Holder": {"properties": {"b": {"$ref": "#/components/schemas/Mine"}}}
        }}});
        let facts = flatten(&doc, &Shared::default()).facts;
        let at = |segments: &[&str]| segments.iter().map(|s| s.to_string()).collect::<Location>();
        assert_eq!(
            facts[&at(&["schema Holder", "property b", "type"])],
            "\"integer\""
        );
        assert!(!facts.contains_key(&at(&["schema Mine"])));
    }

    #[test]
    fn recursive_inlined_schemas_end() {
        // `Node` is used, and only this document has it: inlined once.
        let doc = json!({"components": {"schemas": {
            "Node": {"properties": {"next": {"$ref": "#/components/schemas/Node"}}},
            "List": {"properties": {"head": {"$ref": "#/components/schemas/Node"}}}
        }}});
        let facts = flatten(&doc, &Shared::default()).facts;
        let at = |segments: &[&str]| segments.iter().map(|s| s.to_string()).collect::<Location>();
        let key = at(&["schema List", "property head", "property next", "$ref"]);
        assert_eq!(facts[&key], "\"Node\"");
    }

    #[test]
    fn changed_properties_and_required_lists_are_reported() {
        let ours = one_schema_doc(
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}),
            json!({"type": "string", "nullable": true}),
        );
        let upstream = one_schema_doc(
            json!({"type": "object", "required": ["a", "b"], "properties": {
                "a": {"type": "integer", "format": "int64"}, "b": {"type": "string"}
            }}),
            json!({"type": "string"}),
        );
        let shared = shared_names(&ours, &upstream);
        let lines = differences(&flatten(&ours, &shared), &flatten(&upstream, &shared));
        assert_eq!(
            lines,
            [
                "schema Extra: nullable: upstream none, ours true",
                "schema Thing: property a: format: upstream \"int64\", ours none",
                "schema Thing: property a: type: upstream \"integer\", ours \"string\"",
                "schema Thing: property b: only in upstream",
                "schema Thing: required: upstream [\"a\",\"b\"], ours [\"a\"]",
            ]
        );
    }

    #[test]
    fn security_schemes_both_define_are_compared() {
        let ours = json!({"components": {"securitySchemes": {
            "Key": {"type": "http", "scheme": "bearer", "description": "ours"},
            "OnlyOurs": {"type": "http", "scheme": "bearer"}
        }}});
        let upstream = json!({"components": {"securitySchemes": {
            "Key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "OnlyUpstream": {"type": "http", "scheme": "bearer"}
        }}});
        let shared = shared_names(&ours, &upstream);
        let lines = differences(&flatten(&ours, &shared), &flatten(&upstream, &shared));
        assert_eq!(
            lines,
            [
                "security scheme Key: in: upstream \"header\", ours none",
                "security scheme Key: name: upstream \"X-Key\", ours none",
                "security scheme Key: scheme: upstream none, ours \"bearer\"",
                "security scheme Key: type: upstream \"apiKey\", ours \"http\"",
            ]
        );
    }

    #[test]
    fn security_alternatives_are_sorted() {
        let security = json!([{"B": []}, {"A": [], "C": []}]);
        assert_eq!(security_text(Some(&security)), "A and C or B");
        assert_eq!(security_text(Some(&json!([{}]))), "anonymous");
        assert_eq!(security_text(None), "none");
    }

    #[test]
    fn known_entries_have_reasons() {
        for entry in KNOWN {
            assert!(entry.reason.starts_with("CORRECTION "), "{entry:?}");
            assert!(!entry.pattern.is_empty());
        }
    }
}
