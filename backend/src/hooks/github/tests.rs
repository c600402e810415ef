//! Tests of the `github` dialect against fixtures written from the forge's documented payloads.
use super::*;
use crate::hooks::signature::sign_sha256;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use poem::http::HeaderMap;
use serde_json::json;

const PUSH: &str = include_str!("../../../tests/fixtures/hooks/github/push.json");
const PUSH_TAG: &str = include_str!("../../../tests/fixtures/hooks/github/push_tag.json");
const PUSH_DELETE: &str = include_str!("../../../tests/fixtures/hooks/github/push_delete.json");
const PUSH_NEW_BRANCH: &str = include_str!("../../../tests/fixtures/hooks/github/push_new_branch.json");
const PUSH_ENTERPRISE: &str = include_str!("../../../tests/fixtures/hooks/github/push_enterprise.json");
const PING: &str = include_str!("../../../tests/fixtures/hooks/github/ping.json");
const PR_OPENED: &str = include_str!("../../../tests/fixtures/hooks/github/pull_request_opened.json");
const PR_SYNC: &str = include_str!("../../../tests/fixtures/hooks/github/pull_request_synchronize.json");
const PR_CLOSED: &str = include_str!("../../../tests/fixtures/hooks/github/pull_request_closed.json");

const SECRET: &str = "It's a Secret to Everybody";

