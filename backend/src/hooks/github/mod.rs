//! The `github` dialect (DESIGN §8): GitHub and GitHub Enterprise webhooks, dispatched on
//! `X-GitHub-Event`. `push` gives one change per commit (branches and tags), `pull_request`
//! (opened, reopened, synchronize) one change on `refs/pull/N/merge`; `ping` and every other
//! event are answered and ignored. When a secret is configured the body must carry a matching
//! `X-Hub-Signature-256` (or, with `allow_sha1`, `X-Hub-Signature`), checked before anything
//! in it is read.
//!
//! The helpers marked `pub(super)` are shared with the `gitlab` dialect, whose payloads
//! reuse GitHub's commit shape.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::signature::{hmac_sha1_matches, hmac_sha256_matches};
use super::{HookError, HookRequest};
use crate::config::GithubDialect;
use crate::model::NewChange;

/// Parses a GitHub webhook into changes. `secret` is the resolved webhook secret.
pub fn parse(req: &HookRequest, cfg: &GithubDialect, secret: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    if let Some(secret) = secret {
        check_signature(req, secret, cfg.allow_sha1)?;
    }
    let event =
        header(req, "x-github-event").ok_or_else(|| HookError::BadRequest("missing X-GitHub-Event header".into()))?;
    match event {
        "push" => push(from_json(&body(req)?, "push")?, req, cfg),
        "pull_request" => {
            let body = body(req)?;
            let Action { action } = from_json(&body, "pull_request")?;
            match action.as_deref() {
                Some("opened" | "reopened" | "synchronize") => {
                    pull_request(from_json(&body, "pull_request")?, req, cfg).map(|c| vec![c])
                }
                _ => Ok(Vec::new()),
            }
        }
        // `ping` and every event Cascade does not build on.
        _ => Ok(Vec::new()),
    }
}

fn check_signature(req: &HookRequest, secret: &str, allow_sha1: bool) -> Result<(), HookError> {
    if let Some(sig) = header(req, "x-hub-signature-256") {
        return if hmac_sha256_matches(secret.as_bytes(), &req.body, sig) {
            Ok(())
        } else {
            Err(HookError::Forbidden("X-Hub-Signature-256 does not match the body and the configured secret".into()))
        };
    }
    match header(req, "x-hub-signature") {
        Some(sig) if allow_sha1 => {
            if hmac_sha1_matches(secret.as_bytes(), &req.body, sig) {
                Ok(())
            } else {
                Err(HookError::Forbidden("X-Hub-Signature does not match the body and the configured secret".into()))
            }
        }
        Some(_) => Err(HookError::Forbidden(
            "only the SHA-1 X-Hub-Signature was sent; X-Hub-Signature-256 is required (or set allow_sha1)".into(),
        )),
        None => Err(HookError::Forbidden(
            "the request is not signed: X-Hub-Signature-256 is required when a secret is configured".into(),
        )),
    }
}

/// The JSON payload: the body itself, or the `payload` field of a form.
fn body(req: &HookRequest) -> Result<Cow<'_, [u8]>, HookError> {
    match req.content_type().as_str() {
        "application/json" => Ok(Cow::Borrowed(&req.body[..])),
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body)
                .map_err(|e| HookError::BadRequest(format!("malformed form: {e}")))?;
            pairs
                .into_iter()
                .rev()
                .find(|(k, _)| k == "payload")
                .map(|(_, v)| Cow::Owned(v.into_bytes()))
                .ok_or_else(|| HookError::BadRequest("the form has no `payload` field".into()))
        }
        other => Err(HookError::UnsupportedMediaType(format!(
            "unsupported content type `{other}`: send application/json or application/x-www-form-urlencoded"
        ))),
    }
}

/// Deserialises a payload, naming the event in the error.
pub(super) fn from_json<T: DeserializeOwned>(body: &[u8], event: &str) -> Result<T, HookError> {
    serde_json::from_slice(body).map_err(|e| HookError::BadRequest(format!("malformed {event} payload: {e}")))
}

/// A header's value, trimmed; `None` when absent, empty or not text.
pub(super) fn header<'a>(req: &'a HookRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// A non-empty query argument; the first one when it is repeated (the router joins repeated
/// values with newlines).
pub(super) fn query<'a>(req: &'a HookRequest, name: &str) -> Option<&'a str> {
    req.query.get(name).and_then(|v| v.lines().next()).filter(|v| !v.is_empty())
}

