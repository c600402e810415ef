//! The bus between masters on one PostgreSQL: notifications on one channel, and the events
//! too large to ride in one kept in `bus_events` for an hour. SQLite has one master and no
//! use for any of it.

use sqlx::PgPool;

use super::DbResult;

/// The notification channel every master listens on.
pub const CHANNEL: &str = "cascade_bus";

/// How long a large event's row is kept, in seconds: far longer than any listener takes to
/// read it.
const KEEP: i64 = 3600;

/// Sends `payloads`, in order, to every master listening (this one included), in one round
/// trip: they are delivered together, in the order of the array, when the statement commits.
pub async fn notify(pool: &PgPool, payloads: &[String]) -> DbResult<()> {
    const NOTIFY: &str = "select pg_notify($1, p) from \
        (select p from unnest($2::text[]) with ordinality as t(p, n) order by n) ordered";
    sqlx::query(NOTIFY).bind(CHANNEL).bind(payloads).execute(pool).await?;
    Ok(())
}

/// Keeps a large event; returns its id.
pub async fn store(pool: &PgPool, master: i64, payload: &str, now: i64) -> DbResult<i64> {
    const INSERT: &str = "insert into bus_events (master, at, payload) values ($1, $2, $3) returning id";
    Ok(sqlx::query_scalar(INSERT).bind(master).bind(now).bind(payload).fetch_one(pool).await?)
}

/// A large event by id, if it is still kept.
pub async fn fetch(pool: &PgPool, id: i64) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar("select payload from bus_events where id = $1").bind(id).fetch_optional(pool).await?)
}

/// Deletes the large events older than an hour.
pub async fn prune(pool: &PgPool, now: i64) -> DbResult<u64> {
    let done = sqlx::query("delete from bus_events where at < $1").bind(now - KEEP).execute(pool).await?;
    Ok(done.rows_affected())
}
