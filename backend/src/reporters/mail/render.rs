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
//! Without `template` the body is Cascade's own: plain text and HTML alternatives saying
//! what 0.8.9's default message said, plus the steps and the end of the failed steps' logs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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
        None => Body::Alternative { plain: default_plain(config, facts), html: default_html(config, facts) },
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
            match config.template_type {
                BodyType::Plain => Body::Plain(parts.join("\n\n")),
                BodyType::Html => Body::Html(parts.join("\n")),
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

fn source_line(s: &SourceFacts, many: bool) -> String {
    let mut line = String::new();
    if many && !s.codebase.is_empty() {
        let _ = write!(line, "{}: ", s.codebase);
    }
    if let Some(branch) = &s.branch {
        let _ = write!(line, "[branch {branch}] ");
    }
    line.push_str(s.revision.as_deref().unwrap_or("HEAD"));
    if s.has_patch {
        line.push_str(" (plus patch)");
    }
    line
}

fn about(b: &BuildFacts, facts: &MailFacts) -> String {
    let projects = b.projects();
    if projects.is_empty() { facts.title.clone() } else { projects }
}

/// Cascade's plain text message: 0.8.9's default message, with the steps and the end of
/// the failed steps' logs.
pub fn default_plain(config: &MailConfig, facts: &MailFacts) -> String {
    let mut out = String::new();
    for (i, b) in facts.builds.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        plain_build(&mut out, config, facts, b);
    }
    out.push_str("\nSincerely,\n -The Cascade\n");
    out
}

fn plain_build(out: &mut String, config: &MailConfig, facts: &MailFacts, b: &BuildFacts) {
    let detected = status_detected(&config.mode, b.results, b.previous);
    let _ = writeln!(
        out,
        "The Cascade has detected a {detected} on builder {} while building {}.",
        b.builder,
        about(b, facts)
    );
    let _ = writeln!(out, "Full details are available at:\n    {}\n", b.url);
    let _ = writeln!(out, "Cascade URL: {}\n", facts.base_url);
    let _ = writeln!(out, "Worker for this Build: {}\n", b.worker.as_deref().unwrap_or("(none)"));
    let _ = writeln!(out, "Build Reason: {}", b.reason);
    let many = b.sources.len() > 1;
    for s in &b.sources {
        let _ = writeln!(out, "Build Source Stamp: {}", source_line(s, many));
        if let Some(url) = &s.revision_url {
            let _ = writeln!(out, "    {url}");
        }
    }
    let _ = writeln!(out, "Blamelist: {}\n", b.blamelist().join(", "));
    let _ = writeln!(out, "{}\n", headline(b.results, &b.text));
    if !b.steps.is_empty() {
        out.push_str("Steps:\n");
        for s in &b.steps {
            let result = s.results.map_or("not finished", Results::name);
            let _ = write!(out, "    {}. {}: {result}", s.number, s.name);
            if !s.text.is_empty() && s.text != s.name {
                let _ = write!(out, " - {}", s.text);
            }
            out.push('\n');
        }
    }
    for s in &b.steps {
        let Some(tail) = &s.log_tail else { continue };
        let _ = writeln!(out, "\nLast {} lines of {}.{} ({}):", tail.lines.len(), s.name, tail.name, tail.url);
        for line in &tail.lines {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// `text` with HTML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn link(url: Option<&str>, text: &str) -> String {
    match url.and_then(crate::engine::links::safe_url) {
        Some(url) => format!("<a href=\"{}\" style=\"color:#1a5fb4\">{}</a>", escape(&url), escape(text)),
        None => escape(text),
    }
}

const TABLE: &str = "border-collapse:collapse;font:14px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
const TH: &str =
    "text-align:left;vertical-align:top;padding:4px 12px 4px 0;color:#555;font-weight:normal;white-space:nowrap";
const TD: &str = "padding:4px 0;vertical-align:top";
const PRE: &str = "background:#f6f8fa;border:1px solid #ddd;padding:8px;font:12px/1.35 Menlo,Consolas,monospace;\
    white-space:pre-wrap;word-break:break-all;margin:4px 0 16px";

/// Cascade's HTML message: the plain message's content as a small inline-styled page.
pub fn default_html(config: &MailConfig, facts: &MailFacts) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"max-width:880px;margin:0;padding:16px;font:14px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222\">\n",
    );
    for (i, b) in facts.builds.iter().enumerate() {
        if i > 0 {
            out.push_str("<hr style=\"border:0;border-top:1px solid #ccc;margin:24px 0\">\n");
        }
        html_build(&mut out, config, facts, b);
    }
    out.push_str("<p style=\"color:#555\">Sincerely,<br>&nbsp;-The Cascade</p>\n</body></html>\n");
    out
}

