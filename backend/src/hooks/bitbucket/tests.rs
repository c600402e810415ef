//! Tests of the `bitbucket` dialect against fixtures written from the forge's documented payloads.
use super::*;
use crate::hooks::signature::sign_sha256;
use bytes::Bytes;
use poem::http::HeaderMap;
use serde_json::json;

const CLOUD_PUSH: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_push.json");
const CLOUD_TAG_PUSH: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_tag_push.json");
const CLOUD_BRANCH_DELETE: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_branch_delete.json");
const CLOUD_PR_CREATED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_pr_created.json");
const CLOUD_PR_UPDATED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_pr_updated.json");
const CLOUD_PR_FULFILLED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/cloud_pr_fulfilled.json");
const SERVER_REFS_CHANGED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/server_refs_changed.json");
const SERVER_PR_OPENED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/server_pr_opened.json");
const SERVER_PR_UPDATED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/server_pr_from_ref_updated.json");
const SERVER_PR_MERGED: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/server_pr_merged.json");
const LEGACY_POST: &str = include_str!("../../../tests/fixtures/hooks/bitbucket/legacy_post.json");

fn req(headers: &[(&'static str, &str)], query: &[(&str, &str)], body: &str) -> HookRequest {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    HookRequest {
        headers: map,
        query: query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        body: Bytes::from(body.to_owned()),
    }
}

fn event(key: &str, body: &str) -> HookRequest {
    req(&[("content-type", "application/json"), ("x-event-key", key)], &[], body)
}

fn run(r: &HookRequest) -> Result<Vec<NewChange>, HookError> {
    parse(r, &BitbucketDialect { secret: None }, None)
}

fn props(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

const ENGINE: &str = "https://bitbucket.org/analytical/engine";

#[test]
fn cloud_push_gives_one_change_per_commit_oldest_first() {
    let changes = run(&event("repo:push", CLOUD_PUSH)).unwrap();
    let expected: Vec<NewChange> = [
        ("aaaa", "Ada Lovelace <ada@example.org>", "Sketch the mill", 1_709_629_200),
        ("bbbb", "Ada Lovelace <ada@example.org>", "Add the store\n\nIt holds a thousand numbers.\n", 1_709_629_800),
        ("cccc", "Charles Babbage <charles@example.org>", "Document the mill\n", 1_709_634_030),
    ]
    .into_iter()
    .map(|(rev, author, comments, when)| {
        let revision = rev.repeat(10);
        NewChange {
            author: author.into(),
            committer: None,
            comments: comments.into(),
            revlink: Some(format!("{ENGINE}/commits/{revision}")),
            revision: Some(revision),
            branch: Some("main".into()),
            repository: ENGINE.into(),
            project: "analytical/engine".into(),
            codebase: String::new(),
            category: None,
            when: Some(when),
            files: vec![],
            properties: BTreeMap::new(),
        }
    })
    .collect();
    assert_eq!(changes, expected);
}

#[test]
fn project_argument_overrides_the_repository_name() {
    let r = req(
        &[("content-type", "application/json"), ("x-event-key", "repo:push")],
        &[("project", "difference")],
        CLOUD_PUSH,
    );
    assert!(run(&r).unwrap().iter().all(|c| c.project == "difference"));
}

#[test]
fn cloud_tag_push_gives_one_tag_change_for_its_target() {
    let changes = run(&event("repo:push", CLOUD_TAG_PUSH)).unwrap();
    let revision = "c".repeat(40);
    assert_eq!(
        changes,
        vec![NewChange {
            author: "Charles Babbage <charles@example.org>".into(),
            committer: None,
            comments: "Document the mill\n".into(),
            revlink: Some(format!("{ENGINE}/commits/{revision}")),
            revision: Some(revision),
            branch: Some("v1.0.0".into()),
            repository: ENGINE.into(),
            project: "analytical/engine".into(),
            codebase: String::new(),
            category: Some("tag".into()),
            when: Some(1_709_634_030),
            files: vec![],
            properties: BTreeMap::new(),
        }]
    );
}

#[test]
fn cloud_branch_deletion_is_ignored() {
    assert!(run(&event("repo:push", CLOUD_BRANCH_DELETE)).unwrap().is_empty());
}

#[test]
fn cloud_pull_request_created_and_updated_build_the_merge_ref() {
    let changes = run(&event("pullrequest:created", CLOUD_PR_CREATED)).unwrap();
    let url = format!("{ENGINE}/pull-requests/7");
    assert_eq!(
        changes,
        vec![NewChange {
            author: "Charles Babbage".into(),
            committer: None,
            comments: "Bitbucket pull request #7: Add the difference engine\n\n\
                       Computes tables by the method of differences."
                .into(),
            revision: Some("e1e1e1e1e1e1".into()),
            branch: Some("refs/pull-requests/7/merge".into()),
            repository: ENGINE.into(),
            project: "analytical/engine".into(),
            codebase: String::new(),
            category: Some("pull".into()),
            revlink: Some(url.clone()),
            when: Some(1_709_798_400),
            files: vec![],
            properties: props(&[
                ("event", json!("pullrequest:created")),
                ("pullrequest_id", json!(7)),
                ("pullrequest_title", json!("Add the difference engine")),
                ("pullrequest_source", json!("difference")),
                ("pullrequest_destination", json!("main")),
                ("pullrequest_source_repository", json!("charles/engine")),
                ("pullrequesturl", json!(url)),
            ]),
        }]
    );
    let updated = run(&event("pullrequest:updated", CLOUD_PR_UPDATED)).unwrap();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].revision.as_deref(), Some("f2f2f2f2f2f2"));
    assert_eq!(updated[0].branch.as_deref(), Some("refs/pull-requests/7/merge"));
    assert_eq!(updated[0].when, Some(1_709_890_200));
    assert_eq!(updated[0].properties.get("event"), Some(&json!("pullrequest:updated")));
    assert_eq!(updated[0].properties.get("pullrequest_title"), Some(&json!("Add the difference engine (v2)")));
}

