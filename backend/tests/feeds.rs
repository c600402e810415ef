//! The pages the web module serves to other programs, in-process over the real app, on
//! SQLite and PostgreSQL: the RSS and Atom feeds (parsed as XML), and `[authz] view`
//! hiding them and the badges, images and plots (tested in `status_images.rs`). Builds either run on the embedded worker or are written as history
//! through the repositories.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod site;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::Results;
use poem::http::StatusCode;
use poem::test::TestClient;

use common::TestDb;

use site::*;

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
