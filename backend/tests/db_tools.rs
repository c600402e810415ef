//! `cascade db backup` and `cascade migrate-from-sqlite`, run as a user would on a seeded
//! installation. The migration tests need a PostgreSQL server: `CASCADE_TEST_DATABASE_URL`
//! when it names one, else the local server as user postgres; each test creates a database
//! of its own and drops it at the end. Without a server they say so and pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod db_tools_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cascade::db::{self, Db};
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::ForceRequest;
use db_tools_support::{Installation, cascade, columns, counts, rows, text};

#[tokio::test]
async fn a_backup_of_a_live_database_opens_and_has_the_same_counts() {
    let site = Installation::seeded().await;
    let live = Db::connect(&site.url).await.unwrap();
    // A master keeps writing while the backup runs: its rows sit in the WAL, not yet in the file.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (db, writing) = (live.clone(), writing.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while writing.load(Ordering::SeqCst) {
                let mut conn = db.acquire().await.unwrap();
                db::events::insert(conn.conn(), "tick", n, None, &serde_json::json!({ "n": n })).await.unwrap();
                n += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    let before = counts(&live).await;
    let backup = site.dir.path().join("backup.sqlite");
    let out = cascade(&["db", "backup", backup.to_str().unwrap(), "--config", site.config()]).await;
    writing.store(false, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("backup.sqlite") && text(&out).contains(" in "), "{}", text(&out));
    let after = counts(&live).await;
    assert!(after["events"] > before["events"], "the master wrote while the backup ran");

    let copy = Db::connect_existing(&format!("sqlite://{}", backup.display())).await.unwrap();
    let Db::Sqlite(pool, _) = &copy else { unreachable!() };
    let check: String = sqlx::query_scalar("pragma integrity_check").fetch_one(pool).await.unwrap();
    assert_eq!(check, "ok");
    let copied = counts(&copy).await;
    assert_eq!(copied.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    for (table, n) in &copied {
        if table == "events" {
            assert!((before[table]..=after[table]).contains(n), "events: {n} not within {before:?}..{after:?}");
        } else {
            assert_eq!((table, *n), (table, before[table]), "the backup has the rows of the live database");
        }
    }
    copy.close().await;

    let again = cascade(&["db", "backup", backup.to_str().unwrap(), "--config", site.config()]).await;
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists (use --force"), "{}", text(&again));
    let forced = cascade(&["db", "backup", backup.to_str().unwrap(), "--force", "--config", site.config()]).await;
    assert!(forced.status.success(), "{}", text(&forced));
    let database = site.dir.path().join("cascade.sqlite");
    let itself = cascade(&["db", "backup", database.to_str().unwrap(), "--force", "--config", site.config()]).await;
    assert!(text(&itself).contains("is the database itself"), "{}", text(&itself));
    live.close().await;
}

#[tokio::test]
async fn a_backup_of_a_postgres_database_points_to_pg_dump_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cascade.toml");
    let body = format!(
        "[db]\nurl = \"postgres://ci:s3cret@db.example.org/cascade\"\n[[workers]]\nname = \"local\"\nembedded = true\n{}",
        db_tools_support::BUILDERS
    );
    std::fs::write(&config, body).unwrap();
    let out = cascade(&["db", "backup", "ci.dump", "--config", config.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("pg_dump --format=custom --file=ci.dump postgres://ci@db.example.org/cascade"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

#[tokio::test]
async fn migration_copies_every_row_of_every_table_and_a_master_carries_on() {
    let Some(pg) = db_tools_support::empty_postgres().await else { return };
    let site = Installation::seeded().await;
    site.add_the_rest().await;
    let source = Db::connect(&site.url).await.unwrap();
    // A deleted newest row: SQLite's AUTOINCREMENT never hands its id out again, nor may PostgreSQL.
    let Db::Sqlite(spool, _) = &source else { unreachable!() };
    sqlx::query("delete from events where id = (select max(id) from events)").execute(spool).await.unwrap();
    let events_seq: i64 =
        sqlx::query_scalar("select seq from sqlite_sequence where name = 'events'").fetch_one(spool).await.unwrap();
    let source_counts = counts(&source).await;
    let empty: Vec<_> = source_counts.iter().filter(|(_, n)| **n == 0).collect();
    assert!(empty.is_empty(), "every table must have rows for the test to cover it: {empty:?}");

    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", &pg.url]).await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains(&format!("[db]\nurl = \"{}\"", pg.url)), "{said}");
    assert!(said.contains("every table's count matches"), "{said}");
    for (table, n) in &source_counts {
        assert!(
            said.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == [table, &n.to_string(), &n.to_string()])
        );
    }

    let target = Db::connect(&pg.url).await.unwrap();
    assert!(target.schema_state().await.unwrap().is_current());
    assert_eq!(counts(&target).await, source_counts);
    for table in source_counts.keys() {
        let columns = columns(&target, table).await;
        let (from, to) = (rows(&source, table, &columns).await, rows(&target, table, &columns).await);
        assert_eq!(from.len(), to.len(), "{table}");
        for (a, b) in from.iter().zip(&to) {
            assert_eq!(a, b, "a row of {table} differs");
        }
    }
    source.close().await;

    // Every sequence goes on past the copied ids...
    let Db::Postgres(pool) = &target else { unreachable!() };
    let sequences: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns \
         where table_schema = current_schema() and is_identity = 'YES'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(sequences.len() >= 15, "{sequences:?}");
    let next_event: i64 =
        sqlx::query_scalar("select nextval(pg_get_serial_sequence('events', 'id'))").fetch_one(pool).await.unwrap();
    assert_eq!(next_event, events_seq + 1);
    let max_build: i64 = sqlx::query_scalar("select max(id) from builds").fetch_one(pool).await.unwrap();
    // ...so a master started on PostgreSQL registers itself and runs a build with new rows.
    let dir = tempfile::tempdir().unwrap();
    let cfg = Arc::new(common::config(dir.path(), db_tools_support::BUILDERS, &pg.url));
    let engine = Engine::start(cfg, target.clone(), Arc::new(SystemClock)).await.unwrap();
    let mut rx = engine.bus.subscribe();
    engine.force("app", ForceRequest::default()).await.unwrap();
    let build = common::wait_finished(&mut rx, "app", 30).await;
    assert!(build.id.0 > max_build, "build {} reuses an id", build.id.0);
    let user = cascade::auth::users::add(
        &target,
        &cascade::auth::users::UserChange { identifier: Some("zoe".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(user.user.uid, source_counts["users"] + 1);
    for (table, column) in &sequences {
        let sql = format!(
            "select coalesce(max({column}), 0) < nextval(pg_get_serial_sequence('{table}', '{column}')) from {table}"
        );
        let ahead: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap();
        assert!(ahead, "the sequence of {table}.{column} is behind its ids");
    }
    engine.stop().await;
    target.close().await;
}

#[tokio::test]
async fn a_target_that_holds_anything_is_refused_and_left_untouched() {
    let Some(pg) = db_tools_support::empty_postgres().await else { return };
    let site = Installation::seeded().await;
    let Db::Postgres(pool) = Db::connect(&pg.url).await.unwrap() else { unreachable!() };
    sqlx::query("create table notes (id bigint, body text)").execute(&pool).await.unwrap();
    sqlx::query("insert into notes values (1, 'keep me')").execute(&pool).await.unwrap();

    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", &pg.url]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("is not empty: notes (1 row)"), "{}", text(&out));
    let builds: Option<String> =
        sqlx::query_scalar("select to_regclass('builds')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(builds, None, "the refused target was not even migrated");
    let notes: Vec<String> = sqlx::query_scalar("select body from notes").fetch_all(&pool).await.unwrap();
    assert_eq!(notes, ["keep me"]);

    // A Cascade database already in use is refused the same way.
    sqlx::query("drop table notes").execute(&pool).await.unwrap();
    let target = Db::connect(&pg.url).await.unwrap();
    target.migrate().await.unwrap();
    cascade::auth::users::add(
        &target,
        &cascade::auth::users::UserChange { identifier: Some("ann".into()), ..Default::default() },
    )
    .await
    .unwrap();
    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", &pg.url]).await;
    assert!(text(&out).contains("is not empty: users (1 row)"), "{}", text(&out));
    assert_eq!(counts(&target).await.values().sum::<i64>(), 1);
    target.close().await;
    pool.close().await;
}

#[tokio::test]
async fn a_source_behind_the_schema_or_in_use_by_a_master_is_refused() {
    let site = Installation::seeded().await;
    // Nothing listens on port 1: a refusal that comes first never connects to the target.
    let nowhere = "postgres://postgres@127.0.0.1:1/nowhere";
    let source = Db::connect(&site.url).await.unwrap();
    let Db::Sqlite(pool, _) = &source else { unreachable!() };
    let last: i64 = sqlx::query_scalar("select max(version) from _sqlx_migrations").fetch_one(pool).await.unwrap();
    sqlx::query("update _sqlx_migrations set success = false where version = $1")
        .bind(last)
        .execute(pool)
        .await
        .unwrap();
    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", nowhere]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("run `cascade db upgrade --config {}` first", site.config())),
        "{}",
        text(&out)
    );
    sqlx::query("update _sqlx_migrations set success = true where version = $1")
        .bind(last)
        .execute(pool)
        .await
        .unwrap();

    let mut conn = source.acquire().await.unwrap();
    db::masters::upsert(conn.conn(), "ci.example.org:/srv/ci", chrono::Utc::now().timestamp()).await.unwrap();
    drop(conn);
    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", nowhere]).await;
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("a master seems to be running") && said.contains("ci.example.org:/srv/ci"), "{said}");
    assert!(said.contains("--force"), "{said}");

    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", nowhere, "--force"]).await;
    let said = text(&out);
    assert!(said.contains("warning: copying although a master seems to be running"), "{said}");
    assert!(said.contains("cannot connect to postgres://postgres@127.0.0.1:1/nowhere"), "{said}");
    source.close().await;
}

#[tokio::test]
async fn a_value_postgres_cannot_hold_rolls_the_whole_copy_back() {
    let Some(pg) = db_tools_support::empty_postgres().await else { return };
    let site = Installation::seeded().await;
    let source = Db::connect(&site.url).await.unwrap();
    let mut conn = source.acquire().await.unwrap();
    db::state::set(conn.conn(), "poller", "last", "nul\0byte").await.unwrap();
    drop(conn);

    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", &pg.url]).await;
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("the copy failed and was rolled back"), "{said}");
    assert!(said.contains("object_state.value of the row with rowid 1") && said.contains("NUL"), "{said}");
    let target = Db::connect(&pg.url).await.unwrap();
    let copied = counts(&target).await;
    assert!(copied.contains_key("builds") && copied.values().all(|n| *n == 0), "{copied:?}");

    // Once the value is mended, the same (empty, migrated) target takes the copy.
    let mut conn = source.acquire().await.unwrap();
    db::state::set(conn.conn(), "poller", "last", "mended").await.unwrap();
    drop(conn);
    let out = cascade(&["migrate-from-sqlite", "--config", site.config(), "--to", &pg.url]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(counts(&target).await, counts(&source).await);
    source.close().await;
    target.close().await;
}
