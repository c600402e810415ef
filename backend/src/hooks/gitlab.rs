//! The `gitlab` dialect (DESIGN §8): GitLab webhooks, dispatched on `X-Gitlab-Event` (or, for
//! system hooks, the payload's `object_kind`). Pushes give one change per commit, tag pushes one
//! change for the tag, merge requests (opened, reopened, or updated with new commits) one change
//! for their last commit; everything else is answered and ignored. When a token is configured,
//! `X-Gitlab-Token` must equal it. `?project=` and `?codebase=` set those fields.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::github::{Commit, Person, epoch, first_of, from_json, header, query, split_ref};
use super::signature::token_matches;
use super::{HookError, HookRequest};
use crate::config::GitlabDialect;
use crate::model::NewChange;

/// Parses a GitLab webhook into changes. `secret` is the resolved `token`.
pub fn parse(req: &HookRequest, _cfg: &GitlabDialect, secret: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    if let Some(expected) = secret {
        match req.headers.get("x-gitlab-token").and_then(|v| v.to_str().ok()) {
            Some(given) if token_matches(expected, given) => {}
            Some(_) => return Err(HookError::Forbidden("X-Gitlab-Token does not match the configured token".into())),
            None => {
                return Err(HookError::Forbidden(
                    "missing X-Gitlab-Token header: a token is configured for this hook".into(),
                ));
            }
        }
    }
    let event =
        header(req, "x-gitlab-event").ok_or_else(|| HookError::BadRequest("missing X-Gitlab-Event header".into()))?;
    let from_header = match event {
        "Push Hook" => "push",
        "Tag Push Hook" => "tag_push",
        "Merge Request Hook" => "merge_request",
        // System hooks name their event in `object_kind` only.
        "System Hook" => "",
        _ => return Ok(Vec::new()),
    };
    let content_type = req.content_type();
    if content_type != "application/json" {
        return Err(HookError::UnsupportedMediaType(format!(
            "unsupported content type `{content_type}`: GitLab sends application/json"
        )));
    }
    // Newer GitLab names the event in the payload too, and that name wins, as in Buildbot.
    let Kind { object_kind } = from_json(&req.body, "GitLab")?;
    match object_kind.as_deref().unwrap_or(from_header) {
        "push" | "tag_push" => push(from_json(&req.body, "push")?, req),
        "merge_request" => {
            let Light { object_attributes: attrs } = from_json(&req.body, "merge_request")?;
            let closed = matches!(attrs.state.as_deref(), Some("closed" | "merged" | "approved"));
            let wanted = match attrs.action.as_deref() {
                Some("open" | "reopen") => true,
                // An update builds only when it brought new commits (GitLab then sends `oldrev`).
                Some("update") => attrs.oldrev.is_some_and(|r| !r.is_empty()),
                _ => false,
            };
            if closed || !wanted {
                return Ok(Vec::new());
            }
            merge_request(from_json(&req.body, "merge_request")?, req).map(|c| vec![c])
        }
        _ => Ok(Vec::new()),
    }
}

#[derive(Debug, Deserialize)]
struct Kind {
    object_kind: Option<String>,
}

/// A project as GitLab describes it (`project`, and a merge request's `source` and `target`).
#[derive(Debug, Default, Deserialize)]
struct Project {
    name: Option<String>,
    path_with_namespace: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
}

/// The older `repository` object of push payloads.
#[derive(Debug, Default, Deserialize)]
struct Repository {
    name: Option<String>,
    url: Option<String>,
    git_http_url: Option<String>,
}

fn codebase(req: &HookRequest) -> String {
    query(req, "codebase").unwrap_or_default().to_owned()
}

#[derive(Debug, Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    ref_name: String,
    after: Option<String>,
    checkout_sha: Option<String>,
    /// The annotated tag's message.
    message: Option<String>,
    user_name: Option<String>,
    user_username: Option<String>,
    user_email: Option<String>,
    #[serde(default)]
    commits: Vec<Commit>,
    project: Option<Project>,
    repository: Option<Repository>,
}

