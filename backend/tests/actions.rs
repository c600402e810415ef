//! The actions of DESIGN §4 on a running engine: each observed through results and events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cascade::db;
use cascade::engine::actions::{Request, ShutdownMode};
use cascade::engine::bus::Event;
use cascade::model::{BuildRequestId, ForceRequest, NewChange, Results};
use common::{TestMaster, wait_finished};

const CONFIG: &str = r#"
[[workers]]
name = "remote"
password = "secret"
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = "echo started; sleep 30" }, { name = "after", command = "true" } ]
[[builders]]
name = "quick"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[builders]]
name = "elsewhere"
workers = ["remote"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["slow", "quick", "elsewhere"]
[[schedulers]]
name = "main"
kind = "any_branch"
builders = ["slow", "elsewhere"]
"#;

fn by(who: &str, why: &str) -> Request {
    Request { actor: Some(who.into()), reason: why.into() }
}

async fn wait_for(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<cascade::engine::bus::Stamped>>,
    kind: &str,
) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(ev) = rx.recv().await
                && ev.event.kind() == kind
            {
                return ev.event.clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event"))
}

async fn events_recorded(m: &TestMaster, kind: &str) -> i64 {
    let mut c = m.engine.db.acquire().await.unwrap();
    let sql = "select count(*) from events where type = $1";
    match c.conn() {
        db::Conn::Sqlite(x) => sqlx::query_scalar(sql).bind(kind).fetch_one(&mut *x).await.unwrap(),
        db::Conn::Postgres(x) => sqlx::query_scalar(sql).bind(kind).fetch_one(&mut *x).await.unwrap(),
    }
}

#[tokio::test]
async fn stopping_a_running_build_cancels_it_and_records_who() {
    let m = TestMaster::start(CONFIG).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    wait_for(&mut rx, "step.started").await;
    let err = m.engine.stop_build("slow", 9, &by("ann", "x")).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::NotFound(_)), "{err:?}");
    m.engine.stop_build("slow", 1, &by("ann", "wrong branch")).await.unwrap();
    let build = wait_finished(&mut rx, "slow", 20).await;
    assert_eq!(build.results, Some(Results::Cancelled));
    assert_eq!(build.state_text, "stopped by ann: wrong branch");
    let detail = m.engine.build_detail("slow", 1).await.unwrap();
    assert_eq!(detail.steps.len(), 1, "no step runs after a stop");
    assert_eq!(detail.steps[0].results, Some(Results::Cancelled));
    assert_eq!(events_recorded(&m, "stop_build").await, 1);
    let err = m.engine.stop_build("slow", 1, &by("ann", "again")).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn stop_all_builds_stops_every_running_build() {
    let m = TestMaster::start(CONFIG).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    wait_for(&mut rx, "step.started").await;
    wait_for(&mut rx, "step.started").await;
    assert_eq!(m.engine.stop_all_builds(None, &by("ann", "")).await.unwrap(), 2);
    assert_eq!(wait_finished(&mut rx, "slow", 20).await.results, Some(Results::Cancelled));
    assert_eq!(wait_finished(&mut rx, "slow", 20).await.results, Some(Results::Cancelled));
}

