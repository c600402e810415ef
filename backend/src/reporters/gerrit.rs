//! `kind = "gerrit"`: Buildbot's GerritStatusPush over Gerrit's REST API. By default one review
//! sums up each build set once all its builds are done (`summary`); `per_build` reviews each
//! finished build, and `start_message` says when each build starts. A review is a message and
//! label scores, rendered when it is decided and POSTed to
//! `/a/changes/{change}/revisions/{patchset}/review`. The change and patch set come from the
//! `change`/`patchset` templates, else from the properties Gerrit's events set
//! (`event.change.number`, `event.patchSet.number`), else from a `refs/changes/NN/CHANGE/PS`
//! branch; a build with none of them is not reviewed.

use std::collections::BTreeMap;
use std::time::Duration;

use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value, json};

use super::forge_status::{SEGMENT, post, render_or_warn, variables};
use super::outbox::{Deliver, DeliverError};
use super::reach::HttpPeer;
use super::{BuildEvent, BuildSetEvent};
use crate::config::{GerritConfig, ReporterConfig, Secret};
use crate::engine::links::build_url;
use crate::model::{Build, Results};

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A Gerrit reporter.
pub struct Gerrit {
    name: String,
    config: GerritConfig,
    /// Cascade's own address, for the messages' links.
    site: String,
}

/// What a build's templates see beyond a commit status's variables.
fn build_variables(build: &Build, site: &str) -> Value {
    let mut vars = variables(build);
    if let Value::Object(map) = &mut vars {
        map.insert("url".into(), json!(build_url(site, &build.builder, build.number)));
        map.insert("state_text".into(), json!(build.state_text));
        map.insert("result_text".into(), json!(build.results.map_or("is running", result_text)));
    }
    vars
}

/// How the reference's summary words a result.
pub fn result_text(results: Results) -> &'static str {
    match results {
        Results::Success => "succeeded",
        Results::Failure => "failed",
        Results::Warnings => "completed with warnings",
        Results::Exception => "encountered an exception",
        Results::Skipped => "was skipped",
        Results::Retry => "was retried",
        Results::Cancelled => "was cancelled",
    }
}

/// The change and patch set a build's properties or branch name: `event.change.number` and
/// `event.patchSet.number` (flat, as Buildbot's Gerrit change source sets them, or nested),
/// else `refs/changes/NN/CHANGE/PS`.
pub fn change_of(build: &Build) -> Option<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let prop = |flat: &str, path: [&str; 3]| {
        let nested = || build.properties.get(path[0])?.get(path[1])?.get(path[2]);
        build.properties.get(flat).and_then(text).or_else(|| nested().and_then(text))
    };
    let change = prop("event.change.number", ["event", "change", "number"]);
    let patchset = prop("event.patchSet.number", ["event", "patchSet", "number"]);
    if let (Some(c), Some(p)) = (change, patchset) {
        return Some((c, p));
    }
    let rest = build.branch.as_deref()?.strip_prefix("refs/changes/")?;
    match rest.split('/').collect::<Vec<_>>()[..] {
        [shard, change, patchset]
            if [shard, change, patchset].iter().all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Some((change.to_owned(), patchset.to_owned()))
        }
        _ => None,
    }
}

impl Gerrit {
    /// The reporter `name` with options `config`, linking to builds under `site`.
    pub fn new(name: &str, config: &GerritConfig, site: &str) -> Self {
        Gerrit { name: name.to_owned(), config: config.clone(), site: site.to_owned() }
    }

    /// Whether it sums up build sets.
    pub fn summarises(&self) -> bool {
        self.config.summary
    }

    /// The message to store for a build that started, if it says so.
    pub fn on_build_started(&self, event: &BuildEvent<'_>) -> Option<(String, Value)> {
        let template = self.config.start_message.as_ref()?;
        let vars = build_variables(event.build, &self.site);
        let (change, patchset) = self.target(event.build, &vars)?;
        let message = self.render(template, &vars)?;
        let review = self.review(change, patchset, message, BTreeMap::new());
        Some((format!("build:{}:started", event.build.id.0), review))
    }

    /// The review to store for a build that finished, with `per_build` (a retried build has
    /// none: its request runs again).
    pub fn on_build_finished(&self, event: &BuildEvent<'_>) -> Option<(String, Value)> {
        let build = event.build;
        if !self.config.per_build || build.results == Some(Results::Retry) {
            return None;
        }
        let vars = build_variables(build, &self.site);
        let (change, patchset) = self.target(build, &vars)?;
        let message = self.render(&self.config.review_message, &vars)?;
        let labels = self.scores(&vars);
        Some((format!("build:{}:finished", build.id.0), self.review(change, patchset, message, labels)))
    }

    /// The summary to store for a build set whose builds are all done: its builds of the
    /// reporter's builders, its results, one review.
    pub fn on_buildset(&self, reporter: &ReporterConfig, event: &BuildSetEvent) -> Option<(String, Value)> {
        if !self.config.summary {
            return None;
        }
        let builds: Vec<&Build> = event
            .builds
            .iter()
            .filter(|(b, tags, _)| reporter.wants(&b.builder, tags) && b.results.is_some())
            .map(|(b, _, _)| b)
            .collect();
        let listed: Vec<Value> = builds.iter().map(|b| build_variables(b, &self.site)).collect();
        let (change, patchset) = builds.iter().zip(&listed).find_map(|(b, vars)| self.target(b, vars))?;
        let mut vars = listed.first()?.clone();
        if let Value::Object(map) = &mut vars {
            map.insert("results".into(), json!(event.results.name()));
            map.insert("result_text".into(), json!(result_text(event.results)));
            map.insert("builds".into(), Value::Array(listed));
            map.insert("buildset".into(), json!(event.id.0));
        }
        let message = self.render(&self.config.summary_message, &vars)?;
        let labels = self.scores(&vars);
        Some((format!("buildset:{}", event.id.0), self.review(change, patchset, message, labels)))
    }