fn push(ev: PushEvent, req: &HookRequest) -> Result<Vec<NewChange>, HookError> {
    let Some((branch, category)) = split_ref(&ev.ref_name) else { return Ok(Vec::new()) };
    let deleted = ev.after.as_deref().is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b == b'0'));
    if deleted {
        return Ok(Vec::new());
    }
    let project = ev.project.unwrap_or_default();
    let repo = ev.repository.unwrap_or_default();
    let repository =
        first_of(&[project.git_http_url.as_ref(), repo.git_http_url.as_ref(), repo.url.as_ref()]).unwrap_or_default();
    let project_name = query(req, "project")
        .map(str::to_owned)
        .or_else(|| first_of(&[project.path_with_namespace.as_ref(), repo.name.as_ref()]))
        .unwrap_or_default();
    let event = if category.is_some() { "tag_push" } else { "push" };
    let base = NewChange {
        branch: Some(branch.to_owned()),
        repository,
        project: project_name,
        codebase: codebase(req),
        category: category.map(str::to_owned),
        properties: BTreeMap::from([("event".to_owned(), Value::from(event))]),
        ..Default::default()
    };

    // A tag, or a new branch that brought no commits: one change for the pushed revision.
    if category.is_some() || ev.commits.is_empty() {
        let Some(revision) = first_of(&[ev.checkout_sha.as_ref(), ev.after.as_ref()]) else { return Ok(Vec::new()) };
        // GitLab hides the pusher's address unless it is public.
        let email = ev.user_email.filter(|e| e != "[REDACTED]");
        let author = Person { name: ev.user_name.or(ev.user_username), email }
            .display()
            .ok_or_else(|| HookError::BadRequest("the push has no `user_name`".into()))?;
        return Ok(vec![NewChange {
            author,
            comments: ev.message.unwrap_or_default(),
            revision: Some(revision),
            ..base
        }]);
    }
    ev.commits
        .iter()
        .map(|c| {
            Ok(NewChange {
                author: c.author()?,
                comments: c.message.clone(),
                revision: Some(c.id.clone()),
                revlink: c.url.clone().filter(|u| !u.is_empty()),
                when: epoch("timestamp", c.timestamp.as_deref())?,
                files: c.files(),
                ..base.clone()
            })
        })
        .collect()
}

/// Just enough of a merge request event to decide whether to build it.
#[derive(Debug, Deserialize)]
struct Light {
    object_attributes: LightAttributes,
}

