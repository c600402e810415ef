//! Masters: one row per master name, so several masters can share one database.

use super::{Conn, DbResult, on_conn};
use crate::model::MasterId;

const UPSERT: &str = "insert into masters (name, active, last_active, started_at) values ($1, 1, $2, $2) \
    on conflict (name) do update set active = 1, last_active = excluded.last_active, \
    started_at = excluded.started_at, lost_at = null returning id";

/// Registers (or re-activates) the master called `name`.
pub async fn upsert(conn: Conn<'_>, name: &str, now: i64) -> DbResult<MasterId> {
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(UPSERT).bind(name).bind(now).fetch_one(&mut *c).await?);
    Ok(MasterId(id))
}

const SET_INACTIVE: &str = "update masters set active = 0, last_active = $2 where id = $1";

/// Marks a master as stopped.
pub async fn set_inactive(conn: Conn<'_>, id: MasterId, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(SET_INACTIVE).bind(id.0).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const TOUCH: &str = "update masters set last_active = $2 where id = $1 and active = 1";

/// Notes that a running master is still alive; false if it is not marked running any more
/// (another master declared it lost).
pub async fn touch(conn: Conn<'_>, id: MasterId, now: i64) -> DbResult<bool> {
    let done =
        on_conn!(conn, c => sqlx::query(TOUCH).bind(id.0).bind(now).execute(&mut *c).await.map(|r| r.rows_affected())?);
    Ok(done == 1)
}

const SET_ADDRESS: &str = "update masters set address = $2 where id = $1";

/// Records where a master serves its web pages.
pub async fn set_address(conn: Conn<'_>, id: MasterId, address: &str) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(SET_ADDRESS).bind(id.0).bind(address).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const SILENT: &str = "select id from masters where active = 1 and last_active < $1 and id <> $2 order by id";

/// The masters marked running that have not noted they are alive since `since`, other than
/// `except`.
pub async fn silent(conn: Conn<'_>, since: i64, except: MasterId) -> DbResult<Vec<MasterId>> {
    let ids: Vec<i64> =
        on_conn!(conn, c => sqlx::query_scalar(SILENT).bind(since).bind(except.0).fetch_all(&mut *c).await?);
    Ok(ids.into_iter().map(MasterId).collect())
}

const DECLARE_LOST: &str =
    "update masters set active = 0, lost_at = $3 where id = $1 and active = 1 and last_active < $2 returning name";

/// Marks a master lost if it is still marked running and silent since `since`; its name if
/// this call did it (of several masters noticing at once, one does).
pub async fn declare_lost(conn: Conn<'_>, id: MasterId, since: i64, now: i64) -> DbResult<Option<String>> {
    Ok(
        on_conn!(conn, c => sqlx::query_scalar(DECLARE_LOST).bind(id.0).bind(since).bind(now).fetch_optional(&mut *c).await?),
    )
}

/// A master that shares the database.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MasterRow {
    /// Its id.
    pub id: i64,
    /// Its name (host and configuration directory).
    pub name: String,
    /// 1 while it runs (or until it is found to have died), 0 once it stopped.
    pub active: i64,
    /// Epoch seconds it was last known to be running, or when it stopped.
    pub last_active: i64,
    /// Where it serves its web pages (empty until it listens).
    pub address: String,
    /// Epoch seconds it (last) started.
    pub started_at: i64,
    /// Epoch seconds another master declared it lost, if one did since it last started.
    pub lost_at: Option<i64>,
}

const LIST: &str = "select id, name, active, last_active, address, started_at, lost_at from masters \
    order by active desc, last_active desc, name";

/// Every master, running ones first, then the most recently seen.
pub async fn list(conn: Conn<'_>) -> DbResult<Vec<MasterRow>> {
    Ok(on_conn!(conn, c => sqlx::query_as(LIST).fetch_all(&mut *c).await?))
}
