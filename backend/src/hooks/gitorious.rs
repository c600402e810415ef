//! The `gitorious` dialect: Gitorious' web hook, as 0.8.9 read it (DESIGN §8). The form
//! field `payload` (or, for convenience, a JSON body) holds one push: one change per commit,
//! on the branch named by `ref`, with the repository's URL and the project's name. A deleted
//! branch (`after` all zeros) is ignored. Gitorious sends no file lists and no signature.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde_json::Value;

use super::{HookError, HookRequest};
use crate::config::GitoriousDialect;
use crate::model::NewChange;

/// Parses a Gitorious push into changes.
pub fn parse(req: &HookRequest, _cfg: &GitoriousDialect, _secret: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let body = match req.content_type().as_str() {
        "application/x-www-form-urlencoded" | "" => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&req.body).map_err(|e| bad(format!("malformed form: {e}")))?;
            let payload = pairs
                .into_iter()
                .find_map(|(k, v)| (k == "payload").then_some(v))
                .ok_or_else(|| bad("missing the `payload` form field"))?;
            serde_json::from_str::<Value>(&payload).map_err(|e| bad(format!("`payload` is malformed JSON: {e}")))?
        }
        "application/json" => {
            serde_json::from_slice::<Value>(&req.body).map_err(|e| bad(format!("malformed JSON: {e}")))?
        }
        other => {
            return Err(HookError::UnsupportedMediaType(format!(
                "unsupported content type `{other}`: send the form field `payload` or application/json"
            )));
        }
    };
    if !body.is_object() {
        return Err(bad("the payload must be a JSON object"));
    }
    changes(&body, req.query.get("project").map(String::as_str).filter(|p| !p.is_empty()))
}

fn bad(reason: impl Into<String>) -> HookError {
    HookError::BadRequest(reason.into())
}

/// The non-empty string at a JSON pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn changes(body: &Value, project_arg: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    let reference = text_at(body, "/ref").ok_or_else(|| bad("missing `ref`"))?;
    if body
        .get("after")
        .and_then(Value::as_str)
        .is_some_and(|after| !after.is_empty() && after.bytes().all(|b| b == b'0'))
    {
        return Ok(Vec::new());
    }
    let (branch, category) = match reference.strip_prefix("refs/tags/") {
        Some(tag) => (tag.to_owned(), Some("tag".to_owned())),
        None => (reference.strip_prefix("refs/heads/").unwrap_or(&reference).to_owned(), None),
    };
    let commits = body.get("commits").and_then(Value::as_array).ok_or_else(|| bad("`commits` must be a list"))?;
    let repository = text_at(body, "/repository/url").unwrap_or_default();
    let project = project_arg.map(str::to_owned).or_else(|| text_at(body, "/project/name")).unwrap_or_default();
    commits
        .iter()
        .map(|commit| {
            let revision = text_at(commit, "/id").ok_or_else(|| bad("missing `commits[].id`"))?;
            let name = text_at(commit, "/author/name")
                .ok_or_else(|| bad(format!("commit {revision} has no `author.name`")))?;
            let author = match text_at(commit, "/author/email") {
                Some(email) => format!("{name} <{email}>"),
                None => name,
            };
            let when = text_at(commit, "/timestamp")
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .map(|t| t.timestamp());
            Ok(NewChange {
                author,
                committer: None,
                comments: text_at(commit, "/message").unwrap_or_default(),
                revlink: text_at(commit, "/url"),
                revision: Some(revision),
                branch: Some(branch.clone()),
                repository: repository.clone(),
                project: project.clone(),
                codebase: String::new(),
                category: category.clone(),
                when,
                files: Vec::new(),
                properties: BTreeMap::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use poem::http::HeaderMap;

    const PUSH: &str = include_str!("../../tests/fixtures/hooks/gitorious/push.json");
    const DELETE: &str = include_str!("../../tests/fixtures/hooks/gitorious/delete.json");

    fn req(content_type: &str, query: &[(&str, &str)], body: &str) -> HookRequest {
        let mut headers = HeaderMap::new();
        if !content_type.is_empty() {
            headers.insert("content-type", content_type.parse().unwrap());
        }
        HookRequest {
            headers,
            query: query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn form(payload: &str) -> String {
        serde_urlencoded::to_string([("payload", payload)]).unwrap()
    }

    fn run(r: &HookRequest) -> Result<Vec<NewChange>, HookError> {
        parse(r, &GitoriousDialect {}, None)
    }

    #[test]
    fn a_push_gives_one_change_per_commit() {
        let changes = run(&req("application/x-www-form-urlencoded", &[], &form(PUSH))).unwrap();
        let commit = "http://git.example.org/engine/mainline/commit/";
        let change = |rev: &str, author: &str, comments: &str, when: i64| NewChange {
            author: author.into(),
            committer: None,
            comments: comments.into(),
            revision: Some(rev.repeat(40)),
            branch: Some("master".into()),
            repository: "http://git.example.org/engine/mainline".into(),
            project: "engine".into(),
            codebase: String::new(),
            category: None,
            revlink: Some(format!("{commit}{}", rev.repeat(40))),
            when: Some(when),
            files: vec![],
            properties: BTreeMap::new(),
        };
        assert_eq!(
            changes,
            vec![
                change("a", "Ada Lovelace <ada@example.org>", "Sketch the mill", 1_326_189_747),
                change(
                    "b",
                    "Charles Babbage <charles@example.org>",
                    "Add the store\n\nIt holds a thousand numbers.",
                    1_326_195_000
                ),
            ]
        );
        // The same payload as a JSON body, or as a form without a content type.
        assert_eq!(run(&req("application/json", &[], PUSH)).unwrap(), changes);
        assert_eq!(run(&req("", &[], &form(PUSH))).unwrap(), changes);
    }

    #[test]
    fn full_ref_names_are_shortened_and_tags_categorised() {
        let mut payload: Value = serde_json::from_str(PUSH).unwrap();
        payload["ref"] = Value::from("refs/heads/feature/cards");
        let c = run(&req("application/json", &[], &payload.to_string())).unwrap();
        assert_eq!(c[0].branch.as_deref(), Some("feature/cards"));
        assert_eq!(c[0].category, None);
        payload["ref"] = Value::from("refs/tags/v1.0");
        let c = run(&req("application/json", &[("project", "other")], &payload.to_string())).unwrap();
        assert_eq!((c[0].branch.as_deref(), c[0].category.as_deref()), (Some("v1.0"), Some("tag")));
        assert_eq!(c[0].project, "other");
    }

    #[test]
    fn a_deleted_branch_is_ignored() {
        assert!(run(&req("application/x-www-form-urlencoded", &[], &form(DELETE))).unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let cases = [
            (req("application/x-www-form-urlencoded", &[], "a=b"), "`payload`"),
            (req("application/x-www-form-urlencoded", &[], &form("{")), "malformed JSON"),
            (req("application/json", &[], "{"), "malformed JSON"),
            (req("application/json", &[], "[]"), "JSON object"),
            (req("application/json", &[], r#"{"commits":[]}"#), "missing `ref`"),
            (req("application/json", &[], r#"{"ref":"master"}"#), "`commits` must be a list"),
            (req("application/json", &[], r#"{"ref":"master","commits":[{"author":{}}]}"#), "commits[].id"),
            (req("application/json", &[], r#"{"ref":"master","commits":[{"id":"ab"}]}"#), "author.name"),
        ];
        for (r, expected) in cases {
            match run(&r) {
                Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{expected}: {m}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
        assert!(matches!(run(&req("text/xml", &[], "<a/>")), Err(HookError::UnsupportedMediaType(_))));
    }
}
