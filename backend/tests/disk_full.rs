//! The disk under a SQLite database full while the master runs, as SQLite's `max_page_count`
//! limit makes it (the same `SQLITE_FULL` a full disk gives, without a file system to fill):
//! a hook is answered 507 `storage_full`, nothing of it stored, reads keep working, and once
//! there is room again the master stores hooks and runs builds without a restart. The limit
//! is SQLite's; on PostgreSQL the test returns at once (`scripts/soak/run.sh disk_full` fills
//! a real disk).
//!
//! A statement SQLite cannot undo alone (one without a statement journal, or a COMMIT that
//! finds no room for the log) makes it roll the whole transaction back by itself, behind
//! sqlx's back: such a connection must not go back to the pool, where it would refuse every
//! later transaction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::db::{Conn, Db, DbError};
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::Value;

/// SQLite's largest `max_page_count`: no limit.
const NO_LIMIT: i64 = 4_294_967_294;

/// Sets `max_page_count` on every connection, the readers' and the writer's (it is a
/// setting of each connection, not of the file): `pages` of 1 stops the file growing past
/// its size now.
async fn limit_pages(db: &Db, pages: i64) {
    let Db::Sqlite(readers, writer) = db else { unreachable!("a SQLite test") };
    for pool in [readers, writer.pool()] {
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("pragma max_page_count = {pages}")))
                .execute(&mut *conn)
                .await
                .unwrap();
            held.push(conn);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_hooks_with_507_keeps_reads_and_recovers_when_freed() {
    let tdb = common::TestDb::new().await;
    if !matches!(tdb.db, Db::Sqlite(..)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let body = "[change_hook]\ndialects = { base = {} }\n[[builders]]\nname = \"app\"\nworkers = [\"local\"]\n\
                steps = [ { name = \"s\", command = \"true\" } ]\n[[schedulers]]\nname = \"main\"\n\
                kind = \"single_branch\"\nbranch = \"main\"\nbuilders = [\"app\"]\n";
    let cfg = common::config(dir.path(), body, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let client = TestClient::new(cascade::server::app(engine.clone()));
    let mut rx = engine.bus.subscribe();
    // Changes on `main` are built; those on `side` only stored, so that no build writes
    // while the disk is full and the hooks meet the limit first.
    let post = |branch: &str, rev: String| {
        client
            .post("/change_hook/base")
            .content_type("application/x-www-form-urlencoded")
            .body(format!("author=a+%3Ca%40x%3E&branch={branch}&revision={rev}"))
            .send()
    };
    post("main", "before".into()).await.assert_status(StatusCode::ACCEPTED);
    common::wait_finished(&mut rx, "app", 60).await;

    limit_pages(&tdb.db, 1).await;
    // What still fits in the pages the file has is stored; the first hook that needs more is refused.
    let mut stored = 1;
    let refusal = loop {
        let resp = post("side", format!("full-{stored}")).await;
        let status = resp.0.status();
        let answer: Value = serde_json::from_str(&resp.0.into_body().into_string().await.unwrap()).unwrap();
        match status {
            StatusCode::ACCEPTED => stored += 1,
            StatusCode::INSUFFICIENT_STORAGE => break answer,
            other => panic!("a hook on a full disk was answered {other}: {answer}"),
        }
        assert!(stored < 900, "the database never filled up");
    };
    assert_eq!(refusal["error"], "storage_full", "{refusal}");
    assert!(refusal["message"].as_str().unwrap().contains("no space left"), "{refusal}");
    // Hooks arriving together share a transaction, which SQLite rolls back by itself when
    // the disk is full: each of them is told so too, not that the database is unavailable.
    let burst = futures::future::join_all((0..8).map(|n| post("side", format!("burst-{n}")))).await;
    for resp in burst {
        let status = resp.0.status();
        let answer = resp.0.into_body().into_string().await.unwrap();
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{answer}");
    }

    // Reads go on; the refused change is not among the stored ones.
    let changes = client.get("/api/v1/changes?limit=1000").send().await;
    changes.assert_status_is_ok();
    let list: Value = changes.0.into_body().into_json().await.unwrap();
    let revisions: Vec<&str> =
        list["changes"].as_array().unwrap().iter().filter_map(|c| c["revision"].as_str()).collect();
    assert_eq!(revisions.len(), stored, "{revisions:?}");
    assert!(!revisions.contains(&format!("full-{stored}").as_str()));
    client.get("/api/v1/builds").send().await.assert_status_is_ok();

    // Room again: the same master stores every hook (whichever pooled connection it gets:
    // SQLite rolled the refused one's transaction back by itself), the refused one too, and
    // builds them.
    limit_pages(&tdb.db, NO_LIMIT).await;
    for n in 0..20 {
        let resp = post("side", format!("after-{n}")).await;
        let status = resp.0.status();
        assert_eq!(status, StatusCode::ACCEPTED, "{}", resp.0.into_body().into_string().await.unwrap());
    }
    post("main", format!("full-{stored}")).await.assert_status(StatusCode::ACCEPTED);
    let build = loop {
        let b = common::wait_finished(&mut rx, "app", 60).await;
        if b.revision.as_deref() == Some(format!("full-{stored}").as_str()) {
            break b;
        }
    };
    assert_eq!(build.results, Some(cascade::model::Results::Success));
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_sqlite_rolled_back_on_a_full_disk_leaves_no_spoilt_connection() {
    let tdb = common::TestDb::new().await;
    let Db::Sqlite(pool, _) = &tdb.db else { return };
    sqlx::query("create table filler (x blob)").execute(pool).await.unwrap();
    limit_pages(&tdb.db, 1).await;
    {
        let mut tx = tdb.db.begin().await.unwrap();
        let Conn::Sqlite(conn) = tx.conn() else { unreachable!() };
        // One row in a table without constraints: SQLite undoes the whole transaction.
        let refused = sqlx::query("insert into filler values (randomblob(1000000))").execute(conn).await.unwrap_err();
        assert!(matches!(DbError::from(refused), DbError::Full(_)));
    }
    limit_pages(&tdb.db, NO_LIMIT).await;
    // Several transactions: each one would meet a spoilt connection.
    for _ in 0..2 * pool.options().get_max_connections() {
        let mut tx = tdb.db.begin().await.unwrap_or_else(|e| panic!("a connection was left spoilt: {e}"));
        let Conn::Sqlite(conn) = tx.conn() else { unreachable!() };
        sqlx::query("insert into filler values (x'00')").execute(conn).await.unwrap();
        tx.commit().await.unwrap();
    }
}
