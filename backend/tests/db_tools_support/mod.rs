//! What the database tools' tests share: the binary run as a user runs it, a seeded SQLite
//! installation with a row in every table, a PostgreSQL database made for one test, and
//! every table's rows read from either backend as comparable values.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Output;

use cascade::auth::users::{self, UserChange};
use cascade::db::users::Attribute;
use cascade::db::{self, Db};
use cascade::model::NewChange;
use sqlx::Row;

/// Builders and schedulers of the test installations (the workers come from the header).
pub const BUILDERS: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
tags = ["app"]
steps = [ { name = "s", command = "true" } ]
[[builders]]
name = "lib"
workers = ["local"]
tags = ["lib"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "lib"]
"#;

/// Runs `cascade` with `args`.
pub async fn cascade(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cascade")).args(args).output().await.unwrap()
}

/// What a run printed, on both streams.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A master's directory with a configuration and a SQLite database seeded with a history.
pub struct Installation {
    pub dir: tempfile::TempDir,
    pub url: String,
    config: String,
}

impl Installation {
    /// A history of 120 builds of two builders, written by `cascade bench seed`.
    pub async fn seeded() -> Installation {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cascade.toml");
        let body = format!(
            "title = \"db tools\"\n[db]\nurl = \"sqlite://cascade.sqlite\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n\
             [[workers]]\nname = \"local\"\nembedded = true\n{BUILDERS}"
        );
        std::fs::write(&path, body).unwrap();
        let config = path.to_str().unwrap().to_owned();
        let out = cascade(&["bench", "seed", "--config", &config, "--builds", "120", "--changes", "60"]).await;
        assert!(out.status.success(), "{}", text(&out));
        let url = format!("sqlite://{}", dir.path().join("cascade.sqlite").display());
        Installation { dir, url, config }
    }

    /// The configuration file's path.
    pub fn config(&self) -> &str {
        &self.config
    }

