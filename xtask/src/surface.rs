//! Rewrites that turn progenitor's and typify's output into pipecat-api's
//! public surface: the crate's own `Client` and error type, `send()` that
//! gives the decoded value, enums open to values the service adds later,
//! types that can grow without breaking callers, and setters that take
//! values rather than `Option`s.
//!
//! Each function returns how often it applied; `generate` fails when a
//! rewrite did not apply where it must, so that a generator upgrade that
//! changes the shape of its output cannot silently undo one.

use std::collections::BTreeMap;

use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;

/// Enums that stay closed: a value outside them is a caller's mistake, not
/// something the service may add (a sort order is `asc` or `desc`). Every
/// other string enum gets an `Unknown` variant.
pub const CLOSED_ENUMS: &[&str] = &["GetLogsOrder"];

fn tokens<T: quote::ToTokens>(t: &T) -> String {
    quote!(#t).to_string()
}

fn module_mut<'a>(items: &'a mut [syn::Item], name: &str) -> Option<&'a mut Vec<syn::Item>> {
    items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

fn self_type_name(imp: &syn::ItemImpl) -> Option<String> {
    match imp.self_ty.as_ref() {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn trait_name(imp: &syn::ItemImpl) -> Option<String> {
    imp.trait_
        .as_ref()
        .and_then(|(path, _)| path.segments.last())
        .map(|s| s.ident.to_string())
}

/// progenitor emits a `Client` of its own (with a constructor that unwraps
/// and a public way to set any base URL), `ClientInfo`/`ClientHooks`
/// plumbing and a prelude. This removes all of it: the generated operation
/// methods and builders then belong to pipecat-api's hand-written
/// `crate::Client`, which holds the same two fields (`client`, `inner`).
/// Builders' `new` becomes crate-private: a builder comes from its
/// `Client` method.
pub fn own_client(file: &mut syn::File) -> Result<(), String> {
    let mut removed = BTreeMap::<&str, usize>::new();
    file.items.retain(|item| {
        let what = match item {
            syn::Item::Struct(s) if s.ident == "Client" => Some("struct Client"),
            syn::Item::Impl(imp) if trait_name(imp).as_deref() == Some("ClientInfo") => {
                Some("impl ClientInfo")
            }
            syn::Item::Impl(imp)
                if imp.trait_.is_none()
                    && self_type_name(imp).as_deref() == Some("Client")
                    && imp.items.iter().any(
                        |i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "new_with_client"),
                    ) =>
            {
                Some("impl Client { new }")
            }
            syn::Item::Const(c) if c.ident == "_" && tokens(c).contains("ClientHooks") => {
                Some("hooks assertion")
            }
            syn::Item::Mod(m) if m.ident == "prelude" => Some("mod prelude"),
            syn::Item::Use(u) if tokens(u).contains("progenitor_client") => {
                Some("use progenitor_client")
            }
            _ => None,
        };
        match what {
            Some(what) => {
                *removed.entry(what).or_default() += 1;
                false
            }
            None => true,
        }
    });
    let expected = [
        ("struct Client", 1),
        ("impl ClientInfo", 1),
        ("impl Client { new }", 1),
        ("hooks assertion", 1),
        ("mod prelude", 1),
        ("use progenitor_client", 2),
    ];
    for (what, count) in expected {
        let found = removed.get(what).copied().unwrap_or(0);
        if found != count {
            return Err(format!(
                "own_client: expected {count} `{what}` in progenitor's output, found {found}"
            ));
        }
    }
    file.items
        .insert(0, syn::parse_quote! { use crate::Client; });

    let builder = module_mut(&mut file.items, "builder").ok_or("own_client: no `mod builder`")?;
    let before = builder.len();
    builder.retain(|item| !matches!(item, syn::Item::Use(u) if tokens(u).contains("ClientHooks")));
    if builder.len() + 1 != before {
        return Err("own_client: `mod builder` did not import progenitor's items once".into());
    }
    let mut news = 0;
    for item in builder.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        for item in &mut imp.items {
            if let syn::ImplItem::Fn(f) = item
                && f.sig.ident == "new"
            {
                f.vis = syn::parse_quote! { pub(crate) };
                news += 1;
            }
        }
    }
    if news == 0 {
        return Err("own_client: no builder `new` found".into());
    }
    Ok(())
}

