//! Changes made to the spec before progenitor sees it, each for one reason.
//!
//! They work on the JSON form of the document. None of them changes what the
//! committed spec says; they adapt it to what progenitor can express.

use serde_json::{Map, Value};

use crate::spec::{METHODS, for_each_operation, for_each_operation_mut, is_hand_written};
use crate::surface::IntegerRange;

/// The path component of a server URL such as `https://host/v1/public`.
fn server_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/'),
        None => "",
    }
}

fn first_server_url(servers: Option<&Value>) -> Option<&str> {
    servers?.as_array()?.first()?.get("url")?.as_str()
}

/// progenitor ignores `servers`, so operations served from a path-level
/// server (the public API at `/v1/public`) would be sent to the document's
/// base (`/v1`). This moves each such path under the prefix its server adds
/// to the document's server: `/{agentName}/start` served from `.../v1/public`
/// becomes `/public/{agentName}/start` against the base `.../v1`.
pub fn mount_path_level_servers(doc: &mut Value) -> Result<usize, String> {
    let base = server_path(first_server_url(doc.get("servers")).ok_or("the spec has no servers")?)
        .to_string();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Err("the spec has no paths".into());
    };
    let mut mounted = Map::new();
    let mut moved = 0;
    for (path, mut item) in std::mem::take(paths) {
        let new_path =
            match item.as_object_mut().and_then(|o| o.remove("servers")) {
                None => path,
                Some(servers) => {
                    moved += 1;
                    let url = first_server_url(Some(&servers))
                        .ok_or_else(|| format!("{path}: path-level servers without a url"))?;
                    let prefix = server_path(url).strip_prefix(base.as_str()).ok_or_else(|| {
                    format!("{path}: server {url} is not below the document's server path {base}")
                })?;
                    format!("{prefix}{path}")
                }
            };
        if mounted.contains_key(&new_path) {
            return Err(format!("two paths mount at {new_path}"));
        }
        mounted.insert(new_path, item);
    }
    *paths = mounted;
    Ok(moved)
}

/// Error bodies are not reliably JSON (HTML from gateways, empty 401s, a 429
/// with `message` instead of `error`), and progenitor's strict decode of a
/// declared error body loses the status when it fails. Without declared error
/// responses, every non-2xx answer reaches the hand-written layer whole, which
/// decodes it leniently (see pipecat-api's `error` module).
pub fn drop_error_responses(doc: &mut Value) -> usize {
    let mut dropped = 0;
    for_each_operation_mut(doc, |_, _, op| {
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            let before = responses.len();
            responses.retain(|status, _| {
                status.starts_with('1') || status.starts_with('2') || status.starts_with('3')
            });
            dropped += before - responses.len();
        }
    });
    dropped
}

/// Removes the operations marked [`HAND_WRITTEN`](crate::spec::HAND_WRITTEN) from what progenitor sees
/// (for OPTIONS it would call a `reqwest::Client::options` that does not
/// exist), and path items left empty by that.
pub fn drop_hand_written_operations(doc: &mut Value) -> usize {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return 0;
    };
    let mut dropped = 0;
    for item in paths.values_mut() {
        if let Some(item) = item.as_object_mut() {
            let before = item.len();
            item.retain(|key, op| !(METHODS.contains(&key.as_str()) && is_hand_written(op)));
            dropped += before - item.len();
        }
    }
    paths.retain(|_, item| {
        item.as_object()
            .is_some_and(|o| METHODS.iter().any(|m| o.contains_key(*m)))
    });
    dropped
}

/// Name of the component that stands for every ordered map of secret
/// strings (`x-pipecat-ordered: true`).
pub const UPLOAD_FIELDS: &str = "UploadFields";

