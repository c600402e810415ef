//! Mail delivery against a real mail server (Debian's aiosmtpd, started per test on
//! 127.0.0.1): TLS, logins, refusals, a server that is down, nothing to send, and the
//! repository queries the mail reporter reads, on SQLite and (with
//! CASCADE_TEST_DATABASE_URL) PostgreSQL. What the mails say is in `mail.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod mail_peer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade::db::{self, outbox};
use cascade::engine::clock::{Clock, ManualClock, SystemClock};
use cascade::model::{ForceRequest, NewChange, Results};
use common::{TestDb, TestMaster, wait_finished};
use mail_peer::*;

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
        m.engine.reporters().wake();
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

/// A master whose mail reporter's server (on the port returned) is down, with the mail of a
/// failed build tried once and waiting in the outbox (the row returned); its clock stands
/// still unless the test moves it.
async fn a_mail_for_a_server_that_is_down() -> (TestMaster, u16, Arc<ManualClock>, outbox::Message) {
    let port = free_port();
    let extra = "send_to_interested_users = false\nextra_recipients = [\"ops@example.org\"]";
    let body = format!("{OUTCOMES}{}", reporter("patient", port, extra));
    let clock = ManualClock::new(1_000_000);
    let m = start("", &body, clock.clone()).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change(1, "fail")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let row = row_where(&m.engine, "build:1", |r| r.attempts >= 1).await;
    (m, port, clock, row)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_waits_for_a_server_that_is_down_and_leaves_once_it_is_up() {
    let (m, port, clock, row) = a_mail_for_a_server_that_is_down().await;
    assert_eq!(row.state(), outbox::State::Pending);
    assert!(row.next_attempt_at > clock.now());
    assert!(row.last_error.as_deref().unwrap().contains("Connection"), "{:?}", row.last_error);

    let smtp = Smtp::start_on(port, &SmtpOptions::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.mails().is_empty() {
        assert!(Instant::now() < deadline, "the mail never left");
        clock.advance(3600);
        m.engine.reporters().wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Cascade failure in test on app");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].attempts >= 1 && rows[0].state() == outbox::State::Sent, "{:?}", rows[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_back_after_a_long_outage_gets_the_mail_before_the_backoff_runs_out() {
    // The clock stands still: only the sender's looks at the server can make the mail due.
    let (m, port, clock, row) = a_mail_for_a_server_that_is_down().await;
    // Down for long: the next attempt is an hour off.
    {
        let mut conn = m.engine.db.acquire().await.unwrap();
        outbox::mark_failed(conn.conn(), row.id, "connection refused", Some(clock.now() + 3600), clock.now())
            .await
            .unwrap();
    }

    let smtp = Smtp::start_on(port, &SmtpOptions::default());
    let (rows, mails) = settled(&m.engine, &smtp).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Cascade failure in test on app");
    assert_eq!((rows.len(), rows[0].state()), (1, outbox::State::Sent), "{rows:?}");
    assert_eq!(clock.now(), 1_000_000);
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
