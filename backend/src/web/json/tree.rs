//! The nodes of 0.8.9's JSON status tree and how a path names one: `/json/builders/app/builds/-1`
//! is the root's child `builders`, its child `app`, and so on. Builders and workers are
//! looked up in the configuration here; build numbers, steps and changes only when their
//! node is read, so a path can name a node that turns out not to exist.

use crate::config::Config;

/// One node of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// `/json`: the builders, changes, project and slaves.
    Root,
    /// `/json/builders`: every builder by name.
    Builders,
    /// `/json/builders/B`.
    Builder(String),
    /// `/json/builders/B/slaves`: the builder's workers by name.
    BuilderSlaves(String),
    /// `/json/builders/B/pendingBuilds`: its requests waiting for a worker.
    PendingBuilds(String),
    /// `/json/builders/B/builds`: the numbers of its newest builds.
    Builds(String),
    /// `/json/builders/B/builds/_all`: its newest builds in full.
    AllBuilds(String),
    /// `/json/builders/B/builds/N`; a negative N counts back from the newest (-1).
    Build(String, i64),
    /// `/json/builders/B/builds/N/source_stamp`: the build's first source stamp.
    SourceStamp(String, i64),
    /// `/json/builders/B/builds/N/source_stamp/changes`: its changes by number.
    BuildChanges(String, i64),
    /// `/json/builders/B/builds/N/steps`: the steps by position, from 0.
    Steps(String, i64),
    /// `/json/builders/B/builds/N/steps/S`: a step by position (negative from the end) or name.
    Step(String, i64, String),
    /// `/json/changes`: the newest changes by number.
    Changes,
    /// `/json/changes/N`.
    Change(i64),
    /// `/json/slaves`: every worker by name.
    Slaves,
    /// `/json/slaves/W` (and `/json/builders/B/slaves/W`).
    Slave(String),
    /// `/json/project`: the master's title and URLs.
    Project,
}

/// A path element read as 0.8.9 read numbers: an optional sign and digits.
pub fn number(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Node {
    /// The child called `name`, if this node has one by that name.
    pub fn child(&self, name: &str, config: &Config) -> Option<Node> {
        let builder = |b: &str| config.builder(b).is_some();
        Some(match self {
            Node::Root => match name {
                "builders" => Node::Builders,
                "changes" => Node::Changes,
                "project" => Node::Project,
                "slaves" => Node::Slaves,
                _ => return None,
            },
            Node::Builders if builder(name) => Node::Builder(name.to_owned()),
            Node::Builder(b) => match name {
                "builds" => Node::Builds(b.clone()),
                "slaves" => Node::BuilderSlaves(b.clone()),
                "pendingBuilds" => Node::PendingBuilds(b.clone()),
                _ => return None,
            },
            Node::BuilderSlaves(b) if config.builder(b).is_some_and(|c| c.workers.iter().any(|w| w == name)) => {
                Node::Slave(name.to_owned())
            }
            Node::Builds(b) if name == "_all" => Node::AllBuilds(b.clone()),
            Node::Builds(b) | Node::AllBuilds(b) => Node::Build(b.clone(), number(name)?),
            Node::Build(b, n) => match name {
                "source_stamp" => Node::SourceStamp(b.clone(), *n),
                "steps" => Node::Steps(b.clone(), *n),
                _ => return None,
            },
            Node::SourceStamp(b, n) if name == "changes" => Node::BuildChanges(b.clone(), *n),
            Node::Steps(b, n) => Node::Step(b.clone(), *n, name.to_owned()),
            Node::Changes => Node::Change(number(name)?),
            Node::Slaves if config.worker(name).is_some() => Node::Slave(name.to_owned()),
            _ => return None,
        })
    }

    /// The node at `path` (elements under `/json`, empty ones skipped), if the path names one.
    pub fn at<S: AsRef<str>>(path: &[S], config: &Config) -> Option<Node> {
        path.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()).try_fold(Node::Root, |node, p| node.child(p, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = r#"
[[workers]]
name = "w1"
embedded = true
[[workers]]
name = "w2"
embedded = true
[[builders]]
name = "app"
workers = ["w1"]
steps = [{ name = "s", command = "true" }]
"#;
        crate::config::parse(text, std::path::Path::new("/srv/cascade.toml")).unwrap()
    }

    #[test]
    fn numbers_are_signed_digits_only() {
        assert_eq!(number("12"), Some(12));
        assert_eq!(number("-1"), Some(-1));
        assert_eq!(number("+3"), Some(3));
        for not in ["", "-", "1.5", "1e3", " 1", "x", "--1"] {
            assert_eq!(number(not), None, "{not:?}");
        }
    }

    #[test]
    fn paths_name_nodes_with_configured_builders_and_workers() {
        let c = config();
        let at = |p: &str| Node::at(&p.split('/').collect::<Vec<_>>(), &c);
        assert_eq!(at(""), Some(Node::Root));
        assert_eq!(at("builders/"), Some(Node::Builders));
        assert_eq!(at("builders/app"), Some(Node::Builder("app".into())));
        assert_eq!(at("builders/nope"), None);
        assert_eq!(at("builders/app/builds/-1"), Some(Node::Build("app".into(), -1)));
        assert_eq!(at("builders/app/builds/_all/7"), Some(Node::Build("app".into(), 7)));
        assert_eq!(at("builders/app/builds/x"), None);
        assert_eq!(at("builders/app/builds/3/steps/compile"), Some(Node::Step("app".into(), 3, "compile".into())));
        assert_eq!(at("builders/app/builds/3/source_stamp/changes"), Some(Node::BuildChanges("app".into(), 3)));
        assert_eq!(at("builders/app/slaves/w1"), Some(Node::Slave("w1".into())));
        assert_eq!(at("builders/app/slaves/w2"), None, "not one of the builder's workers");
        assert_eq!(at("slaves/w2"), Some(Node::Slave("w2".into())));
        assert_eq!(at("changes/5"), Some(Node::Change(5)));
        assert_eq!(at("project/x"), None);
        assert_eq!(at("metrics"), None);
    }
}
