//! The web app of a master over a test database, with builds run or written as history, for
//! the tests of the pages served to other programs (feeds, badges, images, plots).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use cascade::db::buildrequests::PastRequest;
use cascade::db::builds::{NewBuild, PastBuild};
use cascade::db::buildsets::{NewBuildSet, NewSourceStamp, PastBuildSet};
use cascade::db::steps::PastStep;
use cascade::db::{self};
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::{Build, ForceRequest, NewChange, Results};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};

use crate::common::{TestDb, wait_finished};

pub const DC: &str = "http://purl.org/dc/elements/1.1/";
pub const ATOM: &str = "http://www.w3.org/2005/Atom";
pub const BASE: &str = "http://localhost:8010/";

/// `app` fails on branch `broken`, writing markup, quotes, a CDATA end and terminal
/// colours to stderr; `slow` runs until the file `RELEASE` exists.
pub const BODY: &str = r#"
[[builders]]
name = "app"
tags = ["app"]
workers = ["local"]
steps = [
  { name = "compile", command = ["sh", "-c", "echo compiling"] },
  { name = "test", command = ["sh", "-c", "if [ \"$CASCADE_BRANCH\" = broken ]; then echo first; printf 'error: <b>&amp; \"quoted\" ]]> \\033[31mred\\033[0m\\n' >&2; exit 1; fi; echo ok"] },
]
[[builders]]
name = "docs"
tags = ["docs"]
workers = ["local"]
steps = [ { name = "build", command = "true" } ]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = ["sh", "-c", "while [ ! -e RELEASE ]; do sleep 0.05; done"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "docs", "slow"]
[[schedulers]]
name = "broken"
kind = "single_branch"
branch = "broken"
tree_stable_timer = 0
builders = ["app"]
"#;

pub struct Site {
    pub client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    pub engine: Arc<Engine>,
    pub _db: TestDb,
    pub _dir: tempfile::TempDir,
}

pub async fn site() -> Site {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("RELEASE");
    let body = BODY.replace("RELEASE", &release.display().to_string());
    let cfg = crate::common::config(dir.path(), &body, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Site { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

/// A response's status, headers and body.
pub struct Got {
    pub status: StatusCode,
    pub headers: poem::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Got {
    pub async fn of(resp: TestResponse) -> Got {
        let status = resp.0.status();
        let headers = resp.0.headers().clone();
        Got { status, headers, body: resp.0.into_body().into_vec().await.unwrap() }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

impl Site {
    pub async fn get(&self, path: &str) -> Got {
        Got::of(self.client.get(path).send().await).await
    }

    /// Forces a build of `builder` on `branch` and waits for it to finish.
    pub async fn run(&self, builder: &str, branch: &str) -> Build {
        let mut rx = self.engine.bus.subscribe();
        let request = ForceRequest { branch: Some(branch.into()), reason: "test".into(), ..Default::default() };
        self.engine.force(builder, request).await.unwrap();
        wait_finished(&mut rx, builder, 60).await
    }

    /// A change by `author` on `broken`, which the `broken` scheduler builds (and fails).
    pub async fn break_it(&self, author: &str) -> Build {
        let mut rx = self.engine.bus.subscribe();
        let change = NewChange {
            author: author.into(),
            comments: "break it".into(),
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            branch: Some("broken".into()),
            ..Default::default()
        };
        self.engine.add_changes(vec![change]).await.unwrap();
        wait_finished(&mut rx, "app", 60).await
    }
}

/// One finished build written as history: seconds ago it started, how long it took.
pub struct Past {
    pub builder: &'static str,
    pub number: i64,
    pub ago: i64,
    pub secs: i64,
    pub results: Results,
    pub branch: &'static str,
    pub revision: &'static str,
}

pub const fn past(builder: &'static str, number: i64, ago: i64, results: Results, branch: &'static str) -> Past {
    Past { builder, number, ago, secs: 60 * number, results, branch, revision: "" }
}

/// Writes `builds` (with two steps each: `compile` for a third of the time, then `test`,
/// which ends as the build did) and forgets the cached pages, as an event would.
pub async fn history(engine: &Engine, builds: &[Past]) {
    let now = chrono::Utc::now().timestamp();
    let mut tx = engine.db.begin().await.unwrap();
    let worker = db::workers::upsert(tx.conn(), "local").await.unwrap();
    let stamps: Vec<NewSourceStamp> = builds
        .iter()
        .map(|x| NewSourceStamp {
            branch: Some(x.branch.into()),
            revision: (!x.revision.is_empty()).then(|| x.revision.into()),
            ..Default::default()
        })
        .collect();
    let set = NewBuildSet { reason: "history".into(), scheduler: "force".into(), ..Default::default() };
    let sets: Vec<PastBuildSet<'_>> = builds
        .iter()
        .zip(&stamps)
        .map(|(x, stamp)| PastBuildSet {
            set: &set,
            stamp,
            changes: &[],
            submitted_at: now - x.ago,
            complete_at: now - x.ago + x.secs,
            results: x.results,
        })
        .collect();
    let set_ids = db::buildsets::insert_many(tx.conn(), &sets).await.unwrap();
    let requests: Vec<PastRequest> = builds
        .iter()
        .zip(&set_ids)
        .map(|(x, set)| PastRequest {
            buildset: *set,
            builder: engine.builder_id(x.builder).unwrap(),
            master: engine.master,
            submitted_at: now - x.ago,
            complete_at: now - x.ago + x.secs,
            results: x.results,
        })
        .collect();
    let request_ids = db::buildrequests::insert_many(tx.conn(), &requests).await.unwrap();
    let props = BTreeMap::new();
    let rows: Vec<PastBuild<'_>> = builds
        .iter()
        .enumerate()
        .map(|(i, x)| PastBuild {
            new: NewBuild {
                builder_id: engine.builder_id(x.builder).unwrap(),
                buildrequest_id: request_ids[i],
                worker_id: worker,
                master_id: engine.master,
                reason: "history",
                properties: &props,
                source: &stamps[i],
            },
            number: x.number,
            started_at: now - x.ago,
            finished_at: now - x.ago + x.secs,
            results: x.results,
            state_text: x.results.name(),
        })
        .collect();
    let ids = db::builds::insert_many(tx.conn(), &rows).await.unwrap();
    let steps: Vec<PastStep<'_>> = builds
        .iter()
        .zip(&ids)
        .flat_map(|(x, id)| {
            let start = now - x.ago;
            [
                PastStep {
                    build: *id,
                    number: 1,
                    name: "compile",
                    state_text: "compiled".into(),
                    results: Results::Success,
                    started_at: start,
                    finished_at: start + x.secs / 3,
                },
                PastStep {
                    build: *id,
                    number: 2,
                    name: "test",
                    state_text: format!("test {}", x.results.name()),
                    results: x.results,
                    started_at: start + x.secs / 3,
                    finished_at: start + x.secs,
                },
            ]
        })
        .collect();
    db::steps::insert_many(tx.conn(), &steps).await.unwrap();
    tx.commit().await.unwrap();
    engine.pages.invalidate();
}

// ---------------------------------------------------------------------------------------
// Feeds

pub fn rss_titles(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| item.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).unwrap().to_owned())
        .collect()
}
