//! Errors reach API clients in one shape, `{ "error", "message" }`, with the status decided in
//! one place; a database's own words (which differ between SQLite and PostgreSQL and name
//! tables and constraints) are logged, never sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

use common::TestDb;

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// A master where anybody may manage users.
async fn api() -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let text = r#"title = "t"
[web]
listen = ["127.0.0.1:0"]
[authz]
manage_users = true
show_users_page = true
force_build = true
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

async fn answer(resp: TestResponse) -> (StatusCode, Value) {
    let status = resp.0.status();
    let text = resp.0.into_body().into_string().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Words only a database (or its driver) would use.
fn assert_no_database_words(what: &str, body: &Value) {
    let text = body.to_string().to_lowercase();
    for word in ["unique", "constraint", "duplicate", "sqlite", "postgres", "sqlx", "pool", "users.", "relation"] {
        assert!(!text.contains(word), "{what}: the answer leaks `{word}`: {body}");
    }
}

#[tokio::test]
async fn a_conflict_says_what_is_taken_without_the_database_s_words() {
    let a = api().await;
    let add = || a.client.post("/api/v1/users").body_json(&json!({"username": "zed", "password": "z"})).send();
    assert_eq!(answer(add().await).await.0, StatusCode::CREATED);
    let (status, body) = answer(add().await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], json!("conflict"));
    assert!(body["message"].as_str().unwrap().contains("taken"), "{body}");
    assert_no_database_words("a second zed", &body);
}

#[tokio::test]
async fn requests_the_api_cannot_read_are_answered_in_the_error_shape() {
    let a = api().await;
    let cases = [
        ("a word for a number", a.client.get("/api/v1/builds?limit=many").send().await, StatusCode::BAD_REQUEST),
        (
            "a wrongly typed body",
            a.client.post("/api/v1/builders/app/force").body_json(&json!({"properties": [1]})).send().await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a form where JSON is read",
            a.client
                .post("/api/v1/users")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=zed")
                .send()
                .await,
            StatusCode::BAD_REQUEST,
        ),
        ("an unknown path", a.client.get("/api/v1/nothing/here").send().await, StatusCode::NOT_FOUND),
        ("an unknown build", a.client.get("/api/v1/builders/app/builds/99").send().await, StatusCode::NOT_FOUND),
    ];
    for (what, resp, expected) in cases {
        let (status, body) = answer(resp).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
}

#[tokio::test]
async fn a_failed_database_is_a_5xx_that_tells_nothing_of_it() {
    let a = api().await;
    a.engine.db.close().await;
    for (what, resp) in [
        ("a read", a.client.get("/api/v1/changes/1").send().await),
        ("a write", a.client.post("/api/v1/users").body_json(&json!({"username": "zed"})).send().await),
    ] {
        let (status, body) = answer(resp).await;
        assert!(status.is_server_error(), "{what}: {status} {body}");
        assert!(["internal", "unavailable"].contains(&body["error"].as_str().unwrap_or_default()), "{what}: {body}");
        assert_no_database_words(what, &body);
    }
}

#[tokio::test]
async fn the_largest_offsets_and_smallest_limits_are_answered_not_dropped() {
    let a = api().await;
    let mut rx = a.engine.bus.subscribe();
    for _ in 0..2 {
        let forced = a.client.post("/api/v1/builders/app/force").body_json(&json!({})).send().await;
        forced.assert_status(StatusCode::ACCEPTED);
        common::wait_finished(&mut rx, "app", 60).await;
    }
    for path in [
        "/api/v1/builds?offset=9223372036854775807",
        "/api/v1/builds?limit=-9223372036854775808&offset=9223372036854775807",
        "/api/v1/changes?before=-9223372036854775808&limit=9223372036854775807",
    ] {
        let (status, body) = answer(a.client.get(path).send().await).await;
        assert!(status.is_success() || status.is_client_error(), "{path}: {status} {body}");
    }
}