#[tokio::test]
async fn pending_requests_can_be_cancelled_one_by_one_or_all_at_once() {
    let m = TestMaster::start(CONFIG).await;
    // `elsewhere` runs on a remote worker that is not connected: its requests wait.
    let (_, a) = m.engine.force("elsewhere", ForceRequest::default()).await.unwrap();
    let (_, b) = m.engine.force("elsewhere", ForceRequest::default()).await.unwrap();
    let (_, c) = m.engine.force("elsewhere", ForceRequest::default()).await.unwrap();
    let mut rx = m.engine.bus.subscribe();
    m.engine.cancel_request(a[0], &by("ann", "dup")).await.unwrap();
    assert!(
        matches!(wait_for(&mut rx, "buildrequest.cancelled").await, Event::BuildRequestCancelled { id, .. } if id == a[0])
    );
    let err = m.engine.cancel_request(a[0], &by("ann", "dup")).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::Conflict(_)), "{err:?}");
    let err = m.engine.cancel_request(BuildRequestId(999), &by("ann", "")).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::NotFound(_)), "{err:?}");
    let only_b = m.engine.cancel_pending(Some(&[b[0]]), None, &by("ann", "")).await.unwrap();
    assert_eq!(only_b, vec![b[0]]);
    let rest = m.engine.cancel_pending(None, Some("elsewhere"), &by("ann", "")).await.unwrap();
    assert_eq!(rest, vec![c[0]]);
    let mut conn = m.engine.db.acquire().await.unwrap();
    assert!(db::buildrequests::pending(conn.conn(), "", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn stopping_a_change_cancels_its_requests_and_stops_its_builds() {
    let m = TestMaster::start(CONFIG).await;
    let mut rx = m.engine.bus.subscribe();
    let change = NewChange { author: "a".into(), branch: Some("feature".into()), ..Default::default() };
    let ids = m.engine.add_changes(vec![change]).await.unwrap();
    wait_for(&mut rx, "step.started").await;
    let (cancelled, stopped) = m.engine.stop_change(ids[0], &by("ann", "bad commit")).await.unwrap();
    assert_eq!((cancelled, stopped), (1, 1), "the remote builder's request was pending, the slow build running");
    assert_eq!(wait_finished(&mut rx, "slow", 20).await.results, Some(Results::Cancelled));
}

#[tokio::test]
async fn ping_says_which_workers_answered() {
    let m = TestMaster::start(CONFIG).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !m.engine.workers.is_connected("local") {
        assert!(std::time::Instant::now() < deadline, "the embedded worker did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let local = m.engine.ping_builder("quick", &by("ann", "")).await.unwrap();
    assert_eq!(local.len(), 1);
    assert!(local[0].replied, "{local:?}");
    let remote = m.engine.ping_builder("elsewhere", &by("ann", "")).await.unwrap();
    assert!(!remote[0].replied);
    assert_eq!(remote[0].error.as_deref(), Some("not connected"));
}

#[tokio::test]
async fn a_paused_worker_takes_no_builds_until_unpaused() {
    // `marker` runs on a worker of its own, after `quick` in the dispatcher's order.
    let config = format!(
        "{CONFIG}[[workers]]\nname = \"spare\"\nembedded = true\n\
         [[builders]]\nname = \"marker\"\nworkers = [\"spare\"]\nsteps = [ {{ name = \"s\", command = \"true\" }} ]\n"
    )
    .replace(
        "builders = [\"slow\", \"quick\", \"elsewhere\"]",
        "builders = [\"slow\", \"quick\", \"elsewhere\", \"marker\"]",
    );
    let m = TestMaster::start(&config).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.pause_worker("local", true, &by("ann", "maintenance")).await.unwrap();
    wait_for(&mut rx, "worker.paused").await;
    m.engine.force("quick", ForceRequest::default()).await.unwrap();
    // The dispatcher pass that starts `marker`, queued after `quick`, looked at `quick` first.
    m.engine.force("marker", ForceRequest::default()).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "marker", 20).await.results, Some(Results::Success));
    let mut conn = m.engine.db.acquire().await.unwrap();
    assert_eq!(db::buildrequests::pending(conn.conn(), "quick", 10).await.unwrap().len(), 1);
    drop(conn);
    m.engine.pause_worker("local", false, &by("ann", "done")).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "quick", 20).await.results, Some(Results::Success));
    assert!(m.engine.pause_worker("nope", true, &by("ann", "")).await.is_err());
}

#[tokio::test]
async fn a_gracefully_stopping_worker_finishes_its_build_then_leaves() {
    let m = TestMaster::start(CONFIG.replace("sleep 30", "sleep 1").as_str()).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    wait_for(&mut rx, "step.started").await;
    m.engine.graceful_shutdown_worker("local", &by("ann", "reboot")).await.unwrap();
    m.engine.force("quick", ForceRequest::default()).await.unwrap();
    assert_eq!(wait_finished(&mut rx, "slow", 20).await.results, Some(Results::Success));
    wait_for(&mut rx, "worker.disconnected").await;
    let mut conn = m.engine.db.acquire().await.unwrap();
    assert_eq!(db::buildrequests::pending(conn.conn(), "quick", 10).await.unwrap().len(), 1, "no new build started");
    let err = m.engine.graceful_shutdown_worker("remote", &by("ann", "")).await.unwrap_err();
    assert!(matches!(err, cascade::engine::EngineError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_clean_shutdown_waits_for_running_builds_and_can_be_cancelled() {
    let m = TestMaster::start(CONFIG.replace("sleep 30", "sleep 2").as_str()).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("slow", ForceRequest::default()).await.unwrap();
    wait_for(&mut rx, "step.started").await;
    m.engine.shutdown(ShutdownMode::Start, &by("ann", "upgrade")).await.unwrap();
    assert_eq!(m.engine.shutdown_status(), (true, 1));
    assert!(m.engine.shutdown(ShutdownMode::Start, &by("ann", "")).await.is_err());
    m.engine.shutdown(ShutdownMode::Stop, &by("ann", "not now")).await.unwrap();
    assert!(!m.engine.shutdown_status().0);
    m.engine.shutdown(ShutdownMode::Start, &by("ann", "now really")).await.unwrap();
    m.engine.force("quick", ForceRequest::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), m.engine.exit_requested()).await.expect("the master exits once idle");
    let mut conn = m.engine.db.acquire().await.unwrap();
    assert_eq!(
        db::buildrequests::pending(conn.conn(), "quick", 10).await.unwrap().len(),
        1,
        "no build started while draining"
    );
    assert_eq!(events_recorded(&m, "clean_shutdown").await, 2);
    assert_eq!(events_recorded(&m, "cancel_clean_shutdown").await, 1);
}

#[tokio::test]
async fn shutdown_now_exits_at_once() {
    let m = TestMaster::start(CONFIG).await;
    m.engine.shutdown(ShutdownMode::Now, &by("ann", "")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), m.engine.exit_requested()).await.unwrap();
}
