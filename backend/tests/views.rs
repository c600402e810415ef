//! The overview pages' view endpoints (`/api/v1/views/waterfall`, `/grid`, `/console`) over
//! hand-built histories written through the repositories, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cascade::db::buildrequests::PastRequest;
use cascade::db::builds::{NewBuild, PastBuild};
use cascade::db::buildsets::{NewBuildSet, NewSourceStamp, PastBuildSet};
use cascade::db::logs::PastLog;
use cascade::db::steps::PastStep;
use cascade::db::{self};
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::{ChangeId, NewChange, Results};
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::Value;

use common::TestDb;

const WEB: &str = r#"
revlink = "https://git.example.org/commit/%s"
changecommentlink = { regex = '#(\d+)', url = 'https://bugs.example.org/\1', title = 'Ticket \g<0>' }
projects = { app = "https://example.org/app" }
"#;

const BODY: &str = r#"
[[builders]]
name = "linux"
tags = ["app|x86"]
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[builders]]
name = "mac"
tags = ["app"]
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[builders]]
name = "docs"
tags = ["docs"]
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["linux", "mac"]
[[schedulers]]
name = "force"
kind = "force"
builders = ["linux", "mac", "docs"]
"#;

struct Views {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    /// Every time in the history is `t0 + seconds`.
    t0: i64,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// One past build of the fixture history.
struct B {
    builder: &'static str,
    number: i64,
    start: i64,
    secs: i64,
    results: Results,
    branch: &'static str,
    revision: &'static str,
    changes: &'static [usize],
}

const fn b(
    builder: &'static str,
    number: i64,
    start: i64,
    results: Results,
    revision: &'static str,
    changes: &'static [usize],
) -> B {
    B { builder, number, start, secs: 30, results, branch: "main", revision, changes }
}

/// Changes of the history: (seconds, author, branch, revision, comment).
type C = (i64, &'static str, &'static str, &'static str, &'static str);

async fn views(changes: &[C], builds: &[B]) -> Views {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config_with_web(dir.path(), WEB, BODY, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let t0 = chrono::Utc::now().timestamp() - 100_000;
    let mut tx = engine.db.begin().await.unwrap();
    let new_changes: Vec<(NewChange, i64)> = changes
        .iter()
        .map(|(at, author, branch, revision, comment)| {
            (
                NewChange {
                    author: (*author).into(),
                    comments: (*comment).into(),
                    revision: Some((*revision).into()),
                    branch: Some((*branch).into()),
                    repository: "https://git.example.org/app".into(),
                    project: "app".into(),
                    when: Some(t0 + at - 5),
                    files: vec!["README".into()],
                    ..Default::default()
                },
                t0 + at,
            )
        })
        .collect();
    let change_ids = db::changes::insert_many(tx.conn(), &new_changes).await.unwrap();
    let master = engine.master;
    let worker = db::workers::upsert(tx.conn(), "local").await.unwrap();
    let stamps: Vec<NewSourceStamp> = builds
        .iter()
        .map(|x| NewSourceStamp {
            branch: Some(x.branch.into()),
            revision: (!x.revision.is_empty()).then(|| x.revision.into()),
            project: "app".into(),
            repository: "https://git.example.org/app".into(),
            ..Default::default()
        })
        .collect();
    let set = NewBuildSet { reason: "test".into(), scheduler: "main".into(), ..Default::default() };
    let links: Vec<Vec<ChangeId>> = builds.iter().map(|x| x.changes.iter().map(|i| change_ids[*i]).collect()).collect();
    let sets: Vec<PastBuildSet<'_>> = builds
        .iter()
        .zip(&stamps)
        .zip(&links)
        .map(|((x, stamp), changes)| PastBuildSet {
            set: &set,
            stamp,
            changes,
            submitted_at: t0 + x.start,
            complete_at: t0 + x.start + x.secs,
            results: x.results,
        })
        .collect();
    let set_ids = db::buildsets::insert_many(tx.conn(), &sets).await.unwrap();
    let requests: Vec<PastRequest> = builds
        .iter()
        .zip(&set_ids)
        .map(|(x, set)| PastRequest {
            buildset: *set,
            builder: engine.builder_id(x.builder).unwrap(),
            master,
            submitted_at: t0 + x.start,
            complete_at: t0 + x.start + x.secs,
            results: x.results,
        })
        .collect();
    let request_ids = db::buildrequests::insert_many(tx.conn(), &requests).await.unwrap();
    let props = BTreeMap::new();
    let texts: Vec<String> = builds.iter().map(|x| format!("{} text", x.results.name())).collect();
    let past: Vec<PastBuild<'_>> = builds
        .iter()
        .enumerate()
        .map(|(i, x)| PastBuild {
            new: NewBuild {
                builder_id: engine.builder_id(x.builder).unwrap(),
                buildrequest_id: request_ids[i],
                worker_id: worker,
                master_id: master,
                reason: "test",
                properties: &props,
                source: &stamps[i],
            },
            number: x.number,
            started_at: t0 + x.start,
            finished_at: t0 + x.start + x.secs,
            results: x.results,
            state_text: &texts[i],
        })
        .collect();
    let build_ids = db::builds::insert_many(tx.conn(), &past).await.unwrap();
    // Two steps each: `compile` succeeds, `test` ends as the build did.
    let steps: Vec<PastStep<'_>> = builds
        .iter()
        .zip(&build_ids)
        .flat_map(|(x, id)| {
            [("compile", Results::Success), ("test", x.results)].into_iter().enumerate().map(move |(i, (name, r))| {
                PastStep {
                    build: *id,
                    number: i as i64 + 1,
                    name,
                    state_text: format!("{name} {}", r.name()),
                    results: r,
                    started_at: t0 + x.start,
                    finished_at: t0 + x.start + x.secs,
                }
            })
        })
        .collect();
    let step_ids = db::steps::insert_many(tx.conn(), &steps).await.unwrap();
    let logs: Vec<PastLog<'_>> = step_ids
        .iter()
        .map(|s| PastLog {
            step: *s,
            name: "stdio",
            slug: "stdio",
            num_lines: 1,
            raw_bytes: 3,
            chunk: zstd::bulk::compress(b"ohi\n", 3).unwrap(),
        })
        .collect();
    db::logs::insert_many(tx.conn(), &logs).await.unwrap();
    tx.commit().await.unwrap();
    Views { client: TestClient::new(cascade::server::app(engine.clone())), engine, t0, _db: tdb, _dir: dir }
}

impl Views {
    async fn get(&self, path: &str) -> Value {
        let resp = self.client.get(path).send().await;
        resp.assert_status_is_ok();
        resp.0.into_body().into_json().await.unwrap()
    }

    async fn status(&self, path: &str) -> StatusCode {
        self.client.get(path).send().await.0.status()
    }
}

fn builds_of(page: &Value) -> Vec<String> {
    page["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{}#{}", b["builder"].as_str().unwrap(), b["number"]))
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect()
}

const HISTORY: &[B] = &[
    b("linux", 1, 100, Results::Success, "r1", &[0]),
    b("mac", 1, 105, Results::Success, "r1", &[0]),
    b("linux", 2, 200, Results::Failure, "r2", &[1]),
    b("mac", 2, 230, Results::Success, "r2", &[1]),
    b("linux", 3, 300, Results::Failure, "r3", &[2]),
    b("docs", 1, 310, Results::Success, "", &[]),
    b("linux", 4, 400, Results::Success, "r4", &[3]),
];

const CHANGES: &[C] = &[
    (90, "Ann <ann@example.org>", "main", "r1", "first, see #12"),
    (190, "Bob <bob@example.org>", "main", "r2", "second"),
    (290, "Ann <ann@example.org>", "main", "r3", "third <b>bold</b>"),
    (390, "Bob <bob@example.org>", "dev", "r4", "fourth"),
];

#[tokio::test]
async fn the_waterfall_pages_back_through_history_without_repeats_or_gaps() {
    let v = views(CHANGES, HISTORY).await;
    let page = v.get("/api/v1/views/waterfall?num_events=3").await;
    assert_eq!(names(&page["builders"]), ["linux", "mac", "docs"]);
    assert_eq!(builds_of(&page), ["linux#4", "docs#1", "linux#3"]);
    assert_eq!(page["num_events"], 3);
    let next = page["next_last_time"].as_i64().unwrap();
    assert_eq!(next, v.t0 + 230, "the next page starts at the first build left out");
    // The changes column holds the same window: changes after the cut.
    let changes: Vec<i64> = page["changes"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(changes.len(), 2);

    let older = v.get(&format!("/api/v1/views/waterfall?num_events=3&last_time={next}")).await;
    assert_eq!(builds_of(&older), ["mac#2", "linux#2", "mac#1"]);
    let last = v.get(&format!("/api/v1/views/waterfall?num_events=3&last_time={}", older["next_last_time"])).await;
    assert_eq!(builds_of(&last), ["linux#1"]);
    assert!(last.get("next_last_time").is_none(), "the beginning of history: {last}");
    // Steps and their logs come with the builds.
    let steps = &last["builds"][0]["steps"];
    assert_eq!(steps.as_array().unwrap().len(), 2);
    assert_eq!(steps[1]["logs"][0]["slug"], "stdio");
}

#[tokio::test]
async fn waterfall_arguments_choose_columns_builds_and_changes() {
    let v = views(CHANGES, HISTORY).await;
    let page = v.get("/api/v1/views/waterfall?builder=mac&show=docs").await;
    assert_eq!(names(&page["builders"]), ["mac", "docs"]);
    assert_eq!(builds_of(&page), ["docs#1", "mac#2", "mac#1"]);

    let page = v.get("/api/v1/views/waterfall?category=docs").await;
    assert_eq!(names(&page["builders"]), ["docs"]);

    let page = v.get("/api/v1/views/waterfall?failures_only=true").await;
    assert!(names(&page["builders"]).is_empty(), "every builder's last build passed");

    let page = v.get("/api/v1/views/waterfall?committer=Ann%20%3Cann@example.org%3E&show_time=1000000").await;
    assert_eq!(builds_of(&page), ["linux#3", "mac#1", "linux#1"]);
    let authors: Vec<&str> =
        page["changes"].as_array().unwrap().iter().map(|c| c["author"].as_str().unwrap()).collect();
    assert_eq!(authors, ["Ann <ann@example.org>", "Ann <ann@example.org>"]);

    let page = v.get("/api/v1/views/waterfall?branch=dev&first_time=0").await;
    assert!(builds_of(&page).is_empty());
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);

    let page = v.get("/api/v1/views/waterfall?project=app&project=other&first_time=0").await;
    assert_eq!(builds_of(&page).len(), 7);

    let window = v.get(&format!("/api/v1/views/waterfall?last_time={}&first_time={}", v.t0 + 300, v.t0 + 200)).await;
    assert_eq!(builds_of(&window), ["linux#3", "mac#2", "linux#2"]);
}

#[tokio::test]
async fn show_events_adds_worker_and_master_events() {
    let v = views(CHANGES, HISTORY).await;
    let plain = v.get("/api/v1/views/waterfall").await;
    assert!(plain["events"].as_array().unwrap().is_empty());
    let page = v.get("/api/v1/views/waterfall?show_events=true").await;
    let kinds: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"master.started"), "{kinds:?}");
    assert!(kinds.contains(&"worker.connected"), "{kinds:?}");
    let worker = page["events"].as_array().unwrap().iter().find(|e| e["type"] == "worker.connected").unwrap();
    assert_eq!(worker["name"], "local");
}

