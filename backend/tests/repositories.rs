//! Repository tests: every query against a real database (SQLite, or PostgreSQL when
//! `CASCADE_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cascade::db::changes::Order;
use std::collections::BTreeMap;

use cascade::db::{
    self, DbError,
    builds::NewBuild,
    buildsets::{NewBuildSet, NewSourceStamp},
};
use cascade::engine::logs::{self, LogBuffer};
use cascade::model::{BuildSetId, Channel, NewChange, Results};
use common::TestDb;

fn change(author: &str, branch: &str, files: &[&str]) -> NewChange {
    NewChange {
        author: author.into(),
        comments: format!("commit by {author}"),
        branch: Some(branch.into()),
        revision: Some("abc123".into()),
        repository: "https://example.org/repo".into(),
        files: files.iter().map(|f| f.to_string()).collect(),
        properties: [("k".to_string(), serde_json::json!("v"))].into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn migrations_can_run_twice() {
    let t = TestDb::new().await;
    t.db.migrate().await.unwrap();
}

#[tokio::test]
async fn changes_round_trip_with_files_and_page_newest_first() {
    let t = TestDb::new().await;
    let mut c = t.db.acquire().await.unwrap();
    let a = db::changes::insert(c.conn(), &change("alice", "main", &["a.c", "b.c"]), 100).await.unwrap();
    let b = db::changes::insert(c.conn(), &change("bob", "dev", &[]), 200).await.unwrap();
    let got = db::changes::get(c.conn(), a).await.unwrap();
    assert_eq!(got.fields.author, "alice");
    assert_eq!(got.fields.files, vec!["a.c", "b.c"]);
    assert_eq!(got.fields.when, Some(100), "when defaults to the time received");
    assert_eq!(got.fields.properties.get("k"), Some(&serde_json::json!("v")));
    let all = db::changes::Filter::default();
    let page = db::changes::list_filtered(c.conn(), &all, Order::Id, 10).await.unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b, a]);
    assert_eq!(page[1].fields.files.len(), 2);
    let next = db::changes::Filter { below: Some(b.0), ..Default::default() };
    assert_eq!(db::changes::list_filtered(c.conn(), &next, Order::Id, 1).await.unwrap()[0].id, a);
    let by_bob = db::changes::Filter { authors: vec!["bob".into()], ..Default::default() };
    let found = db::changes::list_filtered(c.conn(), &by_bob, Order::Id, 10).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b]);
    assert!(matches!(db::changes::get(c.conn(), cascade::model::ChangeId(999)).await, Err(DbError::NotFound)));
}

#[tokio::test]
async fn changes_received_together_are_stored_in_order_each_with_its_own_files() {
    let t = TestDb::new().await;
    let mut c = t.db.acquire().await.unwrap();
    let sent = [
        change("alice", "main", &["a.c", "b.c"]),
        change("bob", "main", &[]),
        NewChange { when: Some(50), ..change("carol", "main", &["c.c", "d.c", "e.c"]) },
    ];
    let ids = db::changes::insert_all(c.conn(), &sent, 300).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0].0 < w[1].0), "ids in the order sent: {ids:?}");
    let mut got = Vec::new();
    for id in &ids {
        let change = db::changes::get(c.conn(), *id).await.unwrap();
        got.push((change.fields.author, change.fields.files, change.fields.when, change.created_at));
    }
    assert_eq!(
        got,
        [
            ("alice".to_string(), vec!["a.c".to_string(), "b.c".to_string()], Some(300), 300),
            ("bob".to_string(), vec![], Some(300), 300),
            ("carol".to_string(), vec!["c.c".to_string(), "d.c".to_string(), "e.c".to_string()], Some(50), 300),
        ]
    );
}

async fn queue(t: &TestDb, builder: &str, n: usize) -> (cascade::model::BuilderId, BuildSetId) {
    let mut tx = t.db.begin().await.unwrap();
    let bid = db::builders::upsert(tx.conn(), builder, None, &["t".into()]).await.unwrap();
    let set = NewBuildSet { reason: "r".into(), scheduler: "s".into(), ..Default::default() };
    let stamp = NewSourceStamp { branch: Some("main".into()), revision: Some("r1".into()), ..Default::default() };
    let (set_id, _) = db::buildsets::insert(tx.conn(), &set, &[stamp], &[], 10).await.unwrap();
    for _ in 0..n {
        db::buildrequests::insert(tx.conn(), set_id, bid, 0, 10).await.unwrap();
    }
    tx.commit().await.unwrap();
    (bid, set_id)
}

