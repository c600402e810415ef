//! A mail's subject, headers and bodies from its facts: pure functions, no I/O.
//!
//! The subject, the `extra_headers` values and a custom body (`template`) are minijinja
//! templates. They see these variables (a build set summary's subject sees the build set's;
//! its body template is rendered once per build and the results are joined):
//!
//! | variable | what |
//! |---|---|
//! | `title`, `title_url`, `projectName` | the master's title and link (`projectName` is `title`, as in 0.8.9) |
//! | `cascade_url` | the master's `base_url` |
//! | `mode` | the reporter's modes, a list of names |
//! | `builder` | the builder's name; `(whole buildset)` in a summary's subject |
//! | `number` | the build's number (none in a summary's subject) |
//! | `result`, `previous_result` | `success`, `warnings`, `failure`, `skipped`, `exception`, `retry` or `cancelled`; the previous build's of the builder and branch (none if it has none) |
//! | `status_detected` | what the mail reports: `new failure`, `failed build`, `problem in the build`, `restored build`, `passing build`, `build exception`, `cancelled build` … |
//! | `headline` | `Build succeeded!`, `BUILD FAILED: failed test` … |
//! | `build_url`, `worker`, `reason`, `text` | the build's page, worker, reason and state text |
//! | `branch`, `revision`, `projects` | the build's branch and revision, its source stamps' projects (comma-separated) |
//! | `sources` | source stamps: `codebase`, `repository`, `branch`, `revision`, `revision_url`, `project`, `has_patch` |
//! | `changes` | `id`, `author`, `revision`, `revision_url`, `branch`, `comments`, `repository`, `project`, `files`, `when` (epoch seconds) |
//! | `blamelist` | the changes' authors, each once |
//! | `steps` | `number`, `name`, `result` (none if unfinished), `text`, `url`, `log_tail` (failed steps: `name`, `url`, `lines`) |
//! | `properties` | the build's properties |
//! | `summary` | true in a build set summary |
//! | `buildset` | in a summary: `id`, `result`, `reason` |
//! | `builds` | every build of the mail, each with the build variables above |
//!
//! Without `template` the body is Cascade's own ([`super::body`]): plain text and HTML
//! alternatives saying what 0.8.9's default message said, plus the steps and the end of the
//! failed steps' logs. Either body ends with the list of attachments left out for their
//! size, if any.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::facts::{BuildFacts, LogTail, MailFacts, SourceFacts};
use crate::config::{BodyType, MailConfig, MailMode};
use crate::model::Results;

/// The builder name a build set summary's subject shows.
pub const WHOLE_BUILDSET: &str = "(whole buildset)";

/// A rendered mail, before addressing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject, on one line.
    pub subject: String,
    /// The body.
    pub body: Body,
    /// `extra_headers`, rendered, each on one line.
    pub headers: Vec<(String, String)>,
}

/// A mail's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Cascade's own message: the same in plain text and HTML.
    Alternative {
        /// `text/plain`.
        plain: String,
        /// `text/html`.
        html: String,
    },
    /// A custom template's plain text.
    Plain(String),
    /// A custom template's HTML.
    Html(String),
}

