//! What is wrong with a piece of JSON text, said the way a person would look
//! for it: "not JSON" apart from "JSON, but not an object", an empty cell
//! apart from `null`, a lone UTF-16 surrogate by name, and positions counted
//! in the text the caller gave, even when the piece is part of a larger text
//! (a hash's `data`).

use serde_json::Value;

/// Where a piece of text starts in the text the caller gave: the line
/// (1-based) and the bytes before it on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    line: usize,
    column: usize,
}

impl Origin {
    /// The start of the caller's own text.
    pub(crate) const START: Origin = Origin { line: 1, column: 0 };

    /// Where `piece`, a slice of `whole`, starts in it; the start of `whole`
    /// if `piece` is not a slice of it.
    pub(crate) fn of(whole: &str, piece: &str) -> Origin {
        let offset = (piece.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
        let Some(before) = whole.get(..offset) else {
            return Origin::START;
        };
        let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
        let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1);
        Origin { line, column }
    }

    /// A position serde_json gave within the piece, as a position in the
    /// caller's text.
    fn shift(self, line: usize, column: usize) -> (usize, usize) {
        if line == 1 {
            (self.line, self.column + column)
        } else {
            (self.line + line - 1, column)
        }
    }
}

/// What `error`, met reading `what` (`text`, starting at `origin` in the
/// caller's text), means: not JSON at all, a lone surrogate named as such
/// (serde_json reports one as a bad or unfinished escape), or serde_json's
/// own message; positions counted in the caller's text.
pub(crate) fn describe_error(
    what: &str,
    error: &serde_json::Error,
    text: &str,
    origin: Origin,
) -> String {
    if !(error.is_syntax() || error.is_eof()) {
        return positioned(error, origin);
    }
    if let Some((at, escape)) = lone_surrogate_at(text, error.line(), error.column()) {
        let within = Origin::of(text, &text[at..]);
        let (line, column) = origin.shift(within.line, within.column + 1);
        return format!(
            "{what} holds a lone UTF-16 surrogate `{escape}` at line {line} column {column}, \
             which is no character: a JSON string may hold one only as half of a pair"
        );
    }
    format!("{what} is not JSON: {}", positioned(error, origin))
}

