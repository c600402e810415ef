//! The `gerrit` dialect: the JSON events Gerrit's webhooks plugin POSTs (the same events as
//! `gerrit stream-events`, which Buildbot's GerritChangeSource reads over SSH).
//! `patchset-created` makes one change on the patch set's ref (`refs/changes/NN/CHANGE/PS`)
//! and `ref-updated` one change on the updated branch or tag; other events are accepted and
//! make none. As in Buildbot, every scalar of the event becomes a property named by its path
//! (`event.change.number`, `event.patchSet.number`, ...), which the `gerrit` reporter reads to
//! review the change.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{HookError, HookRequest};
use crate::config::GerritDialect;
use crate::model::NewChange;

/// Parses a Gerrit event into changes.
pub fn parse(req: &HookRequest, cfg: &GerritDialect) -> Result<Vec<NewChange>, HookError> {
    if !matches!(req.content_type().as_str(), "application/json" | "") {
        return Err(HookError::UnsupportedMediaType(format!(
            "unsupported content type `{}`: Gerrit sends application/json",
            req.content_type()
        )));
    }
    let event: Value = serde_json::from_slice(&req.body).map_err(|e| bad(format!("malformed JSON: {e}")))?;
    if !event.is_object() {
        return Err(bad("the event must be a JSON object"));
    }
    let kind = text_at(&event, "/type").ok_or_else(|| bad("missing the event's `type`"))?;
    match kind.as_str() {
        "patchset-created" => patchset_created(&event, cfg).map(|c| vec![c]),
        "ref-updated" => ref_updated(&event, cfg),
        _ => Ok(Vec::new()),
    }
}

fn bad(reason: impl Into<String>) -> HookError {
    HookError::BadRequest(reason.into())
}

/// The non-empty string at a JSON pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `Name <email>` of a Gerrit account object, or its user name.
fn account(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let name = text_at(v, "/name").or_else(|| text_at(v, "/username"));
    match (name, text_at(v, "/email")) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(name), None) => Some(name),
        (None, email) => email,
    }
}

/// Every scalar of `value`, named by its path under `prefix` (`event.change.number`);
/// lists are left out.
fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, into);
            }
        }
        Value::Array(_) => {}
        scalar => {
            into.insert(prefix.to_owned(), scalar.clone());
        }
    }
}

/// Where the project's repository is: `git_url` and the project, else the site of the
/// change's web address (`https://host/c/project/+/N` → `https://host/project`), else the
/// project's name.
fn repository(cfg: &GerritDialect, project: &str, change_url: Option<&str>) -> String {
    if let Some(base) = &cfg.git_url {
        return format!("{}/{project}", base.trim_end_matches('/'));
    }
    match change_url.and_then(|u| u.split_once("/c/")) {
        Some((site, _)) => format!("{site}/{project}"),
        None => project.to_owned(),
    }
}

fn patchset_created(event: &Value, cfg: &GerritDialect) -> Result<NewChange, HookError> {
    let project = text_at(event, "/change/project").ok_or_else(|| bad("missing `change.project`"))?;
    let reference = text_at(event, "/patchSet/ref").ok_or_else(|| bad("missing `patchSet.ref`"))?;
    let revision = text_at(event, "/patchSet/revision").ok_or_else(|| bad("missing `patchSet.revision`"))?;
    if event.pointer("/change/number").is_none() || event.pointer("/patchSet/number").is_none() {
        return Err(bad("missing `change.number` or `patchSet.number`"));
    }
    let author = account(event.pointer("/patchSet/author"))
        .or_else(|| account(event.get("uploader")))
        .or_else(|| account(event.pointer("/change/owner")))
        .ok_or_else(|| bad("no author, uploader or owner names who wrote the patch set"))?;
    let uploader = account(event.get("uploader")).filter(|u| u != &author);
    let mut properties = BTreeMap::new();
    flatten("event", event, &mut properties);
    Ok(NewChange {
        author,
        committer: uploader,
        comments: text_at(event, "/change/commitMessage")
            .or_else(|| text_at(event, "/change/subject"))
            .unwrap_or_default(),
        revision: Some(revision),
        branch: Some(reference),
        repository: repository(cfg, &project, text_at(event, "/change/url").as_deref()),
        project,
        codebase: cfg.codebase.clone().unwrap_or_default(),
        category: Some("patchset-created".into()),
        revlink: text_at(event, "/change/url"),
        when: event.pointer("/patchSet/createdOn").and_then(Value::as_i64),
        files: Vec::new(),
        properties,
    })
}

