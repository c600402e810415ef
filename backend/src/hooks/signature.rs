//! Checks of hook signatures and tokens, all in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Whether `signature` (hex, optionally after a `sha256=` prefix) is the HMAC-SHA256 of
/// `body` under `secret`.
pub fn hmac_sha256_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let hex_sig = signature.trim().strip_prefix("sha256=").unwrap_or(signature.trim());
    let Ok(expected) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether `signature` (hex, optionally after `sha1=`) is the HMAC-SHA1 of `body`.
pub fn hmac_sha1_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let hex_sig = signature.trim().strip_prefix("sha1=").unwrap_or(signature.trim());
    let Ok(expected) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether `signature` (hex) is the HMAC-MD5 of `body` (Google Code's post-commit key).
pub fn hmac_md5_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else { return false };
    let Ok(mut mac) = Hmac::<md5::Md5>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Compares a token in constant time.
pub fn token_matches(expected: &str, given: &str) -> bool {
    crate::auth::constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// HMAC-SHA256 of `body` as `sha256=<hex>`, for tests and clients.
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_only_their_body_and_secret() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(hmac_sha256_matches(b"It's a Secret to Everybody", b"Hello, World!", sig));
        assert!(!hmac_sha256_matches(b"It's a Secret to Everybody", b"Hello, World?", sig));
        assert!(!hmac_sha256_matches(b"wrong", b"Hello, World!", sig));
        assert!(!hmac_sha256_matches(b"x", b"y", "sha256=nothex"));
        assert_eq!(sign_sha256(b"It's a Secret to Everybody", b"Hello, World!"), sig);
        assert!(token_matches("abc", "abc") && !token_matches("abc", "abd") && !token_matches("abc", ""));
    }
}
