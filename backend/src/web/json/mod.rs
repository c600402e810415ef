//! `/json/...`: a read-only copy of Buildbot 0.8.9's JSON status tree for the scripts written
//! against it, with 0.8.9's arguments (`as_text`, `compact`, `filter`, `select`, `max`) and
//! its help page. `tree` names the nodes, `load` reads them, `shape` gives them 0.8.9's
//! keys, `help` documents them; what is here is the request's arguments and the answer.
//!
//! JSONP (`callback=`) is refused: a master whose status needs a login would hand it to any
//! web page its users visit. Errors answer `{ "error", "message" }` as the API's do.

pub mod help;
pub mod load;
pub mod shape;
pub mod tree;

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Map, Value, json};

use super::query_args;
use crate::engine::{Engine, EngineError};
use load::Loader;
use tree::Node;

/// A request's arguments, as 0.8.9 read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Indented `text/plain`.
    pub as_text: bool,
    /// Without whitespace.
    pub compact: bool,
    /// Empty values left out.
    pub filter: bool,
    /// The `select=` paths, when there is at least one (an empty one is the node itself).
    pub select: Option<Vec<String>>,
    /// `max=`: how many changes or builds a list gives.
    pub max: Option<i64>,
}

/// 0.8.9's booleans: the first value, `1`/`true` or `0`/`false`; anything else is the default.
fn flag(args: &[(String, String)], name: &str, default: bool) -> bool {
    match args.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_ascii_lowercase()).as_deref() {
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        _ => default,
    }
}

impl Options {
    /// The arguments, or why they cannot be answered.
    pub fn parse(args: &[(String, String)]) -> Result<Options, String> {
        if args.iter().any(|(k, _)| k == "callback") {
            return Err("callback= (JSONP) is not served: it would let any web page read this master's status \
                 as a script, with its visitors' logins; fetch the JSON from a page the master serves itself \
                 (public_html) instead"
                .into());
        }
        let as_text = flag(args, "as_text", false);
        let select: Vec<String> = args.iter().filter(|(k, _)| k == "select").map(|(_, v)| v.clone()).collect();
        let max = match args.iter().find(|(k, _)| k == "max").map(|(_, v)| v.trim()) {
            None | Some("") => None,
            Some(n) => Some(n.parse::<i64>().map_err(|_| format!("max is a number, not `{n}`"))?),
        };
        Ok(Options {
            as_text,
            compact: flag(args, "compact", !as_text),
            filter: flag(args, "filter", as_text),
            select: (!select.is_empty()).then_some(select),
            max,
        })
    }
}

/// The path elements of `path` under `/json`, percent-decoded; `None` outside `/json`.
fn elements(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("/json")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(
        rest.split('/')
            .filter(|e| !e.is_empty())
            .map(|e| percent_decode_str(e).decode_utf8_lossy().into_owned())
            .collect(),
    )
}

/// What 0.8.9 put where a selected path named nothing.
fn not_available() -> Value {
    json!({ "error": "Not available" })
}

/// Puts `value` at `keys` under `data` as 0.8.9's `select` did: every key on the way gets a
/// fresh object (replacing what an earlier selection put there), and an object at the end
/// is merged into it, so `select=` (no keys) merges the node itself into the answer.
pub fn place(data: &mut Value, keys: &[String], value: Value) {
    match keys.split_first() {
        None => match (data, value) {
            (Value::Object(map), Value::Object(more)) => map.extend(more),
            (data, value) => *data = value,
        },
        Some((first, rest)) => {
            let mut child = Value::Object(Map::new());
            place(&mut child, rest, value);
            match data {
                Value::Object(map) => {
                    map.insert(first.clone(), child);
                }
                other => *other = Value::Object(Map::from_iter([(first.clone(), child)])),
            }
        }
    }
}

/// The order 0.8.9 applied selections in: deepest first (by slashes), ties as given.
pub fn in_selection_order(select: &[String]) -> Vec<&str> {
    let mut items: Vec<&str> = select.iter().map(|s| s.trim_matches('/')).collect();
    items.sort_by_key(|s| std::cmp::Reverse(s.matches('/').count()));
    items
}

/// Whether 0.8.9's `filter` left a value out: Python's `x in ('', False, None, [], {})`,
/// where `0 == False`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// 0.8.9's `filter=1`: empty values leave objects at every depth; a list keeps its items
/// but becomes null (and so leaves its object) when all of them are empty.
pub fn filtered(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().map(filtered).collect();
            if items.iter().all(is_empty) { Value::Null } else { Value::Array(items) }
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, filtered(v))).filter(|(_, v)| !is_empty(v)).collect())
        }
        other => other,
    }
}

/// An error answer in the API's shape.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(json!({ "error": code, "message": message.into() }).to_string())
}

fn failed(e: &EngineError) -> Response {
    tracing::error!(error = ?e, "reading the JSON status failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the master's log")
}

/// `/json` and every path under it.
#[handler]
pub async fn json_status(engine: Data<&Arc<Engine>>, req: &Request) -> Response {
    let Some(path) = elements(req.uri().path()) else {
        return error(StatusCode::NOT_FOUND, "not_found", "not a /json path");
    };
    if path.last().is_some_and(|p| p == "help") {
        return help_page(&engine, req).await;
    }
    let opts = match Options::parse(&query_args(req)) {
        Ok(opts) => opts,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    let Some(node) = Node::at(&path, &engine.config()) else {
        return error(StatusCode::NOT_FOUND, "not_found", format!("no node /json/{}; see /json/help", path.join("/")));
    };
    let mut loader = Loader::new(&engine, opts.max);
    let data = match &opts.select {
        None => match loader.value(&node).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                let message = format!("/json/{} names nothing; see /json/help", path.join("/"));
                return error(StatusCode::NOT_FOUND, "not_found", message);
            }
            Err(e) => return failed(&e),
        },
        Some(select) => match selection(&mut loader, &node, select, &engine).await {
            Ok(v) => v,
            Err(e) => return failed(&e),
        },
    };
    let data = if opts.filter { filtered(data) } else { data };
    let body = if opts.compact { data.to_string() } else { format!("{data:#}\n") };
    let content_type = if opts.as_text { "text/plain; charset=utf-8" } else { "application/json; charset=utf-8" };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
}

