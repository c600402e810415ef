//! Builds: one run of a builder for a build request.

use std::collections::HashMap;

use sqlx::FromRow;

use super::buildsets::NewSourceStamp;
use super::query::{Query, insert_rows};
use super::{Conn, DbResult, from_json, on_conn, to_json};
use crate::model::{Build, BuildId, BuildRequestId, BuilderId, ChangeId, MasterId, Results, Sourced, WorkerId};

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
    codebase: String,
    project: String,
    repository: String,
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
            codebase: r.codebase,
            project: r.project,
            repository: r.repository,
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
    /// What it builds (its buildset's first source stamp).
    pub source: &'a NewSourceStamp,
}

// The number is computed in the insert; the unique (builder_id, number) index turns a race
// between two masters into a Conflict that the caller retries, so numbers never repeat.
const INSERT: &str = "insert into builds (builder_id, number, buildrequest_id, worker_id, master_id, \
    started_at, state_text, reason, properties, branch, revision, codebase, project, repository) \
    select $1, coalesce(max(number), 0) + 1, $2, $3, $4, $5, 'building', $6, $7, $8, $9, $10, $11, $12 \
    from builds where builder_id = $1 returning id, number";

/// Starts a build, giving it the builder's next number.
pub async fn insert(conn: Conn<'_>, new: &NewBuild<'_>, now: i64) -> DbResult<(BuildId, i64)> {
    let properties = to_json(new.properties);
    let (id, number): (i64, i64) = on_conn!(conn, c => sqlx::query_as(INSERT)
        .bind(new.builder_id.0).bind(new.buildrequest_id.0).bind(new.worker_id.0).bind(new.master_id.0)
        .bind(now).bind(new.reason).bind(&properties).bind(&new.source.branch).bind(&new.source.revision)
        .bind(&new.source.codebase).bind(&new.source.project).bind(&new.source.repository)
        .fetch_one(&mut *c).await?);
    Ok((BuildId(id), number))
}

/// A finished build of a history being loaded (`cascade bench seed`).
#[derive(Clone, Debug)]
pub struct PastBuild<'a> {
    /// What a new build is given.
    pub new: NewBuild<'a>,
    /// Its number (the loader numbers each builder's builds in order).
    pub number: i64,
    /// When it started.
    pub started_at: i64,
    /// When it finished.
    pub finished_at: i64,
    /// How it ended.
    pub results: Results,
    /// Its state text.
    pub state_text: &'a str,
}

/// Stores a batch of finished builds, a few hundred rows a statement.
pub async fn insert_many(conn: Conn<'_>, rows: &[PastBuild<'_>]) -> DbResult<Vec<BuildId>> {
    let values = rows
        .iter()
        .map(|r| {
            let n = &r.new;
            vec![
                n.builder_id.0.into(),
                r.number.into(),
                n.buildrequest_id.0.into(),
                n.worker_id.0.into(),
                n.master_id.0.into(),
                r.started_at.into(),
                r.finished_at.into(),
                r.state_text.into(),
                r.results.as_i64().into(),
                n.reason.into(),
                to_json(n.properties).into(),
                n.source.branch.clone().into(),
                n.source.revision.clone().into(),
                n.source.codebase.clone().into(),
                n.source.project.clone().into(),
                n.source.repository.clone().into(),
            ]
        })
        .collect();
    let head = "insert into builds (builder_id, number, buildrequest_id, worker_id, master_id, started_at, \
        finished_at, state_text, results, reason, properties, branch, revision, codebase, project, repository) values ";
    Ok(insert_rows(conn, head, values, true).await?.into_iter().map(BuildId).collect())
}

const FINISH: &str =
    "update builds set finished_at = $2, results = $3, state_text = $4 where id = $1 and finished_at is null";

/// Ends a build that is still running; false if it had ended already (another master ended
/// it when it declared this build's master lost).
pub async fn finish(conn: Conn<'_>, id: BuildId, results: Results, state_text: &str, now: i64) -> DbResult<bool> {
    let done = on_conn!(conn, c => sqlx::query(FINISH).bind(id.0).bind(now).bind(results.as_i64()).bind(state_text).execute(&mut *c).await.map(|r| r.rows_affected())?);
    Ok(done == 1)
}

