//! The change hook router over real requests: every dialect reaches the engine, refusals
//! create nothing, every request is recorded, and a recorded one can be replayed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::hooks::signature::sign_sha256;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

use common::TestDb;

const PUSH: &str = include_str!("fixtures/hooks/github/push.json");
const GITLAB_PUSH: &str = include_str!("fixtures/hooks/gitlab/push.json");

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn api(change_hook: &str) -> Api {
    api_with_repo(change_hook, "/nonexistent").await
}

async fn api_with_repo(change_hook: &str, repo: &str) -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
[[change_sources]]
name = "repo"
kind = "git_poller"
repo_url = "{repo}"
poll_interval = 3600
[[change_sources]]
name = "private"
kind = "git_poller"
repo_url = "/elsewhere"
poll_interval = 3600
[[builders]]
name = "app"
workers = ["local"]
steps = [ {{ name = "s", command = "true" }} ]
[[schedulers]]
name = "all"
kind = "any_branch"
builders = ["app"]
[authz]
hook_deliveries = true
{change_hook}
"#
    );
    let text = format!(
        "title = \"t\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n[[workers]]\nname = \"local\"\nembedded = true\n{body}"
    );
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

async fn change_count(a: &Api) -> usize {
    json_of(a.client.get("/api/v1/changes").send().await).await["changes"].as_array().unwrap().len()
}

const DIALECTS: &str = "[change_hook]\ndialects = { base = {}, github = { secret = \"s3cret\" }, gitlab = { token = \"tok\" }, poller = { allowed = [\"repo\"] } }\n";

#[tokio::test]
async fn a_signed_github_push_is_stored_recorded_and_replayable() {
    let a = api(DIALECTS).await;
    let signature = sign_sha256(b"s3cret", PUSH.as_bytes());
    let resp = a
        .client
        .post("/change_hook/github")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", &signature)
        .content_type("application/json")
        .body(PUSH)
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let ids = json_of(resp).await["change_ids"].as_array().unwrap().len();
    assert!(ids >= 2, "one change per commit");
    assert_eq!(change_count(&a).await, ids);

    // Unsigned and wrongly signed requests create nothing.
    let unsigned = a
        .client
        .post("/change_hook/github")
        .header("x-github-event", "push")
        .content_type("application/json")
        .body(PUSH)
        .send()
        .await;
    unsigned.assert_status(StatusCode::FORBIDDEN);
    let wrong = sign_sha256(b"other", PUSH.as_bytes());
    a.client
        .post("/change_hook/github")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", &wrong)
        .content_type("application/json")
        .body(PUSH)
        .send()
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(change_count(&a).await, ids);

    let log = json_of(a.client.get("/api/v1/hooks/deliveries").send().await).await;
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0]["status"], json!(403), "newest first");
    assert_eq!(deliveries[2]["status"], json!(202));
    assert_eq!(deliveries[2]["event"], json!("push"));
    assert_eq!(deliveries[2]["change_ids"].as_array().unwrap().len(), ids);
    let first = deliveries[2]["id"].as_i64().unwrap();
    let one = json_of(a.client.get(format!("/api/v1/hooks/deliveries/{first}")).send().await).await;
    assert!(one["body"].as_str().unwrap().contains("refs/heads/main"));

    let replay = a.client.post(format!("/api/v1/hooks/deliveries/{first}/replay")).send().await;
    replay.assert_status_is_ok();
    let replay = json_of(replay).await;
    assert_eq!((replay["replay_of"].clone(), replay["status"].clone()), (json!(first), json!(202)));
    assert_eq!(change_count(&a).await, 2 * ids);

    // The body (3.6 kB) is stored compressed, and read back as it came.
    assert_eq!(one["body"].as_str().unwrap(), PUSH);
    const STORED: &str = "select body_encoding, cast(length(body) as bigint) from hook_deliveries where id = $1";
    let (encoding, stored): (Option<String>, i64) = match &a.engine.db {
        cascade::db::Db::Sqlite(pool, _) => sqlx::query_as(STORED).bind(first).fetch_one(pool).await.unwrap(),
        cascade::db::Db::Postgres(pool) => sqlx::query_as(STORED).bind(first).fetch_one(pool).await.unwrap(),
    };
    assert_eq!(encoding.as_deref(), Some("zstd"));
    assert!(stored < PUSH.len() as i64 / 2, "{stored} of {} bytes stored", PUSH.len());
}