/// The parts of `node` that `select` names, placed as 0.8.9 placed them.
async fn selection(
    loader: &mut Loader<'_>,
    node: &Node,
    select: &[String],
    engine: &Engine,
) -> Result<Value, EngineError> {
    let mut data = Value::Object(Map::new());
    for item in in_selection_order(select) {
        let mut keys = Vec::new();
        let mut at = Some(node.clone());
        // 0.8.9 decoded the elements once more, so names holding `/` can be selected.
        for element in item.split('/').filter(|e| !e.is_empty()) {
            let element = percent_decode_str(element).decode_utf8_lossy().into_owned();
            at = at.and_then(|n| n.child(&element, &engine.config()));
            keys.push(element);
            if at.is_none() {
                break;
            }
        }
        let value = match at {
            Some(n) => loader.value(&n).await?.unwrap_or_else(not_available),
            None => not_available(),
        };
        place(&mut data, &keys, value);
    }
    Ok(data)
}

/// The help page, its links relative to where it was asked for.
async fn help_page(engine: &Engine, req: &Request) -> Response {
    let examples = match Loader::new(engine, None).examples().await {
        Ok(examples) => examples,
        Err(e) => return failed(&e),
    };
    // `/json/help` is one level below the root, `/json/builders/help/` three.
    let root = "../".repeat(req.uri().path().matches('/').count().saturating_sub(1));
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(help::page(&engine.config().title, &root, &examples))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn as_text_indents_and_filters_unless_told_otherwise() {
        let o = Options::parse(&[]).unwrap();
        assert_eq!((o.as_text, o.compact, o.filter, o.select, o.max), (false, true, false, None, None));
        let o = Options::parse(&args(&[("as_text", "1")])).unwrap();
        assert_eq!((o.as_text, o.compact, o.filter), (true, false, true));
        let o = Options::parse(&args(&[("as_text", "TRUE"), ("compact", "1"), ("filter", "0")])).unwrap();
        assert_eq!((o.as_text, o.compact, o.filter), (true, true, false));
        let o = Options::parse(&args(&[("filter", "maybe"), ("compact", "0")])).unwrap();
        assert_eq!((o.compact, o.filter), (false, false), "an unknown value is the default");
        let o = Options::parse(&args(&[("select", ""), ("select", "slaves"), ("max", "5")])).unwrap();
        assert_eq!((o.select, o.max), (Some(vec![String::new(), "slaves".into()]), Some(5)));
        assert!(Options::parse(&args(&[("max", "many")])).is_err());
        assert!(Options::parse(&args(&[("callback", "f")])).unwrap_err().contains("JSONP"));
    }

    #[test]
    fn paths_under_json_are_decoded_elements() {
        assert_eq!(elements("/json"), Some(vec![]));
        assert_eq!(elements("/json/"), Some(vec![]));
        assert_eq!(elements("/json/builders//a%2Fb/"), Some(vec!["builders".into(), "a/b".into()]));
        assert_eq!(elements("/jsonx"), None);
    }

    #[test]
    fn filter_drops_what_python_counts_false_at_every_depth() {
        let v = json!({
            "null": null, "false": false, "zero": 0, "zero_float": 0.0, "empty": "", "list": [], "obj": {},
            "kept": [0, [], "x"], "gone": [0, null, []], "nested": { "a": { "b": null } }, "one": 1, "true": true,
            "deep": { "keep": "y", "drop": 0 },
        });
        assert_eq!(
            filtered(v),
            json!({ "kept": [0, null, "x"], "one": 1, "true": true, "deep": { "keep": "y" } }),
            "items of a kept list stay, filtered themselves"
        );
        assert_eq!(filtered(json!([])), Value::Null);
        assert_eq!(filtered(json!({})), json!({}));
    }

    #[test]
    fn selections_nest_deepest_first_and_the_empty_one_merges_the_node() {
        let select: Vec<String> = ["slaves", "", "builds/-1/"].map(String::from).to_vec();
        assert_eq!(in_selection_order(&select), ["builds/-1", "slaves", ""]);
        let mut data = json!({});
        place(&mut data, &["builds".into(), "-1".into()], json!({ "number": 3 }));
        place(&mut data, &["slaves".into()], json!({ "w": { "name": "w" } }));
        place(&mut data, &[], json!({ "slaves": ["w"], "state": "idle" }));
        assert_eq!(data, json!({ "builds": { "-1": { "number": 3 } }, "slaves": ["w"], "state": "idle" }));
        let mut data = json!({});
        place(&mut data, &["a".into(), "b".into()], json!(1));
        place(&mut data, &["a".into()], json!({ "c": 2 }));
        assert_eq!(data, json!({ "a": { "c": 2 } }), "a shallower selection replaces what is under it");
        let mut data = json!({});
        place(&mut data, &["pendingBuilds".into()], json!([1]));
        assert_eq!(data, json!({ "pendingBuilds": [1] }), "a list is put as it is");
    }
}
