//! The waterfall page: the shown builders (0.8.9's `builder=`, `category=` and
//! `failures_only=` columns), then the newest builds, changes and events of a time window,
//! with the time to ask for to see the page before it. The browser lays them out in time.

use std::collections::HashSet;

use super::newest::{Newest, Read};
use super::{BuildWithSteps, BuilderOverview, BuilderState};
use crate::db::{self, builds::TimeFilter, changes::Filter as ChangeFilter};
use crate::engine::{Engine, EngineError};
use crate::model::{Build, BuilderId, Change, Results};

/// The kinds of stored events `show_events` shows.
pub const SHOWN_EVENTS: &[&str] = &[
    "worker.connected",
    "worker.disconnected",
    "worker.paused",
    "worker.unpaused",
    "worker.stopping",
    "master.started",
    "master.stopping",
    "master.lost",
    "reconfig",
];

/// How far back a page filtered by branch, committer or project looks by default (0.8.9:
/// such filters make the waterfall start at "now minus a day"), so that a filter matching
/// nothing never walks the whole history.
pub const FILTERED_SPAN: i64 = 24 * 3600;

/// The waterfall's query arguments.
#[derive(Clone, Debug, Default)]
pub struct WaterfallQuery {
    /// Only these builders.
    pub builders: Vec<String>,
    /// Only builders with one of these tags.
    pub categories: Vec<String>,
    /// Only builds and changes of these branches.
    pub branches: Vec<String>,
    /// Only builds containing a change by, and changes by, these authors.
    pub committers: Vec<String>,
    /// Only builds and changes of these projects.
    pub projects: Vec<String>,
    /// Also show worker and master events.
    pub show_events: bool,
    /// Only builders that are not currently green.
    pub failures_only: bool,
    /// The top of the page (epoch seconds); now when absent.
    pub last_time: Option<i64>,
    /// The bottom of the page.
    pub first_time: Option<i64>,
    /// The page's span in seconds, from `last_time` down (when `first_time` is absent).
    pub show_time: Option<i64>,
    /// At most this many builds (default `[web] num_events`, capped by `num_events_max`).
    pub num_events: Option<u32>,
}

impl WaterfallQuery {
    fn narrows_builds(&self) -> bool {
        !(self.branches.is_empty() && self.committers.is_empty() && self.projects.is_empty())
    }

