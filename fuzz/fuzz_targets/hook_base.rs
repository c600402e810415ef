//! The `base` dialect: a form or a JSON object, field by field.
#![no_main]

use cascade::hooks::base;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = base::parse(&cascade_fuzz::hook_request(data));
});