/// A map's order is lost in a `HashMap`, yet a presigned upload's form
/// fields must be sent in the order the service gave them. Every object
/// schema marked `x-pipecat-ordered: true` (whose values are secret strings)
/// becomes a reference to one `UploadFields` component, which the generator
/// replaces with pipecat-api's hand-written `UploadFields`: ordered as
/// received, values redacted in `Debug`. (Its values are `format: password`
/// strings, which `generate`'s conversions would otherwise make
/// `SecretValue`s one by one.)
pub fn ordered_maps_as_upload_fields(doc: &mut Value) -> usize {
    let component =
        serde_json::json!({"type": "object", "additionalProperties": {"type": "string"}});
    schemas_as_component(doc, UPLOAD_FIELDS, component, |map| {
        map.get("x-pipecat-ordered").and_then(Value::as_bool) == Some(true)
    })
}

/// Replaces every schema that `matches` with a reference to the component
/// `name`, added as `component`; returns how many were replaced.
fn schemas_as_component(
    doc: &mut Value,
    name: &str,
    component: Value,
    matches: impl Fn(&Map<String, Value>) -> bool,
) -> usize {
    fn walk(
        value: &mut Value,
        reference: &Value,
        matches: &dyn Fn(&Map<String, Value>) -> bool,
        count: &mut usize,
    ) {
        match value {
            Value::Object(map) if matches(map) => {
                *value = reference.clone();
                *count += 1;
            }
            Value::Object(map) => map
                .values_mut()
                .for_each(|v| walk(v, reference, matches, count)),
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| walk(v, reference, matches, count)),
            _ => {}
        }
    }
    let reference = serde_json::json!({"$ref": format!("#/components/schemas/{name}")});
    let mut count = 0;
    walk(doc, &reference, &matches, &mut count);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(name.to_string(), component);
    }
    count
}

/// Every path parameter must address exactly one path segment. An empty
/// value, `.` or `..` vanishes in URL normalisation (the request then
/// addresses the parent resource: DELETE one key becomes DELETE the set), so
/// each path parameter's schema must refuse all three. Fails generation when
/// a parameter could accept one of them.
pub fn check_path_parameters_are_single_segments(doc: &Value) -> Result<(), String> {
    let mut problems = Vec::new();
    for_each_operation(doc, |path, method, op, path_item| {
        if is_hand_written(op) {
            return;
        }
        let params = path_item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for param in params {
            let param = resolve(doc, param);
            if param.get("in").and_then(Value::as_str) != Some("path") {
                continue;
            }
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            let schema = param
                .get("schema")
                .map(|s| resolve(doc, s))
                .unwrap_or(&Value::Null);
            for bad in ["", ".", ".."] {
                if accepts(schema, bad) {
                    problems.push(format!(
                        "{} {path}: path parameter `{name}` accepts {bad:?}",
                        method.to_uppercase()
                    ));
                }
            }
        }
    });
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "path parameters must refuse \"\", \".\" and \"..\" (give them a pattern or format):\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Whether a string schema would accept `value`: a conservative reading of
/// `format`, `enum`, `minLength` and `pattern`.
fn accepts(schema: &Value, value: &str) -> bool {
    if schema.get("type").and_then(Value::as_str) != Some("string") {
        // Integers and the like cannot be empty or dots once formatted.
        return !schema.is_object() || schema.get("type").is_none();
    }
    if schema.get("format").and_then(Value::as_str) == Some("uuid") {
        return false;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().any(|v| v.as_str() == Some(value));
    }
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    if (value.chars().count() as u64) < min {
        return false;
    }
    match schema.get("pattern").and_then(Value::as_str) {
        Some(pattern) => match regress::Regex::new(pattern) {
            Ok(re) => re.find(value).is_some(),
            Err(_) => true,
        },
        None => true,
    }
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or(value),
        None => value,
    }
}

