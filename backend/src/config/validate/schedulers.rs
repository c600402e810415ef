//! Schedulers (picked by their `kind` key, with cron fields checked) and the change hook
//! (one entry per dialect). Both read their tables from the document piece by piece so that
//! each problem gets its own line.

use super::super::change_hooks::{
    BaseDialect, BitbucketDialect, ChangeHookConfig, GerritDialect, GithubDialect, GitlabDialect, GitoriousDialect,
    GooglecodeDialect, HookAuth, HookDialects, PollerDialect,
};
use super::super::doc::KeyPath;
use super::super::raw::scheduler::{AnyBranch, Force, KINDS, Nightly, Periodic, SingleBranch};
use super::super::raw::{OneOrMany, RawChangeHook};
use super::super::types::{ChangeFilter, SchedulerConfig, SchedulerKind};
use super::{Validator, push_or_fail};

/// The change hook dialects this build knows about.
const DIALECTS: &[&str] = &["base", "github", "gitlab", "bitbucket", "gitorious", "googlecode", "gerrit", "poller"];

impl Validator<'_, '_> {
    pub(super) fn schedulers(&mut self) -> Option<Vec<SchedulerConfig>> {
        let list = KeyPath::default().key("schedulers");
        let builders = self.names(&KeyPath::default().key("builders"));
        let mut schedulers = Some(Vec::new());
        for i in 0..self.doc.array_len(&list) {
            let at = list.index(i);
            let scheduler = self.scheduler(&at).and_then(|s| {
                let ok = self.check_name(&s.name, &at.key("name")) & self.check_builders(&s.builders, &builders, &at);
                ok.then_some(s)
            });
            push_or_fail(&mut schedulers, scheduler);
        }
        self.check_unique("scheduler", &list);
        schedulers
    }

    fn check_builders(&mut self, names: &[String], builders: &[String], at: &KeyPath) -> bool {
        if names.is_empty() {
            self.doc.issue(&at.key("builders"), "needs at least one builder name");
            return false;
        }
        let mut ok = true;
        for (i, name) in names.iter().enumerate() {
            if !builders.contains(name) {
                self.doc.issue(&at.key("builders").index(i), format!("unknown builder `{name}`"));
                ok = false;
            }
        }
        ok
    }

    fn scheduler(&mut self, at: &KeyPath) -> Option<SchedulerConfig> {
        let kind_at = at.key("kind");
        let kind = self.doc.get(&kind_at).map(|k| k.get_ref().as_str().map(str::to_owned));
        let kinds = KINDS.join(", ");
        let (name, builders, kind, properties) = match kind.as_ref().map(|k| k.as_deref()) {
            None => {
                self.doc.issue(&kind_at, format!("missing required key `kind` (one of: {kinds})"));
                return None;
            }
            Some(Some("single_branch")) => {
                let r = self.doc.unit::<SingleBranch>(at)?;
                let filter = filter(r.branches, r.project, r.repository, r.category, r.codebase);
                let kind =
                    SchedulerKind::SingleBranch { branch: r.branch, tree_stable_timer: r.tree_stable_timer, filter };
                (r.name, r.builders, kind, r.properties)
            }
            Some(Some("any_branch")) => {
                let r = self.doc.unit::<AnyBranch>(at)?;
                let filter = filter(r.branches, r.project, r.repository, r.category, r.codebase);
                (
                    r.name,
                    r.builders,
                    SchedulerKind::AnyBranch { tree_stable_timer: r.tree_stable_timer, filter },
                    r.properties,
                )
            }
            Some(Some("force")) => {
                let r = self.doc.unit::<Force>(at)?;
                (r.name, r.builders, SchedulerKind::Force {}, r.properties)
            }
            Some(Some("periodic")) => {
                let r = self.doc.unit::<Periodic>(at)?;
                if r.interval == 0 {
                    self.doc.issue(&at.key("interval"), "must be a positive number of seconds");
                    return None;
                }
                (r.name, r.builders, SchedulerKind::Periodic { interval: r.interval, branch: r.branch }, r.properties)
            }
            Some(Some("nightly")) => {
                let r = self.doc.unit::<Nightly>(at)?;
                let fields = [
                    ("minute", &r.minute.0, 0, 59),
                    ("hour", &r.hour.0, 0, 23),
                    ("day_of_month", &r.day_of_month.0, 1, 31),
                    ("month", &r.month.0, 1, 12),
                    ("day_of_week", &r.day_of_week.0, 0, 7),
                ];
                let mut ok = true;
                for (key, value, min, max) in fields {
                    if let Err(message) = check_cron(value, min, max) {
                        self.doc.issue(&at.key(key), message);
                        ok = false;
                    }
                }
                let kind = SchedulerKind::Nightly {
                    minute: r.minute.0,
                    hour: r.hour.0,
                    day_of_month: r.day_of_month.0,
                    month: r.month.0,
                    day_of_week: r.day_of_week.0,
                    branch: r.branch,
                };
                if !ok {
                    return None;
                }
                (r.name, r.builders, kind, r.properties)
            }
            Some(Some(other)) => {
                self.doc.issue(&kind_at, format!("unknown scheduler kind `{other}` (one of: {kinds})"));
                return None;
            }
            Some(None) => {
                self.doc.issue(&kind_at, format!("expected a string, one of: {kinds}"));
                return None;
            }
        };
        Some(SchedulerConfig { name, builders, kind, properties })
    }

