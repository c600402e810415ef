//! Build requests: one per builder of a buildset, claimed atomically by the master that runs it.

use std::collections::HashMap;

use sqlx::FromRow;

use super::query::{Query, insert_rows};
use super::{Conn, DbResult, on_conn};
use crate::model::{BuildRequestId, BuildSetId, BuilderId, MasterId, Results};

/// A claimed request, ready to become a build.
#[derive(Clone, Debug, FromRow)]
pub struct Claimed {
    /// Its id.
    pub id: i64,
    /// Its buildset.
    pub buildset_id: i64,
    /// Its builder.
    pub builder_id: i64,
}

impl Claimed {
    /// Typed id.
    pub fn request(&self) -> BuildRequestId {
        BuildRequestId(self.id)
    }
    /// Typed buildset id.
    pub fn buildset(&self) -> BuildSetId {
        BuildSetId(self.buildset_id)
    }
}

const INSERT: &str = "insert into buildrequests (buildset_id, builder_id, priority, submitted_at) \
    values ($1, $2, $3, $4) returning id";

/// Queues a request for `builder`.
pub async fn insert(
    conn: Conn<'_>,
    buildset: BuildSetId,
    builder: BuilderId,
    priority: i64,
    now: i64,
) -> DbResult<BuildRequestId> {
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(INSERT).bind(buildset.0).bind(builder.0).bind(priority).bind(now).fetch_one(&mut *c).await?);
    Ok(BuildRequestId(id))
}

// The inner select picks the oldest, highest-priority unclaimed request; the outer
// `claimed_by is null` makes the claim atomic, so two masters never take the same request.
const CLAIM_NEXT: &str = "update buildrequests set claimed_by = $2, claimed_at = $3 \
    where id = (select id from buildrequests where builder_id = $1 and complete = 0 \
    and claimed_by is null order by priority desc, id limit 1) and claimed_by is null \
    returning id, buildset_id, builder_id";

/// Claims the next pending request of `builder` for `master`, if any.
pub async fn claim_next(conn: Conn<'_>, builder: BuilderId, master: MasterId, now: i64) -> DbResult<Option<Claimed>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(CLAIM_NEXT).bind(builder.0).bind(master.0).bind(now).fetch_optional(&mut *c).await?),
    )
}

const COMPLETE: &str = "update buildrequests set complete = 1, complete_at = $2, results = $3 where id = $1";