/// A success answer must decode whatever fields a newer service adds, so no
/// schema an answer can hold may say `additionalProperties: false` (typify
/// would make that `deny_unknown_fields`). Fails generation naming each one.
/// Request schemas may be strict: the secrets `oneOf` relies on it.
pub fn check_answers_accept_unknown_fields(doc: &Value) -> Result<(), String> {
    fn walk<'a>(
        doc: &'a Value,
        value: &'a Value,
        at: String,
        seen: &mut Vec<String>,
        strict: &mut Vec<String>,
    ) {
        if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            if seen.iter().any(|r| r == reference) {
                return;
            }
            seen.push(reference.to_string());
            walk(
                doc,
                resolve(doc, value),
                reference.to_string(),
                seen,
                strict,
            );
            return;
        }
        match value {
            Value::Object(map) => {
                if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                    strict.push(at.clone());
                }
                for (key, child) in map {
                    walk(doc, child, format!("{at}/{key}"), seen, strict);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(doc, child, format!("{at}/{i}"), seen, strict);
                }
            }
            _ => {}
        }
    }
    let mut strict = Vec::new();
    let mut seen = Vec::new();
    for_each_operation(doc, |path, method, op, _| {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return;
        };
        for (status, response) in responses {
            if status.starts_with('2') {
                let at = format!("{} {path} {status}", method.to_uppercase());
                walk(doc, resolve(doc, response), at, &mut seen, &mut strict);
            }
        }
    });
    if strict.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "answers must accept fields a newer service adds; additionalProperties: false at {}",
            strict.join(", ")
        ))
    }
}

/// Integer bounds (`minimum`, `maximum`) would become types of typify's
/// (`NonZeroU64` for `minimum: 1`, `u64` for `minimum: 0`), which callers
/// cannot pass a plain integer literal to, while `maximum` would be dropped.
/// This removes the bounds from every integer query parameter and every
/// integer property of a component schema, so that each is an `i64`, and
/// returns them, for `surface::check_integer_ranges` to check in the
/// setters. Bounds anywhere else fail generation.
pub fn integer_ranges(doc: &mut Value) -> Result<Vec<IntegerRange>, String> {
    fn take_bounds(schema: &mut Value) -> Option<(Option<i64>, Option<i64>)> {
        let map = schema.as_object_mut()?;
        if map.get("type").and_then(Value::as_str) != Some("integer") {
            return None;
        }
        let min = map.remove("minimum").and_then(|v| v.as_i64());
        let max = map.remove("maximum").and_then(|v| v.as_i64());
        (min.is_some() || max.is_some()).then_some((min, max))
    }
    let mut ranges = Vec::new();
    for_each_operation_mut(doc, |_, _, op| {
        let owner = pascal_case(op.get("operationId").and_then(Value::as_str).unwrap_or(""));
        for param in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let name = param
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some((min, max)) = param.get_mut("schema").and_then(take_bounds) {
                ranges.push(IntegerRange {
                    owner: owner.clone(),
                    setter: crate::spec::snake_case(&name),
                    name,
                    min,
                    max,
                });
            }
        }
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (owner, schema) in schemas.iter_mut() {
            for (name, property) in schema
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flatten()
            {
                if let Some((min, max)) = take_bounds(property) {
                    ranges.push(IntegerRange {
                        owner: owner.clone(),
                        setter: crate::spec::snake_case(name),
                        name: name.clone(),
                        min,
                        max,
                    });
                }
            }
        }
    }
    let mut left = Vec::new();
    find_integer_bounds(doc, "#", &mut left);
    if !left.is_empty() {
        return Err(format!(
            "integer bounds where no setter can check them (only query parameters and \
             properties of component schemas are supported): {}",
            left.join(", ")
        ));
    }
    Ok(ranges)
}

