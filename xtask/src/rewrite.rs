//! Changes made to progenitor's output, for what no setting of it controls.
//!
//! For correctness or the caller: [`keep_conversion_errors`] (say which rule
//! a value broke), [`accept_string_refs`] (`.set_name(&name)` compiles).
//! For dependents' build time: [`schemars_behind_feature`] (a global
//! `cfg_attr`; progenitor 0.15 has no global attribute setting).
//! For speed only, per call: [`urls_from_segments`] (no URL parse per call),
//! [`no_api_version_header`] (no header map per call) and
//! [`known_patterns_without_regex`] (no regex per name). Each is kept while
//! the bench's instruction counts, with it skipped, show it paying (more
//! than noise, and than 0.5% of a call); see "Generator rewrites,
//! measured" in `bench/README.md`. Measured one by one: the last two pay
//! (numbers on each). [`urls_from_segments`] cannot be measured by removal:
//! without it the crate does not compile (the hand-written client has no
//! `baseurl` for progenitor's `format!`), so it stays unmeasured.

use syn::visit_mut::VisitMut;

/// progenitor's builder setters validate each parameter but throw the reason
/// away: `.map_err(|_| "conversion to `T` for set_name failed".to_string())`.
/// The caller then cannot tell which rule the value broke. This keeps the
/// reason, `set_name: doesn't match pattern "..."`, by rewriting each such
/// closure to format the conversion error and bounding that error by
/// `Display` (every conversion error in the generated code implements it).
pub fn keep_conversion_errors(file: &mut syn::File) -> usize {
    let mut keep = KeepConversionErrors(0);
    keep.visit_file_mut(file);
    keep.0
}

/// progenitor builds each request URL as a string
/// (`format!("{}/secrets/{}", client.baseurl, encode_path(&x.to_string()))`),
/// which reqwest then parses whole on every call: scheme, host (with IDNA),
/// path. This rewrites each such `let url = format!(..)` into
/// `let url = client.inner.url(&["secrets", &x.to_string()])`, which extends
/// a base URL parsed once. `url` encodes each segment itself, so
/// progenitor's `encode_path` is dropped: kept, a `%` or `/` in a value
/// would be encoded twice. A format string of any other shape is left as it
/// is.
pub fn urls_from_segments(file: &mut syn::File) -> usize {
    struct Urls(usize);
    impl VisitMut for Urls {
        fn visit_local_mut(&mut self, local: &mut syn::Local) {
            if let Some(init) = &mut local.init
                && let Some(replacement) = segments_call(&init.expr)
            {
                *init.expr = replacement;
                self.0 += 1;
            }
            syn::visit_mut::visit_local_mut(self, local);
        }
    }
    let mut urls = Urls(0);
    urls.visit_file_mut(file);
    urls.0
}

