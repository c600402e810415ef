//! `/rss` (RSS 2.0) and `/atom` (Atom 1.0): the newest finished builds, only the failed ones
//! unless `failures_only=false`, chosen by the waterfall's `builder=`, `category=` and
//! `branch=`, `count=` of them (default 20). Each entry links to the build's page and says
//! who is on its blamelist, which steps failed and how their logs end. The XML is written
//! by the `rss` and `atom_syndication` crates; the HTML inside an entry is escaped here,
//! and every text is kept to the characters XML allows. A feed built once serves every
//! reader until the next event, as the overview pages do.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Request, Response, handler};

use super::markup::{escape, xml_chars};
use super::{arg, failed, plain, query_args};
use crate::engine::links::{build_url, log_url};
use crate::engine::views::feed::{self, DEFAULT_COUNT, FeedEntry, FeedQuery, MAX_COUNT};
use crate::engine::views::waterfall::WaterfallQuery;
use crate::engine::{Engine, EngineError};

/// The two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
}

impl Format {
    fn path(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
        }
    }
}

/// Why a feed could not be written.
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("writing the feed failed: {0}")]
    Write(String),
}

/// `/rss`: the feed as RSS 2.0.
#[handler]
pub async fn rss_feed(engine: Data<&Arc<Engine>>, req: &Request) -> Response {
    serve(&engine, req, Format::Rss).await
}

/// `/atom`: the feed as Atom 1.0.
#[handler]
pub async fn atom_feed(engine: Data<&Arc<Engine>>, req: &Request) -> Response {
    serve(&engine, req, Format::Atom).await
}

/// The feed's arguments, or what is wrong with them.
fn feed_query(args: &[(String, String)]) -> Result<FeedQuery, String> {
    let failures_only = match arg(args, "failures_only").map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "1" | "yes" | "on") => true,
        Some("false" | "0" | "no" | "off") => false,
        Some(other) => return Err(format!("failures_only is true or false, not `{other}`\n")),
    };
    let count = match arg(args, "count") {
        None => DEFAULT_COUNT,
        Some(n) => n.trim().parse::<u32>().map_err(|_| format!("count is a number of builds, not `{n}`\n"))?,
    };
    Ok(FeedQuery { filter: WaterfallQuery::from_args(args), failures_only, count: count.clamp(1, MAX_COUNT) })
}

async fn serve(engine: &Arc<Engine>, req: &Request, format: Format) -> Response {
    let args = query_args(req);
    let q = match feed_query(&args) {
        Ok(q) => q,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let query = req.uri().query().filter(|q| !q.is_empty()).map(|q| format!("?{q}")).unwrap_or_default();
    let self_url = format!("{}{}{query}", engine.config().base_url, format.path());
    let body = engine
        .pages
        .get_or_build(format!("feed {self_url}"), async {
            let entries = engine.feed(&q).await?;
            let text = match format {
                Format::Rss => rss_of(engine, &q, &entries, &self_url)?,
                Format::Atom => atom_of(engine, &q, &entries, &self_url)?,
            };
            Ok::<_, FeedError>(Bytes::from(text))
        })
        .await;
    match body {
        Ok(body) => Response::builder()
            .header(header::CONTENT_TYPE, format.content_type())
            .header(header::CACHE_CONTROL, "no-cache")
            .body(body),
        Err(FeedError::Engine(EngineError::NotFound(message))) => plain(StatusCode::NOT_FOUND, format!("{message}\n")),
        Err(e) => failed("writing a feed", &e),
    }
}

/// The feed's title and one-line description.
fn heading(engine: &Engine, q: &FeedQuery) -> (String, String) {
    let what = if q.failures_only { "failed builds" } else { "builds" };
    let title = xml_chars(&engine.config().title).into_owned();
    (format!("{title}: {what}"), format!("The newest {what} of {title}, newest first."))
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// "1 h 2 min 5 s".
fn duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min {s} s"),
    }
}

/// An entry's body: HTML, every text in it escaped.
fn entry_html(engine: &Engine, e: &FeedEntry) -> String {
    let base = &engine.config().base_url;
    let b = &e.build;
    let url = escape(&build_url(base, &b.builder, b.number));
    let mut html = format!(
        "<p><a href=\"{url}\">{}</a>: {}</p><ul>",
        escape(&feed::title(b)),
        escape(if b.state_text.is_empty() { "finished" } else { &b.state_text })
    );
    let mut item = |name: &str, value: String| html.push_str(&format!("<li>{name}: {value}</li>"));
    item("Branch", escape(b.branch.as_deref().unwrap_or("(default)")));
    if let Some(revision) = b.revision.as_deref() {
        item(
            "Revision",
            match engine.links().revision(&b.repository, Some(revision), None) {
                Some(link) => format!("<a href=\"{}\">{}</a>", escape(&link), escape(revision)),
                None => escape(revision),
            },
        );
    }
    if let Some(worker) = b.worker.as_deref() {
        item("Worker", escape(worker));
    }
    if !b.reason.is_empty() {
        item("Reason", escape(&b.reason));
    }
    if !e.blamelist.is_empty() {
        item("Blamelist", escape(&e.blamelist.join(", ")));
    }
    let took = b.finished_at.map(|f| format!(", took {}", duration(f - b.started_at))).unwrap_or_default();
    item("Started", format!("{}{took}", time(b.started_at).to_rfc3339()));
    html.push_str("</ul>");
    for f in &e.failed_steps {
        let s = &f.step;
        let state = if s.state_text.is_empty() { s.results.map_or("failed", |r| r.name()) } else { &s.state_text };
        html.push_str(&format!("<h3>Step {} {}: {}</h3>", s.number, escape(&s.name), escape(state)));
        if let Some(log) = &f.log {
            let link = escape(&log_url(base, &b.builder, b.number, s.number, log));
            html.push_str(&format!(
                "<p>The end of its log <a href=\"{link}\">{}</a>:</p><pre>{}</pre>",
                escape(log),
                escape(&f.tail.join("\n"))
            ));
        }
    }
    html
}