fn find_integer_bounds(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("integer")
                && (map.contains_key("minimum") || map.contains_key("maximum"))
            {
                found.push(at.to_string());
            }
            for (k, v) in map {
                find_integer_bounds(v, &format!("{at}/{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_integer_bounds(v, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// `listBuilds` -> `ListBuilds`, as progenitor names an operation's builder.
fn pascal_case(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordered_maps_become_upload_fields() {
        let mut doc = json!({
            "components": {"schemas": {"UploadUrlResponse": {"type": "object", "properties": {
                "uploadFields": {"type": "object", "x-pipecat-ordered": true,
                    "additionalProperties": {"type": "string", "format": "password"}},
                "other": {"type": "object", "additionalProperties": {"type": "string"}}
            }}}}
        });
        ordered_maps_as_upload_fields(&mut doc);
        let props = &doc["components"]["schemas"]["UploadUrlResponse"]["properties"];
        assert_eq!(
            props["uploadFields"],
            json!({"$ref": "#/components/schemas/UploadFields"})
        );
        assert_eq!(
            props["other"]["additionalProperties"],
            json!({"type": "string"})
        );
        assert!(doc["components"]["schemas"]["UploadFields"].is_object());
    }

    #[test]
    fn integer_bounds_move_from_the_types_to_the_setters() {
        let mut doc = json!({
            "paths": {"/builds": {"get": {"operationId": "listBuilds", "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "region", "in": "query", "schema": {"type": "string"}}
            ]}}},
            "components": {"schemas": {"AutoScalingConfig": {"type": "object", "properties": {
                "maxAgents": {"type": "integer", "minimum": 1}
            }}}}
        });
        let ranges = integer_ranges(&mut doc).unwrap_or_default();
        assert_eq!(
            ranges,
            [
                IntegerRange {
                    owner: "ListBuilds".into(),
                    setter: "limit".into(),
                    name: "limit".into(),
                    min: Some(1),
                    max: Some(100)
                },
                IntegerRange {
                    owner: "AutoScalingConfig".into(),
                    setter: "max_agents".into(),
                    name: "maxAgents".into(),
                    min: Some(1),
                    max: None
                }
            ]
        );
        assert_eq!(
            doc.pointer("/paths/~1builds/get/parameters/0/schema"),
            Some(&json!({"type": "integer"}))
        );
        assert_eq!(
            doc.pointer("/components/schemas/AutoScalingConfig/properties/maxAgents"),
            Some(&json!({"type": "integer"}))
        );
    }

    #[test]
    fn a_strict_answer_schema_fails_generation_and_a_strict_request_does_not() {
        let doc = json!({
            "paths": {"/a": {"put": {
                "operationId": "a",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}}}
            }}},
            "components": {"schemas": {
                "Req": {"type": "object", "additionalProperties": false},
                "Answer": {"type": "object", "properties": {"item": {"$ref": "#/components/schemas/Item"}}},
                "Item": {"type": "object", "additionalProperties": false}
            }}
        });
        let err = check_answers_accept_unknown_fields(&doc)
            .err()
            .unwrap_or_default();
        assert!(err.contains("#/components/schemas/Item"), "{err}");
        assert!(!err.contains("Req"), "{err}");
        let mut lenient = doc.clone();
        if let Some(item) = lenient.pointer_mut("/components/schemas/Item") {
            *item = json!({"type": "object"});
        }
        assert_eq!(check_answers_accept_unknown_fields(&lenient), Ok(()));
    }

    #[test]
    fn integer_bounds_nobody_can_check_fail() {
        let mut doc = json!({"components": {"schemas": {"A": {"type": "array",
            "items": {"type": "integer", "minimum": 0}}}}});
        let err = integer_ranges(&mut doc).err().unwrap_or_default();
        assert!(err.contains("#/components/schemas/A/items"), "{err}");
    }

    #[test]
    fn public_paths_move_under_their_server_prefix() {
        let mut doc = json!({
            "servers": [{"url": "https://api.example/v1"}],
            "paths": {
                "/agents/{agentName}": {"post": {}},
                "/{agentName}/start": {
                    "servers": [{"url": "https://api.example/v1/public"}],
                    "post": {}
                }
            }
        });
        assert_eq!(mount_path_level_servers(&mut doc), Ok(1), "one path moved");
        let paths: Vec<&String> = doc["paths"]
            .as_object()
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        assert_eq!(paths, ["/agents/{agentName}", "/public/{agentName}/start"]);
        assert!(
            doc["paths"]["/public/{agentName}/start"]
                .get("servers")
                .is_none()
        );
    }

    #[test]
    fn a_server_outside_the_base_is_an_error() {
        let mut doc = json!({
            "servers": [{"url": "https://api.example/v1"}],
            "paths": {"/x": {"servers": [{"url": "https://api.example/v2"}], "get": {}}}
        });
        assert!(mount_path_level_servers(&mut doc).is_err());
    }

    #[test]
    fn colliding_mounts_are_an_error() {
        let mut doc = json!({
            "servers": [{"url": "https://api.example/v1"}],
            "paths": {
                "/public/x": {"get": {}},
                "/x": {"servers": [{"url": "https://api.example/v1/public"}], "get": {}}
            }
        });
        assert!(mount_path_level_servers(&mut doc).is_err());
    }

    #[test]
    fn error_responses_are_dropped_and_successes_kept() {
        let mut doc = json!({"paths": {"/x": {"post": {"responses": {
            "200": {}, "201": {}, "400": {}, "4XX": {}, "500": {}, "default": {}
        }}}}});
        drop_error_responses(&mut doc);
        let kept: Vec<&String> = doc["paths"]["/x"]["post"]["responses"]
            .as_object()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        assert_eq!(kept, ["200", "201"]);
    }

    #[test]
    fn hand_written_operations_are_dropped() {
        let mut doc = json!({"paths": {
            "/a/{path}": {
                "parameters": [],
                "get": {"x-pipecat-hand-written": true},
                "options": {"x-pipecat-hand-written": true}
            },
            "/b": {"get": {}, "head": {"x-pipecat-hand-written": true}}
        }});
        drop_hand_written_operations(&mut doc);
        assert_eq!(doc, json!({"paths": {"/b": {"get": {}}}}));
    }

    fn doc_with_path_param(schema: Value) -> Value {
        json!({
            "paths": {"/secrets/{setName}/{secretKey}": {"delete": {"parameters": [
                {"$ref": "#/components/parameters/SetName"},
                {"name": "secretKey", "in": "path", "required": true, "schema": schema}
            ]}}},
            "components": {"parameters": {"SetName": {
                "name": "setName", "in": "path", "required": true,
                "schema": {"type": "string", "minLength": 3, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
            }}}
        })
    }

    #[test]
    fn an_unconstrained_path_parameter_fails_generation() {
        let doc = doc_with_path_param(json!({"type": "string"}));
        let err = check_path_parameters_are_single_segments(&doc)
            .err()
            .unwrap_or_default();
        assert!(err.contains("`secretKey` accepts \"\""), "{err}");
        assert!(err.contains("`secretKey` accepts \"..\""), "{err}");
        assert!(!err.contains("`setName`"), "{err}");
    }

    #[test]
    fn a_pattern_that_admits_dots_fails_generation() {
        let doc = doc_with_path_param(json!({"type": "string", "pattern": "^[a-z.]+$"}));
        let err = check_path_parameters_are_single_segments(&doc)
            .err()
            .unwrap_or_default();
        assert!(err.contains("accepts \".\""), "{err}");
        assert!(!err.contains("accepts \"\""), "{err}");
    }

    #[test]
    fn constrained_path_parameters_pass() {
        for schema in [
            json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
            json!({"type": "string", "format": "uuid"}),
            json!({"type": "string", "enum": ["a", "b"]}),
            json!({"type": "integer"}),
        ] {
            let doc = doc_with_path_param(schema.clone());
            assert_eq!(
                check_path_parameters_are_single_segments(&doc),
                Ok(()),
                "{schema}"
            );
        }
    }
}
