//! The audit trail of non-build events: actions (who did what and why), master starts,
//! worker connections. Build and step state changes live in their own tables.

use super::query::Query;
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

/// A stored event.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Stored {
    /// Its id.
    pub id: i64,
    /// Its type (`worker.connected`, an action name, ...).
    #[sqlx(rename = "type")]
    pub kind: String,
    /// When (epoch seconds).
    pub at: i64,
    /// Who caused it, when someone did.
    pub actor: Option<String>,
    /// Its details as JSON text.
    pub payload: String,
}

/// The newest events of the given types within a time window, newest first.
pub async fn list(
    conn: Conn<'_>,
    kinds: &[&str],
    until: Option<i64>,
    since: Option<i64>,
    limit: i64,
) -> DbResult<Vec<Stored>> {
    let mut q = Query::new("select id, type, at, actor, payload from events where 1 = 1");
    q.any_of("type", kinds.iter().copied());
    if let Some(until) = until {
        let until = q.bind(until);
        q.push(&format!(" and at <= {until}"));
    }
    if let Some(since) = since {
        let since = q.bind(since);
        q.push(&format!(" and at >= {since}"));
    }
    let limit = q.bind(limit);
    q.push(&format!(" order by at desc, id desc limit {limit}"));
    q.fetch_all(conn).await
}
