//! Changes a scheduler holds back until its tree-stable timer expires.

use super::{Conn, DbResult, on_conn};
use crate::model::ChangeId;

const INSERT: &str = "insert into scheduler_changes (scheduler, change_id, important) values ($1, $2, 1) \
    on conflict (scheduler, change_id) do nothing";

/// Remembers a change for `scheduler`.
pub async fn insert(conn: Conn<'_>, scheduler: &str, change: ChangeId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(INSERT).bind(scheduler).bind(change.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const LIST: &str = "select sc.change_id, c.created_at from scheduler_changes sc \
    join changes c on c.id = sc.change_id where sc.scheduler = $1 order by sc.change_id";

/// The held changes with the time each arrived, oldest first.
pub async fn list(conn: Conn<'_>, scheduler: &str) -> DbResult<Vec<(ChangeId, i64)>> {
    let rows: Vec<(i64, i64)> = on_conn!(conn, c => sqlx::query_as(LIST).bind(scheduler).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(|(id, at)| (ChangeId(id), at)).collect())
}

const CLEAR: &str = "delete from scheduler_changes where scheduler = $1 and change_id <= $2";

/// Forgets the changes up to `last` once they have been built; returns how many it forgot,
/// so that of two ticks racing to build the same changes only one goes on.
pub async fn clear(conn: Conn<'_>, scheduler: &str, last: ChangeId) -> DbResult<u64> {
    Ok(on_conn!(conn, c => sqlx::query(CLEAR).bind(scheduler).bind(last.0).execute(&mut *c).await?.rows_affected()))
}
