//! A small `--name value` / `--flag` parser: the harness takes a handful of
//! options and needs no argument-parsing dependency for them.

use std::collections::BTreeMap;
use std::str::FromStr;

pub struct Args {
    values: BTreeMap<String, Option<String>>,
}

impl Args {
    /// Parses `--name value`, `--name=value` and `--flag` (a flag is an
    /// option not followed by a value).
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut values = BTreeMap::new();
        let mut raw = raw.iter().peekable();
        while let Some(arg) = raw.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => match raw.peek() {
                    Some(next) if !next.starts_with("--") => (name.to_owned(), raw.next().cloned()),
                    _ => (name.to_owned(), None),
                },
            };
            values.insert(name, value);
        }
        Ok(Args { values })
    }

    pub fn flag(&mut self, name: &str) -> bool {
        self.values.remove(name).is_some()
    }

    pub fn value(&mut self, name: &str) -> Option<String> {
        self.values.remove(name).flatten()
    }

    pub fn required(&mut self, name: &str) -> Result<String, String> {
        self.value(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    pub fn number<T: FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text
                .replace('_', "")
                .parse()
                .map_err(|_| format!("--{name} takes a number, not `{text}`")),
        }
    }

    /// Fails on any option nobody asked for: a typo must not be ignored.
    pub fn finish(&self) -> Result<(), String> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(name) => Err(format!("unknown option --{name}")),
        }
    }
}
