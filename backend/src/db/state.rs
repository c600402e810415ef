//! Small per-object state: a periodic scheduler's last run, a poller's last revisions.

use super::{Conn, DbResult, on_conn};

const GET: &str = "select value from object_state where object = $1 and key = $2";

/// The stored value, if any.
pub async fn get(conn: Conn<'_>, object: &str, key: &str) -> DbResult<Option<String>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(GET).bind(object).bind(key).fetch_optional(&mut *c).await?))
}

const SET: &str = "insert into object_state (object, key, value) values ($1, $2, $3) \
    on conflict (object, key) do update set value = excluded.value";

/// Stores a value, replacing the old one.
pub async fn set(conn: Conn<'_>, object: &str, key: &str, value: &str) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(SET).bind(object).bind(key).bind(value).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const INSERT_IF_ABSENT: &str = "insert into object_state (object, key, value) values ($1, $2, $3) \
    on conflict (object, key) do nothing";
const UPDATE_IF: &str = "update object_state set value = $4 where object = $1 and key = $2 and value = $3";

/// Sets a value only if it still is `expected` (`None`: absent); returns whether it did.
/// Two masters (or two ticks) racing to act on the same state both call this, and only
/// one of them wins.
pub async fn compare_and_set(
    conn: Conn<'_>,
    object: &str,
    key: &str,
    expected: Option<&str>,
    value: &str,
) -> DbResult<bool> {
    let affected = on_conn!(conn, c => match expected {
        None => sqlx::query(INSERT_IF_ABSENT).bind(object).bind(key).bind(value).execute(&mut *c).await?.rows_affected(),
        Some(old) => sqlx::query(UPDATE_IF).bind(object).bind(key).bind(old).bind(value).execute(&mut *c).await?.rows_affected(),
    });
    Ok(affected == 1)
}
