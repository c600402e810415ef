//! The console (0.8.9 `web/console.py`): the newest changes × the builders, each box the
//! result of the newest build of that builder containing the change, coloured by 0.8.9's
//! `getResultsClass`, with the failed steps of red boxes. Everything is read with one query
//! per kind of thing (changes, their builds, the builds before them, failed steps), whatever
//! the number of rows and builders.

use std::collections::{HashMap, HashSet};

use super::BuilderOverview;
use crate::config::Config;
use crate::db::{self, changes::Filter as ChangeFilter};
use crate::engine::schedulers::{Decision, decide};
use crate::engine::{Engine, EngineError};
use crate::model::{Build, BuildId, BuilderId, Change, ChangeId, Results, Step};

/// The console's query arguments.
#[derive(Clone, Debug, Default)]
pub struct ConsoleQuery {
    /// Only these builders.
    pub builders: Vec<String>,
    /// Only builders with one of these tags.
    pub categories: Vec<String>,
    /// Only changes of these repositories.
    pub repositories: Vec<String>,
    /// Only changes of these branches.
    pub branches: Vec<String>,
    /// Only changes of these projects.
    pub projects: Vec<String>,
    /// Only changes of these codebases.
    pub codebases: Vec<String>,
    /// Only changes by these authors (0.8.9's `name=`).
    pub names: Vec<String>,
    /// How many changes (0.8.9's `revs`, default 40).
    pub revs: u32,
}

/// What a box shows (0.8.9's CSS classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoxClass {
    /// The build containing the change is running.
    Running,
    /// No build of this builder contains the change yet, but one would.
    NotStarted,
    /// This builder does not build such changes.
    NotInBuilder,
    /// Succeeded.
    Success,
    /// Succeeded with warnings.
    Warnings,
    /// Failed, where the builder's build before it did not: this change may have broken it.
    Failure,
    /// Failed, as the builder's build before it did.
    FailureAgain,
    /// Anything else: exception, retry, cancelled, skipped.
    Exception,
}

/// 0.8.9's `getResultsClass`: the class of a box from the build that contains the change (if
/// any), the results of the builder's build before that one, and whether the builder builds
/// such changes at all.
pub fn box_class(build: Option<&Build>, previous: Option<Results>, in_builder: bool) -> BoxClass {
    let Some(build) = build else {
        return if in_builder { BoxClass::NotStarted } else { BoxClass::NotInBuilder };
    };
    match build.results {
        None => BoxClass::Running,
        Some(Results::Success) => BoxClass::Success,
        Some(Results::Warnings) => BoxClass::Warnings,
        Some(Results::Failure) if previous == Some(Results::Failure) => BoxClass::FailureAgain,
        Some(Results::Failure) => BoxClass::Failure,
        Some(_) => BoxClass::Exception,
    }
}

/// Whether any scheduler feeding `builder` would build `change`.
pub fn builds_change(config: &Config, builder: &str, change: &Change) -> bool {
    config
        .schedulers
        .iter()
        .filter(|s| s.builders.iter().any(|b| b == builder))
        .any(|s| decide(s, &change.fields) != Decision::Ignore)
}

/// One box.
#[derive(Clone, Debug)]
pub struct ConsoleBox {
    /// Its class.
    pub class: BoxClass,
    /// The newest build of the builder containing the change.
    pub build: Option<Build>,
    /// That build's failed steps with their logs (for `failure` and `failure-again` boxes).
    pub failed_steps: Vec<Step>,
}

/// One change and its boxes, one per builder column.
#[derive(Clone, Debug)]
pub struct ConsoleRow {
    /// The change.
    pub change: Change,
    /// Every change the row stands for (see [`fold_revisions`]).
    pub change_ids: Vec<ChangeId>,
    /// The boxes, in the order of the page's builders.
    pub boxes: Vec<ConsoleBox>,
}

/// The console page.
#[derive(Clone, Debug)]
pub struct ConsolePage {
    /// The columns, in configuration order (the browser groups them by category).
    pub builders: Vec<BuilderOverview>,
    /// The rows, newest first.
    pub rows: Vec<ConsoleRow>,
}

/// What identifies a revision across changes: a commit seen twice (two hooks, a poller and
/// a hook) is one row.
fn revision_key(c: &Change) -> Option<(&str, &str, &str)> {
    let f = &c.fields;
    f.revision.as_deref().map(|r| (f.repository.as_str(), f.codebase.as_str(), r))
}

