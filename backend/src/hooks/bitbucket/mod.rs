//! The `bitbucket` dialect: Bitbucket Cloud and Bitbucket Server (Data Center) webhooks,
//! told apart by `X-Event-Key`, and the 0.8.9 POST service's `payload=` form (DESIGN §8).
//! With a secret, `X-Hub-Signature` must be the body's HMAC-SHA256; Buildbot never checked one.
//!
//! - Cloud `repo:push`: one change per pushed commit, oldest first (Bitbucket lists them newest
//!   first); a ref that arrives without commits (a tag, a new branch) gives one change for its
//!   target; deleted refs are ignored.
//! - Cloud `pullrequest:created|updated` and Server `pr:opened|pr:from_ref_updated`: one change
//!   on `refs/pull-requests/<id>/merge` (Buildbot's name) at the source commit, category `pull`.
//! - Server `repo:refs_changed`: one change per added or updated ref at its new hash (the
//!   payload lists no commits); deletions are ignored.
//! - Every other event (merged or declined pull requests, pings, comments) is ignored.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde_json::Value;

use super::signature::hmac_sha256_matches;
use super::{HookError, HookRequest};
use crate::config::BitbucketDialect;
use crate::model::NewChange;

/// Parses a Bitbucket notification into changes.
pub fn parse(req: &HookRequest, _cfg: &BitbucketDialect, secret: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    if let Some(secret) = secret {
        let signature = header(req, "x-hub-signature")
            .ok_or_else(|| HookError::Forbidden("missing X-Hub-Signature header (a secret is configured)".into()))?;
        if !hmac_sha256_matches(secret.as_bytes(), &req.body, signature) {
            return Err(HookError::Forbidden("X-Hub-Signature does not match the body".into()));
        }
    }
    let project = req.query.get("project").map(String::as_str).filter(|p| !p.is_empty());
    let event = header(req, "x-event-key");
    match (req.content_type().as_str(), event) {
        ("application/x-www-form-urlencoded", _) | ("", None) => legacy_post(req, project),
        ("application/json" | "", Some(event)) => {
            let body = match serde_json::from_slice::<Value>(&req.body) {
                Ok(body @ Value::Object(_)) => body,
                Ok(_) => return Err(bad("the JSON body must be an object")),
                Err(e) => return Err(bad(format!("malformed JSON: {e}"))),
            };
            match event {
                "repo:push" => cloud_push(&body, project),
                "pullrequest:created" | "pullrequest:updated" => cloud_pull_request(&body, event, project),
                "repo:refs_changed" => server_refs_changed(&body, project),
                "pr:opened" | "pr:from_ref_updated" => server_pull_request(&body, event, project),
                _ => Ok(Vec::new()),
            }
        }
        ("application/json", None) => Err(bad("missing X-Event-Key header")),
        (other, _) => Err(HookError::UnsupportedMediaType(format!(
            "unsupported content type `{other}`: Bitbucket sends application/json (or a form from the old POST service)"
        ))),
    }
}

fn bad(reason: impl Into<String>) -> HookError {
    HookError::BadRequest(reason.into())
}

fn header<'a>(req: &'a HookRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The non-empty string (or number, as text) at a JSON pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn required(v: &Value, pointer: &str, what: &str) -> Result<String, HookError> {
    text_at(v, pointer).ok_or_else(|| bad(format!("missing `{what}`")))
}

/// Epoch seconds of an ISO 8601 time, with or without a colon in the offset; `None` (the
/// time the change is received) when it is absent or unreadable.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp())
}

fn is_zero_hash(hash: &str) -> bool {
    hash.bytes().all(|b| b == b'0')
}

/// A Cloud user's name (Cloud no longer exposes e-mail addresses).
fn cloud_user(user: Option<&Value>) -> Option<String> {
    let user = user?;
    text_at(user, "/display_name").or_else(|| text_at(user, "/nickname"))
}

