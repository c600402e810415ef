//! Hook deliveries arriving together share a transaction (group commit): each is answered
//! after its own commit with its own changes and its own record in the delivery log, and one
//! whose changes the database refuses is undone alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use cascade::db::Db;
use cascade::engine::bus::Event;
use cascade::hooks::HookRequest;
use poem::http::HeaderMap;

use common::TestMaster;

const DELIVERIES: usize = 40;

const CONFIG: &str = "[[builders]]\nname = \"b\"\nworkers = [\"local\"]\nsteps = [ { name = \"s\", command = \"true\" } ]\n\
    [change_hook]\ndialects = { base = {} }\n";

/// Makes the database refuse any change whose author is `refused <r@x>`.
async fn refuse_one_author(db: &Db) {
    match db {
        Db::Sqlite(pool, _) => {
            sqlx::query(
                "create trigger refuse before insert on changes when new.author = 'refused <r@x>' \
                 begin select raise(abort, 'refused by the test'); end",
            )
            .execute(pool)
            .await
            .unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query(
                "create function refuse() returns trigger language plpgsql as $$ begin \
                 if new.author = 'refused <r@x>' then raise exception 'refused by the test'; end if; \
                 return new; end $$",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("create trigger refuse before insert on changes for each row execute function refuse()")
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

fn delivery(author: &str, revision: usize) -> HookRequest {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    let body = format!("author={}&revision=r{revision}&comments=c{revision}", author.replace(' ', "+"));
    HookRequest { headers, query: HashMap::new(), body: Bytes::from(body) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_that_arrive_together_are_stored_and_answered_each_alone() {
    let m = TestMaster::start(CONFIG).await;
    refuse_one_author(&m.engine.db).await;
    let mut events = m.engine.bus.subscribe();

    let refused_at = DELIVERIES / 2;
    let calls = (0..DELIVERIES).map(|i| {
        let engine = m.engine.clone();
        let author = if i == refused_at { "refused <r@x>" } else { "a <a@x>" };
        tokio::spawn(async move {
            cascade::hooks::handle(&engine, "base", "127.0.0.1", &delivery(author, i), true, None).await
        })
    });
    let answers = futures::future::join_all(calls).await;

    let mut conn = m.engine.db.acquire().await.unwrap();
    let mut stored = HashSet::new();
    for (i, answer) in answers.into_iter().enumerate() {
        let (outcome, record) = answer.unwrap();
        let record =
            cascade::db::deliveries::get(conn.conn(), record.expect("every delivery is recorded")).await.unwrap();
        assert_eq!(record.status, i64::from(outcome.status.as_u16()));
        assert_eq!(record.change_ids, serde_json::to_string(&outcome.change_ids).unwrap());
        if i == refused_at {
            assert_eq!(outcome.status, 503, "{:?}", outcome.body);
            assert!(outcome.change_ids.is_empty());
            continue;
        }
        assert_eq!(outcome.status, 202, "{:?}", outcome.body);
        let [id] = outcome.change_ids[..] else { panic!("{:?}", outcome.change_ids) };
        let change = cascade::db::changes::get(conn.conn(), cascade::model::ChangeId(id)).await.unwrap();
        assert_eq!(change.fields.revision.as_deref(), Some(format!("r{i}").as_str()));
        assert!(stored.insert(id), "change {id} answered twice");
    }
    let total: i64 = match &m.engine.db {
        Db::Sqlite(pool, _) => sqlx::query_scalar("select count(*) from changes").fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("select count(*) from changes").fetch_one(pool).await.unwrap(),
    };
    assert_eq!(total, (DELIVERIES - 1) as i64, "the refused change is not stored");

    // Each stored change is published once, the refused one never.
    let mut published = HashSet::new();
    while published.len() < stored.len() {
        if let Event::ChangeNew(c) = &events.recv().await.unwrap().event {
            assert!(published.insert(c.id.0), "change {} published twice", c.id.0);
            assert_ne!(c.fields.author, "refused <r@x>");
        }
    }
    assert_eq!(published, stored);
}

/// The ids of every stored change, in order, as a reader sees them now.
async fn change_ids(db: &Db) -> Vec<i64> {
    let sql = "select id from changes order by id";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
    }
}

/// On PostgreSQL, makes the commit of any transaction that stored a change by `slow <s@x>`
/// take two seconds; says whether it did (SQLite has no such trigger, nor needs it: its
/// transactions write one at a time).
async fn slow_commits(db: &Db) -> bool {
    let Db::Postgres(pool) = db else { return false };
    for sql in [
        "create function sleep_at_commit() returns trigger language plpgsql as $$ begin \
         perform pg_sleep(2); return null; end $$",
        "create constraint trigger slow after insert on changes deferrable initially deferred \
         for each row when (new.author = 'slow <s@x>') execute function sleep_at_commit()",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    true
}

/// How many transactions of this database are sleeping in [`slow_commits`]'s trigger.
async fn sleeping_commits(db: &Db) -> i64 {
    let Db::Postgres(pool) = db else { return 0 };
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_become_visible_and_are_published_in_the_order_of_their_ids() {
    const MANY: usize = 300;
    let m = TestMaster::start(CONFIG).await;
    let mut events = m.engine.bus.subscribe();

    // A reader that follows the changes by id, as a poller of the API does, looks all along.
    let following = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = {
        let (db, following) = (m.engine.db.clone(), following.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while following.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(change_ids(&db).await);
            }
            seen
        })
    };
    let send = |author: &'static str, i: usize| {
        let engine = m.engine.clone();
        tokio::spawn(async move {
            cascade::hooks::handle(&engine, "base", "127.0.0.1", &delivery(author, i), true, None).await
        })
    };
    // On PostgreSQL, whose batches write side by side, the first batch is made slow to
    // commit; the others are sent while it commits and must not overtake it.
    let slow = slow_commits(&m.engine.db).await;
    let first = send("slow <s@x>", 0);
    if slow {
        while sleeping_commits(&m.engine.db).await == 0 {
            assert!(!first.is_finished(), "the slow commit was not seen");
            tokio::task::yield_now().await;
        }
    }
    let calls = std::iter::once(first).chain((1..MANY).map(|i| send("a <a@x>", i)));
    for answer in futures::future::join_all(calls).await {
        assert_eq!(answer.unwrap().0.status, 202);
    }
    following.store(false, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.await.unwrap();

    // Whatever the reader saw was every change up to the largest id it saw: none with a
    // smaller id came into sight after a larger one.
    let all = change_ids(&m.engine.db).await;
    assert_eq!(all.len(), MANY);
    for ids in &seen {
        let upto = ids.last().copied().unwrap_or(0);
        let expected: Vec<i64> = all.iter().copied().filter(|&id| id <= upto).collect();
        assert_eq!(ids, &expected, "a reader saw change {upto} before an earlier one");
    }
    assert!(seen.len() > 1, "the reader looked only once");

    let mut published = Vec::with_capacity(MANY);
    while published.len() < MANY {
        if let Event::ChangeNew(c) = &events.recv().await.unwrap().event {
            published.push(c.id.0);
        }
    }
    assert_eq!(published, all, "changes are published in the order of their ids");
}
