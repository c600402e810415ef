//! One builder's history as its plots read it: the durations and results of its recent
//! finished builds, results counted per day, and the durations of their steps. Each is one
//! query along the builder's `(builder_id, started_at, id)` index, so a plot costs the
//! builds it draws, never the history behind them.

use sqlx::FromRow;

use super::{Conn, DbResult, on_conn};
use crate::model::{BuilderId, Results};

/// Which of a builder's finished builds a plot shows: those started at or after `since`,
/// the newest `limit` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Epoch seconds; 0 for the whole history.
    pub since: i64,
    /// At most this many builds, the newest.
    pub limit: i64,
}

/// A finished build's timing and result.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct BuildTime {
    /// Its number.
    pub number: i64,
    /// When it started (epoch seconds).
    pub started_at: i64,
    /// When it finished.
    pub finished_at: i64,
    /// Its result, as stored.
    pub results: i64,
}

impl BuildTime {
    /// Its result.
    pub fn results(&self) -> Option<Results> {
        Results::from_i64(self.results)
    }
}

// The builds of a range, newest first: the inner select of the next two queries too.
macro_rules! recent {
    () => {
        "select id, number, started_at, finished_at, results from builds \
         where builder_id = $1 and finished_at is not null and results is not null and started_at >= $2 \
         order by started_at desc, id desc limit $3"
    };
}

const DURATIONS: &str =
    concat!("select number, started_at, finished_at, results from (", recent!(), ") recent order by started_at, id");

/// The builder's finished builds in `range`, oldest first.
pub async fn durations(conn: Conn<'_>, builder: BuilderId, range: Range) -> DbResult<Vec<BuildTime>> {
    let rows: Vec<BuildTime> = on_conn!(conn, c => sqlx::query_as(DURATIONS)
        .bind(builder.0).bind(range.since).bind(range.limit).fetch_all(&mut *c).await?);
    Ok(rows)
}

/// How many builds of one day (UTC) ended with one result.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct DayCount {
    /// Days since the epoch (UTC).
    pub day: i64,
    /// The result, as stored.
    pub results: i64,
    /// How many builds.
    pub count: i64,
}

const RESULTS_PER_DAY: &str = concat!(
    "select started_at / 86400 as day, results, count(*) as count from (",
    recent!(),
    ") recent group by started_at / 86400, results order by day, results"
);

/// The builder's finished builds in `range`, counted by day started and result, oldest day
/// first.
pub async fn results_per_day(conn: Conn<'_>, builder: BuilderId, range: Range) -> DbResult<Vec<DayCount>> {
    let rows: Vec<DayCount> = on_conn!(conn, c => sqlx::query_as(RESULTS_PER_DAY)
        .bind(builder.0).bind(range.since).bind(range.limit).fetch_all(&mut *c).await?);
    Ok(rows)
}

/// How long one step of a build took.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct StepTime {
    /// The build's number.
    pub build: i64,
    /// The step's number in the build.
    pub number: i64,
    /// The step's name.
    pub name: String,
    /// Its duration in seconds; 0 for a step that did not run.
    pub seconds: i64,
}

const STEP_TIMES: &str = concat!(
    "select b.number as build, s.number, s.name, \
     coalesce(s.finished_at - s.started_at, 0) as seconds \
     from (",
    recent!(),
    ") b join steps s on s.build_id = b.id order by b.started_at, b.id, s.number"
);

/// The steps of the builder's finished builds in `range`, oldest build first, in step
/// order.
pub async fn step_times(conn: Conn<'_>, builder: BuilderId, range: Range) -> DbResult<Vec<StepTime>> {
    let rows: Vec<StepTime> = on_conn!(conn, c => sqlx::query_as(STEP_TIMES)
        .bind(builder.0).bind(range.since).bind(range.limit).fetch_all(&mut *c).await?);
    Ok(rows)
}
