//! Walking the spec: its operations, the methods they may have, and the
//! names progenitor gives them. Every other module reads the spec through
//! these, so none of them depends on another for it.

use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Operations marked with this extension are implemented by hand in
/// pipecat-api (the session proxy: any method, a path spanning segments,
/// raw bodies), which progenitor cannot express.
pub const HAND_WRITTEN: &str = "x-pipecat-hand-written";

/// Whether an operation is marked [`HAND_WRITTEN`].
pub fn is_hand_written(op: &Value) -> bool {
    op.get(HAND_WRITTEN).and_then(Value::as_bool) == Some(true)
}

/// Calls `f(path, method, operation, path_item)` for every operation.
pub fn for_each_operation<'a>(
    doc: &'a Value,
    mut f: impl FnMut(&'a str, &'a str, &'a Value, &'a Value),
) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                f(path, method, op, item);
            }
        }
    }
}

pub fn for_each_operation_mut(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(method) {
                f(path, method, op);
            }
        }
    }
}

/// `deleteSecretSet` -> `delete_secret_set`, as progenitor names methods.
/// `check_names` verifies the result against what progenitor emitted.
pub fn snake_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 4);
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
