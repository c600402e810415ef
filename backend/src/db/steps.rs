//! Steps of a build, with their logs' metadata.

use std::collections::HashMap;

use sqlx::FromRow;

use super::logs::InfoRow;
use super::query::{Query, insert_rows};
use super::{Conn, DbResult, on_conn};
use crate::model::{BuildId, LogInfo, Results, Step, StepId};

#[derive(FromRow)]
struct Row {
    id: i64,
    build_id: i64,
    number: i64,
    name: String,
    state_text: String,
    results: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

fn assemble(rows: Vec<Row>, logs: Vec<InfoRow>) -> Vec<Step> {
    let mut by_step: HashMap<i64, Vec<LogInfo>> = HashMap::new();
    for log in logs {
        by_step.entry(log.step_id).or_default().push(log.into());
    }
    rows.into_iter()
        .map(|r| Step {
            id: StepId(r.id),
            build_id: BuildId(r.build_id),
            number: r.number,
            name: r.name,
            state_text: r.state_text,
            results: r.results.and_then(Results::from_i64),
            started_at: r.started_at,
            finished_at: r.finished_at,
            logs: by_step.remove(&r.id).unwrap_or_default(),
        })
        .collect()
}

const INSERT: &str = "insert into steps (build_id, number, name, state_text, started_at) \
    values ($1, $2, $3, 'running', $4) returning id";

/// Starts a step.
pub async fn insert(conn: Conn<'_>, build: BuildId, number: i64, name: &str, now: i64) -> DbResult<StepId> {
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(INSERT).bind(build.0).bind(number).bind(name).bind(now).fetch_one(&mut *c).await?);
    Ok(StepId(id))
}

/// A finished step of a history being loaded (`cascade bench seed`).
#[derive(Clone, Debug)]
pub struct PastStep<'a> {
    /// Its build.
    pub build: BuildId,
    /// Its number.
    pub number: i64,
    /// Its name.
    pub name: &'a str,
    /// Its state text.
    pub state_text: String,
    /// How it ended.
    pub results: Results,
    /// When it started.
    pub started_at: i64,
    /// When it finished.
    pub finished_at: i64,
}

/// Stores a batch of finished steps, a few hundred rows a statement.
pub async fn insert_many(conn: Conn<'_>, rows: &[PastStep<'_>]) -> DbResult<Vec<StepId>> {
    let values = rows
        .iter()
        .map(|r| {
            vec![
                r.build.0.into(),
                r.number.into(),
                r.name.into(),
                r.state_text.clone().into(),
                r.results.as_i64().into(),
                r.started_at.into(),
                r.finished_at.into(),
            ]
        })
        .collect();
    let head = "insert into steps (build_id, number, name, state_text, results, started_at, finished_at) values ";
    Ok(insert_rows(conn, head, values, true).await?.into_iter().map(StepId).collect())
}

const FINISH: &str =
    "update steps set finished_at = $2, results = $3, state_text = $4 where id = $1 and finished_at is null";

/// Ends a step that is still running; false if it had ended already.
pub async fn finish(conn: Conn<'_>, id: StepId, results: Results, state_text: &str, now: i64) -> DbResult<bool> {
    let done = on_conn!(conn, c => sqlx::query(FINISH).bind(id.0).bind(now).bind(results.as_i64()).bind(state_text).execute(&mut *c).await.map(|r| r.rows_affected())?);
    Ok(done == 1)
}

const COMPLETE_OPEN_LOGS: &str = "update logs set complete = 1 \
    where complete = 0 and step_id in (select id from steps where build_id = $1 and finished_at is null)";
const INTERRUPT_OPEN: &str = "update steps set finished_at = $2, results = $3, state_text = name || ' interrupted' \
    where build_id = $1 and finished_at is null";

/// Ends, with `results`, the steps of a build that its end left running (a build whose master
/// was lost, or lost track of it), and completes their logs, so that no page shows them
/// running under a finished build.
pub async fn interrupt_open(mut conn: Conn<'_>, build: BuildId, results: Results, now: i64) -> DbResult<()> {
    on_conn!(conn.reborrow(), c => sqlx::query(COMPLETE_OPEN_LOGS).bind(build.0).execute(&mut *c).await.map(|_| ())?);
    on_conn!(conn, c => sqlx::query(INTERRUPT_OPEN).bind(build.0).bind(now).bind(results.as_i64()).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const GET: &str = "select id, build_id, number, name, state_text, results, started_at, finished_at \
    from steps where id = $1";
const LOGS_OF_STEP: &str =
    "select id, step_id, name, slug, num_lines, complete from logs where step_id = $1 order by id";

/// One step with its logs.
pub async fn get(conn: Conn<'_>, id: StepId) -> DbResult<Step> {
    on_conn!(conn, c => {
        let row: Row = sqlx::query_as(GET).bind(id.0).fetch_one(&mut *c).await?;
        let logs: Vec<InfoRow> = sqlx::query_as(LOGS_OF_STEP).bind(id.0).fetch_all(&mut *c).await?;
        assemble(vec![row], logs).pop().ok_or(super::DbError::NotFound)
    })
}

const STEP_COLUMNS: &str = "select id, build_id, number, name, state_text, results, started_at, finished_at \
    from steps where 1 = 1";
const LOG_COLUMNS: &str = "select l.id, l.step_id, l.name, l.slug, l.num_lines, l.complete \
    from logs l join steps s on s.id = l.step_id where 1 = 1";

/// The steps (with logs) of the given builds, keyed by build id, with two queries.
pub async fn list_for_builds(conn: Conn<'_>, builds: &[BuildId]) -> DbResult<HashMap<BuildId, Vec<Step>>> {
    list_where(conn, builds, &[]).await
}

/// The steps (with logs) of the given builds that ended with one of `results`.
pub async fn list_ended_with(
    conn: Conn<'_>,
    builds: &[BuildId],
    results: &[Results],
) -> DbResult<HashMap<BuildId, Vec<Step>>> {
    if results.is_empty() {
        return Ok(HashMap::new());
    }
    list_where(conn, builds, results).await
}

async fn list_where(
    mut conn: Conn<'_>,
    builds: &[BuildId],
    results: &[Results],
) -> DbResult<HashMap<BuildId, Vec<Step>>> {
    if builds.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = || builds.iter().map(|b| b.0);
    let codes = || results.iter().map(|r| r.as_i64());
    let mut steps = Query::new(STEP_COLUMNS);
    steps.any_of("build_id", ids()).any_of("results", codes()).push(" order by build_id, number");
    let rows: Vec<Row> = steps.fetch_all(conn.reborrow()).await?;
    let mut logs = Query::new(LOG_COLUMNS);
    logs.any_of("s.build_id", ids()).any_of("s.results", codes()).push(" order by l.id");
    let logs: Vec<InfoRow> = if rows.is_empty() { Vec::new() } else { logs.fetch_all(conn).await? };
    let mut out: HashMap<BuildId, Vec<Step>> = HashMap::new();
    for step in assemble(rows, logs) {
        out.entry(step.build_id).or_default().push(step);
    }
    Ok(out)
}
