//! What the workers and about pages read: each worker's connected master, a worker's
//! builds, and the master's uptime, database, libraries and fellow masters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::db;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::test::TestClient;
use serde_json::{Value, json};

use common::{TestDb, wait_finished};

const BODY: &str = r#"
[[workers]]
name = "second"
embedded = true
[[workers]]
name = "remote"
password = "secret"
[[builders]]
name = "on-local"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[builders]]
name = "on-second"
workers = ["second"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["on-local", "on-second"]
"#;

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config(dir.path(), BODY, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

async fn get(a: &Api, path: &str) -> Value {
    let resp = a.client.get(path).send().await;
    resp.assert_status_is_ok();
    resp.0.into_body().into_json().await.unwrap()
}

async fn build(a: &Api, builder: &str) {
    let mut rx = a.engine.bus.subscribe();
    let resp = a.client.post(format!("/api/v1/builders/{builder}/force")).body_json(&json!({})).send().await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    wait_finished(&mut rx, builder, 30).await;
}

fn numbers_and_builders(list: &Value) -> Vec<(String, i64)> {
    list["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["builder"].as_str().unwrap().to_owned(), b["number"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn builds_are_listed_by_the_worker_they_ran_on() {
    let a = api().await;
    build(&a, "on-local").await;
    build(&a, "on-second").await;
    build(&a, "on-local").await;

    let local = get(&a, "/api/v1/builds?worker=local").await;
    assert_eq!(numbers_and_builders(&local), [("on-local".into(), 2), ("on-local".into(), 1)]);
    assert!(local["builds"].as_array().unwrap().iter().all(|b| b["worker"] == json!("local")));
    let page = get(&a, "/api/v1/builds?worker=local&limit=1").await;
    assert_eq!(numbers_and_builders(&page), [("on-local".into(), 2)]);
    assert_eq!(page["next_offset"], json!(1));
    let both = get(&a, "/api/v1/builds?worker=local&worker=second").await;
    assert_eq!(numbers_and_builders(&both).len(), 3);
    let with_builder = get(&a, "/api/v1/builds?worker=second&builder=on-local").await;
    assert!(numbers_and_builders(&with_builder).is_empty());
    let nobody = get(&a, "/api/v1/builds?worker=nobody").await;
    assert!(numbers_and_builders(&nobody).is_empty());
}

#[tokio::test]
async fn workers_name_the_master_they_are_connected_to_here_or_elsewhere() {
    let a = api().await;
    let me = get(&a, "/api/v1/master").await["name"].as_str().unwrap().to_owned();
    let local = get(&a, "/api/v1/workers/local").await;
    assert_eq!((local["connected"].clone(), local["master"].clone()), (json!(true), json!(me)));
    let remote = get(&a, "/api/v1/workers/remote").await;
    assert_eq!(remote["connected"], json!(false));
    assert!(remote.get("master").is_none(), "{remote}");

    // Another master sharing the database has the remote worker.
    {
        let mut conn = a.engine.db.acquire().await.unwrap();
        let other = db::masters::upsert(conn.conn(), "elsewhere:/srv/ci", 1_700_000_000).await.unwrap();
        let id = db::workers::upsert(conn.conn(), "remote").await.unwrap();
        let info = json!({"os": "freebsd", "hostname": "build-7"});
        db::workers::set_connected(conn.conn(), id, other, &info, "0.0.9", 1_700_000_100).await.unwrap();
    }
    let remote = get(&a, "/api/v1/workers/remote").await;
    assert_eq!((remote["connected"].clone(), remote["master"].clone()), (json!(true), json!("elsewhere:/srv/ci")));
    assert_eq!((remote["info"]["hostname"].clone(), remote["version"].clone()), (json!("build-7"), json!("0.0.9")));
    assert_eq!(remote["last_seen"], json!("2023-11-14T22:15:00+00:00"));

    // Once that master has stopped, its record of the connection means nothing.
    {
        let mut conn = a.engine.db.acquire().await.unwrap();
        let other = db::masters::upsert(conn.conn(), "elsewhere:/srv/ci", 1_700_000_000).await.unwrap();
        db::masters::set_inactive(conn.conn(), other, 1_700_000_200).await.unwrap();
    }
    let list = get(&a, "/api/v1/workers").await;
    let remote = list["workers"].as_array().unwrap().iter().find(|w| w["name"] == json!("remote")).unwrap();
    assert_eq!(remote["connected"], json!(false));
}

#[tokio::test]
async fn the_master_tells_its_uptime_database_libraries_and_fellow_masters() {
    let a = api().await;
    {
        let mut conn = a.engine.db.acquire().await.unwrap();
        let gone = db::masters::upsert(conn.conn(), "old-host:/srv/ci", 1_600_000_000).await.unwrap();
        db::masters::set_inactive(conn.conn(), gone, 1_600_000_500).await.unwrap();
    }
    let m = get(&a, "/api/v1/master").await;
    assert_eq!(m["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(m["uptime"].as_i64().unwrap() >= 0);
    let started = chrono::DateTime::parse_from_rfc3339(m["started_at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - started.to_utc()).num_seconds() < 120);
    let backend = a.engine.db.backend();
    assert_eq!(m["database"], json!(backend));
    assert!(m["database_size"].as_i64().unwrap() > 0, "{m}");
    let version = m["database_version"].as_str().unwrap();
    assert!(version.chars().next().unwrap().is_ascii_digit(), "{version}");

    let libraries: Vec<(String, String)> = m["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l["version"].as_str().unwrap().to_owned()))
        .collect();
    let semver = regex::Regex::new(r"^\d+\.\d+\.\d+").unwrap();
    for name in ["poem", "poem-openapi", "sqlx", "tokio", "preact"] {
        let found = libraries.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}: {libraries:?}"));
        assert!(semver.is_match(&found.1), "{found:?}");
    }

    let masters = m["masters"].as_array().unwrap();
    assert_eq!(masters.len(), 2, "{masters:?}");
    assert_eq!(
        (masters[0]["name"].clone(), masters[0]["active"].clone(), masters[0]["current"].clone()),
        (m["name"].clone(), json!(true), json!(true))
    );
    assert_eq!(
        (masters[1]["name"].clone(), masters[1]["active"].clone(), masters[1]["current"].clone()),
        (json!("old-host:/srv/ci"), json!(false), json!(false))
    );
    assert_eq!(masters[1]["last_active"], json!("2020-09-13T12:35:00+00:00"));
}
