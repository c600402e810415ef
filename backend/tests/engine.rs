//! Engine tests: changes and forces become builds on the embedded worker, with results,
//! logs and events; timers driven by an injected clock; recovery after an unclean stop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cascade::db::{self, builds::NewBuild};
use cascade::engine::Engine;
use cascade::engine::bus::Event;
use cascade::engine::clock::ManualClock;
use cascade::engine::logs;
use cascade::model::{ForceRequest, NewChange, Results};
use common::{TestMaster, wait_finished};

const TWO_STEPS: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [
  { name = "hello", command = ["sh", "-c", "echo hello; echo oops >&2"] },
  { name = "count", command = "for i in 1 2 3; do echo n$i; done", env = { GREETING = "hi" } },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
"#;

#[tokio::test]
async fn a_forced_build_runs_its_steps_and_stores_their_output() {
    let m = TestMaster::start(TWO_STEPS).await;
    let mut rx = m.engine.bus.subscribe();
    let request = ForceRequest { reason: "because".into(), owner: Some("alice".into()), ..Default::default() };
    let (_set, requests) = m.engine.force("app", request).await.unwrap();
    assert_eq!(requests.len(), 1);
    let build = wait_finished(&mut rx, "app", 30).await;
    assert_eq!(build.results, Some(Results::Success), "{build:?}");
    assert_eq!((build.number, build.state_text.as_str()), (1, "build successful"));
    assert!(build.reason.contains("alice") && build.reason.contains("because"), "{}", build.reason);

    let detail = m.engine.build_detail("app", 1).await.unwrap();
    let names: Vec<_> = detail.steps.iter().map(|s| (s.number, s.name.as_str(), s.results)).collect();
    assert_eq!(names, vec![(1, "hello", Some(Results::Success)), (2, "count", Some(Results::Success))]);
    let log = &detail.steps[0].logs[0];
    assert!(log.complete);
    let lines = logs::read_lines(&m.engine.db, log.id, 0, 100).await.unwrap();
    let out: Vec<_> = lines.iter().map(|l| (l.channel.code(), l.text.as_str())).collect();
    assert!(out.contains(&('o', "hello")), "{out:?}");
    assert!(out.contains(&('e', "oops")), "{out:?}");
    assert!(out.iter().any(|(c, t)| *c == 'h' && t.starts_with("argv:")), "{out:?}");
    assert!(out.iter().any(|(c, t)| *c == 'h' && *t == "program finished with exit code 0"), "{out:?}");
}

#[tokio::test]
async fn every_state_change_is_one_event_in_order() {
    let m = TestMaster::start(TWO_STEPS).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("app", ForceRequest::default()).await.unwrap();
    let mut kinds = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let ev = rx.recv().await.unwrap();
            kinds.push(ev.event.kind());
            if matches!(ev.event, Event::BuildFinished { .. }) {
                break;
            }
        }
    })
    .await
    .unwrap();
    // Log and worker events interleave with the rest depending on timing.
    let without_logs: Vec<_> =
        kinds.iter().copied().filter(|k| *k != "log.appended" && !k.starts_with("worker.")).collect();
    assert_eq!(
        without_logs,
        vec![
            "buildset.new",
            "buildrequest.new",
            "build.started",
            "step.started",
            "step.finished",
            "step.started",
            "step.finished",
            "build.finished"
        ]
    );
    assert!(kinds.contains(&"log.appended"));
}