/// Marks a request done with the results of its build.
pub async fn complete(conn: Conn<'_>, id: BuildRequestId, results: Results, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(COMPLETE).bind(id.0).bind(now).bind(results.as_i64()).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const UNCLAIM: &str = "update buildrequests set claimed_by = null, claimed_at = null where id = $1 and complete = 0";

/// Puts a request back in the queue (its build ended `retry`).
pub async fn unclaim(conn: Conn<'_>, id: BuildRequestId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(UNCLAIM).bind(id.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const PENDING_COUNTS: &str = "select builder_id, count(*) from buildrequests \
    where complete = 0 and claimed_by is null group by builder_id";

/// Unclaimed requests per builder.
pub async fn pending_counts(conn: Conn<'_>) -> DbResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = on_conn!(conn, c => sqlx::query_as(PENDING_COUNTS).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().collect())
}

const BUILDSET_OF: &str = "select buildset_id from buildrequests where id = $1";

/// The buildset a request belongs to.
pub async fn buildset_of(conn: Conn<'_>, id: BuildRequestId) -> DbResult<BuildSetId> {
    let bs: i64 = on_conn!(conn, c => sqlx::query_scalar(BUILDSET_OF).bind(id.0).fetch_one(&mut *c).await?);
    Ok(BuildSetId(bs))
}

const UNCLAIM_ALL: &str = "update buildrequests set claimed_by = null, claimed_at = null \
    where claimed_by = $1 and complete = 0";

/// Returns every unfinished request a master had claimed to the queue (at its start or stop).
pub async fn unclaim_all(conn: Conn<'_>, master: MasterId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(UNCLAIM_ALL).bind(master.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const CANCEL: &str = "update buildrequests set complete = 1, complete_at = $2, results = $3 \
    where id = $1 and complete = 0 and claimed_by is null";

/// Cancels a request that no master has claimed yet; returns whether it did.
pub async fn cancel(conn: Conn<'_>, id: BuildRequestId, now: i64) -> DbResult<bool> {
    let n = on_conn!(conn, c => sqlx::query(CANCEL).bind(id.0).bind(now).bind(Results::Cancelled.as_i64()).execute(&mut *c).await?.rows_affected());
    Ok(n == 1)
}

/// A request waiting for a worker.
#[derive(Clone, Debug, FromRow)]
pub struct Pending {
    /// Its id.
    pub id: i64,
    /// Its buildset.
    pub buildset_id: i64,
    /// Its builder's name.
    pub builder: String,
    /// Its priority (higher first).
    pub priority: i64,
    /// When it was queued (epoch seconds).
    pub submitted_at: i64,
    /// Why (its buildset's reason).
    pub reason: String,
}

const PENDING: &str = "select br.id, br.buildset_id, b.name as builder, br.priority, br.submitted_at, bs.reason \
    from buildrequests br join builders b on b.id = br.builder_id join buildsets bs on bs.id = br.buildset_id \
    where br.complete = 0 and br.claimed_by is null and ($1 = '' or b.name = $1) \
    order by br.priority desc, br.id limit $2";

/// Unclaimed requests, next to run first, optionally of one builder (`""` for all).
pub async fn pending(conn: Conn<'_>, builder: &str, limit: i64) -> DbResult<Vec<Pending>> {
    Ok(on_conn!(conn, c => sqlx::query_as(PENDING).bind(builder).bind(limit).fetch_all(&mut *c).await?))
}

const GET_PENDING: &str = "select br.id, br.buildset_id, b.name as builder, br.priority, br.submitted_at, bs.reason \
    from buildrequests br join builders b on b.id = br.builder_id join buildsets bs on bs.id = br.buildset_id \
    where br.id = $1";

/// One request (whatever its state), in the shape of the pending list.
pub async fn get(conn: Conn<'_>, id: BuildRequestId) -> DbResult<Pending> {
    Ok(on_conn!(conn, c => sqlx::query_as(GET_PENDING).bind(id.0).fetch_one(&mut *c).await?))
}

/// Of the requests `ids`, those not complete (waiting or claimed), in as many queries as
/// it takes to bind a few hundred ids at a time.
pub async fn unfinished_among(
    mut conn: Conn<'_>,
    ids: &[BuildRequestId],
) -> DbResult<std::collections::HashSet<BuildRequestId>> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(300) {
        let mut q = Query::new("select id from buildrequests where complete = 0");
        q.any_of("id", chunk.iter().map(|id| id.0));
        let rows: Vec<(i64,)> = q.fetch_all(conn.reborrow()).await?;
        out.extend(rows.into_iter().map(|(id,)| BuildRequestId(id)));
    }
    Ok(out)
}

const UNFINISHED_FOR_CHANGE: &str = "select br.id from buildrequests br \
    join buildset_changes bc on bc.buildset_id = br.buildset_id \
    where bc.change_id = $1 and br.complete = 0 order by br.id";

/// The unfinished requests of every buildset made for a change.
pub async fn unfinished_for_change(conn: Conn<'_>, change: crate::model::ChangeId) -> DbResult<Vec<BuildRequestId>> {
    let ids: Vec<i64> =
        on_conn!(conn, c => sqlx::query_scalar(UNFINISHED_FOR_CHANGE).bind(change.0).fetch_all(&mut *c).await?);
    Ok(ids.into_iter().map(BuildRequestId).collect())
}

/// A completed request of a history being loaded (`cascade bench seed`).
#[derive(Clone, Copy, Debug)]
pub struct PastRequest {
    /// Its buildset.
    pub buildset: BuildSetId,
    /// Its builder.
    pub builder: BuilderId,
    /// The master that ran it.
    pub master: MasterId,
    /// When it was queued.
    pub submitted_at: i64,
    /// When its build finished.
    pub complete_at: i64,
    /// Its build's results.
    pub results: Results,
}

/// Stores a batch of completed requests, a few hundred rows a statement.
pub async fn insert_many(conn: Conn<'_>, rows: &[PastRequest]) -> DbResult<Vec<BuildRequestId>> {
    let values = rows
        .iter()
        .map(|r| {
            vec![
                r.buildset.0.into(),
                r.builder.0.into(),
                0_i64.into(),
                r.submitted_at.into(),
                r.master.0.into(),
                r.submitted_at.into(),
                1_i64.into(),
                r.complete_at.into(),
                r.results.as_i64().into(),
            ]
        })
        .collect();
    let head = "insert into buildrequests (buildset_id, builder_id, priority, submitted_at, claimed_by, claimed_at, \
        complete, complete_at, results) values ";
    Ok(insert_rows(conn, head, values, true).await?.into_iter().map(BuildRequestId).collect())
}
