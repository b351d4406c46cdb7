//! `#[task(...)]` attributes parsed into typed structs, one attribute at a
//! time: unknown keys, keys in the wrong place, duplicates and values of the
//! wrong kind are caught here. Rules that look at several attributes at once
//! live in `valid.rs`.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, ExprPath, Lit, LitStr, Path, Token};

use crate::errors::Errors;

/// Where a `#[task]` attribute was written, which decides the keys it takes.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Target {
    Struct,
    Enum,
    Field,
}

impl Target {
    fn noun(self) -> &'static str {
        match self {
            Target::Struct => "struct",
            Target::Enum => "enum",
            Target::Field => "field",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Target::Struct => {
                "a struct takes `type_name = \"...\"`, `default`, `task_rb`, `ignore_serde` and \
                 `crate = \"...\"`"
            }
            Target::Enum => "an enum takes `crate = \"...\"` and `ignore_serde`",
            Target::Field => {
                "a field takes `rename = \"...\"`, `default`, `default = \"...\"`, `skip` and `extra`"
            }
        }
    }
}

/// One attribute as written: its value, plus its tokens so that later errors
/// can point at exactly what the user typed.
pub(crate) struct Attr<T> {
    tokens: TokenStream,
    pub(crate) value: T,
}

impl<T> ToTokens for Attr<T> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}

/// Attributes on the struct or enum itself.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) type_name: Option<Attr<LitStr>>,
    pub(crate) krate: Option<Attr<Path>>,
    /// `default` on a struct: every field missing from the stored data
    /// decodes as its type's default, as task_rb reads a missing key as `nil`.
    pub(crate) default: Option<Attr<()>>,
    /// `task_rb`: the type name must be one task_rb can load, a Ruby
    /// constant path.
    pub(crate) task_rb: Option<Attr<()>>,
    /// `ignore_serde`: the type's `#[serde(...)]` attributes are meant for its
    /// own serde derives, and the stored form knowingly ignores them.
    pub(crate) ignore_serde: Option<Attr<()>>,
}

impl ContainerAttrs {
    /// The path generated code reaches taskrec by.
    pub(crate) fn crate_path(&self) -> Path {
        match &self.krate {
            Some(krate) => krate.value.clone(),
            None => syn::parse_quote!(::taskrec),
        }
    }
}

/// Attributes on one field of a task struct.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<Attr<LitStr>>,
    pub(crate) default: Option<Attr<DefaultValue>>,
    pub(crate) skip: Option<Attr<()>>,
    pub(crate) extra: Option<Attr<()>>,
}

pub(crate) enum DefaultValue {
    /// `default`: `Default::default()`.
    Trait,
    /// `default = "path"`: the literal (handed to serde as written, so serde's
    /// own errors point at it) and the path parsed from it.
    Function(LitStr, ExprPath),
}

const FIELD_KEYS: &[&str] = &["rename", "default", "skip", "extra"];

