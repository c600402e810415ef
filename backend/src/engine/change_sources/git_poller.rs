//! The git poller: fetches the repository's branches into a bare mirror under the master's
//! directory, and reports one change per new commit on each followed branch. The last
//! revision seen per branch is stored with the changes it reported, in one transaction, so
//! a restart never reports a commit twice. The first poll of a branch only records its head.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use super::PollError;
use crate::config::{GitPollerConfig, PollBranches};
use crate::db;
use crate::engine::Engine;
use crate::model::NewChange;

/// Longest a git command may run.
const GIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Most commits reported for one branch in one poll (the newest are kept).
const MAX_COMMITS: usize = 1000;

async fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, PollError> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args).env("GIT_TERMINAL_PROMPT", "0").kill_on_drop(true);
    let out = tokio::time::timeout(GIT_TIMEOUT, cmd.output())
        .await
        .map_err(|_| PollError::Git(format!("git {} timed out", args.join(" "))))?
        .map_err(|e| PollError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(PollError::Git(format!("git {} failed: {}", args.first().unwrap_or(&""), stderr.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls the repository once; returns how many changes were reported.
pub async fn poll(engine: &Engine, name: &str, cfg: &GitPollerConfig, workdir: &Path) -> Result<usize, PollError> {
    if !workdir.join("HEAD").exists() {
        tokio::fs::create_dir_all(workdir)
            .await
            .map_err(|e| PollError::Git(format!("cannot create {}: {e}", workdir.display())))?;
        git(Some(workdir), &["init", "--bare", "--quiet"]).await?;
    }
    git(Some(workdir), &["fetch", "--quiet", "--prune", "--no-tags", &cfg.repo_url, "+refs/heads/*:refs/heads/*"])
        .await?;
    let heads = git(Some(workdir), &["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/"]).await?;
    let object = format!("poller:{name}");
    let mut reported = 0;
    for line in heads.lines() {
        let Some((branch, head)) = line.split_once(' ') else { continue };
        if let PollBranches::List(wanted) = &cfg.branches
            && !wanted.iter().any(|w| w == branch)
        {
            continue;
        }
        let key = format!("branch:{branch}");
        let last = {
            let mut conn = engine.db.acquire().await.map_err(super::super::EngineError::from)?;
            db::state::get(conn.conn(), &object, &key).await.map_err(super::super::EngineError::from)?
        };
        let changes = match last.as_deref() {
            Some(last) if last == head => continue,
            None => Vec::new(),
            Some(last) => new_commits(workdir, cfg, branch, last, head).await?,
        };
        reported += changes.len();
        engine.add_changes_and_record(changes, Some((&object, &key, head))).await?;
    }
    Ok(reported)
}

async fn new_commits(
    workdir: &Path,
    cfg: &GitPollerConfig,
    branch: &str,
    last: &str,
    head: &str,
) -> Result<Vec<NewChange>, PollError> {
    let range = format!("^{last}");
    // If `last` is gone (a force-push and a gc), report just the new head.
    let revs = match git(Some(workdir), &["rev-list", "--reverse", "--topo-order", head, &range]).await {
        Ok(out) => out.lines().map(str::to_owned).collect::<Vec<_>>(),
        Err(_) => vec![head.to_owned()],
    };
    let skip = revs.len().saturating_sub(MAX_COMMITS);
    let mut changes = Vec::new();
    for rev in revs.into_iter().skip(skip) {
        let meta = git(Some(workdir), &["log", "-1", "--format=%an <%ae>%x00%cn <%ce>%x00%ct%x00%B", &rev]).await?;
        let mut parts = meta.splitn(4, '\0');
        let author = parts.next().unwrap_or_default().to_owned();
        let committer = parts.next().unwrap_or_default().to_owned();
        let when = parts.next().and_then(|t| t.trim().parse::<i64>().ok());
        let comments = parts.next().unwrap_or_default().trim_end().to_owned();
        let files = git(Some(workdir), &["diff-tree", "--no-commit-id", "--name-only", "-r", "--root", &rev]).await?;
        changes.push(NewChange {
            committer: (committer != author).then_some(committer),
            author,
            comments,
            revision: Some(rev),
            branch: Some(branch.to_owned()),
            repository: cfg.repo_url.clone(),
            project: cfg.project.clone(),
            codebase: cfg.codebase.clone(),
            category: cfg.category.clone(),
            when,
            files: files.lines().map(str::to_owned).collect(),
            ..Default::default()
        });
    }
    Ok(changes)
}
