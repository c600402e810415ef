//! The htpasswd reader: the file's lines, then every hash checked against a password.
#![no_main]

use cascade::auth::htpasswd;
use libfuzzer_sys::fuzz_target;

/// Whether checking `hash` would be slow by design: bcrypt and Argon2 read their cost from
/// the hash, and the file is the administrator's. Fuzzing high costs would find only that.
fn costly(hash: &str) -> bool {
    if let Some(rest) = hash.strip_prefix("$2a$").or(hash.strip_prefix("$2b$")).or(hash.strip_prefix("$2y$")) {
        return rest.get(..2).is_none_or(|cost| cost.parse::<u32>().is_ok_and(|c| c > 5));
    }
    hash.starts_with("$argon2")
}

fuzz_target!(|data: &[u8]| {
    // `Htpasswd` reads the file with `read_to_string`: a file that is not UTF-8 has no users.
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (user, hash) in htpasswd::parse(text) {
        assert!(!user.contains(':') && !user.contains('\n'), "user {user:?}");
        if !costly(&hash) {
            let _ = htpasswd::verify("secret", &hash);
            let _ = htpasswd::verify(&user, &hash);
        }
    }
});