fn cloud_push(body: &Value, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let ref_changes =
        body.pointer("/push/changes").and_then(Value::as_array).ok_or_else(|| bad("`push.changes` must be a list"))?;
    let repository = text_at(body, "/repository/links/html/href").unwrap_or_default();
    let project = project_arg.map(str::to_owned).or_else(|| text_at(body, "/repository/full_name")).unwrap_or_default();
    let actor = cloud_user(body.get("actor"));
    let mut out = Vec::new();
    for ref_change in ref_changes {
        let Some(new) = ref_change.get("new").filter(|n| n.is_object()) else { continue };
        let branch = required(new, "/name", "push.changes[].new.name")?;
        let category =
            matches!(new.get("type").and_then(Value::as_str), Some("tag" | "annotated_tag")).then(|| "tag".to_owned());
        let listed = ref_change.get("commits").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let commits: Vec<&Value> =
            if listed.is_empty() { new.get("target").into_iter().collect() } else { listed.iter().rev().collect() };
        for commit in commits {
            let revision = required(commit, "/hash", "push.changes[].commits[].hash")?;
            let author = text_at(commit, "/author/raw")
                .or_else(|| cloud_user(commit.pointer("/author/user")))
                .or_else(|| actor.clone())
                .ok_or_else(|| bad(format!("commit {revision} has no author")))?;
            let revlink = text_at(commit, "/links/html/href")
                .or_else(|| (!repository.is_empty()).then(|| format!("{repository}/commits/{revision}")));
            out.push(NewChange {
                author,
                committer: None,
                comments: text_at(commit, "/message").unwrap_or_default(),
                revision: Some(revision),
                branch: Some(branch.clone()),
                repository: repository.clone(),
                project: project.clone(),
                codebase: String::new(),
                category: category.clone(),
                revlink,
                when: commit.get("date").and_then(Value::as_str).and_then(parse_time),
                files: Vec::new(),
                properties: BTreeMap::new(),
            });
        }
    }
    Ok(out)
}

/// Properties common to pull-request changes of both flavours.
fn pull_request_properties(
    event: &str,
    id: u64,
    title: &str,
    source: Option<String>,
    destination: Option<String>,
    url: Option<&str>,
) -> BTreeMap<String, Value> {
    let mut properties = BTreeMap::new();
    properties.insert("event".to_owned(), Value::from(event));
    properties.insert("pullrequest_id".to_owned(), Value::from(id));
    properties.insert("pullrequest_title".to_owned(), Value::from(title));
    if let Some(source) = source {
        properties.insert("pullrequest_source".to_owned(), Value::from(source));
    }
    if let Some(destination) = destination {
        properties.insert("pullrequest_destination".to_owned(), Value::from(destination));
    }
    if let Some(url) = url {
        properties.insert("pullrequesturl".to_owned(), Value::from(url));
    }
    properties
}

fn pull_request_comments(id: u64, title: &str, description: Option<String>) -> String {
    match description {
        Some(d) => format!("Bitbucket pull request #{id}: {title}\n\n{d}"),
        None => format!("Bitbucket pull request #{id}: {title}"),
    }
}

