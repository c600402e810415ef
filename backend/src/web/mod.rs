//! What the master serves besides the JSON API and the hooks: the SPA and its assets,
//! `/robots.txt`, the `public_html` folder, the access log, the security headers on every
//! answer, the API's docs, and the pages made for other programs: the RSS and Atom feeds,
//! the status images (README badges and 0.8.9's `/png`), the builders' plots, 0.8.9's
//! `/json` status tree and the Prometheus `/metrics`. Those
//! pages are guarded by `[authz] view` like the API; they answer errors as plain text,
//! except `/json`, whose errors are JSON as the API's.

pub mod access_log;
pub mod api_docs;
pub mod badges;
mod charts;
pub mod feeds;
mod font;
pub mod headers;
pub mod images;
pub mod json;
pub mod markup;
pub mod metrics;
pub mod plots;
pub mod public_html;
pub mod request_id;
pub mod slow_clients;
pub mod spa;
pub mod status_png;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Request, Response};

/// A request's query arguments, decoded, in order (a list repeats its argument).
fn query_args(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default()
}

/// The first non-empty value of argument `name`.
fn arg<'a>(args: &'a [(String, String)], name: &str) -> Option<&'a str> {
    args.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
}

/// A plain-text answer.
fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    Response::builder().status(status).content_type("text/plain; charset=utf-8").body(text.into())
}

/// The answer to what should not have failed: logged, and a generic 500.
fn failed(what: &str, error: &dyn std::fmt::Debug) -> Response {
    tracing::error!(error = ?error, "{what} failed");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the master's log\n")
}

/// A strong entity tag computed from a body.
fn etag_of(body: &[u8]) -> HeaderValue {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(body);
    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12]))).unwrap_or(HeaderValue::from_static("\"\""))
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
fn not_modified(req: &Request, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else { return false };
    req.headers().get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
        },
    )
}

/// `head` answered with `body` and its entity tag, or 304 without the body when the client
/// has it already.
fn conditional(
    req: &Request,
    status: StatusCode,
    head: poem::ResponseBuilder,
    body: bytes::Bytes,
    etag: HeaderValue,
) -> Response {
    if status == StatusCode::OK && not_modified(req, &etag) {
        return head.status(StatusCode::NOT_MODIFIED).header(header::ETAG, etag).finish();
    }
    head.status(status).header(header::ETAG, etag).body(body)
}

/// Whether the files a configuration's web server uses can be used.
pub fn check_files(config: &crate::config::Config) -> Result<(), String> {
    if let Some(dir) = &config.web.public_html
        && !dir.is_dir()
    {
        return Err(format!("public_html {} is not a directory ([web] public_html)", dir.display()));
    }
    if let Some(log) = &config.web.access_log {
        access_log::AccessLog::check(log)
            .map_err(|e| format!("cannot open the access log {} ([web] access_log): {e}", log.path.display()))?;
    }
    for l in &config.web.listen {
        if let Some(files) = &l.tls {
            files.load().map_err(|e| format!("[web] listen {}: {e}", l.addr))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_stars() {
        let etag = etag_of(b"body");
        assert!(etag.to_str().unwrap().starts_with('"'));
        assert_ne!(etag, etag_of(b"other"));
        let req = |value: &str| Request::builder().header(header::IF_NONE_MATCH, value).finish();
        assert!(not_modified(&req(etag.to_str().unwrap()), &etag));
        assert!(not_modified(&req(&format!("\"x\", W/{}", etag.to_str().unwrap())), &etag));
        assert!(not_modified(&req("*"), &etag));
        assert!(!not_modified(&req("\"x\""), &etag));
        assert!(!not_modified(&Request::builder().finish(), &etag));
    }

    #[test]
    fn arguments_are_decoded_and_empty_ones_ignored() {
        let req = Request::builder().uri(poem::http::Uri::from_static("/x?a=&a=1&b=%3Cx%26%3E&a=2")).finish();
        let args = query_args(&req);
        assert_eq!(arg(&args, "a"), Some("1"));
        assert_eq!(arg(&args, "b"), Some("<x&>"));
        assert_eq!(arg(&args, "c"), None);
    }
}
