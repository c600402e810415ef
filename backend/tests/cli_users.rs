//! `cascade user` and `cascade hash-password`, run as a user would, against a database
//! named by a configuration file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cascade(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn users_are_added_changed_shown_and_removed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let init = cascade(&["init", dir.path().to_str().unwrap()], None);
    assert!(init.status.success(), "{}", text(&init));
    let config = dir.path().join("cascade.toml");
    let config = config.to_str().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();

    let add = cascade(
        &[
            "user",
            "-c",
            config,
            "add",
            "--username",
            "ann",
            "--password-file",
            pw.to_str().unwrap(),
            "--info",
            "email=ann@example.org",
            "--info",
            "git=Ann <ann@example.org>",
        ],
        None,
    );
    assert!(add.status.success(), "{}", text(&add));
    assert!(text(&add).contains("added user 1"));
    let dup = cascade(&["user", "-c", config, "add", "--username", "ann"], None);
    assert!(!dup.status.success());
    assert!(text(&dup).contains("already taken"), "{}", text(&dup));
    let bad = cascade(&["user", "-c", config, "add", "--username", "bob", "--info", "nonsense"], None);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("TYPE=VALUE"), "{}", text(&bad));

    let update = cascade(&["user", "-c", config, "update", "ann", "--info", "irc=annie"], None);
    assert!(update.status.success(), "{}", text(&update));
    let show = cascade(&["user", "-c", config, "show", "ann@example.org"], None);
    assert!(!show.status.success(), "an email is an attribute, not an identifier");
    let show = cascade(&["user", "-c", config, "show", "ann"], None);
    let shown = text(&show);
    assert!(
        shown.contains("email=ann@example.org") && shown.contains("irc=annie") && shown.contains("(password)"),
        "{shown}"
    );
    let list = cascade(&["user", "-c", config, "list"], None);
    assert_eq!(text(&list).lines().filter(|l| !l.starts_with('\t')).count(), 1);
    let remove = cascade(&["user", "-c", config, "remove", "1"], None);
    assert!(remove.status.success(), "{}", text(&remove));
    let gone = cascade(&["user", "-c", config, "show", "ann"], None);
    assert!(!gone.status.success());
    assert!(text(&gone).contains("no such user"));
}

#[test]
fn hash_password_prints_an_argon2id_hash_of_stdin() {
    let out = cascade(&["hash-password"], Some("hunter2\n"));
    assert!(out.status.success(), "{}", text(&out));
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(cascade::auth::password::verify("hunter2", hash.trim()));
    let empty = cascade(&["hash-password"], Some(""));
    assert!(!empty.status.success());
}
