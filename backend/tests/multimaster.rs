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