    pub(super) fn change_hook(&mut self) -> Option<ChangeHookConfig> {
        let at = KeyPath::default().key("change_hook");
        let raw = self.doc.unit::<RawChangeHook>(&at);
        let dialects = self.dialects(&at.key("dialects"));
        let raw = raw?;
        let auth = match raw.auth {
            None => None,
            Some(auth) => match (auth.htpasswd, auth.users) {
                (Some(path), None) => Some(HookAuth::Htpasswd(self.absolute(path))),
                (None, Some(users)) => {
                    let users = users
                        .into_iter()
                        .map(|mut u| {
                            u.password = u.password.relative_to(&self.dir);
                            u
                        })
                        .collect();
                    Some(HookAuth::Users(users))
                }
                _ => {
                    let message = "takes exactly one of `htpasswd = \"path\"` or `users = [{ username, password }]`";
                    self.doc.issue(&at.key("auth"), message);
                    return None;
                }
            },
        };
        Some(ChangeHookConfig { dialects: dialects?, auth })
    }

    fn dialects(&mut self, at: &KeyPath) -> Option<HookDialects> {
        let mut dialects = HookDialects::default();
        let mut ok = true;
        if let Some(value) = self.doc.get(at)
            && !value.get_ref().is_table()
        {
            self.doc.issue(at, "expected a table such as { base = {} }");
            return None;
        }
        for name in self.doc.table_keys(at) {
            let here = at.key(&name);
            match name.as_str() {
                "base" => {
                    dialects.base = self.doc.unit::<BaseDialect>(&here);
                    ok &= dialects.base.is_some();
                }
                "github" => {
                    dialects.github = self.doc.unit::<GithubDialect>(&here).map(|mut d| {
                        d.secret = d.secret.map(|s| s.relative_to(&self.dir));
                        d
                    });
                    ok &= dialects.github.is_some();
                }
                "gitlab" => {
                    dialects.gitlab = self.doc.unit::<GitlabDialect>(&here).map(|mut d| {
                        d.token = d.token.map(|s| s.relative_to(&self.dir));
                        d
                    });
                    ok &= dialects.gitlab.is_some();
                }
                "bitbucket" => {
                    dialects.bitbucket = self.doc.unit::<BitbucketDialect>(&here).map(|mut d| {
                        d.secret = d.secret.map(|s| s.relative_to(&self.dir));
                        d
                    });
                    ok &= dialects.bitbucket.is_some();
                }
                "gitorious" => {
                    dialects.gitorious = self.doc.unit::<GitoriousDialect>(&here);
                    ok &= dialects.gitorious.is_some();
                }
                "googlecode" => {
                    dialects.googlecode = self.doc.unit::<GooglecodeDialect>(&here).map(|mut d| {
                        d.secret_key = d.secret_key.map(|s| s.relative_to(&self.dir));
                        d
                    });
                    ok &= dialects.googlecode.is_some();
                }
                "gerrit" => {
                    dialects.gerrit = self.doc.unit::<GerritDialect>(&here);
                    ok &= dialects.gerrit.is_some();
                }
                "poller" => {
                    dialects.poller = self.doc.unit::<PollerDialect>(&here);
                    ok &= dialects.poller.is_some();
                }
                other => {
                    let supported = DIALECTS.join(", ");
                    self.doc.issue(&here, format!("unknown change hook dialect `{other}` (supported: {supported})"));
                    ok = false;
                }
            }
        }
        ok.then_some(dialects)
    }
}

fn filter(
    branches: OneOrMany,
    projects: OneOrMany,
    repos: OneOrMany,
    categories: OneOrMany,
    codebases: OneOrMany,
) -> ChangeFilter {
    ChangeFilter {
        branches: branches.0,
        projects: projects.0,
        repositories: repos.0,
        categories: categories.0,
        codebases: codebases.0,
    }
}

/// Checks a cron field: a comma-separated list of `*`, `N` or `N-M`, each optionally `/STEP`.
fn check_cron(field: &str, min: u32, max: u32) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid cron field `{field}`: {why}"));
    if field.trim().is_empty() {
        return bad("empty");
    }
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step
            && !step.parse::<u32>().is_ok_and(|s| s > 0)
        {
            return bad("a step after `/` must be a positive integer");
        }
        if range == "*" {
            continue;
        }
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
            return bad("expected `*`, a number or a range such as `1-5`");
        };
        if lo < min || hi > max || lo > hi {
            return bad(&format!("values must be within {min}-{max}"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::check_cron;

    #[test]
    fn cron_fields_accept_lists_ranges_and_steps() {
        for ok in ["*", "0", "*/15", "1-5", "0,30", "1-31/2", "7"] {
            assert!(check_cron(ok, 0, 59).is_ok(), "{ok}");
        }
        for bad in ["", "60", "5-1", "*/0", "a", "1-", ",", "*/x"] {
            assert!(check_cron(bad, 0, 59).is_err(), "{bad}");
        }
        assert!(check_cron("0", 1, 31).is_err());
    }
}
