//! The operation table: what the hand-written layer needs to know about each
//! operation (its path template and which key it takes), read from the spec
//! so that no operation is special-cased by hand.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::spec::{for_each_operation, snake_case};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    /// progenitor's name for it (snake case), which is what hooks are told.
    pub name: String,
    pub method: String,
    pub path: String,
    /// The variant of pipecat-api's `KeyKind` it is sent with (`Private`
    /// or `Public`); the enum itself lives only in pipecat-api.
    pub key: &'static str,
    /// Implemented by hand in pipecat-api, not generated.
    pub hand_written: bool,
    /// `x-pipecat-retry-conflict`: a 409 `CONFLICT` answer means "try again".
    pub retry_conflict: bool,
    /// `x-pipecat-capacity-429`: a 429 answer means the agent is at capacity.
    pub capacity_429: bool,
}

impl Operation {
    /// The name of its constant in the generated `operations` module
    /// (`get_logs` -> `GET_LOGS`).
    pub fn const_name(&self) -> String {
        self.name.to_uppercase()
    }
}

fn flag(op: &Value, name: &str) -> bool {
    op.get(name).and_then(Value::as_bool) == Some(true)
}

/// Maps a security scheme to the key it stands for.
///
/// The published spec names three bearer schemes for two real keys: builds
/// use `BearerAuth`, which is the private key. Any other name is an error, so
/// that a new scheme cannot silently send the wrong key.
fn key_for_scheme(scheme: &str) -> Result<&'static str, String> {
    match scheme {
        "PrivateKeyAuth" | "BearerAuth" => Ok("Private"),
        "PublicKeyAuth" => Ok("Public"),
        other => Err(format!(
            "unknown security scheme `{other}`: map it to a key in xtask/src/operations.rs"
        )),
    }
}

/// Reads every operation of the (mounted) spec, sorted by operation id.
pub fn table(doc: &Value) -> Result<Vec<Operation>, String> {
    let default_security = doc.get("security");
    let mut ops = Vec::new();
    let mut errors = Vec::new();
    for_each_operation(doc, |path, method, op, _| {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let security = op.get("security").or(default_security);
        let schemes: Vec<&str> = security
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.keys().map(String::as_str))
            .collect();
        let keys: Result<Vec<&'static str>, String> =
            schemes.iter().map(|s| key_for_scheme(s)).collect();
        match keys.as_deref() {
            _ if id.is_empty() => errors.push(format!("{method} {path} has no operationId")),
            Err(e) => errors.push(format!("{id}: {e}")),
            Ok([key]) => ops.push(Operation {
                name: snake_case(&id),
                id,
                method: method.to_uppercase(),
                path: path.to_string(),
                key,
                hand_written: crate::spec::is_hand_written(op),
                retry_conflict: flag(op, "x-pipecat-retry-conflict"),
                capacity_429: flag(op, "x-pipecat-capacity-429"),
            }),
            Ok(other) => errors.push(format!(
                "{id}: needs exactly one security scheme, has {}",
                other.len()
            )),
        }
    });
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

/// Fails unless the table names exactly the operations progenitor emitted
/// (the `operation_id` each generated method hands to the hooks).
pub fn check_names(ops: &[Operation], generated: &syn::File) -> Result<(), String> {
    use syn::visit::Visit;
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_expr_struct(&mut self, e: &'a syn::ExprStruct) {
            if e.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "OperationInfo")
            {
                for field in &e.fields {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = &field.expr
                    {
                        self.0.push(s.value());
                    }
                }
            }
            syn::visit::visit_expr_struct(self, e);
        }
    }
    let mut emitted = Names(Vec::new());
    emitted.visit_file(generated);
    emitted.0.sort();
    let mut ours: Vec<String> = ops
        .iter()
        .filter(|o| !o.hand_written)
        .map(|o| o.name.clone())
        .collect();
    ours.sort();
    if emitted.0 == ours {
        Ok(())
    } else {
        Err(format!(
            "operation names differ from progenitor's:\n  progenitor: {:?}\n  table:      {:?}",
            emitted.0, ours
        ))
    }
}

pub fn to_tokens(ops: &[Operation]) -> TokenStream {
    let consts = ops.iter().map(|op| {
        let Operation {
            id,
            method,
            path,
            key,
            retry_conflict,
            capacity_429,
            hand_written,
            ..
        } = op;
        let name = format_ident!("{}", op.const_name());
        let key = format_ident!("{}", key);
        let doc = format!("`{method} {path}` ({id}).");
        quote! {
            #[doc = #doc]
            pub(crate) const #name: Operation = Operation {
                id: #id, method: #method, path: #path, key: KeyKind::#key,
                conflict_means_busy: #retry_conflict, too_many_means_at_capacity: #capacity_429,
                hand_written: #hand_written,
            };
        }
    });
    let names = ops.iter().map(|op| format_ident!("{}", op.const_name()));
    quote! {
        /// Every operation of the spec: its path template below the base URL
        /// and the key it is sent with. Each generated call names its own.
        pub(crate) mod operations {
            use crate::runtime::auth::KeyKind;
            // The type is hand-written (`operation.rs`): the runtime that
            // sends a call depends on it, not on the generated code.
            pub(crate) use crate::runtime::operation::Operation;

            #(#consts)*

            /// All operations, sorted by id.
            pub(crate) const ALL: &[Operation] = &[ #(#names),* ];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_come_from_security_and_builds_use_the_private_key() {
        let doc = json!({
            "security": [{"PrivateKeyAuth": []}],
            "paths": {
                "/secrets": {"get": {"operationId": "listSecretSets"}},
                "/builds": {"post": {"operationId": "createBuild", "security": [{"BearerAuth": []}]}},
                "/public/{agentName}/start": {"post": {"operationId": "startService", "security": [{"PublicKeyAuth": []}]}}
            }
        });
        let ops = table(&doc).unwrap_or_default();
        let keys: Vec<(&str, &str)> = ops.iter().map(|o| (o.id.as_str(), o.key)).collect();
        assert_eq!(
            keys,
            [
                ("createBuild", "Private"),
                ("listSecretSets", "Private"),
                ("startService", "Public")
            ]
        );
        assert_eq!(ops[2].path, "/public/{agentName}/start");
        assert_eq!(ops[2].method, "POST");
    }

    #[test]
    fn snake_case_matches_progenitor_names() {
        assert_eq!(snake_case("deleteSecretFromSet"), "delete_secret_from_set");
        assert_eq!(snake_case("listServices"), "list_services");
    }

    #[test]
    fn an_unknown_scheme_fails() {
        let doc = json!({"paths": {"/x": {"get": {"operationId": "x", "security": [{"ApiKeyAuth": []}]}}}});
        let err = table(&doc).err().unwrap_or_default();
        assert!(
            err.contains("unknown security scheme `ApiKeyAuth`"),
            "{err}"
        );
    }

    #[test]
    fn an_operation_without_security_fails() {
        let doc = json!({"paths": {"/x": {"get": {"operationId": "x", "security": []}}}});
        assert!(table(&doc).is_err());
    }
}
