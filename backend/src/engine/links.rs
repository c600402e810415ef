//! The `[web]` options that turn revisions, change comments, projects and repositories into
//! links (0.8.9's URL-decorating options `revlink`, `changecommentlink`, `projects` and
//! `repositories`), computed once on the server so every page, feed and mail links alike.
//!
//! Nothing here builds HTML: a comment is split into text parts, some carrying a link, and
//! whoever renders them escapes the text. Only `http:`, `https:` and site-relative URLs
//! are ever returned, so a hook that stores `javascript:` as a revlink links nowhere.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use regex::{Captures, Regex};

use crate::config::{CommentLink, Revlink, WebConfig};

/// A piece of a change comment: text, possibly linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPart {
    /// The text, unescaped.
    pub text: String,
    /// Where it links to, if anywhere.
    pub url: Option<String>,
    /// The link's title.
    pub title: Option<String>,
}

/// The link rules of one configuration.
#[derive(Clone, Debug, Default)]
pub struct Links {
    revlink: Option<Revlink>,
    comment: Option<(Regex, CommentLink)>,
    projects: std::collections::BTreeMap<String, String>,
    repositories: std::collections::BTreeMap<String, String>,
}

/// What a path segment escapes: all but letters, digits and `-_.!~*'()`, as the web UI's
/// own links do (JavaScript's `encodeURIComponent`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A build's page in the web UI, from the master's `base_url` (ending in `/`): the link
/// that mails and IRC messages give, the same as the UI's own.
pub fn build_url(base_url: &str, builder: &str, number: i64) -> String {
    let builder = utf8_percent_encode(builder, SEGMENT);
    format!("{base_url}builders/{builder}/builds/{number}")
}

/// `url` when it is safe to put in an `href`: http(s) or a path on this site.
pub fn safe_url(url: &str) -> Option<String> {
    let lower = url.trim_start().to_ascii_lowercase();
    let ok = lower.starts_with("http://")
        || lower.starts_with("https://")
        || (lower.starts_with('/') && !lower.starts_with("//") && !lower.starts_with("/\\"));
    ok.then(|| url.trim_start().to_owned())
}

impl Links {
    /// The rules of `[web]`; a `changecommentlink` regex that does not compile (checkconfig
    /// rejects it) links nothing.
    pub fn new(web: &WebConfig) -> Links {
        Links {
            revlink: web.revlink.clone(),
            comment: web.changecommentlink.clone().and_then(|c| Regex::new(&c.regex).ok().map(|re| (re, c))),
            projects: web.projects.clone(),
            repositories: web.repositories.clone(),
        }
    }

    /// The link of a revision: the change's own `revlink` when it has one, else the
    /// configured format (one for all, or the repository's), with the revision URL-encoded
    /// in place of `%s`.
    pub fn revision(&self, repository: &str, revision: Option<&str>, own: Option<&str>) -> Option<String> {
        if let Some(url) = own.filter(|u| !u.is_empty()).and_then(safe_url) {
            return Some(url);
        }
        let revision = revision.filter(|r| !r.is_empty())?;
        let format = match self.revlink.as_ref()? {
            Revlink::Format(f) => f,
            Revlink::PerRepository(table) => table.get(repository)?,
        };
        safe_url(&format.replace("%s", &utf8_percent_encode(revision, NON_ALPHANUMERIC).to_string()))
    }

    /// The comment split into text and links by `changecommentlink`; `None` when nothing
    /// in it is a link (the comment is then shown as it is).
    pub fn comment(&self, text: &str) -> Option<Vec<TextPart>> {
        let (re, link) = self.comment.as_ref()?;
        let mut parts = Vec::new();
        let mut last = 0;
        for caps in re.captures_iter(text) {
            let Some(whole) = caps.get(0).filter(|m| !m.is_empty()) else { continue };
            let Some(url) = safe_url(&expand(&link.url, &caps)) else { continue };
            if whole.start() > last {
                parts.push(TextPart { text: text[last..whole.start()].to_owned(), url: None, title: None });
            }
            parts.push(TextPart {
                text: whole.as_str().to_owned(),
                url: Some(url),
                title: link.title.as_ref().map(|t| expand(t, &caps)),
            });
            last = whole.end();
        }
        if parts.is_empty() {
            return None;
        }
        if last < text.len() {
            parts.push(TextPart { text: text[last..].to_owned(), url: None, title: None });
        }
        Some(parts)
    }

    /// The configured link of a project.
    pub fn project(&self, project: &str) -> Option<String> {
        self.projects.get(project).and_then(|u| safe_url(u))
    }

    /// The configured link of a repository.
    pub fn repository(&self, repository: &str) -> Option<String> {
        self.repositories.get(repository).and_then(|u| safe_url(u))
    }
}

