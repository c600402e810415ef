//! The JSON bodies an `http_push` reporter POSTs, made from what [`super::load`] read: no
//! database, no network. These types are the schemas the OpenAPI document publishes (its
//! webhooks, `crate::api::webhooks`), and a body is their serialisation, so the document and
//! the bytes on the wire cannot drift apart.

use std::collections::BTreeMap;

use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object};
use serde_json::Value;

use crate::api::types::Results;

/// The `Content-Type` of every body.
pub const CONTENT_TYPE: &str = "application/json";

/// The header carrying a body's signature, when the reporter has a `secret`.
pub const SIGNATURE_HEADER: &str = "X-Cascade-Signature";

/// A build as an `http_push` receiver sees it, read from the database when the event leaves.
#[derive(Clone, Debug, PartialEq, Object)]
pub struct PushBuild {
    /// The builder's name.
    pub builder: String,
    /// The build's number in its builder, from 1.
    pub number: i64,
    /// The build's id in this master's database.
    pub id: i64,
    /// The build's outcome; null while it runs.
    #[oai(nullable)]
    pub results: Option<Results>,
    /// The build's state as the web pages show it ("building", "build successful", ...).
    pub state_text: String,
    /// When it started, in epoch seconds.
    pub started_at: i64,
    /// When it ended, in epoch seconds; null while it runs.
    #[oai(nullable)]
    pub finished_at: Option<i64>,
    /// Its page on the master, from `base_url`.
    pub url: String,
    /// Its source stamp's branch.
    #[oai(nullable)]
    pub branch: Option<String>,
    /// Its source stamp's revision.
    #[oai(nullable)]
    pub revision: Option<String>,
    /// Why it ran.
    pub reason: String,
    /// Its properties, name to value.
    pub properties: BTreeMap<String, Value>,
    /// The authors of its changes, each once, sorted.
    pub blamelist: Vec<String>,
}

/// What happened to the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PushEventKind {
    /// The build started.
    #[oai(rename = "build.started")]
    Started,
    /// The build ended.
    #[oai(rename = "build.finished")]
    Finished,
}

/// One event: a build started or ended.
#[derive(Clone, Debug, PartialEq, Object)]
pub struct PushEvent {
    /// The event's stable id (`build:345:finished`): an event sent again, after a retry or a
    /// restart of the master, carries the same id, so a receiver can recognise it.
    pub id: String,
    /// What happened.
    pub event: PushEventKind,
    /// The build, as stored when the event left: a `build.started` sent after the build ended
    /// reports its results and end.
    pub build: PushBuild,
}

/// Several events in one POST (with `buffer_delay`).
#[derive(Clone, Debug, PartialEq, Object)]
pub struct PushBatch {
    /// The events, in the order they happened.
    pub events: Vec<PushEvent>,
}

/// The bytes POSTed for `body`: its JSON exactly as the document describes it.
pub fn encode(body: &impl ToJSON) -> Result<Vec<u8>, String> {
    let json = body.to_json().ok_or("the body has no JSON form")?;
    serde_json::to_vec(&json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build() -> PushBuild {
        PushBuild {
            builder: "b".into(),
            number: 3,
            id: 7,
            results: Some(Results::Success),
            state_text: "build successful".into(),
            started_at: 10,
            finished_at: Some(12),
            url: "http://m/builders/b/builds/3".into(),
            branch: Some("main".into()),
            revision: None,
            reason: "forced".into(),
            properties: BTreeMap::from([("p".to_owned(), json!(["v", "Build"]))]),
            blamelist: vec!["alice".into()],
        }
    }

    fn event(event: PushEventKind) -> PushEvent {
        PushEvent { id: "build:7:finished".into(), event, build: build() }
    }

    fn sent(body: &impl ToJSON) -> Value {
        serde_json::from_slice(&encode(body).unwrap()).unwrap()
    }

    /// The names of the properties of `schema` in the published document, sorted.
    fn documented(spec: &Value, schema: &str) -> Vec<String> {
        let properties = spec["components"]["schemas"][schema]["properties"].as_object();
        let mut names: Vec<String> = properties.expect(schema).keys().cloned().collect();
        names.sort();
        names
    }

    /// The names of the fields of `object`, sorted.
    fn keys(object: &Value) -> Vec<String> {
        let mut names: Vec<String> = object.as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    #[test]
    fn a_sent_body_has_exactly_the_documented_fields() {
        let spec: Value = serde_json::from_str(&crate::api::spec_json()).unwrap();
        let batch = sent(&PushBatch { events: vec![event(PushEventKind::Started), event(PushEventKind::Finished)] });
        assert_eq!(keys(&batch), documented(&spec, "PushBatch"));
        for one in [sent(&event(PushEventKind::Finished)), batch["events"][0].clone()] {
            assert_eq!(keys(&one), documented(&spec, "PushEvent"));
            assert_eq!(keys(&one["build"]), documented(&spec, "PushBuild"));
        }
        let enum_of = |schema: &str| spec["components"]["schemas"][schema]["enum"].clone();
        assert_eq!(enum_of("PushEventKind"), json!(["build.started", "build.finished"]));
        assert_eq!(
            (&batch["events"][0]["event"], &batch["events"][1]["event"]),
            (&json!("build.started"), &json!("build.finished"))
        );
        assert!(enum_of("Results").as_array().unwrap().contains(&batch["events"][1]["build"]["results"]));
        assert_eq!(batch["events"][1]["id"], "build:7:finished");
    }

    #[test]
    fn unset_fields_are_sent_as_null_and_documented_as_nullable() {
        let spec: Value = serde_json::from_str(&crate::api::spec_json()).unwrap();
        let running = sent(&PushBuild { results: None, finished_at: None, branch: None, ..build() });
        assert_eq!(keys(&running), documented(&spec, "PushBuild"), "a field not set is sent, not left out");
        let properties = &spec["components"]["schemas"]["PushBuild"]["properties"];
        for field in ["results", "finished_at", "branch", "revision"] {
            assert_eq!(running[field], Value::Null, "{field}");
            assert_eq!(properties[field]["nullable"], true, "{field}");
        }
        assert_eq!((&running["blamelist"], &running["properties"]), (&json!(["alice"]), &json!({"p": ["v", "Build"]})));
    }
}
