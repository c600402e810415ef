//! `/json/help` (and `NODE/help` under it, as 0.8.9 answered): one HTML page documenting
//! every node of the tree, what it holds and its children, the arguments, and 0.8.9's
//! examples, each linked to the live node with a builder, build, worker and change of this
//! master. Every name is escaped in text and percent-encoded in links; links are relative,
//! so the page works behind a proxy that serves the master under a path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::load::{DEFAULT_CHANGES, MAX_ALL_BUILDS, MAX_CHANGES};
use super::shape::CACHED_BUILDS;
use crate::web::markup::escape;

/// Live names for the examples; a path needing one that is missing is shown unlinked.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    /// A builder, preferably one with builds.
    pub builder: Option<String>,
    /// Its newest build.
    pub build: Option<i64>,
    /// One of its workers.
    pub worker: Option<String>,
    /// The newest change.
    pub change: Option<i64>,
}

/// What a link's path segment or query value escapes: all but unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One node: its path (placeholders in capitals), what it holds, its children.
struct NodeDoc {
    path: &'static str,
    holds: &'static str,
    children: &'static str,
}

const NODES: &[NodeDoc] = &[
    NodeDoc {
        path: "/json",
        holds: "The root: <code>builders</code>, <code>changes</code>, <code>project</code> and \
                <code>slaves</code>, each as its own node gives it. On a big master that is a lot to \
                read: ask for a child, or <code>select</code> the parts you need.",
        children: "builders, changes, project, slaves",
    },
    NodeDoc { path: "/json/builders", holds: "Every builder, keyed by name.", children: "one per builder name" },
    NodeDoc {
        path: "/json/builders/BUILDER",
        holds: "A builder: <code>basedir</code>, <code>category</code> (its first tag), \
                <code>cachedBuilds</code> (the numbers of its newest builds), <code>currentBuilds</code> \
                (those running), <code>pendingBuilds</code> (how many requests wait), \
                <code>schedulers</code>, <code>slaves</code> (its workers' names) and <code>state</code> \
                (<code>idle</code>, <code>building</code> or <code>offline</code>).",
        children: "builds, slaves, pendingBuilds",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds",
        holds: "The numbers of the builder's newest builds, each with <code>null</code>. \
                <code>select=N</code> gives builds in full, keyed by N as written; a negative N counts \
                back from the newest (<code>-1</code> is the last build, running or not).",
        children: "a build number, _all",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds/_all",
        holds: "The newest builds in full, keyed by number: <code>max=</code> of them.",
        children: "a build number",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds/BUILD",
        holds: "A build: <code>builderName</code>, <code>number</code>, <code>results</code> \
                (0 success, 1 warnings, 2 failure, 3 skipped, 4 exception, 5 retry, 6 cancelled; \
                <code>null</code> while it runs), <code>text</code>, <code>times</code> (start and end, \
                epoch seconds), <code>slave</code>, <code>reason</code>, <code>blame</code> (its \
                changes' authors), <code>properties</code> (<code>[name, value, source]</code>), \
                <code>sourceStamps</code> and the first of them as <code>sourceStamp</code> (branch, \
                revision, project, repository, codebase, hasPatch, changes), <code>steps</code>, \
                <code>logs</code> (<code>[name, url]</code>), <code>currentStep</code> and \
                <code>eta</code> (seconds left) while it runs.",
        children: "source_stamp, steps",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds/BUILD/source_stamp",
        holds: "The build's first source stamp.",
        children: "changes (its changes, keyed by number)",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds/BUILD/steps",
        holds: "The build's steps keyed by position, from 0.",
        children: "a position (negative counts from the last) or a step name",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/builds/BUILD/steps/0",
        holds: "A step: <code>name</code>, <code>text</code>, <code>results</code> \
                (<code>[code, [words]]</code>), <code>isStarted</code>, <code>isFinished</code>, \
                <code>times</code>, <code>logs</code>, <code>step_number</code> (its position), \
                <code>hidden</code>, and the empty <code>statistics</code>, <code>expectations</code>, \
                <code>urls</code> and <code>eta</code>.",
        children: "none",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/slaves",
        holds: "The builder's workers, keyed by name, as <code>/json/slaves</code> gives them.",
        children: "one per worker name",
    },
    NodeDoc {
        path: "/json/builders/BUILDER/pendingBuilds",
        holds: "The builder's requests waiting for a worker, next first: <code>builderName</code>, \
                <code>submittedAt</code>, <code>source</code>, <code>properties</code>.",
        children: "none",
    },
    NodeDoc {
        path: "/json/changes",
        holds: "The newest changes, keyed by number: <code>max=</code> of them.",
        children: "a change number",
    },
    NodeDoc {
        path: "/json/changes/CHANGE",
        holds: "A change: <code>number</code>, <code>who</code>, <code>comments</code>, \
                <code>revision</code> (and <code>rev</code>), <code>revlink</code>, <code>branch</code>, \
                <code>category</code>, <code>when</code> (epoch seconds) and <code>at</code> (UTC), \
                <code>files</code> (<code>[{name}]</code>), <code>properties</code>, \
                <code>project</code>, <code>repository</code>, <code>codebase</code>.",
        children: "none",
    },
    NodeDoc { path: "/json/slaves", holds: "Every worker, keyed by name.", children: "one per worker name" },
    NodeDoc {
        path: "/json/slaves/WORKER",
        holds: "A worker: <code>name</code>, <code>connected</code>, <code>paused</code>, \
                <code>host</code>, <code>version</code>, <code>admin</code> and <code>access_uri</code> \
                (never set), <code>runningBuilds</code> (in full) and <code>builders</code> (for each \
                of its builders, the numbers of the recent builds it ran).",
        children: "none",
    },
    NodeDoc {
        path: "/json/project",
        holds: "The master: <code>projectName</code> (its title), <code>projectURL</code> (where the \
                title links) and <code>buildbotURL</code> (its public URL).",
        children: "none",
    },
];

