//! Scheduler decisions as pure functions: which changes a scheduler takes, when a
//! tree-stable timer has expired, when a periodic or nightly scheduler is due, and the
//! reason text of the buildsets they make. The engine applies them inside transactions.

pub mod cron;

use crate::config::{ChangeFilter, SchedulerConfig, SchedulerKind};
use crate::model::NewChange;

/// What a scheduler does with a new change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not interested.
    Ignore,
    /// Build it now, in the change's own transaction.
    BuildNow,
    /// Hold it until no change has arrived for `timer` seconds.
    Hold {
        /// The tree-stable timer.
        timer: u64,
    },
}

fn any_or(values: &[String], value: &str) -> bool {
    values.is_empty() || values.iter().any(|v| v == value)
}

/// Whether a change passes a filter (an empty list matches anything).
pub fn filter_matches(filter: &ChangeFilter, change: &NewChange) -> bool {
    let branch = change.branch.as_deref().unwrap_or("");
    any_or(&filter.branches, branch)
        && any_or(&filter.projects, &change.project)
        && any_or(&filter.repositories, &change.repository)
        && any_or(&filter.categories, change.category.as_deref().unwrap_or(""))
        && any_or(&filter.codebases, &change.codebase)
}

/// What `scheduler` does with `change`.
pub fn decide(scheduler: &SchedulerConfig, change: &NewChange) -> Decision {
    let (interested, timer) = match &scheduler.kind {
        SchedulerKind::SingleBranch { branch, tree_stable_timer, filter } => {
            (change.branch.as_deref() == Some(branch.as_str()) && filter_matches(filter, change), *tree_stable_timer)
        }
        SchedulerKind::AnyBranch { tree_stable_timer, filter } => (filter_matches(filter, change), *tree_stable_timer),
        _ => (false, 0),
    };
    match (interested, timer) {
        (false, _) => Decision::Ignore,
        (true, 0) => Decision::BuildNow,
        (true, timer) => Decision::Hold { timer },
    }
}

/// Whether held changes (arrival times) are stable: the newest arrived `timer` seconds ago.
pub fn is_stable(arrivals: &[i64], timer: u64, now: i64) -> bool {
    arrivals.iter().max().is_some_and(|newest| now - newest >= timer as i64)
}

/// Whether a periodic scheduler last run at `last` is due again (a new one runs at once).
pub fn periodic_due(last: Option<i64>, interval: u64, now: i64) -> bool {
    last.is_none_or(|last| now - last >= interval as i64)
}

/// The reason recorded on a buildset, in Buildbot's words.
pub fn reason(scheduler: &SchedulerConfig) -> String {
    let kind = match scheduler.kind {
        SchedulerKind::SingleBranch { .. } => "SingleBranchScheduler",
        SchedulerKind::AnyBranch { .. } => "AnyBranchScheduler",
        SchedulerKind::Force { .. } => "ForceScheduler",
        SchedulerKind::Periodic { .. } => "Periodic scheduler",
        SchedulerKind::Nightly { .. } => "Nightly scheduler",
    };
    format!("The {kind} named '{}' triggered this build", scheduler.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(kind: SchedulerKind) -> SchedulerConfig {
        SchedulerConfig { name: "s".into(), builders: vec!["b".into()], kind, properties: Default::default() }
    }

    fn change(branch: &str) -> NewChange {
        NewChange { branch: Some(branch.into()), project: "app".into(), ..Default::default() }
    }

    #[test]
    fn single_branch_takes_only_its_branch() {
        let s = sched(SchedulerKind::SingleBranch {
            branch: "main".into(),
            tree_stable_timer: 0,
            filter: ChangeFilter::default(),
        });
        assert_eq!(decide(&s, &change("main")), Decision::BuildNow);
        assert_eq!(decide(&s, &change("dev")), Decision::Ignore);
        assert_eq!(decide(&s, &NewChange::default()), Decision::Ignore);
    }

    #[test]
    fn a_tree_stable_timer_holds_changes() {
        let s = sched(SchedulerKind::SingleBranch {
            branch: "main".into(),
            tree_stable_timer: 30,
            filter: ChangeFilter::default(),
        });
        assert_eq!(decide(&s, &change("main")), Decision::Hold { timer: 30 });
        assert!(!is_stable(&[100, 120], 30, 149));
        assert!(is_stable(&[100, 120], 30, 150));
        assert!(!is_stable(&[], 30, 1000));
    }

    #[test]
    fn any_branch_applies_its_filter() {
        let filter = ChangeFilter {
            projects: vec!["app".into()],
            branches: vec!["main".into(), "dev".into()],
            ..Default::default()
        };
        let s = sched(SchedulerKind::AnyBranch { tree_stable_timer: 0, filter });
        assert_eq!(decide(&s, &change("dev")), Decision::BuildNow);
        assert_eq!(decide(&s, &change("feature")), Decision::Ignore);
        let mut other = change("main");
        other.project = "lib".into();
        assert_eq!(decide(&s, &other), Decision::Ignore);
    }

    #[test]
    fn force_and_periodic_ignore_changes() {
        assert_eq!(decide(&sched(SchedulerKind::Force {}), &change("main")), Decision::Ignore);
        let p = sched(SchedulerKind::Periodic { interval: 60, branch: None });
        assert_eq!(decide(&p, &change("main")), Decision::Ignore);
    }

    #[test]
    fn periodic_is_due_at_start_and_every_interval() {
        assert!(periodic_due(None, 60, 1000));
        assert!(!periodic_due(Some(1000), 60, 1059));
        assert!(periodic_due(Some(1000), 60, 1060));
    }

    #[test]
    fn reasons_name_the_scheduler() {
        let s = sched(SchedulerKind::Force {});
        assert_eq!(reason(&s), "The ForceScheduler named 's' triggered this build");
    }
}
