//! The `googlecode` dialect: Google Code's post-commit web hook, as 0.8.9 read it (DESIGN §8).
//! The raw JSON body lists revisions; each becomes one change, on the configured `branch`
//! (Google Code sends none) unless a revision names its own. With the project's Post-Commit
//! Authentication Key, `Google-Code-Project-Hosting-Hook-Hmac` must be the body's HMAC-MD5.

use std::collections::BTreeMap;

use serde_json::Value;

use super::signature::hmac_md5_matches;
use super::{HookError, HookRequest};
use crate::config::GooglecodeDialect;
use crate::model::NewChange;

const HMAC_HEADER: &str = "google-code-project-hosting-hook-hmac";

/// Parses a Google Code post-commit notification into changes.
pub fn parse(req: &HookRequest, cfg: &GooglecodeDialect, secret: Option<&str>) -> Result<Vec<NewChange>, HookError> {
    if let Some(secret) = secret {
        let signature =
            req.headers.get(HMAC_HEADER).and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty()).ok_or_else(
                || {
                    HookError::Forbidden(
                        "missing Google-Code-Project-Hosting-Hook-Hmac header (a key is configured)".into(),
                    )
                },
            )?;
        if !hmac_md5_matches(secret.as_bytes(), &req.body, signature) {
            return Err(HookError::Forbidden("Google-Code-Project-Hosting-Hook-Hmac does not match the body".into()));
        }
    }
    match req.content_type().as_str() {
        "application/json" | "text/json" | "text/plain" | "" => {}
        other => {
            return Err(HookError::UnsupportedMediaType(format!(
                "unsupported content type `{other}`: Google Code sends application/json"
            )));
        }
    }
    let body = match serde_json::from_slice::<Value>(&req.body) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return Err(bad("the JSON body must be an object")),
        Err(e) => return Err(bad(format!("malformed JSON: {e}"))),
    };
    let revisions = body.get("revisions").and_then(Value::as_array).ok_or_else(|| bad("`revisions` must be a list"))?;
    let repository = text_at(&body, "/repository_path").unwrap_or_default();
    let project = text_at(&body, "/project_name").unwrap_or_default();
    revisions
        .iter()
        .map(|r| {
            let revision = text_at(r, "/revision").ok_or_else(|| bad("missing `revisions[].revision`"))?;
            let author = text_at(r, "/author").ok_or_else(|| bad(format!("revision {revision} has no `author`")))?;
            let mut files: Vec<String> = Vec::new();
            for list in ["added", "modified", "removed"] {
                for path in r.get(list).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                    if let Some(path) = path.as_str().filter(|p| !p.is_empty())
                        && !files.iter().any(|f| f == path)
                    {
                        files.push(path.to_owned());
                    }
                }
            }
            let when = match r.get("timestamp") {
                Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|t| t.is_finite()).map(|t| t as i64)),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|t| t.is_finite()).map(|t| t as i64),
                _ => None,
            };
            Ok(NewChange {
                author,
                committer: None,
                comments: text_at(r, "/message").unwrap_or_default(),
                revision: Some(revision),
                branch: Some(text_at(r, "/branch").unwrap_or_else(|| cfg.branch.clone())),
                repository: repository.clone(),
                project: project.clone(),
                codebase: String::new(),
                category: None,
                revlink: text_at(r, "/url"),
                when,
                files,
                properties: BTreeMap::new(),
            })
        })
        .collect()
}

fn bad(reason: impl Into<String>) -> HookError {
    HookError::BadRequest(reason.into())
}