/// The rows' changes: duplicates of a revision folded into its newest change, each row with
/// the ids of every change it stands for. `changes` are newest first.
pub fn fold_revisions(changes: Vec<Change>, by_time: bool) -> Vec<(Change, Vec<ChangeId>)> {
    let mut rows: Vec<(Change, Vec<ChangeId>)> = Vec::new();
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for change in changes {
        if let Some((repo, codebase, rev)) = revision_key(&change) {
            let key = (repo.to_owned(), codebase.to_owned(), rev.to_owned());
            if let Some(&row) = seen.get(&key) {
                rows[row].1.push(change.id);
                continue;
            }
            seen.insert(key, rows.len());
        }
        let id = change.id;
        rows.push((change, vec![id]));
    }
    if by_time {
        rows.sort_by_key(|(c, _)| std::cmp::Reverse((c.fields.when.unwrap_or(c.created_at), c.id.0)));
    }
    rows
}

/// The builds a row's boxes show: per builder, the newest build containing any of the
/// row's changes.
pub fn introduced_in<'a>(ids: &[ChangeId], builds: &'a [(ChangeId, Build)], builder: &str) -> Option<&'a Build> {
    builds.iter().filter(|(c, b)| b.builder == builder && ids.contains(c)).map(|(_, b)| b).max_by_key(|b| b.number)
}