/// The first of `values` that is set and not empty.
pub(super) fn first_of(values: &[Option<&String>]) -> Option<String> {
    values.iter().flatten().find(|v| !v.is_empty()).map(|v| (*v).clone())
}

/// Epoch seconds of a forge timestamp: RFC 3339, or GitLab's older `2013-12-03 17:23:34 UTC`
/// and `2013-12-03 17:23:34 +0200`. `None` when absent.
pub(super) fn epoch(field: &str, value: Option<&str>) -> Result<Option<i64>, HookError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.timestamp()));
    }
    if let Ok(t) = DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S %z") {
        return Ok(Some(t.timestamp()));
    }
    if let Some(t) = v.strip_suffix(" UTC").and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok()) {
        return Ok(Some(t.and_utc().timestamp()));
    }
    Err(HookError::BadRequest(format!("`{field}` is not a timestamp: `{v}`")))
}

/// A commit's author or committer.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Person {
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
}

impl Person {
    /// `Name <email>`, or whichever of the two is known.
    pub(super) fn display(&self) -> Option<String> {
        let name = self.name.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let email = self.email.as_deref().map(str::trim).filter(|s| !s.is_empty());
        match (name, email) {
            (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
            (Some(n), None) => Some(n.to_owned()),
            (None, Some(e)) => Some(format!("<{e}>")),
            (None, None) => None,
        }
    }
}

/// A commit as GitHub (and GitLab) push payloads describe it.
#[derive(Debug, Deserialize)]
pub(super) struct Commit {
    pub(super) id: String,
    #[serde(default)]
    pub(super) message: String,
    pub(super) timestamp: Option<String>,
    pub(super) url: Option<String>,
    pub(super) author: Option<Person>,
    pub(super) committer: Option<Person>,
    #[serde(default)]
    pub(super) added: Vec<String>,
    #[serde(default)]
    pub(super) removed: Vec<String>,
    #[serde(default)]
    pub(super) modified: Vec<String>,
    pub(super) distinct: Option<bool>,
}

impl Commit {
    /// Added, removed and modified files, sorted and without duplicates.
    pub(super) fn files(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self.added.iter().chain(&self.removed).chain(&self.modified).collect();
        all.into_iter().cloned().collect()
    }

    pub(super) fn author(&self) -> Result<String, HookError> {
        self.author
            .as_ref()
            .and_then(Person::display)
            .ok_or_else(|| HookError::BadRequest(format!("commit {} has no author", self.id)))
    }
}

/// Branch (or tag) name and category of a pushed ref; `None` for refs that are neither.
pub(super) fn split_ref(name: &str) -> Option<(&str, Option<&'static str>)> {
    if let Some(branch) = name.strip_prefix("refs/heads/") {
        Some((branch, None))
    } else {
        name.strip_prefix("refs/tags/").map(|tag| (tag, Some("tag")))
    }
}

/// Whether a commit message asks not to be built: `[skip ci]` or `[ci skip]`, spaces allowed
/// inside the brackets.
fn has_skip(message: &str) -> bool {
    message.split('[').skip(1).any(|part| {
        let Some((inside, _)) = part.split_once(']') else { return false };
        let words: Vec<&str> = inside.split(' ').filter(|w| !w.is_empty()).collect();
        matches!(words.as_slice(), ["skip", "ci"] | ["ci", "skip"] | ["skipci"] | ["ciskip"])
    })
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: Option<String>,
    html_url: Option<String>,
    clone_url: Option<String>,
    url: Option<String>,
}

impl Repository {
    fn web_url(&self) -> String {
        first_of(&[self.html_url.as_ref(), self.clone_url.as_ref(), self.url.as_ref()]).unwrap_or_default()
    }