/// The non-empty string (or number, as text: Subversion revisions are numbers) at a pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hmac::{Hmac, KeyInit, Mac};
    use poem::http::HeaderMap;

    const SVN: &str = include_str!("../../tests/fixtures/hooks/googlecode/svn_commit.json");
    const HG: &str = include_str!("../../tests/fixtures/hooks/googlecode/hg_commit.json");

    fn cfg(branch: &str) -> GooglecodeDialect {
        GooglecodeDialect { secret_key: None, branch: branch.into() }
    }

    fn req(headers: &[(&'static str, &str)], body: &str) -> HookRequest {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        HookRequest { headers: map, query: Default::default(), body: Bytes::from(body.to_owned()) }
    }

    fn md5_hex(key: &str, body: &str) -> String {
        let mut mac = Hmac::<md5::Md5>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn each_revision_becomes_a_change_on_the_configured_branch() {
        let changes = parse(&req(&[("content-type", "application/json")], SVN), &cfg("trunk"), None).unwrap();
        let change = |rev: u32, author: &str, comments: &str, when: i64, files: &[&str]| NewChange {
            author: author.into(),
            committer: None,
            comments: comments.into(),
            revision: Some(rev.to_string()),
            branch: Some("trunk".into()),
            repository: "http://engine.googlecode.com/svn/".into(),
            project: "engine".into(),
            codebase: String::new(),
            category: None,
            revlink: Some(format!("http://engine.googlecode.com/svn-history/r{rev}/")),
            when: Some(when),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            properties: BTreeMap::new(),
        };
        assert_eq!(
            changes,
            vec![
                change(
                    41,
                    "ada@example.org",
                    "Add the store",
                    1_262_304_000,
                    &["/trunk/store.txt", "/trunk/mill.txt", "/trunk/README"]
                ),
                change(
                    42,
                    "charles@example.org",
                    "Drop the old cards\n",
                    1_262_307_600,
                    &["/trunk/mill.txt", "/trunk/cards/old.txt"]
                ),
            ]
        );
    }

    #[test]
    fn hash_revisions_without_a_url_have_no_revlink() {
        let changes = parse(&req(&[], HG), &cfg("default"), None).unwrap();
        assert_eq!(
            changes,
            vec![NewChange {
                author: "Ada Lovelace <ada@example.org>".into(),
                committer: None,
                comments: "Tune the mill".into(),
                revision: Some("5f0e7d1a2b3c4d5e6f708192a3b4c5d6e7f80912".into()),
                branch: Some("default".into()),
                repository: "https://engine-hg.googlecode.com/hg/".into(),
                project: "engine-hg".into(),
                codebase: String::new(),
                category: None,
                revlink: None,
                when: Some(1_262_390_400),
                files: vec!["mill.txt".into()],
                properties: BTreeMap::new(),
            }]
        );
    }

    #[test]
    fn with_a_key_the_hmac_must_match_the_body() {
        let good = md5_hex("FSP3p-Ghdn4T0oqX", SVN);
        let signed = |sig: &str| req(&[("content-type", "application/json"), (HMAC_HEADER, sig)], SVN);
        assert_eq!(parse(&signed(&good), &cfg("trunk"), Some("FSP3p-Ghdn4T0oqX")).unwrap().len(), 2);
        let wrong = md5_hex("another-key", SVN);
        assert!(matches!(
            parse(&signed(&wrong), &cfg("trunk"), Some("FSP3p-Ghdn4T0oqX")),
            Err(HookError::Forbidden(_))
        ));
        assert!(matches!(parse(&signed("nothex"), &cfg("trunk"), Some("k")), Err(HookError::Forbidden(_))));
        match parse(&req(&[("content-type", "application/json")], SVN), &cfg("trunk"), Some("k")) {
            Err(HookError::Forbidden(m)) => assert!(m.contains("missing"), "{m}"),
            other => panic!("{other:?}"),
        }
        // The HMAC covers the exact bytes: a re-serialised body no longer matches.
        let reformatted = serde_json::from_str::<Value>(SVN).unwrap().to_string();
        let moved = req(&[(HMAC_HEADER, good.as_str())], &reformatted);
        assert!(matches!(parse(&moved, &cfg("trunk"), Some("FSP3p-Ghdn4T0oqX")), Err(HookError::Forbidden(_))));
    }

    #[test]
    fn a_revision_may_name_its_branch() {
        let body = r#"{"revisions":[{"revision":"1","author":"a","branch":"stable","timestamp":"1262304000"}]}"#;
        let c = parse(&req(&[], body), &cfg("default"), None).unwrap();
        assert_eq!((c[0].branch.as_deref(), c[0].when), (Some("stable"), Some(1_262_304_000)));
        assert_eq!((c[0].repository.as_str(), c[0].project.as_str()), ("", ""));
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let cases = [
            ("{", "malformed JSON"),
            ("[]", "must be an object"),
            ("{}", "`revisions` must be a list"),
            (r#"{"revisions":[{"author":"a"}]}"#, "revisions[].revision"),
            (r#"{"revisions":[{"revision":3}]}"#, "revision 3 has no `author`"),
        ];
        for (body, expected) in cases {
            match parse(&req(&[], body), &cfg("default"), None) {
                Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let form = req(&[("content-type", "application/x-www-form-urlencoded")], "a=b");
        assert!(matches!(parse(&form, &cfg("default"), None), Err(HookError::UnsupportedMediaType(_))));
    }
}
