//! The mail reporter against a real mail server (Debian's aiosmtpd, started per test on
//! 127.0.0.1 by `fixtures/smtp_server.py`), with real builds on the embedded worker, on
//! SQLite and (with CASCADE_TEST_DATABASE_URL) PostgreSQL. Each received message is read by
//! Python's email parser; the tests check headers, envelope, MIME structure, attachments
//! and bodies. Absence is never waited for: a test that must see no more mail waits until
//! every outbox row is settled and counts the messages against the rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade::db::{self, outbox};
use cascade::engine::Engine;
use cascade::engine::actions::Request;
use cascade::engine::clock::{Clock, ManualClock, SystemClock};
use cascade::model::{ForceRequest, NewChange, Results};
use common::{TestDb, TestMaster, wait_finished};
use serde_json::{Value, json};

/// A mail server for one test; killed (by PID) when dropped.
struct Smtp {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

#[derive(Default)]
struct SmtpOptions<'a> {
    starttls: bool,
    implicit_tls: bool,
    login: Option<(&'a str, &'a str)>,
    certs: Option<&'a Certs>,
    /// Addresses whose RCPT TO is answered 550.
    refuse: &'a [&'a str],
}

struct Certs {
    /// The authority that signed the server's certificate (`tls_ca_file`).
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A private authority and a server certificate it signed for 127.0.0.1 and localhost.
fn certs(dir: &Path) -> Certs {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Smtp {
    fn start(opts: &SmtpOptions<'_>) -> Smtp {
        Smtp::start_on(free_port(), opts)
    }

    fn start_on(port: u16, opts: &SmtpOptions<'_>) -> Smtp {
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
    fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// Waits (up to a minute) until `n` messages have arrived, and returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
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
fn reporter(name: &str, port: u16, extra: &str) -> String {
    format!(
        "[[reporters]]\nkind = \"mail\"\nname = \"{name}\"\nfrom = \"Cascade <cascade@example.org>\"\n\
         relay_host = \"127.0.0.1\"\nsmtp_port = {port}\n{extra}\n"
    )
}

/// An engine on `body` with `[web]` keys `web` and the given clock.
async fn start(web: &str, body: &str, clock: Arc<dyn Clock>) -> TestMaster {
    start_with(&[], web, body, clock).await
}

/// [`start`], with `files` (name, content) written next to the configuration first.
async fn start_with(files: &[(&str, &str)], web: &str, body: &str, clock: Arc<dyn Clock>) -> TestMaster {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let cfg = Arc::new(common::config_with_web(dir.path(), web, body, &tdb.url));
    let engine = Engine::start(cfg, tdb.db.clone(), clock).await.unwrap();
    TestMaster { engine, tdb, dir }
}

async fn rows(engine: &Engine) -> Vec<outbox::Message> {
    let mut conn = engine.db.acquire().await.unwrap();
    let mut rows = outbox::list(conn.conn(), None, None, 1000, 0).await.unwrap();
    rows.reverse();
    rows
}

/// Waits until no outbox row is pending and as many mails arrived as rows were sent, then
/// returns both: no further mail can come from what has happened so far.
async fn settled(engine: &Engine, smtp: &Smtp) -> (Vec<outbox::Message>, Vec<Value>) {
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
async fn row_where(engine: &Engine, key: &str, check: impl Fn(&outbox::Message) -> bool) -> outbox::Message {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(row) = rows(engine).await.into_iter().find(|r| r.key.as_deref() == Some(key) && check(r)) {
            return row;
        }
        assert!(Instant::now() < deadline, "no row {key} as expected: {:?}", rows(engine).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn part<'a>(mail: &'a Value, content_type: &str) -> &'a str {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type && p["disposition"].is_null())
        .and_then(|p| p["text"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} body in {mail}"))
}

fn attachments(mail: &Value) -> Vec<(String, String, String)> {
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

fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"].as_array().unwrap().iter().find(|h| h[0] == name).and_then(|h| h[1].as_str())
}

fn rcpt(mail: &Value) -> Vec<&str> {
    mail["rcpt_tos"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

const OUTCOMES: &str = r#"
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

fn change(n: usize, outcome: &str) -> NewChange {
    NewChange {
        author: "alice".into(),
        branch: Some("main".into()),
        revision: Some(format!("r{n}")),
        properties: [("outcome".to_string(), json!(outcome))].into(),
        ..Default::default()
    }
}

/// Stops the running build `number` of `builder` as soon as it has started.
async fn stop_when_started(engine: &Engine, builder: &str, number: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let req = Request { actor: Some("tester".into()), reason: "enough".into() };
    while engine.stop_build(builder, number, &req).await.is_err() {
        assert!(Instant::now() < deadline, "build {number} never became stoppable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mode_mails_exactly_the_builds_it_names() {
    let smtp = Smtp::start(&SmtpOptions::default());
    let modes = [
        ("change", "mode = [\"change\"]"),
        ("failing", "mode = [\"failing\"]"),
        ("passing", "mode = [\"passing\"]"),
        ("problem", "mode = [\"problem\"]"),
        ("warnings-list", "mode = [\"warnings\"]"),
        ("exception", "mode = \"exception\""),
        ("cancelled", "mode = [\"cancelled\"]"),
        ("all", "mode = \"all\""),
        ("warnings", "mode = \"warnings\""),
        ("default", ""),
    ];
    let mut body = OUTCOMES.to_owned();
    for (name, mode) in modes {
        let extra = format!(
            "send_to_interested_users = false\nextra_recipients = [\"{name}@example.org\"]\n\
             subject = \"%(builder)s #{{{{ number }}}} %(result)s\"\n{mode}"
        );
        body.push_str(&reporter(name, smtp.port, &extra));
    }
    let m = start("", &body, Arc::new(SystemClock)).await;
    let mut rx = m.engine.bus.subscribe();
    let history = [
        ("pass", Results::Success),
        ("pass", Results::Success),
        ("fail", Results::Failure),
        ("fail", Results::Failure),
        ("warn", Results::Warnings),
        ("pass", Results::Success),
        ("exception", Results::Exception),
        ("slow", Results::Cancelled),
        ("fail", Results::Failure),
        ("pass", Results::Success),
    ];
    for (i, (outcome, expected)) in history.iter().enumerate() {
        let number = i as i64 + 1;
        m.engine.add_changes(vec![change(i, outcome)]).await.unwrap();
        if *outcome == "slow" {
            stop_when_started(&m.engine, "app", number).await;
        }
        let b = wait_finished(&mut rx, "app", 60).await;
        assert_eq!((b.number, b.results), (number, Some(*expected)), "{b:?}");
    }

    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert!(rows.iter().all(|r| r.state() == outbox::State::Sent), "{rows:?}");
    let expected: [(&str, &[i64]); 10] = [
        ("change", &[3, 5, 6, 7, 8, 9, 10]),
        ("failing", &[3, 4, 9]),
        ("passing", &[1, 2, 6, 10]),
        ("problem", &[3, 9]),
        ("warnings-list", &[5]),
        ("exception", &[7]),
        ("cancelled", &[8]),
        ("all", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("warnings", &[3, 4, 5, 9]),
        ("default", &[1, 2, 3, 4, 5, 6, 9, 10]),
    ];
    let total: usize = expected.iter().map(|(_, n)| n.len()).sum();
    assert_eq!(mails.len(), total);
    for (name, numbers) in expected {
        let address = format!("{name}@example.org");
        let got: Vec<&Value> = mails.iter().filter(|m| rcpt(m) == [address.as_str()]).collect();
        let subjects: Vec<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
        let wanted: Vec<String> =
            numbers.iter().map(|n| format!("app #{n} {}", history[*n as usize - 1].1.name())).collect();
        assert_eq!(subjects, wanted, "reporter {name}");
        for mail in got {
            assert_eq!(mail["to"], address.as_str());
            assert_eq!(mail["mail_from"], "cascade@example.org");
        }
    }
    let intro = |name: &str, n: i64| {
        let mail = mails
            .iter()
            .find(|m| {
                rcpt(m) == [format!("{name}@example.org").as_str()]
                    && m["subject"].as_str().unwrap().contains(&format!("#{n} "))
            })
            .unwrap();
        let plain = part(mail, "text/plain");
        plain.lines().next().unwrap().to_owned()
    };
    let on_app = |what: &str| format!("The Cascade has detected a {what} on builder app while building test.");
    assert_eq!(intro("change", 3), on_app("new failure"));
    assert_eq!(intro("failing", 3), on_app("failed build"));
    assert_eq!(intro("problem", 9), on_app("new failure"));
    assert_eq!(intro("change", 10), on_app("restored build"));
    assert_eq!(intro("passing", 10), on_app("passing build"));
    assert_eq!(intro("default", 5), on_app("problem in the build"));
    assert_eq!(intro("exception", 7), on_app("build exception"));
    assert_eq!(intro("cancelled", 8), on_app("cancelled build"));
}

const CULPRITS: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [
  { name = "compile", command = "echo compiling" },
  { name = "big", command = "seq 1 200000" },
  { name = "test", command = "for i in $(seq 1 100); do echo \"test line $i\"; done; echo 'error: <broken> & bad'; exit 1" },
]
[[builders]]
name = "docs"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
tree_stable_timer = 10
builders = ["app"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_mail_names_the_culprits_and_shows_what_broke() {
    let smtp = Smtp::start(&SmtpOptions::default());
    let mut body = CULPRITS.to_owned();
    body.push_str(&reporter(
        "full",
        smtp.port,
        "lookup = \"example.net\"\nextra_recipients = [\"list@example.org\"]\nadd_logs = true\n\
         extra_headers = { X-Cascade-Build = \"{{ builder }}/{{ number }}\", X-Blame = \"{{ blamelist|length }} authors\" }",
    ));
    body.push_str(&reporter(
        "picky",
        smtp.port,
        "send_to_interested_users = false\nextra_recipients = [\"picky@example.org\"]\nmode = \"failing\"\n\
         add_logs = [\"test.stdio\"]\ntemplate_type = \"html\"\n\
         template = \"<p>{{ builder }} {{ result }}: {{ changes[0].comments }}</p>\"",
    ));
    body.push_str(&reporter("elsewhere", smtp.port, "builders = [\"docs\"]\nextra_recipients = [\"x@example.org\"]"));
    body.push_str(&reporter("tagged", smtp.port, "tags = [\"nightly\"]\nextra_recipients = [\"x@example.org\"]"));
    let web = "revlink = \"https://git.example.org/commit/%s\"";
    let clock = ManualClock::new(1_000_000);
    let m = start(web, &body, clock.clone()).await;
    {
        let mut tx = m.engine.db.begin().await.unwrap();
        let ann = db::users::insert(tx.conn(), "ann", Some("ann"), None).await.unwrap();
        let attrs = [("git", "Ann Smith <ann@home.example.org>"), ("email", "ann@work.example.org")]
            .map(|(t, d)| db::users::Attribute { attr_type: t.into(), attr_data: d.into() });
        db::users::set_attributes(tx.conn(), ann, &attrs).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut rx = m.engine.bus.subscribe();
    let change = |author: &str, rev: &str, comments: &str| NewChange {
        author: author.into(),
        comments: comments.into(),
        branch: Some("main".into()),
        revision: Some(rev.into()),
        ..Default::default()
    };
    let mut last = change("carol <carol@example.com>", "ccc333", "third");
    last.properties = [("owners".to_string(), json!(["dave@example.org", "not an address"]))].into();
    let changes = vec![
        change("Ann Smith <ann@home.example.org>", "aaa111", "fix the <widget>"),
        change("bob", "bbb222", "second"),
        last,
    ];
    m.engine.add_changes(changes).await.unwrap();
    clock.advance(10);
    m.engine.tick().await.unwrap();
    let b = wait_finished(&mut rx, "app", 60).await;
    assert_eq!(b.results, Some(Results::Failure));

    let (rows, mails) = settled(&m.engine, &smtp).await;
    let reporters: Vec<&str> = rows.iter().map(|r| r.reporter.as_str()).collect();
    assert_eq!(reporters, ["full", "picky"], "the builders and tags filters keep the others out");
    assert_eq!(mails.len(), 2, "{rows:?}");
    let full = mails.iter().find(|m| rcpt(m).contains(&"list@example.org")).unwrap();
    let picky = mails.iter().find(|m| rcpt(m) == ["picky@example.org"]).unwrap();

    // Interested users: a stored user's email, the lookup domain, a literal address, the
    // owners property; the list is copied.
    assert_eq!(full["from"], "Cascade <cascade@example.org>");
    assert_eq!(full["to"], "ann@work.example.org, bob@example.net, carol <carol@example.com>, dave@example.org");
    assert_eq!(full["cc"], "list@example.org");
    assert_eq!(
        rcpt(full),
        ["ann@work.example.org", "bob@example.net", "carol@example.com", "dave@example.org", "list@example.org"]
    );
    assert_eq!(full["subject"], "Cascade failure in test on app");
    assert_eq!(header(full, "X-Cascade-Build"), Some("app/1"));
    assert_eq!(header(full, "X-Blame"), Some("3 authors"));
    assert_eq!(
        full["structure"],
        "multipart/mixed[multipart/alternative[text/plain,text/html],text/plain,text/plain,text/plain]"
    );

    let plain = part(full, "text/plain");
    for expected in [
        "The Cascade has detected a failed build on builder app while building test.\n",
        "Full details are available at:\n    http://localhost:8010/builders/app/builds/1\n",
        "Worker for this Build: local\n",
        "Build Source Stamp: [branch main] ccc333\n    https://git.example.org/commit/ccc333\n",
        "Blamelist: Ann Smith <ann@home.example.org>, bob, carol <carol@example.com>\n",
        "BUILD FAILED: failed test\n",
        "    3. test: failure - test failed (exit 1)\n",
        "Last 40 lines of test.stdio (http://localhost:8010/builders/app/builds/1/steps/3/logs/stdio):\n    test line 62\n",
        "    test line 100\n    error: <broken> & bad\n",
    ] {
        assert!(plain.contains(expected), "missing {expected:?} in:\n{plain}");
    }
    assert!(!plain.contains("test line 61\n"), "only the last 40 lines: {plain}");
    let html = part(full, "text/html");
    assert!(html.contains("error: &lt;broken&gt; &amp; bad"), "{html}");
    assert!(html.contains("background:#e88;color:#000"), "{html}");
    assert!(html.contains("href=\"https://git.example.org/commit/ccc333\""), "{html}");

    let files = attachments(full);
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["compile.stdio", "big.stdio", "test.stdio"]);
    assert_eq!(files[0].2, "compiling\n");
    let big = &files[1].2;
    let (note, rest) = big.split_once("\n\n").unwrap();
    assert!(note.starts_with("[This log is 1288895 bytes long; only its last "), "{note}");
    assert!(note.ends_with("http://localhost:8010/builders/app/builds/1/steps/2/logs/stdio/text]"), "{note}");
    assert!(rest.len() <= 1024 * 1024 && rest.len() > 1024 * 1024 - 10, "{}", rest.len());
    let numbers: Vec<u32> = rest.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(numbers.last(), Some(&200_000));
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "whole, consecutive lines");
    assert!(files[2].2.ends_with("test line 100\nerror: <broken> & bad\n"));

    // A template of type html is the only body; only the named log is attached.
    assert_eq!(picky["structure"], "multipart/mixed[text/html,text/plain]");
    assert_eq!(part(picky, "text/html"), "<p>app failure: fix the &lt;widget&gt;</p>");
    let names: Vec<String> = attachments(picky).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["test.stdio"]);
}

const TWO_BUILDERS: &str = r#"
[[builders]]
name = "a"
workers = ["local"]
steps = [ { name = "work", command = "echo a is fine" } ]
[[builders]]
name = "b"
workers = ["local"]
steps = [ { name = "work", command = "echo b {{ prop.mood }}; test '{{ prop.mood }}' != broken" } ]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["a", "b"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_set_summary_is_one_mail_once_all_its_builds_are_done() {
    let smtp = Smtp::start(&SmtpOptions::default());
    let mut body = TWO_BUILDERS.to_owned();
    body.push_str(&reporter(
        "sets",
        smtp.port,
        "build_set_summary = true\nadd_logs = true\nmode = [\"failing\", \"passing\"]\n\
         send_to_interested_users = false\nextra_recipients = [\"sets@example.org\"]",
    ));
    body.push_str(&reporter(
        "bare",
        smtp.port,
        "build_set_summary = true\nadd_patch = false\nmode = \"all\"\n\
         send_to_interested_users = false\nextra_recipients = [\"bare@example.org\"]",
    ));
    let m = start("", &body, Arc::new(SystemClock)).await;

    // A build set with a patch, queued as a try scheduler would.
    {
        let mut tx = m.engine.db.begin().await.unwrap();
        let set = db::buildsets::NewBuildSet {
            reason: "try".into(),
            scheduler: "main".into(),
            properties: cascade::model::Sourced {
                values: [("mood".to_string(), json!("broken"))].into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let stamp = db::buildsets::NewSourceStamp { branch: Some("main".into()), ..Default::default() };
        let (set, stamps) = db::buildsets::insert(tx.conn(), &set, &[stamp], &[], 1).await.unwrap();
        let patch = db::buildsets::Patch {
            body: b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n".to_vec(),
            level: Some(1),
            ..Default::default()
        };
        db::buildsets::set_patch(tx.conn(), stamps[0], &patch).await.unwrap();
        for builder in ["a", "b"] {
            db::buildrequests::insert(tx.conn(), set, m.engine.builder_id(builder).unwrap(), 0, 1).await.unwrap();
        }
        tx.commit().await.unwrap();
        m.engine.wake();
    }
    let mails = smtp.wait_for(2).await;
    let first = mails.iter().find(|m| rcpt(m) == ["sets@example.org"]).unwrap();
    assert_eq!(first["subject"], "Cascade failure in test on (whole buildset)");
    let bare = mails.iter().find(|m| rcpt(m) == ["bare@example.org"]).unwrap();
    assert_eq!(bare["structure"], "multipart/alternative[text/plain,text/html]", "no logs, no patch");
    assert!(part(bare, "text/plain").contains("(plus patch)"));
    let plain = part(first, "text/plain");
    let a = plain.find("passing build on builder a").unwrap();
    let b = plain.find("failed build on builder b").unwrap();
    assert!(a < b, "{plain}");
    assert!(plain.contains("Build Source Stamp: [branch main] HEAD (plus patch)"), "{plain}");
    let files = attachments(first);
    let names: Vec<(&str, &str)> = files.iter().map(|(n, t, _)| (n.as_str(), t.as_str())).collect();
    assert_eq!(
        names,
        [("a.work.stdio", "text/plain"), ("b.work.stdio", "text/plain"), ("source.patch", "text/x-diff")]
    );
    assert_eq!(files[1].2, "b broken\n");
    assert!(files[2].2.contains("+new\n"));

    // A second build set: its own single mail, and never one per build.
    m.engine
        .add_changes(vec![NewChange { author: "x".into(), branch: Some("main".into()), ..Default::default() }])
        .await
        .unwrap();
    smtp.wait_for(4).await;
    let (rows, mails) = settled(&m.engine, &smtp).await;
    let keys: Vec<(&str, &str)> = rows.iter().map(|r| (r.reporter.as_str(), r.key.as_deref().unwrap())).collect();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|(_, k)| k.starts_with("buildset:")), "{keys:?}");
    assert_eq!(mails.len(), 4);
    let sets: Vec<&Value> = mails.iter().filter(|m| rcpt(m) == ["sets@example.org"]).collect();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[1]["subject"], "Cascade success in test on (whole buildset)");
    assert_eq!(attachments(sets[1]).len(), 2, "no patch this time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_reports_a_request_cancelled_before_it_ran() {
    let smtp = Smtp::start(&SmtpOptions::default());
    // `b` runs on a worker that never connects: its request waits until it is cancelled.
    let mut body = TWO_BUILDERS.replace("name = \"b\"\nworkers = [\"local\"]", "name = \"b\"\nworkers = [\"remote\"]");
    body.insert_str(0, "[[workers]]\nname = \"remote\"\npassword = \"secret\"\n");
    body.push_str(&reporter(
        "sets",
        smtp.port,
        "build_set_summary = true\nmode = \"all\"\nsend_to_interested_users = false\n\
         extra_recipients = [\"sets@example.org\"]",
    ));
    let m = start("", &body, Arc::new(SystemClock)).await;
    let (set, waiting) = {
        let mut tx = m.engine.db.begin().await.unwrap();
        let set = db::buildsets::NewBuildSet { reason: "both".into(), scheduler: "main".into(), ..Default::default() };
        let stamp = db::buildsets::NewSourceStamp { branch: Some("main".into()), ..Default::default() };
        let (set, _) = db::buildsets::insert(tx.conn(), &set, &[stamp], &[], 1).await.unwrap();
        db::buildrequests::insert(tx.conn(), set, m.engine.builder_id("a").unwrap(), 0, 1).await.unwrap();
        let b = db::buildrequests::insert(tx.conn(), set, m.engine.builder_id("b").unwrap(), 0, 1).await.unwrap();
        tx.commit().await.unwrap();
        m.engine.wake();
        (set, b)
    };
    let req = Request { actor: Some("tester".into()), reason: "not needed".into() };
    m.engine.cancel_request(waiting, &req).await.unwrap();

    smtp.wait_for(1).await;
    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert_eq!((rows.len(), mails.len()), (1, 1), "{rows:?}");
    let mut conn = m.engine.db.acquire().await.unwrap();
    let stored = db::buildsets::results(conn.conn(), set).await.unwrap();
    assert_eq!(stored, Some(Results::Cancelled), "what the set stored");
    let payload: Value = serde_json::from_str(&rows[0].payload).unwrap();
    assert_eq!(payload["results"], "cancelled", "{payload}");
    assert_eq!(mails[0]["subject"], "Cascade cancelled in test on (whole buildset)");
    let plain = part(&mails[0], "text/plain");
    assert!(plain.contains("passing build on builder a"), "{plain}");
    assert!(!plain.contains("builder b"), "b never built: {plain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_a_login_delivers_to_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path());
    let opts =
        SmtpOptions { starttls: true, login: Some(("cascade", "s3cret")), certs: Some(&certs), ..Default::default() };
    let smtp = Smtp::start(&opts);
    let extra = format!(
        "use_tls = true\ntls_ca_file = \"{}\"\nsmtp_user = \"cascade\"\nsmtp_password = {{ file = \"smtp.pass\" }}",
        certs.ca.display()
    );
    let body = format!(
        "{OUTCOMES}\n[[schedulers]]\nname = \"force\"\nkind = \"force\"\nbuilders = [\"app\"]\n{}",
        reporter("tls", smtp.port, &extra)
    );
    let m = start_with(&[("smtp.pass", "s3cret\n")], "", &body, Arc::new(SystemClock)).await;
    let request = ForceRequest { owner: Some("ann@example.org".into()), reason: "please".into(), ..Default::default() };
    m.engine.force("app", request).await.unwrap();
    let mail = &smtp.wait_for(1).await[0];
    assert_eq!((mail["tls"].as_bool(), mail["login"].as_str()), (Some(true), Some("cascade")));
    assert_eq!(rcpt(mail), ["ann@example.org"], "the buildset's owner is an address");
    assert_eq!(mail["to"], "ann@example.org");
    assert!(
        part(mail, "text/plain")
            .contains("Build Reason: The web-page 'force build' button was pressed by 'ann@example.org': please")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_delivers_a_body_from_a_template_file() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path());
    let smtp = Smtp::start(&SmtpOptions { implicit_tls: true, certs: Some(&certs), ..Default::default() });
    let extra = format!(
        "use_ssl = true\ntls_ca_file = \"{}\"\nextra_recipients = [\"ops@example.org\"]\n\
         template_file = \"mail.txt\"\ntemplate_type = \"plain\"",
        certs.ca.display()
    );
    let body = format!("{OUTCOMES}{}", reporter("ssl", smtp.port, &extra));
    let template = "{{ builder }} #{{ number }}: a {{ status_detected }}, see {{ build_url }}\n";
    let m = start_with(&[("mail.txt", template)], "", &body, Arc::new(SystemClock)).await;
    m.engine.add_changes(vec![change(1, "pass")]).await.unwrap();
    let mail = &smtp.wait_for(1).await[0];
    assert_eq!(mail["tls"].as_bool(), Some(true));
    assert_eq!(rcpt(mail), ["ops@example.org"]);
    assert_eq!(mail["subject"], "Cascade success in test on app");
    assert_eq!(mail["structure"], "text/plain");
    assert_eq!(
        part(mail, "text/plain").trim_end(),
        "app #1: a passing build, see http://localhost:8010/builders/app/builds/1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_waits_until_the_server_takes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path());
    let port = free_port();
    let opts = |password| SmtpOptions {
        starttls: true,
        login: Some(("cascade", password)),
        certs: Some(&certs),
        ..Default::default()
    };
    let smtp = Smtp::start_on(port, &opts("rotated"));
    let extra = format!(
        "use_tls = true\ntls_ca_file = \"{}\"\nsmtp_user = \"cascade\"\nsmtp_password = \"s3cret\"\n\
         extra_recipients = [\"ops@example.org\"]",
        certs.ca.display()
    );
    let body = format!("{OUTCOMES}{}", reporter("badlogin", port, &extra));
    let clock = ManualClock::new(1_000_000);
    let m = start("", &body, clock.clone()).await;
    m.engine.add_changes(vec![change(1, "pass")]).await.unwrap();
    let row = row_where(&m.engine, "build:1", |r| r.attempts >= 1).await;
    assert_eq!(row.state(), outbox::State::Pending, "a refused login is tried again: {row:?}");
    assert!(row.next_attempt_at > clock.now());
    let error = row.last_error.unwrap();
    assert!(error.contains("535") && error.contains("smtp_password"), "{error}");
    assert!(smtp.mails().is_empty());

    // The password is put right on the server's side; the mail goes out.
    drop(smtp);
    let smtp = Smtp::start_on(port, &opts("s3cret"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.mails().is_empty() {
        assert!(Instant::now() < deadline, "the mail never left");
        clock.advance(3600);
        m.engine.reporters.wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert_eq!((rows.len(), mails.len()), (1, 1));
    assert_eq!(rows[0].state(), outbox::State::Sent, "{:?}", rows[0]);
    assert_eq!((mails[0]["login"].as_str(), rcpt(&mails[0])), (Some("cascade"), vec!["ops@example.org"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_does_not_keep_the_mail_from_the_others() {
    let refuse = ["bob@example.net", "gone@example.org", "lost@example.org"];
    let smtp = Smtp::start(&SmtpOptions { refuse: &refuse, ..Default::default() });
    let mut body = OUTCOMES.to_owned();
    // bob's address is made up from the lookup domain, where he has no mailbox.
    body.push_str(&reporter(
        "some",
        smtp.port,
        "lookup = \"example.net\"\nextra_recipients = [\"list@example.org\", \"ops@example.org\"]",
    ));
    body.push_str(&reporter(
        "none",
        smtp.port,
        "send_to_interested_users = false\nextra_recipients = [\"gone@example.org\", \"lost@example.org\"]",
    ));
    body.push_str(&reporter(
        "one",
        smtp.port,
        "send_to_interested_users = false\nextra_recipients = [\"gone@example.org\"]",
    ));
    let m = start("", &body, Arc::new(SystemClock)).await;
    let bob = NewChange { author: "bob".into(), ..change(1, "pass") };
    m.engine.add_changes(vec![bob]).await.unwrap();

    let settled_row = |name: &'static str| {
        row_where(&m.engine, "build:1", move |r| r.reporter == name && r.state() != outbox::State::Pending)
    };
    let some = settled_row("some").await;
    assert_eq!((some.state(), some.attempts, some.last_error.as_deref()), (outbox::State::Sent, 0, None));
    let none = settled_row("none").await;
    assert_eq!((none.state(), none.attempts), (outbox::State::Failed, 1), "{none:?}");
    let error = none.last_error.unwrap();
    assert!(
        error.starts_with("refused for each recipient: gone@example.org: ")
            && error.contains("; lost@example.org: ")
            && error.contains("550"),
        "{error}"
    );
    let one = settled_row("one").await;
    assert_eq!((one.state(), one.attempts), (outbox::State::Failed, 1), "{one:?}");
    assert!(one.last_error.as_deref().unwrap().contains("550"), "{one:?}");

    // Every row is settled: these are all the mails there will be. The others got the
    // very message bob's address was refused for, each in an envelope of their own.
    let mails = smtp.mails();
    let envelopes: Vec<Vec<&str>> = mails.iter().map(rcpt).collect();
    assert_eq!(envelopes, [["list@example.org"], ["ops@example.org"]]);
    assert_eq!(
        (mails[0]["to"].as_str(), mails[0]["cc"].as_str()),
        (Some("bob@example.net"), Some("list@example.org, ops@example.org"))
    );
    let raw = |n: usize| std::fs::read(smtp.dir.path().join(format!("{n:04}.eml"))).unwrap();
    assert_eq!(raw(1), raw(2), "the same bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_waits_for_a_server_that_is_down_and_leaves_once_it_is_up() {
    let port = free_port();
    let extra = "send_to_interested_users = false\nextra_recipients = [\"ops@example.org\"]";
    let body = format!("{OUTCOMES}{}", reporter("patient", port, extra));
    let clock = ManualClock::new(1_000_000);
    let m = start("", &body, clock.clone()).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change(1, "fail")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let row = row_where(&m.engine, "build:1", |r| r.attempts >= 1).await;
    assert_eq!(row.state(), outbox::State::Pending);
    assert!(row.next_attempt_at > clock.now());
    assert!(row.last_error.as_deref().unwrap().contains("Connection"), "{:?}", row.last_error);

    let smtp = Smtp::start_on(port, &SmtpOptions::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.mails().is_empty() {
        assert!(Instant::now() < deadline, "the mail never left");
        clock.advance(3600);
        m.engine.reporters.wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Cascade failure in test on app");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].attempts >= 1 && rows[0].state() == outbox::State::Sent, "{:?}", rows[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_with_nobody_to_send_to_counts_as_sent() {
    let smtp = Smtp::start(&SmtpOptions::default());
    let body = format!(
        "{OUTCOMES}\n[[schedulers]]\nname = \"force\"\nkind = \"force\"\nbuilders = [\"app\"]\n{}",
        reporter("owners-only", smtp.port, "mode = \"all\"")
    );
    let m = start("", &body, Arc::new(SystemClock)).await;
    let mut rx = m.engine.bus.subscribe();
    // Nobody: no changes, an owner without an address.
    let nobody = ForceRequest { owner: Some("someone".into()), ..Default::default() };
    m.engine.force("app", nobody).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let ann = ForceRequest { owner: Some("ann@example.org".into()), ..Default::default() };
    m.engine.force("app", ann).await.unwrap();
    // The reporter sends in order: once the second mail is in, the first was handled.
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert!(part(&mails[0], "text/plain").contains("http://localhost:8010/builders/app/builds/2\n"));
    let first = row_where(&m.engine, "build:1", |r| r.state() != outbox::State::Pending).await;
    assert_eq!((first.state(), first.attempts, first.last_error), (outbox::State::Sent, 0, None));
}

// The previous finished build, as `change` and `problem` see it.
#[tokio::test]
async fn the_previous_build_is_the_last_finished_one_of_the_builder_and_branch() {
    use cascade::db::builds::NewBuild;
    use cascade::db::buildsets::{NewBuildSet, NewSourceStamp};
    let t = TestDb::new().await;
    let mut c = t.db.acquire().await.unwrap();
    let builder = db::builders::upsert(c.conn(), "app", None, &[]).await.unwrap();
    let other = db::builders::upsert(c.conn(), "other", None, &[]).await.unwrap();
    let master = db::masters::upsert(c.conn(), "m", 1).await.unwrap();
    let worker = db::workers::upsert(c.conn(), "w").await.unwrap();
    let props = Default::default();
    let set = NewBuildSet { reason: "r".into(), scheduler: "s".into(), ..Default::default() };
    let (set, _) = db::buildsets::insert(c.conn(), &set, &[], &[], 1).await.unwrap();
    // Builds of `app` started at `at` on `branch`, ending with `results` (None: running).
    let mut add = async |builder, branch: Option<&str>, at: i64, results: Option<Results>| {
        let request = db::buildrequests::insert(c.conn(), set, builder, 0, at).await.unwrap();
        let source = NewSourceStamp { branch: branch.map(str::to_owned), ..Default::default() };
        let new = NewBuild {
            builder_id: builder,
            buildrequest_id: request,
            worker_id: worker,
            master_id: master,
            reason: "r",
            properties: &props,
            source: &source,
        };
        let (id, _) = db::builds::insert(c.conn(), &new, at).await.unwrap();
        if let Some(r) = results {
            db::builds::finish(c.conn(), id, r, "t", at + 1).await.unwrap();
        }
        db::builds::get(c.conn(), id).await.unwrap()
    };
    let main_ok = add(builder, Some("main"), 10, Some(Results::Success)).await;
    let _dev_failed = add(builder, Some("dev"), 20, Some(Results::Failure)).await;
    let _other_builder = add(other, Some("main"), 25, Some(Results::Failure)).await;
    let _retried = add(builder, Some("main"), 30, Some(Results::Retry)).await;
    let _running = add(builder, Some("main"), 40, None).await;
    let trunk_failed = add(builder, None, 45, Some(Results::Failure)).await;
    let main_now = add(builder, Some("main"), 50, Some(Results::Failure)).await;
    let trunk_now = add(builder, None, 60, Some(Results::Success)).await;
    let first_dev = add(builder, Some("dev"), 5, Some(Results::Success)).await;

    let db = &t.db;
    let previous = |b| async move {
        let mut c = db.acquire().await.unwrap();
        db::builds::previous_finished(c.conn(), &b).await.unwrap().map(|p| p.id)
    };
    assert_eq!(previous(main_now).await, Some(main_ok.id), "running, retried, other branches and builders skipped");
    assert_eq!(previous(trunk_now).await, Some(trunk_failed.id), "a null branch matches null");
    assert_eq!(previous(trunk_failed).await, None);
    assert_eq!(previous(first_dev).await, None, "builds started later do not count");
    assert_eq!(previous(main_ok).await, None);
}

#[tokio::test]
async fn users_are_found_by_any_attribute_identifier_or_login_and_patches_by_buildset() {
    let t = TestDb::new().await;
    let mut c = t.db.acquire().await.unwrap();
    let attr = |t: &str, d: &str| db::users::Attribute { attr_type: t.into(), attr_data: d.into() };
    let ann = db::users::insert(c.conn(), "ann-id", Some("ann"), None).await.unwrap();
    db::users::set_attributes(c.conn(), ann, &[attr("git", "Ann <ann@home>"), attr("email", "ann@work.example.org")])
        .await
        .unwrap();
    let bob = db::users::insert(c.conn(), "bob", None, None).await.unwrap();
    db::users::set_attributes(c.conn(), bob, &[attr("svn", "bobby")]).await.unwrap();
    let names: Vec<String> = ["Ann <ann@home>", "ann", "ann-id", "bobby", "nobody"].map(String::from).into();
    let found = db::users::emails_of(c.conn(), &names).await.unwrap();
    let mut found: Vec<(String, String)> = found.into_iter().collect();
    found.sort();
    let ann_at = |n: &str| (n.to_owned(), "ann@work.example.org".to_owned());
    assert_eq!(found, [ann_at("Ann <ann@home>"), ann_at("ann"), ann_at("ann-id")], "bob has no email");
    assert!(db::users::emails_of(c.conn(), &[]).await.unwrap().is_empty());

    let set = db::buildsets::NewBuildSet { reason: "r".into(), scheduler: "s".into(), ..Default::default() };
    let stamps = [
        db::buildsets::NewSourceStamp { codebase: "lib".into(), ..Default::default() },
        db::buildsets::NewSourceStamp { codebase: "app".into(), ..Default::default() },
    ];
    let (id, ss) = db::buildsets::insert(c.conn(), &set, &stamps, &[], 1).await.unwrap();
    assert!(db::buildsets::patches(c.conn(), id).await.unwrap().is_empty());
    let patch = db::buildsets::Patch {
        body: vec![0xff, 0x00, b'x'],
        level: Some(1),
        subdir: Some("src".into()),
        ..Default::default()
    };
    db::buildsets::set_patch(c.conn(), ss[1], &patch).await.unwrap();
    let got = db::buildsets::patches(c.conn(), id).await.unwrap();
    assert_eq!(got, [db::buildsets::Patch { codebase: "app".into(), ..patch }]);
}
