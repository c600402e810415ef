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
//!
//! A release binary lays its code out in the order of `symbol-order.txt`, the functions a
//! master runs, start-up first (written by `scripts/symbol_order.py`): an idle master then
//! maps a few megabytes of code instead of most of it. The names in that file follow the
//! toolchain and the locked crates; when either differs from the file's header, the build
//! says to write the file again (it still links: the linker skips names it does not find).
//! Where the C library reads them (glibc 2.36 and later), its relocations are packed
//! (`-z pack-relative-relocs`): the loader reads 15 kB of them at start instead of 1.2 MB.

use std::path::Path;

use sha2::{Digest, Sha256};

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
    // `sqlx::migrate!` embeds the migrations: a new or changed one must rebuild the crate.
    println!("cargo:rerun-if-changed={}", Path::new(&manifest).join("../migrations").display());
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
    let order = Path::new(&manifest).join("symbol-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    // Only where rustc links with lld (x86_64 Linux, glibc, no linker of one's own), which
    // reads both options, and only for the binary users run.
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let lld = env("TARGET") == "x86_64-unknown-linux-gnu"
        && std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_none()
        && !env("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if env("PROFILE") == "release" && lld {
        symbol_order(&order, cargo.as_bytes());
        if glibc_reads_packed_relocations() {
            println!("cargo:rustc-link-arg-bin=cascade=-Wl,-z,pack-relative-relocs");
        }
    }
}

/// Whether this machine's glibc, the one the binary links with, is 2.36 or later.
fn glibc_reads_packed_relocations() -> bool {
    let out = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let version = text.trim().strip_prefix("glibc ").unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}

/// Passes `order` to the linker, and warns when its names are stale.
fn symbol_order(order: &Path, cargo_lock: &[u8]) {
    let Ok(text) = std::fs::read_to_string(order) else { return };
    println!("cargo:rustc-link-arg-bin=cascade=-Wl,--symbol-ordering-file={}", order.display());
    println!("cargo:rustc-link-arg-bin=cascade=-Wl,--no-warn-symbol-ordering");
    let rustc =
        std::process::Command::new(std::env::var_os("RUSTC").unwrap_or("rustc".into())).arg("--version").output();
    let rustc = rustc.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    let lock: String = Sha256::digest(cargo_lock).iter().map(|b| format!("{b:02x}")).collect();
    let header = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or("").trim().to_owned();
    if header("# rustc:") != rustc || header("# Cargo.lock:") != lock {
        println!(
            "cargo:warning={} was written for another toolchain or Cargo.lock, so part of the code \
             layout it sets is lost: run scripts/symbol_order.py after this build",
            order.display()
        );
    }
}