    /// The arguments that choose what the waterfall shows (`builder=` or `show=`,
    /// `category=`, `branch=`, `committer=`, `project=`), read from a query string's
    /// decoded pairs as the pages send them: a list repeats its argument or separates its
    /// values with commas, and empty values are left out. Other arguments are ignored: the
    /// server's own pages that filter like the waterfall (the feeds) read them this way.
    pub fn from_args(args: &[(String, String)]) -> WaterfallQuery {
        let list = |names: &[&str]| -> Vec<String> {
            args.iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .flat_map(|(_, v)| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        WaterfallQuery {
            builders: list(&["builder", "show"]),
            categories: list(&["category"]),
            branches: list(&["branch"]),
            committers: list(&["committer"]),
            projects: list(&["project"]),
            ..Default::default()
        }
    }

    /// Whether `builder=` and `category=` keep the builder named `name` with `tags`.
    pub fn selects(&self, name: &str, tags: &[String]) -> bool {
        (self.builders.is_empty() || self.builders.iter().any(|b| b == name))
            && super::in_categories(tags, &self.categories)
    }
}

/// One page of the waterfall.
#[derive(Clone, Debug)]
pub struct WaterfallPage {
    /// The columns, in configuration order.
    pub builders: Vec<BuilderOverview>,
    /// The page's builds with their steps, newest first.
    pub builds: Vec<BuildWithSteps>,
    /// The changes of the same time window, newest first.
    pub changes: Vec<Change>,
    /// Worker and master events of the window, newest first (with `show_events`).
    pub events: Vec<db::events::Stored>,
    /// Everything that started after this time (and up to `last_time`) is on the page;
    /// `None` when the page reaches the beginning of the history.
    pub since: Option<i64>,
    /// The `last_time` of the page before this one in time ("next page"), if there is one.
    pub next_last_time: Option<i64>,
    /// The number of builds a page holds at most.
    pub num_events: u32,
}

/// Whether a builder is "currently failing" for `failures_only`: its last finished build
/// did not succeed, a running build has a failed step, or it is offline (0.8.9's rule).
pub fn is_failing(builder: &BuilderOverview, failing_now: bool) -> bool {
    let last_bad = builder.last_build.as_ref().is_some_and(|b| b.results != Some(Results::Success));
    last_bad || failing_now || builder.state == BuilderState::Offline
}

/// The builders shown as columns, in their given order.
pub fn shown_builders(
    builders: Vec<BuilderOverview>,
    q: &WaterfallQuery,
    failing_now: &HashSet<String>,
) -> Vec<BuilderOverview> {
    builders
        .into_iter()
        .filter(|b| q.selects(&b.name, &b.tags))
        .filter(|b| !q.failures_only || is_failing(b, failing_now.contains(&b.name)))
        .collect()
}

/// Where a page of `want` builds ends, given the `want + 1` newest (newest first): the
/// builds it keeps, the time below which nothing is on it, and whether history goes on.
/// Builds sharing the bottom second are all kept or all left for the next page, so paging
/// by `last_time` neither repeats nor skips one.
pub fn cut_page(mut builds: Vec<Build>, want: usize) -> (Vec<Build>, Option<i64>) {
    if builds.len() <= want {
        return (builds, None);
    }
    let cutoff = builds[want].started_at;
    let keep = builds.iter().take_while(|b| b.started_at > cutoff).count();
    if keep == 0 {
        // More than a page started within one second: show that second alone.
        builds.retain(|b| b.started_at == cutoff);
        return (builds, Some(cutoff - 1));
    }
    builds.truncate(keep);
    (builds, Some(cutoff))
}

/// The `limit` newest builds (by start) of the builders `ids` that pass `filter`. When `ids`
/// are all the builders, one walk along the time index; else each builder's own index is
/// read only as deep as the newest `limit` across them reach (see [`Newest`]).
pub(crate) async fn newest_builds(
    mut conn: db::Conn<'_>,
    ids: &[BuilderId],
    all: bool,
    filter: &TimeFilter,
    limit: usize,
) -> Result<Vec<Build>, EngineError> {
    if all {
        return Ok(db::builds::list_by_time(conn, ids, filter, limit as i64).await?);
    }
    let mut merge = Newest::new(ids.len(), limit);
    loop {
        let reads: Vec<Read> = merge.wanted();
        if reads.is_empty() {
            break;
        }
        for read in reads {
            let page = TimeFilter { before: read.before, ..filter.clone() };
            let builds =
                db::builds::list_by_time(conn.reborrow(), &ids[read.stream..=read.stream], &page, read.limit as i64)
                    .await?;
            merge.feed(read, builds, |b| (b.started_at, b.id.0));
        }
    }
    Ok(merge.into_items())
}

impl Engine {
    /// The waterfall page for `q`.
    pub async fn waterfall(&self, q: &WaterfallQuery) -> Result<WaterfallPage, EngineError> {
        let web = &self.config().web;
        let want = q.num_events.unwrap_or(web.num_events).clamp(1, web.num_events_max);
        // The overview takes a connection of its own: take ours after it, never two at once.
        let all = self.builders_overview().await?;
        let mut conn = self.db.acquire().await?;
        let failing_now =
            if q.failures_only { db::builds::builders_failing_now(conn.conn()).await? } else { HashSet::new() };
        let total = all.len();
        let builders = shown_builders(all, q, &failing_now);

        let now = self.clock.now();
        let top = q.last_time.unwrap_or(now);
        let since = q
            .first_time
            .or_else(|| q.show_time.map(|span| top - span.max(0)))
            .or_else(|| q.narrows_builds().then(|| top - FILTERED_SPAN));
        let filter = TimeFilter {
            until: q.last_time,
            since,
            branches: q.branches.clone(),
            projects: q.projects.clone(),
            authors: q.committers.clone(),
            ..Default::default()
        };
        let ids: Vec<BuilderId> = builders.iter().filter_map(|b| self.builder_id(&b.name)).collect();
        let fetched = newest_builds(conn.conn(), &ids, ids.len() == total, &filter, want as usize + 1).await?;
        let (builds, cutoff) = cut_page(fetched, want as usize);
        // The page's bottom: the cut, else the window's own start.
        let bottom = cutoff.or(since);
        let next_last_time = cutoff.or(since.map(|s| s - 1));

        let mut steps = self.steps_of(conn.conn(), &builds).await?;
        let builds = builds
            .into_iter()
            .map(|build| BuildWithSteps { steps: steps.remove(&build.id).unwrap_or_default(), build, changes: None })
            .collect();

        let change_filter = ChangeFilter {
            branches: q.branches.clone(),
            projects: q.projects.clone(),
            authors: q.committers.clone(),
            until: q.last_time,
            since: bottom.map(|b| b + i64::from(cutoff.is_some())),
            ..Default::default()
        };
        let changes =
            db::changes::list_filtered(conn.conn(), &change_filter, db::changes::Order::Stored, i64::from(want))
                .await?;
        let events = if q.show_events {
            let since = bottom.map(|b| b + i64::from(cutoff.is_some()));
            db::events::list(conn.conn(), SHOWN_EVENTS, q.last_time, since, i64::from(want)).await?
        } else {
            Vec::new()
        };
        Ok(WaterfallPage { builders, builds, changes, events, since: bottom, next_last_time, num_events: want })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::fixtures;

    fn build(id: i64, started_at: i64) -> Build {
        fixtures::build(id, "b", id, started_at)
    }

    fn overview(name: &str, tags: &[&str], state: BuilderState, last: Option<Results>) -> BuilderOverview {
        BuilderOverview {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            state,
            last_build: last.map(|r| Build { results: Some(r), ..build(1, 1) }),
            ..fixtures::overview(name)
        }
    }

    #[test]
    fn a_page_keeps_whole_seconds_and_says_where_the_next_one_starts() {
        let builds = vec![build(9, 100), build(8, 90), build(7, 90), build(6, 80)];
        let (page, cutoff) = cut_page(builds.clone(), 2);
        assert_eq!(page.iter().map(|b| b.id.0).collect::<Vec<_>>(), [9], "the 90 s pair goes to the next page");
        assert_eq!(cutoff, Some(90));
        let (page, cutoff) = cut_page(builds[..3].to_vec(), 3);
        assert_eq!((page.len(), cutoff), (3, None), "everything fits: the beginning of history");
    }

    #[test]
    fn a_second_fuller_than_a_page_is_shown_alone() {
        let builds = vec![build(3, 50), build(2, 50), build(1, 50)];
        let (page, cutoff) = cut_page(builds, 2);
        assert_eq!(page.len(), 3);
        assert_eq!(cutoff, Some(49));
    }

    #[test]
    fn failures_only_keeps_red_offline_and_failing_now_builders() {
        let builders = vec![
            overview("green", &["app"], BuilderState::Idle, Some(Results::Success)),
            overview("red", &["app"], BuilderState::Idle, Some(Results::Failure)),
            overview("off", &["docs"], BuilderState::Offline, Some(Results::Success)),
            overview("new", &["docs"], BuilderState::Idle, None),
            overview("breaking", &["app"], BuilderState::Building, Some(Results::Success)),
        ];
        let q = WaterfallQuery { failures_only: true, ..Default::default() };
        let failing_now = HashSet::from(["breaking".to_owned()]);
        let names: Vec<String> =
            shown_builders(builders.clone(), &q, &failing_now).into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["red", "off", "breaking"]);

        let q = WaterfallQuery {
            categories: vec!["docs".into()],
            builders: vec!["new".into(), "red".into()],
            ..Default::default()
        };
        let names: Vec<String> = shown_builders(builders, &q, &HashSet::new()).into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["new"], "builder= and category= both apply");
    }

    #[test]
    fn page_arguments_repeat_or_take_commas_and_show_means_builder() {
        let args: Vec<(String, String)> = [
            ("builder", "a, b"),
            ("show", "c"),
            ("category", "linux"),
            ("branch", "main,"),
            ("branch", "trunk"),
            ("committer", "ann"),
            ("project", ""),
            ("count", "5"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let q = WaterfallQuery::from_args(&args);
        assert_eq!(q.builders, ["a", "b", "c"]);
        assert_eq!(q.categories, ["linux"]);
        assert_eq!(q.branches, ["main", "trunk"]);
        assert_eq!(q.committers, ["ann"]);
        assert!(q.projects.is_empty(), "an empty value is no filter");
        assert!(!q.selects("a", &[]), "a listed builder without the category is left out");
        assert!(q.selects("b", &["linux|x86".to_owned()]));
        assert!(!q.selects("b", &["mac".to_owned()]));
        assert!(!q.selects("z", &["linux".to_owned()]));
    }
}
