//! Workers: identity, host info, connection state.

use super::{Conn, DbResult, on_conn, to_json};
use crate::model::{MasterId, WorkerId};

const UPSERT: &str = "insert into workers (name) values ($1) \
    on conflict (name) do update set name = excluded.name returning id";

/// Records a configured worker, returning its id.
pub async fn upsert(conn: Conn<'_>, name: &str) -> DbResult<WorkerId> {
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(UPSERT).bind(name).fetch_one(&mut *c).await?);
    Ok(WorkerId(id))
}

const CONNECTED: &str = "update workers set connected_to = $2, info = $3, version = $4, last_seen = $5 where id = $1";

/// Records that a worker connected to `master` with the given host info.
pub async fn set_connected(
    conn: Conn<'_>,
    id: WorkerId,
    master: MasterId,
    info: &serde_json::Value,
    version: &str,
    now: i64,
) -> DbResult<()> {
    let info = to_json(info);
    on_conn!(conn, c => sqlx::query(CONNECTED).bind(id.0).bind(master.0).bind(&info).bind(version).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const DISCONNECTED: &str = "update workers set connected_to = null, last_seen = $2 where id = $1";

/// Records that a worker went away.
pub async fn set_disconnected(conn: Conn<'_>, id: WorkerId, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(DISCONNECTED).bind(id.0).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const DISCONNECT_ALL: &str = "update workers set connected_to = null where connected_to = $1";

/// Forgets every connection a (restarted) master had recorded.
pub async fn disconnect_all(conn: Conn<'_>, master: MasterId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(DISCONNECT_ALL).bind(master.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

/// A worker as the database knows it: what every master of a shared database sees.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkerRow {
    /// Its name.
    pub name: String,
    /// The active master it is connected to, if any.
    pub master: Option<String>,
    /// Host info (JSON) from its last hello.
    pub info: String,
    /// Its version, from its last hello.
    pub version: Option<String>,
    /// Epoch seconds of its last connection or disconnection.
    pub last_seen: Option<i64>,
}

const LIST: &str = "select w.name, m.name as master, w.info, w.version, w.last_seen from workers w \
    left join masters m on m.id = w.connected_to and m.active = 1 order by w.name";

/// Every worker the database knows, by name.
pub async fn list(conn: Conn<'_>) -> DbResult<Vec<WorkerRow>> {
    Ok(on_conn!(conn, c => sqlx::query_as(LIST).fetch_all(&mut *c).await?))
}