fn cloud_pull_request(body: &Value, event: &str, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let pr = body.get("pullrequest").filter(|p| p.is_object()).ok_or_else(|| bad("missing `pullrequest`"))?;
    let id = pr.get("id").and_then(Value::as_u64).ok_or_else(|| bad("`pullrequest.id` must be a number"))?;
    let revision = required(pr, "/source/commit/hash", "pullrequest.source.commit.hash")?;
    let title = text_at(pr, "/title").unwrap_or_default();
    let author = cloud_user(body.get("actor"))
        .or_else(|| cloud_user(pr.get("author")))
        .ok_or_else(|| bad("missing `actor.display_name`"))?;
    let repository = text_at(body, "/repository/links/html/href")
        .or_else(|| text_at(pr, "/destination/repository/links/html/href"))
        .unwrap_or_default();
    let project = project_arg
        .map(str::to_owned)
        .or_else(|| text_at(body, "/repository/full_name"))
        .or_else(|| text_at(pr, "/destination/repository/full_name"))
        .unwrap_or_default();
    let revlink = text_at(pr, "/links/html/href");
    let mut properties = pull_request_properties(
        event,
        id,
        &title,
        text_at(pr, "/source/branch/name"),
        text_at(pr, "/destination/branch/name"),
        revlink.as_deref(),
    );
    if let Some(fork) = text_at(pr, "/source/repository/full_name") {
        properties.insert("pullrequest_source_repository".to_owned(), Value::from(fork));
    }
    Ok(vec![NewChange {
        author,
        committer: None,
        comments: pull_request_comments(id, &title, text_at(pr, "/description")),
        revision: Some(revision),
        branch: Some(format!("refs/pull-requests/{id}/merge")),
        repository,
        project,
        codebase: String::new(),
        category: Some("pull".to_owned()),
        revlink,
        when: pr.get("updated_on").and_then(Value::as_str).and_then(parse_time),
        files: Vec::new(),
        properties,
    }])
}

/// A Server user as `Display Name <email>`.
fn server_user(user: Option<&Value>) -> Option<String> {
    let user = user?;
    let name = text_at(user, "/displayName").or_else(|| text_at(user, "/name"))?;
    Some(match text_at(user, "/emailAddress") {
        Some(email) => format!("{name} <{email}>"),
        None => name,
    })
}

/// A Server repository's web address: its `self` link without the trailing `/browse`.
fn server_web_url(repo: Option<&Value>) -> String {
    let href = repo.and_then(|r| text_at(r, "/links/self/0/href")).unwrap_or_default();
    let href = href.trim_end_matches('/');
    href.strip_suffix("/browse").unwrap_or(href).to_owned()
}

/// A Server repository as `PROJECT/slug`.
fn server_full_name(repo: Option<&Value>) -> Option<String> {
    let repo = repo?;
    let slug = text_at(repo, "/slug")?;
    Some(match text_at(repo, "/project/key") {
        Some(key) => format!("{key}/{slug}"),
        None => slug,
    })
}

fn server_refs_changed(body: &Value, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let ref_changes = body.get("changes").and_then(Value::as_array).ok_or_else(|| bad("`changes` must be a list"))?;
    let repo = body.get("repository");
    let repository = server_web_url(repo);
    let project = project_arg.map(str::to_owned).or_else(|| server_full_name(repo)).unwrap_or_default();
    let author = server_user(body.get("actor")).ok_or_else(|| bad("missing `actor.displayName`"))?;
    let when = body.get("date").and_then(Value::as_str).and_then(parse_time);
    let mut out = Vec::new();
    for ref_change in ref_changes {
        if ref_change.get("type").and_then(Value::as_str) == Some("DELETE") {
            continue;
        }
        let to_hash = required(ref_change, "/toHash", "changes[].toHash")?;
        if is_zero_hash(&to_hash) {
            continue;
        }
        let ref_id = text_at(ref_change, "/ref/id").or_else(|| text_at(ref_change, "/refId")).unwrap_or_default();
        let is_tag =
            ref_change.pointer("/ref/type").and_then(Value::as_str) == Some("TAG") || ref_id.starts_with("refs/tags/");
        let branch = text_at(ref_change, "/ref/displayId")
            .or_else(|| {
                let short = ref_id.strip_prefix("refs/heads/").or_else(|| ref_id.strip_prefix("refs/tags/"));
                short.map(str::to_owned)
            })
            .or_else(|| (!ref_id.is_empty()).then(|| ref_id.clone()))
            .ok_or_else(|| bad("missing `changes[].ref.displayId`"))?;
        out.push(NewChange {
            author: author.clone(),
            committer: None,
            comments: format!("Bitbucket Server commit {to_hash}"),
            revlink: (!repository.is_empty()).then(|| format!("{repository}/commits/{to_hash}")),
            revision: Some(to_hash),
            branch: Some(branch),
            repository: repository.clone(),
            project: project.clone(),
            codebase: String::new(),
            category: is_tag.then(|| "tag".to_owned()),
            when,
            files: Vec::new(),
            properties: BTreeMap::new(),
        });
    }
    Ok(out)
}

