//! The `gerrit` dialect: its webhooks plugin's events, with and without a `git_url`.
#![no_main]

use cascade::config::GerritDialect;
use cascade::hooks::gerrit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let req = cascade_fuzz::hook_request(data);
    let _ = gerrit::parse(&req, &GerritDialect::default());
    let cfg = GerritDialect { git_url: Some("ssh://gerrit.example.org:29418".into()), codebase: Some("fuzz".into()) };
    let _ = gerrit::parse(&req, &cfg);
});
