//! PostgreSQL out of reach under a running master: the master reaches the server through a
//! proxy in the test, which drops every connection and refuses new ones, as a restarting
//! server does. Meanwhile requests that need the database answer 503 with `Retry-After` at
//! once instead of hanging, and the master recovers by itself once connections are taken
//! again, with nothing stored before lost. The proxy can also lose the answer to one commit,
//! as a server stopped between committing and answering does: a build start stored without
//! the master hearing of it runs again. On SQLite there is no server to lose: the tests
//! return at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{Master, config, config_with_steps};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TCP proxy to the PostgreSQL server that can be taken down (every connection dropped,
/// new ones refused) and brought back on the same port, or made to lose the answer to the
/// next commit of a transaction that prepares a given statement.
struct Proxy {
    port: u16,
    running: Option<tokio::task::JoinHandle<()>>,
    lose_commit: LoseCommit,
}

/// The start of a statement whose transaction's commit is to be answered into the void.
type LoseCommit = Arc<Mutex<Option<&'static [u8]>>>;

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let lose_commit = LoseCommit::default();
        Proxy { port, running: Some(tokio::spawn(serve(listener, lose_commit.clone()))), lose_commit }
    }

    /// Loses the answer to the next commit of a transaction that prepares `statement` on its
    /// connection (the first time a connection runs it).
    fn lose_commit_of(&self, statement: &'static [u8]) {
        *self.lose_commit.lock().unwrap() = Some(statement);
    }

    /// Whether that commit has gone by.
    fn lost_a_commit(&self) -> bool {
        self.lose_commit.lock().unwrap().is_none()
    }

    /// The database URL that reaches the server through this proxy, in clear text so that
    /// the proxy can read what the master sends.
    fn url(&self, url: &str) -> String {
        let url = url.replace("@127.0.0.1:5432/", &format!("@127.0.0.1:{}/", self.port));
        format!("{url}{}sslmode=disable", if url.contains('?') { '&' } else { '?' })
    }

    fn down(&mut self) {
        // Aborting the accept loop drops its listener and, with its JoinSet, every connection.
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.running = Some(tokio::spawn(serve(listener, self.lose_commit.clone())));
    }
}

async fn serve(listener: tokio::net::TcpListener, lose_commit: LoseCommit) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        connections.spawn(relay(client, lose_commit.clone()));
    }
}

/// How sqlx commits: the simple query `COMMIT`.
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
/// The statements that start and end a build (`db::builds`), as the message that prepares
/// each on a connection carries them.
const INSERT_BUILD: &[u8] = b"insert into builds (builder_id";
const FINISH_BUILD: &[u8] = b"update builds set finished_at";
/// The statement that ends a step (`db::steps`), recorded with the next step's start.
const FINISH_STEP: &[u8] = b"update steps set finished_at";

