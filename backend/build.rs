//! Build-time preparation of the crate.
//!
//! The SPA is embedded from `frontend/dist` (see `src/web/spa.rs`). A debug binary reads it
//! from disk at run time, checking each file against the folder's canonical path as it was
//! when the crate compiled; compiled before the frontend was ever built, that path could
//! not be resolved and the binary would never serve the SPA. Making sure the folder exists
//! keeps a debug binary serving whatever `npm run build` writes there later.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dist = Path::new(&manifest).join("../frontend/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=cannot create {}: {e}", dist.display());
    }
}
