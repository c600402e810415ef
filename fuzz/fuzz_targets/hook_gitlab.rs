//! The `gitlab` dialect: push, tag push, merge request and system hooks, with and without
//! a token.
#![no_main]

use cascade::config::GitlabDialect;
use cascade::hooks::gitlab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let req = cascade_fuzz::hook_request(data);
    for secret in cascade_fuzz::SECRETS {
        let _ = gitlab::parse(&req, &GitlabDialect::default(), secret);
    }
});
