//! `/views/...`: everything one overview page needs, in one round trip, taking the page's
//! own query arguments (0.8.9's names) so that a page's URL and its data request agree.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{Enum, Object, OpenApi};

use super::builds::property_filters;
use super::events::EventKind;
use super::json::{RawJson, cached};
use super::types::{Build, BuildDetail, Builder, Change, Results, Step, time};
use super::{ApiError, Tag};
use crate::db;
use crate::engine::Engine;
use crate::engine::links::Links;
use crate::engine::views::console::{BoxClass, ConsolePage, ConsoleQuery};
use crate::engine::views::grid::{GridPage, GridQuery};
use crate::engine::views::waterfall::{WaterfallPage, WaterfallQuery};
use crate::model;

/// The views resource.
#[derive(Debug, Default)]
pub struct ViewsApi;

/// A worker or master event shown in the waterfall (`show_events=true`).
#[derive(Debug, Object, serde::Serialize)]
pub struct WaterfallEvent {
    /// Its id.
    pub id: i64,
    /// What happened.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub at: DateTime<Utc>,
    /// The worker or master.
    pub name: String,
    /// Who caused it, when someone did (who asked for a `reconfig`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What changed (`reconfig`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The waterfall's data: its columns, then the builds, changes and events of its window.
#[derive(Debug, Object, serde::Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::json::rfc3339_opt")]
    pub since: Option<DateTime<Utc>>,
    /// The `last_time` (epoch seconds) of the page before this one, if there is one.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_last_time: Option<i64>,
    /// The most builds a page holds (`num_events` as applied).
    pub num_events: u32,
}

/// A build as a grid cell or a console box shows it.
#[derive(Debug, Object, serde::Serialize)]
pub struct BuildSummary {
    /// Number within the builder.
    pub number: i64,
    /// Absent while running.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Results>,
    /// Whether it has finished.
    pub complete: bool,
    /// Human-readable state.
    pub state_text: String,
    /// When it started.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub started_at: DateTime<Utc>,
    /// When it finished.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::json::rfc3339_opt")]
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
#[derive(Debug, Object, serde::Serialize)]
pub struct GridStamp {
    /// Project.
    pub project: String,
    /// Codebase.
    pub codebase: String,
    /// Branch; absent for the default branch.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Revision; absent when its builds took the branch's head ("latest").
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The repository.
    pub repository: String,
    /// The project's link (`[web] projects`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_url: Option<String>,
    /// The revision's link (`[web] revlink`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revlink: Option<String>,
    /// The earliest start among its builds.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub time: DateTime<Utc>,
}

/// One cell.
#[derive(Debug, Object, serde::Serialize)]
pub struct GridCell {
    /// The builder's newest build of the stamp; absent for an empty cell.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
}

/// One builder's row.
#[derive(Debug, Object, serde::Serialize)]
pub struct GridRow {
    /// The builder with its state and pending requests.
    pub builder: Builder,
    /// One cell per stamp.
    pub cells: Vec<GridCell>,
}

/// The grid's (and the transposed grid's) data.
#[derive(Debug, Object, serde::Serialize)]
pub struct Grid {
    /// The source stamps, oldest first.
    pub stamps: Vec<GridStamp>,
    /// The builders, by name.
    pub rows: Vec<GridRow>,
}

/// A console box's class (0.8.9's CSS class names).
#[derive(Clone, Copy, Debug, Enum, PartialEq, Eq, serde::Serialize)]
pub enum ConsoleClass {
    /// The build containing the change is running.
    #[oai(rename = "running")]
    #[serde(rename = "running")]
    Running,
    /// No build containing the change yet.
    #[oai(rename = "notstarted")]
    #[serde(rename = "notstarted")]
    NotStarted,
    /// The builder does not build such changes.
    #[oai(rename = "notinbuilder")]
    #[serde(rename = "notinbuilder")]
    NotInBuilder,
    /// Succeeded.
    #[oai(rename = "success")]
    #[serde(rename = "success")]
    Success,
    /// Succeeded with warnings.
    #[oai(rename = "warnings")]
    #[serde(rename = "warnings")]
    Warnings,
    /// Failed where the build before it did not.
    #[oai(rename = "failure")]
    #[serde(rename = "failure")]
    Failure,
    /// Failed, as the build before it did.
    #[oai(rename = "failure-again")]
    #[serde(rename = "failure-again")]
    FailureAgain,
    /// Exception, retry, cancelled or skipped.
    #[oai(rename = "exception")]
    #[serde(rename = "exception")]
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
#[derive(Debug, Object, serde::Serialize)]
pub struct ConsoleBox {
    /// Its class.
    pub class: ConsoleClass,
    /// The builder's newest build containing the change.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    /// Its failed steps with their logs (red boxes).
    pub failed_steps: Vec<Step>,
}

/// One change and its boxes.
#[derive(Debug, Object, serde::Serialize)]
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
#[derive(Debug, Object, serde::Serialize)]
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
    ) -> Result<RawJson<Waterfall>, ApiError> {
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
        cached(&engine, format!("waterfall {q:?}"), async {
            Ok(waterfall_of(engine.waterfall(&q).await?, &engine.links()))
        })
        .await
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
    ) -> Result<RawJson<Grid>, ApiError> {
        let width = width.0.or(length.0).unwrap_or(5);
        if !(1..=100).contains(&width) {
            return Err(ApiError::bad_request("width (or length) must be between 1 and 100"));
        }
        let q = GridQuery { categories: category.0, branches: branch.0, width };
        cached(&engine, format!("grid {q:?}"), async { Ok(grid_of(engine.grid(&q).await?, &engine.links())) }).await
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
    ) -> Result<RawJson<Console>, ApiError> {
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
        cached(&engine, format!("console {q:?}"), async { Ok(console_of(engine.console(&q).await?, &engine.links())) })
            .await
    }

