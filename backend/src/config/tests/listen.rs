//! `[web] listen`: plain addresses and `{ addr, tls }` tables side by side, certificate and
//! key files read relative to the configuration, and their problems reported with their keys.

use std::process::Command as Process;

use super::*;

/// Writes a self-signed certificate and its key as `<name>.pem` and `<name>.key` in `dir`.
fn self_signed(dir: &Path, name: &str) {
    let status = Process::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.pem")))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

/// Parses `listen` as if the configuration sat in `dir`.
fn parse_in(dir: &Path, listen: &str) -> Result<Config, ConfigError> {
    parse(&format!("[web]\nlisten = {listen}\n{MINIMAL}"), &dir.join("cascade.toml"))
}

fn issues_in(dir: &Path, listen: &str) -> Vec<String> {
    match parse_in(dir, listen) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.issues().iter().map(|i| format!("{}: {}: {}", i.line.unwrap_or(0), i.key, i.message)).collect(),
    }
}

#[test]
fn plain_and_tls_listeners_mix_and_tls_paths_are_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "server");
    let c = parse_in(
        dir.path(),
        r#"["127.0.0.1:8010", { addr = "0.0.0.0:8443", tls = { cert = "server.pem", key = "server.key" } }, { addr = "[::1]:8011" }]"#,
    )
    .unwrap();
    let listen = &c.web.listen;
    assert_eq!(listen.len(), 3);
    assert_eq!((listen[0].addr.as_str(), listen[0].scheme()), ("127.0.0.1:8010", "http"));
    assert_eq!((listen[1].addr.as_str(), listen[1].scheme()), ("0.0.0.0:8443", "https"));
    let files = listen[1].tls.as_ref().unwrap();
    assert_eq!((files.cert.clone(), files.key.clone()), (dir.path().join("server.pem"), dir.path().join("server.key")));
    assert_eq!(listen[2], Listen::plain("[::1]:8011"));
    // The loader the server uses gives back both files, checked.
    assert!(files.load().unwrap().cert.starts_with(b"-----BEGIN CERTIFICATE-----"));
}

#[test]
fn a_missing_certificate_is_reported_at_its_key() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "server");
    let found = issues_in(
        dir.path(),
        r#"["127.0.0.1:8010", { addr = "0.0.0.0:8443", tls = { cert = "gone.pem", key = "server.key" } }]"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("2: web.listen[1].tls.cert: cannot read "), "{found:?}");
    assert!(found[0].contains("gone.pem"), "{found:?}");
}

#[test]
fn a_key_of_another_certificate_or_no_key_at_all_is_reported_at_tls_key() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "a");
    self_signed(dir.path(), "b");
    std::fs::write(dir.path().join("junk.key"), "not a key\n").unwrap();
    let found = issues_in(
        dir.path(),
        r#"[{ addr = "0.0.0.0:8443", tls = { cert = "a.pem", key = "b.key" } },
            { addr = "0.0.0.0:8444", tls = { cert = "a.pem", key = "junk.key" } },
            { addr = "0.0.0.0:8445", tls = { cert = "a.key", key = "a.key" } }]"#,
    );
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("2: web.listen[0].tls.key: ") && found[0].contains("does not fit"), "{found:?}");
    assert!(found[1].starts_with("3: web.listen[1].tls.key: ") && found[1].contains("no PEM private key"), "{found:?}");
    assert!(
        found[2].starts_with("4: web.listen[2].tls.cert: ") && found[2].contains("no PEM certificate"),
        "{found:?}"
    );
}

#[test]
fn a_listen_table_needs_a_valid_addr_and_known_keys() {
    let dir = tempfile::tempdir().unwrap();
    let found = issues_in(dir.path(), r#"["127.0.0.1:1", { addr = "localhost:80x" }]"#);
    assert_eq!(found, ["2: web.listen[1].addr: `localhost:80x` is not a socket address such as \"127.0.0.1:8010\""]);
    let found = issues_in(dir.path(), r#"[{ address = "127.0.0.1:1" }]"#);
    assert_eq!(found, ["2: web.listen[0].address: unknown key `address` (allowed: addr, tls)"]);
    let found = issues_in(dir.path(), r#"[{ addr = "127.0.0.1:2", tls = { cert = "c" } }]"#);
    assert!(found.iter().any(|i| i.contains("web.listen[0]") && i.contains("`key`")), "{found:?}");
}
