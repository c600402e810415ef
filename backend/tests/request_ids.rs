//! Request ids and JSON logs: with `CASCADE_LOG_FORMAT=json` every log line is one JSON
//! object, and a request's id is in its log lines, its `X-Request-Id` header and its API
//! error body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::process::{Master, config};
use serde_json::Value;

/// Whether a JSON log line was written inside the request with this id.
fn in_request(line: &Value, id: &str) -> bool {
    line["spans"].as_array().is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_headers_and_error_bodies_share_the_request_id() {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, config(&tdb.url, "listen = [\"127.0.0.1:0\"]")).unwrap();
    // Successful requests are logged at debug level only.
    let env = [("CASCADE_LOG_FORMAT", "json"), ("CASCADE_LOG", "info,cascade::web=debug,sqlx=warn")];
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &env, 1)).await.unwrap();
    let base = &master.urls[0];

    let resp = reqwest::get(format!("{base}api/v1/builders/nope")).await.unwrap();
    assert_eq!(resp.status(), 404);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["request_id"], id.as_str());

    // A sane incoming id is kept; anything else is replaced by a fresh one.
    let client = reqwest::Client::new();
    let kept = client.get(format!("{base}healthz")).header("X-Request-Id", "edge-42.a_b").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "edge-42.a_b");
    let replaced = client.get(format!("{base}healthz")).header("X-Request-Id", "a b;c").send().await.unwrap();
    let fresh = replaced.headers()["x-request-id"].to_str().unwrap();
    assert!(fresh != "a b;c" && !fresh.is_empty(), "{fresh}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines: Vec<Value> = master
            .logs()
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let responded = |id: &str| lines.iter().any(|l| in_request(l, id) && l["fields"]["message"] == "response");
        if responded(&id) && responded("edge-42.a_b") {
            break lines;
        }
        assert!(Instant::now() < deadline, "no response lines for requests {id} and edge-42.a_b in {lines:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let response = lines.iter().find(|l| in_request(l, &id) && l["fields"]["message"] == "response").unwrap();
    assert_eq!(response["fields"]["status"], "404 Not Found");
}
