//! Who may change tasks, and from where: every request that changes
//! something passes [`check`] before it reads its form.
//!
//! - A dashboard without a token, or made read-only, changes nothing.
//! - The token comes as `Authorization: Bearer TOKEN`, or as the password
//!   of `Authorization: Basic` (any user name, which the audit log then
//!   names): a browser asks for it once and sends it after. A missing or
//!   wrong token is answered `401` with a Basic challenge.
//! - Cross-site requests are refused: the form must carry the dashboard's
//!   own request token (rendered into its pages, which another site cannot
//!   read), and an `Origin` header, when the browser sends one, must be
//!   this host's. A browser sends Basic credentials to a site whatever
//!   page the request comes from, so the token alone would not do.
//!
//! The token is compared in constant time and never logged.

use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;

use crate::Settings;

/// Why a change was refused, as the response says it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Read-only, or no token configured: `403`.
    ReadOnly,
    /// No token, or a wrong one: `401` with a Basic challenge.
    Unauthorized,
    /// The request came from another site: `403`.
    CrossSite(&'static str),
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
            Refusal::ReadOnly | Refusal::CrossSite(_) => StatusCode::FORBIDDEN,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::ReadOnly => "This dashboard is read-only: it changes nothing. \
                                  (A dashboard changes tasks only when given a token.)"
                .to_owned(),
            Refusal::Unauthorized => "Changes need the dashboard's token \
                                      (as the password when the browser asks, or as a bearer token)."
                .to_owned(),
            Refusal::CrossSite(why) => format!("Refused as a cross-site request: {why}."),
        }
    }
}

/// Checks a request that changes something; who made it (for the audit
/// log) when it may go ahead. `csrf` is the form's request token.
pub(crate) fn check(
    settings: &Settings,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<String, Refusal> {
    let Some(token) = settings.token.as_deref().filter(|_| !settings.read_only()) else {
        return Err(Refusal::ReadOnly);
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err(Refusal::CrossSite("the request's Origin is not this host"));
        }
    }
    match csrf {
        Some(given) if constant_time_eq(given.as_bytes(), settings.csrf.as_bytes()) => {}
        _ => {
            return Err(Refusal::CrossSite(
                "the form does not carry this dashboard's request token",
            ))
        }
    }
    let _ = token;
    signed_in(settings, headers)
}

/// Who the request's credentials name, when they carry the token: for
/// the sign-in page, which changes nothing and so needs no request token.
pub(crate) fn signed_in(settings: &Settings, headers: &HeaderMap) -> Result<String, Refusal> {
    let Some(token) = settings.token.as_deref().filter(|_| !settings.read_only()) else {
        return Err(Refusal::ReadOnly);
    };
    let (who, given) = credentials(headers).ok_or(Refusal::Unauthorized)?;
    match constant_time_eq(given.as_bytes(), token.as_bytes()) {
        true => Ok(who),
        false => Err(Refusal::Unauthorized),
    }
}

/// The user name (or `token` for a bearer token) and the token given.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(("token".to_owned(), rest.trim().to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        let user = match user.trim() {
            "" => "token",
            user => user,
        };
        return Some((user.to_owned(), password.to_owned()));
    }
    None
}

/// Equality whose time does not depend on where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(token: Option<&str>, read_only: bool) -> Settings {
        let mut settings = Settings::new();
        settings.token = token.map(str::to_owned);
        settings.read_only = read_only;
        settings
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().unwrap());
        }
        map
    }

    fn basic(user: &str, password: &str) -> String {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    }

    #[test]
    fn a_change_needs_a_token_the_request_token_and_this_host() {
        let s = settings(Some("s3cret"), false);
        let csrf = s.csrf.clone();
        let ok = headers(&[
            (header::AUTHORIZATION, &basic("alice", "s3cret")),
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080"),
        ]);
        assert_eq!(check(&s, &ok, Some(&csrf)), Ok("alice".to_owned()));
        let bearer = headers(&[(header::AUTHORIZATION, "Bearer s3cret")]);
        assert_eq!(check(&s, &bearer, Some(&csrf)), Ok("token".to_owned()));
        let wrong = headers(&[(header::AUTHORIZATION, &basic("alice", "guess"))]);
        assert_eq!(check(&s, &wrong, Some(&csrf)), Err(Refusal::Unauthorized));
        assert_eq!(
            check(&s, &HeaderMap::new(), Some(&csrf)),
            Err(Refusal::Unauthorized)
        );
        assert!(matches!(check(&s, &ok, None), Err(Refusal::CrossSite(_))));
        assert!(matches!(
            check(&s, &ok, Some("forged")),
            Err(Refusal::CrossSite(_))
        ));
        let elsewhere = headers(&[
            (header::AUTHORIZATION, &basic("alice", "s3cret")),
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(matches!(
            check(&s, &elsewhere, Some(&csrf)),
            Err(Refusal::CrossSite(_))
        ));
    }

    #[test]
    fn without_a_token_or_read_only_nothing_changes() {
        let ok = headers(&[(header::AUTHORIZATION, "Bearer s3cret")]);
        let none = settings(None, false);
        assert_eq!(
            check(&none, &ok, Some(&none.csrf.clone())),
            Err(Refusal::ReadOnly)
        );
        let read_only = settings(Some("s3cret"), true);
        assert_eq!(
            check(&read_only, &ok, Some(&read_only.csrf.clone())),
            Err(Refusal::ReadOnly)
        );
    }
}
