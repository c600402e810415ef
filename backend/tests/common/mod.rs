//! Test support shared by the backend's integration tests: a fresh database per test on
//! SQLite (default) or PostgreSQL (`CASCADE_TEST_DATABASE_URL=postgres://...`), and a
//! running engine on a configuration written for the test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cascade::config::{self, Config};
use cascade::db::Db;
use cascade::engine::Engine;
use cascade::engine::bus::Event;
use cascade::engine::clock::{Clock, SystemClock};
use cascade::model::Build;

pub mod process;

/// A database that exists for one test.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _pg: Option<PgScratch>,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A migrated, empty database.
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match std::env::var("CASCADE_TEST_DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                let pg =
                    PgScratch::create(&admin, "cascade_test").await.expect("cannot reach the test PostgreSQL server");
                (pg.url.clone(), Some(pg))
            }
            _ => (format!("sqlite://{}", dir.path().join("test.sqlite").display()), None),
        };
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        TestDb { db, url, _pg: pg, _dir: dir }
    }
}

/// An empty PostgreSQL database made for one test on the server of `admin` (a URL naming a
/// database there), dropped when the value is.
pub struct PgScratch {
    pub url: String,
    admin: String,
    name: String,
}

impl PgScratch {
    /// Creates the database, named `PREFIX_…` uniquely; the error when the server does not answer.
    pub async fn create(admin: &str, prefix: &str) -> Result<PgScratch, sqlx::Error> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let name = format!("{prefix}_{}_{n}_{nanos}", std::process::id());
        let pool = sqlx::PgPool::connect(admin).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&pool).await?;
        pool.close().await;
        let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
        let mut url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        if let Some(q) = query {
            url = format!("{url}?{q}");
        }
        Ok(PgScratch { url, admin: admin.to_owned(), name })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, so the cleanup gets a thread and runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let sql = format!("drop database if exists {name} with (force)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A config for tests: the given TOML plus an embedded worker named `local`, parsed as if
/// it lived in `dir`, with its database replaced by the test's.
pub fn config(dir: &Path, body: &str, db_url: &str) -> Config {
    config_with_web(dir, "", body, db_url)
}

/// [`config`] with more `[web]` keys.
pub fn config_with_web(dir: &Path, web: &str, body: &str, db_url: &str) -> Config {
    let text = format!(
        "title = \"test\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n{web}\n[authz]\nforce_build = true\n[[workers]]\nname = \"local\"\nembedded = true\nmax_builds = 4\n{body}"
    );
    let path = dir.join("cascade.toml");
    std::fs::write(&path, &text).unwrap();
    let mut cfg = config::load(&path).unwrap_or_else(|e| panic!("test config is invalid:\n{e}"));
    cfg.db.url = db_url.to_owned();
    cfg
}

/// A running engine with its database and working directory.
pub struct TestMaster {
    pub engine: Arc<Engine>,
    pub tdb: TestDb,
    pub dir: tempfile::TempDir,
}

impl TestMaster {
    /// Starts an engine on `body` (builders, schedulers) with the system clock.
    pub async fn start(body: &str) -> TestMaster {
        Self::start_with_clock(body, Arc::new(SystemClock)).await
    }

    /// Starts an engine on `body` with the given clock.
    pub async fn start_with_clock(body: &str, clock: Arc<dyn Clock>) -> TestMaster {
        let tdb = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let cfg = Arc::new(config(dir.path(), body, &tdb.url));
        let engine = Engine::start(cfg, tdb.db.clone(), clock).await.unwrap();
        TestMaster { engine, tdb, dir }
    }
}

/// Waits (up to `secs`) for the next `build.finished` of `builder`.
pub async fn wait_finished(
    rx: &mut tokio::sync::broadcast::Receiver<Arc<cascade::engine::bus::Stamped>>,
    builder: &str,
    secs: u64,
) -> Build {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if let Event::BuildFinished { build: b, .. } = &ev.event
                        && b.builder == builder
                    {
                        return b.clone();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("bus closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no build of {builder} finished within {secs} s"))
}

/// Everything a live event stream (`/api/v1/events`) sends, gathered as it arrives until
/// the log is dropped.
pub struct EventLog {
    text: tokio::sync::watch::Receiver<String>,
    reader: tokio::task::JoinHandle<()>,
}

impl EventLog {
    /// Reads `stream`, an answer from `/api/v1/events`, in the background.
    pub fn read(mut stream: reqwest::Response) -> EventLog {
        assert_eq!(stream.status(), 200);
        let (sender, text) = tokio::sync::watch::channel(String::new());
        let reader = tokio::spawn(async move {
            while let Ok(Some(chunk)) = stream.chunk().await {
                sender.send_modify(|text| text.push_str(&String::from_utf8_lossy(&chunk)));
            }
        });
        EventLog { text, reader }
    }

    /// What arrived so far.
    pub fn text(&self) -> String {
        self.text.borrow().clone()
    }

    /// Waits until what arrived contains `needle`; fails after `within`, or when the stream
    /// ends without it.
    pub async fn wait_for(&self, needle: &str, within: Duration) {
        let mut text = self.text.clone();
        let found = tokio::time::timeout(within, text.wait_for(|t| t.contains(needle))).await;
        assert!(matches!(found, Ok(Ok(_))), "no {needle:?} among the events within {within:?}: {}", self.text());
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
