//! `/views/...`: everything one overview page needs, in one round trip, taking the page's
//! own query arguments (0.8.9's names) so that a page's URL and its data request agree.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{Enum, Object, OpenApi};

use super::events::EventKind;
use super::types::{BuildDetail, Builder, Change, Results, Step, time};
use super::{ApiError, Tag};
use crate::engine::Engine;
use crate::engine::views::console::{BoxClass, ConsoleQuery};
use crate::engine::views::grid::GridQuery;
use crate::engine::views::waterfall::WaterfallQuery;
use crate::model;

/// The views resource.
#[derive(Debug, Default)]
pub struct ViewsApi;

/// A worker or master event shown in the waterfall (`show_events=true`).
#[derive(Debug, Object)]
pub struct WaterfallEvent {
    /// Its id.
    pub id: i64,
    /// What happened.
    #[oai(rename = "type")]
    pub kind: EventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The worker or master.
    pub name: String,
}

/// The waterfall's data: its columns, then the builds, changes and events of its window.
#[derive(Debug, Object)]
pub struct Waterfall {
    /// The columns, in configuration order.
    pub builders: Vec<Builder>,
    /// The page's builds with their steps, newest first.
    pub builds: Vec<BuildDetail>,
    /// The changes of the same window (the changes column), newest first.
    pub changes: Vec<Change>,
    /// Worker and master events of the window (with `show_events=true`), newest first.
    pub events: Vec<WaterfallEvent>,
    /// Everything after this time is on the page; absent when the page reaches the
    /// beginning of the history.
    #[oai(skip_serializing_if_is_none)]
    pub since: Option<DateTime<Utc>>,
    /// The `last_time` (epoch seconds) of the page before this one, if there is one.
    #[oai(skip_serializing_if_is_none)]
    pub next_last_time: Option<i64>,
    /// The most builds a page holds (`num_events` as applied).
    pub num_events: u32,
}