/// progenitor's `send` returns `Result<ResponseValue<T>, progenitor_client::Error<()>>`
/// and runs the request through `ClientHooks`. This rewrites every builder's
/// `send` into two methods:
///
/// - `send_with_response()`, returning `Result<crate::Response<T>, crate::Error>`:
///   the request is built as progenitor builds it, then handed to
///   `crate::runtime::transport::execute` with the operation's constant from the
///   generated `operations` table (no lookup by name per call), which
///   authenticates, guards, retries and decodes an error answer once;
/// - `send()`, returning `Result<T, crate::Error>`: the value alone.
///
/// Returns the number of operations rewritten.
pub fn send_returns_values(file: &mut syn::File) -> Result<usize, String> {
    let builder = module_mut(&mut file.items, "builder").ok_or("send: no `mod builder`")?;
    let mut rewritten = 0;
    for item in builder.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let owner = self_type_name(imp).unwrap_or_default();
        let Some(position) = imp
            .items
            .iter()
            .position(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
        else {
            continue;
        };
        let syn::ImplItem::Fn(send) = &mut imp.items[position] else {
            continue;
        };
        let value = rewrite_send(send).map_err(|e| format!("send of {owner}: {e}"))?;
        let wrapper: syn::ImplItem = syn::parse_quote! {
            /// Sends the request and returns the decoded answer.
            ///
            /// Every failure is a [`crate::Error`]: refused before sending
            /// (a parameter broke a rule, or the key is missing), an error
            /// answer with the service's code and message, or no usable
            /// answer. [`Self::send_with_response`] also gives the status
            /// and headers.
            pub async fn send(self) -> Result<#value, crate::Error> {
                self.send_with_response().await.map(crate::Response::into_value)
            }
        };
        imp.items.insert(position, wrapper);
        rewritten += 1;
    }
    Ok(rewritten)
}

/// Rewrites one progenitor `send` in place into `send_with_response`;
/// returns the type of its value.
fn rewrite_send(send: &mut syn::ImplItemFn) -> Result<syn::Type, String> {
    let value = response_value_type(&send.sig.output)
        .ok_or("its return type is not `Result<ResponseValue<T>, Error<()>>`")?;
    send.sig.ident = format_ident!("send_with_response");
    send.sig.output = syn::parse_quote! { -> Result<crate::Response<#value>, crate::Error> };
    send.attrs.push(syn::parse_quote! {
        /// Like `send`, with the answer's status and headers.
    });

    let stmts = &mut send.block.stmts;
    let info_at = stmts
        .iter()
        .position(|s| tokens(s).starts_with("let info = OperationInfo"))
        .ok_or("no `let info = OperationInfo { .. }`")?;
    let operation = operation_id_of(&stmts[info_at]).ok_or("no operation_id in OperationInfo")?;
    let tail: Vec<String> = stmts[info_at + 1..].iter().map(tokens).collect();
    let expected_tail = [
        "client . pre (& mut request , & info) . await ? ;",
        "let result = client . exec (request , & info) . await ;",
        "client . post (& result , & info) . await ? ;",
        "let response = result ? ;",
    ];
    if tail.len() != expected_tail.len() + 1 || tail.iter().zip(expected_tail).any(|(a, b)| a != b)
    {
        return Err(format!(
            "the hooks calls after OperationInfo are not as expected: {tail:?}"
        ));
    }
    let Some(syn::Stmt::Expr(syn::Expr::Match(mut answer), None)) = stmts.pop() else {
        return Err("it does not end with a match on the status".into());
    };
    for arm in &mut answer.arms {
        let body = match arm.body.as_ref() {
            syn::Expr::Block(b) if b.block.stmts.len() == 1 => tokens(&b.block.stmts[0]),
            other => tokens(other),
        };
        *arm.body = match body.as_str() {
            "ResponseValue :: from_response (response) . await" => {
                syn::parse_quote! { crate::runtime::transport::json(response).await }
            }
            "Ok (ResponseValue :: empty (response))" => {
                syn::parse_quote! { crate::runtime::transport::empty(response) }
            }
            "Err (Error :: UnexpectedResponse (response))" => {
                syn::parse_quote! { Err(crate::runtime::transport::undocumented(response)) }
            }
            other => return Err(format!("an answer arm of unknown shape: {other}")),
        };
    }
    stmts.truncate(info_at);

    // What remains builds the request: its early returns now give crate::Error.
    let mut errors = CrateErrors::default();
    for stmt in stmts.iter_mut() {
        errors.visit_stmt_mut(stmt);
    }
    if errors.builds != 1 {
        return Err(format!("expected one `.build()?`, found {}", errors.builds));
    }
    let operation = format_ident!("{}", operation.to_uppercase());
    stmts.push(syn::parse_quote! {
        let response =
            crate::runtime::transport::execute(client, request, &super::operations::#operation).await?;
    });
    stmts.push(syn::Stmt::Expr(syn::Expr::Match(answer), None));
    Ok(value)
}

/// `T` of `-> Result<ResponseValue<T>, Error<()>>`.
fn response_value_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(result) = ty.as_ref() else {
        return None;
    };
    let result = result.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &result.arguments else {
        return None;
    };
    let Some(syn::GenericArgument::Type(syn::Type::Path(ok))) = args.args.first() else {
        return None;
    };
    let ok = ok.path.segments.last()?;
    if ok.ident != "ResponseValue" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &ok.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// The string of `operation_id: ".."` in `let info = OperationInfo { .. };`.
fn operation_id_of(stmt: &syn::Stmt) -> Option<String> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let syn::Expr::Struct(info) = local.init.as_ref()?.expr.as_ref() else {
        return None;
    };
    info.fields.iter().find_map(|field| match &field.expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    })
}