#[tokio::test]
async fn gitlab_needs_its_token_and_credentials_never_reach_the_log() {
    let a = api(DIALECTS).await;
    let send = |token: &'static str| {
        a.client
            .post("/change_hook/gitlab")
            .header("x-gitlab-event", "Push Hook")
            .header("x-gitlab-token", token)
            .content_type("application/json")
            .body(GITLAB_PUSH)
            .send()
    };
    send("nope").await.assert_status(StatusCode::FORBIDDEN);
    send("tok").await.assert_status(StatusCode::ACCEPTED);
    let log = json_of(a.client.get("/api/v1/hooks/deliveries").query("dialect", &"gitlab").send().await).await;
    for d in log["deliveries"].as_array().unwrap() {
        assert!(d["headers"].get("x-gitlab-token").is_none(), "{d}");
    }
}

#[tokio::test]
async fn hooks_can_require_basic_credentials() {
    let a =
        api("[change_hook]\ndialects = { base = {} }\nauth = { users = [{ username = \"ci\", password = \"pw\" }] }\n")
            .await;
    let anon = a
        .client
        .post("/change_hook/base")
        .body("author=a")
        .content_type("application/x-www-form-urlencoded")
        .send()
        .await;
    anon.assert_status(StatusCode::UNAUTHORIZED);
    assert!(anon.0.headers().get("www-authenticate").is_some());
    use base64::Engine as _;
    let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ci:pw"));
    let bad = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ci:nope"));
    a.client
        .post("/change_hook/base")
        .header("authorization", &bad)
        .body("author=a")
        .content_type("application/x-www-form-urlencoded")
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    a.client
        .post("/change_hook/base")
        .header("authorization", &good)
        .body("author=a")
        .content_type("application/x-www-form-urlencoded")
        .send()
        .await
        .assert_status(StatusCode::ACCEPTED);
    assert_eq!(change_count(&a).await, 1);
}