/// Renders the mail described by `facts`; an error is a template that fails at run time.
pub fn render(config: &MailConfig, facts: &MailFacts) -> Result<Rendered, String> {
    let builds: Vec<Value> = facts.builds.iter().map(|b| build_context(&config.mode, b)).collect();
    let top = top_context(config, facts, &builds);
    let env = minijinja::Environment::new();
    let subject = env
        .render_named_str("subject.txt", &config.subject, &top)
        .map_err(|e| format!("the subject template failed: {e}"))?;
    let mut headers = Vec::with_capacity(config.extra_headers.len());
    for (name, template) in &config.extra_headers {
        let value = env
            .render_named_str("header.txt", template, &top)
            .map_err(|e| format!("the template of header {name} failed: {e}"))?;
        headers.push((name.clone(), one_line(&value)));
    }
    let body = match &config.template {
        None => Body::Alternative {
            plain: super::body::default_plain(config, facts),
            html: super::body::default_html(config, facts),
        },
        Some(template) => {
            let name = match config.template_type {
                BodyType::Plain => "body.txt",
                BodyType::Html => "body.html",
            };
            let mut parts = Vec::with_capacity(builds.len());
            for build in &builds {
                let ctx = merge(&top, build);
                parts
                    .push(env.render_named_str(name, template, &ctx).map_err(|e| format!("the template failed: {e}"))?);
            }
            // Whatever the template says, the reader learns what was not attached.
            match config.template_type {
                BodyType::Plain => {
                    let mut text = parts.join("\n\n");
                    let note = super::body::left_out_plain(&facts.left_out);
                    if !note.is_empty() && !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    Body::Plain(text + &note)
                }
                BodyType::Html => Body::Html(parts.join("\n") + &super::body::left_out_html(&facts.left_out)),
            }
        }
    };
    Ok(Rendered { subject: one_line(&subject), body, headers })
}

/// What a mail reports, as in "The Cascade has detected a new failure": a failure is new
/// and a success restores the builder when the result changed and the modes look for
/// changes (`change`, or `problem` for a failure).
pub fn status_detected(modes: &[MailMode], results: Results, previous: Option<Results>) -> &'static str {
    let changed = previous.is_some_and(|p| p != results);
    match results {
        Results::Failure if changed && (modes.contains(&MailMode::Change) || modes.contains(&MailMode::Problem)) => {
            "new failure"
        }
        Results::Failure => "failed build",
        Results::Warnings => "problem in the build",
        Results::Success if changed && modes.contains(&MailMode::Change) => "restored build",
        Results::Success => "passing build",
        Results::Exception => "build exception",
        Results::Cancelled => "cancelled build",
        Results::Retry => "retried build",
        Results::Skipped => "skipped build",
    }
}

/// The one-line verdict of a build.
pub fn headline(results: Results, text: &str) -> String {
    match results {
        Results::Success => "Build succeeded!".to_owned(),
        Results::Warnings => format!("Build Had Warnings: {text}"),
        Results::Failure => format!("BUILD FAILED: {text}"),
        Results::Exception => format!("BUILD EXCEPTION: {text}"),
        Results::Cancelled => format!("BUILD CANCELLED: {text}"),
        Results::Retry => format!("BUILD RETRIED: {text}"),
        Results::Skipped => "Build skipped".to_owned(),
    }
}

/// The text and background colours of a result, as the web UI shows them.
pub fn colours(results: Option<Results>) -> (&'static str, &'static str) {
    match results {
        Some(Results::Success) => ("#000", "#8d4"),
        Some(Results::Warnings) => ("#fff", "#fa3"),
        Some(Results::Failure) => ("#000", "#e88"),
        Some(Results::Skipped) => ("#000", "#addeee"),
        Some(Results::Exception | Results::Retry) => ("#fff", "#c6c"),
        Some(Results::Cancelled) => ("#000", "#ecc"),
        None => ("#000", "#fd3"),
    }
}

#[derive(Serialize)]
struct StepContext<'a> {
    number: i64,
    name: &'a str,
    result: Option<&'static str>,
    text: &'a str,
    url: &'a str,
    log_tail: Option<&'a LogTail>,
}

#[derive(Serialize)]
struct ChangeContext<'a> {
    id: i64,
    author: &'a str,
    revision: Option<&'a str>,
    revision_url: Option<&'a str>,
    branch: Option<&'a str>,
    comments: &'a str,
    repository: &'a str,
    project: &'a str,
    files: &'a [String],
    when: i64,
}

#[derive(Serialize)]
struct BuildContext<'a> {
    builder: &'a str,
    number: i64,
    result: &'static str,
    previous_result: Option<&'static str>,
    status_detected: &'static str,
    headline: String,
    build_url: &'a str,
    worker: Option<&'a str>,
    reason: &'a str,
    text: &'a str,
    branch: Option<&'a str>,
    revision: Option<&'a str>,
    projects: String,
    sources: &'a [SourceFacts],
    changes: Vec<ChangeContext<'a>>,
    blamelist: Vec<String>,
    steps: Vec<StepContext<'a>>,
    properties: &'a BTreeMap<String, Value>,
}