/// 0.8.9's examples, with what each shows.
const EXAMPLES: &[(&str, &str)] = &[
    ("/json", "the root; not everything: logs, for one, are only linked"),
    ("/json/builders/BUILDER", "one builder"),
    ("/json/builders/BUILDER/builds", "the numbers of its newest builds"),
    ("/json/builders/BUILDER/builds/_all", "its newest builds in full"),
    ("/json/builders/BUILDER/builds/BUILD", "one build; a negative number counts back from the newest"),
    ("/json/builders/BUILDER/builds/-1/source_stamp/changes", "the changes of its last build"),
    ("/json/builders/BUILDER/builds?select=-1&select=-2", "its last two builds"),
    (
        "/json/builders/BUILDER/builds?select=-1/source_stamp/changes&select=-2/source_stamp/changes",
        "the changes of its last two builds",
    ),
    ("/json/builders/BUILDER/slaves", "its workers"),
    ("/json/builders/BUILDER?select=&select=slaves", "the builder, with its workers in full"),
    ("/json/slaves/WORKER", "one worker"),
    ("/json/changes/CHANGE", "one change"),
    (
        "/json?select=slaves/WORKER/&select=project&select=builders/BUILDER/builds/BUILD",
        "unrelated parts of the tree in one answer",
    ),
];

/// `text` with its placeholders replaced by `ex`'s names, percent-encoded or not, in one
/// pass (a name may itself hold a placeholder's letters); `None` when one is missing.
fn fill(text: &str, ex: &Examples, encode: bool) -> Option<String> {
    let names = [
        ("BUILDER", ex.builder.clone()),
        ("BUILD", ex.build.map(|n| n.to_string())),
        ("WORKER", ex.worker.clone()),
        ("CHANGE", ex.change.map(|n| n.to_string())),
    ];
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        match names.iter().find(|(placeholder, _)| rest.starts_with(placeholder)) {
            Some((placeholder, name)) => {
                let name = name.as_deref()?;
                match encode {
                    true => out.extend(utf8_percent_encode(name, COMPONENT)),
                    false => out.push_str(name),
                }
                rest = &rest[placeholder.len()..];
            }
            None => {
                let mut chars = rest.chars();
                out.extend(chars.next());
                rest = chars.as_str();
            }
        }
    }
    Some(out)
}

/// A link to the live node at `path` (pretty-printed), when the examples fill it; `root`
/// leads from the page to the site's root.
fn live(path: &str, root: &str, ex: &Examples) -> Option<String> {
    let (shown, href) = (fill(path, ex, false)?, fill(path, ex, true)?);
    let href = href.trim_start_matches('/');
    let sep = if href.contains('?') { '&' } else { '?' };
    Some(format!("<a href=\"{}\"><code>{}</code></a>", escape(&format!("{root}{href}{sep}as_text=1")), escape(&shown)))
}

