//! What the database tools' tests share: the binary run as a user runs it, a seeded SQLite
//! installation, and every table's row count.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Output;

use cascade::db::Db;

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
