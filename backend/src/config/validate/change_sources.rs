//! `[[change_sources]]`: pollers, picked by their `kind`.

use super::super::doc::KeyPath;
use super::super::raw::RawGitPoller;
use super::super::types::{ChangeSourceConfig, ChangeSourceKind, GitPollerConfig, PollBranches};
use super::{Validator, push_or_fail};

/// The change source kinds this build knows about.
const KINDS: &[&str] = &["git_poller"];

impl Validator<'_, '_> {
    pub(super) fn change_sources(&mut self) -> Option<Vec<ChangeSourceConfig>> {
        let list = KeyPath::default().key("change_sources");
        let mut sources = Some(Vec::new());
        let mut names: Vec<String> = Vec::new();
        for i in 0..self.doc.array_len(&list) {
            let at = list.index(i);
            let source = self.change_source(&at);
            if let Some(s) = &source {
                if names.contains(&s.name) {
                    self.doc.issue(&at.key("name"), format!("duplicate change source name `{}`", s.name));
                    push_or_fail(&mut sources, None::<ChangeSourceConfig>);
                    continue;
                }
                names.push(s.name.clone());
            }
            push_or_fail(&mut sources, source);
        }
        sources
    }

    fn change_source(&mut self, at: &KeyPath) -> Option<ChangeSourceConfig> {
        let kind_at = at.key("kind");
        let kind = self.doc.get(&kind_at).map(|k| k.get_ref().as_str().map(str::to_owned));
        let kinds = KINDS.join(", ");
        match kind.as_ref().map(|k| k.as_deref()) {
            None => {
                self.doc.issue(&kind_at, format!("missing required key `kind` (one of: {kinds})"));
                None
            }
            Some(Some("git_poller")) => {
                let r = self.doc.unit::<RawGitPoller>(at)?;
                let mut ok = true;
                if r.repo_url.trim().is_empty() {
                    self.doc.issue(&at.key("repo_url"), "must name a repository");
                    ok = false;
                }
                if r.poll_interval == 0 {
                    self.doc.issue(&at.key("poll_interval"), "must be a positive number of seconds");
                    ok = false;
                }
                let name = r.name.clone().unwrap_or_else(|| r.repo_url.clone());
                if r.name.is_some() {
                    ok &= self.check_name(&name, &at.key("name"));
                }
                let branches = match r.branches.map(|b| b.0) {
                    None => PollBranches::List(vec!["main".into()]),
                    Some(list) if list == ["all"] => PollBranches::All,
                    Some(list) if list.is_empty() => {
                        self.doc.issue(&at.key("branches"), "needs at least one branch, or \"all\"");
                        ok = false;
                        PollBranches::List(list)
                    }
                    Some(list) => PollBranches::List(list),
                };
                let poller = GitPollerConfig {
                    repo_url: r.repo_url,
                    branches,
                    poll_interval: r.poll_interval,
                    poll_at_launch: r.poll_at_launch,
                    project: r.project,
                    category: r.category,
                    codebase: r.codebase,
                };
                ok.then_some(ChangeSourceConfig { name, kind: ChangeSourceKind::GitPoller(poller) })
            }
            Some(Some(other)) => {
                self.doc.issue(&kind_at, format!("unknown change source kind `{other}` (one of: {kinds})"));
                None
            }
            Some(None) => {
                self.doc.issue(&kind_at, format!("expected a string, one of: {kinds}"));
                None
            }
        }
    }
}
