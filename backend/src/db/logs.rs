//! Logs and their zstd-compressed chunks. A chunk holds a run of lines, each stored as one
//! channel byte, the text and a newline; readers decompress only the chunks they need.

use sqlx::FromRow;

use super::query::{Bind, insert_rows};
use super::{Conn, DbResult, on_conn};
use crate::model::{LogId, LogInfo, StepId};

/// A `logs` row; steps load their logs' metadata through it too.
#[derive(FromRow)]
pub(crate) struct InfoRow {
    id: i64,
    pub(crate) step_id: i64,
    name: String,
    slug: String,
    num_lines: i64,
    complete: i64,
}

impl From<InfoRow> for LogInfo {
    fn from(r: InfoRow) -> Self {
        LogInfo {
            id: LogId(r.id),
            step_id: StepId(r.step_id),
            name: r.name,
            slug: r.slug,
            num_lines: r.num_lines,
            complete: r.complete != 0,
        }
    }
}

/// One stored chunk.
#[derive(Clone, Debug, FromRow)]
pub struct Chunk {
    /// Number of its first line.
    pub first_line: i64,
    /// Number of its last line.
    pub last_line: i64,
    /// zstd-compressed lines.
    pub content: Vec<u8>,
}

const INSERT: &str = "insert into logs (step_id, name, slug, kind) values ($1, $2, $3, 's') returning id";

/// Creates an empty stdio log for a step.
pub async fn insert(conn: Conn<'_>, step: StepId, name: &str, slug: &str) -> DbResult<LogId> {
    let id: i64 =
        on_conn!(conn, c => sqlx::query_scalar(INSERT).bind(step.0).bind(name).bind(slug).fetch_one(&mut *c).await?);
    Ok(LogId(id))
}

/// A finished log of one chunk, of a history being loaded (`cascade bench seed`).
#[derive(Clone, Debug)]
pub struct PastLog<'a> {
    /// Its step.
    pub step: StepId,
    /// Its name.
    pub name: &'a str,
    /// Its URL name.
    pub slug: &'a str,
    /// Its lines.
    pub num_lines: i64,
    /// Their uncompressed size.
    pub raw_bytes: i64,
    /// The one chunk holding them, compressed.
    pub chunk: Vec<u8>,
}

/// Stores a batch of finished logs, each with its one chunk, a few hundred rows a statement.
pub async fn insert_many(mut conn: Conn<'_>, rows: &[PastLog<'_>]) -> DbResult<Vec<LogId>> {
    let values = rows
        .iter()
        .map(|r| {
            vec![
                r.step.0.into(),
                r.name.into(),
                r.slug.into(),
                "s".into(),
                r.num_lines.into(),
                r.raw_bytes.into(),
                1_i64.into(),
            ]
        })
        .collect();
    let head = "insert into logs (step_id, name, slug, kind, num_lines, raw_bytes, complete) values ";
    let ids = insert_rows(conn.reborrow(), head, values, true).await?;
    let chunks = ids
        .iter()
        .zip(rows)
        .map(|(id, r)| vec![Bind::Int(*id), Bind::Int(0), Bind::Int(r.num_lines - 1), Bind::Bytes(r.chunk.clone())])
        .collect();
    let head = "insert into log_chunks (log_id, first_line, last_line, content) values ";
    insert_rows(conn, head, chunks, false).await?;
    Ok(ids.into_iter().map(LogId).collect())
}

const APPEND: &str = "insert into log_chunks (log_id, first_line, last_line, content) values ($1, $2, $3, $4)";
const GROW: &str = "update logs set num_lines = $2 + 1, raw_bytes = raw_bytes + $3 where id = $1";

/// Stores one chunk of lines `first..=last` and advances the log's line count.
pub async fn append(conn: Conn<'_>, log: LogId, first: i64, last: i64, content: &[u8], raw_bytes: i64) -> DbResult<()> {
    on_conn!(conn, c => {
        sqlx::query(APPEND).bind(log.0).bind(first).bind(last).bind(content).execute(&mut *c).await?;
        sqlx::query(GROW).bind(log.0).bind(last).bind(raw_bytes).execute(&mut *c).await?;
    });
    Ok(())
}

const FINISH: &str = "update logs set complete = 1 where id = $1";