fn rss_of(engine: &Engine, q: &FeedQuery, entries: &[FeedEntry], self_url: &str) -> Result<Vec<u8>, FeedError> {
    use ::rss::extension::atom::{AtomExtension, Link};
    use ::rss::extension::dublincore::DublinCoreExtension;
    let (title, description) = heading(engine, q);
    let items = entries
        .iter()
        .map(|e| {
            let url = build_url(&engine.config().base_url, &e.build.builder, e.build.number);
            ::rss::Item {
                title: Some(xml_chars(&feed::title(&e.build)).into_owned()),
                link: Some(url.clone()),
                description: Some(entry_html(engine, e)),
                guid: Some(::rss::Guid { value: url, permalink: true }),
                pub_date: Some(time(e.build.finished_at.unwrap_or(e.build.started_at)).to_rfc2822()),
                categories: e
                    .tags
                    .iter()
                    .map(|t| ::rss::Category { name: xml_chars(t).into_owned(), domain: None })
                    .collect(),
                dublin_core_ext: (!e.blamelist.is_empty()).then(|| DublinCoreExtension {
                    creators: e.blamelist.iter().map(|a| xml_chars(a).into_owned()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let self_link = Link {
        href: self_url.to_owned(),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Default::default()
    };
    let channel = ::rss::Channel {
        title,
        link: engine.config().base_url.clone(),
        description,
        generator: Some(format!("Cascade {}", env!("CARGO_PKG_VERSION"))),
        last_build_date: entries.first().map(|e| time(e.build.finished_at.unwrap_or(e.build.started_at)).to_rfc2822()),
        items,
        atom_ext: Some(AtomExtension { links: vec![self_link] }),
        ..Default::default()
    };
    channel.write_to(Vec::new()).map_err(|e| FeedError::Write(e.to_string()))
}

/// `Name <email>` (a git author) as an Atom person.
fn person(author: &str) -> atom_syndication::Person {
    let author = xml_chars(author);
    let (name, email) = match author.trim().strip_suffix('>').and_then(|a| a.rsplit_once('<')) {
        Some((name, email)) if !name.trim().is_empty() => (name.trim().to_owned(), Some(email.trim().to_owned())),
        _ => (author.trim().to_owned(), None),
    };
    atom_syndication::Person { name, email, ..Default::default() }
}

fn atom_of(engine: &Engine, q: &FeedQuery, entries: &[FeedEntry], self_url: &str) -> Result<Vec<u8>, FeedError> {
    use atom_syndication::{Category, Content, Entry, Feed, Link, Text};
    let (title, description) = heading(engine, q);
    let base = &engine.config().base_url;
    let updated = |e: &FeedEntry| time(e.build.finished_at.unwrap_or(e.build.started_at)).fixed_offset();
    let items = entries
        .iter()
        .map(|e| {
            let url = build_url(base, &e.build.builder, e.build.number);
            Entry {
                title: Text::plain(xml_chars(&feed::title(&e.build)).into_owned()),
                id: url.clone(),
                updated: updated(e),
                published: Some(time(e.build.started_at).fixed_offset()),
                authors: e.blamelist.iter().map(|a| person(a)).collect(),
                links: vec![Link {
                    href: url,
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                }],
                categories: e
                    .tags
                    .iter()
                    .map(|t| Category { term: xml_chars(t).into_owned(), ..Default::default() })
                    .collect(),
                content: Some(Content {
                    value: Some(entry_html(engine, e)),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(title.clone()),
        subtitle: Some(Text::plain(description)),
        id: self_url.to_owned(),
        updated: entries.first().map(updated).unwrap_or_else(|| Utc::now().fixed_offset()),
        // Atom wants an author for every entry: those with no blamelist get the master's.
        authors: vec![atom_syndication::Person {
            name: xml_chars(&engine.config().title).into_owned(),
            uri: Some(base.clone()),
            ..Default::default()
        }],
        links: vec![
            Link {
                href: self_url.to_owned(),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: base.clone(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        generator: Some(atom_syndication::Generator {
            value: "Cascade".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        entries: items,
        ..Default::default()
    };
    feed.write_to(Vec::new()).map_err(|e| FeedError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_feed_lists_failures_unless_told_otherwise_and_bounds_its_count() {
        let q = feed_query(&[]).unwrap();
        assert!(q.failures_only);
        assert_eq!(q.count, DEFAULT_COUNT);
        let q = feed_query(&args(&[("failures_only", "false"), ("count", "100000"), ("builder", "a,b")])).unwrap();
        assert!(!q.failures_only);
        assert_eq!(q.count, MAX_COUNT);
        assert_eq!(q.filter.builders, ["a", "b"]);
        assert_eq!(feed_query(&args(&[("count", "0")])).unwrap().count, 1);
        assert!(feed_query(&args(&[("count", "many")])).is_err());
        assert!(feed_query(&args(&[("failures_only", "maybe")])).is_err());
    }

    #[test]
    fn git_authors_become_atom_people() {
        let p = person("Ann Example <ann@example.org>");
        assert_eq!((p.name.as_str(), p.email.as_deref()), ("Ann Example", Some("ann@example.org")));
        let p = person("bob");
        assert_eq!((p.name.as_str(), p.email), ("bob", None));
        assert_eq!(person("<only@mail>").name, "<only@mail>");
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(duration(5), "5 s");
        assert_eq!(duration(65), "1 min 5 s");
        assert_eq!(duration(3725), "1 h 2 min 5 s");
    }
}
