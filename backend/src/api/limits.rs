//! What the master reads of a request: bodies up to [`MAX_BODY`] bytes and JSON nested at
//! most [`MAX_DEPTH`] levels, on every route; and the API's answer to a request it could not
//! read (malformed, wrongly typed, too large or too deep), in the one error shape, with the
//! reason, before any handler runs, so nothing is changed.

use poem::http::header;
use poem::{Endpoint, IntoResponse, Request, Response};

use super::ApiError;

/// The largest request body read, on any route (the change hooks' payloads included).
pub const MAX_BODY: usize = 1024 * 1024;

/// The deepest nesting of arrays and objects read in a JSON body.
pub const MAX_DEPTH: usize = 64;

/// Whether `body`, read as JSON, opens more than `max` arrays and objects inside each other.
/// Brackets inside strings do not count. Malformed JSON is left to the parser, which says
/// what is wrong with it.
pub fn too_deep(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = body.get(at) {
        at += 1;
        match b {
            // Most of a payload is strings: skip to their end a word at a time.
            b'"' => at = string_end(body, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Where the string whose text starts at `from` ends: just after its closing quote (the end
/// of `body` if it has none).
fn string_end(body: &[u8], mut from: usize) -> usize {
    while let Some(found) = memchr::memchr2(b'"', b'\\', &body[from.min(body.len())..]) {
        let at = from + found;
        if body[at] == b'"' {
            return at + 1;
        }
        // A backslash escapes the byte after it.
        from = at + 2;
    }
    body.len()
}

/// Whether `body` is meant as JSON: it opens an array or an object.
pub fn looks_like_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'[' | b'{'))
}

/// The refusal of a JSON body nested too deeply.
pub fn too_deep_message() -> String {
    format!("JSON nested deeper than {MAX_DEPTH} levels")
}

/// Whether the request says its body is longer than [`MAX_BODY`].
fn declared_too_large(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64)
}

/// Middleware around everything: a body declared larger than [`MAX_BODY`] is refused with
/// 413 before it is read. Bodies sent without a length are limited where they are read; the
/// change hooks refuse theirs themselves, so that the refusal is in their delivery log.
pub async fn refuse_oversized<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if declared_too_large(&req) && !req.uri().path().starts_with("/change_hook/") {
        return Ok(ApiError::too_large(MAX_BODY).into_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// Middleware around the API: reads the body (at most [`MAX_BODY`] bytes) and refuses JSON
/// nested deeper than [`MAX_DEPTH`] levels, then answers every request poem-openapi could
/// not read (a malformed or wrongly typed body or parameter, an unknown path) in the API's
/// error shape.
pub async fn guard_api<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if declared_too_large(&req) {
        return Ok(ApiError::too_large(MAX_BODY).into_response());
    }
    let body = match req.take_body().into_bytes_limit(MAX_BODY).await {
        Ok(body) => body,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(ApiError::too_large(MAX_BODY).into_response()),
        Err(e) => return Ok(ApiError::bad_request(format!("cannot read the request body: {e}")).into_response()),
    };
    let json = req.header(header::CONTENT_TYPE).is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    if json && too_deep(&body, MAX_DEPTH) {
        return Ok(ApiError::bad_request(too_deep_message()).into_response());
    }
    req.set_body(body);
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        // An operation's own answer (an `ApiError` or another documented response).
        Err(e) if e.is_from_response() => Ok(e.into_response()),
        Err(e) => Ok(super::error::unreadable(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_past_the_limit_is_too_deep_and_up_to_it_is_not() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(!too_deep(nested(64).as_bytes(), 64));
        assert!(too_deep(nested(65).as_bytes(), 64));
        assert!(too_deep(nested(10_000).as_bytes(), 64));
        assert!(too_deep(r#"{"a":{"b":{"c":1}}}"#.as_bytes(), 2));
        assert!(!too_deep(r#"{"a":{"b":1},"c":{"d":2}}"#.as_bytes(), 2));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(r#"{{"a":"{}","b":"\"[[["}}"#, "[".repeat(1000));
        assert!(!too_deep(text.as_bytes(), 1));
        // An escaped backslash ends no string early and hides no quote: the arrays after count.
        assert!(too_deep(br#"{"a":"x\\","b":[[1]]}"#, 2));
        assert!(!too_deep(br#"{"a":"x\\\"[[[","b":[1]}"#, 2));
        // Cut short inside a string or an escape: left to the parser.
        assert!(!too_deep(br#"{"a":"[[[\"#, 1));
        assert!(!too_deep(br#"{"a":"[[["#, 1));
    }
}