    /// The change and patch set a build is about, if any.
    fn target(&self, build: &Build, vars: &Value) -> Option<(String, String)> {
        let (change, patchset) = match (&self.config.change, &self.config.patchset) {
            (Some(c), Some(p)) => (self.render(c, vars)?, self.render(p, vars)?),
            _ => change_of(build)?,
        };
        (!change.is_empty() && !patchset.is_empty()).then_some((change, patchset))
    }

    /// The labels' scores; a score that renders empty or 0 is left out, one that is not an
    /// integer is left out with a warning.
    fn scores(&self, vars: &Value) -> BTreeMap<String, i64> {
        let mut labels = BTreeMap::new();
        for (label, template) in &self.config.labels {
            let Some(text) = self.render(template, vars) else { continue };
            match text.parse::<i64>() {
                Ok(0) => {}
                Ok(score) => {
                    labels.insert(label.clone(), score);
                }
                Err(_) if text.is_empty() => {}
                Err(_) => tracing::warn!(reporter = %self.name, %label, score = %text, "not a score: label left out"),
            }
        }
        labels
    }

    fn render(&self, template: &str, vars: &Value) -> Option<String> {
        render_or_warn(&self.name, template, vars, "no review")
    }

    /// A stored review: where it goes and Gerrit's `ReviewInput`.
    fn review(&self, change: String, patchset: String, message: String, labels: BTreeMap<String, i64>) -> Value {
        let mut input = Map::new();
        input.insert("message".into(), json!(message));
        if !labels.is_empty() {
            input.insert("labels".into(), json!(labels));
        }
        if let Some(tag) = &self.config.tag {
            input.insert("tag".into(), json!(tag));
        }
        json!({ "change": change, "patchset": patchset, "review": input })
    }

    /// The delivery of its reviews.
    pub fn delivery(&self) -> Result<Delivery, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Delivery {
            peer: HttpPeer::new(&self.config.server_url),
            server_url: self.config.server_url.clone(),
            user: self.config.user.clone(),
            password: self.config.password.clone(),
            client,
        })
    }
}

/// POSTs the stored reviews.
pub struct Delivery {
    server_url: String,
    user: String,
    password: Secret,
    client: reqwest::Client,
    /// Whether the server could be reached.
    peer: HttpPeer,
}

impl Deliver for Delivery {
    /// After a POST that could not connect: whether the server takes a connection now.
    async fn peer_back(&self) -> bool {
        self.peer.back().await
    }

    async fn deliver(&self, payload: &Value) -> Result<(), DeliverError> {
        let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
        let (change, patchset) = (field("change"), field("patchset"));
        let Some(review) = payload.get("review").filter(|r| r.is_object()) else {
            return Err(DeliverError::Permanent(format!("not a Gerrit review: {payload}")));
        };
        if change.is_empty() || patchset.is_empty() {
            return Err(DeliverError::Permanent(format!("not a Gerrit review: {payload}")));
        }
        let url = format!(
            "{}/a/changes/{}/revisions/{}/review",
            self.server_url,
            utf8_percent_encode(change, SEGMENT),
            utf8_percent_encode(patchset, SEGMENT)
        );
        let password = self.password.resolve().map_err(|e| DeliverError::Transient(format!("password: {e}")))?;
        let request = self.client.post(&url).basic_auth(&self.user, Some(password));
        post(&self.peer, request, &url, review).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(branch: Option<&str>, properties: Value) -> Build {
        Build {
            properties: serde_json::from_value(properties).unwrap(),
            branch: branch.map(str::to_owned),
            ..Build::sample("app", 3)
        }
    }

    #[test]
    fn the_change_comes_from_gerrits_properties_or_the_branch() {
        let pair = |c: &str, p: &str| Some((c.to_owned(), p.to_owned()));
        let flat = json!({"event.change.number": 4711, "event.patchSet.number": "2"});
        assert_eq!(change_of(&build(Some("main"), flat)), pair("4711", "2"));
        let nested = json!({"event": {"change": {"number": "12"}, "patchSet": {"number": 5}}});
        assert_eq!(change_of(&build(None, nested)), pair("12", "5"));
        assert_eq!(change_of(&build(Some("refs/changes/45/12345/3"), json!({}))), pair("12345", "3"));
        for branch in ["refs/changes/45/12345", "refs/changes/45/12345/x", "refs/heads/main", "refs/changes//1/2"] {
            assert_eq!(change_of(&build(Some(branch), json!({}))), None, "{branch}");
        }
        // A change number without a patch set is not enough.
        assert_eq!(change_of(&build(None, json!({"event.change.number": 1}))), None);
    }

    #[test]
    fn results_read_as_the_reference_words_them() {
        let words: Vec<&str> = Results::ALL.iter().map(|r| result_text(*r)).collect();
        assert_eq!(words[..3], ["succeeded", "completed with warnings", "failed"]);
        assert_eq!(words[4], "encountered an exception");
    }
}
