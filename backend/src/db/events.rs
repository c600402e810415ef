//! The audit trail of non-build events: actions (who did what and why), master starts,
//! worker connections. Build and step state changes live in their own tables.

use super::{Conn, DbResult, on_conn};

const INSERT: &str = "insert into events (type, at, actor, payload) values ($1, $2, $3, $4)";

/// Appends one event.
pub async fn insert(
    conn: Conn<'_>,
    kind: &str,
    at: i64,
    actor: Option<&str>,
    payload: &serde_json::Value,
) -> DbResult<()> {
    let payload = super::to_json(payload);
    on_conn!(conn, c => sqlx::query(INSERT).bind(kind).bind(at).bind(actor).bind(&payload).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}