#[derive(Debug, Deserialize)]
struct LightAttributes {
    state: Option<String>,
    action: Option<String>,
    oldrev: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MergeRequestEvent {
    project: Option<Project>,
    object_attributes: MergeRequest,
}

#[derive(Debug, Deserialize)]
struct MergeRequest {
    iid: u64,
    #[serde(default)]
    title: String,
    description: Option<String>,
    source_branch: String,
    target_branch: String,
    source_project_id: Option<Value>,
    target_project_id: Option<Value>,
    url: Option<String>,
    source: Option<Project>,
    target: Option<Project>,
    last_commit: Option<Commit>,
}

fn merge_request(ev: MergeRequestEvent, req: &HookRequest) -> Result<NewChange, HookError> {
    let mr = ev.object_attributes;
    let iid = mr.iid;
    let commit = mr
        .last_commit
        .as_ref()
        .ok_or_else(|| HookError::BadRequest(format!("merge request !{iid} has no `last_commit`")))?;
    let source = mr.source.unwrap_or_default();
    let target = mr.target.unwrap_or_default();
    let project = ev.project.unwrap_or_default();
    let mut properties = BTreeMap::from([
        ("event".to_owned(), Value::from("merge_request")),
        ("merge_request_iid".to_owned(), Value::from(iid)),
        ("source_branch".to_owned(), Value::from(mr.source_branch.clone())),
        ("target_branch".to_owned(), Value::from(mr.target_branch.clone())),
    ]);
    let optional = [
        ("source_project_id", mr.source_project_id),
        ("target_project_id", mr.target_project_id),
        ("source_repository", source.git_http_url.map(Value::from)),
        ("source_git_ssh_url", source.git_ssh_url.map(Value::from)),
        ("target_repository", target.git_http_url.clone().map(Value::from)),
        ("target_git_ssh_url", target.git_ssh_url.map(Value::from)),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            properties.insert(name.to_owned(), value);
        }
    }
    Ok(NewChange {
        author: commit.author()?,
        committer: None,
        comments: format!("MR#{iid}: {}\n\n{}", mr.title, mr.description.as_deref().unwrap_or("")),
        revision: Some(commit.id.clone()),
        branch: Some(mr.target_branch),
        repository: first_of(&[target.git_http_url.as_ref(), project.git_http_url.as_ref()]).unwrap_or_default(),
        project: query(req, "project")
            .map(str::to_owned)
            .or_else(|| {
                first_of(&[
                    project.path_with_namespace.as_ref(),
                    target.path_with_namespace.as_ref(),
                    target.name.as_ref(),
                ])
            })
            .unwrap_or_default(),
        codebase: codebase(req),
        category: Some("merge_request".to_owned()),
        revlink: mr.url.filter(|u| !u.is_empty()),
        when: epoch("last_commit.timestamp", commit.timestamp.as_deref())?,
        files: Vec::new(),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use poem::http::HeaderMap;
    use serde_json::json;

    const PUSH: &str = include_str!("../../tests/fixtures/hooks/gitlab/push.json");
    const PUSH_DELETE: &str = include_str!("../../tests/fixtures/hooks/gitlab/push_delete.json");
    const PUSH_NEW_BRANCH: &str = include_str!("../../tests/fixtures/hooks/gitlab/push_new_branch.json");
    const TAG_PUSH: &str = include_str!("../../tests/fixtures/hooks/gitlab/tag_push.json");
    const MR_OPEN: &str = include_str!("../../tests/fixtures/hooks/gitlab/merge_request_open.json");
    const MR_UPDATE: &str = include_str!("../../tests/fixtures/hooks/gitlab/merge_request_update.json");
    const MR_CLOSE: &str = include_str!("../../tests/fixtures/hooks/gitlab/merge_request_close.json");

    fn request(event: Option<&str>, body: &str, token: Option<&str>) -> HookRequest {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        if let Some(event) = event {
            headers.insert("x-gitlab-event", event.parse().unwrap());
        }
        if let Some(token) = token {
            headers.insert("x-gitlab-token", token.parse().unwrap());
        }
        HookRequest { headers, query: Default::default(), body: Bytes::from(body.to_owned()) }
    }

    fn run(event: &str, body: &str) -> Vec<NewChange> {
        parse(&request(Some(event), body, None), &GitlabDialect::default(), None).unwrap()
    }

    fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut value: Value = serde_json::from_str(fixture).unwrap();
        edit(&mut value);
        value.to_string()
    }

    #[test]
    fn a_push_gives_one_change_per_commit_with_every_field() {
        let changes = run("Push Hook", PUSH);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            changes[0],
            NewChange {
                author: "Jordi Mallach <jordi@example.org>".into(),
                committer: None,
                comments: "Update the Catalan translation\n\nSee the translation guide for details.".into(),
                revision: Some("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327".into()),
                branch: Some("main".into()),
                repository: "https://gitlab.example.com/mike/diaspora.git".into(),
                project: "mike/diaspora".into(),
                codebase: String::new(),
                category: None,
                revlink: Some(
                    "https://gitlab.example.com/mike/diaspora/-/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327".into()
                ),
                // 2024-04-02T14:27:31+02:00
                when: Some(1_712_060_851),
                files: vec!["CHANGELOG".into(), "locale/ca.yml".into(), "locale/index.yml".into()],
                properties: BTreeMap::from([("event".to_owned(), json!("push"))]),
            }
        );
        let c = &changes[1];
        assert_eq!(c.author, "GitLab dev user <gitlabdev@example.com>");
        assert_eq!(c.revision.as_deref(), Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7"));
        assert_eq!(c.files, vec!["README.md", "docs/old.md"]);
        assert_eq!(c.when, Some(1_712_062_800));
    }

    #[test]
    fn project_and_codebase_come_from_the_query() {
        let mut req = request(Some("Push Hook"), PUSH, None);
        req.query.insert("project".into(), "diaspora".into());
        req.query.insert("codebase".into(), "social".into());
        let changes = parse(&req, &GitlabDialect::default(), None).unwrap();
        assert!(changes.iter().all(|c| c.project == "diaspora" && c.codebase == "social"));
    }

    #[test]
    fn older_payloads_without_a_project_use_the_repository() {
        let body = edited(PUSH, |v| {
            v.as_object_mut().unwrap().remove("project");
            v["repository"].as_object_mut().unwrap().remove("git_http_url");
        });
        let c = &run("Push Hook", &body)[0];
        assert_eq!(c.repository, "git@gitlab.example.com:mike/diaspora.git");
        assert_eq!(c.project, "Diaspora");
    }

    #[test]
    fn a_tag_push_is_one_change_for_the_tag() {
        let changes = run("Tag Push Hook", TAG_PUSH);
        assert_eq!(
            changes,
            vec![NewChange {
                author: "John Smith <john@example.com>".into(),
                committer: None,
                comments: "Release 1.0.0".into(),
                revision: Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7".into()),
                branch: Some("v1.0.0".into()),
                repository: "https://gitlab.example.com/mike/diaspora.git".into(),
                project: "mike/diaspora".into(),
                codebase: String::new(),
                category: Some("tag".into()),
                revlink: None,
                when: None,
                files: vec![],
                properties: BTreeMap::from([("event".to_owned(), json!("tag_push"))]),
            }]
        );
        let redacted = edited(TAG_PUSH, |v| v["user_email"] = json!("[REDACTED]"));
        assert_eq!(run("Tag Push Hook", &redacted)[0].author, "John Smith");
    }

    #[test]
    fn a_new_branch_without_commits_is_built_at_its_checkout_sha() {
        let changes = run("Push Hook", PUSH_NEW_BRANCH);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].branch.as_deref(), Some("feature/search"));
        assert_eq!(changes[0].revision.as_deref(), Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7"));
        assert_eq!(changes[0].author, "John Smith <john@example.com>");
        assert_eq!(changes[0].category, None);
    }

