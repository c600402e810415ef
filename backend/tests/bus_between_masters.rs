//! Two masters on one PostgreSQL hear each other's events through LISTEN/NOTIFY: every
//! event of a build run by one reaches the other's bus once, in order, large events too,
//! and a lost link makes the listening master publish `resync`. On SQLite (one master)
//! there is nothing to relay and these tests return at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cascade::db::Db;
use cascade::engine::Engine;
use cascade::engine::bus::{Event, Stamped};
use cascade::engine::clock::SystemClock;
use cascade::model::ForceRequest;
use common::TestMaster;
use tokio::sync::broadcast::Receiver;

/// The first master runs the builds on its embedded worker; the second has the builder
/// too, but only a remote worker that never connects, so it runs none of them.
const RUNNER: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "one", command = "echo one" }, { name = "two", command = "echo two" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

const WATCHER: &str = r#"
[[workers]]
name = "elsewhere"
password = "never-used"
[[builders]]
name = "app"
workers = ["elsewhere"]
steps = [ { name = "one", command = "echo one" } ]
"#;

/// The second master, on its own pool of the first one's database; `None` on SQLite.
async fn watcher(first: &TestMaster, dir: &std::path::Path) -> Option<Arc<Engine>> {
    if !first.tdb.url.starts_with("postgres") {
        return None;
    }
    let mut cfg = common::config(dir, WATCHER, &first.tdb.url);
    cfg.workers.retain(|w| w.name != "local");
    let db = Db::connect(&first.tdb.url).await.unwrap();
    Some(Engine::start(Arc::new(cfg), db, Arc::new(SystemClock)).await.unwrap())
}

/// Collects events from `rx` until `done` says so (a minute at most).
async fn collect(rx: &mut Receiver<Arc<Stamped>>, done: impl Fn(&[Arc<Stamped>]) -> bool) -> Vec<Arc<Stamped>> {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while !done(&seen) {
            seen.push(rx.recv().await.unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("events missing; seen: {:#?}", seen.iter().map(|s| s.event.kind()).collect::<Vec<_>>()));
    seen
}

fn finished(seen: &[Arc<Stamped>]) -> usize {
    seen.iter().filter(|s| matches!(s.event, Event::BuildFinished { .. })).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_on_one_master_is_seen_on_the_other_once_and_in_order() {
    let first = TestMaster::start(RUNNER).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(second) = watcher(&first, dir.path()).await else { return };
    let mut rx = second.bus.subscribe();
    // The second master hears the first once its listener is up: wait for one event.
    first.engine.force("app", ForceRequest::default()).await.unwrap();
    collect(&mut rx, |seen| finished(seen) == 1).await;

    const N: usize = 10;
    for _ in 0..N {
        first.engine.force("app", ForceRequest::default()).await.unwrap();
    }
    let seen = collect(&mut rx, |seen| finished(seen) == N).await;
    // Per build: started, step one started and finished, step two likewise, finished —
    // each once, in that order (log lines may come between).
    let mut per_build: HashMap<i64, Vec<String>> = HashMap::new();
    for s in &seen {
        let (number, what) = match &s.event {
            Event::BuildStarted { build, .. } => (build.number, "started".to_owned()),
            Event::StepStarted { build, step } => (build.number, format!("{}:started", step.name)),
            Event::StepFinished { build, step } => (build.number, format!("{}:finished", step.name)),
            Event::BuildFinished { build, .. } => (build.number, "finished".to_owned()),
            _ => continue,
        };
        per_build.entry(number).or_default().push(what);
    }
    assert_eq!(per_build.len(), N, "{per_build:#?}");
    for (number, events) in &per_build {
        assert_eq!(
            events,
            &["started", "one:started", "one:finished", "two:started", "two:finished", "finished"],
            "build {number}"
        );
    }
    // The second master's own events stay its own: nothing it heard came from itself.
    assert!(seen.iter().all(|s| !matches!(&s.event, Event::MasterStarted { name } if *name == second.master_name)));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_event_is_fetched_by_id_and_a_lost_link_makes_pages_resync() {
    let first = TestMaster::start(RUNNER).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(second) = watcher(&first, dir.path()).await else { return };
    let mut rx = second.bus.subscribe();
    first.engine.force("app", ForceRequest::default()).await.unwrap();
    collect(&mut rx, |seen| finished(seen) == 1).await;

    // A property far larger than a notification may carry.
    let big = "x".repeat(20_000);
    let request = ForceRequest { properties: [("big".to_owned(), big.clone())].into(), ..Default::default() };
    first.engine.force("app", request).await.unwrap();
    let seen = collect(&mut rx, |seen| finished(seen) == 1).await;
    let Some(Event::BuildFinished { build, .. }) = seen.last().map(|s| &s.event) else { panic!("no end") };
    assert_eq!(build.properties["big"], serde_json::json!(big));

    // Cut every listener's connection: the second master says so with `resync`, and hears
    // the first again afterwards.
    let Db::Postgres(pool) = &second.db else { panic!("not PostgreSQL") };
    let cut: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity \
         where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(cut >= 1, "no listener found");
    collect(&mut rx, |seen| seen.iter().any(|s| matches!(s.event, Event::Resync { .. }))).await;
    first.engine.force("app", ForceRequest::default()).await.unwrap();
    collect(&mut rx, |seen| finished(seen) == 1).await;
    second.stop().await;
}
