//! Code generation for an input that passed every check.
//!
//! The user's type gets no serde impls of its own (they may derive those for
//! other purposes): the stored form goes through private shadow structs,
//! one borrowing each field to serialize and one owning each field to
//! deserialize, all inside `const _: () = { ... };` so that no name leaks
//! into the user's module. serde's derive writes their impls, except the
//! deserialize shadow of a struct with an `extra` field, whose map visitor
//! is generated here (serde's `flatten` would round its numbers). Every path is absolute, so the output means the
//! same under `#![no_implicit_prelude]` or next to a user item named `Option`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, LitStr, Path, Type};

use crate::ast::{Data, Field, Input, Variant};
use crate::attr::DefaultValue;
use crate::errors::Errors;
use crate::{fallback, valid};

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = Input::from_syn(input, &mut errors);
    valid::check(&parsed, &mut errors);
    let krate = parsed.attrs.crate_path();
    match (errors.finish(), &parsed.data) {
        (Ok(()), Some(Data::Struct(fields))) => expand_struct(&parsed, fields, &krate),
        (Ok(()), Some(Data::Enum(variants))) => expand_enum(&parsed, variants, &krate),
        (Err(error), _) => fallback::expand(input, &krate, error),
        (Ok(()), None) => unreachable!("an unsupported shape is always reported as an error"),
    }
}

