//! What every request goes through: the session cookies (the partner
//! acting and the CSRF token), the CSRF check of every form, the security
//! headers, and an access log that never shows a link's token
//! (R-TOKEN-5).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mci_core::AddWarning;
use mci_examples::{DemoPartner, partners};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The cookie naming the partner the demo acts for.
pub(crate) const PARTNER_COOKIE: &str = "mci_partner";
/// The cookie carrying a one-time notice to the next page (what the sweep
/// did).
const NOTICE_COOKIE: &str = "mci_notice";
/// The cookie carrying the warnings of an add or claim to the page that
/// follows it (R-LIST-5), once.
const WARNINGS_COOKIE: &str = "mci_warnings";
/// The cookies that carry something to the next page only.
const FLASH_COOKIES: [&str; 2] = [NOTICE_COOKIE, WARNINGS_COOKIE];
/// The longest value a flash cookie is given: a browser keeps about 4 KiB
/// of one cookie, its name and attributes included.
const FLASH_LIMIT: usize = 3_500;
/// The cookie holding the session's CSRF token (double submit).
const CSRF_COOKIE: &str = "mci_csrf";
/// The form field (or, for file uploads, the query parameter) that must
/// repeat the CSRF cookie.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// The largest form read to find the CSRF field; uploads are multipart and
/// carry the token in the query instead.
const FORM_LIMIT: usize = 256 * 1024;

/// Who the request acts for, and the token its forms must carry.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The partner chosen in the header's switcher.
    pub(crate) partner: DemoPartner,
    /// The CSRF token every form repeats.
    pub(crate) csrf: String,
    /// A notice for this page, shown once.
    pub(crate) notice: Option<String>,
    /// The warnings of the add or claim that led to this page, shown once
    /// (R-LIST-5).
    pub(crate) added: Option<AddedWarnings>,
}

/// What an add or claim answered with besides its nominations, carried to
/// the page that follows it (R-LIST-5): a warning, never a refusal, so the
/// nominations exist and the partner reads why to look at them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AddedWarnings {
    /// The friendly name of what was added.
    pub(crate) friendly_name: String,
    /// The warnings of the answer, as many as the cookie holds.
    pub(crate) warnings: Vec<AddWarning>,
    /// How many more the answer had than the cookie holds.
    #[serde(default)]
    pub(crate) more: usize,
}

/// `response` with the cookie `name` carrying `value` to the next page,
/// which shows it once.
fn flash(mut response: Response, name: &str, value: &str) -> Response {
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `response` with `notice` for the next page.
pub(crate) fn with_notice(response: Response, notice: &str) -> Response {
    flash(response, NOTICE_COOKIE, &percent_encode(notice))
}

/// `response` with the warnings of an add or claim for the next page
/// (R-LIST-5): as many as a cookie holds, and how many more there were.
pub(crate) fn with_added_warnings(
    response: Response,
    friendly_name: &str,
    warnings: &[AddWarning],
) -> Response {
    let mut added = AddedWarnings {
        friendly_name: friendly_name.to_owned(),
        warnings: warnings.to_vec(),
        more: 0,
    };
    loop {
        let encoded = serde_json::to_string(&added).map(|json| percent_encode(&json));
        match encoded {
            Ok(value) if value.len() <= FLASH_LIMIT => {
                return flash(response, WARNINGS_COOKIE, &value);
            }
            _ if added.warnings.pop().is_some() => added.more += 1,
            _ => return response,
        }
    }
}

/// The request's path as the access log shows it: the token of a consent
/// or survey link is replaced, and the query (which may hold the CSRF
/// token) left out (R-TOKEN-5).
pub(crate) fn logged_path(path: &str) -> String {
    for prefix in ["/consent/", "/survey/"] {
        if path.starts_with(prefix) && path.len() > prefix.len() {
            return format!("{prefix}[token]");
        }
    }
    path.to_owned()
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A fresh CSRF token: 128 bits from the operating system, in hex.
fn fresh_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the request comes from a page of this site: an `Origin` header,
/// when the browser sends one, must be this host's; `Sec-Fetch-Site`, when
/// sent, must say same-origin. A SameSite cookie alone is not enough.
///
/// Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` with
/// a form's POST; that passes only with `Sec-Fetch-Site: same-origin`,
/// which no page of another site can make a browser send.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let fetch_site = headers.get("sec-fetch-site").map(|s| s.to_str());
    let fetch_same = matches!(fetch_site, Some(Ok("same-origin")));
    let origin_ok = match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        None => true,
        Some(Ok("null")) => fetch_same,
        Some(Ok(origin)) => host.is_some_and(|host| origin == format!("http://{host}")),
        Some(Err(_)) => false,
    };
    let fetch_ok = fetch_site.is_none() || fetch_same;
    origin_ok && fetch_ok
}

/// The value of `name` in an `application/x-www-form-urlencoded` text.
pub(crate) fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