#[tokio::test]
async fn a_change_on_the_branch_builds_and_others_do_not() {
    let m = TestMaster::start(TWO_STEPS).await;
    let mut rx = m.engine.bus.subscribe();
    let change = NewChange {
        author: "bob".into(),
        branch: Some("main".into()),
        revision: Some("deadbeef".into()),
        ..Default::default()
    };
    let other = NewChange { author: "bob".into(), branch: Some("dev".into()), ..Default::default() };
    let ids = m.engine.add_changes(vec![change, other]).await.unwrap();
    assert_eq!(ids.len(), 2);
    let build = wait_finished(&mut rx, "app", 30).await;
    assert_eq!((build.branch.as_deref(), build.revision.as_deref()), (Some("main"), Some("deadbeef")));
    assert!(build.reason.contains("SingleBranchScheduler named 'main'"));
    let blamelist = m.engine.build_detail("app", 1).await.unwrap().changes.unwrap();
    assert_eq!(blamelist.iter().map(|c| c.fields.author.as_str()).collect::<Vec<_>>(), vec!["bob"]);
    // Schedulers decide in the transaction that stores the changes: a request for the other
    // branch would exist by now, pending or built.
    let mut c = m.engine.db.acquire().await.unwrap();
    assert!(db::buildrequests::pending(c.conn(), "", 10).await.unwrap().is_empty());
    let all = db::builds::list(c.conn(), &Default::default(), 10, 0).await.unwrap();
    assert_eq!(all.len(), 1);
    let blamelist = db::changes::list_for_buildset(c.conn(), 1).await.unwrap();
    assert_eq!(blamelist.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[0]]);
}

#[tokio::test]
async fn a_failing_step_halts_the_build_unless_told_otherwise() {
    let m = TestMaster::start(
        r#"
[[builders]]
name = "halts"
workers = ["local"]
steps = [ { name = "fail", command = "exit 3" }, { name = "never", command = "true" } ]
[[builders]]
name = "goes-on"
workers = ["local"]
steps = [
  { name = "soft", command = "exit 1", halt_on_failure = false, flunk_on_failure = false, warn_on_failure = true },
  { name = "warns", command = "echo 'warning: careful'", warn_on = "^warning:" },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["halts", "goes-on"]
"#,
    )
    .await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("halts", ForceRequest::default()).await.unwrap();
    let b = wait_finished(&mut rx, "halts", 30).await;
    assert_eq!((b.results, b.state_text.as_str()), (Some(Results::Failure), "failed fail"));
    let detail = m.engine.build_detail("halts", 1).await.unwrap();
    assert_eq!(detail.steps.len(), 1, "the second step never ran");
    assert_eq!(detail.steps[0].state_text, "fail failed (exit 3)");

    m.engine.force("goes-on", ForceRequest::default()).await.unwrap();
    let b = wait_finished(&mut rx, "goes-on", 30).await;
    assert_eq!(b.results, Some(Results::Warnings));
    let detail = m.engine.build_detail("goes-on", 1).await.unwrap();
    let results: Vec<_> = detail.steps.iter().map(|s| s.results).collect();
    assert_eq!(results, vec![Some(Results::Failure), Some(Results::Warnings)]);
}

#[tokio::test]
async fn a_step_past_its_timeout_fails() {
    let m = TestMaster::start(
        r#"
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "sleep", command = "echo before; sleep 30", timeout = 1 } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["slow"]
"#,
    )
    .await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    let b = wait_finished(&mut rx, "slow", 20).await;
    assert_eq!(b.results, Some(Results::Failure));
    let detail = m.engine.build_detail("slow", 1).await.unwrap();
    assert_eq!(detail.steps[0].state_text, "sleep timed out");
}

#[tokio::test]
async fn forcing_needs_a_known_builder_with_a_force_scheduler() {
    let m = TestMaster::start(
        r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
"#,
    )
    .await;
    let err = m.engine.force("nope", ForceRequest::default()).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::NotFound(_)), "{err:?}");
    let err = m.engine.force("app", ForceRequest::default()).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::Conflict(_)), "{err:?}");
}

const TIMED: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "stable"
kind = "single_branch"
branch = "main"
tree_stable_timer = 60
builders = ["app"]
[[schedulers]]
name = "every-hour"
kind = "periodic"
interval = 3600
builders = ["app"]
"#;

async fn buildsets(engine: &Engine, scheduler: &str) -> Vec<cascade::model::BuildSetId> {
    let mut c = engine.db.acquire().await.unwrap();
    db::buildsets::ids_for_scheduler(c.conn(), scheduler).await.unwrap()
}