/// Marks a log complete.
pub async fn finish(conn: Conn<'_>, log: LogId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(FINISH).bind(log.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

// `{s}` in a log's URL is the step's number or, as in 0.8.9's URLs, its name. Step names
// need not be unique, so a number wins over a step named like it, then the first step
// (lowest number) of that name.
const GET: &str = "select l.id, l.step_id, l.name, l.slug, l.num_lines, l.complete from logs l \
    join steps s on s.id = l.step_id join builds b on b.id = s.build_id \
    join builders bl on bl.id = b.builder_id \
    where bl.name = $1 and b.number = $2 and (s.number = $3 or s.name = $4) and l.slug = $5 \
    order by case when s.number = $3 then 0 else 1 end, s.number limit 1";

/// A log addressed the way URLs address it: builder name, build number, step (its number or
/// its name) and the log's slug.
pub async fn get(conn: Conn<'_>, builder: &str, build: i64, step: &str, slug: &str) -> DbResult<LogInfo> {
    let number = step.parse::<i64>().ok();
    let row: InfoRow = on_conn!(conn, c => sqlx::query_as(GET).bind(builder).bind(build).bind(number).bind(step)
        .bind(slug).fetch_one(&mut *c).await?);
    Ok(row.into())
}

/// Which part of a log's address names nothing, for a 404 that says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No builder of that name.
    Builder,
    /// The builder has no build of that number.
    Build,
    /// The build has no step of that number or name.
    Step,
    /// The step has no log of that slug.
    Log,
}

#[derive(FromRow)]
struct AddressRow {
    build_id: Option<i64>,
    step_id: Option<i64>,
}

const ADDRESS: &str = "select b.id as build_id, s.id as step_id from builders bl \
    left join builds b on b.builder_id = bl.id and b.number = $2 \
    left join steps s on s.build_id = b.id and (s.number = $3 or s.name = $4) \
    where bl.name = $1 limit 1";

/// Which part of a log's address (as [`get`] takes it) names nothing; `Log` when the builder,
/// build and step all exist.
pub async fn missing(conn: Conn<'_>, builder: &str, build: i64, step: &str) -> DbResult<Missing> {
    let number = step.parse::<i64>().ok();
    let row: Option<AddressRow> = on_conn!(conn, c => sqlx::query_as(ADDRESS).bind(builder).bind(build).bind(number)
        .bind(step).fetch_optional(&mut *c).await?);
    Ok(match row {
        None => Missing::Builder,
        Some(AddressRow { build_id: None, .. }) => Missing::Build,
        Some(AddressRow { step_id: None, .. }) => Missing::Step,
        Some(_) => Missing::Log,
    })
}

const GET_BY_ID: &str = "select id, step_id, name, slug, num_lines, complete from logs where id = $1";

/// A log by id.
pub async fn get_by_id(conn: Conn<'_>, id: LogId) -> DbResult<LogInfo> {
    let row: InfoRow = on_conn!(conn, c => sqlx::query_as(GET_BY_ID).bind(id.0).fetch_one(&mut *c).await?);
    Ok(row.into())
}

// Chunks are keyed by (log_id, first_line): the subquery finds the chunk holding line `from`
// through the primary key, so reading a log's tail never scans the chunks before it.
const OVERLAPPING: &str = "select first_line, last_line, content from log_chunks \
    where log_id = $1 and first_line < $3 and first_line >= coalesce((select max(first_line) \
    from log_chunks where log_id = $1 and first_line <= $2), 0) order by first_line";

/// The chunks holding any line in `from..to`.
pub async fn chunks_overlapping(conn: Conn<'_>, log: LogId, from: i64, to: i64) -> DbResult<Vec<Chunk>> {
    Ok(on_conn!(conn, c => sqlx::query_as(OVERLAPPING).bind(log.0).bind(from).bind(to).fetch_all(&mut *c).await?))
}

const NEXT: &str = "select first_line, last_line, content from log_chunks \
    where log_id = $1 and first_line >= $2 order by first_line limit 1";

/// The first chunk starting at or after line `from`; used to stream a log one chunk at a time.
pub async fn next_chunk(conn: Conn<'_>, log: LogId, from: i64) -> DbResult<Option<Chunk>> {
    Ok(on_conn!(conn, c => sqlx::query_as(NEXT).bind(log.0).bind(from).fetch_optional(&mut *c).await?))
}

// Same start as OVERLAPPING: from the chunk holding line `from`, found through the key.
const FROM: &str = "select first_line, last_line, content from log_chunks \
    where log_id = $1 and first_line >= coalesce((select max(first_line) \
    from log_chunks where log_id = $1 and first_line <= $2), 0) order by first_line limit $3";

/// Up to `limit` chunks in order, from the one holding line `from`; scans read a log a batch
/// of chunks per query rather than one query per chunk.
pub async fn chunks_from(conn: Conn<'_>, log: LogId, from: i64, limit: i64) -> DbResult<Vec<Chunk>> {
    Ok(on_conn!(conn, c => sqlx::query_as(FROM).bind(log.0).bind(from).bind(limit).fetch_all(&mut *c).await?))
}
