//! The security headers every response carries, whatever answered it (the API, the SPA, a
//! hook, a badge, a feed, an error, a 404): a Content-Security-Policy that runs scripts and
//! styles only from this origin and lets no page frame ours, `nosniff`, a same-origin
//! referrer, and HSTS on responses sent over TLS. What the policy allows is decided here; the
//! API's docs, which poem-openapi writes inline, are served as files instead (`api_docs`).
//! Every 503 also carries `Retry-After`.
//! A page that runs no script at all may set a policy of its own (`/json/help`, whose style
//! is inline, sets `default-src 'none'`): it is kept, and framing is forbidden in it too.

use poem::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, RETRY_AFTER, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use poem::http::uri::Scheme;
use poem::http::{HeaderMap, HeaderValue};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The policy. Scripts, styles, fonts and fetches come from this origin only, and no inline
/// script runs (`script-src 'self'` without `'unsafe-inline'`); images may also be `data:`
/// URLs (the SPA's empty favicon); nothing may frame a page (clickjacking), `<base>` may not
/// move relative links elsewhere, and forms post only here.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// HSTS for a year, sent only over TLS: a browser ignores it over plain HTTP, and a master
/// reachable by plain HTTP only must not be pinned to an HTTPS it does not serve.
pub const HSTS_VALUE: &str = "max-age=31536000";

/// Sets the security headers on `headers`; `tls` says whether the response goes out over TLS.
pub fn apply(headers: &mut HeaderMap, tls: bool) {
    let own = headers.get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).and_then(scriptless_policy);
    let policy = own.unwrap_or_else(|| HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE));
    headers.insert(CONTENT_SECURITY_POLICY, policy);
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if tls {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS_VALUE));
    } else {
        headers.remove(STRICT_TRANSPORT_SECURITY);
    }
}

/// A handler's own policy, kept when it lets no script run at all (`default-src 'none'` and
/// no `script-src`), with `frame-ancestors 'none'` added; `None` for any other policy, which
/// the common one replaces.
fn scriptless_policy(policy: &str) -> Option<HeaderValue> {
    let directives: Vec<&str> = policy.split(';').map(str::trim).filter(|d| !d.is_empty()).collect();
    let name = |d: &&str| d.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
    let scriptless = directives.iter().any(|d| d.eq_ignore_ascii_case("default-src 'none'"))
        && !directives.iter().any(|d| matches!(name(d).as_str(), "script-src" | "script-src-elem" | "script-src-attr"));
    if !scriptless {
        return None;
    }
    let mut kept: Vec<&str> = directives.into_iter().filter(|d| name(d) != "frame-ancestors").collect();
    kept.push("frame-ancestors 'none'");
    HeaderValue::from_str(&kept.join("; ")).ok()
}

/// Seconds a client is asked to wait (`Retry-After`) before trying a request answered 503
/// again: the database or a peer was out of reach, which a restart mends within seconds.
pub const RETRY_AFTER_SECS: &str = "5";

/// Middleware around the whole surface: serves `req` and sets the headers on whatever
/// answered it, errors included; a 503 also says when to try again.
pub async fn secure<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let tls = *req.scheme() == Scheme::HTTPS;
    let mut resp = match next.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    apply(resp.headers_mut(), tls);
    if resp.status() == poem::http::StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().entry(RETRY_AFTER).or_insert(HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let script = CONTENT_SECURITY_POLICY_VALUE.split(';').map(str::trim).find(|d| d.starts_with("script-src"));
        assert_eq!(script, Some("script-src 'self'"));
        assert!(!CONTENT_SECURITY_POLICY_VALUE.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY_VALUE.ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn a_scriptless_page_keeps_its_own_policy_and_cannot_be_framed() {
        let mut headers = HeaderMap::new();
        let own = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *";
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(own));
        apply(&mut headers, false);
        assert_eq!(
            headers[CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        );
        for other in ["default-src 'none'; script-src 'unsafe-inline'", "default-src *", "script-src 'self'"] {
            headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(other));
            apply(&mut headers, false);
            assert_eq!(headers[CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY_VALUE, "{other}");
        }
    }

    #[test]
    fn hsts_goes_out_over_tls_only() {
        let mut headers = HeaderMap::new();
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=1"));
        apply(&mut headers, false);
        assert!(headers.get(STRICT_TRANSPORT_SECURITY).is_none());
        apply(&mut headers, true);
        assert_eq!(headers[STRICT_TRANSPORT_SECURITY], HSTS_VALUE);
        assert_eq!(headers[X_FRAME_OPTIONS], "DENY");
    }
}