#[tokio::test]
async fn changes_carry_their_links_and_their_text_stays_text() {
    let v = views(CHANGES, HISTORY).await;
    let page = v.get("/api/v1/views/waterfall?first_time=0").await;
    let first = page["changes"].as_array().unwrap().iter().find(|c| c["revision"] == "r1").unwrap();
    assert_eq!(first["revlink"], "https://git.example.org/commit/r1");
    assert_eq!(first["project_url"], "https://example.org/app");
    let parts = first["comment_parts"].as_array().unwrap();
    assert_eq!(parts[0]["text"], "first, see ");
    assert_eq!(parts[1]["text"], "#12");
    assert_eq!(parts[1]["url"], "https://bugs.example.org/12");
    assert_eq!(parts[1]["title"], "Ticket #12");
    let third = page["changes"].as_array().unwrap().iter().find(|c| c["revision"] == "r3").unwrap();
    assert_eq!(third["comments"], "third <b>bold</b>");
    assert!(third.get("comment_parts").is_none());
}

#[tokio::test]
async fn the_grid_has_stamp_columns_and_each_builder_s_newest_build_of_them() {
    let v = views(CHANGES, HISTORY).await;
    let grid = v.get("/api/v1/views/grid").await;
    let stamps: Vec<&str> =
        grid["stamps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap_or("latest")).collect();
    assert_eq!(stamps, ["r1", "r2", "r3", "latest", "r4"]);
    assert_eq!(grid["stamps"][0]["revlink"], "https://git.example.org/commit/r1");
    let rows: Vec<&str> =
        grid["rows"].as_array().unwrap().iter().map(|r| r["builder"]["name"].as_str().unwrap()).collect();
    assert_eq!(rows, ["docs", "linux", "mac"], "builders by name");
    let linux: Vec<Value> =
        grid["rows"][1]["cells"].as_array().unwrap().iter().map(|c| c["build"]["number"].clone()).collect();
    assert_eq!(linux, [1.into(), 2.into(), 3.into(), Value::Null, 4.into()]);
    assert_eq!(grid["rows"][1]["cells"][1]["build"]["results"], "failure");

    let narrow = v.get("/api/v1/views/grid?width=2&category=app").await;
    let stamps: Vec<&str> =
        narrow["stamps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(stamps, ["r3", "r4"]);
    assert_eq!(narrow["rows"].as_array().unwrap().len(), 2);
    let tgrid = v.get("/api/v1/views/grid?length=1").await;
    assert_eq!(tgrid["stamps"].as_array().unwrap().len(), 1);
    let none = v.get("/api/v1/views/grid?branch=release").await;
    assert!(none["stamps"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn console_boxes_tell_new_failures_from_failures_again() {
    let v = views(CHANGES, HISTORY).await;
    let console = v.get("/api/v1/views/console").await;
    assert_eq!(names(&console["builders"]), ["linux", "mac", "docs"]);
    let rows = console["rows"].as_array().unwrap();
    let revisions: Vec<&str> = rows.iter().map(|r| r["change"]["revision"].as_str().unwrap()).collect();
    assert_eq!(revisions, ["r4", "r3", "r2", "r1"]);
    let classes = |i: usize| -> Vec<&str> {
        rows[i]["boxes"].as_array().unwrap().iter().map(|b| b["class"].as_str().unwrap()).collect()
    };
    // r4 is on `dev`: the main scheduler would not build it on mac; docs builds no change.
    assert_eq!(classes(0), ["success", "notinbuilder", "notinbuilder"]);
    assert_eq!(classes(1), ["failure-again", "notstarted", "notinbuilder"]);
    assert_eq!(classes(2), ["failure", "success", "notinbuilder"]);
    assert_eq!(classes(3), ["success", "success", "notinbuilder"]);
    let failed = &rows[2]["boxes"][0]["failed_steps"];
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["name"], "test");
    assert_eq!(failed[0]["logs"][0]["slug"], "stdio");
    assert_eq!(rows[2]["boxes"][0]["build"]["number"], 2);
    assert_eq!(rows[1]["change_ids"].as_array().unwrap().len(), 1);

    let ann = v.get("/api/v1/views/console?name=Ann%20%3Cann@example.org%3E&builder=linux").await;
    assert_eq!(names(&ann["builders"]), ["linux"]);
    assert_eq!(ann["rows"].as_array().unwrap().len(), 2);
    let dev = v.get("/api/v1/views/console?branch=dev&revs=1").await;
    assert_eq!(dev["rows"].as_array().unwrap().len(), 1);
    let none = v.get("/api/v1/views/console?repository=https://elsewhere").await;
    assert!(none["rows"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_revision_seen_twice_is_one_console_row() {
    let changes: &[C] =
        &[(90, "Ann <ann@example.org>", "main", "r1", "once"), (95, "Ann <ann@example.org>", "main", "r1", "twice")];
    let builds = [b("linux", 1, 100, Results::Success, "r1", &[0])];
    let v = views(changes, &builds).await;
    let console = v.get("/api/v1/views/console").await;
    let rows = console["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["change_ids"].as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["boxes"][0]["class"], "success", "the build of the older copy counts");
}

#[tokio::test]
async fn bad_view_arguments_are_refused_with_a_reason() {
    let v = views(&[], &[]).await;
    for path in [
        "/api/v1/views/waterfall?last_time=-5",
        "/api/v1/views/waterfall?show_events=maybe",
        "/api/v1/views/waterfall?num_events=x",
        "/api/v1/views/grid?width=0",
        "/api/v1/views/grid?length=101",
        "/api/v1/views/console?revs=0",
        "/api/v1/views/console?revs=201",
    ] {
        assert_eq!(v.status(path).await, StatusCode::BAD_REQUEST, "{path}");
    }
    let empty = v.get("/api/v1/views/waterfall?num_events=100000").await;
    assert_eq!(empty["num_events"], 1000, "capped by num_events_max");
    assert!(builds_of(&empty).is_empty());
    let _ = &v.engine;
}
