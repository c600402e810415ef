//! The git poller against a real repository made in the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use cascade::db;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::Results;
use common::{TestMaster, wait_finished};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Ann Author", "-c", "user.email=ann@example.org", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn commit(repo: &Path, file: &str, message: &str) -> String {
    std::fs::write(repo.join(file), message).unwrap();
    git(repo, &["add", file]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

#[tokio::test]
async fn new_commits_become_changes_once_even_across_restarts() {
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = repo_dir.path();
    git(repo, &["init", "-q"]);
    commit(repo, "a.txt", "first");
    let body = format!(
        r#"
[[change_sources]]
name = "app"
kind = "git_poller"
repo_url = "{}"
branches = ["main"]
poll_interval = 3600
project = "app"
[[builders]]
name = "app"
workers = ["local"]
steps = [ {{ name = "s", command = "true" }} ]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
"#,
        repo.display()
    );
    let m = TestMaster::start(&body).await;
    let source = m.engine.config().change_sources[0].clone();
    assert_eq!(m.engine.poll_source(&source).await.unwrap(), 0, "the first poll only records the head");

    let second = commit(repo, "b.txt", "second\n\nwith a body");
    let third = commit(repo, "c.txt", "third");
    let mut rx = m.engine.bus.subscribe();
    assert_eq!(m.engine.poll_source(&source).await.unwrap(), 2);
    let mut conn = m.engine.db.acquire().await.unwrap();
    let all = db::changes::Filter::default();
    let changes = db::changes::list_filtered(conn.conn(), &all, db::changes::Order::Id, 10).await.unwrap();
    drop(conn);
    let revs: Vec<_> = changes.iter().rev().map(|c| c.fields.revision.clone().unwrap()).collect();
    assert_eq!(revs, vec![second, third.clone()], "one change per commit, oldest first");
    let c = &changes[1].fields;
    assert_eq!(c.author, "Ann Author <ann@example.org>");
    assert_eq!(c.comments, "second\n\nwith a body");
    assert_eq!(c.files, vec!["b.txt"]);
    assert_eq!((c.branch.as_deref(), c.project.as_str()), (Some("main"), "app"));
    assert!(c.when.unwrap() > 1_600_000_000);
    let build = wait_finished(&mut rx, "app", 30).await;
    assert_eq!(build.results, Some(Results::Success));

    assert_eq!(m.engine.poll_source(&source).await.unwrap(), 0, "nothing new");
    m.engine.stop().await;
    let again = Engine::start(m.engine.config().clone(), m.tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    assert_eq!(again.poll_source(&source).await.unwrap(), 0, "a restarted master does not report them again");
    commit(repo, "d.txt", "fourth");
    assert_eq!(again.poll_source(&source).await.unwrap(), 1);
}

#[tokio::test]
async fn all_branches_can_be_followed_and_a_bad_repository_is_an_error() {
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = repo_dir.path();
    git(repo, &["init", "-q"]);
    commit(repo, "a.txt", "first");
    git(repo, &["checkout", "-q", "-b", "feature"]);
    let body = format!(
        "[[change_sources]]\nkind = \"git_poller\"\nrepo_url = \"{}\"\nbranches = \"all\"\n[[change_sources]]\nname = \"missing\"\nkind = \"git_poller\"\nrepo_url = \"/nonexistent/repo\"\n[[builders]]\nname = \"b\"\nworkers = [\"local\"]\nsteps = [ {{ name = \"s\", command = \"true\" }} ]\n",
        repo.display()
    );
    let m = TestMaster::start(&body).await;
    let all = m.engine.config().change_sources[0].clone();
    assert_eq!(all.name, repo.display().to_string(), "the name defaults to the repository");
    m.engine.poll_source(&all).await.unwrap();
    commit(repo, "f.txt", "on feature");
    git(repo, &["checkout", "-q", "main"]);
    commit(repo, "m.txt", "on main");
    assert_eq!(m.engine.poll_source(&all).await.unwrap(), 2);
    let err = m.engine.poll_source(&m.engine.config().change_sources[1]).await.unwrap_err();
    assert!(err.to_string().contains("fetch"), "{err}");
}