#[tokio::test]
async fn a_request_is_claimed_once_oldest_first() {
    let t = TestDb::new().await;
    let (bid, _) = queue(&t, "b", 2).await;
    let mut c = t.db.acquire().await.unwrap();
    let m1 = db::masters::upsert(c.conn(), "m1", 1).await.unwrap();
    let m2 = db::masters::upsert(c.conn(), "m2", 1).await.unwrap();
    let first = db::buildrequests::claim_next(c.conn(), bid, m1, 20).await.unwrap().unwrap();
    let second = db::buildrequests::claim_next(c.conn(), bid, m2, 20).await.unwrap().unwrap();
    assert!(first.id < second.id);
    assert!(db::buildrequests::claim_next(c.conn(), bid, m1, 20).await.unwrap().is_none());
    assert_eq!(db::buildrequests::pending_counts(c.conn()).await.unwrap().get(&bid.0), None);
    db::buildrequests::unclaim_all(c.conn(), m2).await.unwrap();
    assert_eq!(db::buildrequests::pending_counts(c.conn()).await.unwrap().get(&bid.0), Some(&1));
    let again = db::buildrequests::claim_next(c.conn(), bid, m1, 20).await.unwrap().unwrap();
    assert_eq!(again.id, second.id);
}

#[tokio::test]
async fn a_buildset_ends_with_the_worst_result_of_its_requests() {
    let t = TestDb::new().await;
    for (results, worst) in [
        ([Results::Skipped, Results::Failure, Results::Success], Results::Failure),
        ([Results::Skipped, Results::Skipped, Results::Skipped], Results::Skipped),
        ([Results::Skipped, Results::Success, Results::Warnings], Results::Warnings),
        ([Results::Exception, Results::Cancelled, Results::Failure], Results::Cancelled),
    ] {
        let (bid, set) = queue(&t, &format!("b{}", worst.as_i64()), 3).await;
        let mut c = t.db.acquire().await.unwrap();
        let master = db::masters::upsert(c.conn(), "m", 1).await.unwrap();
        for r in results {
            let claimed = db::buildrequests::claim_next(c.conn(), bid, master, 20).await.unwrap().unwrap();
            db::buildrequests::complete(c.conn(), claimed.request(), r, 30).await.unwrap();
        }
        assert!(db::buildsets::complete_if_done(c.conn(), set, 30).await.unwrap());
        assert_eq!(db::buildsets::results(c.conn(), set).await.unwrap(), Some(worst), "{results:?}");
    }
}

#[tokio::test]
async fn build_numbers_count_per_builder_and_buildsets_complete() {
    let t = TestDb::new().await;
    let (bid, set) = queue(&t, "b", 2).await;
    let mut c = t.db.acquire().await.unwrap();
    let master = db::masters::upsert(c.conn(), "m", 1).await.unwrap();
    let worker = db::workers::upsert(c.conn(), "w").await.unwrap();
    let props = BTreeMap::new();
    let source = db::buildsets::NewSourceStamp {
        branch: Some("main".into()),
        revision: Some("r1".into()),
        ..Default::default()
    };
    let mut numbers = Vec::new();
    let mut builds = Vec::new();
    for _ in 0..2 {
        let claimed = db::buildrequests::claim_next(c.conn(), bid, master, 30).await.unwrap().unwrap();
        let new = NewBuild {
            builder_id: bid,
            buildrequest_id: claimed.request(),
            worker_id: worker,
            master_id: master,
            reason: "r",
            properties: &props,
            source: &source,
        };
        let (id, number) = db::builds::insert(c.conn(), &new, 30).await.unwrap();
        numbers.push(number);
        builds.push((id, claimed.request()));
    }
    assert_eq!(numbers, vec![1, 2]);
    let b = db::builds::get_by_number(c.conn(), "b", 2).await.unwrap();
    assert_eq!((b.worker.as_deref(), b.branch.as_deref(), b.results), (Some("w"), Some("main"), None));
    assert_eq!(db::builds::running_counts(c.conn()).await.unwrap().get(&bid.0), Some(&2));

    db::builds::finish(c.conn(), builds[0].0, Results::Success, "ok", 40).await.unwrap();
    db::buildrequests::complete(c.conn(), builds[0].1, Results::Success, 40).await.unwrap();
    assert!(!db::buildsets::complete_if_done(c.conn(), set, 40).await.unwrap());
    db::builds::finish(c.conn(), builds[1].0, Results::Failure, "failed", 50).await.unwrap();
    db::buildrequests::complete(c.conn(), builds[1].1, Results::Failure, 50).await.unwrap();
    assert!(db::buildsets::complete_if_done(c.conn(), set, 50).await.unwrap());
    assert_eq!(db::buildsets::results(c.conn(), set).await.unwrap(), Some(Results::Failure));

    let last = db::builds::last_finished(c.conn(), bid).await.unwrap().unwrap();
    assert_eq!((last.number, last.results), (2, Some(Results::Failure)));
    let all = db::builds::last_finished_all(c.conn(), &[]).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all["b"].number, 2);
    let filter = db::builds::Filter { results: vec![Results::Success], ..Default::default() };
    let ok = db::builds::list(c.conn(), &filter, 10, 0).await.unwrap();
    assert_eq!(ok.iter().map(|b| b.number).collect::<Vec<_>>(), vec![1]);
    let filter = db::builds::Filter {
        builders: vec!["b".into(), "other".into()],
        branches: vec!["main".into()],
        ..Default::default()
    };
    assert_eq!(db::builds::list(c.conn(), &filter, 10, 0).await.unwrap().len(), 2);
    assert_eq!(db::builds::list(c.conn(), &filter, 1, 1).await.unwrap()[0].number, 1);
}

