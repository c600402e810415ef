//! The mail tests' peer: an aiosmtpd server (backend/tests/fixtures/smtp_server.py) started per
//! test, its certificates, the masters with mail reporters, and readers of what it received.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{TestDb, TestMaster};
use cascade::db::outbox;
use cascade::engine::Engine;
use cascade::engine::clock::Clock;
use cascade::model::NewChange;
use serde_json::Value;

/// A mail server for one test; killed (by PID) when dropped.
pub struct Smtp {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

#[derive(Default)]
pub struct SmtpOptions<'a> {
    pub starttls: bool,
    pub implicit_tls: bool,
    pub login: Option<(&'a str, &'a str)>,
    pub certs: Option<&'a Certs>,
    /// Addresses whose RCPT TO is answered 550.
    pub refuse: &'a [&'a str],
}

pub struct Certs {
    /// The authority that signed the server's certificate (`tls_ca_file`).
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A private authority and a server certificate it signed for 127.0.0.1 and localhost.
pub fn certs(dir: &Path) -> Certs {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"];
        let status = Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is needed for the mail tests' certificates");
        assert!(status.success(), "openssl {args:?}");
    };
    let (ca, ca_key, cert, key) = (path("ca.pem"), path("ca.key"), path("cert.pem"), path("key.pem"));
    let s = |p: &PathBuf| p.to_str().unwrap().to_owned();
    openssl(&["-subj", "/CN=Cascade test CA", "-keyout", &s(&ca_key), "-out", &s(&ca)]);
    openssl(&[
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        &s(&key),
        "-out",
        &s(&cert),
    ]);
    Certs { ca, cert, key }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Smtp {
    pub fn start(opts: &SmtpOptions<'_>) -> Smtp {
        Smtp::start_on(free_port(), opts)
    }

    pub fn start_on(port: u16, opts: &SmtpOptions<'_>) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).args(["--port", &port.to_string(), "--lifetime", "180"]).arg("--dir").arg(dir.path());
        if opts.starttls {
            cmd.arg("--starttls");
        }
        if opts.implicit_tls {
            cmd.arg("--implicit-tls");
        }
        if let Some(c) = opts.certs {
            cmd.arg("--cert").arg(&c.cert).arg("--key").arg(&c.key);
        }
        if let Some((user, password)) = opts.login {
            cmd.args(["--user", user, "--password", password]);
        }
        for address in opts.refuse {
            cmd.args(["--refuse", address]);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("python3-aiosmtpd is needed");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        if !line.starts_with("ready") {
            let _ = child.kill();
            panic!("the mail server did not start: {line:?}");
        }
        Smtp { child, dir, port }
    }

    /// The messages received so far, in order of arrival.
    pub fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// Waits (up to a minute) until `n` messages have arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(Instant::now() < deadline, "{} of {n} mails arrived", mails.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reporter block sending to `smtp` with the given extra lines.
pub fn reporter(name: &str, port: u16, extra: &str) -> String {
    format!(
        "[[reporters]]\nkind = \"mail\"\nname = \"{name}\"\nfrom = \"Cascade <cascade@example.org>\"\n\
         relay_host = \"127.0.0.1\"\nsmtp_port = {port}\n{extra}\n"
    )
}

/// An engine on `body` with `[web]` keys `web` and the given clock.
pub async fn start(web: &str, body: &str, clock: Arc<dyn Clock>) -> TestMaster {
    start_with(&[], web, body, clock).await
}

/// [`start`], with `files` (name, content) written next to the configuration first.
pub async fn start_with(files: &[(&str, &str)], web: &str, body: &str, clock: Arc<dyn Clock>) -> TestMaster {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let cfg = Arc::new(crate::common::config_with_web(dir.path(), web, body, &tdb.url));
    let engine = Engine::start(cfg, tdb.db.clone(), clock).await.unwrap();
    TestMaster { engine, tdb, dir }
}

pub async fn rows(engine: &Engine) -> Vec<outbox::Message> {
    let mut conn = engine.db.acquire().await.unwrap();
    let mut rows = outbox::list(conn.conn(), None, None, 1000, 0).await.unwrap();
    rows.reverse();
    rows
}

/// Waits until no outbox row is pending and as many mails arrived as rows were sent, then
/// returns both: no further mail can come from what has happened so far.
pub async fn settled(engine: &Engine, smtp: &Smtp) -> (Vec<outbox::Message>, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = rows(engine).await;
        let mails = smtp.mails();
        let sent = rows.iter().filter(|r| r.state() == outbox::State::Sent).count();
        if rows.iter().all(|r| r.state() != outbox::State::Pending) && mails.len() == sent {
            return (rows, mails);
        }
        assert!(Instant::now() < deadline, "outbox not settled: {rows:?}, {} mails", mails.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds for the outbox row with key `key`, and returns it.
pub async fn row_where(engine: &Engine, key: &str, check: impl Fn(&outbox::Message) -> bool) -> outbox::Message {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(row) = rows(engine).await.into_iter().find(|r| r.key.as_deref() == Some(key) && check(r)) {
            return row;
        }
        assert!(Instant::now() < deadline, "no row {key} as expected: {:?}", rows(engine).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn part<'a>(mail: &'a Value, content_type: &str) -> &'a str {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type && p["disposition"].is_null())
        .and_then(|p| p["text"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} body in {mail}"))
}

pub fn attachments(mail: &Value) -> Vec<(String, String, String)> {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["disposition"] == "attachment")
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (s("filename"), s("content_type"), s("text"))
        })
        .collect()
}

pub fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"].as_array().unwrap().iter().find(|h| h[0] == name).and_then(|h| h[1].as_str())
}

pub fn rcpt(mail: &Value) -> Vec<&str> {
    mail["rcpt_tos"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

/// A builder whose one step succeeds, warns, fails or runs long as its `outcome` property says.
pub const OUTCOMES: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [
  { name = "work", command = "case '{{ prop.outcome }}' in fail) echo 'error: broken'; exit 1;; warn) echo 'warning: careful';; slow) echo waiting; sleep 60;; esac; echo done", warn_on = "^warning:" },
  { name = "check", command = "{% if prop.outcome == 'exception' %}{{ nosuch() }}{% endif %}true" },
]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
"#;

pub fn change(n: usize, outcome: &str) -> NewChange {
    NewChange {
        author: "alice".into(),
        branch: Some("main".into()),
        revision: Some(format!("r{n}")),
        properties: [("outcome".to_string(), serde_json::json!(outcome))].into(),
        ..Default::default()
    }
}
