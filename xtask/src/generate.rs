//! The generator pipeline: spec -> fix-ups -> progenitor -> rewrites -> file.

use progenitor::TypeImpl;
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use quote::quote;
use schemars::schema::{InstanceType, SchemaObject, StringValidation};
use sha2::{Digest, Sha256};

use crate::{fixups, operations, rewrite, schemas, surface};

/// The spec, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/pipecat-cloud.yaml";
/// The generated module of pipecat-api, relative to the workspace root.
pub const OUTPUT_PATH: &str = "pipecat-api/src/generated.rs";

/// Produces the full text of `generated.rs` from the spec's bytes.
///
/// Deterministic: the same bytes always give the same text.
pub fn generate(spec_bytes: &[u8]) -> Result<String, String> {
    let mut doc: serde_json::Value = serde_yaml_ng::from_slice(spec_bytes)
        .map_err(|e| format!("{SPEC_PATH} is not valid YAML: {e}"))?;

    // What the hand-written layer needs is read from the spec as written
    // (after mounting the public paths, so the table holds real paths).
    // Each fix-up must find something to change, as each rewrite below
    // must: a spec edit that makes one moot fails here, to be removed on
    // purpose rather than left to rot.
    applied(
        "mount_path_level_servers",
        fixups::mount_path_level_servers(&mut doc)?,
        None,
    )?;
    fixups::check_path_parameters_are_single_segments(&doc)?;
    fixups::check_answers_accept_unknown_fields(&doc)?;
    let table = operations::table(&doc)?;
    applied(
        "drop_error_responses",
        fixups::drop_error_responses(&mut doc),
        None,
    )?;
    applied(
        "drop_hand_written_operations",
        fixups::drop_hand_written_operations(&mut doc),
        Some(table.iter().filter(|op| op.hand_written).count()),
    )?;
    applied(
        "ordered_maps_as_upload_fields",
        fixups::ordered_maps_as_upload_fields(&mut doc),
        None,
    )?;
    let ranges = fixups::integer_ranges(&mut doc)?;
    applied("integer_ranges", ranges.len(), None)?;

    let spec: openapiv3::OpenAPI = serde_json::from_value(doc)
        .map_err(|e| format!("{SPEC_PATH} is not an OpenAPI 3.0 document: {e}"))?;

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote! { crate::runtime::config::ClientConfig })
        // No default hooks impl: `surface::own_client` removes progenitor's
        // hooks plumbing, and `send_returns_values` its calls.
        .with_hooks(HooksMode::Expected)
        .with_derive("schemars::JsonSchema");
    for (schema, rust_type, impls) in conversions() {
        settings.with_conversion(schema, rust_type, impls.iter().copied());
    }
    settings
        // Presigned upload fields keep their order and redact their values.
        .with_replacement(
            fixups::UPLOAD_FIELDS,
            "crate::UploadFields",
            std::iter::empty(),
        );
    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor failed: {e}"))?;

    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor emitted invalid Rust: {e}"))?;
    let generated_ops = table.iter().filter(|op| !op.hand_written).count();
    operations::check_names(&table, &file)?;
    // Each rewrite must apply: a generator upgrade that changes the shape of
    // its output fails here instead of silently undoing one.
    applied(
        "keep_conversion_errors",
        rewrite::keep_conversion_errors(&mut file),
        None,
    )?;
    applied(
        "accept_string_refs",
        rewrite::accept_string_refs(&mut file),
        None,
    )?;
    applied(
        "schemars_behind_feature",
        rewrite::schemars_behind_feature(&mut file),
        None,
    )?;
    applied(
        "urls_from_segments",
        rewrite::urls_from_segments(&mut file),
        Some(generated_ops),
    )?;
    applied(
        "no_api_version_header",
        rewrite::no_api_version_header(&mut file),
        Some(generated_ops),
    )?;
    applied(
        "known_patterns_without_regex",
        rewrite::known_patterns_without_regex(&mut file),
        None,
    )?;
    surface::own_client(&mut file)?;
    applied(
        "send_returns_values",
        surface::send_returns_values(&mut file)?,
        Some(generated_ops),
    )?;
    applied("open_enums", surface::open_enums(&mut file)?, None)?;
    applied(
        "non_exhaustive_structs",
        surface::non_exhaustive_structs(&mut file)?,
        None,
    )?;
    applied(
        "optional_setters_take_values",
        surface::optional_setters_take_values(&mut file)?,
        None,
    )?;
    surface::check_integer_ranges(&mut file, &ranges)?;
    let table_file: syn::File = syn::parse2(operations::to_tokens(&table))
        .map_err(|e| format!("operation table is invalid Rust: {e}"))?;
    file.items.extend(table_file.items);
    let schema_file: syn::File = syn::parse2(schemas::to_tokens(&schemas::type_names(&file)))
        .map_err(|e| format!("schema index is invalid Rust: {e}"))?;
    file.items.extend(schema_file.items);

    let body = prettyplease::unparse(&file);
    let digest = Sha256::digest(spec_bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "// @generated by `cargo xtask gen` from {SPEC_PATH}\n\
         // spec sha256: {hex}\n\
         // Do not edit: change the spec or xtask/, run `cargo xtask gen`, commit both.\n\
         #![allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic)]\n\n\
         {body}"
    ))
}

