//! The configuration parser: `cascade.toml` text read, validated and, when refused, its
//! issues rendered as `cascade checkconfig` prints them.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A file that is not UTF-8 is refused before parsing (`config::load`).
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A directory that does not exist, so relative paths in the text name no real file.
    match cascade::config::parse(text, Path::new("/nonexistent/cascade-fuzz/cascade.toml")) {
        Ok(config) => drop(format!("{config:?}")),
        Err(e) => drop(e.to_string()),
    }
});
