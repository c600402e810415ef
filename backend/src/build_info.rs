//! What this binary was built from: Cascade's version and the versions of the main libraries
//! it uses (recorded by `build.rs` from the lock files), for the about page.

/// Cascade's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

include!(concat!(env!("OUT_DIR"), "/libraries.rs"));