#[tokio::test]
async fn upserts_keep_ids_and_a_unique_violation_is_a_conflict() {
    let t = TestDb::new().await;
    let mut c = t.db.acquire().await.unwrap();
    let bid = db::builders::upsert(c.conn(), "b", None, &[]).await.unwrap();
    let again = db::builders::upsert(c.conn(), "b", Some("desc"), &[]).await.unwrap();
    assert_eq!(bid, again, "upsert keeps a builder's id");
    let err = db::workers::upsert(c.conn(), "w").await;
    assert!(err.is_ok());
    let dup = sqlx_conflict(&t).await;
    assert!(matches!(dup, Err(DbError::Conflict(_))), "{dup:?}");
}

async fn sqlx_conflict(t: &TestDb) -> Result<(), DbError> {
    let mut c = t.db.acquire().await.unwrap();
    db::state::set(c.conn(), "o", "k", "1").await?;
    db::state::set(c.conn(), "o", "k", "2").await?;
    assert_eq!(db::state::get(c.conn(), "o", "k").await?.as_deref(), Some("2"));
    // Inserting the same master name twice violates a unique index on both backends.
    let mut tx = t.db.begin().await?;
    db::masters::upsert(tx.conn(), "same", 1).await?;
    tx.commit().await?;
    let mut c = t.db.acquire().await.unwrap();
    let sql = "insert into masters (name, active, last_active) values ('same', 1, 1)";
    match &mut c {
        db::PoolConn::Sqlite(x) => sqlx::query(sql).execute(&mut **x).await.map(|_| ()).map_err(DbError::from),
        db::PoolConn::Postgres(x) => sqlx::query(sql).execute(&mut **x).await.map(|_| ()).map_err(DbError::from),
    }
}

/// A claimed request of `builder` running as a build, with one step and its empty log.
async fn running_build_with_log(
    t: &TestDb,
    builder: &str,
    step_name: &str,
) -> (cascade::model::BuildId, cascade::model::LogId, cascade::model::BuildRequestId) {
    let (bid, _) = queue(t, builder, 1).await;
    let mut c = t.db.acquire().await.unwrap();
    let master = db::masters::upsert(c.conn(), "m", 1).await.unwrap();
    let worker = db::workers::upsert(c.conn(), "w").await.unwrap();
    let claimed = db::buildrequests::claim_next(c.conn(), bid, master, 1).await.unwrap().unwrap();
    let props = BTreeMap::new();
    let new = NewBuild {
        builder_id: bid,
        buildrequest_id: claimed.request(),
        worker_id: worker,
        master_id: master,
        reason: "r",
        properties: &props,
        source: &Default::default(),
    };
    let (build, _) = db::builds::insert(c.conn(), &new, 1).await.unwrap();
    let step = db::steps::insert(c.conn(), build, 1, step_name, 1).await.unwrap();
    let log = db::logs::insert(c.conn(), step, "stdio", "stdio").await.unwrap();
    (build, log, claimed.request())
}

