//! Commit statuses against a stand-in for the GitHub and GitLab APIs on 127.0.0.1, with real builds on
//! the embedded worker, on SQLite and (with CASCADE_TEST_DATABASE_URL) PostgreSQL. Every
//! request's method, path, headers and JSON body are checked. Absence is never waited for:
//! a test that must see no request waits for a later one that is sent after it would have
//! been.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod forge_peer;

use std::time::{Duration, Instant};

use cascade::db::outbox;
use cascade::engine::actions::Request;
use cascade::engine::clock::{Clock, ManualClock};
use cascade::model::{NewChange, Results};
use common::{TestMaster, wait_finished};
use forge_peer::{Api, Received, row_where, rows};
use serde_json::{Value, json};

const BUILDERS: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [{ name = "work", command = "{% if prop.outcome == 'fail' %}false{% elif prop.outcome == 'slow' %}sleep 60{% else %}true{% endif %}" }]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
"#;

fn reporter(api: &Api, extra: &str) -> String {
    format!(
        "[[reporters]]\nkind = \"github_status\"\ntoken = \"s3cret\"\nbase_url = \"{}/api/v3\"\n{extra}\n",
        api.url()
    )
}

fn change(repository: &str, revision: Option<&str>, outcome: &str) -> NewChange {
    NewChange {
        author: "alice".into(),
        branch: Some("main".into()),
        repository: repository.into(),
        revision: revision.map(str::to_owned),
        properties: [("outcome".to_string(), json!(outcome))].into(),
        ..Default::default()
    }
}

fn check(r: &Received, path: &str, body: Value) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, path);
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(r.header("user-agent"), Some("Cascade"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, body);
}

