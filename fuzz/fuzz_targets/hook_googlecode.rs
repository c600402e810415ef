//! The `googlecode` dialect: post-commit notifications, with and without an HMAC-MD5 key.
#![no_main]

use cascade::config::GooglecodeDialect;
use cascade::hooks::googlecode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let req = cascade_fuzz::hook_request(data);
    let cfg = GooglecodeDialect { secret_key: None, branch: "default".into() };
    for secret in cascade_fuzz::SECRETS {
        let _ = googlecode::parse(&req, &cfg, secret);
    }
});
