//! The `gitorious` dialect: a push as a form's `payload` or as JSON.
#![no_main]

use cascade::config::GitoriousDialect;
use cascade::hooks::gitorious;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gitorious::parse(&cascade_fuzz::hook_request(data), &GitoriousDialect::default(), None);
});