    #[test]
    fn deleted_branches_and_tags_and_other_refs_create_nothing() {
        assert!(run("Push Hook", PUSH_DELETE).is_empty());
        let deleted_tag = edited(TAG_PUSH, |v| {
            v["after"] = json!("0000000000000000000000000000000000000000");
            v["checkout_sha"] = Value::Null;
        });
        assert!(run("Tag Push Hook", &deleted_tag).is_empty());
        let notes = edited(PUSH, |v| v["ref"] = json!("refs/merge-requests/1/head"));
        assert!(run("Push Hook", &notes).is_empty());
    }

    #[test]
    fn an_opened_merge_request_gives_one_change_on_its_target_branch() {
        let changes = run("Merge Request Hook", MR_OPEN);
        let properties = [
            ("event", json!("merge_request")),
            ("merge_request_iid", json!(1)),
            ("source_branch", json!("ms-viewport")),
            ("source_project_id", json!(14)),
            ("source_repository", json!("https://gitlab.example.com/awesome_space/awesome_project.git")),
            ("source_git_ssh_url", json!("git@gitlab.example.com:awesome_space/awesome_project.git")),
            ("target_branch", json!("main")),
            ("target_project_id", json!(1)),
            ("target_repository", json!("https://gitlab.example.com/gitlabhq/gitlab-test.git")),
            ("target_git_ssh_url", json!("git@gitlab.example.com:gitlabhq/gitlab-test.git")),
        ];
        assert_eq!(
            changes,
            vec![NewChange {
                author: "GitLab dev user <gitlabdev@example.com>".into(),
                committer: None,
                comments: "MR#1: MS-Viewport\n\nMakes the viewport work on small screens.".into(),
                revision: Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7".into()),
                branch: Some("main".into()),
                repository: "https://gitlab.example.com/gitlabhq/gitlab-test.git".into(),
                project: "gitlabhq/gitlab-test".into(),
                codebase: String::new(),
                category: Some("merge_request".into()),
                revlink: Some("https://gitlab.example.com/gitlabhq/gitlab-test/-/merge_requests/1".into()),
                // 2024-04-03T18:36:29+02:00
                when: Some(1_712_162_189),
                files: vec![],
                properties: properties.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            }]
        );
        let reopened = edited(MR_OPEN, |v| v["object_attributes"]["action"] = json!("reopen"));
        assert_eq!(run("Merge Request Hook", &reopened).len(), 1);
    }

    #[test]
    fn a_merge_request_update_builds_only_when_it_brought_commits() {
        let mut req = request(Some("Merge Request Hook"), MR_UPDATE, None);
        req.query.insert("project".into(), "gitlab-test".into());
        let changes = parse(&req, &GitlabDialect::default(), None).unwrap();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.revision.as_deref(), Some("5e1f9c2b7a3d4e6f8091a2b3c4d5e6f708192a3b"));
        assert_eq!(c.author, "Jane Roe <jane@example.com>");
        assert_eq!(c.project, "gitlab-test");
        assert_eq!(c.when, Some(1_712_221_500));

