//! The pages the web module serves to other programs, in-process over the real app, on
//! SQLite and PostgreSQL: the RSS and Atom feeds (parsed as XML), the README badges and
//! 0.8.9's `/png` (SVG parsed, PNGs decoded), the builders' plots, and `[authz] view`
//! hiding them all. Builds either run on the embedded worker or are written as history
//! through the repositories.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cascade::db::buildrequests::PastRequest;
use cascade::db::builds::{NewBuild, PastBuild};
use cascade::db::buildsets::{NewBuildSet, NewSourceStamp, PastBuildSet};
use cascade::db::steps::PastStep;
use cascade::db::{self};
use cascade::engine::Engine;
use cascade::engine::bus::Event;
use cascade::engine::clock::SystemClock;
use cascade::model::{Build, ForceRequest, NewChange, Results};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};

use common::{TestDb, wait_finished};

const DC: &str = "http://purl.org/dc/elements/1.1/";
const ATOM: &str = "http://www.w3.org/2005/Atom";
const BASE: &str = "http://localhost:8010/";

/// `app` fails on branch `broken`, writing markup, quotes, a CDATA end and terminal
/// colours to stderr; `slow` runs until the file `RELEASE` exists.
const BODY: &str = r#"
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

struct Site {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn site() -> Site {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("RELEASE");
    let body = BODY.replace("RELEASE", &release.display().to_string());
    let cfg = common::config(dir.path(), &body, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Site { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, _dir: dir }
}

/// A response's status, headers and body.
struct Got {
    status: StatusCode,
    headers: poem::http::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    async fn of(resp: TestResponse) -> Got {
        let status = resp.0.status();
        let headers = resp.0.headers().clone();
        Got { status, headers, body: resp.0.into_body().into_vec().await.unwrap() }
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

impl Site {
    async fn get(&self, path: &str) -> Got {
        Got::of(self.client.get(path).send().await).await
    }

    /// Forces a build of `builder` on `branch` and waits for it to finish.
    async fn run(&self, builder: &str, branch: &str) -> Build {
        let mut rx = self.engine.bus.subscribe();
        let request = ForceRequest { branch: Some(branch.into()), reason: "test".into(), ..Default::default() };
        self.engine.force(builder, request).await.unwrap();
        wait_finished(&mut rx, builder, 60).await
    }

    /// A change by `author` on `broken`, which the `broken` scheduler builds (and fails).
    async fn break_it(&self, author: &str) -> Build {
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
struct Past {
    builder: &'static str,
    number: i64,
    ago: i64,
    secs: i64,
    results: Results,
    branch: &'static str,
    revision: &'static str,
}

const fn past(builder: &'static str, number: i64, ago: i64, results: Results, branch: &'static str) -> Past {
    Past { builder, number, ago, secs: 60 * number, results, branch, revision: "" }
}

/// Writes `builds` (with two steps each: `compile` for a third of the time, then `test`,
/// which ends as the build did) and forgets the cached pages, as an event would.
async fn history(engine: &Engine, builds: &[Past]) {
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

fn rss_titles(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| item.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn feeds_list_failed_builds_with_blamelist_failed_steps_and_escaped_log_tails() {
    let s = site().await;
    s.run("app", "main").await;
    let blamed = s.break_it("Ann Example <ann@example.org>").await;
    assert_eq!((blamed.number, blamed.results), (2, Some(Results::Failure)));
    s.run("docs", "main").await;
    s.run("app", "broken").await;

    let rss = s.get("/rss").await;
    assert_eq!(rss.status, StatusCode::OK);
    assert_eq!(rss.header("content-type"), "application/rss+xml; charset=utf-8");
    let xml = rss.text();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!((root.tag_name().name(), root.attribute("version")), ("rss", Some("2.0")));
    let channel_title = root.descendants().find(|n| n.has_tag_name("title")).unwrap().text().unwrap();
    assert_eq!(channel_title, "test: failed builds");
    let self_link = root.descendants().find(|n| n.has_tag_name((ATOM, "link"))).unwrap();
    assert_eq!(self_link.attribute("href"), Some(format!("{BASE}rss").as_str()));
    assert_eq!(rss_titles(&xml), ["app #3 failed", "app #2 failed"], "failures only, newest first");

    let items: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("item")).collect();
    let child = |item: roxmltree::Node<'_, '_>, name| {
        item.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).unwrap_or_default().to_owned()
    };
    let blamed_item = items[1];
    assert_eq!(child(blamed_item, "link"), format!("{BASE}builders/app/builds/2"));
    assert_eq!(child(blamed_item, "guid"), format!("{BASE}builders/app/builds/2"));
    chrono::DateTime::parse_from_rfc2822(&child(blamed_item, "pubDate")).unwrap();
    let creators: Vec<_> =
        blamed_item.children().filter(|c| c.has_tag_name((DC, "creator"))).filter_map(|c| c.text()).collect();
    assert_eq!(creators, ["Ann Example <ann@example.org>"]);
    assert_eq!(child(blamed_item, "category"), "app");
    let html = child(blamed_item, "description");
    assert!(html.contains("Step 2 test"), "{html}");
    assert!(html.contains(&format!("{BASE}builders/app/builds/2/steps/2/logs/stdio")), "{html}");
    assert!(html.contains("Blamelist: Ann Example &lt;ann@example.org&gt;"), "{html}");
    assert!(html.contains("error: &lt;b&gt;&amp;amp; &quot;quoted&quot; ]]&gt; red"), "the log tail, escaped: {html}");
    assert!(html.contains("first"), "earlier lines of the tail: {html}");
    assert!(!html.contains("<b>") && !html.contains('\u{1b}'), "{html}");
    assert!(!child(items[0], "description").contains("Blamelist"), "a forced build blames nobody");

    let atom = s.get("/atom").await;
    assert_eq!(atom.status, StatusCode::OK);
    assert_eq!(atom.header("content-type"), "application/atom+xml; charset=utf-8");
    let xml = atom.text();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let feed = doc.root_element();
    assert!(feed.has_tag_name((ATOM, "feed")));
    let self_link =
        feed.children().find(|n| n.has_tag_name((ATOM, "link")) && n.attribute("rel") == Some("self")).unwrap();
    assert_eq!(self_link.attribute("href"), Some(format!("{BASE}atom").as_str()));
    let entries: Vec<_> = feed.children().filter(|n| n.has_tag_name((ATOM, "entry"))).collect();
    assert_eq!(entries.len(), 2);
    let text_of = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children().find(|c| c.has_tag_name((ATOM, name))).and_then(|c| c.text()).unwrap_or_default().to_owned()
    };
    let e = entries[1];
    assert_eq!(text_of(e, "title"), "app #2 failed");
    assert_eq!(text_of(e, "id"), format!("{BASE}builders/app/builds/2"));
    chrono::DateTime::parse_from_rfc3339(&text_of(e, "updated")).unwrap();
    let link = e.children().find(|c| c.has_tag_name((ATOM, "link"))).unwrap();
    assert_eq!(link.attribute("href"), Some(format!("{BASE}builders/app/builds/2").as_str()));
    let author = e.children().find(|c| c.has_tag_name((ATOM, "author"))).unwrap();
    assert_eq!((text_of(author, "name"), text_of(author, "email")), ("Ann Example".into(), "ann@example.org".into()));
    let content = e.children().find(|c| c.has_tag_name((ATOM, "content"))).unwrap();
    assert_eq!(content.attribute("type"), Some("html"));
    assert!(content.text().unwrap().contains("error: &lt;b&gt;&amp;amp;"), "{:?}", content.text());
    assert!(!text_of(feed, "updated").is_empty());
}

#[tokio::test]
async fn feeds_filter_like_the_waterfall_and_count_their_entries() {
    let s = site().await;
    history(
        &s.engine,
        &[
            past("app", 1, 9000, Results::Success, "main"),
            past("app", 2, 8000, Results::Failure, "main"),
            past("docs", 1, 7000, Results::Failure, "release"),
            past("app", 3, 6000, Results::Exception, "release"),
            past("app", 4, 5000, Results::Warnings, "main"),
            past("docs", 2, 4000, Results::Success, "main"),
        ],
    )
    .await;
    let s = &s;
    let titles = |path: &'static str| async move {
        let got = s.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.text());
        rss_titles(&got.text())
    };
    assert_eq!(titles("/rss").await, ["app #3 hit an exception", "docs #1 failed", "app #2 failed"]);
    assert_eq!(titles("/rss?count=2").await, ["app #3 hit an exception", "docs #1 failed"]);
    assert_eq!(
        titles("/rss?failures_only=false&count=3").await,
        ["docs #2 succeeded", "app #4 had warnings", "app #3 hit an exception"]
    );
    assert_eq!(titles("/rss?builder=docs").await, ["docs #1 failed"]);
    assert_eq!(titles("/rss?category=docs&failures_only=false").await, ["docs #2 succeeded", "docs #1 failed"]);
    assert_eq!(titles("/rss?branch=release").await, ["app #3 hit an exception", "docs #1 failed"]);
    assert_eq!(titles("/rss?branch=main&builder=app").await, ["app #2 failed"]);
    assert_eq!(titles("/rss?builder=app,docs&branch=main&failures_only=0").await.len(), 4);
    assert_eq!(titles("/rss?branch=nowhere").await, Vec::<String>::new());
    let atom = s.get("/atom?builder=docs&failures_only=false").await;
    let doc = roxmltree::Document::parse(std::str::from_utf8(&atom.body).unwrap()).unwrap();
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name((ATOM, "entry"))).count(), 2);

