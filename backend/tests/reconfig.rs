//! Live reconfiguration: a new configuration file takes effect without dropping a running
//! build; one with errors is refused whole and the old one stays; the API asks for it only
//! with the `reconfig` permission, and every reconfiguration is an event naming who asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
// Shared with the forge tests; here it only receives the pushes.
#[allow(dead_code)]
mod forge_peer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use cascade::config;
use cascade::db;
use cascade::engine::bus::Event;
use cascade::engine::clock::SystemClock;
use cascade::engine::{Engine, ReconfigError};
use cascade::model::{ForceRequest, Results};
use common::TestDb;
use poem::test::TestClient;
use serde_json::Value;

/// A master whose configuration file the test rewrites.
struct Master {
    engine: Arc<Engine>,
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    tdb: TestDb,
    dir: tempfile::TempDir,
}

impl Master {
    async fn start(body: &str) -> Master {
        let tdb = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let master = |engine: Arc<Engine>, tdb, dir| Master {
            client: TestClient::new(cascade::server::app(engine.clone())),
            engine,
            tdb,
            dir,
        };
        let path = write(dir.path(), &tdb.url, body);
        let cfg = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
        master(engine, tdb, dir)
    }

    /// Rewrites the configuration file and asks the engine to read it, as SIGHUP does.
    async fn reconfigure(&self, body: &str) -> Result<String, ReconfigError> {
        write(self.dir.path(), &self.tdb.url, body);
        self.engine.reconfigure_from_file("tester", cascade::web::check_files).await
    }

    fn release(&self) -> PathBuf {
        self.dir.path().join("release")
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self.client.get(path).send().await;
        resp.assert_status_is_ok();
        resp.json().await.value().deserialize()
    }

    async fn builder_names(&self) -> Vec<String> {
        let builders = self.get("/api/v1/builders").await;
        builders["builders"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap().to_owned()).collect()
    }

