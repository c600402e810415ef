//! An Apache htpasswd file as a password store: bcrypt, apr1 (MD5), `{SHA}` and crypt
//! hashes, re-read whenever the file changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The parsed file and when it was last modified.
#[derive(Debug, Default)]
struct Cached {
    modified: Option<SystemTime>,
    users: HashMap<String, String>,
}

/// An htpasswd file.
#[derive(Debug)]
pub struct Htpasswd {
    path: PathBuf,
    cached: Mutex<Cached>,
}

impl Htpasswd {
    /// A file that will be read on first use.
    pub fn new(path: PathBuf) -> Htpasswd {
        Htpasswd { path, cached: Mutex::new(Cached::default()) }
    }

    /// The hash stored for `user`, reading the file again if it changed since last time.
    pub fn hash_of(&self, user: &str) -> Option<String> {
        self.with_users(|users| users.get(user).cloned())
    }

    /// One of the file's hashes (the first user's by name), to verify an unknown name
    /// against: it costs what the file's own kind of hash costs (bcrypt's rounds, say), so
    /// timing does not tell which names the file holds.
    pub fn sample_hash(&self) -> Option<String> {
        self.with_users(|users| users.iter().min_by(|a, b| a.0.cmp(b.0)).map(|(_, h)| h.clone()))
    }

    /// Runs `f` on the users, reading the file again if it changed since last time.
    fn with_users<T>(&self, f: impl FnOnce(&HashMap<String, String>) -> Option<T>) -> Option<T> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cached = self.cached.lock().ok()?;
        if modified != cached.modified || modified.is_none() {
            let text = std::fs::read_to_string(&self.path).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read the htpasswd file");
                String::new()
            });
            cached.users = parse(&text);
            cached.modified = modified;
        }
        f(&cached.users)
    }
}

/// `user:hash` lines; blank lines and `#` comments are skipped.
pub fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(u, h)| (u.to_owned(), h.to_owned()))
        .collect()
}

/// Whether `password` matches an htpasswd hash of any supported kind.
pub fn verify(password: &str, hash: &str) -> bool {
    // Every kind is printable ASCII. The crypt library panics on some other characters (a
    // control character or U+0080 in a bcrypt salt), so a typo in the file would be a crash.
    if !hash.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    if let Some(sha) = hash.strip_prefix("{SHA}") {
        let digest = Sha1::digest(password.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
        return crate::auth::constant_time_eq(encoded.as_bytes(), sha.as_bytes());
    }
    if hash.starts_with("$apr1$") {
        return crypt3_rs::crypt::apr1::verify(password, hash);
    }
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        return crypt3_rs::crypt::bcrypt::verify(password, hash);
    }
    if hash.starts_with("$argon2") {
        return crate::auth::password::verify(password, hash);
    }
    crypt3_rs::unix::verify(password, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_hash_verifies() {
        // The password "secret" hashed by other tools: Python's crypt (bcrypt, DES),
        // `openssl passwd -apr1` and `openssl dgst -sha1 | base64`.
        let bcrypt = "$2b$12$vAjigT9GEThiV/S0xsx2OeG2frBrFI.9PRojDoZZ5xgziRAWwL4Ni";
        let apr1 = "$apr1$RandSalt$n5L593o12tp4kEwOuYYAm1";
        let sha = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=";
        let des = "abNANd1rDfiNc";
        for hash in [bcrypt, apr1, sha, des] {
            assert!(verify("secret", hash), "{hash}");
            assert!(!verify("Secret", hash), "{hash}");
        }
        assert!(!verify("secret", "garbage"));
    }

    #[test]
    fn a_hash_with_characters_no_kind_uses_is_refused_without_panicking() {
        // Found by the `htpasswd` fuzz target: a control character in a bcrypt salt
        // overflowed (a panic in debug builds), and U+0080 indexed past a table.
        for hash in [
            "$2b$04$vAjigT9GEThIV/S0xsx2\x0feG2frBrFI.9PRojDoZZ5xgziRAWwL4Ni",
            "$2b$04$vAjigT9GEThIV/S0xsx2\u{80}G2frBrFI.9PRojDoZZ5xgziRAWwL4Ni",
            "ab\u{80}NANd1rDfiNc",
            "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\r",
        ] {
            assert!(!verify("secret", hash), "{hash:?}");
        }
    }

    #[test]
    fn the_file_is_reread_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.htpasswd");
        std::fs::write(&path, "# users\nann:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n\n").unwrap();
        let file = Htpasswd::new(path.clone());
        assert!(file.hash_of("ann").is_some());
        assert!(file.hash_of("bob").is_none());
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(file.hash_of("bob").is_some());
        assert!(file.hash_of("ann").is_none());
    }
}
