//! What the RSS and Atom feeds show: the newest finished builds (only the failed ones unless
//! asked otherwise), chosen by the waterfall's filters, each with its blamelist and the
//! tail of the logs of its failed steps. The XML is written by the web module.

use std::collections::HashMap;

use super::BuildWithSteps;
use super::waterfall::{WaterfallQuery, newest_builds};
use crate::db::{self, builds::TimeFilter};
use crate::engine::log_scan::display_text;
use crate::engine::{Engine, EngineError, logs};
use crate::model::{Build, BuilderId, LogInfo, Results, Step};

/// How many builds a feed lists unless `count=` says.
pub const DEFAULT_COUNT: u32 = 20;
/// The most builds a feed lists.
pub const MAX_COUNT: u32 = 100;
/// How many lines of a failed step's log an entry quotes.
pub const TAIL_LINES: i64 = 20;

/// A feed's arguments.
#[derive(Clone, Debug)]
pub struct FeedQuery {
    /// The waterfall's filters: `builder=`, `category=`, `branch=` (and `committer=`,
    /// `project=`).
    pub filter: WaterfallQuery,
    /// Only failed builds (failure or exception).
    pub failures_only: bool,
    /// How many builds, at most [`MAX_COUNT`].
    pub count: u32,
}

/// A failed step with the end of its log.
#[derive(Clone, Debug)]
pub struct FailedStep {
    /// The step.
    pub step: Step,
    /// The log quoted (its `stdio`, else its first), if it has one.
    pub log: Option<String>,
    /// The log's last lines as the log viewer shows them (escape sequences removed).
    pub tail: Vec<String>,
}

/// One entry of a feed.
#[derive(Clone, Debug)]
pub struct FeedEntry {
    /// The build, finished.
    pub build: Build,
    /// Its builder's tags.
    pub tags: Vec<String>,
    /// The authors of its changes.
    pub blamelist: Vec<String>,
    /// Its steps that failed, in order.
    pub failed_steps: Vec<FailedStep>,
}

/// Whether a result counts as a failed build for `failures_only`.
pub fn is_failed(results: Option<Results>) -> bool {
    matches!(results, Some(Results::Failure | Results::Exception))
}

/// What happened to a build, said the way 0.8.9's feeds and mails said it: "app #12 failed".
pub fn title(build: &Build) -> String {
    let what = match build.results {
        None => "is running",
        Some(Results::Success) => "succeeded",
        Some(Results::Warnings) => "had warnings",
        Some(Results::Failure) => "failed",
        Some(Results::Skipped) => "was skipped",
        Some(Results::Exception) => "hit an exception",
        Some(Results::Retry) => "will be retried",
        Some(Results::Cancelled) => "was cancelled",
    };
    format!("{} #{} {what}", build.builder, build.number)
}

/// The log a failed step's entry quotes: `stdio` when it has one.
fn quoted_log(step: &Step) -> Option<&LogInfo> {
    step.logs.iter().find(|l| l.slug == "stdio").or_else(|| step.logs.first())
}

impl Engine {
    /// The feed's entries for `q`, newest first; NotFound when `builder=` names a builder
    /// that is not configured (a typo would otherwise give a feed that stays empty).
    pub async fn feed(&self, q: &FeedQuery) -> Result<Vec<FeedEntry>, EngineError> {
        if let Some(unknown) = q.filter.builders.iter().find(|b| self.config().builder(b).is_none()) {
            return Err(EngineError::NotFound(format!("no builder named `{unknown}`")));
        }
        let ids: Vec<BuilderId> = self
            .config()
            .builders
            .iter()
            .filter(|b| q.filter.selects(&b.name, &b.tags))
            .filter_map(|b| self.builder_id(&b.name))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = TimeFilter {
            branches: q.filter.branches.clone(),
            projects: q.filter.projects.clone(),
            authors: q.filter.committers.clone(),
            finished: true,
            failed: q.failures_only,
            ..Default::default()
        };
        // Failures, and builds of a branch, project or author, are read builder by builder
        // along each builder's own indexes (its failed builds have one of their own), which
        // bound the walk; along the time index alone, a filter matching little would read
        // the whole history.
        let narrowed = !(filter.branches.is_empty() && filter.projects.is_empty() && filter.authors.is_empty());
        let all = ids.len() == self.config().builders.len() && !narrowed && !q.failures_only;
        let count = q.count.clamp(1, MAX_COUNT) as usize;

        let (builds, mut steps, mut authors) = {
            let mut conn = self.db.acquire().await?;
            let builds = newest_builds(conn.conn(), &ids, all, &filter, count).await?;
            let steps = self.steps_of(conn.conn(), &builds).await?;
            let requests: Vec<_> = builds.iter().map(|b| b.buildrequest_id).collect();
            let authors = db::changes::authors_for_requests(conn.conn(), &requests).await?;
            (builds, steps, authors)
        };
        let mut entries = Vec::with_capacity(builds.len());
        for build in builds {
            let detail = BuildWithSteps { steps: steps.remove(&build.id).unwrap_or_default(), build, changes: None };
            entries.push(self.feed_entry(detail, &mut authors).await?);
        }
        Ok(entries)
    }

    async fn feed_entry(
        &self,
        detail: BuildWithSteps,
        authors: &mut HashMap<crate::model::BuildRequestId, Vec<String>>,
    ) -> Result<FeedEntry, EngineError> {
        let mut failed_steps = Vec::new();
        for step in detail.steps.into_iter().filter(|s| is_failed(s.results)) {
            let (log, tail) = match quoted_log(&step) {
                Some(log) => {
                    let from = (log.num_lines - TAIL_LINES).max(0);
                    let lines = logs::read_lines(&self.db, log.id, from, TAIL_LINES).await?;
                    (Some(log.name.clone()), lines.iter().map(|l| display_text(&l.text).into_owned()).collect())
                }
                None => (None, Vec::new()),
            };
            failed_steps.push(FailedStep { step, log, tail });
        }
        Ok(FeedEntry {
            tags: self.builder_tags(&detail.build.builder),
            blamelist: authors.remove(&detail.build.buildrequest_id).unwrap_or_default(),
            build: detail.build,
            failed_steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::fixtures;

    #[test]
    fn titles_say_what_happened() {
        let mut b = fixtures::build(1, "app", 12, 0);
        assert_eq!(title(&b), "app #12 is running");
        b.results = Some(Results::Failure);
        assert_eq!(title(&b), "app #12 failed");
        b.results = Some(Results::Exception);
        assert_eq!(title(&b), "app #12 hit an exception");
        b.results = Some(Results::Success);
        assert_eq!(title(&b), "app #12 succeeded");
    }

    #[test]
    fn failures_are_failed_and_exception_builds() {
        let failed: Vec<_> = Results::ALL.into_iter().filter(|r| is_failed(Some(*r))).collect();
        assert_eq!(failed, [Results::Failure, Results::Exception]);
        assert!(!is_failed(None));
    }
}