/// A build as a grid cell or a console box shows it.
#[derive(Debug, Object)]
pub struct BuildSummary {
    /// Number within the builder.
    pub number: i64,
    /// Absent while running.
    #[oai(skip_serializing_if_is_none)]
    pub results: Option<Results>,
    /// Whether it has finished.
    pub complete: bool,
    /// Human-readable state.
    pub state_text: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<model::Build> for BuildSummary {
    fn from(b: model::Build) -> Self {
        BuildSummary {
            number: b.number,
            results: b.results.map(Results::from),
            complete: b.finished_at.is_some(),
            state_text: b.state_text,
            started_at: time(b.started_at),
            finished_at: b.finished_at.map(time),
        }
    }
}

/// A grid column (a transposed grid's row): one source stamp.
#[derive(Debug, Object)]
pub struct GridStamp {
    /// Project.
    pub project: String,
    /// Codebase.
    pub codebase: String,
    /// Branch; absent for the default branch.
    #[oai(skip_serializing_if_is_none)]
    pub branch: Option<String>,
    /// Revision; absent when its builds took the branch's head ("latest").
    #[oai(skip_serializing_if_is_none)]
    pub revision: Option<String>,
    /// The repository.
    pub repository: String,
    /// The revision's link (`[web] revlink`).
    #[oai(skip_serializing_if_is_none)]
    pub revlink: Option<String>,
    /// The earliest start among its builds.
    pub time: DateTime<Utc>,
}

/// One cell.
#[derive(Debug, Object)]
pub struct GridCell {
    /// The builder's newest build of the stamp; absent for an empty cell.
    #[oai(skip_serializing_if_is_none)]
    pub build: Option<BuildSummary>,
}

/// One builder's row.
#[derive(Debug, Object)]
pub struct GridRow {
    /// The builder with its state and pending requests.
    pub builder: Builder,
    /// One cell per stamp.
    pub cells: Vec<GridCell>,
}

/// The grid's (and the transposed grid's) data.
#[derive(Debug, Object)]
pub struct Grid {
    /// The source stamps, oldest first.
    pub stamps: Vec<GridStamp>,
    /// The builders, by name.
    pub rows: Vec<GridRow>,
}

/// A console box's class (0.8.9's CSS class names).
#[derive(Clone, Copy, Debug, Enum, PartialEq, Eq)]
pub enum ConsoleClass {
    /// The build containing the change is running.
    #[oai(rename = "running")]
    Running,
    /// No build containing the change yet.
    #[oai(rename = "notstarted")]
    NotStarted,
    /// The builder does not build such changes.
    #[oai(rename = "notinbuilder")]
    NotInBuilder,
    /// Succeeded.
    #[oai(rename = "success")]
    Success,
    /// Succeeded with warnings.
    #[oai(rename = "warnings")]
    Warnings,
    /// Failed where the build before it did not.
    #[oai(rename = "failure")]
    Failure,
    /// Failed, as the build before it did.
    #[oai(rename = "failure-again")]
    FailureAgain,
    /// Exception, retry, cancelled or skipped.
    #[oai(rename = "exception")]
    Exception,
}

impl From<BoxClass> for ConsoleClass {
    fn from(c: BoxClass) -> Self {
        match c {
            BoxClass::Running => ConsoleClass::Running,
            BoxClass::NotStarted => ConsoleClass::NotStarted,
            BoxClass::NotInBuilder => ConsoleClass::NotInBuilder,
            BoxClass::Success => ConsoleClass::Success,
            BoxClass::Warnings => ConsoleClass::Warnings,
            BoxClass::Failure => ConsoleClass::Failure,
            BoxClass::FailureAgain => ConsoleClass::FailureAgain,
            BoxClass::Exception => ConsoleClass::Exception,
        }
    }
}

/// One box of the console.
#[derive(Debug, Object)]
pub struct ConsoleBox {
    /// Its class.
    pub class: ConsoleClass,
    /// The builder's newest build containing the change.
    #[oai(skip_serializing_if_is_none)]
    pub build: Option<BuildSummary>,
    /// Its failed steps with their logs (red boxes).
    pub failed_steps: Vec<Step>,
}

/// One change and its boxes.
#[derive(Debug, Object)]
pub struct ConsoleRow {
    /// The change.
    pub change: Change,
    /// The ids of every change the row stands for: the same revision seen more than once
    /// (two hooks, a hook and a poller) is one row.
    pub change_ids: Vec<i64>,
    /// One box per builder, in the order of `builders`.
    pub boxes: Vec<ConsoleBox>,
}

/// The console's data.
#[derive(Debug, Object)]
pub struct Console {
    /// The columns, in configuration order (group them by their first tag).
    pub builders: Vec<Builder>,
    /// The newest changes first.
    pub rows: Vec<ConsoleRow>,
}

/// Epoch seconds (0.8.9's links carried fractions) as whole seconds.
fn seconds(t: Option<f64>) -> Result<Option<i64>, ApiError> {
    match t {
        Some(t) if !t.is_finite() || t < 0.0 => Err(ApiError::bad_request("times are epoch seconds, 0 or more")),
        Some(t) => Ok(Some(t.floor() as i64)),
        None => Ok(None),
    }
}

#[OpenApi(tag = "Tag::Views")]
impl ViewsApi {
    /// The waterfall: builders, then the newest builds (with steps), changes and events of
    /// a time window, and where the page before it starts.
    #[oai(path = "/views/waterfall", method = "get", operation_id = "get_waterfall")]
    #[allow(clippy::too_many_arguments)]
    async fn get_waterfall(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only these builders (repeatable).
        builder: Query<Vec<String>>,
        /// 0.8.9's other name for `builder` (repeatable).
        show: Query<Vec<String>>,
        /// Only builders with one of these tags (repeatable).
        category: Query<Vec<String>>,
        /// Only builds and changes of these branches (repeatable; `trunk` includes the
        /// default branch). Looks back a day unless `first_time` or `show_time` says.
        branch: Query<Vec<String>>,
        /// Only builds containing a change by, and changes by, these authors (repeatable).
        committer: Query<Vec<String>>,
        /// Only builds and changes of these projects (repeatable).
        project: Query<Vec<String>>,
        /// Also show worker and master events.
        show_events: Query<Option<bool>>,
        /// Only builders not currently green (last build not successful, failing now, or
        /// offline).
        failures_only: Query<Option<bool>>,
        /// The top of the page, epoch seconds (default now).
        last_time: Query<Option<f64>>,
        /// The bottom of the page, epoch seconds.
        first_time: Query<Option<f64>>,
        /// The page's span in seconds below `last_time`.
        show_time: Query<Option<f64>>,
        /// The most builds on the page (default `[web] num_events`, at most `num_events_max`).
        num_events: Query<Option<u32>>,
    ) -> Result<Json<Waterfall>, ApiError> {
        let q = WaterfallQuery {
            builders: builder.0.into_iter().chain(show.0).collect(),
            categories: category.0,
            branches: branch.0,
            committers: committer.0,
            projects: project.0,
            show_events: show_events.0.unwrap_or(false),
            failures_only: failures_only.0.unwrap_or(false),
            last_time: seconds(last_time.0)?,
            first_time: seconds(first_time.0)?,
            show_time: seconds(show_time.0)?,
            num_events: num_events.0,
        };
        let page = engine.waterfall(&q).await?;
        let links = &engine.links;
        Ok(Json(Waterfall {
            builders: page.builders.into_iter().map(Builder::from).collect(),
            builds: page.builds.into_iter().map(|b| BuildDetail::new(b, links)).collect(),
            changes: page.changes.into_iter().map(|c| Change::new(c, links)).collect(),
            events: page
                .events
                .into_iter()
                .filter_map(|e| {
                    let kind = EventKind::parse_from_json(Some(serde_json::Value::String(e.kind))).ok()?;
                    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
                    let name = payload.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
                    Some(WaterfallEvent { id: e.id, kind, at: time(e.at), name })
                })
                .collect(),
            since: page.since.map(time),
            next_last_time: page.next_last_time,
            num_events: page.num_events,
        }))
    }