/// Schemas typify turns into a given type instead of its own (matched
/// exactly, descriptions aside):
/// - timestamps (`format: date-time`) would become `chrono` types, adding a
///   dependency to every user's build for values most callers only display
///   or pass on: they stay RFC 3339 strings (the spec still says what they
///   are);
/// - generated types derive `Debug`, which would print secret values: every
///   string marked `format: password` (OpenAPI's mark for sensitive values;
///   with or without `minLength: 1`) is pipecat-api's `SecretValue`, whose
///   `Debug` is redacted.
fn conversions() -> Vec<(SchemaObject, &'static str, &'static [TypeImpl])> {
    let string = |format: &str, min_length: Option<u32>| SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        format: Some(format.to_string()),
        string: min_length.map(|min| {
            Box::new(StringValidation {
                min_length: Some(min),
                ..StringValidation::default()
            })
        }),
        ..SchemaObject::default()
    };
    const STRING: &[TypeImpl] = &[TypeImpl::Display, TypeImpl::FromStr];
    const SECRET: &[TypeImpl] = &[TypeImpl::FromStr];
    vec![
        (string("date-time", None), "::std::string::String", STRING),
        (string("password", None), "crate::SecretValue", SECRET),
        (string("password", Some(1)), "crate::SecretValue", SECRET),
    ]
}

/// Fails unless a fix-up or rewrite applied `count` times: exactly `expected` when
/// given, at least once otherwise.
fn applied(rewrite: &str, count: usize, expected: Option<usize>) -> Result<(), String> {
    match expected {
        Some(n) if count != n => Err(format!(
            "rewrite {rewrite} applied {count} times, expected {n}: progenitor's output changed shape"
        )),
        None if count == 0 => Err(format!(
            "rewrite {rewrite} did not apply: progenitor's output changed shape"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Vec<u8> {
        let root = crate::workspace_root();
        std::fs::read(root.join(SPEC_PATH)).unwrap_or_default()
    }

    #[test]
    fn two_runs_are_byte_identical() {
        let bytes = spec();
        let a = generate(&bytes);
        let b = generate(&bytes);
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(a, b);
    }

    #[test]
    fn header_names_spec_and_its_hash() {
        let bytes = spec();
        let out = generate(&bytes).unwrap_or_default();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            out.starts_with("// @generated by `cargo xtask gen` from openapi/pipecat-cloud.yaml\n")
        );
        assert!(out.contains(&format!("// spec sha256: {hex}\n")));
    }

    #[test]
    fn timestamps_are_strings_and_password_strings_secret_values() {
        let out = generate(&spec()).unwrap_or_default();
        assert!(
            !out.contains("::chrono::"),
            "a timestamp became a chrono type"
        );
        assert!(out.contains("pub created_at: ::std::option::Option<::std::string::String>,"));
        // Inline (`UpsertSecretSetBody`'s items) and with `minLength: 1`.
        assert!(out.contains("pub secret_value: crate::SecretValue,"));
        assert!(out.contains("pub token: ::std::option::Option<crate::SecretValue>,"));
        // The upload fields' values stay inside `UploadFields`.
        assert!(out.contains("crate::UploadFields"));
        assert!(!out.contains("HashMap<::std::string::String, crate::SecretValue>"));
    }
}
