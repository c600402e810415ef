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