        let retitled = edited(MR_UPDATE, |v| {
            v["object_attributes"].as_object_mut().unwrap().remove("oldrev");
        });
        assert!(run("Merge Request Hook", &retitled).is_empty());
    }

    #[test]
    fn closed_merged_and_other_merge_request_actions_are_ignored() {
        assert!(run("Merge Request Hook", MR_CLOSE).is_empty());
        for (action, state) in
            [("merge", "merged"), ("approved", "opened"), ("unapproved", "opened"), ("open", "closed")]
        {
            let body = edited(MR_OPEN, |v| {
                v["object_attributes"]["action"] = json!(action);
                v["object_attributes"]["state"] = json!(state);
            });
            assert!(run("Merge Request Hook", &body).is_empty(), "{action}/{state}");
        }
    }

    #[test]
    fn other_events_are_ignored_and_system_hooks_use_object_kind() {
        assert!(run("Note Hook", r#"{"object_kind":"note"}"#).is_empty());
        assert!(run("Pipeline Hook", "not json at all").is_empty());
        assert_eq!(run("System Hook", PUSH).len(), 2);
        assert!(run("System Hook", r#"{"event_name":"project_create"}"#).is_empty());
        // The payload's own kind wins over the header.
        assert_eq!(run("Push Hook", MR_OPEN).len(), 1);
    }

    #[test]
    fn the_configured_token_is_required_and_compared() {
        let cfg = GitlabDialect::default();
        let ok = request(Some("Push Hook"), PUSH, Some("s3cret"));
        assert_eq!(parse(&ok, &cfg, Some("s3cret")).unwrap().len(), 2);
        // Without a configured token, any (or no) token is accepted.
        assert_eq!(parse(&ok, &cfg, None).unwrap().len(), 2);
        for (token, expected) in
            [(None, "missing X-Gitlab-Token"), (Some("s3cre"), "does not match"), (Some("S3CRET"), "does not match")]
        {
            match parse(&request(Some("Push Hook"), PUSH, token), &cfg, Some("s3cret")) {
                Err(HookError::Forbidden(m)) => assert!(m.contains(expected), "{token:?}: {m}"),
                other => panic!("{token:?}: {other:?}"),
            }
        }
        // The token is checked before the payload is read.
        let garbage = request(Some("Push Hook"), "{", Some("wrong"));
        assert!(matches!(parse(&garbage, &cfg, Some("s3cret")), Err(HookError::Forbidden(_))));
    }

    #[test]
    fn bad_requests_are_refused_with_their_reason() {
        let cfg = GitlabDialect::default();
        let cases = [
            (request(None, PUSH, None), "X-Gitlab-Event"),
            (request(Some("Push Hook"), "{", None), "malformed GitLab payload"),
            (request(Some("Push Hook"), r#"{"object_kind":"push"}"#, None), "missing field `ref`"),
            (request(Some("Push Hook"), &PUSH.replace("2024-04-02T14:27:31+02:00", "soon"), None), "`timestamp`"),
            (
                request(
                    Some("Tag Push Hook"),
                    &edited(TAG_PUSH, |v| {
                        for key in ["user_name", "user_username", "user_email"] {
                            v[key] = Value::Null;
                        }
                    }),
                    None,
                ),
                "no `user_name`",
            ),
            (
                request(
                    Some("Merge Request Hook"),
                    &edited(MR_OPEN, |v| {
                        v["object_attributes"].as_object_mut().unwrap().remove("last_commit");
                    }),
                    None,
                ),
                "no `last_commit`",
            ),
            (
                request(Some("Merge Request Hook"), r#"{"object_attributes":{"action":"open"}}"#, None),
                "missing field `iid`",
            ),
        ];
        for (req, expected) in cases {
            match parse(&req, &cfg, None) {
                Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{expected}: {m}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
        let mut form = request(Some("Push Hook"), "payload=%7B%7D", None);
        form.headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        assert!(matches!(parse(&form, &cfg, None), Err(HookError::UnsupportedMediaType(_))));
    }
}