fn ref_updated(event: &Value, cfg: &GerritDialect) -> Result<Vec<NewChange>, HookError> {
    let update = event.get("refUpdate").ok_or_else(|| bad("missing `refUpdate`"))?;
    let project = text_at(update, "/project").ok_or_else(|| bad("missing `refUpdate.project`"))?;
    let name = text_at(update, "/refName").ok_or_else(|| bad("missing `refUpdate.refName`"))?;
    let new = text_at(update, "/newRev").ok_or_else(|| bad("missing `refUpdate.newRev`"))?;
    // A deleted ref, and Gerrit's own bookkeeping refs, are no change to build.
    if new.bytes().all(|b| b == b'0') || name.starts_with("refs/changes/") || name.starts_with("refs/meta/") {
        return Ok(Vec::new());
    }
    let (branch, category) = match name.strip_prefix("refs/tags/") {
        Some(tag) => (tag.to_owned(), "tag"),
        None => (name.strip_prefix("refs/heads/").unwrap_or(&name).to_owned(), "ref-updated"),
    };
    let mut properties = BTreeMap::new();
    flatten("event", event, &mut properties);
    Ok(vec![NewChange {
        author: account(event.get("submitter")).unwrap_or_else(|| "gerrit".into()),
        committer: None,
        comments: String::new(),
        revision: Some(new),
        branch: Some(branch),
        repository: repository(cfg, &project, None),
        project,
        codebase: cfg.codebase.clone().unwrap_or_default(),
        category: Some(category.into()),
        revlink: None,
        when: event.get("eventCreatedOn").and_then(Value::as_i64),
        files: Vec::new(),
        properties,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use poem::http::HeaderMap;
    use serde_json::json;

    const PATCHSET: &str = include_str!("../../tests/fixtures/hooks/gerrit/patchset_created.json");
    const REF_UPDATED: &str = include_str!("../../tests/fixtures/hooks/gerrit/ref_updated.json");
    const COMMENT: &str = include_str!("../../tests/fixtures/hooks/gerrit/comment_added.json");

    fn run(content_type: &str, body: &str) -> Result<Vec<NewChange>, HookError> {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        let req = HookRequest { headers, query: Default::default(), body: Bytes::from(body.to_owned()) };
        parse(&req, &GerritDialect::default())
    }

    #[test]
    fn a_new_patch_set_is_a_change_on_its_ref_with_the_event_as_properties() {
        let changes = run("application/json", PATCHSET).unwrap();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.author, "Alice Doe <alice@example.org>");
        assert_eq!(c.committer, None);
        assert_eq!(c.branch.as_deref(), Some("refs/changes/45/12345/3"));
        assert_eq!(c.revision.as_deref(), Some("7c2a7f1e3f2f7f8c0b3e9d1f3a4b5c6d7e8f9a0b"));
        assert_eq!((c.project.as_str(), c.repository.as_str()), ("widget", "https://review.example.org/widget"));
        assert!(c.comments.starts_with("Make the widget spin\n\nChange-Id: I0123"), "{}", c.comments);
        assert_eq!(c.revlink.as_deref(), Some("https://review.example.org/c/widget/+/12345"));
        assert_eq!((c.category.as_deref(), c.when), (Some("patchset-created"), Some(1_764_440_000)));
        assert_eq!(c.properties["event.change.number"], json!(12345));
        assert_eq!(c.properties["event.patchSet.number"], json!(3));
        assert_eq!(c.properties["event.type"], json!("patchset-created"));
        assert_eq!(c.properties["event.change.owner.email"], json!("alice@example.org"));
        assert!(!c.properties.contains_key("event.patchSet.parents"));
    }

    #[test]
    fn an_updated_branch_is_a_change_and_other_events_make_none() {
        let c = run("application/json", REF_UPDATED).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].author.as_str(), c[0].branch.as_deref()), ("Bob Roe <bob@example.org>", Some("main")));
        assert_eq!(c[0].revision.as_deref(), Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"));
        assert_eq!((c[0].repository.as_str(), c[0].category.as_deref()), ("widget", Some("ref-updated")));
        assert!(run("application/json", COMMENT).unwrap().is_empty());
        let mut event: Value = serde_json::from_str(REF_UPDATED).unwrap();
        event["refUpdate"]["refName"] = json!("refs/tags/v1.0");
        let c = run("application/json", &event.to_string()).unwrap();
        assert_eq!((c[0].branch.as_deref(), c[0].category.as_deref()), (Some("v1.0"), Some("tag")));
        for (name, rev) in [("refs/heads/old", "0000000000000000000000000000000000000000"), ("refs/meta/config", "ab")]
        {
            event["refUpdate"]["refName"] = json!(name);
            event["refUpdate"]["newRev"] = json!(rev);
            assert!(run("application/json", &event.to_string()).unwrap().is_empty(), "{name}");
        }
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let cases = [
            ("{", "malformed JSON"),
            ("[]", "JSON object"),
            ("{}", "`type`"),
            (r#"{"type":"patchset-created","change":{"project":"w"}}"#, "patchSet.ref"),
            (r#"{"type":"ref-updated"}"#, "refUpdate"),
        ];
        for (body, expected) in cases {
            match run("application/json", body) {
                Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{expected}: {m}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
        assert!(matches!(run("text/xml", "<a/>"), Err(HookError::UnsupportedMediaType(_))));
    }

    #[test]
    fn scalars_are_flattened_by_path_and_lists_left_out() {
        let mut props = BTreeMap::new();
        let event = serde_json::json!({"type": "x", "change": {"number": 5, "owner": {"name": "A"}}, "l": [1]});
        flatten("event", &event, &mut props);
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        assert_eq!(keys, ["event.change.number", "event.change.owner.name", "event.type"]);
    }

    #[test]
    fn the_repository_comes_from_git_url_or_the_change_page() {
        let mut cfg = GerritDialect::default();
        assert_eq!(repository(&cfg, "w", Some("https://r.example.org/c/w/+/5")), "https://r.example.org/w");
        assert_eq!(repository(&cfg, "w", None), "w");
        cfg.git_url = Some("ssh://ci@r.example.org:29418/".into());
        assert_eq!(repository(&cfg, "w", None), "ssh://ci@r.example.org:29418/w");
    }
}