fn request(event: Option<&str>, content_type: &str, body: &str, extra: &[(&'static str, String)]) -> HookRequest {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    if let Some(event) = event {
        headers.insert("x-github-event", event.parse().unwrap());
    }
    for (name, value) in extra {
        headers.insert(*name, value.parse().unwrap());
    }
    HookRequest { headers, query: Default::default(), body: Bytes::from(body.to_owned()) }
}

fn json_req(event: &str, body: &str) -> HookRequest {
    request(Some(event), "application/json", body, &[])
}

fn run(req: &HookRequest) -> Vec<NewChange> {
    parse(req, &GithubDialect::default(), None).unwrap()
}

fn sign_sha1(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

fn props(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

#[test]
fn a_push_gives_one_change_per_commit_with_every_field() {
    let changes = run(&json_req("push", PUSH));
    assert_eq!(changes.len(), 3);
    assert_eq!(
        changes[0],
        NewChange {
            author: "Mona Lisa <mona@example.com>".into(),
            committer: Some("Mona Lisa <mona@example.com>".into()),
            comments: "Add the parser\n\nIt reads the input line by line.".into(),
            revision: Some("4a1c3e1f0b9d2a7c6e5f4d3c2b1a0f9e8d7c6b5a".into()),
            branch: Some("main".into()),
            repository: "https://github.com/octo-org/octo-repo".into(),
            project: "octo-org/octo-repo".into(),
            codebase: String::new(),
            category: None,
            revlink: Some(
                "https://github.com/octo-org/octo-repo/commit/4a1c3e1f0b9d2a7c6e5f4d3c2b1a0f9e8d7c6b5a".into()
            ),
            // 2024-03-05T10:15:30+01:00
            when: Some(1_709_630_130),
            files: vec!["Cargo.toml".into(), "src/lib.rs".into(), "src/parser.rs".into()],
            properties: props(&[("github_distinct", json!(true)), ("event", json!("push"))]),
        }
    );
    // A non-distinct commit is kept, and says so.
    let c = &changes[1];
    assert_eq!(c.author, "Hubot <hubot@example.com>");
    assert_eq!(c.committer.as_deref(), Some("GitHub <noreply@github.com>"));
    assert_eq!(c.files, vec!["old/lexer.rs", "src/lexer.rs"]);
    assert_eq!(c.when, Some(1_709_631_000));
    assert_eq!(c.properties.get("github_distinct"), Some(&json!(false)));
    assert_eq!(changes[2].revision.as_deref(), Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
    assert_eq!(changes[2].comments, "Update the README");
}

#[test]
fn a_tag_push_is_one_change_in_the_tag_category() {
    let changes = run(&json_req("push", PUSH_TAG));
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(c.branch.as_deref(), Some("v1.2.0"));
    assert_eq!(c.category.as_deref(), Some("tag"));
    assert_eq!(c.revision.as_deref(), Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
    assert_eq!(c.files, vec!["README.md"]);
    assert_eq!(c.when, Some(1_709_632_800));
}

#[test]
fn a_new_branch_without_commits_is_built_at_its_head() {
    let changes = run(&json_req("push", PUSH_NEW_BRANCH));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].branch.as_deref(), Some("feature/faster-lexer"));
    assert_eq!(changes[0].category, None);
    assert_eq!(changes[0].revision.as_deref(), Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
    assert_eq!(changes[0].properties.get("github_distinct"), Some(&json!(false)));
    // A new ref is built at its head even when the push lists the commits it brought.
    let mut with_commits: Value = serde_json::from_str(PUSH_NEW_BRANCH).unwrap();
    with_commits["commits"] = serde_json::from_str::<Value>(PUSH).unwrap()["commits"].clone();
    assert_eq!(run(&json_req("push", &with_commits.to_string())), changes);
}

#[test]
fn deleted_refs_other_refs_and_skip_ci_create_nothing() {
    assert!(run(&json_req("push", PUSH_DELETE)).is_empty());
    let mut notes: Value = serde_json::from_str(PUSH).unwrap();
    notes["ref"] = json!("refs/notes/commits");
    assert!(run(&json_req("push", &notes.to_string())).is_empty());
    for message in ["Docs only [skip ci]", "[ci skip] typo", "wip [ skip  ci ]", "x [skipci]"] {
        let mut push: Value = serde_json::from_str(PUSH).unwrap();
        push["head_commit"]["message"] = json!(message);
        assert!(run(&json_req("push", &push.to_string())).is_empty(), "{message}");
    }
    for message in ["skip ci", "[skip] ci", "[ci]", "[skip ci"] {
        assert!(!has_skip(message), "{message}");
    }
}

#[test]
fn enterprise_payloads_and_the_codebase_option_work() {
    let cfg = GithubDialect { codebase: Some("tools".into()), ..Default::default() };
    let changes = parse(&json_req("push", PUSH_ENTERPRISE), &cfg, None).unwrap();
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(c.repository, "https://ghe.corp.example/platform/tools");
    assert_eq!(c.project, "platform/tools");
    assert_eq!(c.codebase, "tools");
    assert_eq!(c.branch.as_deref(), Some("release/2.x"));
    assert_eq!(c.committer.as_deref(), Some("Release Bot <release-bot@corp.example>"));
    assert_eq!(c.when, Some(1_717_228_800));
}

#[test]
fn the_project_query_argument_overrides_the_full_name() {
    let mut req = json_req("push", PUSH);
    req.query.insert("project".into(), "octo".into());
    assert!(run(&req).iter().all(|c| c.project == "octo"));
    req.query.insert("project".into(), "first\nsecond".into());
    assert!(run(&req).iter().all(|c| c.project == "first"));
    req.query.insert("project".into(), String::new());
    assert!(run(&req).iter().all(|c| c.project == "octo-org/octo-repo"));
}

#[test]
fn a_form_encoded_payload_is_read_from_its_payload_field() {
    let body = serde_urlencoded::to_string([("payload", PUSH)]).unwrap();
    let changes = run(&request(Some("push"), "application/x-www-form-urlencoded", &body, &[]));
    assert_eq!(changes, run(&json_req("push", PUSH)));
    let err = parse(
        &request(Some("push"), "application/x-www-form-urlencoded", "other=1", &[]),
        &GithubDialect::default(),
        None,
    );
    assert!(matches!(err, Err(HookError::BadRequest(m)) if m.contains("`payload`")));
}

#[test]
fn pull_requests_opened_or_synchronized_give_one_change_on_the_merge_ref() {
    let changes = run(&json_req("pull_request", PR_OPENED));
    assert_eq!(
        changes,
        vec![NewChange {
            author: "hubot".into(),
            committer: None,
            comments:
                "GitHub Pull Request #42 (3 commits)\nMake the lexer faster\nIt now scans a whole token at a time."
                    .into(),
            revision: Some("c0ffee1234567890abcdef1234567890abcdef12".into()),
            branch: Some("refs/pull/42/merge".into()),
            repository: "https://github.com/octo-org/octo-repo".into(),
            project: "octo-org/octo-repo".into(),
            codebase: String::new(),
            category: Some("pull".into()),
            revlink: Some("https://github.com/octo-org/octo-repo/pull/42".into()),
            // 2024-03-06T09:05:00Z
            when: Some(1_709_715_900),
            files: vec![],
            properties: props(&[
                ("github.number", json!(42)),
                ("github.title", json!("Make the lexer faster")),
                ("github.head.ref", json!("faster-lexer")),
                ("github.head.sha", json!("c0ffee1234567890abcdef1234567890abcdef12")),
                ("github.head.repo", json!("hubot/octo-repo")),
                ("github.base.ref", json!("main")),
                ("github.base.sha", json!("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")),
                ("github.action", json!("opened")),
                ("basename", json!("main")),
                ("pullrequesturl", json!("https://github.com/octo-org/octo-repo/pull/42")),
                ("event", json!("pull_request")),
            ]),
        }]
    );

    let mut req = json_req("pull_request", PR_SYNC);
    req.query.insert("project".into(), "octo".into());
    let c = &run(&req)[0];
    assert_eq!(c.comments, "GitHub Pull Request #7 (1 commit)\nFix a typo\n");
    assert_eq!(c.author, "octocat");
    assert_eq!(c.branch.as_deref(), Some("refs/pull/7/merge"));
    assert_eq!(c.revision.as_deref(), Some("beef00112233445566778899aabbccddeeff0011"));
    assert_eq!(c.project, "octo");
    assert_eq!(c.properties.get("github.action"), Some(&json!("synchronize")));

    let mut reopened: Value = serde_json::from_str(PR_OPENED).unwrap();
    reopened["action"] = json!("reopened");
    assert_eq!(run(&json_req("pull_request", &reopened.to_string())).len(), 1);
}

#[test]
fn other_pull_request_actions_ping_and_other_events_are_ignored() {
    assert!(run(&json_req("pull_request", PR_CLOSED)).is_empty());
    for action in ["edited", "labeled", "assigned", "review_requested"] {
        let mut pr: Value = serde_json::from_str(PR_OPENED).unwrap();
        pr["action"] = json!(action);
        assert!(run(&json_req("pull_request", &pr.to_string())).is_empty(), "{action}");
    }
    assert!(run(&json_req("ping", PING)).is_empty());
    assert!(run(&json_req("issues", r#"{"action":"opened"}"#)).is_empty());
    assert!(run(&json_req("workflow_run", "not even json")).is_empty());
}

#[test]
fn bad_requests_are_refused_with_their_reason() {
    let cfg = GithubDialect::default();
    let cases = [
        (request(None, "application/json", PUSH, &[]), "X-GitHub-Event"),
        (json_req("push", "{"), "malformed push payload"),
        (json_req("push", "[1]"), "malformed push payload"),
        (json_req("push", r#"{"ref":"refs/heads/x"}"#), "missing field `repository`"),
        (json_req("pull_request", r#"{"action":"opened"}"#), "missing field `pull_request`"),
        (json_req("push", &PUSH.replace("2024-03-05T10:15:30+01:00", "yesterday")), "`timestamp`"),
        (
            json_req(
                "push",
                &PUSH.replace(
                    r#""author": { "name": "Hubot", "email": "hubot@example.com", "username": "hubot" },"#,
                    "",
                ),
            ),
            "has no author",
        ),
    ];
    for (req, expected) in cases {
        match parse(&req, &cfg, None) {
            Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{expected}: {m}"),
            other => panic!("{expected}: {other:?}"),
        }
    }
    let xml = request(Some("push"), "text/xml", "<a/>", &[]);
    assert!(matches!(parse(&xml, &cfg, None), Err(HookError::UnsupportedMediaType(_))));
}

#[test]
fn a_configured_secret_requires_a_matching_sha256_signature() {
    let cfg = GithubDialect::default();
    let good = sign_sha256(SECRET.as_bytes(), PUSH.as_bytes());
    let signed = request(Some("push"), "application/json", PUSH, &[("x-hub-signature-256", good.clone())]);
    assert_eq!(parse(&signed, &cfg, Some(SECRET)).unwrap().len(), 3);
    // Unsigned requests are accepted only without a secret.
    assert_eq!(parse(&signed, &cfg, None).unwrap().len(), 3);

    let forbidden = |req: &HookRequest, cfg: &GithubDialect, expected: &str| match parse(req, cfg, Some(SECRET)) {
        Err(HookError::Forbidden(m)) => assert!(m.contains(expected), "{expected}: {m}"),
        other => panic!("{expected}: {other:?}"),
    };
    forbidden(&json_req("push", PUSH), &cfg, "not signed");
    forbidden(&json_req("ping", PING), &cfg, "not signed");
    forbidden(&request(None, "application/json", PUSH, &[]), &cfg, "not signed");
    let wrong_secret = sign_sha256(b"another secret", PUSH.as_bytes());
    forbidden(
        &request(Some("push"), "application/json", PUSH, &[("x-hub-signature-256", wrong_secret)]),
        &cfg,
        "does not match",
    );
    let other_body = PUSH.replace("main", "evil");
    forbidden(
        &request(Some("push"), "application/json", &other_body, &[("x-hub-signature-256", good)]),
        &cfg,
        "does not match",
    );
    forbidden(
        &request(Some("push"), "application/json", "{", &[("x-hub-signature-256", "sha256=zz".into())]),
        &cfg,
        "does not match",
    );
}

#[test]
fn sha1_signatures_are_accepted_only_when_allowed() {
    let sha1 = sign_sha1(SECRET, PUSH);
    let req = request(Some("push"), "application/json", PUSH, &[("x-hub-signature", sha1)]);
    match parse(&req, &GithubDialect::default(), Some(SECRET)) {
        Err(HookError::Forbidden(m)) => assert!(m.contains("allow_sha1"), "{m}"),
        other => panic!("{other:?}"),
    }
    let allow = GithubDialect { allow_sha1: true, ..Default::default() };
    assert_eq!(parse(&req, &allow, Some(SECRET)).unwrap().len(), 3);
    let wrong = request(Some("push"), "application/json", PUSH, &[("x-hub-signature", sign_sha1("nope", PUSH))]);
    assert!(matches!(parse(&wrong, &allow, Some(SECRET)), Err(HookError::Forbidden(_))));
    // A SHA-256 signature, when present, is the one checked.
    let both = request(
        Some("push"),
        "application/json",
        PUSH,
        &[("x-hub-signature", sign_sha1(SECRET, PUSH)), ("x-hub-signature-256", "sha256=00".into())],
    );
    assert!(matches!(parse(&both, &allow, Some(SECRET)), Err(HookError::Forbidden(_))));
}

#[test]
fn the_signature_covers_the_raw_form_body() {
    let body = serde_urlencoded::to_string([("payload", PUSH)]).unwrap();
    let sig = sign_sha256(SECRET.as_bytes(), body.as_bytes());
    let req = request(Some("push"), "application/x-www-form-urlencoded", &body, &[("x-hub-signature-256", sig)]);
    assert_eq!(parse(&req, &GithubDialect::default(), Some(SECRET)).unwrap().len(), 3);
}

#[test]
fn timestamps_in_every_forge_format_are_read() {
    assert_eq!(epoch("t", Some("2024-03-05T10:15:30+01:00")).unwrap(), Some(1_709_630_130));
    assert_eq!(epoch("t", Some("2024-03-05T09:15:30Z")).unwrap(), Some(1_709_630_130));
    assert_eq!(epoch("t", Some("2024-03-05 09:15:30 UTC")).unwrap(), Some(1_709_630_130));
    assert_eq!(epoch("t", Some("2024-03-05 10:15:30 +0100")).unwrap(), Some(1_709_630_130));
    assert_eq!(epoch("t", None).unwrap(), None);
    assert_eq!(epoch("t", Some(" ")).unwrap(), None);
    assert!(epoch("t", Some("tomorrow")).is_err());
}
