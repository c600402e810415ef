//! The `base` dialect: a change given field by field, as a form or as a JSON object
//! (DESIGN §8). `cascade sendchange` is its client.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{HookError, HookRequest};
use crate::model::NewChange;

/// Parses one change from the request body.
pub fn parse(req: &HookRequest) -> Result<Vec<NewChange>, HookError> {
    let fields = match req.content_type().as_str() {
        "application/json" => match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(HookError::BadRequest("the JSON body must be an object".into())),
            Err(e) => return Err(HookError::BadRequest(format!("malformed JSON: {e}"))),
        },
        "application/x-www-form-urlencoded" | "" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body)
                .map_err(|e| HookError::BadRequest(format!("malformed form: {e}")))?;
            pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
        }
        other => {
            return Err(HookError::UnsupportedMediaType(format!(
                "unsupported content type `{other}`: send a form or application/json"
            )));
        }
    };
    Ok(vec![change_from_fields(&fields)?])
}

const KNOWN: &[&str] = &[
    "comments",
    "author",
    "who",
    "committer",
    "files",
    "revision",
    "when",
    "branch",
    "category",
    "revlink",
    "properties",
    "repository",
    "project",
    "codebase",
];

fn text(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, HookError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(HookError::BadRequest(format!("`{key}` must be a string"))),
    }
}

/// A JSON value given either as JSON or as a string holding JSON (forms).
fn json_field(fields: &Map<String, Value>, key: &str) -> Result<Option<Value>, HookError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            serde_json::from_str(s).map(Some).map_err(|e| HookError::BadRequest(format!("`{key}` must be JSON: {e}")))
        }
        Some(v) => Ok(Some(v.clone())),
    }
}

fn change_from_fields(fields: &Map<String, Value>) -> Result<NewChange, HookError> {
    if let Some(unknown) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(HookError::BadRequest(format!("unknown field `{unknown}` (known: {})", KNOWN.join(", "))));
    }
    let author = text(fields, "author")?
        .or(text(fields, "who")?)
        .ok_or_else(|| HookError::BadRequest("`author` is required".into()))?;
    let files = match json_field(fields, "files")? {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(HookError::BadRequest("`files` must be a JSON list of strings".into())),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(HookError::BadRequest("`files` must be a JSON list of strings".into())),
    };
    let properties: BTreeMap<String, Value> = match json_field(fields, "properties")? {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => map.into_iter().collect(),
        Some(_) => return Err(HookError::BadRequest("`properties` must be a JSON object".into())),
    };
    let when = match text(fields, "when")? {
        None => None,
        Some(w) => Some(
            w.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| t as i64)
                .ok_or_else(|| HookError::BadRequest(format!("`when` must be epoch seconds, got `{w}`")))?,
        ),
    };
    Ok(NewChange {
        author,
        committer: text(fields, "committer")?,
        comments: text(fields, "comments")?.unwrap_or_default(),
        revision: text(fields, "revision")?,
        branch: text(fields, "branch")?,
        repository: text(fields, "repository")?.unwrap_or_default(),
        project: text(fields, "project")?.unwrap_or_default(),
        codebase: text(fields, "codebase")?.unwrap_or_default(),
        category: text(fields, "category")?,
        revlink: text(fields, "revlink")?,
        when,
        files,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use poem::http::HeaderMap;

    fn req(content_type: &str, body: &str) -> HookRequest {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        HookRequest { headers, query: Default::default(), body: Bytes::from(body.to_owned()) }
    }

    #[test]
    fn a_form_gives_one_change_with_every_field() {
        let body = "author=alice&comments=fix+it&revision=abc&branch=main&files=%5B%22a.c%22%2C%22b.c%22%5D\
            &properties=%7B%22k%22%3A%22v%22%7D&when=1700000000&repository=r&project=p&codebase=c&category=cat&revlink=http%3A%2F%2Fx";
        let changes = parse(&req("application/x-www-form-urlencoded", body)).unwrap();
        let c = &changes[0];
        assert_eq!(c.author, "alice");
        assert_eq!(c.comments, "fix it");
        assert_eq!(c.files, vec!["a.c", "b.c"]);
        assert_eq!(c.properties.get("k"), Some(&Value::String("v".into())));
        assert_eq!(c.when, Some(1_700_000_000));
        assert_eq!((c.repository.as_str(), c.project.as_str(), c.codebase.as_str()), ("r", "p", "c"));
        assert_eq!(c.revlink.as_deref(), Some("http://x"));
    }

    #[test]
    fn json_takes_lists_and_objects_directly() {
        let body = r#"{"author":"bob","files":["x"],"properties":{"n":1},"branch":"dev","when":1700000000.5}"#;
        let c = &parse(&req("application/json", body)).unwrap()[0];
        assert_eq!(c.files, vec!["x"]);
        assert_eq!(c.branch.as_deref(), Some("dev"));
        assert_eq!(c.when, Some(1_700_000_000));
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let cases = [
            ("application/json", "{", "malformed JSON"),
            ("application/json", "[1]", "must be an object"),
            ("application/json", r#"{"comments":"x"}"#, "`author` is required"),
            ("application/json", r#"{"author":"a","files":"x.c"}"#, "`files` must be JSON"),
            ("application/json", r#"{"author":"a","when":"yesterday"}"#, "`when` must be epoch seconds"),
            ("application/json", r#"{"author":"a","colour":"red"}"#, "unknown field `colour`"),
            ("application/json", r#"{"author":"a","properties":[1]}"#, "must be a JSON object"),
        ];
        for (ct, body, expected) in cases {
            match parse(&req(ct, body)) {
                Err(HookError::BadRequest(m)) => assert!(m.contains(expected), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(parse(&req("text/xml", "<a/>")), Err(HookError::UnsupportedMediaType(_))));
    }
}
