//! What to emit when the input has errors: the errors, plus impls whose
//! bodies are never run. Without the impls every use of the type as a task
//! would add a "trait not implemented" error on top of the real one.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Path};

pub(crate) fn expand(input: &DeriveInput, krate: &Path, error: syn::Error) -> TokenStream {
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    // The traits require `Send + Sync + 'static`. A generic type (refused
    // already) may not be; a bound under `for<'a>` is only checked where the
    // impl is used, so the stubs add no error of their own.
    generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote! {
            for<'__stub> #ident #ty_generics: ::core::marker::Send + ::core::marker::Sync + 'static
        });
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let error = error.to_compile_error();
    let private = quote!(#krate::__private);
    let task_type = match input.data {
        syn::Data::Enum(_) => None,
        _ => Some(quote! {
            #[automatically_derived]
            impl #impl_generics #krate::TaskType for #ident #ty_generics #where_clause {
                const TYPE_NAME: &'static str = "";
            }
        }),
    };

    quote! {
        #error

        #[doc(hidden)]
        const _: () = {
            #task_type

            #[automatically_derived]
            impl #impl_generics #krate::TaskData for #ident #ty_generics #where_clause {
                fn type_name(&self) -> &str {
                    ::core::unreachable!()
                }

                fn serialize_data<__S: #private::serde::Serializer>(
                    &self,
                    __serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics #krate::TaskDecode for #ident #ty_generics #where_clause {
                const TYPE_NAMES: &'static [&'static str] = &[];

                fn deserialize_data<'de, __D: #private::serde::Deserializer<'de>>(
                    __type_name: &str,
                    __deserializer: __D,
                ) -> ::core::option::Option<::core::result::Result<Self, __D::Error>> {
                    ::core::unreachable!()
                }
            }
        };
    }
}
