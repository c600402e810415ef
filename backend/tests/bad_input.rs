//! Bad input to every write operation of the API and to the change hooks: oversized bodies,
//! deeply nested JSON, malformed JSON, wrong types and missing credentials each get a 4xx
//! with a JSON reason in the one error shape, and nothing is stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use cascade::api::limits::{MAX_BODY, MAX_DEPTH};
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

use common::TestDb;

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    _engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// A master where every action needs a login, `admin` (password "pw") may take them all,
/// the base hook needs HTTP Basic as `ci` (password "pw") and the GitHub hook a signature.
async fn api() -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let hash = cascade::auth::password::hash("pw").unwrap();
    let authz: String = cascade::auth::authz::Action::ALL
        .iter()
        .filter(|a| a.key() != "view")
        .map(|a| format!("{} = \"auth\"\n", a.key()))
        .collect();
    let text = format!(
        r#"title = "t"
[web]
listen = ["127.0.0.1:0"]
[auth]
users = [{{ username = "admin", password_hash = "{hash}" }}]
[authz]
{authz}
[change_hook]
dialects = {{ base = {{}}, github = {{ secret = "s3cret" }} }}
auth = {{ users = [{{ username = "ci", password = "pw" }}] }}
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ {{ name = "s", command = "true" }} ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
[[schedulers]]
name = "all"
kind = "any_branch"
builders = ["app"]
"#
    );
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), _engine: engine, _db: tdb, _dir: dir }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The status and the JSON body of an answer.
async fn answer(resp: TestResponse) -> (StatusCode, Value) {
    let status = resp.0.status();
    let text = resp.0.into_body().into_string().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Asserts a refusal in the one error shape: `status`, a code and a reason for people.
fn assert_refused(what: &str, (status, body): &(StatusCode, Value), expected: StatusCode) {
    assert_eq!(*status, expected, "{what}: {body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: no error code in {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: no reason in {body}");
}

/// Everything a write could have changed, as the API shows it.
async fn state(a: &Api) -> Value {
    let mut all = serde_json::Map::new();
    for path in ["/api/v1/changes", "/api/v1/builds", "/api/v1/buildrequests", "/api/v1/users", "/api/v1/workers"] {
        let resp = a.client.get(path).header("authorization", basic("admin", "pw")).send().await;
        resp.assert_status_is_ok();
        let mut body: Value = resp.0.into_body().into_json().await.unwrap();
        // When a worker last spoke changes by itself.
        if let Some(workers) = body["workers"].as_array_mut() {
            for w in workers {
                w.as_object_mut().unwrap().remove("last_seen");
            }
        }
        all.insert(path.into(), body);
    }
    Value::Object(all)
}

/// Every state-changing operation of the OpenAPI document but the login and logout, with
/// its path made concrete, and whether it takes a body.
fn write_operations() -> Vec<(String, String, String, bool)> {
    let spec: Value = serde_json::from_str(&cascade::api::spec_json()).unwrap();
    let mut ops = Vec::new();
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            if method == "get" || id == "login" || id == "logout" {
                continue;
            }
            let concrete = format!("/api/v1{path}")
                .replace("{name}", "app")
                .replace("{number}", "1")
                .replace("{id}", "1")
                .replace("{uid}", "1");
            ops.push((method.clone(), concrete, id, op.get("requestBody").is_some()));
        }
    }
    ops
}

/// A request to a change hook: what is wrong with it, the dialect, the JSON body, the
/// credentials, and the answer it must get.
type HookCase<'a> = (&'a str, &'a str, String, Option<&'a str>, StatusCode);

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn bad_input_to_every_write_operation_gets_a_4xx_with_a_reason_and_changes_nothing() {
    let a = api().await;
    let ops = write_operations();
    assert!(ops.len() >= 20, "{ops:?}");
    let before = state(&a).await;
    let admin = basic("admin", "pw");
    let oversized = format!("{{\"reason\":\"{}\"}}", "a".repeat(MAX_BODY));
    for (method, path, id, has_body) in &ops {
        let send = |body: Option<(String, &'static str)>, auth: Option<&str>| {
            let mut req = match method.as_str() {
                "post" => a.client.post(path),
                "delete" => a.client.delete(path),
                "patch" => a.client.patch(path),
                other => panic!("unexpected method {other}"),
            };
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            if let Some((body, content_type)) = body {
                req = req.header("content-type", content_type).body(body);
            }
            req.send()
        };
        let what = |case: &str| format!("{method} {path} ({id}): {case}");
        let json = "application/json";
        assert_refused(
            &what("oversized"),
            &answer(send(Some((oversized.clone(), json)), Some(&admin)).await).await,
            StatusCode::PAYLOAD_TOO_LARGE,
        );
        let deep = answer(send(Some((nested(10_000), json)), Some(&admin)).await).await;
        assert_refused(&what("10,000 nested arrays"), &deep, StatusCode::BAD_REQUEST);
        assert!(deep.1["message"].as_str().unwrap().contains(&MAX_DEPTH.to_string()), "{}", what("depth"));
        if *has_body {
            for (case, body) in
                [("malformed", "{\"reason\": "), ("an array for an object", "[1, 2]"), ("a number", "5")]
            {
                assert_refused(
                    &what(case),
                    &answer(send(Some((body.into(), json)), Some(&admin)).await).await,
                    StatusCode::BAD_REQUEST,
                );
            }
        }
        if path.contains("/1") {
            // A path parameter of the wrong type.
            let wrong = path.replacen("/1", "/not-a-number", 1);
            let req = match method.as_str() {
                "post" => a.client.post(&wrong),
                "delete" => a.client.delete(&wrong),
                _ => a.client.patch(&wrong),
            };
            let resp = answer(req.header("authorization", &admin).body_json(&json!({})).send().await).await;
            assert!(resp.0.is_client_error(), "{}: {resp:?}", what("a word for a number"));
            assert!(resp.1["message"].is_string(), "{}: {resp:?}", what("a word for a number"));
        }
        let body = has_body.then(|| (json!({"reason": "no login", "mode": "stop"}).to_string(), json));
        assert_refused(&what("no credentials"), &answer(send(body, None).await).await, StatusCode::UNAUTHORIZED);
    }
    // Once only: failed logins soon lock the client's address out.
    let wrong = a.client.post("/api/v1/builders/app/force").header("authorization", basic("admin", "wrong"));
    assert_refused(
        "a wrong password",
        &answer(wrong.body_json(&json!({})).send().await).await,
        StatusCode::UNAUTHORIZED,
    );
    assert_eq!(state(&a).await, before, "a refused request changed something");
}