/// Turns progenitor's errors in request building into `crate::Error`:
/// `map_err(Error::InvalidRequest)` and `.build()?`.
#[derive(Default)]
struct CrateErrors {
    builds: usize,
}

impl VisitMut for CrateErrors {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        match expr {
            syn::Expr::Path(p) if tokens(p) == "Error :: InvalidRequest" => {
                *expr = syn::parse_quote! { crate::Error::invalid_request };
            }
            syn::Expr::Try(t) => {
                if let syn::Expr::MethodCall(call) = t.expr.as_ref()
                    && call.method == "build"
                    && call.args.is_empty()
                {
                    let call = call.clone();
                    *t.expr = syn::parse_quote! { #call.map_err(crate::Error::unbuildable) };
                    self.builds += 1;
                }
            }
            _ => {}
        }
    }
}

/// typify makes every string enum closed: a value the service adds later
/// (a build status `queued`) fails the whole answer's decode. This gives
/// each string enum of `types`, but those in [`CLOSED_ENUMS`], a last
/// variant `Unknown(crate::UnknownValue)`, marked `#[serde(untagged)]` so
/// that any other string decodes into it and is written back unchanged;
/// `Display` shows it and `FromStr` accepts it. Every enum of `types`
/// (string or not) becomes `#[non_exhaustive]`, so adding a variant later
/// does not break callers. Returns the number of enums opened.
pub fn open_enums(file: &mut syn::File) -> Result<usize, String> {
    let types = module_mut(&mut file.items, "types").ok_or("open_enums: no `mod types`")?;
    let mut open = Vec::new();
    let mut schemas: Vec<syn::Item> = Vec::new();
    for item in types.iter_mut() {
        let syn::Item::Enum(e) = item else { continue };
        e.attrs.push(syn::parse_quote! { #[non_exhaustive] });
        // typify makes an enum of unit variants only from a string enum
        // (a variant named as its value carries no `rename`).
        let is_string_enum = !e.variants.is_empty()
            && e.variants
                .iter()
                .all(|v| matches!(v.fields, syn::Fields::Unit));
        if !is_string_enum || CLOSED_ENUMS.contains(&e.ident.to_string().as_str()) {
            continue;
        }
        for attr in &mut e.attrs {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let paths = attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                )
                .map_err(|e| format!("open_enums: unreadable derive: {e}"))?;
            let kept: Vec<&syn::Path> = paths.iter().filter(|p| !p.is_ident("Copy")).collect();
            *attr = syn::parse_quote! { #[derive(#(#kept),*)] };
        }
        // schemars does not understand an untagged variant: the schema is
        // written below instead of derived.
        let derives = e.attrs.len();
        e.attrs
            .retain(|a| !(a.path().is_ident("cfg_attr") && tokens(a).contains("JsonSchema")));
        if e.attrs.len() + 1 != derives {
            return Err(format!(
                "open_enums: {}: no schemars derive to replace",
                e.ident
            ));
        }
        let known: Vec<String> = e
            .variants
            .iter()
            .map(|v| {
                v.attrs
                    .iter()
                    .find_map(serde_rename)
                    .unwrap_or_else(|| v.ident.to_string())
            })
            .collect();
        let description: Vec<String> = e.attrs.iter().filter_map(doc_text).collect();
        let description = description.join("\n").trim().to_string();
        let name = e.ident.clone();
        let name_text = name.to_string();
        schemas.push(syn::parse_quote! {
            #[cfg(feature = "schemars")]
            impl schemars::JsonSchema for #name {
                fn schema_name() -> String {
                    #name_text.to_string()
                }
                fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
                    crate::values::unknown::open_enum_schema(&[#(#known),*], #description)
                }
            }
        });
        e.variants.push(syn::parse_quote! {
            /// A value this version of the crate does not know, kept as the
            /// service sent it (and sent back unchanged).
            #[serde(untagged)]
            Unknown(crate::UnknownValue)
        });
        open.push(e.ident.to_string());
    }
    types.extend(schemas);
    for name in &open {
        let mut display = false;
        let mut from_str = false;
        for item in types.iter_mut() {
            let syn::Item::Impl(imp) = item else { continue };
            if self_type_name(imp).as_deref() != Some(name.as_str()) {
                continue;
            }
            match trait_name(imp).as_deref() {
                Some("Display") => display = open_display(imp),
                Some("FromStr") => from_str = open_from_str(imp),
                _ => {}
            }
        }
        if !(display && from_str) {
            return Err(format!(
                "open_enums: {name}: Display or FromStr is not of the expected shape"
            ));
        }
    }
    let mut missing: Vec<&str> = CLOSED_ENUMS
        .iter()
        .copied()
        .filter(|closed| {
            !types
                .iter()
                .any(|i| matches!(i, syn::Item::Enum(e) if e.ident == closed))
        })
        .collect();
    if let Some(gone) = missing.pop() {
        return Err(format!(
            "open_enums: the closed enum {gone} no longer exists: update CLOSED_ENUMS"
        ));
    }
    Ok(open.len())
}

/// The value of `#[serde(rename = "..")]`.
fn serde_rename(attr: &syn::Attribute) -> Option<String> {
    if !attr.path().is_ident("serde") {
        return None;
    }
    let mut rename = None;
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("rename") {
            let value: syn::LitStr = meta.value()?.parse()?;
            rename = Some(value.value());
        }
        Ok(())
    });
    rename
}

