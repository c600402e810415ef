//! Login sessions. Only the SHA-256 of the cookie's token is stored, so a copy of the
//! database does not let anyone log in.

use sqlx::FromRow;

use super::{Conn, DbResult, on_conn};

/// A live session.
#[derive(Clone, Debug, FromRow)]
pub struct Session {
    /// The database user, if the login came from the users table.
    pub uid: Option<i64>,
    /// Who is logged in.
    pub username: String,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// Epoch seconds.
    pub expires_at: i64,
}

const INSERT: &str = "insert into sessions (token_hash, uid, username, csrf_token, created_at, expires_at) \
    values ($1, $2, $3, $4, $5, $6)";

/// Stores a new session.
pub async fn insert(conn: Conn<'_>, token_hash: &str, session: &Session, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(INSERT).bind(token_hash).bind(session.uid).bind(&session.username)
        .bind(&session.csrf_token).bind(now).bind(session.expires_at).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const GET: &str =
    "select uid, username, csrf_token, expires_at from sessions where token_hash = $1 and expires_at > $2";

/// The unexpired session with this token hash.
pub async fn get(conn: Conn<'_>, token_hash: &str, now: i64) -> DbResult<Option<Session>> {
    Ok(on_conn!(conn, c => sqlx::query_as(GET).bind(token_hash).bind(now).fetch_optional(&mut *c).await?))
}

const DELETE: &str = "delete from sessions where token_hash = $1";

/// Ends a session (logout).
pub async fn delete(conn: Conn<'_>, token_hash: &str) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(DELETE).bind(token_hash).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const PURGE: &str = "delete from sessions where expires_at <= $1";

/// Deletes expired sessions; returns how many.
pub async fn purge_expired(conn: Conn<'_>, now: i64) -> DbResult<u64> {
    Ok(on_conn!(conn, c => sqlx::query(PURGE).bind(now).execute(&mut *c).await?.rows_affected()))
}