#[test]
fn closed_pull_requests_and_other_events_are_ignored() {
    for key in ["pullrequest:fulfilled", "pullrequest:rejected", "pullrequest:comment_created", "repo:fork"] {
        assert!(run(&event(key, CLOUD_PR_FULFILLED)).unwrap().is_empty(), "{key}");
    }
    for key in ["pr:merged", "pr:declined", "diagnostics:ping"] {
        assert!(run(&event(key, SERVER_PR_MERGED)).unwrap().is_empty(), "{key}");
    }
}

#[test]
fn server_refs_changed_gives_one_change_per_added_or_updated_ref() {
    let changes = run(&event("repo:refs_changed", SERVER_REFS_CHANGED)).unwrap();
    let web = "https://bitbucket.example.org/projects/AE/repos/engine";
    let change = |hash: &str, branch: &str, category: Option<&str>| NewChange {
        author: "Ada Lovelace <ada@example.org>".into(),
        committer: None,
        comments: format!("Bitbucket Server commit {hash}"),
        revision: Some(hash.into()),
        branch: Some(branch.into()),
        repository: web.into(),
        project: "AE/engine".into(),
        codebase: String::new(),
        category: category.map(Into::into),
        revlink: Some(format!("{web}/commits/{hash}")),
        when: Some(1_709_634_030),
        files: vec![],
        properties: BTreeMap::new(),
    };
    assert_eq!(changes, vec![change(&"c".repeat(40), "main", None), change(&"9".repeat(40), "v1.0.0", Some("tag"))]);
}

#[test]
fn server_pull_request_opened_and_updated_build_the_merge_ref() {
    let changes = run(&event("pr:opened", SERVER_PR_OPENED)).unwrap();
    let url = "https://bitbucket.example.org/projects/AE/repos/engine/pull-requests/12";
    assert_eq!(
        changes,
        vec![NewChange {
            author: "Charles Babbage <charles@example.org>".into(),
            committer: None,
            comments: "Bitbucket pull request #12: Add the difference engine\n\nComputes tables.".into(),
            revision: Some("e1".repeat(20)),
            branch: Some("refs/pull-requests/12/merge".into()),
            repository: "https://bitbucket.example.org/projects/AE/repos/engine".into(),
            project: "AE/engine".into(),
            codebase: String::new(),
            category: Some("pull".into()),
            revlink: Some(url.into()),
            when: Some(1_709_798_400),
            files: vec![],
            properties: props(&[
                ("event", json!("pr:opened")),
                ("pullrequest_id", json!(12)),
                ("pullrequest_title", json!("Add the difference engine")),
                ("pullrequest_source", json!("difference")),
                ("pullrequest_destination", json!("main")),
                ("pullrequesturl", json!(url)),
            ]),
        }]
    );
    let updated = run(&event("pr:from_ref_updated", SERVER_PR_UPDATED)).unwrap();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].revision, Some("f2".repeat(20)));
    assert_eq!(updated[0].when, Some(1_709_890_200));
    assert_eq!(updated[0].properties.get("event"), Some(&json!("pr:from_ref_updated")));
}