/// The text of a `#[doc = ".."]` attribute.
fn doc_text(attr: &syn::Attribute) -> Option<String> {
    let syn::Meta::NameValue(nv) = &attr.meta else {
        return None;
    };
    if !nv.path.is_ident("doc") {
        return None;
    }
    match &nv.value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// `match *self { .. }` -> `match self { .., Self::Unknown(v) => f.write_str(v.as_str()) }`.
fn open_display(imp: &mut syn::ItemImpl) -> bool {
    struct Arm(bool);
    impl VisitMut for Arm {
        fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
            if tokens(&m.expr) == "* self" {
                *m.expr = syn::parse_quote! { self };
                m.arms.push(syn::parse_quote! {
                    Self::Unknown(other) => f.write_str(other.as_str()),
                });
                self.0 = true;
            }
        }
    }
    let mut arm = Arm(false);
    arm.visit_item_impl_mut(imp);
    arm.0
}

/// The last arm `_ => Err("invalid value".into())` ->
/// `other => Ok(Self::Unknown(crate::UnknownValue::new(other)))`.
fn open_from_str(imp: &mut syn::ItemImpl) -> bool {
    struct Arm(bool);
    impl VisitMut for Arm {
        fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
            if let Some(last) = m.arms.last_mut()
                && matches!(last.pat, syn::Pat::Wild(_))
                && tokens(&last.body).starts_with("Err (\"invalid value\"")
            {
                *last = syn::parse_quote! {
                    other => Ok(Self::Unknown(crate::UnknownValue::new(other))),
                };
                self.0 = true;
            }
        }
    }
    let mut arm = Arm(false);
    arm.visit_item_impl_mut(imp);
    arm.0
}