#[tokio::test]
async fn bad_input_to_the_change_hooks_gets_a_4xx_with_a_reason_and_stores_no_change() {
    let a = api().await;
    let ci = basic("ci", "pw");
    let post = |dialect: &str, body: String, auth: Option<&str>| {
        let mut req = a.client.post(format!("/change_hook/{dialect}")).header("content-type", "application/json");
        if dialect == "github" {
            let signature = cascade::hooks::signature::sign_sha256(b"s3cret", body.as_bytes());
            req = req.header("x-github-event", "push").header("x-hub-signature-256", signature);
        }
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.body(body).send()
    };
    let oversized = format!("{{\"comments\":\"{}\"}}", "a".repeat(MAX_BODY));
    let cases: Vec<HookCase> = vec![
        ("oversized", "base", oversized.clone(), Some(&ci), StatusCode::PAYLOAD_TOO_LARGE),
        ("oversized, signed", "github", oversized, Some(&ci), StatusCode::PAYLOAD_TOO_LARGE),
        ("10,000 nested arrays", "base", nested(10_000), Some(&ci), StatusCode::BAD_REQUEST),
        ("10,000 nested arrays, signed", "github", nested(10_000), Some(&ci), StatusCode::BAD_REQUEST),
        (
            "nested in a field",
            "base",
            json!({"comments": "x", "properties": serde_json::from_str::<Value>(&nested(MAX_DEPTH)).unwrap()})
                .to_string(),
            Some(&ci),
            StatusCode::BAD_REQUEST,
        ),
        ("malformed", "base", "{\"comments\": ".into(), Some(&ci), StatusCode::BAD_REQUEST),
        ("malformed, signed", "github", "{\"ref\": ".into(), Some(&ci), StatusCode::BAD_REQUEST),
        ("an array", "base", "[1]".into(), Some(&ci), StatusCode::BAD_REQUEST),
        ("a list for a string", "base", json!({"author": ["a"]}).to_string(), Some(&ci), StatusCode::BAD_REQUEST),
        ("an object for files", "base", json!({"files": {"a": 1}}).to_string(), Some(&ci), StatusCode::BAD_REQUEST),
        (
            "a number for commits",
            "github",
            json!({"ref": "refs/heads/main", "commits": 5}).to_string(),
            Some(&ci),
            StatusCode::BAD_REQUEST,
        ),
        ("no credentials", "base", json!({"comments": "x"}).to_string(), None, StatusCode::UNAUTHORIZED),
        (
            "a wrong password",
            "base",
            json!({"comments": "x"}).to_string(),
            Some("Basic Y2k6bm8="),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (case, dialect, body, auth, expected) in cases {
        let got = answer(post(dialect, body, auth).await).await;
        assert_refused(&format!("{dialect}: {case}"), &got, expected);
    }
    let changes: Value = a
        .client
        .get("/api/v1/changes")
        .header("authorization", basic("admin", "pw"))
        .send()
        .await
        .0
        .into_body()
        .into_json()
        .await
        .unwrap();
    assert_eq!(changes["changes"], json!([]), "a refused hook request stored a change");
    // The same requests done right are taken: the refusals were about the input.
    let ok = answer(post("base", json!({"comments": "fine", "author": "ann"}).to_string(), Some(&ci)).await).await;
    assert_eq!(ok.0, StatusCode::ACCEPTED, "{ok:?}");
}

#[tokio::test]
async fn an_event_type_no_event_has_is_refused_with_the_types_there_are() {
    let a = api().await;
    let (status, body) = answer(a.client.get("/api/v1/events").query("type", &"bulid").send().await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("`bulid`") && message.contains("build, "), "{message}");
    let (status, _) =
        answer(a.client.get("/api/v1/events").query("type", &"build.finished").query("type", &"bui").send().await)
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a prefix must end at a dot");
    for ok in ["build", "build.finished", "worker", "resync", "action"] {
        let resp = a.client.get("/api/v1/events").query("type", &ok).send().await;
        resp.assert_status_is_ok();
        resp.assert_content_type("text/event-stream");
    }
}