fn server_pull_request(body: &Value, event: &str, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let pr = body.get("pullRequest").filter(|p| p.is_object()).ok_or_else(|| bad("missing `pullRequest`"))?;
    let id = pr.get("id").and_then(Value::as_u64).ok_or_else(|| bad("`pullRequest.id` must be a number"))?;
    let revision = required(pr, "/fromRef/latestCommit", "pullRequest.fromRef.latestCommit")?;
    let title = text_at(pr, "/title").unwrap_or_default();
    let author = server_user(body.get("actor"))
        .or_else(|| server_user(pr.pointer("/author/user")))
        .ok_or_else(|| bad("missing `actor.displayName`"))?;
    let repo = pr.pointer("/toRef/repository");
    let project = project_arg.map(str::to_owned).or_else(|| server_full_name(repo)).unwrap_or_default();
    let revlink = text_at(pr, "/links/self/0/href");
    let when = pr
        .get("updatedDate")
        .and_then(Value::as_i64)
        .map(|ms| ms.div_euclid(1000))
        .or_else(|| body.get("date").and_then(Value::as_str).and_then(parse_time));
    let properties = pull_request_properties(
        event,
        id,
        &title,
        text_at(pr, "/fromRef/displayId"),
        text_at(pr, "/toRef/displayId"),
        revlink.as_deref(),
    );
    Ok(vec![NewChange {
        author,
        committer: None,
        comments: pull_request_comments(id, &title, text_at(pr, "/description")),
        revision: Some(revision),
        branch: Some(format!("refs/pull-requests/{id}/merge")),
        repository: server_web_url(repo),
        project,
        codebase: String::new(),
        category: Some("pull".to_owned()),
        revlink,
        when,
        files: Vec::new(),
        properties,
    }])
}

/// The 0.8.9 POST service: a form whose `payload` field holds the JSON.
fn legacy_post(req: &HookRequest, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&req.body).map_err(|e| bad(format!("malformed form: {e}")))?;
    let payload = pairs
        .into_iter()
        .find_map(|(k, v)| (k == "payload").then_some(v))
        .ok_or_else(|| bad("missing X-Event-Key header or `payload` form field"))?;
    let body = match serde_json::from_str::<Value>(&payload) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return Err(bad("`payload` must be a JSON object")),
        Err(e) => return Err(bad(format!("`payload` is malformed JSON: {e}"))),
    };
    let commits = body.get("commits").and_then(Value::as_array).ok_or_else(|| bad("`commits` must be a list"))?;
    let repository = format!(
        "{}{}",
        text_at(&body, "/canon_url").unwrap_or_default(),
        text_at(&body, "/repository/absolute_url").unwrap_or_default()
    );
    let project = project_arg.unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for commit in commits {
        let revision = required(commit, "/raw_node", "commits[].raw_node")?;
        let author = text_at(commit, "/raw_author")
            .or_else(|| text_at(commit, "/author"))
            .ok_or_else(|| bad(format!("commit {revision} has no `raw_author`")))?;
        let files = commit
            .get("files")
            .and_then(Value::as_array)
            .map(|files| files.iter().filter_map(|f| text_at(f, "/file")).collect())
            .unwrap_or_default();
        out.push(NewChange {
            author,
            committer: None,
            comments: text_at(commit, "/message").unwrap_or_default(),
            revlink: Some(format!("{repository}commits/{revision}")),
            revision: Some(revision),
            branch: text_at(commit, "/branch"),
            repository: repository.clone(),
            project: project.clone(),
            codebase: String::new(),
            category: None,
            when: commit.get("utctimestamp").and_then(Value::as_str).and_then(parse_time),
            files,
            properties: BTreeMap::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