/// For `format!("{}/a/{}", client.baseurl, x)`, `client.inner.url(&["a", &x])`.
fn segments_call(expr: &syn::Expr) -> Option<syn::Expr> {
    let syn::Expr::Macro(mac) = expr else {
        return None;
    };
    if !mac.mac.path.is_ident("format") {
        return None;
    }
    let args = mac
        .mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(template),
        ..
    }) = args.next()?
    else {
        return None;
    };
    let base = args.next()?;
    let syn::Expr::Field(field) = &base else {
        return None;
    };
    let syn::Member::Named(name) = &field.member else {
        return None;
    };
    if name != "baseurl" {
        return None;
    }
    let client = &field.base;
    let template = template.value();
    let path = template.strip_prefix("{}/")?;
    let mut segments: Vec<syn::Expr> = Vec::new();
    for part in path.split('/') {
        if part == "{}" {
            let arg = without_encode_path(args.next()?);
            segments.push(syn::parse_quote! { &#arg });
        } else if part.is_empty() || part.contains(['{', '}']) {
            return None;
        } else {
            segments.push(syn::parse_quote! { #part });
        }
    }
    if args.next().is_some() {
        return None;
    }
    Some(syn::parse_quote! { #client.inner.url(&[#(#segments),*]) })
}

/// `x` for `encode_path(x)`; any other expression as it is.
fn without_encode_path(expr: syn::Expr) -> syn::Expr {
    if let syn::Expr::Call(call) = &expr
        && let syn::Expr::Path(function) = &*call.func
        && function.path.is_ident("encode_path")
        && call.args.len() == 1
        && let Some(syn::Expr::Reference(arg)) = call.args.first()
    {
        return (*arg.expr).clone();
    }
    expr
}

/// progenitor gives every request an `api-version` header with the spec's
/// `info.version` (a convention of the servers it was written for, which
/// Pipecat Cloud does not read), built in a header map of its own and then
/// merged into the request: an allocation and a hash per call for nothing.
/// This removes that header, and with it the map, `let mut header_map = ..`
/// and `.headers(header_map)`, wherever the map holds nothing else.
///
/// Measured (bench `instructions`, callgrind, per call, two runs each, raw
/// reqwest unmoved): skipping it costs `delete_secret_set` 76,700 against
/// 73,969 instructions (+2,731, +3.7%; run-to-run spread ≤ 12) and
/// `list_services` 311,420 against 309,137 (+2,283, +0.7%; spread ≤ 2);
/// `get_logs` is within its own noise (±0.5%, JSON decoding). Kept. (Skipped,
/// the map's value comes from progenitor's `ClientInfo::api_version()`, which
/// the crate's own `Client` does not implement: measured with the same
/// `&'static str` inlined.)
pub fn no_api_version_header(file: &mut syn::File) -> usize {
    struct NoApiVersion(usize);
    impl VisitMut for NoApiVersion {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            block.stmts.retain(|stmt| !is_api_version_append(stmt));
            self.0 += before - block.stmts.len();
            let mentions = block
                .stmts
                .iter()
                .filter(|stmt| quote::quote!(#stmt).to_string().contains("header_map"))
                .count();
            // Left: `let mut header_map = ..;` and the request chain's
            // `.headers(header_map)`, and nothing that adds to the map.
            if block.stmts.len() < before && mentions == 2 {
                block.stmts.retain(|stmt| !is_header_map_let(stmt));
                for stmt in &mut block.stmts {
                    DropHeadersCall.visit_stmt_mut(stmt);
                }
            }
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    struct DropHeadersCall;
    impl VisitMut for DropHeadersCall {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            if let syn::Expr::MethodCall(call) = expr
                && call.method == "headers"
                && call.args.len() == 1
                && matches!(call.args.first(), Some(syn::Expr::Path(p)) if p.path.is_ident("header_map"))
            {
                *expr = (*call.receiver).clone();
                self.visit_expr_mut(expr);
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut removed = NoApiVersion(0);
    removed.visit_file_mut(file);
    removed.0
}

/// `header_map.append(HeaderName::from_static("api-version"), ..);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    let receiver = &call.receiver;
    call.method == "append"
        && quote::quote!(#receiver).to_string() == "header_map"
        && call.args.first().is_some_and(|name| {
            quote::quote!(#name)
                .to_string()
                .ends_with(r#"HeaderName :: from_static ("api-version")"#)
        })
}

/// `let mut header_map = ..;`
fn is_header_map_let(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "header_map"))
}

/// pipecat-api's table of the spec's patterns (`PATTERNS` in
/// `runtime/patterns.rs`), the one source: a pattern written there with
/// `check: Some(name)` has a hand-written check `name`, tested there against
/// the regex. Any other pattern keeps its regex.
const PATTERNS_RS: &str = include_str!("../../pipecat-api/src/runtime/patterns.rs");

/// `(regex, check)` for each pattern of the table with a check; empty when
/// the table cannot be read (then every regex stays, and `gen --check` shows
/// it; a test fails too).
pub fn known_patterns() -> Vec<(String, String)> {
    let Ok(file) = syn::parse_file(PATTERNS_RS) else {
        return Vec::new();
    };
    let table = file.items.iter().find_map(|item| match item {
        syn::Item::Const(c) if c.ident == "PATTERNS" => Some(&c.expr),
        _ => None,
    });
    let Some(syn::Expr::Reference(table)) = table.map(|e| &**e) else {
        return Vec::new();
    };
    let syn::Expr::Array(rows) = &*table.expr else {
        return Vec::new();
    };
    let field = |row: &syn::ExprStruct, name: &str| {
        row.fields
            .iter()
            .find(|f| matches!(&f.member, syn::Member::Named(m) if m == name))
            .map(|f| f.expr.clone())
    };
    rows.elems
        .iter()
        .filter_map(|row| {
            let syn::Expr::Struct(row) = row else {
                return None;
            };
            let Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(regex),
                ..
            })) = field(row, "regex")
            else {
                return None;
            };
            // `Some(name)`
            let Some(syn::Expr::Call(call)) = field(row, "check") else {
                return None;
            };
            let Some(syn::Expr::Path(name)) = call.args.first() else {
                return None;
            };
            Some((regex.value(), name.path.get_ident()?.to_string()))
        })
        .collect()
}

/// typify checks a `pattern` with a backtracking regex on every value, and
/// names are checked on every call. For the patterns of [`known_patterns`]
/// this replaces the regex (`static PATTERN` and `PATTERN.find(value)`) in
/// a `from_str` with a call to `crate::runtime::patterns::<check>(value)`.
///
/// Measured (bench `instructions`, callgrind, per call, two runs each, raw
/// reqwest unmoved): skipping it costs `delete_secret_set`, which checks one
/// name, 77,580 against 73,969 instructions (+3,611, +4.9%; run-to-run
/// spread ≤ 2); `list_services` checks no name and does not move (+4);
/// `get_logs` is within its own noise (±0.5%). Kept.
pub fn known_patterns_without_regex(file: &mut syn::File) -> usize {
    struct Patterns(usize, Vec<(String, String)>);
    impl VisitMut for Patterns {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let check = block.stmts.iter().find_map(|stmt| match stmt {
                syn::Stmt::Item(syn::Item::Static(item)) if item.ident == "PATTERN" => {
                    pattern_literal(&item.expr).and_then(|p| {
                        self.1
                            .iter()
                            .find(|(known, _)| *known == p)
                            .map(|(_, f)| f.clone())
                    })
                }
                _ => None,
            });
            if let Some(check) = check {
                let check = quote::format_ident!("{}", check);
                block.stmts.retain(|stmt| {
                    !matches!(stmt, syn::Stmt::Item(syn::Item::Static(item)) if item.ident == "PATTERN")
                });
                let replacement: syn::Expr =
                    syn::parse_quote! { !crate::runtime::patterns::#check(value) };
                ReplaceFind(replacement).visit_block_mut(block);
                self.0 += 1;
            }
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    /// Replaces `PATTERN.find(value).is_none()` with the given expression.
    struct ReplaceFind(syn::Expr);
    impl VisitMut for ReplaceFind {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            let text = quote::quote!(#expr).to_string();
            if text == "PATTERN . find (value) . is_none ()" {
                *expr = self.0.clone();
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut patterns = Patterns(0, known_patterns());
    patterns.visit_file_mut(file);
    patterns.0
}

/// The string literal anywhere inside a `static PATTERN` initialiser.
fn pattern_literal(expr: &syn::Expr) -> Option<String> {
    struct Find(Option<String>);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_lit_str(&mut self, lit: &'a syn::LitStr) {
            self.0.get_or_insert_with(|| lit.value());
        }
    }
    let mut find = Find(None);
    syn::visit::Visit::visit_expr(&mut find, expr);
    find.0
}

/// The Cargo feature of pipecat-api that turns on `schemars::JsonSchema`.
pub const SCHEMARS_FEATURE: &str = "schemars";

/// Deriving `schemars::JsonSchema` costs every dependent a proc-macro crate
/// (schemars_derive, and with it syn 2) at build time. This moves that
/// derive of each generated type behind pipecat-api's `schemars` feature:
/// `#[derive(A, schemars::JsonSchema)]` becomes `#[derive(A)]` plus
/// `#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]`.
pub fn schemars_behind_feature(file: &mut syn::File) -> usize {
    struct Gate(usize);
    impl VisitMut for Gate {
        fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
            let mut gated = false;
            for attr in attrs.iter_mut() {
                if !attr.path().is_ident("derive") {
                    continue;
                }
                let Ok(paths) = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                ) else {
                    continue;
                };
                let is_schemars = |p: &syn::Path| {
                    p.segments.len() == 2
                        && p.segments[0].ident == "schemars"
                        && p.segments[1].ident == "JsonSchema"
                };
                if !paths.iter().any(is_schemars) {
                    continue;
                }
                let kept: Vec<&syn::Path> = paths.iter().filter(|p| !is_schemars(p)).collect();
                *attr = syn::parse_quote! { #[derive(#(#kept),*)] };
                gated = true;
            }
            if gated {
                self.0 += 1;
                let feature = SCHEMARS_FEATURE;
                attrs.push(syn::parse_quote! {
                    #[cfg_attr(feature = #feature, derive(schemars::JsonSchema))]
                });
            }
        }
        fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
            self.visit_attributes_mut(&mut item.attrs);
            syn::visit_mut::visit_item_struct_mut(self, item);
        }
        fn visit_item_enum_mut(&mut self, item: &mut syn::ItemEnum) {
            self.visit_attributes_mut(&mut item.attrs);
            syn::visit_mut::visit_item_enum_mut(self, item);
        }
    }
    let mut gate = Gate(0);
    gate.visit_file_mut(file);
    gate.0
}

/// typify gives each constrained string type `TryFrom<&str>` and
/// `TryFrom<String>` but not `TryFrom<&String>`, so `.set_name(&name)` with
/// a `String` in hand does not compile. This adds that impl beside every
/// `TryFrom<&str>` impl of the `types` module.
pub fn accept_string_refs(file: &mut syn::File) -> usize {
    let mut count = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        let Some((_, items)) = &mut module.content else {
            continue;
        };
        let mut added: Vec<syn::Item> = Vec::new();
        for item in items.iter() {
            let syn::Item::Impl(imp) = item else { continue };
            let Some((trait_path, _)) = &imp.trait_ else {
                continue;
            };
            let Some(last) = trait_path.segments.last() else {
                continue;
            };
            if last.ident != "TryFrom" || !is_str_ref_argument(&last.arguments) {
                continue;
            }
            let self_ty = &imp.self_ty;
            added.push(syn::parse_quote! {
                impl ::std::convert::TryFrom<&::std::string::String> for #self_ty {
                    type Error = self::error::ConversionError;
                    fn try_from(
                        value: &::std::string::String,
                    ) -> ::std::result::Result<Self, self::error::ConversionError> {
                        value.parse()
                    }
                }
            });
        }
        count += added.len();
        items.extend(added);
    }
    count
}

/// Whether generic arguments are exactly `<&str>`.
fn is_str_ref_argument(arguments: &syn::PathArguments) -> bool {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return false;
    };
    let [syn::GenericArgument::Type(syn::Type::Reference(r))] =
        args.args.iter().collect::<Vec<_>>().as_slice()
    else {
        return false;
    };
    matches!(r.elem.as_ref(), syn::Type::Path(p) if p.path.is_ident("str"))
}

/// Counts the setters rewritten.
struct KeepConversionErrors(usize);

impl VisitMut for KeepConversionErrors {
    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        let mut finder = FindDiscardingClosure { rewritten: false };
        finder.visit_block_mut(&mut f.block);
        if finder.rewritten {
            bound_errors_by_display(&mut f.sig.generics);
            self.0 += 1;
        }
        syn::visit_mut::visit_impl_item_fn_mut(self, f);
    }
}

/// Adds `<V as TryInto<T>>::Error: Display` for every `V: TryInto<T>` bound.
fn bound_errors_by_display(generics: &mut syn::Generics) {
    let mut extra: Vec<syn::WherePredicate> = Vec::new();
    let where_clause = generics.make_where_clause();
    for predicate in &where_clause.predicates {
        let syn::WherePredicate::Type(pt) = predicate else {
            continue;
        };
        for bound in &pt.bounds {
            let syn::TypeParamBound::Trait(tb) = bound else {
                continue;
            };
            let is_try_into = tb
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "TryInto");
            if is_try_into {
                let bounded = &pt.bounded_ty;
                let path = &tb.path;
                extra.push(syn::parse_quote! {
                    <#bounded as #path>::Error: std::fmt::Display
                });
            }
        }
    }
    where_clause.predicates.extend(extra);
}

struct FindDiscardingClosure {
    rewritten: bool,
}

impl VisitMut for FindDiscardingClosure {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        if call.method != "map_err" || call.args.len() != 1 {
            return;
        }
        let Some(syn::Expr::Closure(closure)) = call.args.first() else {
            return;
        };
        let Some(message) = discarded_conversion_message(closure) else {
            return;
        };
        let Some(param) = message
            .strip_prefix("conversion to `")
            .and_then(|rest| rest.split_once("` for "))
            .and_then(|(_, rest)| rest.strip_suffix(" failed"))
        else {
            return;
        };
        let template = format!("{param}: {{}}");
        let replacement: syn::Expr = syn::parse_quote! { |e| format!(#template, e) };
        if let Some(arg) = call.args.first_mut() {
            *arg = replacement;
            self.rewritten = true;
        }
    }
}

/// For `|_| "literal".to_string()`, the literal.
fn discarded_conversion_message(closure: &syn::ExprClosure) -> Option<String> {
    let [syn::Pat::Wild(_)] = closure.inputs.iter().collect::<Vec<_>>().as_slice() else {
        return None;
    };
    let syn::Expr::MethodCall(to_string) = closure.body.as_ref() else {
        return None;
    };
    if to_string.method != "to_string" {
        return None;
    }
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    }) = to_string.receiver.as_ref()
    else {
        return None;
    };
    let value = s.value();
    value.starts_with("conversion to `").then_some(value)
}

/// The tokens of a rewritten file, for tests.
#[cfg(test)]
fn rewritten(tokens: proc_macro2::TokenStream) -> String {
    let mut file: syn::File = syn::parse2(tokens).unwrap_or_else(|_| syn::parse_quote! {});
    keep_conversion_errors(&mut file);
    quote::quote!(#file).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn required_setter_keeps_the_reason_and_bounds_the_error() {
        let out = rewritten(quote! {
            impl<'a> DeleteSecretSet<'a> {
                pub fn set_name<V>(mut self, value: V) -> Self
                where V: std::convert::TryInto<types::DeleteSecretSetSetName>,
                {
                    self.set_name = value.try_into()
                        .map_err(|_| "conversion to `DeleteSecretSetSetName` for set_name failed".to_string());
                    self
                }
            }
        });
        assert!(
            out.contains(r#"map_err (| e | format ! ("set_name: {}" , e))"#),
            "{out}"
        );
        assert!(
            out.contains("< V as std :: convert :: TryInto < types :: DeleteSecretSetSetName > > :: Error : std :: fmt :: Display"),
            "{out}"
        );
        assert!(!out.contains("conversion to"), "{out}");
    }

    #[test]
    fn optional_setter_is_rewritten_too() {
        let out = rewritten(quote! {
            impl X {
                pub fn limit<V>(mut self, value: V) -> Self
                where V: std::convert::TryInto<u64>,
                {
                    self.limit = value.try_into().map(Some)
                        .map_err(|_| "conversion to `u64` for limit failed".to_string());
                    self
                }
            }
        });
        assert!(out.contains(r#"format ! ("limit: {}" , e)"#), "{out}");
    }

    /// The table is read from pipecat-api's `runtime/patterns.rs`: the
    /// patterns with a check, by the check's name.
    #[test]
    fn known_patterns_are_read_from_the_library() {
        let known = known_patterns();
        let names: Vec<&str> = known.iter().map(|(_, f)| f.as_str()).collect();
        assert_eq!(names, ["dns_label", "dns_subdomain", "secret_key"]);
        assert!(known.contains(&(
            r"^[A-Za-z0-9_-]{1,64}$".to_string(),
            "secret_key".to_string()
        )));
        assert!(known.contains(&(
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$".to_string(),
            "dns_subdomain".to_string()
        )));
    }

    #[test]
    fn known_patterns_lose_their_regex_and_others_keep_it() {
        let mut file: syn::File = syn::parse_quote! {
            impl ::std::str::FromStr for Name {
                fn from_str(value: &str) -> Result<Self, E> {
                    static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(|| {
                        ::regress::Regex::new("^[A-Za-z0-9_-]{1,64}$").unwrap()
                    });
                    if PATTERN.find(value).is_none() {
                        return Err("doesn't match pattern".into());
                    }
                    Ok(Self(value.to_string()))
                }
            }
            impl ::std::str::FromStr for Quantity {
                fn from_str(value: &str) -> Result<Self, E> {
                    static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(|| {
                        ::regress::Regex::new("^[0-9]+$").unwrap()
                    });
                    if PATTERN.find(value).is_none() {
                        return Err("doesn't match pattern".into());
                    }
                    Ok(Self(value.to_string()))
                }
            }
        };
        known_patterns_without_regex(&mut file);
        let out = quote!(#file).to_string();
        assert!(
            out.contains("if ! crate :: runtime :: patterns :: secret_key (value) {"),
            "{out}"
        );
        assert_eq!(out.matches("static PATTERN").count(), 1, "{out}");
        assert_eq!(out.matches("PATTERN . find (value)").count(), 1, "{out}");
    }

    #[test]
    fn urls_are_built_from_segments() {
        let mut file: syn::File = syn::parse_quote! {
            fn send() {
                let url = format!("{}/secrets/{}/{}", client.baseurl, encode_path(&a.to_string()), encode_path(&b.to_string()),);
                let other = format!("{}/agents", client.baseurl,);
                let odd = format!("{}/x-{}", client.baseurl, c);
                let text = format!("{} items", n);
            }
        };
        urls_from_segments(&mut file);
        let out = quote!(#file).to_string();
        assert!(
            out.contains("let url = client . inner . url (& [\"secrets\" , & a . to_string () , & b . to_string ()]) ;"),
            "{out}"
        );
        assert!(
            out.contains("let other = client . inner . url (& [\"agents\"]) ;"),
            "{out}"
        );
        assert!(
            out.contains("let odd = format !"),
            "a segment mixing text and a parameter is left alone: {out}"
        );
        assert!(out.contains("let text = format !"), "{out}");
    }

    #[test]
    fn the_api_version_header_and_its_map_go() {
        let mut file: syn::File = syn::parse_quote! {
            async fn send() {
                let url = client.inner.url(&["agents"]);
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                let mut request = client.client.get(url).header(ACCEPT, json).headers(header_map).build()?;
            }
            async fn with_a_header_param() {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                header_map.append("x-trace", trace.to_string().try_into()?);
                let mut request = client.client.get(url).headers(header_map).build()?;
            }
        };
        no_api_version_header(&mut file);
        let out = quote!(#file).to_string();
        assert!(!out.contains("api-version"), "{out}");
        assert!(
            out.contains("let mut request = client . client . get (url) . header (ACCEPT , json) . build () ? ;"),
            "{out}"
        );
        assert_eq!(
            out.matches("header_map").count(),
            3,
            "a map holding other headers stays: {out}"
        );
        assert!(
            out.contains("let mut request = client . client . get (url) . headers (header_map) . build () ? ;"),
            "{out}"
        );
    }

    #[test]
    fn the_schemars_derive_moves_behind_the_feature() {
        let mut file: syn::File = syn::parse_quote! {
            #[derive(Clone, Debug, schemars::JsonSchema)]
            #[serde(transparent)]
            pub struct A(String);
            #[derive(Clone)]
            pub enum B { X }
        };
        schemars_behind_feature(&mut file);
        let out = quote!(#file).to_string();
        assert!(out.contains("# [derive (Clone , Debug)]"), "{out}");
        assert!(out.contains("# [cfg_attr (feature = \"schemars\" , derive (schemars :: JsonSchema))] pub struct A"), "{out}");
        assert_eq!(out.matches("cfg_attr").count(), 1, "{out}");
    }

    #[test]
    fn string_refs_are_accepted_where_str_is() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Name(String);
                impl ::std::convert::TryFrom<&str> for Name {
                    type Error = self::error::ConversionError;
                    fn try_from(value: &str) -> Result<Self, self::error::ConversionError> { value.parse() }
                }
                impl ::std::convert::TryFrom<::std::string::String> for Name {
                    type Error = self::error::ConversionError;
                    fn try_from(value: String) -> Result<Self, self::error::ConversionError> { value.parse() }
                }
            }
        };
        accept_string_refs(&mut file);
        let out = quote!(#file).to_string();
        assert_eq!(
            out.matches("TryFrom < & :: std :: string :: String > for Name")
                .count(),
            1,
            "{out}"
        );
    }

    #[test]
    fn other_code_is_left_alone() {
        let input = quote! {
            impl X {
                pub fn body<V>(mut self, value: V) -> Self where V: TryInto<T> {
                    self.body = value.try_into().map_err(|s| format!("conversion to `T` for body failed: {}", s));
                    self
                }
                fn other(self) { let _ = x.map_err(|_| "something else".to_string()); }
            }
        };
        let before = {
            let file: syn::File =
                syn::parse2(input.clone()).unwrap_or_else(|_| syn::parse_quote! {});
            quote!(#file).to_string()
        };
        assert_eq!(rewritten(input), before);
    }
}
