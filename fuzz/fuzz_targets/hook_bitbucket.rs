//! The `bitbucket` dialect: Cloud and Server events, and the old POST service's form, with
//! and without a secret.
#![no_main]

use cascade::config::BitbucketDialect;
use cascade::hooks::bitbucket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let req = cascade_fuzz::hook_request(data);
    for secret in cascade_fuzz::SECRETS {
        let _ = bitbucket::parse(&req, &BitbucketDialect::default(), secret);
    }
});