    /// The newest builds, one line each (0.8.9's `/one_line_per_build`, and the build list
    /// of a builder's page): `numbuilds` of them (default `[web] num_builds`), and
    /// `property.NAME=VALUE` arguments keep builds whose property has that value.
    #[oai(path = "/views/one_line_per_build", method = "get", operation_id = "get_one_line_per_build")]
    async fn get_one_line_per_build(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only these builders (repeatable).
        builder: Query<Vec<String>>,
        /// Only builds of these branches (repeatable).
        branch: Query<Vec<String>>,
        /// How many builds (default `[web] num_builds`, at most 1000).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        numbuilds: Query<Option<u32>>,
        request: &poem::Request,
    ) -> Result<Json<OneLinePerBuild>, ApiError> {
        let numbuilds = numbuilds.0.unwrap_or(engine.config().web.num_builds);
        if !(1..=1000).contains(&numbuilds) {
            return Err(ApiError::bad_request("numbuilds must be between 1 and 1000"));
        }
        if let Some(unknown) = builder.0.iter().find(|b| engine.config().builder(b).is_none()) {
            return Err(ApiError::not_found(format!("no builder named `{unknown}`")));
        }
        let filter = db::builds::Filter {
            builders: builder.0,
            branches: branch.0,
            properties: property_filters(request),
            ..Default::default()
        };
        let mut conn = engine.db.acquire().await?;
        let builds = db::builds::list(conn.conn(), &filter, i64::from(numbuilds), 0).await?;
        Ok(Json(OneLinePerBuild { builds: builds.into_iter().map(Into::into).collect(), numbuilds }))
    }
}

/// The newest builds, one line each.
#[derive(Debug, Object)]
pub struct OneLinePerBuild {
    /// Newest first.
    pub builds: Vec<Build>,
    /// How many were asked for.
    pub numbuilds: u32,
}

fn waterfall_of(page: WaterfallPage, links: &Links) -> Waterfall {
    Waterfall {
        builders: page.builders.into_iter().map(Builder::from).collect(),
        builds: page.builds.into_iter().map(|b| BuildDetail::new(b, links)).collect(),
        changes: page.changes.into_iter().map(|c| Change::new(c, links)).collect(),
        events: page
            .events
            .into_iter()
            .filter_map(|e| {
                let kind = EventKind::parse_from_json(Some(serde_json::Value::String(e.kind))).ok()?;
                let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
                let text = |key: &str| payload.get(key).and_then(|n| n.as_str()).map(str::to_owned);
                let (name, summary) = (text("name").unwrap_or_default(), text("summary"));
                Some(WaterfallEvent { id: e.id, kind, at: time(e.at), name, actor: e.actor, summary })
            })
            .collect(),
        since: page.since.map(time),
        next_last_time: page.next_last_time,
        num_events: page.num_events,
    }
}

fn grid_of(page: GridPage, links: &Links) -> Grid {
    Grid {
        stamps: page
            .stamps
            .into_iter()
            .map(|s| GridStamp {
                revlink: links.revision(&s.repository, s.key.revision.as_deref(), None),
                project_url: links.project(&s.key.project),
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
    }
}

fn console_of(page: ConsolePage, links: &Links) -> Console {
    Console {
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
    }
}
