//! An index of the JSON Schema of every generated type, so that a test can
//! snapshot them all and a regeneration's effect on users shows in review.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The names of the types directly in the generated `types` module.
pub fn type_names(file: &syn::File) -> Vec<String> {
    let mut names = Vec::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        for item in module.content.iter().flat_map(|(_, items)| items) {
            match item {
                syn::Item::Struct(s) => names.push(s.ident.to_string()),
                syn::Item::Enum(e) => names.push(e.ident.to_string()),
                _ => {}
            }
        }
    }
    names.sort();
    names
}

/// `json_schemas()`: each type's name and JSON Schema, sorted by name.
pub fn to_tokens(names: &[String]) -> TokenStream {
    let entries = names.iter().map(|name| {
        let ident = format_ident!("{}", name);
        quote! { (#name, schemars::schema_for!(types::#ident)), }
    });
    quote! {
        /// The JSON Schema of every type in [`types`], by name: what a
        /// change to the spec changes for users. Snapshot-tested.
        #[doc(hidden)]
        #[cfg(feature = "schemars")]
        pub fn json_schemas() -> Vec<(&'static str, schemars::schema::RootSchema)> {
            vec![ #(#entries)* ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_structs_and_enums_of_types_only() {
        let file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct B;
                pub enum A { X }
                pub mod builder { pub struct Hidden; }
                impl B {}
            }
            pub struct Client;
        };
        assert_eq!(type_names(&file), ["A", "B"]);
        let tokens = to_tokens(&type_names(&file)).to_string();
        assert!(
            tokens.contains("(\"A\" , schemars :: schema_for ! (types :: A))"),
            "{tokens}"
        );
    }
}