macro_rules! select_where {
    ($tail:expr) => {
        concat!(
            "select b.id, bl.name as builder, b.number, b.buildrequest_id, w.name as worker, ",
            "b.started_at, b.finished_at, b.state_text, b.results, b.reason, b.properties, ",
            "b.branch, b.revision, b.codebase, b.project, b.repository ",
            "from builds b join builders bl on bl.id = b.builder_id ",
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

const LAST_OF_REVISION: &str =
    select_where!(" where b.builder_id = $1 and b.revision = $2 order by b.number desc limit 1");

/// The newest build (finished or not) of a builder that built `revision`.
pub async fn last_of_revision(conn: Conn<'_>, builder: BuilderId, revision: &str) -> DbResult<Option<Build>> {
    let row: Option<Row> = on_conn!(conn, c => sqlx::query_as(LAST_OF_REVISION)
        .bind(builder.0).bind(revision).fetch_optional(&mut *c).await?);
    Ok(row.map(Build::from))
}

// The builder-branch index walks backwards from the build; unfinished and retried builds
// are stepped over, so the scan costs the few builds in between, never the history. A
// null branch has its own statement: `=` never matches null, and `is not distinct from`
// would not use the index.
macro_rules! previous_finished {
    ($branch:literal) => {
        select_where!(concat!(
            " where b.builder_id = (select builder_id from builds where id = $1) and ",
            $branch,
            " and (b.started_at < $3 or (b.started_at = $3 and b.id < $1)) ",
            "and b.finished_at is not null and b.results <> $4 ",
            "order by b.started_at desc, b.id desc limit 1"
        ))
    };
}
const PREVIOUS_FINISHED: &str = previous_finished!("b.branch = $2");
const PREVIOUS_FINISHED_NO_BRANCH: &str = previous_finished!("b.branch is null and cast($2 as text) is null");

/// The finished build before `build` of the same builder and branch, retries left out: what
/// "the result changed" is measured against. A build still running does not count.
pub async fn previous_finished(conn: Conn<'_>, build: &Build) -> DbResult<Option<Build>> {
    let sql = if build.branch.is_some() { PREVIOUS_FINISHED } else { PREVIOUS_FINISHED_NO_BRANCH };
    let row: Option<Row> = on_conn!(conn, c => sqlx::query_as(sql)
        .bind(build.id.0).bind(build.branch.as_deref()).bind(build.started_at).bind(Results::Retry.as_i64())
        .fetch_optional(&mut *c).await?);
    Ok(row.map(Build::from))
}

const OF_BUILDSET: &str = select_where!(
    " where b.id in (select max(x.id) from builds x join buildrequests r on r.id = x.buildrequest_id \
     where r.buildset_id = $1 group by x.buildrequest_id) order by b.id"
);

/// The last build of each request of a build set, oldest first.
pub async fn of_buildset(conn: Conn<'_>, set: crate::model::BuildSetId) -> DbResult<Vec<Build>> {
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(OF_BUILDSET).bind(set.0).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(Build::from).collect())
}

/// The last finished build of every builder (of these branches, when given; `trunk` also
/// matches the default branch), in one query: one index lookup per builder.
pub async fn last_finished_all(conn: Conn<'_>, branches: &[String]) -> DbResult<HashMap<String, Build>> {
    let mut q = Query::new(select_where!(
        " where b.id in (select (select l.id from builds l where l.builder_id = x.id and l.finished_at is not null"
    ));
    if branches.is_empty() {
        q.push(" order by l.number desc limit 1) from builders x)");
    } else {
        let list = q.bind_list(branches.iter().map(String::as_str));
        let trunk = if branches.iter().any(|b| b == "trunk") { " or l.branch is null" } else { "" };
        q.push(&format!(
            " and (l.branch in ({list}){trunk}) order by l.started_at desc, l.id desc limit 1) from builders x)"
        ));
    }
    let rows: Vec<Row> = q.fetch_all(conn).await?;
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
    /// Only builds of the buildsets made for this change.
    pub change: Option<ChangeId>,
    /// Property name and value pairs the build's properties must all have (values compared
    /// as text: `7`, `true`, `main`).
    pub properties: Vec<(String, String)>,
    /// Names of the workers they ran on.
    pub workers: Vec<String>,
}

/// A property's value as text, in each database's JSON functions.
fn property_text(conn: &Conn<'_>, q: &mut Query, name: &str) -> String {
    match conn {
        Conn::Postgres(_) => format!("(b.properties::jsonb ->> {})", q.bind(name)),
        Conn::Sqlite(_) => {
            let path = q.bind(format!("$.\"{}\"", name.replace('"', "")));
            format!(
                "(case json_type(b.properties, {path}) when 'true' then 'true' when 'false' then 'false' \
                 else cast(json_extract(b.properties, {path}) as text) end)"
            )
        }
    }
}

/// Builds newest first, filtered and paged.
pub async fn list(conn: Conn<'_>, filter: &Filter, limit: i64, offset: i64) -> DbResult<Vec<Build>> {
    let mut q = Query::new(select_where!(" where 1 = 1"));
    // One builder's builds are read along its (builder_id, id) index. Several builders' are
    // read newest first along the id index, keeping theirs, which stops at the page's end;
    // joining on their ids instead would read every build of those builders and sort them.
    match filter.builders.as_slice() {
        [] => {}
        [one] => {
            let one = q.bind(one.as_str());
            q.push(&format!(" and bl.name = {one}"));
        }
        several => {
            let list = q.bind_list(several.iter().map(String::as_str));
            q.push(&format!(" and b.builder_id + 0 in (select id from builders where name in ({list}))"));
        }
    }
    q.any_of("b.branch", filter.branches.iter().map(String::as_str))
        .any_of("b.results", filter.results.iter().map(|r| r.as_i64()));
    if let Some(change) = filter.change {
        let change = q.bind(change.0);
        q.push(&format!(
            " and b.buildrequest_id in (select br.id from buildrequests br join buildset_changes bc \
             on bc.buildset_id = br.buildset_id where bc.change_id = {change})"
        ));
    }
    for (name, value) in &filter.properties {
        let column = property_text(&conn, &mut q, name);
        let value = q.bind(value.as_str());
        q.push(&format!(" and {column} = {value}"));
    }
    // One worker's builds are read newest first along its index; an `in` over several
    // workers would read all their builds and sort them.
    match filter.workers.as_slice() {
        [] => {}
        [one] => {
            let one = q.bind(one.as_str());
            q.push(&format!(" and b.worker_id = (select id from workers where name = {one})"));
        }
        several => {
            let list = q.bind_list(several.iter().map(String::as_str));
            q.push(&format!(" and b.worker_id in (select id from workers where name in ({list}))"));
        }
    }
    let (limit, offset) = (q.bind(limit), q.bind(offset));
    q.push(&format!(" order by b.id desc limit {limit} offset {offset}"));
    let rows: Vec<Row> = q.fetch_all(conn).await?;
    Ok(rows.into_iter().map(Build::from).collect())
}

/// What the overview pages select builds by. Lists OR their values; empty lists match all.
#[derive(Clone, Debug, Default)]
pub struct TimeFilter {
    /// Only builds older than this `(started_at, id)`: the next page of a walk back in time.
    pub before: Option<(i64, i64)>,
    /// Only builds started at or before this time (epoch seconds).
    pub until: Option<i64>,
    /// Only builds started at or after this time.
    pub since: Option<i64>,
    /// Branches; `trunk` also matches builds of the default branch (0.8.9's convention).
    pub branches: Vec<String>,
    /// Projects of the source stamp.
    pub projects: Vec<String>,
    /// Authors of a change the build contains.
    pub authors: Vec<String>,
    /// Only finished builds.
    pub finished: bool,
    /// Only failed builds (failure or exception), which are finished too.
    pub failed: bool,
}

impl TimeFilter {
    /// The filter's conditions. When `by_time` the query walks the `builds_time` index and
    /// the other columns are wrapped (`x + 0`, `x || ''`) so that SQLite's planner does not
    /// pick their indexes and sort everything they match: the time window bounds the walk.
    fn apply(&self, q: &mut Query, by_time: bool) {
        let text = |c: &str| if by_time { format!("({c} || '')") } else { c.to_owned() };
        if let Some((t, id)) = self.before {
            let (t, id) = (q.bind(t), q.bind(id));
            q.push(&format!(" and (b.started_at, b.id) < ({t}, {id})"));
        }
        if let Some(until) = self.until {
            let until = q.bind(until);
            q.push(&format!(" and b.started_at <= {until}"));
        }
        if let Some(since) = self.since {
            let since = q.bind(since);
            q.push(&format!(" and b.started_at >= {since}"));
        }
        if !self.branches.is_empty() {
            let list = q.bind_list(self.branches.iter().map(String::as_str));
            let trunk = if self.branches.iter().any(|b| b == "trunk") { " or b.branch is null" } else { "" };
            q.push(&format!(" and ({} in ({list}){trunk})", text("b.branch")));
        }
        q.any_of(&text("b.project"), self.projects.iter().map(String::as_str));
        if self.failed {
            // Spelled exactly as the partial index `builds_builder_failed` spells it, literal
            // numbers included, so that the planners may walk it.
            q.push(" and b.results in (2, 4)");
        } else if self.finished {
            q.push(if by_time { " and (b.finished_at + 0) is not null" } else { " and b.finished_at is not null" });
        }
        if !self.authors.is_empty() {
            let list = q.bind_list(self.authors.iter().map(String::as_str));
            q.push(&format!(
                " and exists (select 1 from buildrequests br join buildset_changes bc on bc.buildset_id = br.buildset_id \
                join changes c on c.id = bc.change_id where br.id = b.buildrequest_id and c.author in ({list}))"
            ));
        }
    }
}

/// The newest builds of the given builders (by start time, then id) that pass the filter.
/// A single builder's builds are read through its own index; several builders' (a page of
/// all builders) along the time index.
pub async fn list_by_time(
    conn: Conn<'_>,
    builders: &[BuilderId],
    filter: &TimeFilter,
    limit: i64,
) -> DbResult<Vec<Build>> {
    let mut q = Query::new(select_where!(" where 1 = 1"));
    let by_time = builders.len() != 1;
    q.any_of(if by_time { "b.builder_id + 0" } else { "b.builder_id" }, builders.iter().map(|b| b.0));
    filter.apply(&mut q, by_time);
    let limit = q.bind(limit);
    q.push(&format!(" order by b.started_at desc, b.id desc limit {limit}"));
    let rows: Vec<Row> = q.fetch_all(conn).await?;
    Ok(rows.into_iter().map(Build::from).collect())
}

// One index seek per builder for its newest number, then one range per builder: builds are
// numbered from 1 without gaps, so a builder's last `n` are the numbers above its newest - n.
const NEWEST_NUMBERS: &str = "select x.id, (select b.number from builds b where b.builder_id = x.id \
    order by b.number desc limit 1) from builders x where 1 = 1";

/// The last `n` builds of each of `builders`, newest first per builder, in two queries.
pub async fn last_of_each(mut conn: Conn<'_>, builders: &[BuilderId], n: i64) -> DbResult<Vec<Build>> {
    if builders.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(NEWEST_NUMBERS);
    q.any_of("x.id", builders.iter().map(|b| b.0));
    let newest: Vec<(i64, Option<i64>)> = q.fetch_all(conn.reborrow()).await?;
    let ranges: Vec<(i64, i64)> = newest.into_iter().filter_map(|(b, top)| top.map(|top| (b, top - n))).collect();
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(select_where!(" where "));
    let mut terms = Vec::with_capacity(ranges.len());
    for (builder, above) in ranges {
        let (b, a) = (q.bind(builder), q.bind(above));
        terms.push(format!("(b.builder_id = {b} and b.number > {a})"));
    }
    q.push(&format!("({}) order by b.builder_id, b.number desc", terms.join(" or ")));
    let rows: Vec<Row> = q.fetch_all(conn).await?;
    Ok(rows.into_iter().map(Build::from).collect())
}

/// A build and one change it contains.
#[derive(FromRow)]
struct ChangeRow {
    change_id: i64,
    builder_id: i64,
    #[sqlx(flatten)]
    build: Row,
}

/// The builds (of the given builders) that contain each of the given changes, as
/// (change, build) pairs: a change's builds are its buildsets' builds.
pub async fn for_changes(
    conn: Conn<'_>,
    changes: &[ChangeId],
    builders: &[BuilderId],
) -> DbResult<Vec<(ChangeId, Build)>> {
    if changes.is_empty() || builders.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(concat!(
        "select bc.change_id, b.builder_id, b.id, bl.name as builder, b.number, b.buildrequest_id, w.name as worker, ",
        "b.started_at, b.finished_at, b.state_text, b.results, b.reason, b.properties, ",
        "b.branch, b.revision, b.codebase, b.project, b.repository ",
        "from buildset_changes bc join buildrequests br on br.buildset_id = bc.buildset_id ",
        "join builds b on b.buildrequest_id = br.id join builders bl on bl.id = b.builder_id ",
        "left join workers w on w.id = b.worker_id where 1 = 1"
    ));
    // The builders are filtered here, not in SQL: given `b.builder_id in (...)`, SQLite's
    // planner starts from those builders' builds instead of from the changes.
    q.any_of("bc.change_id", changes.iter().map(|c| c.0));
    let rows: Vec<(i64, ChangeRow)> =
        q.fetch_all::<ChangeRow>(conn).await?.into_iter().map(|r| (r.builder_id, r)).collect();
    Ok(rows
        .into_iter()
        .filter(|(id, _)| builders.contains(&BuilderId(*id)))
        .map(|(_, r)| (ChangeId(r.change_id), Build::from(r.build)))
        .collect())
}

/// The results of builds given as (builder, number); a build still running maps to `None`,
/// one that does not exist is missing.
pub async fn results_of(
    conn: Conn<'_>,
    builds: &[(BuilderId, i64)],
) -> DbResult<HashMap<(BuilderId, i64), Option<Results>>> {
    if builds.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Query::new("select builder_id, number, results from builds where ");
    let mut terms = Vec::with_capacity(builds.len());
    for (builder, number) in builds {
        let (b, n) = (q.bind(builder.0), q.bind(*number));
        terms.push(format!("(builder_id = {b} and number = {n})"));
    }
    q.push(&terms.join(" or "));
    let rows: Vec<(i64, i64, Option<i64>)> = q.fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(b, n, r)| ((BuilderId(b), n), r.and_then(Results::from_i64))).collect())
}

