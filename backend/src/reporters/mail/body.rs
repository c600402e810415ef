//! Cascade's own message, used when a reporter has no `template`: what Buildbot 0.8.9's
//! default message said (who, what, where, the verdict), plus the steps and the end of the
//! failed steps' logs, as plain text and as a small inline-styled HTML page that mail
//! clients show alike; and the note listing the attachments left out for their size, which
//! every body gets. Pure functions.

use crate::web::markup::escape;
use std::fmt::Write as _;

use super::facts::{BuildFacts, LeftOut, MailFacts, SourceFacts};
use super::load::{MAX_ATTACHED_LOG, MAX_ATTACHED_TOTAL};
use super::render::{colours, headline, status_detected};
use crate::config::MailConfig;
use crate::model::Results;

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
    out.push_str(&left_out_plain(&facts.left_out));
    out.push_str("\nSincerely,\n -The Cascade\n");
    out
}

fn left_out_intro() -> String {
    let mib = |n: usize| n / (1024 * 1024);
    format!(
        "Not attached, for their size (a mail attaches at most {} MiB per file and {} MiB in all)",
        mib(MAX_ATTACHED_LOG),
        mib(MAX_ATTACHED_TOTAL)
    )
}

fn size(item: &LeftOut) -> String {
    item.size.map(|n| format!(" ({n} bytes)")).unwrap_or_default()
}

/// The plain text note listing the attachments left out, each with its size and where to
/// read it; empty when nothing is.
pub fn left_out_plain(left_out: &[LeftOut]) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let mut out = format!("\n{}:\n", left_out_intro());
    for item in left_out {
        let _ = write!(out, "    {}{}", item.filename, size(item));
        if let Some(url) = &item.url {
            let _ = write!(out, ": {url}");
        }
        out.push('\n');
    }
    out
}

/// [`left_out_plain`] as HTML.
pub fn left_out_html(left_out: &[LeftOut]) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let mut out = format!("<p>{}:</p>\n<ul>\n", escape(&left_out_intro()));
    for item in left_out {
        let _ = writeln!(out, "<li>{}{}</li>", link(item.url.as_deref(), &item.filename), escape(&size(item)));
    }
    out.push_str("</ul>\n");
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
    out.push_str(&left_out_html(&facts.left_out));
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