#[tokio::test]
async fn the_poller_hook_polls_only_what_it_may_and_unknown_dialects_are_404() {
    let a = api(DIALECTS).await;
    let ok = json_of(a.client.get("/change_hook/poller").query("poller", &"repo").send().await).await;
    assert_eq!(ok["pollers"], json!(["repo"]));
    a.client.get("/change_hook/poller").query("poller", &"other").send().await.assert_status(StatusCode::BAD_REQUEST);
    let refused = a.client.post("/change_hook/poller").query("poller", &"private").send().await;
    refused.assert_status(StatusCode::BAD_REQUEST);
    assert!(json_of(refused).await["message"].as_str().unwrap().contains("not allowed"));
    a.client.post("/change_hook/bitbucket").body("{}").send().await.assert_status(StatusCode::NOT_FOUND);
    let big = "a".repeat(cascade::hooks::MAX_BODY + 10);
    a.client.post("/change_hook/base").body(big).send().await.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    a.client
        .post("/change_hook/base")
        .content_type("application/json")
        .body("{")
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(change_count(&a).await, 0);
    let log = json_of(a.client.get("/api/v1/hooks/deliveries").send().await).await;
    let statuses: Vec<_> =
        log["deliveries"].as_array().unwrap().iter().map(|d| d["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, vec![400, 413, 404, 400, 400, 200], "every request is recorded, refused ones too");
}

const EVERY_DIALECT: &str = "[change_hook]\ndialects = { github = { secret = \"gh\" }, gitlab = { token = \"gl\" }, bitbucket = { secret = \"bb\" }, gitorious = {}, googlecode = { secret_key = \"gc\" }, gerrit = {} }\n";

/// Waits until the master has run `n` builds, all finished.
async fn builds_finished(a: &Api, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let builds = json_of(a.client.get("/api/v1/builds").query("limit", &100).send().await).await["builds"]
            .as_array()
            .unwrap()
            .clone();
        if builds.len() >= n && builds.iter().all(|b| b["complete"] == json!(true)) {
            return builds;
        }
        assert!(std::time::Instant::now() < deadline, "{} of {n} builds", builds.len());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_dialect_reaches_a_build() {
    use hmac::{Hmac, KeyInit, Mac};
    let a = api(EVERY_DIALECT).await;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let gh = include_str!("fixtures/hooks/github/push.json");
    let bb = include_str!("fixtures/hooks/bitbucket/cloud_push.json");
    let gitorious = format!("payload={}", urlencode(include_str!("fixtures/hooks/gitorious/push.json")));
    let gc = include_str!("fixtures/hooks/googlecode/svn_commit.json");
    let mut md5 = Hmac::<md5::Md5>::new_from_slice(b"gc").unwrap();
    md5.update(gc.as_bytes());
    let gc_sig = hex::encode(md5.finalize().into_bytes());
    // (dialect, headers, content type, body)
    type HookCall<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, String);
    let requests: Vec<HookCall> = vec![
        (
            "github",
            vec![("x-github-event", "push".into()), ("x-hub-signature-256", sign_sha256(b"gh", gh.as_bytes()))],
            json,
            gh.into(),
        ),
        (
            "gitlab",
            vec![("x-gitlab-event", "Push Hook".into()), ("x-gitlab-token", "gl".into())],
            json,
            GITLAB_PUSH.into(),
        ),
        (
            "bitbucket",
            vec![("x-event-key", "repo:push".into()), ("x-hub-signature", sign_sha256(b"bb", bb.as_bytes()))],
            json,
            bb.into(),
        ),
        ("gitorious", vec![], form, gitorious),
        ("googlecode", vec![("google-code-project-hosting-hook-hmac", gc_sig)], json, gc.into()),
        ("gerrit", vec![], json, include_str!("fixtures/hooks/gerrit/patchset_created.json").into()),
    ];
    let mut total = 0;
    for (dialect, headers, content_type, body) in requests {
        let mut req = a.client.post(format!("/change_hook/{dialect}")).content_type(content_type);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.body(body).send().await;
        resp.assert_status(StatusCode::ACCEPTED);
        let n = json_of(resp).await["change_ids"].as_array().unwrap().len();
        assert!(n >= 1, "{dialect}");
        total += n;
    }
    assert_eq!(change_count(&a).await, total);
    // The any_branch scheduler builds every change.
    let builds = builds_finished(&a, total).await;
    assert!(builds.iter().all(|b| b["results"] == json!("success")));
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap().trim_start_matches("x=").to_owned()
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Ann", "-c", "user.email=ann@example.org", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_poller_hook_makes_the_poller_find_new_commits_now() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    std::fs::write(repo.path().join("a"), "1").unwrap();
    git(repo.path(), &["add", "a"]);
    git(repo.path(), &["commit", "-q", "-m", "first"]);
    let a = api_with_repo(DIALECTS, repo.path().to_str().unwrap()).await;
    let poll = || a.client.post("/change_hook/poller").send();
    poll().await.assert_status_is_ok();
    // The first poll records the head; wait for it, then commit and ask again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut conn = a.engine.db.acquire().await.unwrap();
        if cascade::db::state::get(conn.conn(), "poller:repo", "branch:main").await.unwrap().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first poll never finished");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    std::fs::write(repo.path().join("b"), "2").unwrap();
    git(repo.path(), &["add", "b"]);
    git(repo.path(), &["commit", "-q", "-m", "second"]);
    let ok = json_of(poll().await).await;
    assert_eq!(ok["pollers"], json!(["repo"]), "only the allowed source polls");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while change_count(&a).await == 0 {
        assert!(std::time::Instant::now() < deadline, "the poll found nothing");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let changes = json_of(a.client.get("/api/v1/changes").send().await).await;
    assert_eq!(changes["changes"][0]["comments"], json!("second"));
}

#[tokio::test]
async fn hooks_can_require_credentials_from_an_htpasswd_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hooks.htpasswd");
    // "secret" as `{SHA}` (base64 of its SHA-1).
    std::fs::write(&file, "ci:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    let a =
        api(&format!("[change_hook]\ndialects = {{ base = {{}} }}\nauth = {{ htpasswd = \"{}\" }}\n", file.display()))
            .await;
    use base64::Engine as _;
    let basic = |pw: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("ci:{pw}")));
    let post = |auth: String| {
        a.client
            .post("/change_hook/base")
            .header("authorization", auth)
            .content_type("application/x-www-form-urlencoded")
            .body("author=a")
            .send()
    };
    post(basic("wrong")).await.assert_status(StatusCode::UNAUTHORIZED);
    post(basic("secret")).await.assert_status(StatusCode::ACCEPTED);
}
