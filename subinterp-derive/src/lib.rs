//! `#[derive(Transfer)]` for [subinterp](https://docs.rs/subinterp): use it
//! through `subinterp::Transfer` (feature `derive`, on by default).
//!
//! For a type `Foo` it generates a hidden packet type `__TransferPacketFoo`
//! of the same shape, each field replaced by its `Transfer::Packet`, and
//! implements `subinterp::transfer::Transfer` and `DeepCopy` field by field.
//! Errors about a field whose type has no `Transfer` point at that field.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Ident, TokenStream as TokenStream2, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    parse_macro_input, parse_quote, parse_quote_spanned, Data, DeriveInput, Fields, Type,
    WhereClause,
};

/// Implements `Transfer` and `DeepCopy` for a struct or enum, field by field.
///
/// - `#[transfer(move_only)]` on the type: implement `Transfer` only (for a
///   type with a field that has no `DeepCopy`).
/// - Type parameters get the bounds their fields need; lifetime parameters
///   are rejected (a transferred value is `'static`).
/// - The type must not implement `Drop` (its fields are moved out).
#[proc_macro_derive(Transfer, attributes(transfer))]
pub fn derive_transfer(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// One constructor of the type: the struct itself, or one enum variant.
struct Variant {
    /// `None` for a struct.
    ident: Option<Ident>,
    fields: Fields,
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream2> {
    let mut move_only = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("transfer")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("move_only") {
                move_only = true;
                Ok(())
            } else {
                Err(meta.error("unknown transfer attribute; expected `move_only`"))
            }
        })?;
    }
    if let Some(lt) = input.generics.lifetimes().next() {
        return Err(syn::Error::new(
            lt.span(),
            "#[derive(Transfer)]: lifetime parameters are not supported: a value that crosses \
             interpreters must be 'static",
        ));
    }

    let name = &input.ident;
    let vis = &input.vis;
    let packet = format_ident!("__TransferPacket{}", name);
    let krate = quote!(::subinterp::transfer);
    let type_params: Vec<Ident> = input
        .generics
        .type_params()
        .map(|p| p.ident.clone())
        .collect();

    let (variants, is_enum) = match &input.data {
        Data::Struct(s) => (
            vec![Variant {
                ident: None,
                fields: s.fields.clone(),
            }],
            false,
        ),
        Data::Enum(e) => (
            e.variants
                .iter()
                .map(|v| Variant {
                    ident: Some(v.ident.clone()),
                    fields: v.fields.clone(),
                })
                .collect(),
            true,
        ),
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "#[derive(Transfer)] does not support unions",
            ))
        }
    };

    // Bounds: each field type that mentions a type parameter must have
    // Transfer (DeepCopy); every type parameter must be 'static.
    let generic_field_types: Vec<&Type> = variants
        .iter()
        .flat_map(|v| v.fields.iter().map(|f| &f.ty))
        .filter(|ty| mentions_any(ty.to_token_stream(), &type_params))
        .collect();
    let with_bounds = |tr: TokenStream2| -> WhereClause {
        let mut wc = input
            .generics
            .where_clause
            .clone()
            .unwrap_or_else(|| parse_quote!(where));
        for p in &type_params {
            wc.predicates.push(parse_quote!(#p: 'static));
        }
        for ty in &generic_field_types {
            wc.predicates
                .push(parse_quote_spanned!(ty.span()=> #ty: #tr));
        }
        wc
    };
    let transfer_where = with_bounds(quote!(#krate::Transfer));
    let copy_where = with_bounds(quote!(#krate::DeepCopy));
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();

    let marker_ty = quote!(::core::marker::PhantomData<fn() -> (#(#type_params,)*)>);
    let has_marker = !type_params.is_empty();

    // The packet type.
    let packet_fields = |v: &Variant| -> Vec<TokenStream2> {
        v.fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let fname = format_ident!("__f{}", i);
                let ty = &f.ty;
                quote_spanned!(ty.span()=> #fname: <#ty as #krate::Transfer>::Packet)
            })
            .collect()
    };
    let packet_def = if is_enum {
        let vars = variants.iter().map(|v| {
            let ident = v.ident.as_ref().expect("enum variant");
            let fields = packet_fields(v);
            quote!(#ident { #(#fields,)* })
        });
        let never = has_marker.then(|| quote!(__Never(::core::convert::Infallible, #marker_ty),));
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis enum #packet #impl_generics #transfer_where {
                #(#vars,)*
                #never
            }
        }
    } else {
        let fields = packet_fields(&variants[0]);
        let marker = has_marker.then(|| quote!(__marker: #marker_ty,));
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #packet #impl_generics #transfer_where {
                #(#fields,)*
                #marker
            }
        }
    };

    // Patterns and constructors.
    let value_path = |v: &Variant| match &v.ident {
        Some(id) => quote!(Self::#id),
        None => quote!(Self),
    };
    let packet_path = |v: &Variant| match &v.ident {
        Some(id) => quote!(#packet::#id),
        None => quote!(#packet),
    };
    let bindings = |v: &Variant| -> Vec<Ident> {
        (0..v.fields.len())
            .map(|i| format_ident!("__f{}", i))
            .collect()
    };
    let value_shape = |v: &Variant, exprs: &[TokenStream2]| -> TokenStream2 {
        let path = value_path(v);
        match &v.fields {
            Fields::Named(named) => {
                let names = named.named.iter().map(|f| f.ident.as_ref().expect("named"));
                quote!(#path { #(#names: #exprs,)* })
            }
            Fields::Unnamed(_) => quote!(#path( #(#exprs,)* )),
            Fields::Unit => path,
        }
    };
    let packet_ctor = |v: &Variant, exprs: &[TokenStream2]| -> TokenStream2 {
        let path = packet_path(v);
        let names = bindings(v);
        let marker = (has_marker && v.ident.is_none())
            .then(|| quote!(__marker: ::core::marker::PhantomData,));
        quote!(#path { #(#names: #exprs,)* #marker })
    };

    let mut pack_arms = Vec::new();
    let mut copy_arms = Vec::new();
    let mut unpack_arms = Vec::new();
    for v in &variants {
        let binds = bindings(v);
        let bind_exprs: Vec<TokenStream2> = binds.iter().map(|b| quote!(#b)).collect();
        let pattern = value_shape(v, &bind_exprs);
        let packed: Vec<TokenStream2> = v
            .fields
            .iter()
            .zip(&binds)
            .map(|(f, b)| {
                let ty = &f.ty;
                quote_spanned!(ty.span()=> <#ty as #krate::Transfer>::pack(#b, __cx))
            })
            .collect();
        let copied: Vec<TokenStream2> = v
            .fields
            .iter()
            .zip(&binds)
            .map(|(f, b)| {
                let ty = &f.ty;
                quote_spanned!(ty.span()=> <#ty as #krate::DeepCopy>::pack_copy(#b, __cx))
            })
            .collect();
        let unpacked: Vec<TokenStream2> = v
            .fields
            .iter()
            .zip(&binds)
            .map(|(f, b)| {
                let ty = &f.ty;
                quote_spanned!(ty.span()=> <#ty as #krate::Transfer>::unpack(#b, __cx))
            })
            .collect();
        let pack_ctor = packet_ctor(v, &packed);
        let copy_ctor = packet_ctor(v, &copied);
        let ppath = packet_path(v);
        let unpack_ctor = value_shape(v, &unpacked);
        pack_arms.push(quote!(#pattern => #pack_ctor));
        copy_arms.push(quote!(#pattern => #copy_ctor));
        unpack_arms.push(quote!(#ppath { #(#binds,)* .. } => #unpack_ctor));
    }
    if is_enum && has_marker {
        unpack_arms.push(quote!(#packet::__Never(never, _) => match never {}));
    }

    let deep_copy = (!move_only).then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::DeepCopy for #name #ty_generics #copy_where {
                fn pack_copy(&self, __cx: &mut #krate::Pack) -> Self::Packet {
                    #[allow(unused_variables)]
                    match self {
                        #(#copy_arms,)*
                    }
                }
            }
        }
    });

    Ok(quote! {
        #packet_def

        #[automatically_derived]
        impl #impl_generics #krate::Transfer for #name #ty_generics #transfer_where {
            type Packet = #packet #ty_generics;

            fn pack(self, __cx: &mut #krate::Pack) -> Self::Packet {
                #[allow(unused_variables)]
                match self {
                    #(#pack_arms,)*
                }
            }

            fn unpack(__p: Self::Packet, __cx: &mut #krate::Unpack) -> Self {
                #[allow(unused_variables)]
                match __p {
                    #(#unpack_arms,)*
                }
            }
        }

        #deep_copy
    })
}

/// True if `tokens` mention one of the type parameters `params`.
fn mentions_any(tokens: TokenStream2, params: &[Ident]) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(id) => params.contains(&id),
        TokenTree::Group(g) => mentions_any(g.stream(), params),
        _ => false,
    })
}