fn build_context(modes: &[MailMode], b: &BuildFacts) -> Value {
    let ctx = BuildContext {
        builder: &b.builder,
        number: b.number,
        result: b.results.name(),
        previous_result: b.previous.map(Results::name),
        status_detected: status_detected(modes, b.results, b.previous),
        headline: headline(b.results, &b.text),
        build_url: &b.url,
        worker: b.worker.as_deref(),
        reason: &b.reason,
        text: &b.text,
        branch: b.branch.as_deref(),
        revision: b.revision.as_deref(),
        projects: b.projects(),
        sources: &b.sources,
        changes: b
            .changes
            .iter()
            .map(|c| ChangeContext {
                id: c.id,
                author: &c.author,
                revision: c.revision.as_deref(),
                revision_url: c.revision_url.as_deref(),
                branch: c.branch.as_deref(),
                comments: &c.comments,
                repository: &c.repository,
                project: &c.project,
                files: &c.files,
                when: c.when,
            })
            .collect(),
        blamelist: b.blamelist(),
        steps: b
            .steps
            .iter()
            .map(|s| StepContext {
                number: s.number,
                name: &s.name,
                result: s.results.map(Results::name),
                text: &s.text,
                url: &s.url,
                log_tail: s.log_tail.as_ref(),
            })
            .collect(),
        properties: &b.properties,
    };
    serde_json::to_value(ctx).unwrap_or(Value::Null)
}

/// The subject's variables: the one build's, or the build set's.
fn top_context(config: &MailConfig, facts: &MailFacts, builds: &[Value]) -> Value {
    let mut top = match (&facts.buildset, builds) {
        (None, [one]) => one.as_object().cloned().unwrap_or_default(),
        _ => {
            let results = facts.results();
            let mut m = Map::new();
            m.insert("builder".into(), WHOLE_BUILDSET.into());
            m.insert("result".into(), results.name().into());
            m.insert("status_detected".into(), status_detected(&config.mode, results, None).into());
            m.insert("headline".into(), headline(results, "").trim_end_matches([':', ' ']).into());
            let mut blamelist: Vec<String> = Vec::new();
            let mut projects: Vec<String> = Vec::new();
            for b in &facts.builds {
                for a in b.blamelist() {
                    if !blamelist.contains(&a) {
                        blamelist.push(a);
                    }
                }
                for p in b.projects().split(", ").filter(|p| !p.is_empty()) {
                    if !projects.iter().any(|x| x == p) {
                        projects.push(p.to_owned());
                    }
                }
            }
            m.insert("blamelist".into(), blamelist.into());
            m.insert("projects".into(), projects.join(", ").into());
            if let Some(set) = &facts.buildset {
                m.insert("reason".into(), set.reason.clone().into());
            }
            m
        }
    };
    top.insert("title".into(), facts.title.clone().into());
    top.insert("projectName".into(), facts.title.clone().into());
    top.insert("title_url".into(), facts.title_url.clone().into());
    top.insert("cascade_url".into(), facts.base_url.clone().into());
    let modes: Vec<&str> =
        config.mode.iter().filter_map(|m| MailMode::ALL.iter().find(|(_, x)| x == m).map(|(n, _)| *n)).collect();
    top.insert("mode".into(), modes.into());
    top.insert("summary".into(), facts.buildset.is_some().into());
    let set = facts
        .buildset
        .as_ref()
        .map(|s| serde_json::json!({ "id": s.id, "result": s.results.name(), "reason": s.reason }));
    top.insert("buildset".into(), set.unwrap_or(Value::Null));
    top.insert("builds".into(), Value::Array(builds.to_vec()));
    Value::Object(top)
}

/// `top` with one build's variables over it.
fn merge(top: &Value, build: &Value) -> Value {
    let mut out = top.as_object().cloned().unwrap_or_default();
    if let Some(b) = build.as_object() {
        for (k, v) in b {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// A header value on one line: line breaks would start new headers.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