/// Structs of `types` with named fields become `#[non_exhaustive]`: a field
/// the spec gains later is then not a breaking change. Callers build them
/// with `T::builder()` (or the crate's constructors) and read their public
/// fields. Returns how many were marked.
pub fn non_exhaustive_structs(file: &mut syn::File) -> Result<usize, String> {
    let types = module_mut(&mut file.items, "types").ok_or("non_exhaustive: no `mod types`")?;
    let mut marked = 0;
    for item in types.iter_mut() {
        if let syn::Item::Struct(s) = item
            && matches!(s.fields, syn::Fields::Named(_))
        {
            s.attrs.push(syn::parse_quote! { #[non_exhaustive] });
            marked += 1;
        }
    }
    Ok(marked)
}

/// typify's struct builders take an optional field as an `Option`
/// (`.image(Some("repo/bot:1".to_string()))`). This rewrites each such
/// setter to take the value (`.image("repo/bot:1")`) and adds
/// `set_<field>(Option<T>)` beside it, which sets or clears it. Returns the
/// number of setters rewritten.
pub fn optional_setters_take_values(file: &mut syn::File) -> Result<usize, String> {
    let types = module_mut(&mut file.items, "types").ok_or("setters: no `mod types`")?;
    let builders = module_mut(types, "builder").ok_or("setters: no `mod types::builder`")?;
    let mut rewritten = 0;
    for item in builders.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let mut added: Vec<syn::ImplItem> = Vec::new();
        for item in &mut imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            let Some(inner) = option_bound(&mut f.sig.generics) else {
                continue;
            };
            let mut wrap = WrapSome(false);
            wrap.visit_block_mut(&mut f.block);
            if !wrap.0 {
                return Err(format!(
                    "setters: `{}` does not convert with `value.try_into()`",
                    f.sig.ident
                ));
            }
            let field = &f.sig.ident;
            let set = format_ident!("set_{}", field);
            let doc = format!("Sets `{field}`, or clears it with `None`.");
            added.push(syn::parse_quote! {
                #[doc = #doc]
                pub fn #set(mut self, value: ::std::option::Option<#inner>) -> Self {
                    self.#field = Ok(value);
                    self
                }
            });
            rewritten += 1;
        }
        imp.items.extend(added);
    }
    Ok(rewritten)
}

/// For a `T: TryInto<Option<X>>` bound, makes it `T: TryInto<X>` and returns `X`.
fn option_bound(generics: &mut syn::Generics) -> Option<syn::Type> {
    let where_clause = generics.where_clause.as_mut()?;
    for predicate in &mut where_clause.predicates {
        let syn::WherePredicate::Type(pt) = predicate else {
            continue;
        };
        for bound in &mut pt.bounds {
            let syn::TypeParamBound::Trait(tb) = bound else {
                continue;
            };
            let Some(last) = tb.path.segments.last_mut() else {
                continue;
            };
            if last.ident != "TryInto" {
                continue;
            }
            let syn::PathArguments::AngleBracketed(args) = &mut last.arguments else {
                continue;
            };
            let Some(syn::GenericArgument::Type(syn::Type::Path(option))) = args.args.first()
            else {
                continue;
            };
            let Some(option) = option.path.segments.last() else {
                continue;
            };
            if option.ident != "Option" {
                continue;
            }
            let syn::PathArguments::AngleBracketed(inner) = &option.arguments else {
                continue;
            };
            let Some(syn::GenericArgument::Type(inner)) = inner.args.first() else {
                continue;
            };
            let inner = inner.clone();
            if let Some(first) = args.args.first_mut() {
                *first = syn::GenericArgument::Type(inner.clone());
            }
            return Some(inner);
        }
    }
    None
}

/// `value.try_into()` -> `value.try_into().map(Some)`.
struct WrapSome(bool);

