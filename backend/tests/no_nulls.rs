//! The API never sends `null` where its document says a string, a number or an object: an
//! absent value is left out, as the document's optional fields promise, so the SPA's
//! generated types hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::test::TestClient;
use serde_json::{Value, json};

use common::{TestDb, wait_finished};

const CONFIG: &str = r#"title = "t"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
manage_users = true
show_users_page = true
hook_deliveries = true
pause_worker = true
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "hello", command = "echo hello" }, { name = "fail", command = "exit 1" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
[[schedulers]]
name = "all"
kind = "any_branch"
builders = ["app"]
"#;

/// Where `value` holds a `null`, except inside free-form values (properties).
fn nulls(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(at.to_owned()),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                nulls(v, &format!("{at}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k != "properties" {
                    nulls(v, &format!("{at}.{k}"), found);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn no_answer_sends_null_where_the_document_does_not_allow_it() {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let client = TestClient::new(cascade::server::app(engine.clone()));
    let mut rx = engine.bus.subscribe();
    client
        .post("/api/v1/builders/app/force")
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(poem::http::StatusCode::ACCEPTED);
    wait_finished(&mut rx, "app", 60).await;
    let hook = client
        .post("/change_hook/base")
        .header("content-type", "application/json")
        .body(json!({"comments": "x", "author": "ann"}).to_string())
        .send()
        .await;
    hook.assert_status(poem::http::StatusCode::ACCEPTED);
    wait_finished(&mut rx, "app", 60).await;
    let user = client.post("/api/v1/users").body_json(&json!({"identifier": "ann"})).send().await;
    let uid = user.0.into_body().into_json::<Value>().await.unwrap()["uid"].clone();

    let mut answers = Vec::new();
    let mut send = |method: &str, path: String, resp: Value| answers.push((format!("{method} {path}"), resp));
    for path in [
        "/session".to_owned(),
        "/builders".into(),
        "/builders/app".into(),
        "/builds".into(),
        "/builders/app/builds/1".into(),
        "/builders/app/builds/2".into(),
        "/changes".into(),
        "/changes/1".into(),
        "/buildrequests".into(),
        "/workers".into(),
        "/workers/local".into(),
        "/master".into(),
        "/users".into(),
        format!("/users/{uid}"),
        "/hooks/deliveries".into(),
        "/hooks/deliveries/1".into(),
        "/views/waterfall".into(),
        "/views/grid".into(),
        "/views/console".into(),
        "/views/one_line_per_build".into(),
    ] {
        let resp = client.get(format!("/api/v1{path}")).send().await;
        assert!(resp.0.status().is_success(), "GET {path}: {}", resp.0.status());
        send("GET", path, resp.0.into_body().into_json().await.unwrap());
    }
    for path in ["/workers/local/pause", "/workers/local/unpause", "/logout"] {
        let resp = client.post(format!("/api/v1{path}")).body_json(&json!({})).send().await;
        assert!(resp.0.status().is_success(), "POST {path}: {}", resp.0.status());
        send("POST", path.into(), resp.0.into_body().into_json().await.unwrap());
    }
    let mut found = Vec::new();
    for (what, body) in &answers {
        nulls(body, what, &mut found);
    }
    assert!(found.is_empty(), "null sent at:\n{}", found.join("\n"));
}
