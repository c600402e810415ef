//! The `http_push` reporter against a small HTTP receiver in the test (127.0.0.1), with real
//! builds on the embedded worker, on SQLite and (with CASCADE_TEST_DATABASE_URL) PostgreSQL.
//! The receiver records each request and answers from a script (200 once it runs out).
//! Absence is never waited for: a test that must see no more requests waits until every
//! outbox row is settled and counts the requests against the rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cascade::db::outbox;
use cascade::engine::Engine;
use cascade::engine::clock::{Clock, ManualClock, SystemClock};
use cascade::model::ForceRequest;
use common::{TestDb, TestMaster, wait_finished};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as received.
#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    raw: Vec<u8>,
    body: Value,
    status: u16,
}

/// An HTTP receiver on 127.0.0.1 that records requests and answers each with the next
/// status of its script.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        Receiver::start_on(0, script).await
    }

    async fn start_on(port: u16, script: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<u16>>()));
        let (log, answers) = (received.clone(), script.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (log, answers) = (log.clone(), answers.clone());
                tokio::spawn(async move {
                    let Some((headers, raw)) = read_request(&mut socket).await else { return };
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                    log.lock().unwrap().push(Received { headers, raw, body, status });
                    let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Receiver { port, received, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{} of {n} requests arrived", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads one request: its headers (names in lower case) and body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

const APP: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [{ name = "work", command = "echo done" }]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#;

fn reporter(name: &str, url: &str, extra: &str) -> String {
    format!("[[reporters]]\nkind = \"http_push\"\nname = \"{name}\"\nserver_url = \"{url}\"\n{extra}\n")
}

async fn start(body: &str, clock: Arc<dyn Clock>) -> TestMaster {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = Arc::new(common::config(dir.path(), body, &tdb.url));
    let engine = Engine::start(cfg, tdb.db.clone(), clock).await.unwrap();
    TestMaster { engine, tdb, dir }
}

async fn rows(engine: &Engine) -> Vec<outbox::Message> {
    let mut conn = engine.db.acquire().await.unwrap();
    let mut rows = outbox::list(conn.conn(), None, None, 1000, 0).await.unwrap();
    rows.reverse();
    rows
}

/// Waits until `check` holds for the rows of `reporter`, and returns them.
async fn rows_where(
    engine: &Engine,
    reporter: &str,
    check: impl Fn(&[outbox::Message]) -> bool,
) -> Vec<outbox::Message> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mine: Vec<_> = rows(engine).await.into_iter().filter(|r| r.reporter == reporter).collect();
        if check(&mine) {
            return mine;
        }
        assert!(Instant::now() < deadline, "rows of {reporter} not as expected: {mine:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn settled(rows: &[outbox::Message], n: usize) -> bool {
    rows.len() == n && rows.iter().all(|r| r.state() != outbox::State::Pending)
}

/// Runs `n` builds of `app`, one after the other.
async fn builds(m: &TestMaster, n: usize) {
    let mut rx = m.engine.bus.subscribe();
    for _ in 0..n {
        m.engine.force("app", ForceRequest { reason: "test".into(), ..Default::default() }).await.unwrap();
        wait_finished(&mut rx, "app", 60).await;
    }
}

/// The events of the requests, in the order they arrived, as `event number`.
fn events(received: &[Received]) -> Vec<String> {
    let one = |e: &Value| format!("{} {}", e["event"].as_str().unwrap(), e["build"]["number"]);
    received
        .iter()
        .flat_map(|r| match r.body["events"].as_array() {
            Some(list) => list.iter().map(one).collect::<Vec<_>>(),
            None => vec![one(&r.body)],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_in_order_signed_and_authenticated() {
    let signed = Receiver::start(&[]).await;
    let bearer = Receiver::start(&[]).await;
    let body = format!(
        "{APP}{}{}",
        reporter("signed", &signed.url(), "secret = \"k3y\"\nauth = { basic = { user = \"ci\", password = \"pw\" } }"),
        reporter("bearer", &bearer.url(), "events = [\"finished\"]\nauth = { bearer = \"t0ken\" }"),
    );
    let m = start(&body, Arc::new(SystemClock)).await;
    builds(&m, 3).await;
    let sent = rows_where(&m.engine, "signed", |r| settled(r, 6)).await;
    rows_where(&m.engine, "bearer", |r| settled(r, 3)).await;
    let got = signed.wait_for(6).await;
    assert_eq!(got.len(), 6);
    assert_eq!(
        events(&got),
        [
            "build.started 1",
            "build.finished 1",
            "build.started 2",
            "build.finished 2",
            "build.started 3",
            "build.finished 3"
        ]
    );
    let ids: Vec<&str> = got.iter().map(|r| r.body["id"].as_str().unwrap()).collect();
    assert_eq!(ids, sent.iter().map(|r| r.key.as_deref().unwrap()).collect::<Vec<_>>(), "an event's id is its key");
    for r in &got {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
        mac.update(&r.raw);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(r.headers.get("x-cascade-signature"), Some(&expected));
        assert_eq!(r.headers.get("authorization").map(String::as_str), Some("Basic Y2k6cHc="));
        assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/json"));
    }
    let started = &got[0].body["build"];
    assert_eq!((started["builder"].as_str(), started["results"].clone()), (Some("app"), Value::Null));
    assert!(started["finished_at"].is_null());
    let finished = &got[1].body["build"];
    assert_eq!(finished["results"], "success");
    assert_eq!(finished["id"], started["id"]);
    assert!(finished["finished_at"].as_i64().unwrap() >= finished["started_at"].as_i64().unwrap());
    assert!(finished["url"].as_str().unwrap().ends_with("/builders/app/builds/1"), "{finished}");
    assert_eq!(finished["reason"].as_str().map(|r| r.contains("test")), Some(true), "{finished}");
    assert_eq!(finished["properties"]["buildnumber"], 1, "{finished}");
    assert_eq!(finished["blamelist"], serde_json::json!([]));

    let got = bearer.wait_for(3).await;
    assert_eq!(got.len(), 3);
    assert_eq!(events(&got), ["build.finished 1", "build.finished 2", "build.finished 3"]);
    for r in &got {
        assert_eq!(r.headers.get("authorization").map(String::as_str), Some("Bearer t0ken"));
        assert!(!r.headers.contains_key("x-cascade-signature"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffer_delay_sends_the_events_of_several_builds_in_one_post() {
    let receiver = Receiver::start(&[]).await;
    let body = format!("{APP}{}", reporter("batch", &receiver.url(), "buffer_delay = 1"));
    let clock = ManualClock::new(1_000_000);
    let m = start(&body, clock.clone()).await;
    builds(&m, 2).await;
    // The clock stands still: every event waits for the oldest to be a second old.
    rows_where(&m.engine, "batch", |r| r.len() == 4).await;
    clock.advance(1);
    m.engine.reporters().wake();
    rows_where(&m.engine, "batch", |r| settled(r, 4)).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(events(&got), ["build.started 1", "build.finished 1", "build.started 2", "build.finished 2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_retried_and_the_event_delivered_once() {
    let receiver = Receiver::start(&[500]).await;
    let body = format!("{APP}{}", reporter("retried", &receiver.url(), "events = [\"finished\"]\nretry_delay = 1"));
    let m = start(&body, Arc::new(SystemClock)).await;
    builds(&m, 1).await;
    let rows = rows_where(&m.engine, "retried", |r| settled(r, 1)).await;
    assert_eq!((rows[0].state(), rows[0].attempts), (outbox::State::Sent, 1), "{rows:?}");
    assert!(rows[0].last_error.as_deref().unwrap().contains("500"), "{rows:?}");
    let got = receiver.received();
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 200]);
    assert_eq!(got[0].raw, got[1].raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_waits_for_a_receiver_that_is_down_and_leaves_once_it_is_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let body = format!("{APP}{}", reporter("patient", &url, "events = [\"finished\"]"));
    let clock = ManualClock::new(1_000_000);
    let m = start(&body, clock.clone()).await;
    builds(&m, 1).await;
    let rows = rows_where(&m.engine, "patient", |r| r.len() == 1 && r[0].attempts >= 1).await;
    assert_eq!(rows[0].state(), outbox::State::Pending);
    assert_eq!(rows[0].next_attempt_at, clock.now() + 5, "retry_delay defaults to 5 s");

    let receiver = Receiver::start_on(port, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "the event never left");
        clock.advance(3600);
        m.engine.reporters().wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = rows_where(&m.engine, "patient", |r| settled(r, 1)).await;
    assert_eq!(rows[0].state(), outbox::State::Sent);
    assert_eq!(events(&receiver.received()), ["build.finished 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_back_after_a_long_outage_gets_the_events_before_the_backoff_runs_out() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let body = format!("{APP}{}", reporter("back", &url, "events = [\"finished\"]\nretry_delay = 1"));
    // The clock stands still: only the sender's looks at the receiver can make the events due.
    let clock = ManualClock::new(1_000_000);
    let m = start(&body, clock.clone()).await;
    builds(&m, 2).await;
    let rows = rows_where(&m.engine, "back", |r| r.len() == 2 && r[0].attempts >= 1).await;
    // Down for long: the next attempt is an hour off.
    {
        let mut conn = m.engine.db.acquire().await.unwrap();
        outbox::mark_failed(conn.conn(), rows[0].id, "connection refused", Some(clock.now() + 3600), clock.now())
            .await
            .unwrap();
    }

    let receiver = Receiver::start_on(port, &[]).await;
    let rows = rows_where(&m.engine, "back", |r| settled(r, 2)).await;
    assert!(rows.iter().all(|r| r.state() == outbox::State::Sent), "{rows:?}");
    assert_eq!(events(&receiver.received()), ["build.finished 1", "build.finished 2"]);
    assert_eq!(clock.now(), 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_fails_the_event_for_good() {
    let receiver = Receiver::start(&[400]).await;
    let body = format!("{APP}{}", reporter("refused", &receiver.url(), "events = [\"finished\"]"));
    let m = start(&body, Arc::new(SystemClock)).await;
    builds(&m, 1).await;
    let rows = rows_where(&m.engine, "refused", |r| settled(r, 1)).await;
    assert_eq!((rows[0].state(), rows[0].attempts), (outbox::State::Failed, 1), "{rows:?}");
    assert!(rows[0].last_error.as_deref().unwrap().contains("400"), "{rows:?}");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_queue_drops_the_oldest_unsent_events() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let body = format!("{APP}{}", reporter("bounded", &url, "max_queue = 2"));
    let clock = ManualClock::new(1_000_000);
    let m = start(&body, clock.clone()).await;
    builds(&m, 3).await;
    let dropped = "dropped: more than max_queue (2) unsent messages";
    let rows = rows_where(&m.engine, "bounded", |r| {
        r.len() == 6 && r.iter().filter(|r| r.last_error.as_deref() == Some(dropped)).count() == 4
    })
    .await;
    let keys = |state| rows.iter().filter(|r| r.state() == state).map(|r| r.key.clone().unwrap()).collect::<Vec<_>>();
    let ids: Vec<String> = rows.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys(outbox::State::Failed), ids[..4]);
    assert_eq!(keys(outbox::State::Pending), ids[4..]);

    let receiver = Receiver::start_on(port, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.received().len() < 2 {
        assert!(Instant::now() < deadline, "the events never left");
        clock.advance(3600);
        m.engine.reporters().wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rows_where(&m.engine, "bounded", |r| settled(r, 6)).await;
    assert_eq!(events(&receiver.received()), ["build.started 3", "build.finished 3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_fails_is_retried_whole() {
    let receiver = Receiver::start(&[503]).await;
    let body = format!("{APP}{}", reporter("batch", &receiver.url(), "buffer_delay = 2"));
    let clock = ManualClock::new(1_000_000);
    let m = start(&body, clock.clone()).await;
    builds(&m, 1).await;
    rows_where(&m.engine, "batch", |r| r.len() == 2).await;
    clock.advance(2);
    m.engine.reporters().wake();
    let rows = rows_where(&m.engine, "batch", |r| r.len() == 2 && r[0].attempts == 1).await;
    assert_eq!(rows[0].next_attempt_at, clock.now() + 5);
    assert_eq!((rows[1].attempts, rows[1].state()), (0, outbox::State::Pending));
    clock.advance(5);
    m.engine.reporters().wake();
    rows_where(&m.engine, "batch", |r| settled(r, 2)).await;
    let got = receiver.received();
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);
    assert_eq!(got[0].raw, got[1].raw);
    assert_eq!(events(&got[1..]), ["build.started 1", "build.finished 1"]);
}