/// serde_json's message, its position counted in the caller's text.
fn positioned(error: &serde_json::Error, origin: Origin) -> String {
    let full = error.to_string();
    if error.line() == 0 {
        return full;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let bare = full.strip_suffix(&suffix).unwrap_or(&full);
    let (line, column) = origin.shift(error.line(), error.column());
    format!("{bare} at line {line} column {column}")
}

/// Why `text`, which is not a JSON object, is not one: empty, not JSON at
/// all, or JSON of another kind. `what` names it ("the data").
pub(crate) fn not_an_object(what: &str, text: &str, origin: Origin) -> String {
    if text.trim().is_empty() {
        return format!("{what} is empty");
    }
    match serde_json::from_str::<Value>(text) {
        Err(error) => describe_error(what, &error, text, origin),
        Ok(value) => format!("{what} is {}, not a JSON object", kind(&value)),
    }
}

/// The kind of a JSON value, with its article.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The lone surrogate serde_json stopped at, reporting `line` and `column`
/// (1-based, in bytes): it stops within the escape, or at the escape that
/// follows it. A lone surrogate elsewhere (in a key the type ignores, which
/// serde_json does not decode) is not what went wrong.
fn lone_surrogate_at(text: &str, line: usize, column: usize) -> Option<(usize, &str)> {
    let mut line_start = 0;
    for _ in 1..line {
        line_start += text[line_start..].find('\n')? + 1;
    }
    let stopped = line_start + column;
    let mut from = 0;
    while let Some((at, escape)) = lone_surrogate(&text[from..]) {
        let at = from + at;
        if stopped < at {
            return None;
        }
        // Within the escape, or the one after it that failed to pair with
        // it (serde_json stops at most at its last digit).
        if stopped <= at + 12 {
            return Some((at, escape));
        }
        from = at + escape.len();
    }
    None
}

/// The first `\uXXXX` escape in `text` that is a UTF-16 surrogate without
/// its other half: its byte offset, and the escape as written.
fn lone_surrogate(text: &str) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let escape_at = |at: usize| -> Option<u32> {
        let digits = text.get(at + 2..at + 6)?;
        (bytes.get(at) == Some(&b'\\') && bytes.get(at + 1) == Some(&b'u'))
            .then(|| u32::from_str_radix(digits, 16).ok())
            .flatten()
    };
    let lone = |at: usize| Some((at, text.get(at..at + 6)?));
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'\\' {
            at += 1;
            continue;
        }
        let Some(unit) = escape_at(at) else {
            // Some other escape, `\\` included: skip the escaped character.
            at += 2;
            continue;
        };
        match unit {
            0xD800..=0xDBFF => match escape_at(at + 6) {
                Some(0xDC00..=0xDFFF) => at += 12,
                _ => return lone(at),
            },
            0xDC00..=0xDFFF => return lone(at),
            _ => at += 6,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_counted_in_lines_and_bytes() {
        let whole = "{\"a\":1,\n  \"data\": {\"x\":1}}";
        let data = &whole[whole.find("{\"x").unwrap()..whole.len() - 1];
        assert_eq!(
            Origin::of(whole, data),
            Origin {
                line: 2,
                column: 10
            }
        );
        assert_eq!(Origin::of(whole, "elsewhere"), Origin::START);
    }

    #[test]
    fn lone_surrogates_are_found_and_pairs_are_not() {
        assert_eq!(lone_surrogate(r#""\ud83d\ude00""#), None);
        assert_eq!(lone_surrogate(r#""\\ud800""#), None, "an escaped backslash");
        assert_eq!(lone_surrogate(r#""a\ud800b""#), Some((2, r"\ud800")));
        assert_eq!(lone_surrogate(r#""\uDC00""#), Some((1, r"\uDC00")));
        assert_eq!(lone_surrogate(r#""\ud800\u0041""#), Some((1, r"\ud800")));
    }

    /// serde_json stopping elsewhere is not the lone surrogate's fault: in a
    /// typed decode it does not decode the strings of keys the type ignores.
    #[test]
    fn a_lone_surrogate_far_from_the_error_is_not_blamed() {
        let text = r#"{"a":"\ud800","b":tru}"#;
        // The same error, at the same place, as that text's would be.
        let error = serde_json::from_str::<Value>(r#"{"a":"xxxxxx","b":tru}"#).unwrap_err();
        assert_eq!(
            describe_error("the data", &error, text, Origin::START),
            "the data is not JSON: expected ident at line 1 column 22"
        );
        let error = serde_json::from_str::<Value>(text).unwrap_err();
        assert!(
            describe_error("the data", &error, text, Origin::START)
                .starts_with("the data holds a lone UTF-16 surrogate `\\ud800` at line 1 column 7"),
            "{error}"
        );
    }

    #[test]
    fn what_is_not_an_object_says_what_it_is() {
        let at = Origin::START;
        assert_eq!(not_an_object("the data", " ", at), "the data is empty");
        assert_eq!(
            not_an_object("the data", "[1]", at),
            "the data is an array, not a JSON object"
        );
        assert_eq!(
            not_an_object("the data", "null", at),
            "the data is null, not a JSON object"
        );
        assert_eq!(
            not_an_object("the data", "nope", at),
            "the data is not JSON: expected ident at line 1 column 2"
        );
    }

    #[test]
    fn a_lone_surrogate_is_placed_at_its_escape_in_the_callers_text() {
        let whole = "{\"data\":\n  {\"a\":\"x\\ud800\"}}";
        let data = &whole[whole.find("{\"a").unwrap()..whole.len() - 1];
        let error =
            serde_json::from_str::<std::collections::BTreeMap<String, String>>(data).unwrap_err();
        assert_eq!(
            describe_error("the data", &error, data, Origin::of(whole, data)),
            "the data holds a lone UTF-16 surrogate `\\ud800` at line 2 column 10, which is no \
             character: a JSON string may hold one only as half of a pair"
        );
    }
}
