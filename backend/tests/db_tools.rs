//! `cascade db backup`, run as a user would on a seeded installation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod db_tools_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cascade::db::{self, Db};
use db_tools_support::{Installation, cascade, counts, text};

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