    /// The stored `reconfig` events, oldest first, as (actor, summary).
    async fn reconfig_events(&self) -> Vec<(Option<String>, String)> {
        let mut conn = self.engine.db.acquire().await.unwrap();
        let mut events = db::events::list(conn.conn(), &["reconfig"], None, None, 100).await.unwrap();
        events.reverse();
        events
            .into_iter()
            .map(|e| {
                let payload: Value = serde_json::from_str(&e.payload).unwrap();
                (e.actor, payload["summary"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

/// Writes `cascade.toml` in `dir`: the test's database, users ann (role admins) and eve
/// (password "pw"), an embedded worker, then `body`.
fn write(dir: &Path, db_url: &str, body: &str) -> PathBuf {
    // Hashed once: a new salt each time would change `[auth]` between two files.
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH.get_or_init(|| cascade::auth::password::hash("pw").unwrap());
    let body = body.replace("RELEASE", &dir.join("release").display().to_string());
    let text = format!(
        "title = \"CI\"\n[db]\nurl = \"{db_url}\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n\
         [auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}, {{ username = \"eve\", password_hash = \"{hash}\" }}]\n\
         {body}"
    );
    let path = dir.join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One builder whose build waits for the test's release file, and a force scheduler.
const FIRST: &str = r#"
[authz]
force_build = true
reconfig = { roles = ["admins"] }
roles = { admins = ["ann"] }
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "wait", command = "while [ ! -e RELEASE ]; do sleep 0.05; done" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

/// `app` changed, `docs` added, the worker allowed more builds, a reporter added, the
/// title changed.
const SECOND: &str = r#"
[authz]
force_build = true
reconfig = { roles = ["admins"] }
roles = { admins = ["ann"] }
[[workers]]
name = "local"
embedded = true
max_builds = 3
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "build", command = "echo built" } ]
[[builders]]
name = "docs"
workers = ["local"]
steps = [ { name = "make", command = "echo docs" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "docs"]
[[reporters]]
name = "push"
kind = "http_push"
server_url = "RECEIVER"
"#;

async fn started(rx: &mut tokio::sync::broadcast::Receiver<Arc<cascade::engine::bus::Stamped>>, builder: &str) {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Event::BuildStarted { build, .. } = &rx.recv().await.unwrap().event
                && build.builder == builder
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no build of {builder} started"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_configuration_takes_effect_while_a_build_runs_on() {
    let m = Master::start(FIRST).await;
    let receiver = forge_peer::Api::start(&[]).await;
    let mut rx = m.engine.bus.subscribe();
    m.engine.force("app", ForceRequest::default()).await.unwrap();
    started(&mut rx, "app").await;
    assert_eq!(m.builder_names().await, ["app"]);

    let summary = m.reconfigure(&SECOND.replace("RECEIVER", &receiver.url())).await.unwrap();
    assert_eq!(summary, "builders ~app +docs; schedulers ~force; workers ~local; reporters +push");
    // The API, the pages and the engine see the new configuration at once.
    assert_eq!(m.builder_names().await, ["app", "docs"]);
    assert_eq!(m.get("/api/v1/master").await["title"], "CI");
    m.engine.force("docs", ForceRequest::default()).await.unwrap();
    let docs = common::wait_finished(&mut rx, "docs", 30).await;
    assert_eq!(docs.results, Some(Results::Success));
    // The reporter added by the reconfiguration pushes the new builds.
    let pushed = receiver.wait_for(1).await;
    assert!(pushed.iter().any(|r| r.body.to_string().contains("\"docs\"")), "{pushed:?}");

    // The build that was running when the configuration changed ran on, with its old steps.
    std::fs::write(m.release(), "").unwrap();
    let app = common::wait_finished(&mut rx, "app", 30).await;
    assert_eq!(app.results, Some(Results::Success));
    let page = m.get(&format!("/api/v1/builders/app/builds/{}", app.number)).await;
    assert_eq!(page["steps"][0]["name"], "wait");
    // The next build of `app` has the new ones.
    m.engine.force("app", ForceRequest::default()).await.unwrap();
    let again = common::wait_finished(&mut rx, "app", 30).await;
    let page = m.get(&format!("/api/v1/builders/app/builds/{}", again.number)).await;
    assert_eq!(page["steps"][0]["name"], "build");

    // The reconfiguration is an event, with who asked and what changed; the waterfall shows it.
    assert_eq!(m.reconfig_events().await, [(Some("tester".to_owned()), summary.clone())]);
    let waterfall = m.get("/api/v1/views/waterfall?show_events=true").await;
    let shown: Vec<&Value> =
        waterfall["events"].as_array().unwrap().iter().filter(|e| e["type"] == "reconfig").collect();
    assert_eq!(shown.len(), 1, "{waterfall:#}");
    assert_eq!((&shown[0]["actor"], &shown[0]["summary"]), (&Value::from("tester"), &Value::from(summary)));

    // Back to the first configuration: the reporter and `docs` are gone.
    assert_eq!(
        m.reconfigure(FIRST).await.unwrap(),
        "builders ~app -docs; schedulers ~force; workers ~local; reporters -push"
    );
    assert_eq!(m.builder_names().await, ["app"]);
    let refused = m.engine.force("docs", ForceRequest::default()).await.unwrap_err();
    assert!(refused.to_string().contains("no builder named `docs`"), "{refused}");
    let before = forge_peer::rows(&m.engine).await.len();
    m.engine.force("app", ForceRequest::default()).await.unwrap();
    common::wait_finished(&mut rx, "app", 30).await;
    assert_eq!(forge_peer::rows(&m.engine).await.len(), before, "a removed reporter stores nothing");
    m.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_with_errors_is_refused_whole_and_the_old_one_stays() {
    let m = Master::start(FIRST).await;
    let broken =
        SECOND.replace("RECEIVER", "not a url").replace("name = \"docs\"", "name = \"docs\"\ncolour = \"red\"");
    let error = m.reconfigure(&broken).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ReconfigError::Invalid(_)), "{text}");
    // Every error, each with its file and line.
    assert!(text.contains("cascade.toml:") && text.contains("colour") && text.contains("server_url"), "{text}");
    assert_eq!(m.builder_names().await, ["app"], "nothing of the broken file was applied");

    // What a running master cannot change is refused too, saying what to do.
    let path = write(m.dir.path(), &m.tdb.url, FIRST);
    let other_db = format!("sqlite://{}", m.dir.path().join("other.sqlite").display());
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace(&m.tdb.url, &other_db)).unwrap();
    let error = m.engine.reconfigure_from_file("tester", cascade::web::check_files).await.unwrap_err();
    assert!(error.to_string().contains("[db] cannot change while the master runs"), "{error}");
    write(m.dir.path(), &m.tdb.url, FIRST);
    let text = std::fs::read_to_string(&path).unwrap().replace("127.0.0.1:0", "127.0.0.1:1");
    std::fs::write(&path, text).unwrap();
    let error = m.engine.reconfigure_from_file("tester", cascade::web::check_files).await.unwrap_err();
    assert!(error.to_string().contains("[web] listen"), "{error}");
    assert!(m.reconfig_events().await.is_empty(), "a refused configuration is no reconfiguration");
    m.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reconfigures_for_those_allowed_and_records_who_asked() {
    let m = Master::start(FIRST).await;
    let basic =
        |user: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw")));
    write(m.dir.path(), &m.tdb.url, &SECOND.replace("RECEIVER", "http://127.0.0.1:9/"));

    let anonymous = m.client.post("/api/v1/master/reconfig").send().await;
    anonymous.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    let eve = m.client.post("/api/v1/master/reconfig").header("authorization", basic("eve")).send().await;
    eve.assert_status(poem::http::StatusCode::FORBIDDEN);
    assert_eq!(m.builder_names().await, ["app"]);

    let ann = m.client.post("/api/v1/master/reconfig").header("authorization", basic("ann")).send().await;
    ann.assert_status_is_ok();
    let body: Value = ann.json().await.value().deserialize();
    assert_eq!(
        body["message"],
        "reconfigured: builders ~app +docs; schedulers ~force; workers ~local; reporters +push"
    );
    assert_eq!(m.builder_names().await, ["app", "docs"]);
    assert_eq!(m.reconfig_events().await[0].0.as_deref(), Some("ann"));

    // A broken file: 422 with every error, and the running configuration stays.
    write(m.dir.path(), &m.tdb.url, "[[builders]]\nname = 3\n");
    let refused = m.client.post("/api/v1/master/reconfig").header("authorization", basic("ann")).send().await;
    refused.assert_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.value().deserialize();
    assert_eq!(body["error"], "invalid_config");
    assert!(body["message"].as_str().unwrap().contains("cascade.toml:"), "{body}");
    assert_eq!(m.builder_names().await, ["app", "docs"]);
    m.engine.stop().await;
}