fn expand_struct(input: &Input<'_>, fields: &[Field<'_>], krate: &Path) -> TokenStream {
    let ident = input.ident;
    let private = quote!(#krate::__private);
    // serde takes paths as strings.
    let serde_path = path_string(&quote!(#private::serde));
    let is_none = path_string(&quote!(#private::is_none));
    // serde names the shadow in its messages ("expected struct FetchFile").
    let struct_name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let type_name = match &input.attrs.type_name {
        Some(attr) => attr.value.clone(),
        None => struct_name.clone(),
    };

    let stored: Vec<&Field<'_>> = fields.iter().filter(|f| f.attrs.skip.is_none()).collect();
    // The keys the named fields own: an `extra` map holding one of them must
    // not write it a second time (the record could not be read back).
    let known_keys: Vec<String> = stored.iter().filter_map(|field| field.key()).collect();
    let ser_fields = stored.iter().map(|field| {
        let (name, ty) = (field.ident, shadow_type(field.ty, ident));
        if field.attrs.extra.is_some() {
            // Spanned at the field's type: a type that is not an `ExtraMap`
            // is reported there.
            let without_keys = quote_spanned!(field.ty.span()=> #private::WithoutKeys<'__a, #ty>);
            return quote!(#[serde(flatten)] #name: #without_keys);
        }
        let attrs = {
            let rename = rename_attr(field);
            let skip_none = field
                .is_option()
                .then(|| quote!(#[serde(skip_serializing_if = #is_none)]));
            quote!(#rename #skip_none)
        };
        quote!(#attrs #name: &'__a #ty)
    });
    let de_fields = stored.iter().map(|field| {
        let (name, ty) = (field.ident, shadow_type(field.ty, ident));
        let attrs = if field.attrs.extra.is_some() {
            quote!(#[serde(flatten)])
        } else {
            let rename = rename_attr(field);
            let default = match &field.attrs.default {
                Some(default) => match &default.value {
                    DefaultValue::Trait => Some(quote!(#[serde(default)])),
                    DefaultValue::Function(lit, _) => Some(quote!(#[serde(default = #lit)])),
                },
                // `#[task(default)]` on the struct: every field may be missing.
                // Spanned at the field's type, so a type without `Default` is
                // reported there.
                None => input
                    .attrs
                    .default
                    .as_ref()
                    .map(|_| quote_spanned!(field.ty.span()=> #[serde(default)])),
            };
            quote!(#rename #default)
        };
        quote!(#attrs #name: #ty)
    });
    // serde's `flatten` would buffer the whole object in serde's own value
    // type first, whose numbers are 64-bit: an extra key's
    // `123456789012345678901234567890` would reach a `RawJson` as an `f64`,
    // and a `u128` field would not read at all. A struct with an `extra`
    // field gets a visitor of its own that hands each value straight from
    // the input to its field.
    let has_extra = stored.iter().any(|field| field.attrs.extra.is_some());
    let de_shadow = if has_extra {
        deserialize_with_extra(input, &stored, krate, &struct_name)
    } else {
        quote! {
            #[derive(#private::serde::Deserialize)]
            #[serde(crate = #serde_path, rename = #struct_name)]
            struct __TaskDataDe {
                #(#de_fields,)*
            }
        }
    };
    // Without fields the serialize shadow would have an unused lifetime.
    let lifetime = (!stored.is_empty()).then(|| quote!(<'__a>));
    let borrows = stored.iter().map(|field| {
        let name = field.ident;
        if field.attrs.extra.is_some() {
            quote!(#name: #private::WithoutKeys::new(&self.#name, &[#(#known_keys),*]))
        } else {
            quote!(#name: &self.#name)
        }
    });
    let moves = fields.iter().map(|field| {
        let name = field.ident;
        let value = match (&field.attrs.skip, &field.attrs.default) {
            (None, _) => quote!(__shadow.#name),
            (Some(_), Some(default)) => match &default.value {
                DefaultValue::Function(_, function) => quote!(#function()),
                DefaultValue::Trait => quote!(::core::default::Default::default()),
            },
            (Some(_), None) => quote!(::core::default::Default::default()),
        };
        quote!(#name: #value)
    });

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::absolute_paths)]
        const _: () = {
            #[derive(#private::serde::Serialize)]
            #[serde(crate = #serde_path, rename = #struct_name)]
            struct __TaskDataSer #lifetime {
                #(#ser_fields,)*
            }

            #de_shadow

            #[automatically_derived]
            impl #krate::TaskType for #ident {
                const TYPE_NAME: &'static str = #type_name;
            }

            #[automatically_derived]
            impl #krate::TaskData for #ident {
                fn type_name(&self) -> &str {
                    <Self as #krate::TaskType>::TYPE_NAME
                }

                fn serialize_data<__S: #private::serde::Serializer>(
                    &self,
                    __serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    #private::serde::Serialize::serialize(
                        &__TaskDataSer { #(#borrows,)* },
                        __serializer,
                    )
                }
            }

            #[automatically_derived]
            impl #krate::TaskDecode for #ident {
                const TYPE_NAMES: &'static [&'static str] = &[<Self as #krate::TaskType>::TYPE_NAME];

                fn deserialize_data<'de, __D: #private::serde::Deserializer<'de>>(
                    __type_name: &str,
                    __deserializer: __D,
                ) -> ::core::option::Option<::core::result::Result<Self, __D::Error>> {
                    if __type_name != <Self as #krate::TaskType>::TYPE_NAME {
                        return ::core::option::Option::None;
                    }
                    let __decoded =
                        <__TaskDataDe as #private::serde::Deserialize<'de>>::deserialize(__deserializer);
                    ::core::option::Option::Some(::core::result::Result::map(
                        __decoded,
                        |__shadow| Self { #(#moves,)* },
                    ))
                }
            }
        };
    }
}

/// The deserialize shadow of a struct with an `extra` field, and its
/// `Deserialize` impl: a map visitor that gives each named field's value to
/// that field and every other key to the extra map, with serde's derive's
/// rules for duplicates, defaults and missing keys.
fn deserialize_with_extra(
    input: &Input<'_>,
    stored: &[&Field<'_>],
    krate: &Path,
    struct_name: &LitStr,
) -> TokenStream {
    let ident = input.ident;
    let private = quote!(#krate::__private);
    let serde = quote!(#private::serde);
    let shadow_fields = stored.iter().map(|field| {
        let (name, ty) = (field.ident, shadow_type(field.ty, ident));
        quote!(#name: #ty)
    });
    // One local per field, by position: a field may be named like anything
    // the visitor itself uses.
    let local = |index: usize| Ident::new(&format!("__field{index}"), Span::call_site());
    let mut declare = Vec::new();
    let mut arms = Vec::new();
    let mut finish = Vec::new();
    let mut extra_insert = None;
    for (index, field) in stored.iter().enumerate() {
        let (name, var) = (field.ident, local(index));
        let ty = shadow_type(field.ty, ident);
        if field.attrs.extra.is_some() {
            // Spanned at the field's type: a type that is not an `ExtraMap`
            // is reported there. Only tokens that name no local take its
            // span, so that the locals' hygiene never depends on where the
            // type's tokens came from (a `macro_rules!` fragment, say).
            declare.push(quote_spanned! {field.ty.span()=>
                let mut #var = #private::new_extra::<#ty>();
            });
            extra_insert = Some(quote! {
                #private::next_extra::<#ty, _>(&mut __map, &mut #var, __key)?;
            });
            finish.push(quote!(#name: #var));
            continue;
        }
        let key = field
            .key()
            .expect("a stored field that is not `extra` has a key");
        declare.push(
            quote!(let mut #var: ::core::option::Option<#ty> = ::core::option::Option::None;),
        );
        let next_value = quote!(#serde::de::MapAccess::next_value::<#ty>(&mut __map)?);
        arms.push(quote! {
            #key => {
                if ::core::option::Option::is_some(&#var) {
                    return ::core::result::Result::Err(
                        <__A::Error as #serde::de::Error>::duplicate_field(#key),
                    );
                }
                #var = ::core::option::Option::Some(#next_value);
            }
        });
        let missing = match (&field.attrs.default, &input.attrs.default) {
            (Some(default), _) => match &default.value {
                DefaultValue::Trait => quote!(::core::default::Default::default()),
                DefaultValue::Function(_, function) => quote!(#function()),
            },
            // `#[task(default)]` on the struct: spanned at the field's type,
            // so a type without `Default` is reported there.
            (None, Some(_)) => {
                quote_spanned!(field.ty.span()=> ::core::default::Default::default())
            }
            (None, None) => quote!(#private::missing_field::<_, __A::Error>(#key)?),
        };
        finish.push(quote! {
            #name: match #var {
                ::core::option::Option::Some(__value) => __value,
                ::core::option::Option::None => #missing,
            }
        });
    }
    let expecting = format!("struct {}", struct_name.value());

    quote! {
        struct __TaskDataDe {
            #(#shadow_fields,)*
        }

        impl<'de> #serde::Deserialize<'de> for __TaskDataDe {
            fn deserialize<__D: #serde::Deserializer<'de>>(
                __deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                struct __Visitor;

                impl<'de> #serde::de::Visitor<'de> for __Visitor {
                    type Value = __TaskDataDe;

                    fn expecting(
                        &self,
                        __formatter: &mut ::core::fmt::Formatter<'_>,
                    ) -> ::core::fmt::Result {
                        ::core::fmt::Formatter::write_str(__formatter, #expecting)
                    }

                    fn visit_map<__A: #serde::de::MapAccess<'de>>(
                        self,
                        mut __map: __A,
                    ) -> ::core::result::Result<__TaskDataDe, __A::Error> {
                        #(#declare)*
                        while let ::core::option::Option::Some(__key) =
                            #serde::de::MapAccess::next_key::<#private::FieldKey<'de>>(&mut __map)?
                        {
                            match #private::FieldKey::as_str(&__key) {
                                #(#arms)*
                                _ => { #extra_insert }
                            }
                        }
                        ::core::result::Result::Ok(__TaskDataDe { #(#finish,)* })
                    }
                }

                #serde::Deserializer::deserialize_map(__deserializer, __Visitor)
            }
        }
    }
}

fn expand_enum(input: &Input<'_>, variants: &[Variant<'_>], krate: &Path) -> TokenStream {
    let ident = input.ident;
    let private = quote!(#krate::__private);
    let names = variants
        .iter()
        .map(|variant| type_name_of(variant.ty, krate));
    // Calls through each variant's type are spanned at that type, so a type
    // that is not a task type is reported there, not at the derive.
    let type_names = variants.iter().map(|variant| {
        let (name, ty) = (variant.ident, variant.ty);
        let call = quote_spanned!(ty.span()=> <#ty as #krate::TaskData>::type_name(__task));
        quote!(#ident::#name(__task) => #call)
    });
    let serializes = variants.iter().map(|variant| {
        let (name, ty) = (variant.ident, variant.ty);
        let call = quote_spanned! {ty.span()=>
            <#ty as #krate::TaskData>::serialize_data(__task, __serializer)
        };
        quote!(#ident::#name(__task) => #call)
    });
    // The deserializer can be used once, so the name is matched before any
    // variant type sees it.
    let decodes = variants.iter().map(|variant| {
        let (name, ty) = (variant.ident, variant.ty);
        let type_name = type_name_of(ty, krate);
        quote! {
            if __type_name == #type_name {
                return ::core::option::Option::map(
                    <#ty as #krate::TaskDecode>::deserialize_data(__type_name, __deserializer),
                    |__decoded| ::core::result::Result::map(__decoded, #ident::#name),
                );
            }
        }
    });

    // One check per variant after the first, spanned at the variant, so a
    // duplicate is reported where the second one is written.
    let enum_name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let variant_names: Vec<LitStr> = variants
        .iter()
        .map(|variant| LitStr::new(&variant.ident.unraw().to_string(), variant.ident.span()))
        .collect();
    let unique_checks = variants.iter().enumerate().skip(1).map(|(index, variant)| {
        // Every token spanned at the variant, the paths too: rustc reports a
        // failed const evaluation at the call, whose span starts at its path.
        respan(
            quote! {
                const _: () = #private::assert_type_name_unique(
                    #enum_name,
                    &[#(#variant_names),*],
                    <#ident as #krate::TaskDecode>::TYPE_NAMES,
                    #index,
                );
            },
            variant.ident.span(),
        )
    });

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::absolute_paths)]
        const _: () = {
            #[automatically_derived]
            impl #krate::TaskData for #ident {
                fn type_name(&self) -> &str {
                    match self {
                        #(#type_names,)*
                    }
                }

                fn serialize_data<__S: #private::serde::Serializer>(
                    &self,
                    __serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    match self {
                        #(#serializes,)*
                    }
                }
            }

            #[automatically_derived]
            impl #krate::TaskDecode for #ident {
                const TYPE_NAMES: &'static [&'static str] = &[#(#names,)*];

                fn deserialize_data<'de, __D: #private::serde::Deserializer<'de>>(
                    __type_name: &str,
                    __deserializer: __D,
                ) -> ::core::option::Option<::core::result::Result<Self, __D::Error>> {
                    #(#decodes)*
                    ::core::option::Option::None
                }
            }

            // Two variants under one type name could not be told apart when
            // decoding: fail the build rather than decode into the first.
            #(#unique_checks)*
        };
    }
}

/// `<Ty as TaskType>::TYPE_NAME`, spanned at the variant's type so that a
/// type which is not a task type is reported there.
fn type_name_of(ty: &Type, krate: &Path) -> TokenStream {
    quote_spanned!(ty.span()=> <#ty as #krate::TaskType>::TYPE_NAME)
}

fn rename_attr(field: &Field<'_>) -> Option<TokenStream> {
    let rename = &field.attrs.rename.as_ref()?.value;
    Some(quote!(#[serde(rename = #rename)]))
}

fn path_string(path: &TokenStream) -> LitStr {
    LitStr::new(&path.to_string().replace(' ', ""), Span::call_site())
}

/// `tokens` with every token, nested ones included, spanned at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                return TokenTree::Group(new);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// A field's type as written in the shadow structs: there `Self` would mean
/// the shadow, so it is replaced by the user's type.
fn shadow_type(ty: &Type, ident: &Ident) -> TokenStream {
    fn replace(tokens: TokenStream, ident: &Ident) -> TokenStream {
        tokens
            .into_iter()
            .map(|token| match token {
                TokenTree::Ident(word) if word == "Self" => {
                    let mut ident = ident.clone();
                    ident.set_span(word.span());
                    TokenTree::Ident(ident)
                }
                TokenTree::Group(group) => {
                    let mut new = Group::new(group.delimiter(), replace(group.stream(), ident));
                    new.set_span(group.span());
                    TokenTree::Group(new)
                }
                other => other,
            })
            .collect()
    }
    replace(ty.to_token_stream(), ident)
}