/// Decodes `%XX` escapes and `+` of a form value.
pub(crate) fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes `value` for a URL's query or path segment.
pub(crate) fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn forbidden(why: &'static str) -> Response {
    (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response()
}

/// The middleware: session, CSRF check, headers and the access log.
pub(crate) async fn guard(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = logged_path(request.uri().path());
    let response = checked(request, next).await;
    eprintln!(
        "{method} {path} {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

async fn checked(request: Request, next: Next) -> Response {
    let Ok([northwind, fabrikam]) = partners() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let headers = request.headers();
    let partner = match cookie(headers, PARTNER_COOKIE) {
        Some("fabrikam") => fabrikam,
        _ => northwind,
    };
    let notice = cookie(headers, NOTICE_COOKIE)
        .map(percent_decode)
        .filter(|n| !n.is_empty());
    // A value that does not parse was not written by an add: not shown,
    // and cleared like any other.
    let added = cookie(headers, WARNINGS_COOKIE)
        .and_then(|value| serde_json::from_str(&percent_decode(value)).ok());
    let flashed: Vec<&str> = FLASH_COOKIES
        .into_iter()
        .filter(|name| cookie(headers, name).is_some_and(|value| !value.is_empty()))
        .collect();
    let existing = cookie(headers, CSRF_COOKIE)
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let request = if request.method() == Method::POST {
        if !same_origin(request.headers()) {
            return forbidden("the form was not sent from this site");
        }
        let Some(expected) = existing.clone() else {
            return forbidden("no session: reload the page and send the form again");
        };
        match with_token_checked(request, &expected).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    } else {
        request
    };
    let (csrf, new) = match existing {
        Some(token) => (token, false),
        None => match fresh_token() {
            Ok(token) => (token, true),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    let mut request = request;
    request.extensions_mut().insert(Session {
        partner,
        csrf: csrf.clone(),
        notice,
        added,
    });
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Link pages carry tokens in their address: no page tells another
    // site where it came from.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // What this page showed is gone from the next, unless it sets anew.
    for name in flashed {
        let sets = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.as_bytes().starts_with(format!("{name}=").as_bytes()));
        if !sets
            && let Ok(value) = HeaderValue::from_str(&format!(
                "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
            ))
        {
            headers.append(header::SET_COOKIE, value);
        }
    }
    if new
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict"
        ))
    {
        headers.append(header::SET_COOKIE, value);
    }
    response
}

/// The request, once its CSRF token matched `expected`: taken from the
/// form's field, or for a multipart upload from the query.
async fn with_token_checked(request: Request, expected: &str) -> Result<Request, Response> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    if multipart {
        let given = request
            .uri()
            .query()
            .and_then(|q| form_value(q, CSRF_FIELD));
        return if given.as_deref() == Some(expected) {
            Ok(request)
        } else {
            Err(forbidden("the form's CSRF token is missing or wrong"))
        };
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response());
    };
    let given = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|form| form_value(form, CSRF_FIELD));
    if given.as_deref() != Some(expected) {
        return Err(forbidden("the form's CSRF token is missing or wrong"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_token_5_the_log_never_shows_a_links_token() {
        assert_eq!(logged_path("/consent/abcdef"), "/consent/[token]");
        assert_eq!(logged_path("/survey/abcdef"), "/survey/[token]");
        assert_eq!(logged_path("/consent"), "/consent");
        assert_eq!(
            logged_path("/engagements/ai-workshop"),
            "/engagements/ai-workshop"
        );
    }

    #[test]
    fn form_values_are_decoded_and_encoding_round_trips() {
        let form = "a=1&csrf=ab%2Fc+d&b=";
        assert_eq!(form_value(form, "csrf").as_deref(), Some("ab/c d"));
        assert_eq!(form_value(form, "b").as_deref(), Some(""));
        assert_eq!(form_value(form, "c"), None);
        let text = "domain:bücherei-müller.example/x y";
        assert_eq!(percent_decode(&percent_encode(text)), text);
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn r_list_5_the_warnings_of_an_add_fit_their_cookie_and_say_how_many_did_not() {
        let warning = |i: usize| AddWarning::NominatedUnderAnotherId {
            engagement: "ai-workshop".parse().unwrap(),
            customer: mci_core::CustomerId::Tenant(
                format!("00000001-0000-4000-8000-{i:012x}").parse().unwrap(),
            ),
        };
        for count in [1, 100] {
            let warnings: Vec<AddWarning> = (0..count).map(warning).collect();
            let response = with_added_warnings(
                StatusCode::SEE_OTHER.into_response(),
                "Woodgrove",
                &warnings,
            );
            let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
            let value = set
                .strip_prefix("mci_warnings=")
                .and_then(|rest| rest.split(';').next())
                .unwrap();
            assert!(value.len() <= FLASH_LIMIT, "{}", value.len());
            let added: AddedWarnings = serde_json::from_str(&percent_decode(value)).unwrap();
            assert_eq!(added.friendly_name, "Woodgrove");
            assert_eq!(added.warnings, warnings[..added.warnings.len()]);
            assert_eq!(added.warnings.len() + added.more, count);
            assert_eq!(added.more > 0, count == 100);
        }
    }

    #[test]
    fn a_form_from_another_site_is_not_same_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers));
        headers.remove("sec-fetch-site");
        assert!(!same_origin(&headers));
    }
}
