//! 0.8.9's `/json` status tree and its help page, in-process over the real app, on SQLite and
//! PostgreSQL: builds run on the embedded worker and are read back field by field with
//! each of 0.8.9's arguments (`as_text`, `compact`, `filter`, `select`, negative build
//! numbers), unknown paths answer JSON 404s, and `[authz] view` guards the tree as it
//! guards the API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod site;

use std::sync::Arc;
use std::time::Duration;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::{ForceRequest, Results};
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::{Value, json};

use common::TestDb;
use site::*;

const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

async fn json_of(s: &Site, path: &str) -> Value {
    let got = s.get(path).await;
    assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.text());
    assert_eq!(got.header("content-type"), "application/json; charset=utf-8", "{path}");
    assert!(!got.text().contains('\n'), "compact by default: {path}");
    got.json()
}

#[tokio::test]
async fn builds_steps_and_changes_read_as_089_gave_them() {
    let s = site().await;
    s.run("app", "main").await;
    let failed = s.break_it("Ann Example <ann@example.org>").await;
    assert_eq!((failed.number, failed.results), (2, Some(Results::Failure)));

    let b = json_of(&s, "/json/builders/app/builds/2").await;
    assert_eq!(b["builderName"], "app");
    assert_eq!(b["number"], 2);
    assert_eq!(b["results"], 2, "failure is 2");
    assert_eq!(b["slave"], "local");
    assert_eq!(b["blame"], json!(["Ann Example <ann@example.org>"]));
    assert!(!b["reason"].as_str().unwrap().is_empty());
    assert_eq!(b["text"].as_array().unwrap().len(), 1, "{}", b["text"]);
    let times = b["times"].as_array().unwrap();
    assert!(times[0].as_i64().unwrap() <= times[1].as_i64().unwrap(), "{times:?}");
    let props = b["properties"].as_array().unwrap();
    assert!(props.contains(&json!(["buildername", "app", "Build"])), "{props:?}");
    assert!(props.contains(&json!(["buildnumber", 2, "Build"])), "{props:?}");
    assert!(props.contains(&json!(["workername", "local", "Worker"])), "{props:?}");
    assert_eq!((b["eta"].clone(), b["currentStep"].clone()), (Value::Null, Value::Null));

    let ss = &b["sourceStamp"];
    assert_eq!(b["sourceStamps"], json!([ss]));
    assert_eq!((ss["branch"].clone(), ss["revision"].clone()), (json!("broken"), json!(REVISION)));
    assert_eq!(ss["hasPatch"], false);
    let change = &ss["changes"][0];
    assert_eq!(change["who"], "Ann Example <ann@example.org>");
    assert_eq!(change["comments"], "break it");
    assert_eq!((change["revision"].clone(), change["rev"].clone()), (json!(REVISION), json!(REVISION)));
    assert_eq!(change["branch"], "broken");
    assert!(change["when"].as_i64().unwrap() > 0 && change["at"].is_string(), "{change}");

    let steps = b["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    let (compile, test) = (&steps[0], &steps[1]);
    assert_eq!((compile["name"].clone(), compile["step_number"].clone()), (json!("compile"), json!(0)));
    assert_eq!(compile["results"], json!([0, []]));
    assert_eq!((test["name"].clone(), test["step_number"].clone()), (json!("test"), json!(1)));
    assert_eq!(test["results"], json!([2, ["test"]]));
    assert_eq!((test["isStarted"].clone(), test["isFinished"].clone()), (json!(true), json!(true)));
    assert_eq!(
        (test["hidden"].clone(), test["statistics"].clone(), test["urls"].clone()),
        (json!(false), json!({}), json!({}))
    );
    let log_url = format!("{BASE}builders/app/builds/2/steps/2/logs/stdio");
    assert_eq!(test["logs"], json!([["stdio", log_url]]));
    assert!(b["logs"].as_array().unwrap().contains(&json!(["stdio", log_url])), "{}", b["logs"]);

    // Negative numbers count back from the newest build, as 0.8.9's did.
    assert_eq!(json_of(&s, "/json/builders/app/builds/-1").await, b);
    assert_eq!(json_of(&s, "/json/builders/app/builds/-2").await["number"], 1);
    assert_eq!(json_of(&s, "/json/builders/app/builds/_all/1").await["number"], 1);
    assert_eq!(json_of(&s, "/json/builders/app/builds").await, json!({ "1": null, "2": null }));
    let all = json_of(&s, "/json/builders/app/builds/_all?max=1").await;
    assert_eq!(all.as_object().unwrap().keys().collect::<Vec<_>>(), ["2"]);

    assert_eq!(json_of(&s, "/json/builders/app/builds/2/steps").await, json!({ "0": compile, "1": test }));
    for step in ["1", "-1", "test"] {
        assert_eq!(json_of(&s, &format!("/json/builders/app/builds/2/steps/{step}")).await, *test, "{step}");
    }
    assert_eq!(json_of(&s, "/json/builders/app/builds/-1/source_stamp").await, *ss);
    let number = change["number"].as_i64().unwrap();
    let changes = json_of(&s, "/json/builders/app/builds/-1/source_stamp/changes").await;
    assert_eq!(changes, json!({ number.to_string(): change }));
    assert_eq!(json_of(&s, &format!("/json/changes/{number}")).await, *change);
    assert_eq!(json_of(&s, "/json/changes").await, changes, "the only change");

    for missing in [
        "/json/builders/app/builds/3",
        "/json/builders/app/builds/-3",
        "/json/builders/app/builds/2/steps/2",
        "/json/builders/app/builds/2/steps/upload",
        "/json/builders/nope",
        "/json/changes/999",
        "/json/metrics",
    ] {
        let got = s.get(missing).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(got.header("content-type"), "application/json; charset=utf-8");
        assert_eq!(got.json()["error"], "not_found", "{missing}");
        assert!(got.json()["message"].as_str().unwrap().contains("/json/help"), "{missing}");
    }
}

#[tokio::test]
async fn builders_slaves_project_and_the_root() {
    let s = site().await;
    s.run("app", "main").await;
    s.run("docs", "main").await;

    let app = json_of(&s, "/json/builders/app").await;
    assert_eq!(
        app,
        json!({
            "basedir": "app", "category": "app", "cachedBuilds": [1], "currentBuilds": [], "pendingBuilds": 0,
            "schedulers": ["force", "broken"], "slaves": ["local"], "state": "idle",
        })
    );
    let builders = json_of(&s, "/json/builders/").await;
    assert_eq!(builders.as_object().unwrap().keys().collect::<Vec<_>>(), ["app", "docs", "slow"]);
    assert_eq!(builders["app"], app);
    assert_eq!(builders["slow"]["category"], Value::Null);

    let local = json_of(&s, "/json/slaves/local").await;
    assert_eq!(local["name"], "local");
    assert_eq!((local["connected"].clone(), local["paused"].clone()), (json!(true), json!(false)));
    assert_eq!(local["builders"], json!({ "app": [1], "docs": [1], "slow": [] }));
    assert_eq!(local["runningBuilds"], json!([]));
    assert!(local["host"].is_string() && local["version"].is_string(), "{local}");
    assert_eq!((local["admin"].clone(), local["access_uri"].clone()), (Value::Null, Value::Null));
    assert_eq!(json_of(&s, "/json/builders/app/slaves").await, json!({ "local": local }));
    assert_eq!(json_of(&s, "/json/builders/app/slaves/local").await, local);
    assert_eq!(json_of(&s, "/json/builders/app/pendingBuilds").await, json!([]));

    let project = json_of(&s, "/json/project").await;
    assert_eq!(project, json!({ "projectName": "test", "projectURL": null, "buildbotURL": BASE }));

    let root = json_of(&s, "/json").await;
    assert_eq!(root.as_object().unwrap().keys().collect::<Vec<_>>(), ["builders", "changes", "project", "slaves"]);
    assert_eq!((root["builders"].clone(), root["project"].clone()), (builders, project));
    assert_eq!(root["slaves"], json!({ "local": local }));
    assert_eq!(root["changes"], json!({}), "forced builds have no changes");
}

#[tokio::test]
async fn arguments_shape_the_answer_as_089s_did() {
    let s = site().await;
    s.run("app", "main").await;
    s.run("app", "main").await;

    let text = s.get("/json/builders/app?as_text=1").await;
    assert_eq!(text.status, StatusCode::OK);
    assert_eq!(text.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(text.header("x-content-type-options"), "nosniff");
    assert!(text.text().starts_with("{\n  \"basedir\": \"app\",\n"), "indented: {}", text.text());
    let v = text.json();
    assert!(v.get("currentBuilds").is_none() && v.get("pendingBuilds").is_none(), "filtered: {v}");
    assert_eq!(v["cachedBuilds"], json!([1, 2]));

    let unfiltered = s.get("/json/builders/app?as_text=1&filter=0").await.json();
    assert_eq!((unfiltered["currentBuilds"].clone(), unfiltered["pendingBuilds"].clone()), (json!([]), json!(0)));
    let pretty = s.get("/json/project?compact=0").await;
    assert_eq!(pretty.header("content-type"), "application/json; charset=utf-8");
    assert!(pretty.text().contains("\n  \"projectURL\": null"), "indented, unfiltered: {}", pretty.text());
    let compact = s.get("/json/project?as_text=1&compact=1").await;
    assert!(!compact.text().trim_end().contains('\n'), "{}", compact.text());

    let filtered = json_of(&s, "/json/builders/app/builds/-1?filter=1").await;
    assert!(filtered.get("eta").is_none() && filtered.get("currentStep").is_none(), "{filtered}");
    let step = &filtered["steps"][0];
    assert!(step.get("results").is_none(), "[0, []] is all empty, as 0.8.9 counted it: {step}");
    assert!(step.get("step_number").is_none() && step.get("hidden").is_none(), "{step}");
    assert_eq!(step["name"], "compile");
    assert_eq!(filtered["steps"][1]["step_number"], 1);

    // select on builds picks numbers, keyed as written.
    let two = json_of(&s, "/json/builders/app/builds?select=-1&select=1").await;
    assert_eq!(two.as_object().unwrap().keys().collect::<Vec<_>>(), ["-1", "1"]);
    assert_eq!((two["-1"]["number"].clone(), two["1"]["number"].clone()), (json!(2), json!(1)));
    let changes =
        json_of(&s, "/json/builders/app/builds?select=-1/source_stamp/changes&select=-2/source_stamp/changes").await;
    assert_eq!(
        changes,
        json!({ "-1": { "source_stamp": { "changes": {} } }, "-2": { "source_stamp": { "changes": {} } } })
    );

    // select on a node: `select=` is the node itself, a path one of its parts.
    let app = json_of(&s, "/json/builders/app?select=&select=slaves").await;
    assert_eq!(app["state"], "idle");
    assert_eq!(app["slaves"]["local"]["name"], "local", "the workers in full: {app}");
    let picked =
        json_of(&s, "/json?select=project&select=builders/app/builds/-1&select=slaves/local/&select=nope/x").await;
    assert_eq!(picked.as_object().unwrap().keys().collect::<Vec<_>>(), ["builders", "nope", "project", "slaves"]);
    assert_eq!(picked["project"]["projectName"], "test");
    assert_eq!(picked["builders"]["app"]["builds"]["-1"]["number"], 2);
    assert_eq!(picked["slaves"]["local"]["name"], "local");
    assert_eq!(picked["nope"], json!({ "error": "Not available" }));
    let missing = json_of(&s, "/json/builders/app/builds?select=9").await;
    assert_eq!(missing, json!({ "9": { "error": "Not available" } }));

    let jsonp = s.get("/json/project?callback=alert").await;
    assert_eq!(jsonp.status, StatusCode::BAD_REQUEST);
    assert_eq!(jsonp.json()["error"], "bad_request");
    assert!(jsonp.json()["message"].as_str().unwrap().contains("JSONP"));
    assert_eq!(s.get("/json/changes?max=lots").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_running_build_shows_on_its_builder_and_worker() {
    let s = site().await;
    let mut rx = s.engine.bus.subscribe();
    s.engine.force("slow", ForceRequest { reason: "wait".into(), ..Default::default() }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let build = loop {
        let got = s.get("/json/builders/slow/builds/-1").await;
        if got.status == StatusCode::OK && got.json()["currentStep"]["name"] == "wait" {
            break got.json();
        }
        assert!(tokio::time::Instant::now() < deadline, "the build never started its step: {}", got.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((build["number"].clone(), build["results"].clone()), (json!(1), Value::Null));
    assert_eq!(build["times"][1], Value::Null);
    assert_eq!(build["currentStep"]["isFinished"], false);
    let slow = json_of(&s, "/json/builders/slow").await;
    assert_eq!((slow["state"].clone(), slow["currentBuilds"].clone()), (json!("building"), json!([1])));
    let local = json_of(&s, "/json/slaves/local").await;
    assert_eq!(local["runningBuilds"].as_array().unwrap().len(), 1);
    assert_eq!(local["runningBuilds"][0]["builderName"], "slow");
    assert_eq!(local["builders"]["slow"], json!([]), "only finished builds are listed there");

    std::fs::write(s._dir.path().join("RELEASE"), "").unwrap();
    common::wait_finished(&mut rx, "slow", 60).await;
    assert_eq!(json_of(&s, "/json/builders/slow/builds/1").await["results"], 0);
}

/// A master titled `title` whose `[authz] view` is `view`, with one builder and a user.
async fn master(
    title: &str,
    view: &str,
) -> (TestClient<poem::endpoint::BoxEndpoint<'static>>, Arc<Engine>, TestDb, tempfile::TempDir) {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let hash = cascade::auth::password::hash("pw").unwrap();
    let text = format!(
        "title = {title:?}\n[web]\nlisten = [\"127.0.0.1:0\"]\n[auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}]\n\
         [authz]\nview = {view}\nforce_build = true\n[[workers]]\nname = \"local\"\nembedded = true\n\
         [[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = [ {{ name = \"s\", command = \"true\" }} ]\n\
         [[schedulers]]\nname = \"force\"\nkind = \"force\"\nbuilders = [\"app\"]\n"
    );
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap();
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    (TestClient::new(cascade::server::app(engine.clone())), engine, tdb, dir)
}

#[tokio::test]
async fn the_help_page_documents_the_tree_with_live_links_and_escaped_names() {
    let (client, engine, _db, _dir) = master("<i>Ops</i> & \"CI\"", "true").await;
    let mut rx = engine.bus.subscribe();
    engine.force("app", ForceRequest::default()).await.unwrap();
    common::wait_finished(&mut rx, "app", 60).await;

    let help = Got::of(client.get("/json/help").send().await).await;
    assert_eq!(help.status, StatusCode::OK);
    assert_eq!(help.header("content-type"), "text/html; charset=utf-8");
    let html = help.text();
    assert!(html.contains("<h1>&lt;i&gt;Ops&lt;/i&gt; &amp; &quot;CI&quot;: JSON status</h1>"), "{html}");
    assert!(!html.contains("<i>Ops"), "{html}");
    for link in [
        "href=\"../json?as_text=1\"",
        "href=\"../json/builders?as_text=1\"",
        "href=\"../json/builders/app?as_text=1\"",
        "href=\"../json/builders/app/builds/1?as_text=1\"",
        "href=\"../json/builders/app/builds/1/steps/0?as_text=1\"",
        "href=\"../json/builders/app/builds?select=-1&amp;select=-2&amp;as_text=1\"",
        "href=\"../json/slaves/local?as_text=1\"",
        "href=\"../json/project?as_text=1\"",
    ] {
        assert!(html.contains(link), "{link} in {html}");
    }
    for documented in
        ["as_text=1", "compact=0", "filter=1", "select=PATH", "max=N", "callback=NAME", "/json/changes/CHANGE"]
    {
        assert!(html.contains(documented), "{documented}");
    }
    assert!(html.contains("<code>/json/changes/CHANGE</code>: one change"), "no change to link to: {html}");

    let deeper = Got::of(client.get("/json/builders/app/help").send().await).await;
    assert_eq!(deeper.status, StatusCode::OK);
    assert!(deeper.text().contains("href=\"../../../json/builders/app?as_text=1\""), "links still lead to the tree");
}

#[tokio::test]
async fn anonymous_callers_are_refused_when_view_needs_a_login() {
    let (client, _engine, _db, _dir) = master("t", "\"auth\"").await;
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ann:pw"));
    for path in ["/json", "/json/", "/json/builders/app", "/json/help", "/json/nope"] {
        let got = Got::of(client.get(path).send().await).await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(got.json()["error"], "unauthorized", "{path}");
        let got = Got::of(client.get(path).header("authorization", &basic).send().await).await;
        let expected = if path == "/json/nope" { StatusCode::NOT_FOUND } else { StatusCode::OK };
        assert_eq!(got.status, expected, "{path}");
    }
    let (client, _engine, _db, _dir) = master("t", "false").await;
    client.get("/json/project").send().await.assert_status(StatusCode::FORBIDDEN);
}