    /// The grid (and the transposed grid): each builder's newest build of each of the
    /// newest source stamps.
    #[oai(path = "/views/grid", method = "get", operation_id = "get_grid")]
    async fn get_grid(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only builders with one of these tags (repeatable).
        category: Query<Vec<String>>,
        /// Only builds of these branches (repeatable; `trunk` includes the default branch).
        branch: Query<Vec<String>>,
        /// How many source stamps (default 5, at most 100); the transposed grid's `length`.
        width: Query<Option<u32>>,
        /// The transposed grid's name for `width`.
        length: Query<Option<u32>>,
    ) -> Result<Json<Grid>, ApiError> {
        let width = width.0.or(length.0).unwrap_or(5);
        if !(1..=100).contains(&width) {
            return Err(ApiError::bad_request("width (or length) must be between 1 and 100"));
        }
        let q = GridQuery { categories: category.0, branches: branch.0, width };
        let page = engine.grid(&q).await?;
        let links = &engine.links;
        Ok(Json(Grid {
            stamps: page
                .stamps
                .into_iter()
                .map(|s| GridStamp {
                    revlink: links.revision(&s.repository, s.key.revision.as_deref(), None),
                    project: s.key.project,
                    codebase: s.key.codebase,
                    branch: s.key.branch,
                    revision: s.key.revision,
                    repository: s.repository,
                    time: time(s.time),
                })
                .collect(),
            rows: page
                .rows
                .into_iter()
                .map(|r| GridRow {
                    builder: r.builder.into(),
                    cells: r.cells.into_iter().map(|b| GridCell { build: b.map(BuildSummary::from) }).collect(),
                })
                .collect(),
        }))
    }

    /// The console: the newest changes, each with one box per builder coloured by the
    /// newest build containing it.
    #[oai(path = "/views/console", method = "get", operation_id = "get_console")]
    #[allow(clippy::too_many_arguments)]
    async fn get_console(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only these builders (repeatable).
        builder: Query<Vec<String>>,
        /// Only builders with one of these tags (repeatable).
        category: Query<Vec<String>>,
        /// Only changes of these repositories (repeatable).
        repository: Query<Vec<String>>,
        /// Only changes of these branches (repeatable; `trunk` includes the default branch).
        branch: Query<Vec<String>>,
        /// Only changes of these projects (repeatable).
        project: Query<Vec<String>>,
        /// Only changes of these codebases (repeatable).
        codebase: Query<Vec<String>>,
        /// Only changes by these authors (repeatable).
        name: Query<Vec<String>>,
        /// How many changes (default 40, at most 200).
        revs: Query<Option<u32>>,
    ) -> Result<Json<Console>, ApiError> {
        let revs = revs.0.unwrap_or(40);
        if !(1..=200).contains(&revs) {
            return Err(ApiError::bad_request("revs must be between 1 and 200"));
        }
        let q = ConsoleQuery {
            builders: builder.0,
            categories: category.0,
            repositories: repository.0,
            branches: branch.0,
            projects: project.0,
            codebases: codebase.0,
            names: name.0,
            revs,
        };
        let page = engine.console(&q).await?;
        let links = &engine.links;
        Ok(Json(Console {
            builders: page.builders.into_iter().map(Builder::from).collect(),
            rows: page
                .rows
                .into_iter()
                .map(|r| ConsoleRow {
                    change: Change::new(r.change, links),
                    change_ids: r.change_ids.iter().map(|c| c.0).collect(),
                    boxes: r
                        .boxes
                        .into_iter()
                        .map(|b| ConsoleBox {
                            class: b.class.into(),
                            build: b.build.map(BuildSummary::from),
                            failed_steps: b.failed_steps.into_iter().map(Step::from).collect(),
                        })
                        .collect(),
                })
                .collect(),
        }))
    }
}