// One index walk per builder: its last successful builds, newest first.
const AVERAGE_DURATION: &str = "select cast(avg(d) as double precision) from (select finished_at - started_at as d from builds \
    where builder_id = $1 and results = 0 order by number desc limit $2) recent";

/// The mean duration in seconds of a builder's last `last` successful builds (for ETAs).
pub async fn average_duration(conn: Conn<'_>, builder: BuilderId, last: i64) -> DbResult<Option<f64>> {
    let avg: Option<f64> =
        on_conn!(conn, c => sqlx::query_scalar(AVERAGE_DURATION).bind(builder.0).bind(last).fetch_one(&mut *c).await?);
    Ok(avg)
}

const RUNNING_COUNTS: &str = "select builder_id, count(*) from builds where finished_at is null group by builder_id";

/// Running builds per builder id.
pub async fn running_counts(conn: Conn<'_>) -> DbResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = on_conn!(conn, c => sqlx::query_as(RUNNING_COUNTS).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().collect())
}

const FAILING_NOW: &str = "select distinct bl.name from builds b join builders bl on bl.id = b.builder_id \
    join steps s on s.build_id = b.id where b.finished_at is null and s.results in (2, 4)";

/// The builders with a running build that already has a failed step.
pub async fn builders_failing_now(conn: Conn<'_>) -> DbResult<std::collections::HashSet<String>> {
    let names: Vec<String> = on_conn!(conn, c => sqlx::query_scalar(FAILING_NOW).fetch_all(&mut *c).await?);
    Ok(names.into_iter().collect())
}