/// Python's `re.sub` replacement syntax, as 0.8.9's configurations use it: `\1`…`\9`,
/// `\g<N>` and `\g<name>` insert groups, `\\` a backslash; anything else is literal.
fn expand(template: &str, caps: &Captures<'_>) -> String {
    let group = |key: &str| -> String {
        let m = match key.parse::<usize>() {
            Ok(i) => caps.get(i),
            Err(_) => caps.name(key),
        };
        m.map(|m| m.as_str().to_owned()).unwrap_or_default()
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let mut chars = tail.chars();
        match chars.next() {
            Some(d @ '0'..='9') => {
                out.push_str(&group(&d.to_string()));
                rest = &tail[1..];
            }
            Some('g') if tail[1..].starts_with('<') => match tail.find('>') {
                Some(end) => {
                    out.push_str(&group(&tail[2..end]));
                    rest = &tail[end + 1..];
                }
                None => {
                    out.push('\\');
                    rest = tail;
                }
            },
            Some('\\') => {
                out.push('\\');
                rest = &tail[1..];
            }
            _ => {
                out.push('\\');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A step's log in the web UI's log viewer, from the master's `base_url`: where feeds link
/// a failed step's log.
pub fn log_url(base_url: &str, builder: &str, number: i64, step: i64, log: &str) -> String {
    format!("{}/steps/{step}/logs/{}", build_url(base_url, builder, number), utf8_percent_encode(log, SEGMENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn links(revlink: Option<Revlink>, comment: Option<(&str, &str, Option<&str>)>) -> Links {
        Links {
            revlink,
            comment: comment.map(|(re, url, title)| {
                (
                    Regex::new(re).unwrap(),
                    CommentLink { regex: re.into(), url: url.into(), title: title.map(Into::into) },
                )
            }),
            projects: BTreeMap::from([("app".into(), "https://example.org/app".into())]),
            repositories: BTreeMap::from([("https://git/x".into(), "javascript:alert(1)".into())]),
        }
    }

    #[test]
    fn a_build_url_escapes_its_builder_name_as_the_web_ui_does() {
        assert_eq!(build_url("http://ci:8010/", "app", 3), "http://ci:8010/builders/app/builds/3");
        assert_eq!(build_url("http://ci:8010/", "a b/c", 3), "http://ci:8010/builders/a%20b%2Fc/builds/3");
        assert_eq!(build_url("/", "linux-x86_64.gcc~12", 1), "/builders/linux-x86_64.gcc~12/builds/1");
        assert_eq!(build_url("/", "é?#&%", 1), "/builders/%C3%A9%3F%23%26%25/builds/1");
    }

    #[test]
    fn a_revision_links_through_the_format_with_the_revision_encoded() {
        let l = links(Some(Revlink::Format("https://github.com/acme/app/commit/%s".into())), None);
        assert_eq!(l.revision("", Some("abc123"), None).as_deref(), Some("https://github.com/acme/app/commit/abc123"));
        assert_eq!(
            l.revision("", Some("a b/c"), None).as_deref(),
            Some("https://github.com/acme/app/commit/a%20b%2Fc")
        );
        assert_eq!(l.revision("", None, None), None);
    }

    #[test]
    fn a_change_s_own_revlink_wins_and_unsafe_ones_are_dropped() {
        let l = links(Some(Revlink::Format("https://x/%s".into())), None);
        assert_eq!(l.revision("", Some("r"), Some("https://own/r")).as_deref(), Some("https://own/r"));
        assert_eq!(l.revision("", Some("r"), Some("javascript:alert(1)")).as_deref(), Some("https://x/r"));
        assert_eq!(links(None, None).revision("", Some("r"), Some(" JavaScript:x")), None);
    }

    #[test]
    fn per_repository_revlinks_only_link_known_repositories() {
        let table =
            BTreeMap::from([("https://github.com/a/b".to_owned(), "https://github.com/a/b/commit/%s".to_owned())]);
        let l = links(Some(Revlink::PerRepository(table)), None);
        assert_eq!(
            l.revision("https://github.com/a/b", Some("f00"), None).as_deref(),
            Some("https://github.com/a/b/commit/f00")
        );
        assert_eq!(l.revision("https://elsewhere", Some("f00"), None), None);
    }

    #[test]
    fn comment_links_use_python_style_groups_and_keep_the_text_around_them() {
        let l = links(None, Some((r"#(\d+)", r"https://bugs.example.org/\1", Some(r"Ticket \g<0>"))));
        let parts = l.comment("fix #12 and #7.").unwrap();
        let texts: Vec<_> = parts.iter().map(|p| (p.text.as_str(), p.url.as_deref(), p.title.as_deref())).collect();
        assert_eq!(
            texts,
            [
                ("fix ", None, None),
                ("#12", Some("https://bugs.example.org/12"), Some("Ticket #12")),
                (" and ", None, None),
                ("#7", Some("https://bugs.example.org/7"), Some("Ticket #7")),
                (".", None, None),
            ]
        );
        assert_eq!(l.comment("nothing to link"), None);
    }

    #[test]
    fn comment_links_never_become_script_urls_and_markup_stays_text() {
        let l = links(None, Some((r"see (\S+)", r"\1", None)));
        assert_eq!(l.comment("see javascript:alert(1)"), None);
        let parts = l.comment("<b>see https://x/<i></b>").unwrap();
        assert_eq!(parts[0].text, "<b>");
        assert_eq!(parts[1].url.as_deref(), Some("https://x/<i></b>"));
    }

    #[test]
    fn named_groups_and_escaped_backslashes_expand() {
        let re = Regex::new(r"(?P<id>[A-Z]+-\d+)").unwrap();
        let caps = re.captures("JIRA-5").unwrap();
        assert_eq!(expand(r"https://j/\g<id>\\x\q", &caps), r"https://j/JIRA-5\x\q");
    }

    #[test]
    fn a_log_url_continues_its_build_s_url() {
        assert_eq!(
            log_url("https://ci/", "app-1.x", 3, 2, "std io"),
            "https://ci/builders/app-1.x/builds/3/steps/2/logs/std%20io"
        );
    }

    #[test]
    fn projects_and_repositories_link_only_safely() {
        let l = links(None, None);
        assert_eq!(l.project("app").as_deref(), Some("https://example.org/app"));
        assert_eq!(l.project("other"), None);
        assert_eq!(l.repository("https://git/x"), None);
    }
}