fn status(state: &str, number: i64, description: &str, context: &str) -> Value {
    json!({
        "state": state,
        "target_url": format!("http://localhost:8010/builders/app/builds/{number}"),
        "description": description,
        "context": context,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_post_pending_then_their_end_state() {
    let api = Api::start(&[]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, ""))).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", Some("abc123"), "pass")]).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Success));
    let got = api.wait_for(2).await;
    let path = "/api/v3/repos/acme/widget/statuses/abc123";
    check(&got[0], path, status("pending", 1, "Build started.", "cascade/app"));
    check(&got[1], path, status("success", 1, "Build done.", "cascade/app"));

    m.engine.add_changes(vec![change("git@github.com:acme/gadget.git", Some("def456"), "fail")]).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Failure));
    let got = api.wait_for(4).await;
    let path = "/api/v3/repos/acme/gadget/statuses/def456";
    check(&got[2], path, status("pending", 2, "Build started.", "cascade/app"));
    check(&got[3], path, status("failure", 2, "Build done.", "cascade/app"));
    let keys: Vec<_> = rows(&m.engine).await.into_iter().map(|r| (r.key.clone().unwrap(), r.state())).collect();
    let sent = outbox::State::Sent;
    assert_eq!(
        keys,
        [
            ("build:1:started".to_owned(), sent),
            ("build:1:finished".to_owned(), sent),
            ("build:2:started".to_owned(), sent),
            ("build:2:finished".to_owned(), sent)
        ]
    );
    assert_eq!(api.received().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_choose_the_repository_commit_and_words() {
    let api = Api::start(&[]).await;
    let extra = "repo_owner = \"{{ prop.owner }}\"\nrepo_name = \"tool\"\nsha = \"{{ prop.sha }}\"\n\
                 context = \"ci/{{ builder }}/{{ branch }}\"\nstart_description = \"#{{ number }} running\"\n\
                 end_description = \"#{{ number }} {{ results }}\"";
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, extra))).await;
    let mut rx = m.engine.bus.subscribe();
    let mut c = change("/srv/git/tool", Some("r1"), "pass");
    c.properties.insert("owner".into(), json!("team"));
    c.properties.insert("sha".into(), json!("f00d"));
    m.engine.add_changes(vec![c]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let got = api.wait_for(2).await;
    let path = "/api/v3/repos/team/tool/statuses/f00d";
    check(&got[0], path, status("pending", 1, "#1 running", "ci/app/main"));
    check(&got[1], path, status("success", 1, "#1 success", "ci/app/main"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_without_a_revision_or_a_github_repository_posts_nothing() {
    let api = Api::start(&[]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, ""))).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", None, "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    m.engine.add_changes(vec![change("/srv/git/widget", Some("abc"), "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    // Decisions commit with the build's end: neither build stored a status.
    assert!(rows(&m.engine).await.is_empty(), "{:?}", rows(&m.engine).await);
    m.engine.add_changes(vec![change("https://github.com/acme/widget", Some("abc"), "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let got = api.wait_for(2).await;
    check(&got[0], "/api/v3/repos/acme/widget/statuses/abc", status("pending", 3, "Build started.", "cascade/app"));
    check(&got[1], "/api/v3/repos/acme/widget/statuses/abc", status("success", 3, "Build done.", "cascade/app"));
    let keys: Vec<_> = rows(&m.engine).await.into_iter().map(|r| r.key.unwrap()).collect();
    assert_eq!(keys, ["build:3:started", "build:3:finished"]);
    assert_eq!(api.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_retried_and_the_status_delivered_once() {
    let api = Api::start(&[(500, "{\"message\":\"busy\"}")]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, "max_retry_delay = 1"))).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", Some("abc"), "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let started = row_where(&m.engine, "build:1:started", |r| r.state() == outbox::State::Sent).await;
    // One failed attempt, then sent.
    assert_eq!(started.attempts, 1, "{started:?}");
    assert!(started.last_error.as_deref().is_some_and(|e| e.contains("500 {\"message\":\"busy\"}")), "{started:?}");
    row_where(&m.engine, "build:1:finished", |r| r.state() == outbox::State::Sent).await;
    let got = api.received();
    assert_eq!(got.len(), 3, "{got:#?}");
    let pending = status("pending", 1, "Build started.", "cascade/app");
    check(&got[0], "/api/v3/repos/acme/widget/statuses/abc", pending.clone());
    check(&got[1], "/api/v3/repos/acme/widget/statuses/abc", pending);
    check(&got[2], "/api/v3/repos/acme/widget/statuses/abc", status("success", 1, "Build done.", "cascade/app"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_back_after_a_long_outage_gets_the_statuses_before_the_backoff_runs_out() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!(
        "[[reporters]]\nkind = \"github_status\"\ntoken = \"s3cret\"\nbase_url = \"http://127.0.0.1:{port}/api/v3\"\n"
    );
    // The clock stands still: only the sender's looks at the forge can make the statuses due.
    let clock = ManualClock::new(1_000_000);
    let m = TestMaster::start_with_clock(&format!("{BUILDERS}{down}"), clock.clone()).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", Some("abc"), "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let started = row_where(&m.engine, "build:1:started", |r| r.attempts >= 1).await;
    assert!(started.last_error.as_deref().is_some_and(|e| e.contains("POST")), "{started:?}");
    // Down for long: the next attempt is an hour off.
    {
        let mut conn = m.engine.db.acquire().await.unwrap();
        outbox::mark_failed(conn.conn(), started.id, "connection refused", Some(clock.now() + 3600), clock.now())
            .await
            .unwrap();
    }

    let api = Api::start_on(port, &[]).await;
    row_where(&m.engine, "build:1:started", |r| r.state() == outbox::State::Sent).await;
    row_where(&m.engine, "build:1:finished", |r| r.state() == outbox::State::Sent).await;
    let got = api.received();
    assert_eq!(got.len(), 2, "{got:#?}");
    check(&got[0], "/api/v3/repos/acme/widget/statuses/abc", status("pending", 1, "Build started.", "cascade/app"));
    check(&got[1], "/api/v3/repos/acme/widget/statuses/abc", status("success", 1, "Build done.", "cascade/app"));
    assert_eq!(clock.now(), 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_status_fails_for_good() {
    let api = Api::start(&[(422, "{\"message\":\"No commit found for SHA: abc\"}")]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, ""))).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", Some("abc"), "pass")]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let failed = row_where(&m.engine, "build:1:started", |r| r.state() == outbox::State::Failed).await;
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.unwrap();
    assert!(error.contains("422") && error.contains("No commit found for SHA: abc"), "{error}");
    // Later messages still go: the end is sent after the refused start.
    row_where(&m.engine, "build:1:finished", |r| r.state() == outbox::State::Sent).await;
    assert_eq!(api.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_build_posts_error_rather_than_staying_pending() {
    let api = Api::start(&[]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", reporter(&api, ""))).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.add_changes(vec![change("https://github.com/acme/widget.git", Some("abc"), "slow")]).await.unwrap();
    api.wait_for(1).await;
    let req = Request { actor: Some("tester".into()), reason: "enough".into() };
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.engine.stop_build("app", 1, &req).await.is_err() {
        assert!(Instant::now() < deadline, "build 1 never became stoppable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Cancelled));
    let got = api.wait_for(2).await;
    check(&got[0], "/api/v3/repos/acme/widget/statuses/abc", status("pending", 1, "Build started.", "cascade/app"));
    check(&got[1], "/api/v3/repos/acme/widget/statuses/abc", status("error", 1, "Build done.", "cascade/app"));
}

fn gitlab_reporter(api: &Api, extra: &str) -> String {
    format!("[[reporters]]\nkind = \"gitlab_status\"\ntoken = \"glpat\"\nbase_url = \"{}\"\n{extra}\n", api.url())
}

fn check_gitlab(r: &Received, path: &str, body: Value) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, path);
    assert_eq!(r.header("private-token"), Some("glpat"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("user-agent"), Some("Cascade"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, body);
}

fn gitlab_status(state: &str, number: i64, description: &str, name: &str) -> Value {
    json!({
        "state": state,
        "target_url": format!("http://localhost:8010/builders/app/builds/{number}"),
        "description": description,
        "name": name,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_builds_post_running_then_their_end_state() {
    let api = Api::start(&[]).await;
    let m = TestMaster::start(&format!("{BUILDERS}{}", gitlab_reporter(&api, ""))).await;
    let mut rx = m.engine.bus.subscribe();
    let repository = "https://gitlab.com/group/sub/widget.git";
    m.engine.add_changes(vec![change(repository, Some("abc123"), "pass")]).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Success));
    let got = api.wait_for(2).await;
    let path = "/api/v4/projects/group%2Fsub%2Fwidget/statuses/abc123";
    check_gitlab(&got[0], path, gitlab_status("running", 1, "Build started.", "cascade/app"));
    check_gitlab(&got[1], path, gitlab_status("success", 1, "Build done.", "cascade/app"));

    m.engine.add_changes(vec![change("git@gitlab.com:group/widget.git", Some("def456"), "fail")]).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Failure));
    let got = api.wait_for(4).await;
    let path = "/api/v4/projects/group%2Fwidget/statuses/def456";
    check_gitlab(&got[2], path, gitlab_status("running", 2, "Build started.", "cascade/app"));
    check_gitlab(&got[3], path, gitlab_status("failed", 2, "Build done.", "cascade/app"));

    m.engine.add_changes(vec![change(repository, Some("fed789"), "slow")]).await.unwrap();
    api.wait_for(5).await;
    let req = Request { actor: Some("tester".into()), reason: "enough".into() };
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.engine.stop_build("app", 3, &req).await.is_err() {
        assert!(Instant::now() < deadline, "build 3 never became stoppable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(wait_finished(&mut rx, "app", 60).await.results, Some(Results::Cancelled));
    let got = api.wait_for(6).await;
    let path = "/api/v4/projects/group%2Fsub%2Fwidget/statuses/fed789";
    check_gitlab(&got[4], path, gitlab_status("running", 3, "Build started.", "cascade/app"));
    check_gitlab(&got[5], path, gitlab_status("canceled", 3, "Build done.", "cascade/app"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_project_and_name_come_from_templates_and_refusals_fail_for_good() {
    let api = Api::start(&[(404, "{\"message\":\"404 Project Not Found\"}")]).await;
    let extra = "project = \"{{ prop.project_id }}\"\ncontext = \"ci/{{ builder }}\"";
    let m = TestMaster::start(&format!("{BUILDERS}{}", gitlab_reporter(&api, extra))).await;
    let mut rx = m.engine.bus.subscribe();
    let mut c = change("/srv/git/widget", Some("abc"), "pass");
    c.properties.insert("project_id".into(), json!(42));
    m.engine.add_changes(vec![c]).await.unwrap();
    wait_finished(&mut rx, "app", 60).await;
    let failed = row_where(&m.engine, "build:1:started", |r| r.state() == outbox::State::Failed).await;
    let error = failed.last_error.unwrap();
    assert!(error.contains("404 Project Not Found"), "{error}");
    row_where(&m.engine, "build:1:finished", |r| r.state() == outbox::State::Sent).await;
    let got = api.received();
    assert_eq!(got.len(), 2);
    check_gitlab(&got[0], "/api/v4/projects/42/statuses/abc", gitlab_status("running", 1, "Build started.", "ci/app"));
    check_gitlab(&got[1], "/api/v4/projects/42/statuses/abc", gitlab_status("success", 1, "Build done.", "ci/app"));
}
