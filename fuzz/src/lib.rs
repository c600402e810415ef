//! What the fuzz targets share: turning the fuzzer's bytes into a hook request.
//!
//! A hook input reads like a small HTTP message, so seeds stay legible and the fuzzer can
//! reach every header and query argument a dialect looks at:
//!
//! ```text
//! X-GitHub-Event: push
//! Content-Type: application/json
//! ?project=demo
//!
//! {"ref": "refs/heads/main", ...}
//! ```
//!
//! Lines before the first blank line are headers (`Name: value`) or query arguments
//! (`?key=value`); the rest is the body. Input without a blank line is all body.

use std::collections::HashMap;

use bytes::Bytes;
use cascade::hooks::HookRequest;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The request `data` describes.
pub fn hook_request(data: &[u8]) -> HookRequest {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (&data[..0], data),
    };
    let mut headers = HeaderMap::new();
    let mut query: HashMap<String, String> = HashMap::new();
    for line in head.split(|b| *b == b'\n') {
        if let Some(arg) = line.strip_prefix(b"?") {
            let arg = String::from_utf8_lossy(arg);
            let (key, value) = arg.split_once('=').unwrap_or((&arg, ""));
            // Repeated arguments are joined by newlines, as the router does.
            query
                .entry(key.to_owned())
                .and_modify(|v| {
                    v.push('\n');
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_owned());
            continue;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(line[colon + 1..].trim_ascii()))
        else {
            continue;
        };
        headers.append(name, value);
    }
    HookRequest { headers, query, body: Bytes::copy_from_slice(body) }
}

/// The secrets each dialect is fuzzed with: none (the payload is parsed), and one that the
/// fuzzer must match (the signature checks run on its headers).
pub const SECRETS: [Option<&str>; 2] = [None, Some("fuzz")];