const UNFINISHED_FOR_MASTER: &str = select_where!(" where b.finished_at is null and b.master_id = $1");

/// Builds a master left running (it crashed or was killed).
pub async fn unfinished_for_master(conn: Conn<'_>, master: MasterId) -> DbResult<Vec<Build>> {
    let rows: Vec<Row> =
        on_conn!(conn, c => sqlx::query_as(UNFINISHED_FOR_MASTER).bind(master.0).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(Build::from).collect())
}

const RUNNING_OF: &str = select_where!(" where bl.name = $1 and b.finished_at is null order by b.number");

/// The unfinished builds of a builder, oldest first.
pub async fn running_of(conn: Conn<'_>, builder: &str) -> DbResult<Vec<Build>> {
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(RUNNING_OF).bind(builder).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(Build::from).collect())
}

const SET_PROPERTIES: &str = "update builds set properties = $2, property_sources = $3 where id = $1";

/// Replaces a build's properties and their sources.
pub async fn set_properties(conn: Conn<'_>, id: BuildId, properties: &Sourced) -> DbResult<()> {
    let (values, sources) = (to_json(&properties.values), to_json(&properties.sources));
    on_conn!(conn, c => sqlx::query(SET_PROPERTIES).bind(id.0).bind(&values).bind(&sources)
        .execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const PROPERTY_SOURCES: &str = "select property_sources from builds where id = $1";

/// Where each of a build's properties came from.
pub async fn property_sources(conn: Conn<'_>, id: BuildId) -> DbResult<std::collections::BTreeMap<String, String>> {
    let text: String = on_conn!(conn, c => sqlx::query_scalar(PROPERTY_SOURCES).bind(id.0).fetch_one(&mut *c).await?);
    Ok(from_json(&text))
}
