//! A typed view of the derive input: the shapes the derive supports, with
//! the attributes parsed and the user's own tokens kept for error spans.

use quote::quote;
use syn::ext::IdentExt;
use syn::{DeriveInput, Fields, Ident, PathArguments, Type};

use crate::attr::{self, ContainerAttrs, FieldAttrs, Target};
use crate::errors::Errors;

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: ContainerAttrs,
    /// `None` when the shape is unsupported; that error is already reported.
    pub(crate) data: Option<Data<'a>>,
}

pub(crate) enum Data<'a> {
    /// A task type: a struct with named fields.
    Struct(Vec<Field<'a>>),
    /// A closed set of task types: an enum of one-field tuple variants.
    Enum(Vec<Variant<'a>>),
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
}

impl<'a> Input<'a> {
    /// Parses the input, reporting every problem found into `errors`.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Self {
        let target = match input.data {
            syn::Data::Enum(_) => Target::Enum,
            _ => Target::Struct,
        };
        let attrs = attr::container(&input.attrs, target, errors);
        check_generics(input, errors);
        if attrs.ignore_serde.is_none() {
            check_serde_attributes(input, target, errors);
        }
        let data = match &input.data {
            syn::Data::Struct(data) => struct_fields(input, &data.fields, errors).map(Data::Struct),
            syn::Data::Enum(data) => enum_variants(input, data, errors).map(Data::Enum),
            syn::Data::Union(data) => {
                let (union_token, ident) = (&data.union_token, &input.ident);
                errors.spanned(
                    quote!(#union_token #ident),
                    "#[derive(TaskData)] does not support unions; use a struct with named fields, \
                     or an enum whose variants wrap task types",
                );
                None
            }
        };
        Input {
            ident: &input.ident,
            attrs,
            data,
        }
    }
}

impl Field<'_> {
    /// The key the field is stored under; `None` for a field that has no key
    /// of its own (`skip`, `extra`).
    pub(crate) fn key(&self) -> Option<String> {
        if self.attrs.skip.is_some() || self.attrs.extra.is_some() {
            return None;
        }
        Some(match &self.attrs.rename {
            Some(rename) => rename.value.value(),
            // serde stores `r#type` under "type"; so do we.
            None => self.ident.unraw().to_string(),
        })
    }

    /// Whether the field is optional: its type is written as a path whose
    /// last segment is `Option` with one type argument (`Option<T>`,
    /// `std::option::Option<T>`). A proc macro sees tokens, not types, so an
    /// alias of `Option` is not recognised.
    pub(crate) fn is_option(&self) -> bool {
        let mut ty = self.ty;
        loop {
            match ty {
                // A type handed through a `macro_rules!` fragment arrives in
                // an invisible group.
                Type::Group(group) => ty = &group.elem,
                Type::Paren(paren) => ty = &paren.elem,
                Type::Path(path) if path.qself.is_none() => {
                    return path.path.segments.last().is_some_and(|last| {
                        last.ident == "Option"
                            && matches!(&last.arguments,
                                PathArguments::AngleBracketed(args) if args.args.len() == 1)
                    });
                }
                _ => return false,
            }
        }
    }
}

/// `#[serde(...)]` attributes mean something only to serde's own derives:
/// the stored form is generated from `#[task(...)]` alone. A user who
/// writes `#[serde(rename = "...")]` on a task type most likely expects it
/// to change what is stored, so it is refused unless the container says
/// the serde attributes are there for the type's own serde impls.
fn check_serde_attributes(input: &DeriveInput, target: Target, errors: &mut Errors) {
    let noun = match target {
        Target::Enum => "enum",
        _ => "struct",
    };
    let mut attrs: Vec<&syn::Attribute> = input.attrs.iter().collect();
    match &input.data {
        syn::Data::Struct(data) => {
            attrs.extend(data.fields.iter().flat_map(|field| &field.attrs));
        }
        syn::Data::Enum(data) => {
            for variant in &data.variants {
                attrs.extend(&variant.attrs);
                attrs.extend(variant.fields.iter().flat_map(|field| &field.attrs));
            }
        }
        syn::Data::Union(_) => {}
    }
    for attr in attrs
        .into_iter()
        .filter(|attr| attr.path().is_ident("serde"))
    {
        errors.spanned(
            attr,
            format!(
                "#[derive(TaskData)] does not read `#[serde(...)]`: what is stored ignores this \
                 attribute. Write the stored form with `#[task(...)]` (`rename`, `default`, \
                 `skip`, `extra`); if the attribute is only for this type's own serde derives, \
                 say so with `#[task(ignore_serde)]` on the {noun}"
            ),
        );
    }
}

