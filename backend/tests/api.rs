//! API tests, in-process: the real HTTP app over a real engine and database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::config::AuthzRule;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::{Value, json};

use common::{TestDb, wait_finished};

const BODY: &str = r#"
[[builders]]
name = "app"
description = "the app"
tags = ["t"]
workers = ["local"]
steps = [ { name = "say", command = "for i in $(seq 1 30); do echo line $i; done; echo err >&2" } ]
[[builders]]
name = "noforce"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
[[schedulers]]
name = "main"
kind = "any_branch"
builders = ["app"]
[change_hook]
dialects = { base = {} }
"#;

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn api_with(body: &str, tweak: impl FnOnce(&mut cascade::config::Config)) -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::config(dir.path(), body, &tdb.url);
    tweak(&mut cfg);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

async fn api() -> Api {
    api_with(BODY, |_| {}).await
}

async fn json_of(resp: poem::test::TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

async fn force_and_wait(a: &Api) -> Value {
    let mut rx = a.engine.bus.subscribe();
    let resp = a.client.post("/api/v1/builders/app/force").body_json(&json!({"reason": "test"})).send().await;
    resp.assert_status(StatusCode::ACCEPTED);
    let body = json_of(resp).await;
    wait_finished(&mut rx, "app", 30).await;
    body
}

#[tokio::test]
async fn builders_list_shows_state_and_last_build() {
    let a = api().await;
    let body = json_of(a.client.get("/api/v1/builders").send().await).await;
    let names: Vec<_> = body["builders"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["app", "noforce"]);
    assert_eq!(body["builders"][0]["can_force"], json!(true));
    assert_eq!(body["builders"][1]["can_force"], json!(false));
    assert_eq!(body["builders"][0]["last_build"], Value::Null);

    force_and_wait(&a).await;
    let body = json_of(a.client.get("/api/v1/builders/app").send().await).await;
    assert_eq!(body["last_build"]["results"], json!("success"));
    assert_eq!(body["last_build"]["number"], json!(1));
    assert_eq!(body["description"], json!("the app"));
    a.client.get("/api/v1/builders/nope").send().await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn force_answers_202_403_404_409_and_422() {
    let a = api().await;
    let body = force_and_wait(&a).await;
    assert_eq!(body["buildrequest_ids"].as_array().unwrap().len(), 1);
    let resp = a.client.post("/api/v1/builders/nope/force").body_json(&json!({})).send().await;
    resp.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await["error"], json!("not_found"));
    let resp = a.client.post("/api/v1/builders/noforce/force").body_json(&json!({})).send().await;
    resp.assert_status(StatusCode::CONFLICT);
    let resp = a.client.post("/api/v1/builders/app/force").body_json(&json!({"properties": "nope"})).send().await;
    assert!(resp.0.status().is_client_error(), "{}", resp.0.status());

    let closed = api_with(BODY, |c| c.authz.force_build = AuthzRule::Deny).await;
    let resp = closed.client.post("/api/v1/builders/app/force").body_json(&json!({})).send().await;
    resp.assert_status(StatusCode::FORBIDDEN);
    let body = json_of(resp).await;
    assert_eq!(body["error"], json!("forbidden"));
    assert!(body["message"].as_str().unwrap().contains("force_build"));
}

#[tokio::test]
async fn builds_are_listed_newest_first_filtered_and_paged() {
    let a = api().await;
    force_and_wait(&a).await;
    force_and_wait(&a).await;
    let body = json_of(a.client.get("/api/v1/builds").query("limit", &1).send().await).await;
    assert_eq!(body["builds"][0]["number"], json!(2));
    assert_eq!(body["next_offset"], json!(1));
    let body = json_of(a.client.get("/api/v1/builds").query("limit", &1).query("offset", &1).send().await).await;
    assert_eq!(body["builds"][0]["number"], json!(1));
    assert_eq!(body["next_offset"], Value::Null);
    let body = json_of(a.client.get("/api/v1/builds").query("builder", &"noforce").send().await).await;
    assert_eq!(body["builds"], json!([]));
    let body =
        json_of(a.client.get("/api/v1/builds").query("results", &"success").query("builder", &"app").send().await)
            .await;
    assert_eq!(body["builds"].as_array().unwrap().len(), 2);
    let body = json_of(a.client.get("/api/v1/builds").query("results", &"failure").send().await).await;
    assert_eq!(body["builds"], json!([]));
    a.client.get("/api/v1/builds").query("results", &"green").send().await.assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_build_has_its_steps_and_its_log_reads_as_lines_and_text() {
    let a = api().await;
    force_and_wait(&a).await;
    let build = json_of(a.client.get("/api/v1/builders/app/builds/1").send().await).await;
    assert_eq!(build["results"], json!("success"));
    assert_eq!(build["steps"][0]["name"], json!("say"));
    assert_eq!(build["steps"][0]["logs"][0]["slug"], json!("stdio"));
    a.client.get("/api/v1/builders/app/builds/9").send().await.assert_status(StatusCode::NOT_FOUND);

    let base = "/api/v1/builders/app/builds/1/steps/1/logs/stdio";
    let lines = json_of(a.client.get(format!("{base}/lines")).send().await).await;
    let total = lines["total"].as_i64().unwrap();
    assert!(lines["complete"].as_bool().unwrap());
    let texts: Vec<_> = lines["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["channel"].as_str().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    assert!(texts.contains(&("o", "line 30")) && texts.contains(&("e", "err")) && texts[0].0 == "h", "{texts:?}");
    let tail = json_of(a.client.get(format!("{base}/lines")).query("offset", &-3).send().await).await;
    assert_eq!(tail["offset"].as_i64().unwrap(), total - 3);
    assert_eq!(tail["lines"].as_array().unwrap().len(), 3);
    let window =
        json_of(a.client.get(format!("{base}/lines")).query("offset", &5).query("limit", &2).send().await).await;
    assert_eq!(
        window["lines"].as_array().unwrap().iter().map(|l| l["number"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![5, 6]
    );

    let raw = a.client.get(format!("{base}/raw")).send().await;
    raw.assert_status_is_ok();
    raw.assert_content_type("text/plain; charset=utf-8");
    let text = raw.0.into_body().into_string().await.unwrap();
    assert!(text.starts_with("line 1\n") && text.contains("line 30\nerr\n"), "{text}");
    assert!(!text.contains("argv"), "header lines are left out of the raw text");
    a.client
        .get("/api/v1/builders/app/builds/1/steps/1/logs/nope/raw")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_base_hook_creates_changes_or_refuses_with_a_reason() {
    let a = api().await;
    let mut rx = a.engine.bus.subscribe();
    let resp = a
        .client
        .post("/change_hook/base")
        .content_type("application/x-www-form-urlencoded")
        .body("author=alice&comments=hello&branch=main&revision=abc&files=%5B%22a.c%22%5D")
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let ids = json_of(resp).await["change_ids"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 1);
    wait_finished(&mut rx, "app", 30).await;
    let change = json_of(a.client.get(format!("/api/v1/changes/{}", ids[0])).send().await).await;
    assert_eq!((change["author"].clone(), change["files"].clone()), (json!("alice"), json!(["a.c"])));

    let bad =
        a.client.post("/change_hook/base").content_type("application/json").body(r#"{"comments":"x"}"#).send().await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    assert!(json_of(bad).await["message"].as_str().unwrap().contains("author"));
    let big = "a".repeat(cascade::hooks::MAX_BODY + 1);
    a.client.post("/change_hook/base").body(big).send().await.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    a.client
        .post("/change_hook/base")
        .content_type("text/xml")
        .body("<x/>")
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    a.client.post("/change_hook/github").body("{}").send().await.assert_status(StatusCode::NOT_FOUND);
    let changes = json_of(a.client.get("/api/v1/changes").send().await).await;
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1, "refused requests created nothing");
}

#[tokio::test]
async fn the_waterfall_view_has_builders_and_builds_with_steps() {
    let a = api().await;
    force_and_wait(&a).await;
    let body = json_of(a.client.get("/api/v1/views/waterfall").send().await).await;
    assert_eq!(body["builders"].as_array().unwrap().len(), 2);
    assert_eq!(body["builds"][0]["builder"], json!("app"));
    assert_eq!(body["builds"][0]["steps"][0]["results"], json!("success"));
    let body = json_of(a.client.get("/api/v1/views/waterfall").query("builder", &"noforce").send().await).await;
    assert_eq!((body["builders"].as_array().unwrap().len(), body["builds"].as_array().unwrap().len()), (1, 0));
}

#[tokio::test]
async fn spa_routes_serve_the_app_and_server_routes_answer() {
    let a = api().await;
    for path in ["/", "/waterfall", "/builders/app/builds/1", "/grid", "/buildslaves", "/users/table/1"] {
        let resp = a.client.get(path).send().await;
        assert!(resp.0.status() == StatusCode::OK || resp.0.status() == StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    a.client.get("/healthz").send().await.assert_status_is_ok();
    let robots = a.client.get("/robots.txt").send().await.0.into_body().into_string().await.unwrap();
    assert!(robots.contains("Disallow: /waterfall"));
    let spec = json_of(a.client.get("/api/openapi.json").send().await).await;
    assert!(spec["paths"]["/builders/{name}/force"]["post"].is_object());
    a.client.get("/api/docs/").send().await.assert_status_is_ok();
}

#[test]
fn the_committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = cascade::api::spec_json();
    assert!(
        committed.trim_end() == current.trim_end(),
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    );
}

const ACTIONS: &str = r#"
[[workers]]
name = "remote"
password = "pw"
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = "sleep 30" } ]
[[builders]]
name = "queued"
workers = ["remote"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["slow", "queued"]
"#;

async fn open_api() -> Api {
    api_with(ACTIONS, |c| {
        use cascade::config::AuthzRule::Allow;
        let a = &mut c.authz;
        (a.stop_build, a.stop_all_builds, a.cancel_pending_build, a.cancel_all_pending_builds) =
            (Allow, Allow, Allow, Allow);
        (a.ping_builder, a.pause_worker, a.graceful_shutdown, a.clean_shutdown) = (Allow, Allow, Allow, Allow);
        (a.force_all_builds, a.stop_change) = (Allow, Allow);
    })
    .await
}

#[tokio::test]
async fn actions_are_answered_through_the_api() {
    let a = open_api().await;
    let mut rx = a.engine.bus.subscribe();
    let body =
        json_of(a.client.post("/api/v1/builders/_all/force").body_json(&json!({"reason": "all"})).send().await).await;
    assert_eq!(body["count"], json!(2));
    loop {
        if let Ok(ev) = rx.recv().await
            && ev.event.kind() == "step.started"
        {
            break;
        }
    }
    let pending = json_of(a.client.get("/api/v1/buildrequests").send().await).await;
    let queued = pending["buildrequests"].as_array().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["builder"], json!("queued"));

    let workers = json_of(a.client.get("/api/v1/workers").send().await).await;
    let local = workers["workers"].as_array().unwrap().iter().find(|w| w["name"] == json!("local")).unwrap().clone();
    assert_eq!(
        (local["connected"].clone(), local["embedded"].clone(), local["running_builds"].clone()),
        (json!(true), json!(true), json!(1))
    );
    assert_eq!(local["builders"], json!(["slow"]));
    let remote = json_of(a.client.get("/api/v1/workers/remote").send().await).await;
    assert_eq!(remote["connected"], json!(false));
    a.client.get("/api/v1/workers/nope").send().await.assert_status(StatusCode::NOT_FOUND);

    let ping = json_of(a.client.post("/api/v1/builders/slow/ping").body_json(&json!({})).send().await).await;
    assert_eq!(ping["workers"][0]["replied"], json!(true));

    let id = queued[0]["id"].as_i64().unwrap();
    a.client.delete(format!("/api/v1/buildrequests/{id}")).query("reason", &"dup").send().await.assert_status_is_ok();
    a.client.delete(format!("/api/v1/buildrequests/{id}")).send().await.assert_status(StatusCode::CONFLICT);
    let none = json_of(a.client.post("/api/v1/buildrequests/cancel").body_json(&json!({})).send().await).await;
    assert_eq!(none["count"], json!(0));

    a.client.post("/api/v1/workers/local/pause").body_json(&json!({"reason": "x"})).send().await.assert_status_is_ok();
    let local = json_of(a.client.get("/api/v1/workers/local").send().await).await;
    assert_eq!(local["paused"], json!(true));
    a.client.post("/api/v1/workers/local/unpause").body_json(&json!({})).send().await.assert_status_is_ok();
    a.client
        .post("/api/v1/workers/remote/shutdown")
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::CONFLICT);

    let stop =
        a.client.post("/api/v1/builders/slow/builds/1/stop").body_json(&json!({"reason": "enough"})).send().await;
    stop.assert_status_is_ok();
    let build = wait_finished(&mut rx, "slow", 20).await;
    assert_eq!(build.results, Some(cascade::model::Results::Cancelled));
    assert_eq!(build.state_text, "stopped by anonymous: enough");
    a.client
        .post("/api/v1/builders/slow/builds/1/stop")
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::CONFLICT);
    a.client
        .post("/api/v1/builders/slow/builds/7/stop")
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let all = json_of(a.client.post("/api/v1/builds/stop").body_json(&json!({})).send().await).await;
    assert_eq!(all["count"], json!(0));

    let master = json_of(a.client.get("/api/v1/master").send().await).await;
    assert_eq!(master["shutting_down"], json!(false));
    a.client
        .post("/api/v1/master/shutdown")
        .body_json(&json!({"mode": "stop"}))
        .send()
        .await
        .assert_status(StatusCode::CONFLICT);
    a.client.post("/api/v1/master/shutdown").body_json(&json!({"mode": "start"})).send().await.assert_status_is_ok();
    let master = json_of(a.client.get("/api/v1/master").send().await).await;
    assert_eq!(master["shutting_down"], json!(true));
    a.client
        .post("/api/v1/master/shutdown")
        .body_json(&json!({"mode": "later"}))
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn actions_are_denied_by_default_with_a_reason() {
    let a = api_with(ACTIONS, |_| {}).await;
    let cases: [(&str, &str, &str); 9] = [
        ("post", "/api/v1/builders/slow/builds/1/stop", "stop_build"),
        ("post", "/api/v1/builds/stop", "stop_all_builds"),
        ("delete", "/api/v1/buildrequests/1", "cancel_pending_build"),
        ("post", "/api/v1/buildrequests/cancel", "cancel_all_pending_builds"),
        ("post", "/api/v1/builders/slow/ping", "ping_builder"),
        ("post", "/api/v1/workers/local/pause", "pause_worker"),
        ("post", "/api/v1/workers/local/shutdown", "graceful_shutdown"),
        ("post", "/api/v1/master/shutdown", "clean_shutdown"),
        ("post", "/api/v1/builders/_all/force", "force_all_builds"),
    ];
    for (method, path, key) in cases {
        let req = if method == "post" { a.client.post(path) } else { a.client.delete(path) };
        let body =
            if path.ends_with("/shutdown") && path.contains("master") { json!({"mode": "now"}) } else { json!({}) };
        let resp = req.body_json(&body).send().await;
        resp.assert_status(StatusCode::FORBIDDEN);
        let msg = json_of(resp).await["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(key), "{path}: {msg}");
    }
}

/// Forces `app` with a form and waits for the build to finish.
async fn force_form_and_wait(a: &Api, form: Value) {
    let mut rx = a.engine.bus.subscribe();
    let resp = a.client.post("/api/v1/builders/app/force").body_json(&form).send().await;
    resp.assert_status(StatusCode::ACCEPTED);
    wait_finished(&mut rx, "app", 30).await;
}

#[tokio::test]
async fn a_build_page_shows_its_source_stamps_and_property_sources_and_rebuilds_the_same() {
    let a = api().await;
    let form = json!({"reason": "first", "branch": "dev", "revision": "abc123", "repository": "https://git.example.org/app.git",
        "project": "app", "properties": {"color": "blue"}});
    force_form_and_wait(&a, form).await;
    let page = json_of(a.client.get("/api/v1/builders/app/builds/1").send().await).await;
    assert_eq!(page["sourcestamps"].as_array().unwrap().len(), 1);
    let stamp = &page["sourcestamps"][0];
    assert_eq!(
        (&stamp["branch"], &stamp["revision"], &stamp["repository"], &stamp["project"]),
        (&json!("dev"), &json!("abc123"), &json!("https://git.example.org/app.git"), &json!("app"))
    );
    assert_eq!(page["owner"], Value::Null, "an anonymous force has no owner");
    let sources = &page["property_sources"];
    assert_eq!(
        [
            &sources["color"],
            &sources["reason"],
            &sources["buildername"],
            &sources["buildnumber"],
            &sources["workername"]
        ],
        [&json!("Force Build Form"), &json!("Force Build Form"), &json!("Build"), &json!("Build"), &json!("Worker")]
    );
    assert_eq!(page["properties"]["color"], json!("blue"));
    assert!(page["steps"].as_array().unwrap().len() == 1 && page["changes"] == json!([]));

    let mut rx = a.engine.bus.subscribe();
    let resp =
        a.client.post("/api/v1/builders/app/builds/1/rebuild").body_json(&json!({"reason": "again"})).send().await;
    resp.assert_status(StatusCode::ACCEPTED);
    assert_eq!(json_of(resp).await["buildrequest_ids"].as_array().unwrap().len(), 1);
    let again = wait_finished(&mut rx, "app", 30).await;
    assert_eq!(again.number, 2);
    let page = json_of(a.client.get("/api/v1/builders/app/builds/2").send().await).await;
    assert_eq!(page["sourcestamps"][0]["revision"], json!("abc123"), "same source stamp");
    assert_eq!(page["sourcestamps"][0]["branch"], json!("dev"));
    assert_eq!(page["properties"]["color"], json!("blue"), "same properties");
    assert_eq!(page["property_sources"]["color"], json!("Force Build Form"));
    assert_eq!(
        (&page["properties"]["reason"], &page["property_sources"]["reason"]),
        (&json!("again"), &json!("Rebuild"))
    );
    assert!(page["reason"].as_str().unwrap().contains("'rebuild' button"), "{}", page["reason"]);

    a.client
        .post("/api/v1/builders/app/builds/9/rebuild")
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let closed = api_with(BODY, |c| c.authz.force_build = AuthzRule::Deny).await;
    let resp = closed.client.post("/api/v1/builders/app/builds/1/rebuild").body_json(&json!({})).send().await;
    resp.assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn builds_filter_by_property_and_change_and_one_line_per_build_defaults_to_num_builds() {
    let a = api_with(BODY, |c| c.web.num_builds = 3).await;
    force_form_and_wait(&a, json!({"properties": {"color": "blue", "n": "7"}})).await;
    force_form_and_wait(&a, json!({"properties": {"color": "red"}})).await;
    let numbers = |body: &Value| {
        body["builds"].as_array().unwrap().iter().map(|b| b["number"].as_i64().unwrap()).collect::<Vec<_>>()
    };

    let body = json_of(a.client.get("/api/v1/builds?property.color=blue").send().await).await;
    assert_eq!(numbers(&body), vec![1]);
    let body = json_of(a.client.get("/api/v1/builds?property.color=red&property.n=7").send().await).await;
    assert_eq!(numbers(&body), Vec::<i64>::new(), "every property filter must match");
    let body = json_of(a.client.get("/api/v1/builds?property.n=7&property.buildnumber=1").send().await).await;
    assert_eq!(numbers(&body), vec![1], "numbers compare as text");

    let mut rx = a.engine.bus.subscribe();
    let resp = a
        .client
        .post("/change_hook/base")
        .content_type("application/x-www-form-urlencoded")
        .body("author=alice&comments=fix&branch=main&revision=def")
        .send()
        .await;
    let change = json_of(resp).await["change_ids"][0].clone();
    wait_finished(&mut rx, "app", 30).await;
    let body = json_of(a.client.get(format!("/api/v1/builds?change={change}")).send().await).await;
    assert_eq!(numbers(&body), vec![3]);
    assert_eq!(body["builds"][0]["revision"], json!("def"));

    let lines = json_of(a.client.get("/api/v1/views/one_line_per_build?builder=app").send().await).await;
    assert_eq!((numbers(&lines), &lines["numbuilds"]), (vec![3, 2, 1], &json!(3)));
    force_form_and_wait(&a, json!({})).await;
    let lines = json_of(a.client.get("/api/v1/views/one_line_per_build").send().await).await;
    assert_eq!(numbers(&lines), vec![4, 3, 2], "num_builds is the default");
    let lines =
        json_of(a.client.get("/api/v1/views/one_line_per_build?numbuilds=10&property.color=red").send().await).await;
    assert_eq!(numbers(&lines), vec![2]);
    let lines = json_of(a.client.get("/api/v1/views/one_line_per_build?branch=main").send().await).await;
    assert_eq!(numbers(&lines), vec![3]);
    let bad = a.client.get("/api/v1/views/one_line_per_build?numbuilds=0").send().await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    a.client.get("/api/v1/views/one_line_per_build?builder=nope").send().await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn changes_filter_and_page_and_builders_show_the_last_build_of_a_branch() {
    let a = api().await;
    for (author, branch) in [("alice", "main"), ("bob", "dev"), ("alice", "dev")] {
        let mut rx = a.engine.bus.subscribe();
        let body = format!("author={author}&comments=c&branch={branch}&project=p-{branch}&repository=r");
        let resp = a
            .client
            .post("/change_hook/base")
            .content_type("application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        resp.assert_status(StatusCode::ACCEPTED);
        wait_finished(&mut rx, "app", 30).await;
    }
    let ids = |body: &Value| {
        body["changes"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    let all = json_of(a.client.get("/api/v1/changes").send().await).await;
    assert_eq!((ids(&all), &all["next_before"]), (vec![3, 2, 1], &Value::Null));
    let first = json_of(a.client.get("/api/v1/changes?limit=2").send().await).await;
    assert_eq!((ids(&first), &first["next_before"]), (vec![3, 2], &json!(2)));
    let rest = json_of(a.client.get("/api/v1/changes?limit=2&before=2").send().await).await;
    assert_eq!((ids(&rest), &rest["next_before"]), (vec![1], &Value::Null));
    let body = json_of(a.client.get("/api/v1/changes?author=alice").send().await).await;
    assert_eq!(ids(&body), vec![3, 1]);
    let body = json_of(a.client.get("/api/v1/changes?author=alice&branch=dev").send().await).await;
    assert_eq!(ids(&body), vec![3]);
    let body = json_of(a.client.get("/api/v1/changes?project=p-main&project=p-dev&repository=r").send().await).await;
    assert_eq!(ids(&body), vec![3, 2, 1]);

    let body = json_of(a.client.get("/api/v1/builders?branch=main").send().await).await;
    assert_eq!(body["builders"][0]["last_build"]["number"], json!(1), "the last build on main");
    let body = json_of(a.client.get("/api/v1/builders?branch=dev").send().await).await;
    assert_eq!(body["builders"][0]["last_build"]["number"], json!(3));
    let body = json_of(a.client.get("/api/v1/builders?builder=noforce").send().await).await;
    let names: Vec<_> = body["builders"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["noforce"]);
}