impl VisitMut for WrapSome {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if tokens(expr) == "value . try_into ()" {
            *expr = syn::parse_quote! { value.try_into().map(Some) };
            self.0 = true;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// A bound on an integer that the spec states and typify would turn into a
/// type (`NonZeroU64` for `minimum: 1`) or drop (`maximum`): checked instead
/// by the setter of `owner` (a builder type) named `setter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegerRange {
    /// The builder type: the operation's (`ListBuilds`) or the schema's (`AutoScalingConfig`).
    pub owner: String,
    /// The setter (`limit`, `max_agents`).
    pub setter: String,
    /// The name the spec gives it, for messages (`limit`, `maxAgents`).
    pub name: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// Makes each setter named in `ranges` check its bounds:
/// `self.limit = <conversion>;` becomes
/// `self.limit = crate::runtime::ranges::check(<conversion>, "limit", Some(1), Some(100));`.
/// Fails when a setter is not found exactly once.
pub fn check_integer_ranges(file: &mut syn::File, ranges: &[IntegerRange]) -> Result<(), String> {
    let mut found = vec![0usize; ranges.len()];
    let mut visit = |items: &mut Vec<syn::Item>| {
        for item in items.iter_mut() {
            let syn::Item::Impl(imp) = item else { continue };
            let Some(owner) = self_type_name(imp) else {
                continue;
            };
            for item in &mut imp.items {
                let syn::ImplItem::Fn(f) = item else { continue };
                for (i, range) in ranges.iter().enumerate() {
                    if range.owner == owner && f.sig.ident == range.setter {
                        found[i] += usize::from(add_range_check(f, range));
                    }
                }
            }
        }
    };
    if let Some(builder) = module_mut(&mut file.items, "builder") {
        visit(builder);
    }
    if let Some(types) = module_mut(&mut file.items, "types")
        && let Some(builder) = module_mut(types, "builder")
    {
        visit(builder);
    }
    let missing: Vec<String> = ranges
        .iter()
        .zip(&found)
        .filter(|(_, n)| **n != 1)
        .map(|(r, n)| format!("{}::{} (found {n})", r.owner, r.setter))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "check_integer_ranges: setters not found exactly once: {}",
            missing.join(", ")
        ))
    }
}