fn html_build(out: &mut String, config: &MailConfig, facts: &MailFacts, b: &BuildFacts) {
    let detected = status_detected(&config.mode, b.results, b.previous);
    let _ = writeln!(
        out,
        "<p>The Cascade has detected a <b>{}</b> on builder <b>{}</b> while building {}.</p>",
        escape(detected),
        escape(&b.builder),
        escape(&about(b, facts))
    );
    let (fg, bg) = colours(Some(b.results));
    let _ = writeln!(
        out,
        "<p style=\"background:{bg};color:{fg};padding:8px 12px;font-weight:bold;margin:8px 0\">{}</p>",
        escape(&headline(b.results, &b.text))
    );
    let _ = writeln!(out, "<table style=\"{TABLE}\">");
    let row = |out: &mut String, name: &str, value: String| {
        let _ = writeln!(out, "<tr><th style=\"{TH}\">{name}</th><td style=\"{TD}\">{value}</td></tr>");
    };
    row(out, "Build", link(Some(&b.url), &format!("{} #{}", b.builder, b.number)));
    row(out, "Worker", escape(b.worker.as_deref().unwrap_or("(none)")));
    row(out, "Reason", escape(&b.reason));
    let many = b.sources.len() > 1;
    for s in &b.sources {
        let text = source_line(s, many);
        row(out, "Source", link(s.revision_url.as_deref(), &text));
    }
    row(out, "Blamelist", escape(&b.blamelist().join(", ")));
    row(out, "Cascade", link(Some(&facts.base_url), &facts.title));
    out.push_str("</table>\n");
    if !b.steps.is_empty() {
        let _ = writeln!(out, "<h3 style=\"font-size:15px;margin:16px 0 4px\">Steps</h3>\n<table style=\"{TABLE}\">");
        for s in &b.steps {
            let (fg, bg) = colours(s.results);
            let result = s.results.map_or("not finished", Results::name);
            let _ = writeln!(
                out,
                "<tr><td style=\"{TD};padding-right:8px;color:#555\">{}</td><td style=\"{TD};padding-right:8px\">{}</td>\
                 <td style=\"padding:2px 8px;background:{bg};color:{fg}\">{}</td><td style=\"{TD};padding-left:8px\">{}</td></tr>",
                s.number,
                link(Some(&s.url), &s.name),
                escape(result),
                if s.text == s.name { String::new() } else { escape(&s.text) }
            );
        }
        out.push_str("</table>\n");
    }
    for s in &b.steps {
        let Some(tail) = &s.log_tail else { continue };
        let name = format!("{}.{}", s.name, tail.name);
        let _ = writeln!(
            out,
            "<h3 style=\"font-size:15px;margin:16px 0 4px\">Last {} lines of {}</h3>",
            tail.lines.len(),
            link(Some(&tail.url), &name)
        );
        let _ = writeln!(out, "<pre style=\"{PRE}\">{}</pre>", escape(&tail.lines.join("\n")));
    }
}

#[cfg(test)]
mod tests;