    assert_eq!(s.get("/rss?builder=nope").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/atom?count=many").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/rss?failures_only=perhaps").await.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// Badges and /png

fn svg(got: &Got) -> (String, Vec<String>) {
    let text = got.text();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    let label = root.attribute("aria-label").unwrap().to_owned();
    let fills = root.descendants().filter_map(|n| n.attribute("fill")).map(str::to_owned).collect();
    (label, fills)
}

/// Width, height and RGB(A) pixels of a PNG.
fn decode(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (info.width, info.height, info.color_type.samples(), pixels)
}

fn pixel(image: &(u32, u32, usize, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = ((y * image.0 + x) as usize) * image.2;
    [image.3[i], image.3[i + 1], image.3[i + 2]]
}

/// Whether some pixel of the image has exactly this colour.
fn shows(image: &(u32, u32, usize, Vec<u8>), rgb: [u8; 3]) -> bool {
    image.3.chunks(image.2).any(|p| p[..3] == rgb)
}

#[tokio::test]
async fn badges_follow_the_newest_build_and_show_running_and_unknown() {
    let s = site().await;
    let (label, fills) = svg(&s.get("/badges/app.svg").await);
    assert_eq!(label, "app: unknown", "no builds yet");
    assert!(fills.contains(&"#eeeeee".into()), "{fills:?}");

    s.run("app", "main").await;
    let got = s.get("/badges/app.svg").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-type"), "image/svg+xml; charset=utf-8");
    assert_eq!(got.header("cache-control"), "public, max-age=10");
    let (label, fills) = svg(&got);
    assert_eq!(label, "app: success");
    assert!(fills.contains(&"#88dd44".into()), "{fills:?}");

    s.run("app", "broken").await;
    assert_eq!(svg(&s.get("/badges/app.svg").await).0, "app: failure");
    assert_eq!(svg(&s.get("/badges/app.svg?branch=main").await).0, "app: success", "branch= picks the branch's newest");
    assert_eq!(svg(&s.get("/badges/app.svg?branch=elsewhere").await).0, "app: unknown");
    let (label, fills) = svg(&s.get("/badges/app.svg?label=CI%20status&style=flat-square").await);
    assert_eq!(label, "CI status: failure");
    assert!(fills.contains(&"#ee8888".into()), "{fills:?}");

    let png = s.get("/badges/app.png?style=plastic").await;
    assert_eq!(png.header("content-type"), "image/png");
    let image = decode(&png.body);
    assert_eq!(image.1, 18, "plastic badges are 18 pixels high");
    let plain = decode(&s.get("/badges/app.png?style=flat-square").await.body);
    assert_eq!(pixel(&plain, plain.0 - 2, 3), [0xee, 0x88, 0x88], "failure is 0.8.9's red");

    // A build that runs until told to stop: the badge says running, /png knows no result.
    let mut rx = s.engine.bus.subscribe();
    s.engine.force("slow", ForceRequest::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Event::BuildStarted { build, .. } = &rx.recv().await.unwrap().event
                && build.builder == "slow"
            {
                break;
            }
        }
    })
    .await
    .unwrap();
    let (label, fills) = svg(&s.get("/badges/slow.svg").await);
    assert_eq!(label, "slow: running");
    assert!(fills.contains(&"#ffdd33".into()), "{fills:?}");
    let image = decode(&s.get("/png?builder=slow").await.body);
    assert_eq!(pixel(&image, 2, 2), [0xee, 0xee, 0xee], "an unfinished build is unknown to /png");
    std::fs::write(s._dir.path().join("RELEASE"), "").unwrap();
    wait_finished(&mut rx, "slow", 30).await;
    assert_eq!(svg(&s.get("/badges/slow.svg").await).0, "slow: success");
}

#[tokio::test]
async fn badge_colours_follow_every_result() {
    let s = site().await;
    let expected = [
        (Results::Success, "#88dd44"),
        (Results::Warnings, "#ffaa33"),
        (Results::Failure, "#ee8888"),
        (Results::Skipped, "#aaddee"),
        (Results::Exception, "#cc66cc"),
        (Results::Retry, "#cc66cc"),
        (Results::Cancelled, "#eecccc"),
    ];
    for (i, (results, colour)) in expected.into_iter().enumerate() {
        let number = i as i64 + 1;
        history(&s.engine, &[past("docs", number, 10_000 - number * 100, results, "main")]).await;
        let (label, fills) = svg(&s.get("/badges/docs.svg").await);
        assert_eq!(label, format!("docs: {}", results.name()));
        assert!(fills.contains(&colour.to_owned()), "{results:?}: {fills:?}");
        let image = decode(&s.get("/badges/docs.png?style=flat-square").await.body);
        let rgb: Vec<u8> = (0..3).map(|k| u8::from_str_radix(&colour[1 + 2 * k..3 + 2 * k], 16).unwrap()).collect();
        assert_eq!(pixel(&image, image.0 - 2, 3).to_vec(), rgb, "{results:?}");
    }
}

#[tokio::test]
async fn badges_escape_hostile_names_and_labels() {
    let s = site().await;
    let got = s.get("/badges/%3Cx%26%22y%3E.svg").await;
    assert_eq!(got.status, StatusCode::NOT_FOUND, "an unknown builder");
    let (label, _) = svg(&got);
    assert_eq!(label, r#"<x&"y>: not found"#, "the body is still a badge, and valid XML");
    let got = s.get("/badges/app.svg?label=%3Cx%26%22y%27%3E%5D%5D%3E").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(svg(&got).0, r#"<x&"y'>]]>: unknown"#);
    assert!(!got.text().contains("<x&"));
    let png = s.get("/badges/%3Cx%26%22y%3E.png").await;
    assert_eq!(png.status, StatusCode::NOT_FOUND);
    decode(&png.body);
    assert_eq!(s.get("/badges/app.gif").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn badges_and_png_answer_304_to_their_entity_tag() {
    let s = site().await;
    history(&s.engine, &[past("app", 1, 1000, Results::Success, "main")]).await;
    for path in ["/badges/app.svg", "/badges/app.png", "/png?builder=app", "/plots/builders/app/durations.png"] {
        let first = s.get(path).await;
        let etag = first.header("etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
        let again = Got::of(s.client.get(path).header("if-none-match", &etag).send().await).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
        let other = Got::of(s.client.get(path).header("if-none-match", "\"other\"").send().await).await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
    }
    let before = s.get("/badges/app.svg").await.header("etag").to_owned();
    history(&s.engine, &[past("app", 2, 500, Results::Failure, "main")]).await;
    let after = Got::of(s.client.get("/badges/app.svg").header("if-none-match", &before).send().await).await;
    assert_eq!(after.status, StatusCode::OK, "a new result is a new image");
    assert_ne!(after.header("etag"), before);
}

#[tokio::test]
async fn png_shows_a_build_at_0_8_9_sizes_by_number_revision_or_the_last_finished() {
    let s = site().await;
    let mut failing = past("app", 1, 3000, Results::Failure, "main");
    failing.revision = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut passing = past("app", 2, 2000, Results::Success, "main");
    passing.revision = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    history(&s.engine, &[failing, passing, past("app", 3, 1000, Results::Warnings, "main")]).await;
    let s = &s;
    let colour = |path: &'static str| async move {
        let got = s.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        assert_eq!(got.header("content-type"), "image/png");
        assert_eq!(got.header("cache-control"), "no-cache");
        let image = decode(&got.body);
        ((image.0, image.1), pixel(&image, 2, 2), got.header("content-disposition").to_owned())
    };
    let (size, rgb, disposition) = colour("/png?builder=app").await;
    assert_eq!((size, rgb), ((84, 18), [0xff, 0xaa, 0x33]), "the last finished build, normal size");
    assert_eq!(disposition, "inline; filename=\"warnings_normal.png\"");
    assert_eq!(colour("/png?builder=app&number=1&size=small").await.0, (32, 14));
    assert_eq!(colour("/png?builder=app&number=1&size=small").await.1, [0xee, 0x88, 0x88]);
    assert_eq!(colour("/png?builder=app&number=-1&size=large").await.0, (120, 80));
    assert_eq!(colour("/png?builder=app&size=enormous").await.0, (84, 18), "an unknown size is normal");
    let by_revision = "/png?builder=app&revision=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_eq!(colour(by_revision).await.1, [0x88, 0xdd, 0x44]);
    let number_wins = "/png?builder=app&number=1&revision=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_eq!(colour(number_wins).await.1, [0xee, 0x88, 0x88], "the revision is ignored when a number is given");
    for unknown in ["/png?builder=app&number=99", "/png?builder=nope", "/png", "/png?builder=app&revision=cafe"] {
        let (_, rgb, disposition) = colour(unknown).await;
        assert_eq!(rgb, [0xee, 0xee, 0xee], "{unknown}");
        assert!(disposition.contains("unknown_"), "{unknown}");
    }
}

// ---------------------------------------------------------------------------------------
// Plots

#[tokio::test]
async fn plots_are_drawn_at_the_requested_size_in_result_colours() {
    let s = site().await;
    let day = 86_400;
    history(
        &s.engine,
        &[
            past("app", 1, 3 * day, Results::Success, "main"),
            past("app", 2, 2 * day, Results::Failure, "main"),
            past("app", 3, day, Results::Success, "main"),
            past("app", 4, 600, Results::Warnings, "main"),
        ],
    )
    .await;
    let s = &s;
    let plot = |path: &'static str| async move {
        let got = s.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&got.body));
        assert_eq!(got.header("content-type"), "image/png");
        decode(&got.body)
    };
    let durations = plot("/plots/builders/app/durations.png?width=500&height=250").await;
    assert_eq!((durations.0, durations.1), (500, 250));
    for colour in [[0x88, 0xdd, 0x44], [0xee, 0x88, 0x88], [0xff, 0xaa, 0x33]] {
        assert!(shows(&durations, colour), "a bar in {colour:?}");
    }
    let last_two = plot("/plots/builders/app/durations.png?last=2").await;
    assert_eq!((last_two.0, last_two.1), (640, 320), "the default size");
    assert!(!shows(&last_two, [0xee, 0x88, 0x88]), "build 2 is not among the last two");
    let recent = plot("/plots/builders/app/durations.png?days=1").await;
    assert!(shows(&recent, [0xff, 0xaa, 0x33]) && !shows(&recent, [0xee, 0x88, 0x88]), "only the last day");

    let results = plot("/plots/builders/app/results.png?width=300&height=200").await;
    assert_eq!((results.0, results.1), (300, 200));
    assert!(shows(&results, [0xee, 0x88, 0x88]), "the day with a failure is marked red");
    assert!(shows(&results, [0x88, 0xdd, 0x44]), "the days that passed are green");

    let steps = plot("/plots/builders/app/steps.png?width=10&height=99999").await;
    assert_eq!((steps.0, steps.1), (200, 1200), "sizes are bounded");
    assert!(shows(&steps, [0x44, 0x77, 0xaa]) && shows(&steps, [0xee, 0x66, 0x77]), "one colour per step");

    let empty = plot("/plots/builders/docs/steps.png").await;
    assert_eq!((empty.0, empty.1), (640, 320), "a builder without builds still gets a plot");
    assert_eq!(s.get("/plots/builders/nope/durations.png").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/plots/builders/app/pie.png").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/plots/builders/app/durations.png?width=wide").await.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// Authorization

/// A master whose `[authz] view` is `rule`.
async fn guarded(rule: &str) -> (TestClient<poem::endpoint::BoxEndpoint<'static>>, TestDb, tempfile::TempDir) {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let hash = cascade::auth::password::hash("pw").unwrap();
    let text = format!(
        "title = \"t\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n[auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}]\n[authz]\nview = {rule}\n[[workers]]\nname = \"local\"\nembedded = true\n[[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = [ {{ name = \"s\", command = \"true\" }} ]\n"
    );
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap();
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    (TestClient::new(cascade::server::app(engine)), tdb, dir)
}

const GUARDED: [&str; 7] = [
    "/rss",
    "/atom?builder=app",
    "/png?builder=app",
    "/badges/app.svg",
    "/badges/app.png",
    "/plots/builders/app/durations.png",
    "/builders/app/builds/1/steps/1/logs/stdio/text",
];

#[tokio::test]
async fn view_rules_hide_feeds_badges_and_plots_like_the_api() {
    let (client, _db, _dir) = guarded("false").await;
    for path in GUARDED {
        client.get(path).send().await.assert_status(StatusCode::FORBIDDEN);
    }
    let (client, _db, _dir) = guarded("\"auth\"").await;
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ann:pw"));
    for path in GUARDED {
        client.get(path).send().await.assert_status(StatusCode::UNAUTHORIZED);
    }
    for path in GUARDED.into_iter().take(6) {
        client.get(path).header("authorization", &basic).send().await.assert_status_is_ok();
    }
    let badge = Got::of(client.get("/badges/app.svg").header("authorization", &basic).send().await).await;
    assert_eq!(badge.header("cache-control"), "private, max-age=10", "a badge behind a login is private");
}
