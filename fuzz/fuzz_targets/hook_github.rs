//! The `github` dialect: push and pull request events, as JSON or as a form's `payload`,
//! with and without a secret (SHA-256, and SHA-1 when allowed).
#![no_main]

use cascade::config::GithubDialect;
use cascade::hooks::github;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let req = cascade_fuzz::hook_request(data);
    let plain = GithubDialect::default();
    let sha1 = GithubDialect { allow_sha1: true, codebase: Some("fuzz".into()), ..GithubDialect::default() };
    for secret in cascade_fuzz::SECRETS {
        let _ = github::parse(&req, &plain, secret);
        let _ = github::parse(&req, &sha1, secret);
    }
});