    /// Rows in the tables the seeder leaves empty (users, sessions, outbox, hook deliveries,
    /// events, state), with text and bytes that need escaping on their way.
    pub async fn add_the_rest(&self) {
        let db = Db::connect(&self.url).await.unwrap();
        let now = chrono::Utc::now().timestamp();
        let attribute = |t: &str, d: &str| Attribute { attr_type: t.into(), attr_data: d.into() };
        let ann = users::add(
            &db,
            &UserChange {
                identifier: Some("ann".into()),
                username: Some("ann".into()),
                password: Some("pw".into()),
                attributes: vec![attribute("email", "ann@example.org"), attribute("git", "Ann Lee <ann@example.org>")],
            },
        )
        .await
        .unwrap();
        users::add(
            &db,
            &UserChange {
                identifier: Some("bob".into()),
                attributes: vec![attribute("irc", "bob\tthe builder")],
                ..Default::default()
            },
        )
        .await
        .unwrap();

        let mut tx = db.begin().await.unwrap();
        let session = |uid, name: &str| db::sessions::Session {
            uid,
            username: name.into(),
            csrf_token: "c".into(),
            expires_at: now + 60,
        };
        db::sessions::insert(tx.conn(), "hash-ann", &session(Some(ann.user.uid), "ann"), now).await.unwrap();
        db::sessions::insert(tx.conn(), "hash-guest", &session(None, "guest"), now).await.unwrap();
        let change = NewChange {
            author: "Zoë \"zed\" <zoe@example.org>".into(),
            comments: "tab\there\nnew line\r\nback\\slash \\N and 🎉".into(),
            properties: [("json".to_string(), serde_json::json!({ "nested": [1, "two\t", null] }))].into(),
            files: vec!["a b/c\\d.rs".into()],
            ..Default::default()
        };
        let change = db::changes::insert(tx.conn(), &change, now).await.unwrap();
        db::scheduler_changes::insert(tx.conn(), "main", change).await.unwrap();
        db::state::set(tx.conn(), "poller", "revisions", "{\"main\": \"abc\\tdef\"}\t\\N").await.unwrap();
        let payload = serde_json::json!({ "to": ["ann@example.org"], "subject": "Ünïcode\n" });
        let sent = db::outbox::enqueue(tx.conn(), "mail", "build:1", &payload, now).await.unwrap();
        let failed = db::outbox::enqueue(tx.conn(), "mail", "build:2", &payload, now).await.unwrap();
        db::outbox::enqueue(tx.conn(), "irc", "build:2", &payload, now).await.unwrap();
        db::outbox::mark_sent(tx.conn(), sent, now).await.unwrap();
        db::outbox::mark_failed(tx.conn(), failed, "550 no such user", None, now).await.unwrap();
        let delivery = db::deliveries::Delivery {
            dialect: "github".into(),
            received_at: now,
            source_addr: "10.0.0.1".into(),
            event: Some("push".into()),
            status: 200,
            outcome: "1 change".into(),
            change_ids: format!("[{}]", change.0),
            headers: "{\"X-GitHub-Event\": \"push\"}".into(),
            content_type: Some("application/json".into()),
            body: Some(vec![0, 1, 2, b'\t', b'\n', b'\\', b'N', 0xff]),
            ..Default::default()
        };
        let first = db::deliveries::insert(tx.conn(), &delivery).await.unwrap();
        let replay = db::deliveries::Delivery { replay_of: Some(first), body: None, body_truncated: 1, ..delivery };
        db::deliveries::insert(tx.conn(), &replay).await.unwrap();
        // A body large enough to be stored compressed.
        let mut compressed = db::deliveries::Delivery { event: Some("ping".into()), ..Default::default() };
        compressed.keep_body("{\"zen\": \"Keep it logically awesome.\"}\n".repeat(40).as_bytes());
        assert_eq!(compressed.body_encoding.as_deref(), Some("zstd"));
        db::deliveries::insert(tx.conn(), &compressed).await.unwrap();
        for actor in [Some("ann"), None] {
            db::events::insert(tx.conn(), "force_build", now, actor, &serde_json::json!({ "reason": "a\tb\nc" }))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        // A large event kept for the bus between masters (never written on SQLite by a
        // master, but the table is part of the schema and goes along).
        let Db::Sqlite(pool, _) = &db else { panic!("the installation is on SQLite") };
        sqlx::query("insert into bus_events (master, at, payload) values (1, ?, ?)")
            .bind(now)
            .bind(r#"{"at_ms":1,"event":{"Resync":{"reason":"a\tb"}}}"#)
            .execute(pool)
            .await
            .unwrap();
        db.close().await;
    }
}

/// An empty PostgreSQL database for a migration to fill, on the server of
/// CASCADE_TEST_DATABASE_URL or the local one.
pub type PgDatabase = super::common::PgScratch;

/// Creates it, or says why the test is skipped and returns `None`.
pub async fn empty_postgres() -> Option<PgDatabase> {
    let admin = match std::env::var("CASCADE_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    };
    match PgDatabase::create(&admin, "cascade_migrate").await {
        Ok(pg) => Some(pg),
        Err(e) => {
            eprintln!("skipped: no PostgreSQL server at {admin} ({e})");
            None
        }
    }
}

const SQLITE_TABLES: &str = "select name from sqlite_schema where type = 'table' \
    and name not like 'sqlite%' and name <> '_sqlx_migrations' order by name";
const POSTGRES_TABLES: &str = "select table_name::text from information_schema.tables \
    where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name <> '_sqlx_migrations' \
    order by table_name";

/// Every table's row count.
pub async fn counts(db: &Db) -> BTreeMap<String, i64> {
    let tables: Vec<String> = match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(SQLITE_TABLES).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(POSTGRES_TABLES).fetch_all(pool).await.unwrap(),
    };
    let mut counts = BTreeMap::new();
    for table in tables {
        let sql = sqlx::AssertSqlSafe(format!("select count(*) from {table}"));
        let n: i64 = match db {
            Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        };
        counts.insert(table, n);
    }
    counts
}

/// A value as both backends can give it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A table's columns and their PostgreSQL types, which say how to read either backend.
pub async fn columns(pg: &Db, table: &str) -> Vec<(String, String)> {
    let Db::Postgres(pool) = pg else { panic!("the column types come from PostgreSQL") };
    sqlx::query_as(
        "select column_name::text, data_type::text from information_schema.columns \
         where table_schema = current_schema() and table_name = $1 order by ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every row of `table`, field by field, sorted (the backends' orders need not agree).
pub async fn rows(db: &Db, table: &str, columns: &[(String, String)]) -> Vec<Vec<Value>> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let sql =
        format!("select {} from {table}", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "));
    let mut out: Vec<Vec<Value>> = match db {
        Db::Sqlite(pool, _) => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap();
            rows.iter().map(|r| columns.iter().enumerate().map(|(i, (_, t))| value(r, i, t)).collect()).collect()
        }
        Db::Postgres(pool) => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap();
            rows.iter().map(|r| columns.iter().enumerate().map(|(i, (_, t))| value(r, i, t)).collect()).collect()
        }
    };
    out.sort();
    out
}

fn value<'r, R: Row>(row: &'r R, i: usize, data_type: &str) -> Value
where
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let v = match data_type {
        "bigint" => row.try_get::<Option<i64>, _>(i).unwrap().map(Value::Int),
        "text" => row.try_get::<Option<String>, _>(i).unwrap().map(Value::Text),
        "bytea" => row.try_get::<Option<Vec<u8>>, _>(i).unwrap().map(Value::Bytes),
        other => panic!("a column of type {other}: teach the test to compare it"),
    };
    v.unwrap_or(Value::Null)
}