    fn project(&self, req: &HookRequest) -> String {
        query(req, "project").map(str::to_owned).or_else(|| self.full_name.clone()).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    ref_name: String,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    commits: Vec<Commit>,
    head_commit: Option<Commit>,
    repository: Repository,
}

fn push(ev: PushEvent, req: &HookRequest, cfg: &GithubDialect) -> Result<Vec<NewChange>, HookError> {
    let Some((branch, category)) = split_ref(&ev.ref_name) else { return Ok(Vec::new()) };
    if ev.deleted || ev.head_commit.as_ref().is_some_and(|c| has_skip(&c.message)) {
        return Ok(Vec::new());
    }
    // A new ref (a new branch or a tag) is built at its head only, as Buildbot does.
    let commits: Vec<&Commit> = match &ev.head_commit {
        Some(head) if ev.created => vec![head],
        _ => ev.commits.iter().collect(),
    };
    let repository = ev.repository.web_url();
    let project = ev.repository.project(req);
    commits
        .into_iter()
        .map(|c| {
            let properties = BTreeMap::from([
                ("github_distinct".to_owned(), Value::Bool(c.distinct.unwrap_or(true))),
                ("event".to_owned(), Value::from("push")),
            ]);
            Ok(NewChange {
                author: c.author()?,
                committer: c.committer.as_ref().and_then(Person::display),
                comments: c.message.clone(),
                revision: Some(c.id.clone()),
                branch: Some(branch.to_owned()),
                repository: repository.clone(),
                project: project.clone(),
                codebase: cfg.codebase.clone().unwrap_or_default(),
                category: category.map(str::to_owned),
                revlink: c.url.clone().filter(|u| !u.is_empty()),
                when: epoch("timestamp", c.timestamp.as_deref())?,
                files: c.files(),
                properties,
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct Action {
    action: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct PrRef {
    #[serde(rename = "ref")]
    ref_name: String,
    sha: String,
    /// `null` when the fork was deleted.
    repo: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    title: String,
    body: Option<String>,
    html_url: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    commits: Option<u64>,
    user: Option<User>,
    head: PrRef,
    base: PrRef,
}

#[derive(Debug, Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    repository: Repository,
    sender: Option<User>,
}

fn pull_request(ev: PullRequestEvent, req: &HookRequest, cfg: &GithubDialect) -> Result<NewChange, HookError> {
    let pr = &ev.pull_request;
    let n = pr.number;
    let author = pr
        .user
        .as_ref()
        .or(ev.sender.as_ref())
        .map(|u| u.login.clone())
        .ok_or_else(|| HookError::BadRequest(format!("pull request #{n} has no user")))?;
    let count = match pr.commits {
        Some(1) => " (1 commit)".to_owned(),
        Some(m) => format!(" ({m} commits)"),
        None => String::new(),
    };
    let comments = format!("GitHub Pull Request #{n}{count}\n{}\n{}", pr.title, pr.body.as_deref().unwrap_or(""));
    let repository = match &pr.base.repo {
        Some(base) if !base.web_url().is_empty() => base.web_url(),
        _ => ev.repository.web_url(),
    };
    let revlink = pr.html_url.clone().filter(|u| !u.is_empty());
    let mut properties = BTreeMap::from([
        ("github.number".to_owned(), Value::from(n)),
        ("github.title".to_owned(), Value::from(pr.title.clone())),
        ("github.head.ref".to_owned(), Value::from(pr.head.ref_name.clone())),
        ("github.head.sha".to_owned(), Value::from(pr.head.sha.clone())),
        ("github.base.ref".to_owned(), Value::from(pr.base.ref_name.clone())),
        ("github.base.sha".to_owned(), Value::from(pr.base.sha.clone())),
        ("github.action".to_owned(), Value::from(ev.action.clone())),
        ("basename".to_owned(), Value::from(pr.base.ref_name.clone())),
        ("event".to_owned(), Value::from("pull_request")),
    ]);
    if let Some(full_name) = pr.head.repo.as_ref().and_then(|r| r.full_name.clone()) {
        properties.insert("github.head.repo".to_owned(), Value::from(full_name));
    }
    if let Some(url) = &revlink {
        properties.insert("pullrequesturl".to_owned(), Value::from(url.clone()));
    }
    Ok(NewChange {
        author,
        committer: None,
        comments,
        revision: Some(pr.head.sha.clone()),
        branch: Some(format!("refs/pull/{n}/merge")),
        repository,
        project: ev.repository.project(req),
        codebase: cfg.codebase.clone().unwrap_or_default(),
        category: Some("pull".to_owned()),
        revlink,
        when: epoch("updated_at", pr.updated_at.as_deref().or(pr.created_at.as_deref()))?,
        files: Vec::new(),
        properties,
    })
}

#[cfg(test)]
mod tests;