/// Parses the `#[task]` attributes of a struct or an enum.
pub(crate) fn container(
    attrs: &[Attribute],
    target: Target,
    errors: &mut Errors,
) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for_each_key(attrs, errors, |meta, key, errors| {
        match key.as_str() {
            "type_name" if target == Target::Struct => {
                let example = "type_name = \"Task::Tasks::CompositeTask\"";
                if let Some(lit) = string_value(meta, &key, example, errors)? {
                    if let Err(why) = storable_type_name(&lit.value()) {
                        errors.spanned(&lit, why);
                    } else {
                        let path = &meta.path;
                        let attr = Attr {
                            tokens: quote!(#path = #lit),
                            value: lit,
                        };
                        set(&mut out.type_name, attr, &key, target, errors);
                    }
                }
            }
            "type_name" => {
                let rest = skip_value(meta)?;
                let path = &meta.path;
                errors.spanned(
                    quote!(#path #rest),
                    "`type_name` does not apply to an enum: its type names come from the task types \
                     its variants wrap; put `#[task(type_name = \"...\")]` on those structs",
                );
            }
            "default" | "task_rb" if target == Target::Struct => {
                if flag(meta, &key, errors)? {
                    let path = &meta.path;
                    let attr = Attr {
                        tokens: quote!(#path),
                        value: (),
                    };
                    let slot = if key == "default" {
                        &mut out.default
                    } else {
                        &mut out.task_rb
                    };
                    set(slot, attr, &key, target, errors);
                }
            }
            "task_rb" | "default" => {
                let rest = skip_value(meta)?;
                let path = &meta.path;
                let what = if key == "task_rb" {
                    "whose type names are the ones stored"
                } else {
                    "whose fields are the ones decoded"
                };
                errors.spanned(
                    quote!(#path #rest),
                    format!(
                        "`{key}` does not apply to an enum: put `#[task({key})]` on the structs its \
                         variants wrap, {what}"
                    ),
                );
            }
            "ignore_serde" => {
                if flag(meta, &key, errors)? {
                    let path = &meta.path;
                    let attr = Attr {
                        tokens: quote!(#path),
                        value: (),
                    };
                    set(&mut out.ignore_serde, attr, &key, target, errors);
                }
            }
            "crate" => {
                if let Some(lit) = string_value(meta, &key, "crate = \"::taskrec\"", errors)? {
                    match lit.parse_with(Path::parse_mod_style) {
                        Ok(value) => {
                            let path = &meta.path;
                            let attr = Attr { tokens: quote!(#path = #lit), value };
                            set(&mut out.krate, attr, &key, target, errors);
                        }
                        Err(_) => errors.spanned(
                            &lit,
                            "expected a path to the taskrec crate for `crate`, like `crate = \"::taskrec\"`",
                        ),
                    }
                }
            }
            _ if FIELD_KEYS.contains(&key.as_str()) => {
                let rest = skip_value(meta)?;
                let path = &meta.path;
                let place = match target {
                    Target::Enum => "a field of the struct a variant wraps",
                    _ => "a field",
                };
                errors.spanned(
                    quote!(#path #rest),
                    format!(
                        "`{key}` is a field attribute; put it on {place}, not on the {}",
                        target.noun()
                    ),
                );
            }
            _ => unknown(meta, &key, target, errors)?,
        }
        Ok(())
    });
    out
}

/// The rules `taskrec::validate_type_name` applies on every save, checked
/// here so that a name no save would accept fails the build instead.
fn storable_type_name(name: &str) -> Result<(), String> {
    // Kept equal to `taskrec::MAX_TYPE_NAME_BYTES`.
    const MAX_TYPE_NAME_BYTES: usize = 1024;
    if name.is_empty() {
        return Err(
            "`type_name` must not be empty: it is the name the task is stored under".into(),
        );
    }
    if name.len() > MAX_TYPE_NAME_BYTES {
        return Err(format!(
            "`type_name` is {} bytes long; a type name is at most {MAX_TYPE_NAME_BYTES}",
            name.len()
        ));
    }
    match name
        .char_indices()
        .find(|(_, c)| c.is_control() || c.is_whitespace())
    {
        Some((at, c)) => Err(format!(
            "`type_name` holds {c:?} at byte {at}; a type name is a path such as \
             \"Task::Tasks::CompositeTask\", without whitespace or control characters"
        )),
        None => Ok(()),
    }
}

/// Parses the `#[task]` attributes of one field of a task struct.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let target = Target::Field;
    let mut out = FieldAttrs::default();
    for_each_key(attrs, errors, |meta, key, errors| {
        let path = &meta.path;
        match key.as_str() {
            "rename" => {
                if let Some(lit) = string_value(meta, &key, "rename = \"key\"", errors)? {
                    let attr = Attr {
                        tokens: quote!(#path = #lit),
                        value: lit,
                    };
                    set(&mut out.rename, attr, &key, target, errors);
                }
            }
            "default" if meta.input.peek(Token![=]) => {
                let example = "default = \"default_retries\"";
                if let Some(lit) = string_value(meta, &key, example, errors)? {
                    match lit.parse::<ExprPath>() {
                        Ok(function) => {
                            let tokens = quote!(#path = #lit);
                            let attr = Attr {
                                tokens,
                                value: DefaultValue::Function(lit, function),
                            };
                            set(&mut out.default, attr, &key, target, errors);
                        }
                        Err(_) => errors.spanned(
                            &lit,
                            format!(
                                "expected the path of a function for `default`, like `{example}`"
                            ),
                        ),
                    }
                }
            }
            "default" => {
                if flag(meta, &key, errors)? {
                    let attr = Attr {
                        tokens: quote!(#path),
                        value: DefaultValue::Trait,
                    };
                    set(&mut out.default, attr, &key, target, errors);
                }
            }
            "skip" | "extra" => {
                if flag(meta, &key, errors)? {
                    let attr = Attr {
                        tokens: quote!(#path),
                        value: (),
                    };
                    let slot = if key == "skip" {
                        &mut out.skip
                    } else {
                        &mut out.extra
                    };
                    set(slot, attr, &key, target, errors);
                }
            }
            "type_name" | "task_rb" | "crate" | "ignore_serde" => {
                let rest = skip_value(meta)?;
                let (kind, place) = if matches!(key.as_str(), "type_name" | "task_rb") {
                    ("a struct", "the struct")
                } else {
                    ("a container", "the struct or enum")
                };
                errors.spanned(
                    quote!(#path #rest),
                    format!("`{key}` is {kind} attribute; put it on {place}, not on a field"),
                );
            }
            _ => unknown(meta, &key, target, errors)?,
        }
        Ok(())
    });
    out
}

/// Refuses every `#[task]` attribute in `attrs`: used where none belongs, on
/// enum variants and their fields.
pub(crate) fn reject(attrs: &[Attribute], place: &str, errors: &mut Errors) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("task")) {
        errors.spanned(
            attr,
            format!(
                "#[task(...)] does not apply to {place}; put task attributes on the struct \
                 the variant wraps, or `crate` on the enum"
            ),
        );
    }
}

/// Runs `each` on every key of every `#[task(...)]` in `attrs`, with the
/// key's name. `each` reports its own errors and consumes the key's value,
/// so that one bad key does not hide the keys after it.
fn for_each_key(
    attrs: &[Attribute],
    errors: &mut Errors,
    mut each: impl FnMut(&ParseNestedMeta<'_>, String, &mut Errors) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("task")) {
        let mut found = Errors::default();
        let parsed = attr.parse_nested_meta(|meta| {
            let key = match meta.path.get_ident() {
                Some(ident) => ident.to_string(),
                None => meta.path.to_token_stream().to_string().replace(' ', ""),
            };
            each(&meta, key, &mut found)
        });
        if let Err(error) = found.finish() {
            errors.push(error);
        }
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
}

fn unknown(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    target: Target,
    errors: &mut Errors,
) -> syn::Result<()> {
    let rest = skip_value(meta)?;
    let path = &meta.path;
    errors.spanned(
        quote!(#path #rest),
        format!("unknown task attribute `{key}`; {}", target.expected()),
    );
    Ok(())
}

/// Records an attribute unless the same key came before.
fn set<T>(
    slot: &mut Option<Attr<T>>,
    attr: Attr<T>,
    key: &str,
    target: Target,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.spanned(
            &attr,
            format!("duplicate `{key}` on this {}; keep one", target.noun()),
        );
    } else {
        *slot = Some(attr);
    }
}

/// The string value of `key = "..."`, or `None` after reporting why not.
fn string_value(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    if !meta.input.peek(Token![=]) {
        let rest = skip_value(meta)?;
        let path = &meta.path;
        errors.spanned(
            quote!(#path #rest),
            format!("`{key}` needs a value, like `{example}`"),
        );
        return Ok(None);
    }
    let mut expr: Expr = meta.value()?.parse()?;
    // A literal handed through a `macro_rules!` fragment arrives in an
    // invisible group.
    while let Expr::Group(group) = expr {
        expr = *group.expr;
    }
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Some(lit)),
        other => {
            errors.spanned(
                other,
                format!("expected a string for `{key}`, like `{example}`"),
            );
            Ok(None)
        }
    }
}

/// Whether a key that takes no value came without one, reporting it if not.
fn flag(meta: &ParseNestedMeta<'_>, key: &str, errors: &mut Errors) -> syn::Result<bool> {
    let rest = skip_value(meta)?;
    if rest.is_empty() {
        return Ok(true);
    }
    let path = &meta.path;
    errors.spanned(
        quote!(#path #rest),
        format!("`{key}` takes no value; write `#[task({key})]`"),
    );
    Ok(false)
}

/// Consumes whatever follows a key up to the next comma, so that parsing can
/// go on after a bad key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<TokenStream> {
    let mut rest = TokenStream::new();
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        rest.extend([meta.input.parse::<TokenTree>()?]);
    }
    Ok(rest)
}