async fn buildset_count(engine: &Engine, scheduler: &str) -> usize {
    buildsets(engine, scheduler).await.len()
}

#[tokio::test]
async fn the_tree_stable_timer_merges_changes_and_periodic_runs_on_time() {
    // Far in the past, so the engine's own once-a-second tick and this test agree on "now".
    let clock = ManualClock::new(1_000_000);
    let m = TestMaster::start_with_clock(TIMED, clock.clone()).await;
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "every-hour").await, 1, "a periodic scheduler runs at start");

    let change = |rev: &str| NewChange {
        author: "a".into(),
        branch: Some("main".into()),
        revision: Some(rev.into()),
        ..Default::default()
    };
    m.engine.add_changes(vec![change("r1")]).await.unwrap();
    clock.advance(30);
    m.engine.add_changes(vec![change("r2")]).await.unwrap();
    clock.advance(59);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "stable").await, 0, "59 s after the last change the tree is not stable");
    clock.advance(1);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "stable").await, 1, "both changes went into one buildset");
    let mut c = m.engine.db.acquire().await.unwrap();
    let stable = buildsets(&m.engine, "stable").await[0];
    let ss = db::buildsets::first_source(c.conn(), stable).await.unwrap();
    assert_eq!(ss.revision.as_deref(), Some("r2"), "the buildset builds the newest change");
    assert_eq!(db::changes::list_for_buildset(c.conn(), stable.0).await.unwrap().len(), 2);
    drop(c);

    clock.advance(3600 - 90 - 1);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "every-hour").await, 1);
    clock.advance(1);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "every-hour").await, 2);
}

#[tokio::test]
async fn builds_left_running_by_a_crash_end_retry_and_run_again() {
    let m = TestMaster::start(TWO_STEPS).await;
    // What a crashed master leaves behind: a claimed request with a running build.
    let mut rx = m.engine.bus.subscribe();
    let (_, requests) = m.engine.force("app", ForceRequest::default()).await.unwrap();
    let first = wait_finished(&mut rx, "app", 30).await;
    assert_eq!(first.results, Some(Results::Success));
    // Now what a crash leaves behind: a request this master claimed, with a running build.
    m.engine.stop().await;
    let mut c = m.engine.db.acquire().await.unwrap();
    let worker = db::workers::upsert(c.conn(), "local").await.unwrap();
    let builder = m.engine.builder_id("app").unwrap();
    let props = BTreeMap::new();
    let set = db::buildrequests::buildset_of(c.conn(), requests[0]).await.unwrap();
    let orphan = db::buildrequests::insert(c.conn(), set, builder, 0, 1).await.unwrap();
    let claimed = db::buildrequests::claim_next(c.conn(), builder, m.engine.master, 1).await.unwrap().unwrap();
    assert_eq!(claimed.request(), orphan);
    let new = NewBuild {
        builder_id: builder,
        buildrequest_id: orphan,
        worker_id: worker,
        master_id: m.engine.master,
        reason: "r",
        properties: &props,
        source: &Default::default(),
    };
    let (stale, number) = db::builds::insert(c.conn(), &new, 1).await.unwrap();
    assert_eq!(number, 2);
    drop(c);

    // The restarted master (same name: same config directory) recovers.
    let cfg = m.engine.config().clone();
    let engine = Engine::start(cfg, m.tdb.db.clone(), Arc::new(cascade::engine::clock::SystemClock)).await.unwrap();
    // The rerun may end before a subscriber can be there: look in the database first.
    let mut rx = engine.bus.subscribe();
    let mut c = engine.db.acquire().await.unwrap();
    let rerun = match db::builds::get_by_number(c.conn(), "app", 3).await {
        Ok(b) if b.results.is_some() => b,
        _ => wait_finished(&mut rx, "app", 30).await,
    };
    drop(c);
    assert_eq!((rerun.number, rerun.results, rerun.buildrequest_id), (3, Some(Results::Success), orphan));
    let mut c = engine.db.acquire().await.unwrap();
    let old = db::builds::get(c.conn(), stale).await.unwrap();
    assert_eq!(old.results, Some(Results::Retry));
    assert_eq!(old.state_text, "interrupted by a master restart");
}