fn check_generics(input: &DeriveInput, errors: &mut Errors) {
    let generics = &input.generics;
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "#[derive(TaskData)] does not support generic parameters or lifetimes: a task type \
             is stored under one fixed type name and owns its data",
        );
    } else if let Some(where_clause) = &generics.where_clause {
        errors.spanned(
            where_clause,
            "#[derive(TaskData)] does not support where clauses",
        );
    }
}

fn struct_fields<'a>(
    input: &'a DeriveInput,
    fields: &'a Fields,
    errors: &mut Errors,
) -> Option<Vec<Field<'a>>> {
    let ident = &input.ident;
    match fields {
        Fields::Named(named) => Some(
            named
                .named
                .iter()
                .map(|field| Field {
                    ident: field.ident.as_ref().expect("a named field has a name"),
                    ty: &field.ty,
                    attrs: attr::field(&field.attrs, errors),
                })
                .collect(),
        ),
        Fields::Unnamed(unnamed) => {
            errors.spanned(
                unnamed,
                format!(
                    "#[derive(TaskData)] needs named fields: the fields of a tuple struct have no \
                     names to store them under; write `struct {ident} {{ name: Type, ... }}`"
                ),
            );
            None
        }
        Fields::Unit => {
            let struct_token = match &input.data {
                syn::Data::Struct(data) => data.struct_token,
                _ => unreachable!("unit fields belong to a struct here"),
            };
            errors.spanned(
                quote!(#struct_token #ident),
                format!(
                    "#[derive(TaskData)] needs named fields; write `struct {ident} {{}}` for a task \
                     without attributes"
                ),
            );
            None
        }
    }
}

fn enum_variants<'a>(
    input: &'a DeriveInput,
    data: &'a syn::DataEnum,
    errors: &mut Errors,
) -> Option<Vec<Variant<'a>>> {
    if data.variants.is_empty() {
        let (enum_token, ident) = (&data.enum_token, &input.ident);
        errors.spanned(
            quote!(#enum_token #ident),
            "a TaskData enum needs at least one variant, each wrapping one task type, like \
             `Fetch(FetchFile)`",
        );
        return None;
    }
    let mut variants = Vec::new();
    for variant in &data.variants {
        attr::reject(&variant.attrs, "an enum variant", errors);
        let ident = &variant.ident;
        let wrong = match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                let field = &fields.unnamed[0];
                attr::reject(&field.attrs, "the field of an enum variant", errors);
                variants.push(Variant {
                    ident,
                    ty: &field.ty,
                });
                continue;
            }
            Fields::Unnamed(fields) if !fields.unnamed.is_empty() => {
                format!("wraps {} types", fields.unnamed.len())
            }
            Fields::Named(_) => "has named fields".to_owned(),
            Fields::Unnamed(_) | Fields::Unit => "wraps nothing".to_owned(),
        };
        let hint = match variant.fields {
            Fields::Named(_) => " with those fields in the struct `SomeTask`",
            _ => "",
        };
        let fields = &variant.fields;
        errors.spanned(
            quote!(#ident #fields),
            format!(
                "variant `{ident}` {wrong}; each variant of a TaskData enum wraps exactly one \
                 task type, like `{ident}(SomeTask)`{hint}"
            ),
        );
    }
    // Only a fully understood enum can be expanded.
    (variants.len() == data.variants.len()).then_some(variants)
}
