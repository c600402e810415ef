//! Every list and overview page walks an index: the plan of each filtered query they run on
//! SQLite (`EXPLAIN QUERY PLAN`) reads neither a whole table nor sorts every row it matched,
//! so a missing index fails here instead of slowing a page down at a million builds. SQLite
//! plans without statistics, so a small database gives the plans of a big one. (PostgreSQL's
//! plans follow its statistics; `make bench` measures those pages at 100k and 1M builds.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use cascade::db;
use cascade::model::{ForceRequest, NewChange};
use poem::test::TestClient;

const BODY: &str = r#"
[[builders]]
name = "app"
tags = ["p1|linux"]
workers = ["local"]
steps = [ { name = "s", command = "echo s" } ]
[[builders]]
name = "docs"
tags = ["p1|mac"]
workers = ["local"]
steps = [ { name = "s", command = "false" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "docs"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app", "docs"]
"#;

/// Each read the pages and the API offer, with every filter it takes.
const READS: &[&str] = &[
    "/api/v1/builds?limit=50",
    "/api/v1/builds?builder=app&limit=20",
    "/api/v1/builds?builder=app&builder=docs",
    "/api/v1/builds?branch=main",
    "/api/v1/builds?results=failure",
    "/api/v1/builds?change=1",
    "/api/v1/builds?worker=local",
    "/api/v1/builds?property.owner=ann",
    "/api/v1/builds?builder=app&offset=1",
    "/api/v1/builders",
    "/api/v1/builders?branch=main",
    "/api/v1/changes?limit=50",
    "/api/v1/changes?author=ann",
    "/api/v1/changes?branch=main&project=p",
    "/api/v1/changes?repository=r&codebase=c",
    "/api/v1/changes?before=2",
    "/api/v1/views/waterfall",
    "/api/v1/views/waterfall?show_events=true",
    "/api/v1/views/waterfall?builder=app",
    "/api/v1/views/waterfall?branch=main",
    "/api/v1/views/waterfall?committer=ann",
    "/api/v1/views/waterfall?project=p",
    "/api/v1/views/waterfall?category=p1",
    "/api/v1/views/waterfall?failures_only=true",
    "/api/v1/views/waterfall?last_time=2000000000&show_time=3600",
    "/api/v1/views/grid",
    "/api/v1/views/grid?branch=main",
    "/api/v1/views/grid?category=p1&width=3",
    "/api/v1/views/console",
    "/api/v1/views/console?branch=main",
    "/api/v1/views/console?builder=app",
];

/// Queries whose sort is bounded by what they select, whatever the history's size.
const BOUNDED_SORTS: &[(&str, &str)] = &[
    ("b.number > ", "the last n builds of each builder on a page: at most n a builder"),
    ("bc.change_id = ", "the builds of one change"),
    ("from logs l join steps s", "the logs of the steps of the builds on a page"),
];

/// Whether a plan step reads a whole table, or sorts what it read, where `sql` does not
/// bound that. A table read in id order to the page's `limit` (`SCAN t` of a query ending
/// `order by t.id desc limit`) stops at the page's end; a filter on a property cannot use an
/// index (properties are free-form) and reads newest first until the page is full.
fn costly(sql: &str, step: &str) -> bool {
    if step.contains("USE TEMP B-TREE FOR ORDER BY") {
        return !BOUNDED_SORTS.iter().any(|(marker, _)| sql.contains(marker));
    }
    if step.starts_with("SCAN ") && !step.contains(" USING ") {
        let newest_first = sql.contains("order by b.id desc limit") || sql.contains("order by id desc limit");
        return !newest_first;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_and_page_walks_an_index() {
    if std::env::var("CASCADE_TEST_DATABASE_URL").is_ok() {
        return; // PostgreSQL: see the module's comment.
    }
    let m = common::TestMaster::start(BODY).await;
    let mut rx = m.engine.bus.subscribe();
    for builder in ["app", "docs"] {
        m.engine.force(builder, ForceRequest::default()).await.unwrap();
        common::wait_finished(&mut rx, builder, 30).await;
    }
    let change = NewChange {
        author: "ann".into(),
        branch: Some("main".into()),
        project: "p".into(),
        repository: "r".into(),
        ..Default::default()
    };
    m.engine.add_changes(vec![change]).await.unwrap();
    let client = TestClient::new(cascade::server::app(m.engine.clone()));

    let (_, plans) = db::explaining(async {
        for read in READS {
            client.get(*read).send().await.assert_status_is_ok();
        }
    })
    .await;
    assert!(plans.len() >= READS.len(), "only {} plans recorded", plans.len());
    let mut costly_plans: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for plan in &plans {
        let steps: Vec<String> = plan.steps.iter().filter(|s| costly(&plan.sql, s)).cloned().collect();
        if !steps.is_empty() {
            costly_plans.insert(plan.sql.clone(), steps);
        }
    }
    assert!(costly_plans.is_empty(), "queries that read a whole table or sort what they read:\n{costly_plans:#?}");
}