#[tokio::test]
async fn properties_from_every_source_render_into_commands() {
    let m = TestMaster::start(
        r#"
[[builders]]
name = "props"
workers = ["local"]
properties = { flavour = "builder", colour = "builder" }
steps = [
  { name = "show", command = ["sh", "-c", "echo {{ prop.flavour }} {{ prop.colour }} {{ prop.size }} {{ prop.buildername }} {{ prop.buildnumber }} $GREETING; pwd"], env = { GREETING = "hi-{{ prop.owner }}" }, workdir = "w-{{ prop.buildnumber }}" },
  { name = "bad", command = "echo {{ prop.flavour " },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["props"]
properties = { colour = "scheduler", size = "scheduler" }
"#,
    )
    .await;
    let mut rx = m.engine.bus.subscribe();
    let request = ForceRequest {
        owner: Some("ann".into()),
        properties: [("size".to_string(), "forced".to_string())].into(),
        ..Default::default()
    };
    m.engine.force("props", request).await.unwrap();
    let build = wait_finished(&mut rx, "props", 30).await;
    assert_eq!(build.results, Some(Results::Exception), "the bad template makes the build an exception");
    assert_eq!(build.properties["colour"], serde_json::json!("scheduler"));
    assert_eq!(build.properties["size"], serde_json::json!("forced"));
    assert_eq!(build.properties["buildnumber"], serde_json::json!(1));
    let detail = m.engine.build_detail("props", 1).await.unwrap();
    let lines = logs::read_lines(&m.engine.db, detail.steps[0].logs[0].id, 0, 100).await.unwrap();
    let out: Vec<_> = lines.iter().filter(|l| l.channel.code() == 'o').map(|l| l.text.clone()).collect();
    assert_eq!(out[0], "builder scheduler forced props 1 hi-ann");
    assert!(out[1].ends_with("/props/w-1"), "{out:?}");
    assert_eq!(detail.steps[1].results, Some(Results::Exception));
    assert_eq!(detail.steps[1].state_text, "bad could not start");
    // Why it could not start is in its log, stored with its end.
    let bad_log = &detail.steps[1].logs[0];
    assert!(bad_log.complete);
    let why = logs::read_lines(&m.engine.db, bad_log.id, 0, 100).await.unwrap();
    assert_eq!(bad_log.num_lines, why.len() as i64);
    assert!(why.iter().any(|l| l.channel.code() == 'h' && !l.text.is_empty()), "{why:?}");
    assert_eq!(detail.changes.as_deref().map(<[_]>::len), Some(0), "a forced build has no changes");
}

#[tokio::test]
async fn a_nightly_scheduler_fires_once_in_its_minute_by_the_injected_clock() {
    use chrono::{Local, TimeZone, Timelike};
    // Some minute in the past, expressed in the master's time zone as the cron fields are.
    let at = 1_700_000_000 - 1_700_000_000 % 60;
    let local = Local.timestamp_opt(at, 0).single().unwrap();
    let body = format!(
        r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ {{ name = "s", command = "true" }} ]
[[schedulers]]
name = "nightly"
kind = "nightly"
minute = "{}"
hour = "{}"
builders = ["app"]
"#,
        local.minute(),
        local.hour()
    );
    let clock = ManualClock::new(at - 60);
    let m = TestMaster::start_with_clock(&body, clock.clone()).await;
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "nightly").await, 0, "the minute before");
    clock.advance(60);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "nightly").await, 1, "its minute");
    clock.advance(30);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "nightly").await, 1, "only once in that minute");
    clock.advance(60);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "nightly").await, 1, "not the minute after");
    clock.advance(86_400 - 90);
    m.engine.tick().await.unwrap();
    assert_eq!(buildset_count(&m.engine, "nightly").await, 2, "the same minute the next day");
}