fn add_range_check(f: &mut syn::ImplItemFn, range: &IntegerRange) -> bool {
    let field = format_ident!("{}", range.setter);
    let name = &range.name;
    let bound = |b: Option<i64>| match b {
        Some(b) => quote! { Some(#b) },
        None => quote! { None },
    };
    let (min, max) = (bound(range.min), bound(range.max));
    for stmt in &mut f.block.stmts {
        if let syn::Stmt::Expr(syn::Expr::Assign(assign), _) = stmt
            && tokens(&assign.left) == format!("self . {field}")
        {
            let conversion = assign.right.clone();
            *assign.right = syn::parse_quote! {
                crate::runtime::ranges::check(#conversion, #name, #min, #max)
            };
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(file: &syn::File) -> String {
        quote!(#file).to_string()
    }

    fn progenitor_like() -> syn::File {
        syn::parse_quote! {
            pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
            use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
            pub mod types {
                ///A status.
                #[derive(Clone, Copy, Debug, Eq, PartialEq)]
                #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
                pub enum Status {
                    #[serde(rename = "ready")]
                    Ready,
                }
                impl ::std::fmt::Display for Status {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        match *self {
                            Self::Ready => f.write_str("ready"),
                        }
                    }
                }
                impl ::std::str::FromStr for Status {
                    type Err = self::error::ConversionError;
                    fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                        match value {
                            "ready" => Ok(Self::Ready),
                            _ => Err("invalid value".into()),
                        }
                    }
                }
                #[derive(Clone, Copy, Debug)]
                #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
                pub enum Phase {
                    Active,
                }
                impl ::std::fmt::Display for Phase {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        match *self {
                            Self::Active => f.write_str("Active"),
                        }
                    }
                }
                impl ::std::str::FromStr for Phase {
                    type Err = self::error::ConversionError;
                    fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                        match value {
                            "Active" => Ok(Self::Active),
                            _ => Err("invalid value".into()),
                        }
                    }
                }
                #[derive(Clone, Copy, Debug)]
                pub enum GetLogsOrder {
                    #[serde(rename = "asc")]
                    Asc,
                }
                pub struct Agent { pub name: Option<String> }
                pub struct Name(String);
                pub mod builder {
                    pub struct Agent { name: Result<Option<String>, String>, limit: Result<Option<i64>, String> }
                    impl Agent {
                        pub fn name<T>(mut self, value: T) -> Self
                        where
                            T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                            T::Error: ::std::fmt::Display,
                        {
                            self.name = value.try_into().map_err(|e| format!("error converting supplied value for name: {e}"));
                            self
                        }
                    }
                }
            }
            pub struct Client { pub(crate) baseurl: String }
            impl Client {
                pub fn new(baseurl: &str) -> Self { todo!() }
                pub fn new_with_client(baseurl: &str) -> Self { todo!() }
            }
            impl ClientInfo<()> for Client {}
            const _: () = { fn assert_client_hooks() where Client: ClientHooks<()> {} };
            impl Client {
                pub fn get_agent(&self) -> builder::GetAgent<'_> { builder::GetAgent::new(self) }
            }
            pub mod builder {
                use super::types;
                use super::{encode_path, ByteStream, ClientInfo, ClientHooks, Error, OperationInfo, RequestBuilderExt, ResponseValue};
                pub struct GetAgent<'a> { client: &'a super::Client, name: Result<types::Name, String> }
                impl<'a> GetAgent<'a> {
                    pub fn new(client: &'a super::Client) -> Self { todo!() }
                    ///Sends a `GET` request to `/agents/{name}`
                    pub async fn send(self) -> Result<ResponseValue<types::Agent>, Error<()>> {
                        let Self { client, name } = self;
                        let name = name.map_err(Error::InvalidRequest)?;
                        let url = client.inner.url(&["agents", &name.to_string()]);
                        let mut request = client.client.get(url).build()?;
                        let info = OperationInfo { operation_id: "get_agent" };
                        client.pre(&mut request, &info).await?;
                        let result = client.exec(request, &info).await;
                        client.post(&result, &info).await?;
                        let response = result?;
                        match response.status().as_u16() {
                            200u16 => ResponseValue::from_response(response).await,
                            204u16 => Ok(ResponseValue::empty(response)),
                            _ => Err(Error::UnexpectedResponse(response)),
                        }
                    }
                }
            }
            pub mod prelude { pub use self::super::Client; }
        }
    }

    #[test]
    fn progenitors_client_goes_and_ours_takes_its_place() {
        let mut file = progenitor_like();
        assert_eq!(own_client(&mut file), Ok(()));
        let text = out(&file);
        assert!(text.starts_with("use crate :: Client ;"), "{text}");
        for gone in [
            "progenitor_client",
            "new_with_client",
            "ClientInfo",
            "ClientHooks",
            "prelude",
            "pub fn new",
        ] {
            assert!(!text.contains(gone), "{gone} remains: {text}");
        }
        assert!(text.contains("pub (crate) fn new"), "{text}");
        assert!(text.contains("pub fn get_agent"), "{text}");
        // A second run finds nothing to remove: that is an error, not a no-op.
        assert!(own_client(&mut file).is_err());
    }

    #[test]
    fn send_gives_the_value_and_the_crate_error() {
        let mut file = progenitor_like();
        assert_eq!(send_returns_values(&mut file), Ok(1));
        let text = out(&file);
        assert!(
            text.contains("pub async fn send (self) -> Result < types :: Agent , crate :: Error > { self . send_with_response () . await . map (crate :: Response :: into_value) }"),
            "{text}"
        );
        assert!(text.contains("pub async fn send_with_response (self) -> Result < crate :: Response < types :: Agent > , crate :: Error >"), "{text}");
        assert!(
            text.contains("name . map_err (crate :: Error :: invalid_request) ?"),
            "{text}"
        );
        assert!(
            text.contains(". build () . map_err (crate :: Error :: unbuildable) ?"),
            "{text}"
        );
        assert!(
            text.contains("let response = crate :: runtime :: transport :: execute (client , request , & super :: operations :: GET_AGENT) . await ? ;"),
            "{text}"
        );
        assert!(
            text.contains("200u16 => crate :: runtime :: transport :: json (response) . await"),
            "{text}"
        );
        assert!(
            text.contains("204u16 => crate :: runtime :: transport :: empty (response)"),
            "{text}"
        );
        assert!(
            text.contains("Err (crate :: runtime :: transport :: undocumented (response))"),
            "{text}"
        );
        for gone in [
            "OperationInfo {",
            "client . pre",
            "client . exec",
            "client . post",
            "ResponseValue ::",
        ] {
            assert!(!text.contains(gone), "{gone} remains: {text}");
        }
    }

    #[test]
    fn a_send_of_another_shape_fails_generation() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod builder {
                impl<'a> X<'a> {
                    pub async fn send(self) -> Result<ResponseValue<()>, Error<()>> {
                        let info = OperationInfo { operation_id: "x" };
                        client.hooks_v2(&info).await?;
                        match 1 { _ => todo!() }
                    }
                }
            }
        };
        let err = send_returns_values(&mut file).err().unwrap_or_default();
        assert!(err.contains("send of X"), "{err}");
    }

    #[test]
    fn string_enums_open_but_closed_ones_stay_closed() {
        let mut file = progenitor_like();
        assert_eq!(open_enums(&mut file), Ok(2));
        let text = out(&file);
        assert!(
            text.contains(
                "# [derive (Clone , Debug , Eq , PartialEq)] # [non_exhaustive] pub enum Status"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "crate :: values :: unknown :: open_enum_schema (& [\"ready\"] , \"A status.\")"
            ),
            "{text}"
        );
        assert!(
            text.contains("crate :: values :: unknown :: open_enum_schema (& [\"Active\"] , \"\")"),
            "a variant without rename is its own value: {text}"
        );
        assert!(
            text.contains("# [serde (untagged)] Unknown (crate :: UnknownValue)"),
            "{text}"
        );
        assert!(text.contains("match self { Self :: Ready => f . write_str (\"ready\") , Self :: Unknown (other) => f . write_str (other . as_str ()) , }"), "{text}");
        assert!(
            text.contains("other => Ok (Self :: Unknown (crate :: UnknownValue :: new (other)))"),
            "{text}"
        );
        assert!(
            text.contains("# [derive (Clone , Copy , Debug)] # [non_exhaustive] pub enum GetLogsOrder { # [serde (rename = \"asc\")] Asc , }"),
            "{text}"
        );
    }

    #[test]
    fn structs_with_fields_become_non_exhaustive() {
        let mut file = progenitor_like();
        assert_eq!(non_exhaustive_structs(&mut file), Ok(1));
        let text = out(&file);
        assert!(
            text.contains("# [non_exhaustive] pub struct Agent"),
            "{text}"
        );
        assert!(
            !text.contains("# [non_exhaustive] pub struct Name"),
            "{text}"
        );
    }

    #[test]
    fn optional_setters_take_the_value_and_set_clears() {
        let mut file = progenitor_like();
        assert_eq!(optional_setters_take_values(&mut file), Ok(1));
        let text = out(&file);
        assert!(
            text.contains("T : :: std :: convert :: TryInto < :: std :: string :: String >"),
            "{text}"
        );
        assert!(
            text.contains("value . try_into () . map (Some) . map_err"),
            "{text}"
        );
        assert!(
            text.contains("pub fn set_name (mut self , value : :: std :: option :: Option < :: std :: string :: String >) -> Self { self . name = Ok (value) ; self }"),
            "{text}"
        );
    }

    #[test]
    fn ranges_are_checked_in_the_setter_or_generation_fails() {
        let mut file = progenitor_like();
        let range = IntegerRange {
            owner: "Agent".into(),
            setter: "name".into(),
            name: "name".into(),
            min: Some(1),
            max: None,
        };
        assert_eq!(
            check_integer_ranges(&mut file, std::slice::from_ref(&range)),
            Ok(())
        );
        let text = out(&file);
        assert!(
            text.contains("self . name = crate :: runtime :: ranges :: check (value . try_into ()"),
            "{text}"
        );
        assert!(text.contains("\"name\" , Some (1i64) , None)"), "{text}");
        let missing = IntegerRange {
            setter: "nope".into(),
            ..range
        };
        assert!(check_integer_ranges(&mut file, &[missing]).is_err());
    }
}