#[tokio::test]
async fn logs_are_stored_in_chunks_and_read_by_window() {
    let t = TestDb::new().await;
    let (build, log, _) = running_build_with_log(&t, "b", "compile").await;

    // 2,500 lines in chunks of at most 1,000, with stderr lines mixed in.
    let mut buffer = LogBuffer::new();
    for i in 0..2500 {
        let channel = if i % 10 == 0 { Channel::Stderr } else { Channel::Stdout };
        buffer.push(channel, &format!("line {i}\n"));
        if buffer.is_full() {
            logs::store_chunk(&t.db, log, buffer.take_chunk().unwrap()).await.unwrap();
        }
    }
    buffer.close();
    logs::store_chunk(&t.db, log, buffer.take_chunk().unwrap()).await.unwrap();

    let mut c = t.db.acquire().await.unwrap();
    let info = db::logs::get(c.conn(), "b", 1, "1", "stdio").await.unwrap();
    assert_eq!(info.num_lines, 2500);
    let window = logs::read_lines(&t.db, log, 995, 10).await.unwrap();
    assert_eq!(window.iter().map(|l| l.number).collect::<Vec<_>>(), (995..1005).collect::<Vec<_>>());
    assert_eq!(window[5].text, "line 1000");
    assert_eq!(window[5].channel, Channel::Stderr);
    let tail = logs::read_lines(&t.db, log, 1500, 1000).await.unwrap();
    assert_eq!((tail.len(), tail.last().unwrap().text.as_str()), (1000, "line 2499"));
    assert!(logs::read_lines(&t.db, log, 5000, 10).await.unwrap().is_empty());

    use futures::StreamExt;
    let mut text = Vec::new();
    let mut stream = Box::pin(logs::stream_text(t.db.clone(), log));
    while let Some(piece) = stream.next().await {
        text.extend_from_slice(&piece.unwrap());
    }
    let text = String::from_utf8(text).unwrap();
    assert_eq!(text.lines().count(), 2500);
    assert!(text.starts_with("line 0\nline 1\n"));

    let steps = db::steps::list_for_builds(c.conn(), &[build]).await.unwrap();
    let step = &steps[&build][0];
    assert_eq!((step.name.as_str(), step.logs[0].num_lines), ("compile", 2500));
}

async fn finished_build_with_log(
    t: &TestDb,
    builder: &str,
    finished_at: i64,
) -> (cascade::model::BuildId, cascade::model::LogId) {
    let (build, log, request) = running_build_with_log(t, builder, "s").await;
    let mut c = t.db.acquire().await.unwrap();
    let set = db::buildrequests::buildset_of(c.conn(), request).await.unwrap();
    db::builds::finish(c.conn(), build, Results::Success, "ok", finished_at).await.unwrap();
    db::buildrequests::complete(c.conn(), request, Results::Success, finished_at).await.unwrap();
    db::buildsets::complete_if_done(c.conn(), set, finished_at).await.unwrap();
    drop(c);
    let mut buffer = LogBuffer::new();
    buffer.push(Channel::Stdout, "some output\n");
    logs::store_chunk(&t.db, log, buffer.take_chunk().unwrap()).await.unwrap();
    (build, log)
}

#[tokio::test]
async fn prune_drops_old_logs_then_old_builds_and_keeps_new_ones() {
    let t = TestDb::new().await;
    let (old_build, old_log) = finished_build_with_log(&t, "a", 100).await;
    let (new_build, new_log) = finished_build_with_log(&t, "b", 1_000).await;

    let pruned = db::prune::prune(&t.db, 500, true).await.unwrap();
    assert_eq!(pruned, db::prune::Pruned { logs: 1, builds: 0 });
    assert!(logs::read_lines(&t.db, old_log, 0, 10).await.unwrap().is_empty());
    assert_eq!(logs::read_lines(&t.db, new_log, 0, 10).await.unwrap().len(), 1);
    let mut c = t.db.acquire().await.unwrap();
    db::builds::get(c.conn(), old_build).await.unwrap();
    drop(c);

    let pruned = db::prune::prune(&t.db, 500, false).await.unwrap();
    assert_eq!(pruned, db::prune::Pruned { logs: 0, builds: 1 });
    let mut c = t.db.acquire().await.unwrap();
    assert!(matches!(db::builds::get(c.conn(), old_build).await, Err(DbError::NotFound)));
    db::builds::get(c.conn(), new_build).await.unwrap();
    assert!(db::steps::list_for_builds(c.conn(), &[old_build]).await.unwrap().is_empty());
    assert_eq!(db::steps::list_for_builds(c.conn(), &[new_build]).await.unwrap().len(), 1);
}
