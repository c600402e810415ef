//! The JSON bodies an `http_push` reporter POSTs, made from what [`super::load`] read: no
//! database, no network. The schema is in `docs/http_push.md`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

/// A build as the receiver sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildBody {
    /// The builder's name.
    pub builder: String,
    /// The build's number in its builder.
    pub number: i64,
    /// The build's global id.
    pub id: i64,
    /// `success`, `failure`, ..., or null while it runs.
    pub results: Option<&'static str>,
    /// "building", "build successful", ...
    pub state_text: String,
    /// Epoch seconds.
    pub started_at: i64,
    /// Epoch seconds, null while it runs.
    pub finished_at: Option<i64>,
    /// Its page on the master.
    pub url: String,
    /// Its source stamp's branch.
    pub branch: Option<String>,
    /// Its source stamp's revision.
    pub revision: Option<String>,
    /// Why it ran.
    pub reason: String,
    /// Its properties.
    pub properties: BTreeMap<String, Value>,
    /// The authors of its changes, each once, sorted.
    pub blamelist: Vec<String>,
}

/// Which event a message reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `build.started`.
    Started,
    /// `build.finished`.
    Finished,
}

impl Event {
    /// The event's name in a body.
    pub fn name(self) -> &'static str {
        match self {
            Event::Started => "build.started",
            Event::Finished => "build.finished",
        }
    }

    /// The event named `name` in a stored message.
    pub fn parse(name: &str) -> Option<Event> {
        match name {
            "build.started" => Some(Event::Started),
            "build.finished" => Some(Event::Finished),
            _ => None,
        }
    }
}

/// One event: `{"event": ..., "build": {...}}`.
pub fn event(event: Event, build: &BuildBody) -> Value {
    json!({ "event": event.name(), "build": build })
}

/// Several events in one POST: `{"events": [...]}`.
pub fn batch(events: Vec<Value>) -> Value {
    json!({ "events": events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_and_a_batch_have_their_documented_shape() {
        let build = BuildBody {
            builder: "b".into(),
            number: 3,
            id: 7,
            results: Some("success"),
            state_text: "build successful".into(),
            started_at: 10,
            finished_at: Some(12),
            url: "http://m/builders/b/builds/3".into(),
            branch: Some("main".into()),
            revision: None,
            reason: "forced".into(),
            properties: BTreeMap::from([("p".to_owned(), json!(["v", "Build"]))]),
            blamelist: vec!["alice".into()],
        };
        let one = event(Event::Finished, &build);
        assert_eq!(one["event"], "build.finished");
        assert_eq!(one["build"]["number"], 3);
        assert_eq!(one["build"]["revision"], Value::Null);
        assert_eq!(one["build"]["blamelist"], json!(["alice"]));
        let keys: Vec<&String> = one["build"].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 13);
        let many = batch(vec![event(Event::Started, &build), one]);
        assert_eq!(many["events"][0]["event"], "build.started");
        assert_eq!(Event::parse("build.started"), Some(Event::Started));
        assert_eq!(Event::parse("x"), None);
    }
}
