//! `/metrics`, in-process over the real app, on SQLite and PostgreSQL: builds run on the
//! embedded worker, a hook delivery, API requests and an event stream are counted, the text
//! is read by a strict OpenMetrics parser, and `[authz] view` hides it like the API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::ForceRequest;
use poem::http::StatusCode;
use poem::test::TestClient;

use common::{TestDb, wait_finished};

const BODY: &str = r#"
[change_hook]
dialects = { base = {} }
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "compile", command = "true" }, { name = "test", command = "true" } ]
[[builders]]
name = "bad"
workers = ["local"]
steps = [ { name = "test", command = "false" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "bad"]
"#;

type Client = TestClient<poem::endpoint::BoxEndpoint<'static>>;

struct Master {
    client: Client,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn master(web_and_auth: &str, body: &str) -> Master {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "title = \"t\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n{web_and_auth}\n[[workers]]\nname = \"local\"\nembedded = true\nmax_builds = 4\n{body}"
    );
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap();
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Master { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

impl Master {
    async fn build(&self, builder: &str) {
        let mut rx = self.engine.bus.subscribe();
        let request = ForceRequest { reason: "test".into(), ..Default::default() };
        self.engine.force(builder, request).await.unwrap();
        wait_finished(&mut rx, builder, 60).await;
    }

    async fn scrape(&self) -> Exposition {
        let resp = self.client.get("/metrics").send().await;
        resp.assert_status_is_ok();
        resp.assert_header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8");
        let text = resp.0.into_body().into_string().await.unwrap();
        Exposition::parse(&text)
    }
}

#[tokio::test]
async fn metrics_count_builds_hooks_requests_and_event_streams() {
    let m = master("[authz]\nforce_build = true", BODY).await;
    m.build("app").await;
    m.build("app").await;
    m.build("bad").await;
    m.client.get("/api/v1/builders").send().await.assert_status_is_ok();
    m.client.get("/api/v1/builders").send().await.assert_status_is_ok();
    m.client.get("/some/spa/page").send().await;
    m.client
        .post("/change_hook/base")
        .content_type("application/x-www-form-urlencoded")
        .body("author=ann&comments=hello&branch=nowhere&revision=abc")
        .send()
        .await
        .assert_status(StatusCode::ACCEPTED);

    let e = m.scrape().await;
    assert_eq!(e.value("cascade_builds_started_total", &[("builder", "app")]), 2.0);
    assert_eq!(e.value("cascade_builds_started_total", &[("builder", "bad")]), 1.0);
    assert_eq!(e.value("cascade_builds_finished_total", &[("builder", "app"), ("result", "success")]), 2.0);
    assert_eq!(e.value("cascade_builds_finished_total", &[("builder", "bad"), ("result", "failure")]), 1.0);
    e.check_histogram("cascade_build_duration_seconds", &[("builder", "app")], 2);
    e.check_histogram("cascade_step_duration_seconds", &[("builder", "app")], 4);
    let hook = [("dialect", "base"), ("outcome", "accepted"), ("status", "2xx")];
    assert_eq!(e.value("cascade_hook_deliveries_total", &hook), 1.0);
    let builders = [("method", "GET"), ("route", "/api/v1/builders"), ("status", "200")];
    assert_eq!(e.value("cascade_http_requests_total", &builders), 2.0, "by route template");
    assert_eq!(e.value("cascade_http_requests_total", &[("route", "/*")]), 1.0, "the SPA");
    assert!(!e.text.contains("/some/spa/page"), "raw paths are no labels");
    e.check_histogram("cascade_http_request_duration_seconds", &[("method", "GET"), ("route", "/api/v1/builders")], 2);
    assert_eq!(e.value("cascade_workers_connected", &[]), 1.0);
    assert_eq!(e.value("cascade_build_requests_pending", &[("builder", "app")]), 0.0);
    assert!(e.value("cascade_db_connections", &[("state", "max")]) >= 1.0);
    assert_eq!(e.value("cascade_sse_clients", &[]), 0.0);

    let stream = m.client.get("/api/v1/events").send().await;
    stream.assert_status_is_ok();
    assert_eq!(m.scrape().await.value("cascade_sse_clients", &[]), 1.0, "while a stream is open");
    drop(stream);
    let after = m.scrape().await;
    assert_eq!(after.value("cascade_sse_clients", &[]), 0.0, "once it is closed");
    assert!(after.value("cascade_http_requests_total", &[("route", "/metrics"), ("status", "200")]) >= 2.0);
}

#[tokio::test]
async fn a_second_master_in_the_process_counts_only_its_own() {
    let a = master("[authz]\nforce_build = true", BODY).await;
    let b = master("[authz]\nforce_build = true", BODY).await;
    a.build("app").await;
    assert_eq!(a.scrape().await.value("cascade_builds_started_total", &[("builder", "app")]), 1.0);
    assert!(b.scrape().await.find("cascade_builds_started_total", &[("builder", "app")]).is_none());
}

#[tokio::test]
async fn metrics_without_login_are_refused_when_view_needs_one() {
    let hash = cascade::auth::password::hash("pw").unwrap();
    let auth =
        format!("[auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}]\n[authz]\nview = \"auth\"");
    let m = master(&auth, BODY).await;
    m.client.get("/metrics").send().await.assert_status(StatusCode::UNAUTHORIZED);
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ann:pw"));
    m.client.get("/metrics").header("authorization", &basic).send().await.assert_status_is_ok();
}

// ---------------------------------------------------------------------------------------
// A strict reader of the OpenMetrics text format (the part `/metrics` uses).

struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

struct Exposition {
    text: String,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Parses `text`, failing on anything out of place: a sample outside its family, a
    /// family without HELP and TYPE, a malformed label or value, a missing `# EOF`.
    fn parse(text: &str) -> Exposition {
        let mut samples = Vec::new();
        let mut family: Option<(String, String)> = None;
        let mut helped = std::collections::HashSet::new();
        let mut eof = false;
        for line in text.lines() {
            assert!(!eof, "text after # EOF: {line}");
            if line == "# EOF" {
                eof = true;
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let (kind, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("bad comment: {line}"));
                let (name, value) = rest.split_once(' ').unwrap_or_else(|| panic!("bad comment: {line}"));
                assert!(name.starts_with("cascade_"), "{line}");
                match kind {
                    "HELP" => {
                        assert!(!value.is_empty(), "{line}");
                        helped.insert(name.to_owned());
                    }
                    "TYPE" => {
                        assert!(["counter", "gauge", "histogram"].contains(&value), "{line}");
                        family = Some((name.to_owned(), value.to_owned()));
                    }
                    "UNIT" => assert!(name.ends_with(&format!("_{value}")), "{line}"),
                    _ => panic!("unknown comment: {line}"),
                }
                continue;
            }
            let (fam, kind) = family.clone().unwrap_or_else(|| panic!("sample before any TYPE: {line}"));
            assert!(helped.contains(&fam), "family without HELP: {fam}");
            let (name, labels, value) = sample(line);
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total", "_created"],
                "gauge" => &[""],
                _ => &["_bucket", "_count", "_sum", "_created"],
            };
            assert!(suffixes.iter().any(|s| name == format!("{fam}{s}")), "{name} outside family {fam}");
            samples.push(Sample { name, labels, value });
        }
        assert!(eof, "no # EOF");
        Exposition { text: text.to_owned(), samples }
    }

    /// The sample named `name` carrying (at least) `labels`, if exactly one does.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<_> = self
            .samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v)))
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} is ambiguous");
        found.first().map(|s| s.value)
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{}", self.text))
    }

    /// Checks that the histogram's buckets are cumulative, end with `+Inf`, and count
    /// `count` observations.
    fn check_histogram(&self, name: &str, labels: &[(&str, &str)], count: u64) {
        let bucket = format!("{name}_bucket");
        let matching = |s: &&Sample| {
            s.name == bucket && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        };
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(matching)
            .map(|s| {
                let le = &s.labels["le"];
                (if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() }, s.value)
            })
            .collect();
        assert!(buckets.len() > 2, "{name} has too few buckets:\n{}", self.text);
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{name} buckets are not cumulative: {buckets:?}");
        let last = buckets.last().unwrap();
        assert_eq!(last.0, f64::INFINITY);
        assert_eq!(last.1, count as f64);
        assert_eq!(self.value(&format!("{name}_count"), labels), count as f64);
        assert!(self.value(&format!("{name}_sum"), labels) >= 0.0);
    }
}

/// `name{k="v",...} value`, with `\\`, `\"` and `\n` escapes in label values.
fn sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("bad sample: {line}"));
    let name = &line[..name_end];
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name: {line}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().unwrap_or_else(|| panic!("unterminated labels: {line}"));
            match c {
                '}' if key.is_empty() => {
                    rest = &inner[i + 1..];
                    break;
                }
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "unquoted value: {line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            Some('\\') => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(c @ ('\\' | '"')) => value.push(c),
                                other => panic!("bad escape {other:?}: {line}"),
                            },
                            Some('"') => break,
                            Some(c) => value.push(c),
                            None => panic!("unterminated value: {line}"),
                        }
                    }
                    assert!(labels.insert(std::mem::take(&mut key), value).is_none(), "repeated label: {line}");
                    match chars.next() {
                        Some((_, ',')) => {}
                        Some((i, '}')) => {
                            rest = &inner[i + 1..];
                            break;
                        }
                        other => panic!("bad label separator {other:?}: {line}"),
                    }
                }
                c if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                _ => panic!("bad label name: {line}"),
            }
        }
    }
    let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no value: {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
    };
    (name.to_owned(), labels, value)
}
