//! The mail reporter against a real mail server (Debian's aiosmtpd, started per test on
//! 127.0.0.1 by `fixtures/smtp_server.py`), with real builds on the embedded worker, on
//! SQLite and (with CASCADE_TEST_DATABASE_URL) PostgreSQL. Each received message is read by
//! Python's email parser; the tests check headers, envelope, MIME structure, attachments
//! and bodies. Absence is never waited for: a test that must see no more mail waits until
//! every outbox row is settled and counts the messages against the rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod mail_peer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade::db::{self, outbox};
use cascade::engine::Engine;
use cascade::engine::actions::Request;
use cascade::engine::clock::{ManualClock, SystemClock};
use cascade::model::{NewChange, Results};
use common::wait_finished;
use mail_peer::*;
use serde_json::{Value, json};

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