/// Relays one connection. While `lose_commit` holds a statement, the first transaction that
/// prepares it has its `COMMIT` passed on to the server, and then the connection is cut as
/// soon as the server answers, before the answer reaches the master.
async fn relay(client: TcpStream, lose_commit: LoseCommit) {
    let Ok(server) = TcpStream::connect("127.0.0.1:5432").await else { return };
    let ((mut from_client, mut to_client), (mut from_server, mut to_server)) =
        (client.into_split(), server.into_split());
    let cut = Arc::new(AtomicBool::new(false));
    let up = {
        let cut = cut.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            // What the client sent in its transaction so far, while a commit is to be lost.
            let mut sent = Vec::new();
            loop {
                let n = match from_client.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let statement = *lose_commit.lock().unwrap();
                if let Some(statement) = statement {
                    sent.extend_from_slice(&buf[..n]);
                    if contains(&sent, COMMIT) {
                        // Taken by this connection, unless another one took it meanwhile.
                        let lose = contains(&sent, statement) && lose_commit.lock().unwrap().take().is_some();
                        if lose {
                            cut.store(true, SeqCst);
                            let _ = to_server.write_all(&buf[..n]).await;
                            return;
                        }
                        sent.clear();
                    }
                }
                if to_server.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // The client waited for every answer before it committed: this is the commit's.
            if cut.load(SeqCst) || to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(up, down);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_an_outage_answer_503_and_the_master_recovers() {
    if !std::env::var("CASCADE_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        return;
    }
    let tdb = common::TestDb::new().await;
    assert!(tdb.url.contains("@127.0.0.1:5432/"), "the proxy expects the server at 127.0.0.1:5432: {}", tdb.url);
    let mut proxy = Proxy::start().await;
    let via_proxy = proxy.url(&tdb.url);
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

/// A master that builds every change on `main` in two steps, the first of which prints a
/// line, on a fresh PostgreSQL database reached through a proxy, and a client whose requests are bounded. The master stops first.
struct BehindProxy {
    master: Master,
    base: String,
    client: reqwest::Client,
    proxy: Proxy,
    _dir: tempfile::TempDir,
    _tdb: common::TestDb,
}

impl BehindProxy {
    /// `None` on SQLite, which has no server to lose.
    async fn start() -> Option<BehindProxy> {
        if !std::env::var("CASCADE_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
            return None;
        }
        let tdb = common::TestDb::new().await;
        assert!(tdb.url.contains("@127.0.0.1:5432/"), "the proxy expects the server at 127.0.0.1:5432: {}", tdb.url);
        let proxy = Proxy::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cascade.toml");
        let web = "listen = [\"127.0.0.1:0\"]\n[change_hook]\ndialects = { base = {} }\n\
                   [[schedulers]]\nname = \"main\"\nkind = \"single_branch\"\nbranch = \"main\"\nbuilders = [\"app\"]";
        let steps = "[ { name = \"say\", command = \"echo built\" }, { name = \"s\", command = \"true\" } ]";
        std::fs::write(&path, config_with_steps(&proxy.url(&tdb.url), web, steps)).unwrap();
        let master = tokio::task::spawn_blocking(move || Master::start(&path, &[], 1)).await.unwrap();
        let base = master.urls[0].clone();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        Some(BehindProxy { master, base, client, proxy, _dir: dir, _tdb: tdb })
    }

    /// Loses the answer to the commit of the first transaction that prepares `statement`,
    /// posts a change on `main` to the base hook (one build), and waits until the build
    /// events say `until`. Returns the builds of builder `app`, oldest first.
    async fn build_losing_commit_of(&self, statement: &'static [u8], until: &str) -> Vec<serde_json::Value> {
        // Read by a client without the other requests' time limit, which would end the stream.
        let events =
            common::EventLog::read(reqwest::get(format!("{}api/v1/events?type=build", self.base)).await.unwrap());
        self.proxy.lose_commit_of(statement);
        let form = [("author", "a <a@x>"), ("revision", "r1"), ("branch", "main")];
        let hook = self.client.post(format!("{}change_hook/base", self.base)).form(&form).send().await.unwrap();
        assert_eq!(hook.status(), 202);
        events.wait_for(until, Duration::from_secs(60)).await;
        assert!(self.proxy.lost_a_commit(), "no transaction preparing the statement went through the proxy");
        let resp = self.client.get(format!("{}api/v1/builds?builder=app&limit=10", self.base)).send().await.unwrap();
        let mut builds = resp.json::<serde_json::Value>().await.unwrap()["builds"].as_array().cloned().unwrap();
        builds.reverse();
        builds
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_start_stored_without_the_master_hearing_of_it_runs_again() {
    let Some(setup) = BehindProxy::start().await else { return };

    // The first build's start is committed by the server, and its answer lost. Without a
    // remedy that build would stay `building` forever, its request claimed.
    let builds = setup.build_losing_commit_of(INSERT_BUILD, "\"results\":\"success\"").await;
    let results: Vec<&str> = builds.iter().map(|b| b["results"].as_str().unwrap_or("")).collect();
    assert_eq!(results, ["retry", "success"], "{builds:#?}");
    assert!(builds.iter().all(|b| b["buildrequest_id"] == builds[0]["buildrequest_id"]), "{builds:#?}");
    assert!(builds.iter().all(|b| b["complete"] == true), "{builds:#?}");
    let logs = setup.master.logs();
    assert!(logs.iter().any(|l| l.contains("could not start a build")), "{logs:#?}");
    assert!(logs.iter().any(|l| l.contains("this master does not run will run again")), "{logs:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_end_stored_without_the_master_hearing_of_it_is_published_once() {
    let Some(setup) = BehindProxy::start().await else { return };

    // The build's end is committed by the server, and its answer lost. Without a remedy the
    // end is stored but never published: a page showing the build would show it running
    // until reloaded.
    let builds = setup.build_losing_commit_of(FINISH_BUILD, "event: build.finished").await;
    assert_eq!(builds.len(), 1, "{builds:#?}");
    assert_eq!(builds[0]["results"], "success", "{builds:#?}");
    let logs = setup.master.logs();
    assert!(logs.iter().any(|l| l.contains("could not record the end of a build yet")), "{logs:#?}");
    assert!(!logs.iter().any(|l| l.contains("declared this one lost")), "{logs:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_start_stored_without_the_master_hearing_of_it_ends_its_build_retry() {
    let Some(setup) = BehindProxy::start().await else { return };
    let BehindProxy { master, base, client, .. } = &setup;

    // The second step's start, stored with the first step's end and its last line, is
    // committed by the server, and its answer lost. Without a remedy the build's end, which
    // records the first step's end again, would be refused, leaving the build `building`
    // forever and its request claimed.
    let builds = setup.build_losing_commit_of(FINISH_STEP, "\"results\":\"success\"").await;
    let results: Vec<&str> = builds.iter().map(|b| b["results"].as_str().unwrap_or("")).collect();
    assert_eq!(results, ["retry", "success"], "{builds:#?}");
    let retried = &builds[0];
    assert_eq!(retried["state_text"], "retry: the database failed", "{retried:#?}");

    // The first step's end and output are stored once; the step whose start was lost with
    // the answer ends with its build, not left running under it.
    let number = retried["number"].as_i64().unwrap();
    let resp = client.get(format!("{base}api/v1/builders/app/builds/{number}")).send().await.unwrap();
    let steps = resp.json::<serde_json::Value>().await.unwrap()["steps"].as_array().cloned().unwrap();
    let ends: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s["results"].as_str().unwrap_or("running"), s["state_text"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(ends, [("success", "say"), ("retry", "s interrupted")], "{steps:#?}");
    let log = format!("{base}api/v1/builders/app/builds/{number}/steps/1/logs/stdio/raw");
    assert_eq!(client.get(log).send().await.unwrap().text().await.unwrap(), "built\n");
    let logs = master.logs();
    assert!(logs.iter().any(|l| l.contains("the database failed during a build")), "{logs:#?}");
    assert!(!logs.iter().any(|l| l.contains("could not record the end of a build")), "{logs:#?}");
}
