//! Build-time preparation of the crate.
//!
//! It records the versions of the libraries the about page names, read from the
//! workspace's Cargo.lock and the SPA's package-lock.json, as `$OUT_DIR/libraries.rs`.
//!
//! And it makes sure `frontend/dist` exists. The SPA is embedded from there (see
//! `src/web/spa.rs`); a debug binary reads it from disk at run time, checking each file
//! against the folder's canonical path as it was when the crate compiled. Compiled before
//! the frontend was ever built, that path could not be resolved and the binary would never
//! serve the SPA; with the folder there, it serves whatever `npm run build` writes later.

use std::path::Path;

/// Crates whose versions the about page shows, in its order.
const CRATES: &[&str] = &["poem", "poem-openapi", "sqlx", "tokio", "libsqlite3-sys", "serde_json", "zstd"];
/// npm packages of the SPA whose versions the about page shows.
const PACKAGES: &[&str] = &["preact"];

/// The version of the first `[[package]]` called `name` in a Cargo.lock.
fn crate_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}

/// The version of `node_modules/NAME` in an npm package-lock.json (lockfile v2 or v3).
fn package_version(lock: &str, name: &str) -> Option<String> {
    let start = lock.find(&format!("\"node_modules/{name}\": {{"))?;
    let entry = &lock[start..];
    let entry = &entry[..entry.find('}').unwrap_or(entry.len())];
    let at = entry.find("\"version\": \"")? + "\"version\": \"".len();
    let rest = &entry[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dist = Path::new(&manifest).join("../frontend/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=cannot create {}: {e}", dist.display());
    }
    let cargo_lock = Path::new(&manifest).join("../Cargo.lock");
    let npm_lock = Path::new(&manifest).join("../frontend/package-lock.json");
    println!("cargo:rerun-if-changed={}", cargo_lock.display());
    println!("cargo:rerun-if-changed={}", npm_lock.display());
    let cargo = std::fs::read_to_string(&cargo_lock).unwrap_or_default();
    let npm = std::fs::read_to_string(&npm_lock).unwrap_or_default();
    let mut out = String::from("/// (library, version) pairs, Rust crates first, then the SPA's packages.\n");
    out.push_str("pub const LIBRARIES: &[(&str, &str)] = &[\n");
    for name in CRATES {
        let version = crate_version(&cargo, name).unwrap_or_else(|| "unknown".into());
        out.push_str(&format!("    ({name:?}, {version:?}),\n"));
    }
    for name in PACKAGES {
        let version = package_version(&npm, name).unwrap_or_else(|| "unknown".into());
        out.push_str(&format!("    ({name:?}, {version:?}),\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("libraries.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
