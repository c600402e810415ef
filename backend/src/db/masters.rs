//! Masters: one row per master name, so several masters can share one database.

use super::{Conn, DbResult, on_conn};
use crate::model::MasterId;

const UPSERT: &str = "insert into masters (name, active, last_active) values ($1, 1, $2) \
    on conflict (name) do update set active = 1, last_active = excluded.last_active returning id";

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

/// Notes that a running master is still alive.
pub async fn touch(conn: Conn<'_>, id: MasterId, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(TOUCH).bind(id.0).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
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
}

const LIST: &str = "select id, name, active, last_active from masters order by active desc, last_active desc, name";

/// Every master, running ones first, then the most recently seen.
pub async fn list(conn: Conn<'_>) -> DbResult<Vec<MasterRow>> {
    Ok(on_conn!(conn, c => sqlx::query_as(LIST).fetch_all(&mut *c).await?))
}
