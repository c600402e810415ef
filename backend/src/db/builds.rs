//! Builds: one run of a builder for a build request.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{Conn, DbResult, from_json, on_conn, to_json};
use crate::model::{Build, BuildId, BuildRequestId, BuilderId, MasterId, Results, WorkerId};

#[derive(FromRow)]
struct Row {
    id: i64,
    builder: String,
    number: i64,
    buildrequest_id: i64,
    worker: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
    state_text: String,
    results: Option<i64>,
    reason: String,
    properties: String,
    branch: Option<String>,
    revision: Option<String>,
}

impl From<Row> for Build {
    fn from(r: Row) -> Self {
        Build {
            id: BuildId(r.id),
            builder: r.builder,
            number: r.number,
            buildrequest_id: BuildRequestId(r.buildrequest_id),
            worker: r.worker,
            started_at: r.started_at,
            finished_at: r.finished_at,
            state_text: r.state_text,
            results: r.results.and_then(Results::from_i64),
            reason: r.reason,
            properties: from_json(&r.properties),
            branch: r.branch,
            revision: r.revision,
        }
    }
}

/// Everything needed to start a build row.
#[derive(Clone, Debug)]
pub struct NewBuild<'a> {
    /// The builder.
    pub builder_id: BuilderId,
    /// The request it runs.
    pub buildrequest_id: BuildRequestId,
    /// The worker it runs on.
    pub worker_id: WorkerId,
    /// The master running it.
    pub master_id: MasterId,
    /// Why.
    pub reason: &'a str,
    /// Its properties.
    pub properties: &'a std::collections::BTreeMap<String, serde_json::Value>,
    /// Source branch.
    pub branch: Option<&'a str>,
    /// Source revision.
    pub revision: Option<&'a str>,
}

// The number is computed in the insert; the unique (builder_id, number) index turns a race
// between two masters into a Conflict that the caller retries, so numbers never repeat.
const INSERT: &str = "insert into builds (builder_id, number, buildrequest_id, worker_id, master_id, \
    started_at, state_text, reason, properties, branch, revision) \
    select $1, coalesce(max(number), 0) + 1, $2, $3, $4, $5, 'building', $6, $7, $8, $9 \
    from builds where builder_id = $1 returning id, number";

/// Starts a build, giving it the builder's next number.
pub async fn insert(conn: Conn<'_>, new: &NewBuild<'_>, now: i64) -> DbResult<(BuildId, i64)> {
    let properties = to_json(new.properties);
    let (id, number): (i64, i64) = on_conn!(conn, c => sqlx::query_as(INSERT)
        .bind(new.builder_id.0).bind(new.buildrequest_id.0).bind(new.worker_id.0).bind(new.master_id.0)
        .bind(now).bind(new.reason).bind(&properties).bind(new.branch).bind(new.revision)
        .fetch_one(&mut *c).await?);
    Ok((BuildId(id), number))
}

const FINISH: &str = "update builds set finished_at = $2, results = $3, state_text = $4 where id = $1";