#[test]
fn legacy_post_service_form_gives_one_change_per_commit_with_files() {
    let body = serde_urlencoded::to_string([("payload", LEGACY_POST)]).unwrap();
    let r = req(&[("content-type", "application/x-www-form-urlencoded")], &[("project", "engine")], &body);
    let repo = "https://bitbucket.org/analytical/engine/";
    let change = |rev: &str, author: &str, comments: &str, files: &[&str], when: i64| NewChange {
        author: author.into(),
        committer: None,
        comments: comments.into(),
        revision: Some(rev.repeat(40)),
        branch: Some("main".into()),
        repository: repo.into(),
        project: "engine".into(),
        codebase: String::new(),
        category: None,
        revlink: Some(format!("{repo}commits/{}", rev.repeat(40))),
        when: Some(when),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        properties: BTreeMap::new(),
    };
    assert_eq!(
        run(&r).unwrap(),
        vec![
            change("a", "Ada Lovelace <ada@example.org>", "Add the store\n", &["mill.txt", "store.txt"], 1_709_632_800),
            change(
                "b",
                "Charles Babbage <charles@example.org>",
                "Drop the old cards\n",
                &["cards/old.txt"],
                1_709_634_600
            ),
        ]
    );
    // Without a content type or event header, a body is read as the old form too.
    let bare = req(&[], &[], &body);
    assert_eq!(run(&bare).unwrap().len(), 2);
}

#[test]
fn with_a_secret_the_signature_must_match_the_body() {
    let cfg = BitbucketDialect { secret: None };
    let good = sign_sha256(b"s3cret", CLOUD_PUSH.as_bytes());
    let signed = |sig: &str| {
        req(
            &[("content-type", "application/json"), ("x-event-key", "repo:push"), ("x-hub-signature", sig)],
            &[],
            CLOUD_PUSH,
        )
    };
    assert_eq!(parse(&signed(&good), &cfg, Some("s3cret")).unwrap().len(), 3);
    let wrong = sign_sha256(b"other", CLOUD_PUSH.as_bytes());
    assert!(matches!(parse(&signed(&wrong), &cfg, Some("s3cret")), Err(HookError::Forbidden(_))));
    assert!(matches!(parse(&signed("sha256=zz"), &cfg, Some("s3cret")), Err(HookError::Forbidden(_))));
    match parse(&event("repo:push", CLOUD_PUSH), &cfg, Some("s3cret")) {
        Err(HookError::Forbidden(m)) => assert!(m.contains("missing X-Hub-Signature"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Without a secret, a signature is not looked at.
    assert_eq!(parse(&signed(&wrong), &cfg, None).unwrap().len(), 3);
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    let cases = [
        (event("repo:push", "{"), "malformed JSON"),
        (event("repo:push", "[]"), "must be an object"),
        (event("repo:push", "{}"), "`push.changes` must be a list"),
        (event("repo:push", r#"{"push":{"changes":[{"new":{"type":"branch"}}]}}"#), "new.name"),
        (event("repo:push", r#"{"push":{"changes":[{"new":{"name":"x","target":{"hash":"ab"}}}]}}"#), "has no author"),
        (event("pullrequest:created", r#"{"pullrequest":{"id":"x"}}"#), "must be a number"),
        (event("pullrequest:created", r#"{"pullrequest":{"id":1}}"#), "source.commit.hash"),
        (event("repo:refs_changed", r#"{"changes":{}}"#), "`changes` must be a list"),
        (event("repo:refs_changed", r#"{"changes":[{"toHash":"ab"}]}"#), "actor.displayName"),
        (event("pr:opened", r#"{"pullRequest":[]}"#), "missing `pullRequest`"),
        (req(&[("content-type", "application/json")], &[], "{}"), "missing X-Event-Key"),
        (req(&[("content-type", "application/x-www-form-urlencoded")], &[], "a=b"), "`payload`"),
        (req(&[("content-type", "application/x-www-form-urlencoded")], &[], "payload=%7B"), "malformed JSON"),
        (req(&[("content-type", "application/x-www-form-urlencoded")], &[], "payload=%7B%7D"), "`commits`"),
    ];
    for (r, expected) in cases {
        match run(&r) {
            Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{expected}: {m}"),
            other => panic!("{expected}: {other:?}"),
        }
    }
    let xml = req(&[("content-type", "text/xml"), ("x-event-key", "repo:push")], &[], "<a/>");
    assert!(matches!(run(&xml), Err(HookError::UnsupportedMediaType(_))));
}

#[test]
fn times_with_and_without_offset_colons_are_read() {
    assert_eq!(parse_time("2024-03-05T10:20:30+00:00"), Some(1_709_634_030));
    assert_eq!(parse_time("2024-03-05T20:20:30+1000"), Some(1_709_634_030));
    assert_eq!(parse_time("2024-03-05 10:20:30+00:00"), Some(1_709_634_030));
    assert_eq!(parse_time("2024-03-05T10:20:30.999+00:00"), Some(1_709_634_030));
    assert_eq!(parse_time("yesterday"), None);
}
