//! Request ids: every HTTP request gets one, taken from a sane incoming `X-Request-Id` or
//! made here. It is a field of the request's tracing span, so every log line written while
//! the request is handled carries it; it is sent back in the `X-Request-Id` response header
//! and is readable through [`current`] while the request is handled, so API error bodies can
//! name it. This middleware also logs each response, as poem's `Tracing` would.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

/// The header that carries the id both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Whether an incoming id may be reused: short and made of characters that need no quoting
/// in a log line or a header.
pub fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new id: 16 hex digits, random so that ids from several masters do not collide.
pub fn fresh() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Serves `req` inside a span carrying its request id, and logs the response.
pub async fn trace<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let id = req.header(HEADER).filter(|id| is_sane(id)).map_or_else(fresh, str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        remote_addr = %req.remote_addr(),
        method = %req.method(),
        uri = %req.original_uri(),
    );
    let started = Instant::now();
    let handled = REQUEST_ID.scope(id.clone(), async move {
        let mut resp = match next.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => {
                tracing::info!(status = %err.status(), error = %err, "error");
                err.into_response()
            }
        };
        // A line for each answer that went wrong; the others at debug level (a line per
        // request costs a busy master more than serving many of them; `[web] access_log`
        // records every request, and CASCADE_LOG=info,cascade::web=debug shows them here).
        if resp.status().is_client_error() || resp.status().is_server_error() {
            tracing::info!(status = %resp.status(), duration = ?started.elapsed(), "response");
        } else {
            tracing::debug!(status = %resp.status(), duration = ?started.elapsed(), "response");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(HEADER, value);
        }
        resp
    });
    Ok(handled.instrument(span).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_short_and_plain() {
        assert!(is_sane("abc-123_X.y"));
        assert!(is_sane(&fresh()));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(65)));
        assert!(!is_sane("a b"));
        assert!(!is_sane("a\"b"));
        assert!(!is_sane("é"));
    }

    #[tokio::test]
    async fn current_is_the_id_only_inside_the_request() {
        assert_eq!(current(), None);
        let seen = REQUEST_ID.scope("r1".to_owned(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("r1"));
    }
}