impl Engine {
    /// The console page for `q`.
    pub async fn console(&self, q: &ConsoleQuery) -> Result<ConsolePage, EngineError> {
        let revs = q.revs.clamp(1, 200);
        let builders: Vec<BuilderOverview> = self
            .builders_overview()
            .await?
            .into_iter()
            .filter(|b| q.builders.is_empty() || q.builders.contains(&b.name))
            .filter(|b| super::in_categories(&b.tags, &q.categories))
            .collect();
        let builder_ids: Vec<BuilderId> = builders.iter().filter_map(|b| self.builder_id(&b.name)).collect();
        let filter = ChangeFilter {
            branches: q.branches.clone(),
            repositories: q.repositories.clone(),
            projects: q.projects.clone(),
            codebases: q.codebases.clone(),
            authors: q.names.clone(),
            ..Default::default()
        };
        let mut conn = self.db.acquire().await?;
        // A few more than asked, so that duplicates folded away still leave `revs` rows.
        let changes =
            db::changes::list_filtered(conn.conn(), &filter, db::changes::Order::Id, i64::from(revs) * 5 / 4).await?;
        let mut rows = fold_revisions(changes, self.config().web.order_console_by_time);
        rows.truncate(revs as usize);
        let ids: Vec<ChangeId> = rows.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let builds = db::builds::for_changes(conn.conn(), &ids, &builder_ids).await?;

        let mut chosen: Vec<Vec<Option<&Build>>> = Vec::with_capacity(rows.len());
        for (_, ids) in &rows {
            chosen.push(builders.iter().map(|b| introduced_in(ids, &builds, &b.name)).collect());
        }
        let failed: Vec<&Build> =
            chosen.iter().flatten().flatten().copied().filter(|b| b.results == Some(Results::Failure)).collect();
        let before: Vec<(BuilderId, i64)> =
            failed.iter().filter_map(|b| self.builder_id(&b.builder).map(|id| (id, b.number - 1))).collect();
        let previous = db::builds::results_of(conn.conn(), &before).await?;
        let failed_ids: Vec<BuildId> = failed.iter().map(|b| b.id).collect::<HashSet<_>>().into_iter().collect();
        let steps =
            db::steps::list_ended_with(conn.conn(), &failed_ids, &[Results::Failure, Results::Exception]).await?;

        let rows = rows
            .iter()
            .zip(chosen)
            .map(|((change, ids), boxes)| ConsoleRow {
                change: change.clone(),
                change_ids: ids.clone(),
                boxes: builders
                    .iter()
                    .zip(boxes)
                    .map(|(builder, build)| {
                        let prev = build.and_then(|b| {
                            let id = self.builder_id(&b.builder)?;
                            previous.get(&(id, b.number - 1)).copied().flatten()
                        });
                        let class = box_class(build, prev, builds_change(&self.config(), &builder.name, change));
                        let failed_steps = match (class, build) {
                            (BoxClass::Failure | BoxClass::FailureAgain, Some(b)) => {
                                steps.get(&b.id).cloned().unwrap_or_default()
                            }
                            _ => Vec::new(),
                        };
                        ConsoleBox { class, build: build.cloned(), failed_steps }
                    })
                    .collect(),
            })
            .collect();
        Ok(ConsolePage { builders, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::fixtures;
    use crate::model::NewChange;

    fn build(builder: &str, number: i64, results: Option<Results>) -> Build {
        Build { finished_at: results.map(|_| number + 1), results, ..fixtures::build(number, builder, number, number) }
    }

    fn change(id: i64, revision: &str, when: i64) -> Change {
        Change {
            id: ChangeId(id),
            created_at: id,
            fields: NewChange {
                author: "ann".into(),
                revision: Some(revision.into()),
                repository: "https://git/app".into(),
                when: Some(when),
                ..Default::default()
            },
        }
    }

    #[test]
    fn boxes_follow_0_8_9_s_results_classes() {
        use BoxClass::*;
        use Results as R;
        let cases = [
            (None, None, true, NotStarted),
            (None, None, false, NotInBuilder),
            (Some(None), None, true, Running),
            (Some(Some(R::Success)), Some(R::Failure), true, Success),
            (Some(Some(R::Warnings)), None, true, Warnings),
            (Some(Some(R::Failure)), None, true, Failure),
            (Some(Some(R::Failure)), Some(R::Success), true, Failure),
            (Some(Some(R::Failure)), Some(R::Failure), true, FailureAgain),
            (Some(Some(R::Failure)), Some(R::Exception), true, Failure),
            (Some(Some(R::Exception)), None, true, Exception),
            (Some(Some(R::Retry)), None, true, Exception),
            (Some(Some(R::Cancelled)), None, true, Exception),
            (Some(Some(R::Skipped)), None, true, Exception),
        ];
        for (results, previous, in_builder, expected) in cases {
            let b = results.map(|r| build("b", 2, r));
            assert_eq!(box_class(b.as_ref(), previous, in_builder), expected, "{results:?} after {previous:?}");
        }
    }

    #[test]
    fn a_box_shows_the_newest_build_containing_any_change_of_its_row() {
        let builds = vec![
            (ChangeId(1), build("linux", 4, Some(Results::Failure))),
            (ChangeId(1), build("linux", 6, Some(Results::Success))),
            (ChangeId(2), build("linux", 7, None)),
            (ChangeId(2), build("mac", 3, Some(Results::Success))),
        ];
        assert_eq!(introduced_in(&[ChangeId(1)], &builds, "linux").map(|b| b.number), Some(6), "the rebuild wins");
        assert_eq!(introduced_in(&[ChangeId(1), ChangeId(2)], &builds, "linux").map(|b| b.number), Some(7));
        assert_eq!(introduced_in(&[ChangeId(1)], &builds, "mac").map(|b| b.number), None);
    }

    #[test]
    fn a_revision_seen_twice_is_one_row_standing_for_both_changes() {
        let rows =
            fold_revisions(vec![change(5, "c", 50), change(4, "b", 40), change(3, "c", 30), change(2, "a", 60)], false);
        let summary: Vec<(i64, Vec<i64>)> =
            rows.iter().map(|(c, ids)| (c.id.0, ids.iter().map(|i| i.0).collect())).collect();
        assert_eq!(summary, [(5, vec![5, 3]), (4, vec![4]), (2, vec![2])]);
        let by_time: Vec<i64> = fold_revisions(vec![change(5, "c", 50), change(4, "b", 40), change(2, "a", 60)], true)
            .iter()
            .map(|(c, _)| c.id.0)
            .collect();
        assert_eq!(by_time, [2, 5, 4], "order_console_by_time sorts by commit time");
    }

    #[test]
    fn a_change_is_in_a_builder_when_one_of_its_schedulers_would_build_it() {
        let config = crate::config::parse(
            r#"
[[workers]]
name = "w"
embedded = true
[[builders]]
name = "app"
workers = ["w"]
steps = [{ name = "s", command = "true" }]
[[builders]]
name = "nightly"
workers = ["w"]
steps = [{ name = "s", command = "true" }]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "nightly"]
"#,
            std::path::Path::new("/tmp/cascade.toml"),
        )
        .unwrap();
        let mut c = change(1, "r", 1);
        c.fields.branch = Some("main".into());
        assert!(builds_change(&config, "app", &c));
        assert!(!builds_change(&config, "nightly", &c), "force schedulers take no changes");
        c.fields.branch = Some("feature".into());
        assert!(!builds_change(&config, "app", &c));
    }
}
