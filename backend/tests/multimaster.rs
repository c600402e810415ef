//! Two masters on one database never run the same build request, and build numbers never
//! repeat.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cascade::db;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::ForceRequest;
use common::TestMaster;

const BODY: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "sleep 0.05" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_masters_share_the_queue_without_running_a_request_twice() {
    let first = TestMaster::start(BODY).await;
    let other_dir = tempfile::tempdir().unwrap();
    let cfg = Arc::new(common::config(other_dir.path(), BODY, &first.tdb.url));
    let second = Engine::start(cfg, first.tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    assert_ne!(first.engine.master, second.master);

    const N: usize = 40;
    for i in 0..N {
        let engine = if i % 2 == 0 { &first.engine } else { &second };
        engine.force("app", ForceRequest::default()).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let builds = loop {
        let mut conn = first.engine.db.acquire().await.unwrap();
        let builds = db::builds::list(conn.conn(), &Default::default(), 1000, 0).await.unwrap();
        if builds.len() >= N && builds.iter().all(|b| b.finished_at.is_some()) {
            break builds;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {} builds finished", builds.len());
        drop(conn);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(builds.len(), N, "one build per request");
    let requests: HashSet<_> = builds.iter().map(|b| b.buildrequest_id).collect();
    assert_eq!(requests.len(), N, "no request ran twice");
    let numbers: HashSet<_> = builds.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (1..=N as i64).collect::<HashSet<_>>(), "numbers 1..N, none repeated");
}

/// Masters that notice within seconds when another one goes silent.
const LOSABLE: &str = r#"
[db]
heartbeat = 1
lost_after = 3
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "sleep 5" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_master_is_declared_lost_and_its_build_runs_again_elsewhere() {
    use cascade::engine::bus::Event;
    use cascade::engine::clock::ManualClock;
    use cascade::model::Results;
    // The first master's clock stands still: its heartbeats all say the same moment, as if
    // it had died right after starting its build.
    let frozen = ManualClock::new(chrono::Utc::now().timestamp());
    let first = TestMaster::start_with_clock(LOSABLE, frozen).await;
    let mut rx = first.engine.bus.subscribe();
    first.engine.force("app", ForceRequest::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !matches!(rx.recv().await.unwrap().event, Event::BuildStarted { .. }) {}
    })
    .await
    .expect("the first master starts the build");
    // A dead master takes no more work; this one still runs, so its worker stops taking builds
    // (else it could claim the request again before it is declared lost once more).
    first.engine.workers.set_paused("local", true).unwrap();

    // Two masters watch; whichever notices first declares the first one lost.
    let mut watchers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Arc::new(common::config(dir.path(), LOSABLE, &first.tdb.url));
        watchers.push(Engine::start(cfg, first.tdb.db.clone(), Arc::new(SystemClock)).await.unwrap());
        dirs.push(dir);
    }
    // Either watcher may declare the loss and either may run the build again; on SQLite each
    // master's bus carries only its own events, so both are heard (on PostgreSQL each event
    // then arrives twice, which changes nothing below).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for watcher in &watchers {
        let mut bus = watcher.bus.subscribe();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(stamped) = bus.recv().await {
                if tx.send(stamped.event.clone()).is_err() {
                    break;
                }
            }
        });
    }
    let first_name = first.engine.master_name.clone();
    let (mut lost, mut retried) = (false, None);
    let rerun = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match rx.recv().await.unwrap() {
                Event::MasterLost { name } if name == first_name => lost = true,
                Event::BuildFinished { build, .. } if build.number == 1 => retried = Some(build),
                Event::BuildFinished { build, .. } if build.number == 2 => return build,
                _ => {}
            }
        }
    })
    .await
    .expect("the build runs again on another master");
    assert!(lost, "master.lost was published");
    let retried = retried.expect("build 1 ended");
    assert_eq!(retried.results, Some(Results::Retry));
    assert_eq!(retried.state_text, "its master was lost");
    assert_eq!(rerun.results, Some(Results::Success));
    assert_eq!(rerun.buildrequest_id, retried.buildrequest_id, "the same request ran again");

    let mut conn = first.engine.db.acquire().await.unwrap();
    let builds = db::builds::list(conn.conn(), &Default::default(), 100, 0).await.unwrap();
    assert_eq!(builds.len(), 2, "the request ran once more, not once per watcher: {builds:#?}");
    // The first master's own end of build 1, after it was declared lost, changed nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first.engine.shutdown_status().1 > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the first master's build never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let build = db::builds::get(conn.conn(), retried.id).await.unwrap();
    assert_eq!((build.results, build.state_text.as_str()), (Some(Results::Retry), "its master was lost"));
    let masters = db::masters::list(conn.conn()).await.unwrap();
    assert_eq!(masters.len(), 3);
    assert!(masters.iter().any(|m| m.name == first_name && m.lost_at.is_some() || m.active == 1));
    drop(conn);
    for w in watchers {
        w.stop().await;
    }
}
