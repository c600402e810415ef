//! PostgreSQL out of reach under a running master: the master reaches the server through a
//! proxy in the test, which drops every connection and refuses new ones, as a restarting
//! server does. Meanwhile requests that need the database answer 503 with `Retry-After` at
//! once instead of hanging, and the master recovers by itself once connections are taken
//! again, with nothing stored before lost. On SQLite there is no server to lose: the test
//! returns at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::process::{Master, config};

/// A TCP proxy to the PostgreSQL server that can be taken down (every connection dropped,
/// new ones refused) and brought back on the same port.
struct Proxy {
    port: u16,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Proxy { port, running: Some(tokio::spawn(serve(listener))) }
    }

    fn down(&mut self) {
        // Aborting the accept loop drops its listener and, with its JoinSet, every connection.
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.running = Some(tokio::spawn(serve(listener)));
    }
}

async fn serve(listener: tokio::net::TcpListener) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut client, _)) = listener.accept().await {
        connections.spawn(async move {
            if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_an_outage_answer_503_and_the_master_recovers() {
    if !std::env::var("CASCADE_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        return;
    }
    let tdb = common::TestDb::new().await;
    assert!(tdb.url.contains("@127.0.0.1:5432/"), "the proxy expects the server at 127.0.0.1:5432: {}", tdb.url);
    let mut proxy = Proxy::start().await;
    let via_proxy = tdb.url.replace("@127.0.0.1:5432/", &format!("@127.0.0.1:{}/", proxy.port));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.toml");
    let web = "listen = [\"127.0.0.1:0\"]\n[change_hook]\ndialects = { base = {} }";
    std::fs::write(&path, config(&via_proxy, web)).unwrap();
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &[], 1)).await.unwrap();
    let base = master.urls[0].clone();
    // Bounds a request that would hang: the outage must be answered, not waited out.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let post = |rev: &'static str| {
        client.post(format!("{base}change_hook/base")).form(&[("author", "a <a@x>"), ("revision", rev)]).send()
    };

    let before = post("before").await.unwrap();
    assert_eq!(before.status(), 202);
    let id = before.json::<serde_json::Value>().await.unwrap()["change_ids"][0].as_i64().unwrap();

    // The outage: every connection to the server is dropped and new ones are refused.
    proxy.down();

    let read = client.get(format!("{base}api/v1/changes/{id}")).send().await.unwrap();
    assert_eq!(read.status(), 503, "{}", read.text().await.unwrap());
    assert_eq!(read.headers()["retry-after"], "5");
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    let hook = post("during").await.unwrap();
    assert_eq!(hook.status(), 503);
    assert_eq!(hook.headers()["retry-after"], "5");

    // Back: the master recovers without a restart and nothing stored before is lost.
    proxy.up().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = client.get(format!("{base}api/v1/changes/{id}")).send().await.unwrap();
        if resp.status() == 200 {
            assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["revision"], "before");
            break;
        }
        assert!(Instant::now() < deadline, "the master did not recover: {}", resp.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(post("after").await.unwrap().status(), 202);
    assert!(master.logs().iter().any(|l| l.contains("database unavailable")), "{:#?}", master.logs());
}