/// Ends a build.
pub async fn finish(conn: Conn<'_>, id: BuildId, results: Results, state_text: &str, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(FINISH).bind(id.0).bind(now).bind(results.as_i64()).bind(state_text).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

macro_rules! select_where {
    ($tail:literal) => {
        concat!(
            "select b.id, bl.name as builder, b.number, b.buildrequest_id, w.name as worker, ",
            "b.started_at, b.finished_at, b.state_text, b.results, b.reason, b.properties, ",
            "b.branch, b.revision from builds b join builders bl on bl.id = b.builder_id ",
            "left join workers w on w.id = b.worker_id",
            $tail
        )
    };
}

const GET: &str = select_where!(" where b.id = $1");

/// One build by id.
pub async fn get(conn: Conn<'_>, id: BuildId) -> DbResult<Build> {
    let row: Row = on_conn!(conn, c => sqlx::query_as(GET).bind(id.0).fetch_one(&mut *c).await?);
    Ok(row.into())
}

const GET_BY_NUMBER: &str = select_where!(" where bl.name = $1 and b.number = $2");

/// One build by builder name and number.
pub async fn get_by_number(conn: Conn<'_>, builder: &str, number: i64) -> DbResult<Build> {
    let row: Row =
        on_conn!(conn, c => sqlx::query_as(GET_BY_NUMBER).bind(builder).bind(number).fetch_one(&mut *c).await?);
    Ok(row.into())
}

const LAST_FINISHED: &str =
    select_where!(" where b.builder_id = $1 and b.finished_at is not null order by b.number desc limit 1");

/// The last finished build of a builder.
pub async fn last_finished(conn: Conn<'_>, builder: BuilderId) -> DbResult<Option<Build>> {
    let row: Option<Row> =
        on_conn!(conn, c => sqlx::query_as(LAST_FINISHED).bind(builder.0).fetch_optional(&mut *c).await?);
    Ok(row.map(Build::from))
}

const LAST_FINISHED_ALL: &str = select_where!(
    " where b.id in (select (select l.id from builds l where l.builder_id = x.id and l.finished_at is not null \
    order by l.number desc limit 1) from builders x)"
);

/// The last finished build of every builder, in one query (one index lookup per builder).
pub async fn last_finished_all(conn: Conn<'_>) -> DbResult<HashMap<String, Build>> {
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(LAST_FINISHED_ALL).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(|r| (r.builder.clone(), Build::from(r))).collect())
}

/// Filters of the builds list; each list ORs its values, an empty list matches everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Builder names.
    pub builders: Vec<String>,
    /// Branches.
    pub branches: Vec<String>,
    /// Results.
    pub results: Vec<Results>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Builds newest first, filtered and paged.
pub async fn list(conn: Conn<'_>, filter: &Filter, limit: i64, offset: i64) -> DbResult<Vec<Build>> {
    let mut sql = String::from(select_where!(" where 1 = 1"));
    let mut binds = Vec::new();
    let mut any_of = |sql: &mut String, column: &str, values: Vec<Bind>| {
        if values.is_empty() {
            return;
        }
        let start = binds.len() + 1;
        let marks: Vec<String> = (start..start + values.len()).map(|n| format!("${n}")).collect();
        sql.push_str(&format!(" and {column} in ({})", marks.join(", ")));
        binds.extend(values);
    };
    any_of(&mut sql, "bl.name", filter.builders.iter().cloned().map(Bind::Text).collect());
    any_of(&mut sql, "b.branch", filter.branches.iter().cloned().map(Bind::Text).collect());
    any_of(&mut sql, "b.results", filter.results.iter().map(|r| Bind::Int(r.as_i64())).collect());
    let n = binds.len();
    sql.push_str(&format!(" order by b.id desc limit ${} offset ${}", n + 1, n + 2));
    binds.push(Bind::Int(limit));
    binds.push(Bind::Int(offset));
    let rows: Vec<Row> = on_conn!(conn, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q.fetch_all(&mut *c).await?
    });
    Ok(rows.into_iter().map(Build::from).collect())
}

const RUNNING_COUNTS: &str = "select builder_id, count(*) from builds where finished_at is null group by builder_id";

/// Running builds per builder id.
pub async fn running_counts(conn: Conn<'_>) -> DbResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = on_conn!(conn, c => sqlx::query_as(RUNNING_COUNTS).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().collect())
}

const UNFINISHED_FOR_MASTER: &str = select_where!(" where b.finished_at is null and b.master_id = $1");

/// Builds a master left running (it crashed or was killed).
pub async fn unfinished_for_master(conn: Conn<'_>, master: MasterId) -> DbResult<Vec<Build>> {
    let rows: Vec<Row> =
        on_conn!(conn, c => sqlx::query_as(UNFINISHED_FOR_MASTER).bind(master.0).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(Build::from).collect())
}

const SET_PROPERTIES: &str = "update builds set properties = $2 where id = $1";

/// Replaces a build's properties.
pub async fn set_properties(
    conn: Conn<'_>,
    id: BuildId,
    properties: &std::collections::BTreeMap<String, serde_json::Value>,
) -> DbResult<()> {
    let properties = to_json(properties);
    on_conn!(conn, c => sqlx::query(SET_PROPERTIES).bind(id.0).bind(&properties).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}
