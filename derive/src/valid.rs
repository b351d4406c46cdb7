//! Rules across several attributes or fields, checked once each attribute
//! is known to be well formed on its own.

use std::collections::BTreeMap;

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::Type;

use crate::ast::{Data, Field, Input};
use crate::errors::Errors;

pub(crate) fn check(input: &Input<'_>, errors: &mut Errors) {
    check_task_rb_name(input, errors);
    if let Some(Data::Struct(fields)) = &input.data {
        for field in fields {
            check_field(field, errors);
            check_owned(field, errors);
        }
        check_one_extra(fields, errors);
        check_keys(fields, errors);
    }
}

/// With `#[task(task_rb)]`, the type name must be one task_rb can load: it
/// stores a task's Ruby class name and loads it back as a constant path, so
/// the name must be `A::B::C`, each part a Ruby constant (an ASCII capital
/// letter, then ASCII letters, digits or underscores).
fn check_task_rb_name(input: &Input<'_>, errors: &mut Errors) {
    let Some(task_rb) = &input.attrs.task_rb else {
        return;
    };
    let (name, span_at): (String, &dyn ToTokens) = match &input.attrs.type_name {
        Some(type_name) => (type_name.value.value(), type_name),
        None => (input.ident.unraw().to_string(), task_rb),
    };
    if let Err(why) = ruby_constant_path(&name) {
        errors.spanned(
            span_at,
            format!(
                "type name \"{name}\" is not one task_rb can load (`task_rb` asks for a Ruby \
                 constant path such as \"Task::Tasks::CompositeTask\"): {why}"
            ),
        );
    }
}

fn ruby_constant_path(name: &str) -> Result<(), String> {
    for (index, part) in name.split("::").enumerate() {
        let position = match index {
            0 => "the first part".to_owned(),
            n => format!("part {}", n + 1),
        };
        let mut chars = part.chars();
        match chars.next() {
            None => return Err(format!("{position} is empty")),
            Some(first) if !first.is_ascii_uppercase() => {
                return Err(format!(
                    "{position}, \"{part}\", does not start with a capital letter A-Z"
                ))
            }
            Some(_) => {}
        }
        if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            return Err(format!(
                "{position}, \"{part}\", holds {bad:?}; a constant holds only letters A-Z and \
                 a-z, digits and `_`"
            ));
        }
    }
    Ok(())
}

fn check_field(field: &Field<'_>, errors: &mut Errors) {
    let attrs = &field.attrs;
    if attrs.extra.is_some() {
        // The extra field holds every key the others do not: it has no key of
        // its own to rename, is never missing, and skipping it would drop the
        // very keys it exists to keep.
        let why = "the extra field holds the keys no other field takes and has no key of its own";
        if let Some(rename) = &attrs.rename {
            errors.spanned(
                rename,
                format!("`rename` cannot be combined with `extra`: {why}"),
            );
        }
        if let Some(default) = &attrs.default {
            errors.spanned(
                default,
                "`default` cannot be combined with `extra`: the extra field is empty when no \
                 unknown key is present",
            );
        }
        if let Some(skip) = &attrs.skip {
            errors.spanned(
                skip,
                "`skip` cannot be combined with `extra`: a skipped extra field would drop the \
                 unknown keys it exists to keep",
            );
        }
    } else if let (Some(rename), Some(_)) = (&attrs.rename, &attrs.skip) {
        errors.spanned(
            rename,
            "`rename` has no effect on a field with `skip`: a skipped field is not stored",
        );
    }
}

/// A stored field is decoded from input that does not outlive the call, so
/// it cannot borrow (serde's error for this would point at the derive).
/// Nested borrows such as `Vec<&'static str>` are left to the compiler.
fn check_owned(field: &Field<'_>, errors: &mut Errors) {
    if field.attrs.skip.is_some() {
        return;
    }
    let mut ty = field.ty;
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            Type::Reference(_) => break,
            _ => return,
        }
    }
    errors.spanned(
        field.ty,
        format!(
            "field `{}` borrows its data, but task data is decoded into owned values; use an \
             owned type such as `String` or `Vec<T>`, or `skip` the field",
            field.ident
        ),
    );
}

fn check_one_extra(fields: &[Field<'_>], errors: &mut Errors) {
    let mut extras = fields.iter().filter(|field| field.attrs.extra.is_some());
    if let Some(first) = extras.next() {
        for other in extras {
            errors.spanned(
                other.attrs.extra.as_ref(),
                format!(
                    "only one field can be `extra`; `{}` already holds the unknown keys",
                    first.ident
                ),
            );
        }
    }
}

/// Two fields under one key would overwrite each other in the stored map.
fn check_keys(fields: &[Field<'_>], errors: &mut Errors) {
    let mut seen: BTreeMap<String, &Field<'_>> = BTreeMap::new();
    for field in fields {
        let Some(key) = field.key() else { continue };
        let Some(earlier) = seen.get(&key) else {
            seen.insert(key, field);
            continue;
        };
        // Blame a `rename`, which is what can be changed; of two, the later.
        let (blamed, other) = if field.attrs.rename.is_none() && earlier.attrs.rename.is_some() {
            (*earlier, field)
        } else {
            (field, *earlier)
        };
        let span: &dyn ToTokens = match &blamed.attrs.rename {
            Some(rename) => rename,
            None => blamed.ident,
        };
        errors.spanned(
            span,
            format!(
                "field `{}` is stored under the key \"{key}\", which field `{}` already uses; \
                 `rename` one of them",
                blamed.ident, other.ident
            ),
        );
    }
}