/// The page; `title` is the master's, `root` the relative way from the page to the site's
/// root (`../` for `/json/help`).
pub fn page(title: &str, root: &str, ex: &Examples) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}: JSON status help</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;line-height:1.4}}\
         dt{{margin-top:.8em;font-weight:bold}}code{{background:#f4f4f4}}</style></head><body>\n\
         <h1>{title}: JSON status</h1>\n\
         <p>The status of this master as Buildbot 0.8.9's <code>/json</code> tree gave it, for \
         scripts written against it. Each node is a path under <code>/json</code>; a node holds \
         its children as they are at their own path. Links open a node of this master, \
         pretty-printed (<code>as_text=1</code>); <code>/json/help</code> is this page.</p>\n\
         <h2>Nodes</h2>\n<dl>\n",
        title = escape(title)
    );
    for n in NODES {
        let here = live(n.path, root, ex).map(|l| format!(" Here: {l}")).unwrap_or_default();
        html.push_str(&format!(
            "<dt><code>{}</code></dt><dd>{} Children: {}.{here}</dd>\n",
            escape(n.path),
            n.holds,
            escape(n.children)
        ));
    }
    html.push_str(&format!(
        "</dl>\n<h2>Arguments</h2>\n<dl>\n\
         <dt><code>as_text=1</code></dt><dd>Indented, as <code>text/plain</code>, with \
         <code>filter</code> on unless <code>filter=0</code>: for reading in a browser.</dd>\n\
         <dt><code>compact=0</code> or <code>1</code></dt><dd>Without whitespace (the default, \
         unless <code>as_text=1</code>) or indented.</dd>\n\
         <dt><code>filter=1</code></dt><dd>Leaves out, at every depth, values that are null, \
         false, 0, or an empty string, list or object (a list of only such values too).</dd>\n\
         <dt><code>select=PATH</code></dt><dd>Repeated: only these parts of the node, each a path \
         under it (<code>select=slaves/NAME</code>, or on <code>builds</code> a build number). \
         <code>select=</code> alone is the node itself. A path that names nothing gives \
         <code>{{\"error\": \"Not available\"}}</code> in its place.</dd>\n\
         <dt><code>max=N</code></dt><dd>How many changes <code>/json/changes</code> lists (default \
         {DEFAULT_CHANGES}, at most {MAX_CHANGES}) and how many builds <code>builds/_all</code> gives \
         (default {CACHED_BUILDS}, at most {MAX_ALL_BUILDS}).</dd>\n\
         <dt><code>callback=NAME</code></dt><dd>Refused with 400. JSONP would let any web page \
         load this master's status as a script and read it, with the visitor's login; a page \
         that needs the status can be served by the master itself, from \
         <code>public_html</code>.</dd>\n</dl>\n<h2>Examples</h2>\n<ul>\n"
    ));
    for (path, what) in EXAMPLES {
        let shown = live(path, root, ex).unwrap_or_else(|| format!("<code>{}</code>", escape(path)));
        html.push_str(&format!("<li>{shown}: {what}</li>\n"));
    }
    html.push_str("</ul>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_text_and_encoded_in_links() {
        let ex = Examples {
            builder: Some("<b>x</b>&\"".into()),
            build: Some(7),
            worker: Some("BUILDER w".into()),
            change: None,
        };
        let html = page("<i>Title</i>", "../", &ex);
        assert!(html.contains("<title>&lt;i&gt;Title&lt;/i&gt;: JSON status help</title>"), "{html}");
        assert!(!html.contains("<b>x</b>") && !html.contains("<i>Title"), "{html}");
        let encoded = "%3Cb%3Ex%3C%2Fb%3E%26%22";
        assert!(
            html.contains(&format!(
                "<a href=\"../json/builders/{encoded}/builds/7?as_text=1\"><code>/json/builders/&lt;b&gt;x&lt;/b&gt;&amp;&quot;/builds/7</code></a>"
            )),
            "{html}"
        );
        assert!(html.contains("href=\"../json/slaves/BUILDER%20w?as_text=1\""), "a name is not read again: {html}");
        assert!(
            html.contains(&format!("href=\"../json/builders/{encoded}/builds?select=-1&amp;select=-2&amp;as_text=1\"")),
            "{html}"
        );
        assert!(html.contains("<code>/json/changes/CHANGE</code>:"), "no change to show: not linked: {html}");
        assert!(html.contains("<a href=\"../json?as_text=1\"><code>/json</code></a>"), "{html}");
    }

    #[test]
    fn every_node_is_documented_once() {
        let html = page("t", "../", &Examples::default());
        for n in NODES {
            assert_eq!(html.matches(&format!("<dt><code>{}</code></dt>", n.path)).count(), 1, "{}", n.path);
        }
    }
}
