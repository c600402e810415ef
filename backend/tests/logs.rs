//! The log viewer's server side, in-process: 0.8.9's plain-text log URL, steps addressed by
//! name as well as number, the search and the section markers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

use common::{TestDb, wait_finished};

// Step 3 is named like step 1's number: a number in a URL means the step of that number.
const BODY: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [
  { name = "compile", command = "echo compiling; echo warning >&2" },
  { name = "test", command = "printf '::group::Setup\\nsetting up\\n::endgroup::\\n\\033[0Ksection_start:1700000000:deps[collapsed=true]\\r\\033[0KInstall deps\\nnpm ci\\n\\033[0Ksection_end:1700000001:deps\\r\\033[0K\\n--- Build\\n\\033[1;31mFAIL\\033[0m: Needle one\\n+++ Tests\\n'; for i in $(seq 1 20); do echo line $i; done; echo 'a needle again'" },
  { name = "1", command = "echo the step named one" },
  { name = "long", command = "seq 1 50000; echo '+++ Tail'" },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

struct Logs {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    _engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// A master with one finished build of `app`.
async fn built() -> Logs {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config(dir.path(), BODY, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let client = TestClient::new(cascade::server::app(engine.clone()));
    let mut rx = engine.bus.subscribe();
    let resp = client.post("/api/v1/builders/app/force").body_json(&json!({"reason": "test"})).send().await;
    resp.assert_status(StatusCode::ACCEPTED);
    wait_finished(&mut rx, "app", 30).await;
    Logs { client, _engine: engine, _db: tdb, _dir: dir }
}

async fn text_of(resp: TestResponse) -> String {
    resp.0.into_body().into_string().await.unwrap()
}

async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

#[tokio::test]
async fn the_text_url_serves_a_log_by_step_number_or_name_without_headers() {
    let l = built().await;
    for step in ["1", "compile"] {
        let resp = l.client.get(format!("/builders/app/builds/1/steps/{step}/logs/stdio/text")).send().await;
        resp.assert_status_is_ok();
        resp.assert_content_type("text/plain; charset=utf-8");
        assert_eq!(text_of(resp).await, "compiling\nwarning\n", "step {step}");
    }
    let test = text_of(l.client.get("/builders/app/builds/1/steps/test/logs/stdio/text").send().await).await;
    assert!(test.starts_with("::group::Setup\nsetting up\n") && test.ends_with("line 20\na needle again\n"), "{test}");
    assert!(test.contains("\x1b[1;31mFAIL\x1b[0m"), "the text is the log as written: {test}");
    assert!(!test.contains("argv") && !test.contains("elapsedTime"), "header lines are left out: {test}");
    let named_one = text_of(l.client.get("/builders/app/builds/1/steps/3/logs/stdio/text").send().await).await;
    assert_eq!(named_one, "the step named one\n");
}

#[tokio::test]
async fn the_text_url_says_in_plain_text_which_part_names_nothing() {
    let l = built().await;
    for (path, message) in [
        ("/builders/nope/builds/1/steps/1/logs/stdio/text", "no builder `nope`"),
        ("/builders/app/builds/9/steps/1/logs/stdio/text", "builder `app` has no build 9"),
        ("/builders/app/builds/last/steps/1/logs/stdio/text", "builder `app` has no build `last`"),
        ("/builders/app/builds/1/steps/deploy/logs/stdio/text", "build 1 of builder `app` has no step `deploy`"),
        ("/builders/app/builds/1/steps/7/logs/stdio/text", "build 1 of builder `app` has no step `7`"),
        (
            "/builders/app/builds/1/steps/test/logs/nope/text",
            "step `test` of build 1 of builder `app` has no log `nope`",
        ),
    ] {
        let resp = l.client.get(path).send().await;
        resp.assert_status(StatusCode::NOT_FOUND);
        resp.assert_content_type("text/plain; charset=utf-8");
        assert_eq!(text_of(resp).await, format!("{message}\n"), "{path}");
    }
}

#[tokio::test]
async fn api_log_paths_take_a_step_name_as_well_as_a_number() {
    let l = built().await;
    let base = "/api/v1/builders/app/builds/1/steps";
    let by_number = json_of(l.client.get(format!("{base}/2/logs/stdio/lines")).send().await).await;
    let by_name = json_of(l.client.get(format!("{base}/test/logs/stdio/lines")).send().await).await;
    assert_eq!(by_number, by_name);
    assert!(by_name["lines"].as_array().unwrap().iter().any(|l| l["text"] == json!("setting up")));
    let raw = text_of(l.client.get(format!("{base}/compile/logs/stdio/raw")).send().await).await;
    assert_eq!(raw, "compiling\nwarning\n");
    let resp = l.client.get(format!("{base}/deploy/logs/stdio/lines")).send().await;
    resp.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await["message"], json!("build 1 of builder `app` has no step `deploy`"));
}

#[tokio::test]
async fn search_finds_shown_text_ignoring_case_a_page_at_a_time() {
    let l = built().await;
    let url = "/api/v1/builders/app/builds/1/steps/test/logs/stdio/search";
    let lines = json_of(l.client.get("/api/v1/builders/app/builds/1/steps/test/logs/stdio/lines").send().await).await;
    let number_of = |text: &str| {
        let mut all = lines["lines"].as_array().unwrap().iter();
        let line = all.find(|l| l["text"].as_str().unwrap().starts_with(text) || l["text"] == json!(text));
        line.unwrap()["number"].as_i64().unwrap()
    };
    // The header line quoting the command matches too: header lines are shown, so searched.
    let (argv, first, second) =
        (number_of("argv: "), number_of("\x1b[1;31mFAIL\x1b[0m: Needle one"), number_of("a needle again"));
    assert!(argv < first && first < second);

    let all = json_of(l.client.get(url).query("q", &"NEEDLE").send().await).await;
    assert_eq!(all["lines"], json!([argv, first, second]));
    assert_eq!((all["at_end"].clone(), all["complete"].clone()), (json!(true), json!(true)));
    assert_eq!(all["next"], all["total"]);

    // Matched against the text as shown: colours do not split "FAIL: Needle".
    let shown = json_of(l.client.get(url).query("q", &"fail: needle").send().await).await;
    assert_eq!(shown["lines"], json!([first]));
    let escape = json_of(l.client.get(url).query("q", &"1;31mFAIL").send().await).await;
    assert!(!escape["lines"].as_array().unwrap().contains(&json!(first)), "escape sequences are not searched");

    let page = json_of(l.client.get(url).query("q", &"needle").query("limit", &2).send().await).await;
    assert_eq!((page["lines"].clone(), page["at_end"].clone()), (json!([argv, first]), json!(false)));
    assert_eq!(page["next"], json!(first + 1));
    let rest = json_of(l.client.get(url).query("q", &"needle").query("from", &page["next"]).send().await).await;
    assert_eq!(rest["lines"], json!([second]));

    l.client.get(url).query("q", &"").send().await.assert_status(StatusCode::BAD_REQUEST);
    l.client.get(url.replace("/test/", "/deploy/")).query("q", &"x").send().await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn markers_give_the_sections_of_all_three_syntaxes() {
    let l = built().await;
    let url = "/api/v1/builders/app/builds/1/steps/test/logs/stdio/markers";
    let body = json_of(l.client.get(url).send().await).await;
    let summary: Vec<_> = body["markers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["start"].as_bool().unwrap(),
                m["syntax"].as_str().unwrap(),
                m["title"].as_str().unwrap(),
                m["collapsed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (true, "github", "Setup", true),
            (false, "github", "", false),
            (true, "gitlab", "Install deps", true),
            (false, "gitlab", "", false),
            (true, "buildkite", "Build", true),
            (true, "buildkite", "Tests", false),
        ]
    );
    assert_eq!(body["at_end"], json!(true));
    let lines: Vec<_> = body["markers"].as_array().unwrap().iter().map(|m| m["line"].as_i64().unwrap()).collect();
    let later = json_of(l.client.get(url).query("from", &(lines[1] + 1)).send().await).await;
    assert_eq!(later["markers"].as_array().unwrap().len(), 4);
    assert_eq!(later["markers"][1]["name"], json!("deps"), "a GitLab end names its section");
}

#[tokio::test]
async fn search_and_markers_page_through_a_log_of_many_chunks() {
    let l = built().await;
    let base = "/api/v1/builders/app/builds/1/steps/long/logs/stdio";
    let head = json_of(l.client.get(format!("{base}/lines")).query("limit", &100).send().await).await;
    let first_output = head["lines"].as_array().unwrap().iter().find(|l| l["channel"] == json!("o")).unwrap();
    assert_eq!(first_output["text"], json!("1"));
    let offset = first_output["number"].as_i64().unwrap() - 1;

    let (mut found, mut from, mut pages) = (Vec::new(), 0, 0);
    loop {
        let page = json_of(
            l.client
                .get(format!("{base}/search"))
                .query("q", &"77")
                .query("from", &from)
                .query("limit", &100)
                .send()
                .await,
        )
        .await;
        found.extend(page["lines"].as_array().unwrap().iter().map(|n| n.as_i64().unwrap()));
        from = page["next"].as_i64().unwrap();
        pages += 1;
        if page["at_end"] == json!(true) {
            break;
        }
    }
    let expected: Vec<i64> = (1..=50000).filter(|n: &i64| n.to_string().contains("77")).map(|n| n + offset).collect();
    found.retain(|n| (offset + 1..=offset + 50000).contains(n));
    assert_eq!(found, expected);
    assert!(pages > expected.len() / 100, "{pages} pages");

    let markers = json_of(l.client.get(format!("{base}/markers")).send().await).await;
    assert_eq!(markers["markers"][0]["line"], json!(offset + 50001));
    assert_eq!(markers["markers"][0]["title"], json!("Tail"));
}
