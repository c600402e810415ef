//! Login sessions. Only the SHA-256 of the cookie's token is stored, so a copy of the
//! database does not let anyone log in. A session ends at `expires_at` (its absolute limit),
//! or earlier when unused for longer than the idle timeout the caller passes in.

use sqlx::FromRow;

use super::{Conn, DbResult, on_conn};

/// A session to store at login.
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

/// A live session as read back.
#[derive(Clone, Debug, FromRow)]
pub struct Live {
    /// The database user, if the login came from the users table.
    pub uid: Option<i64>,
    /// Who is logged in.
    pub username: String,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it was last used, epoch seconds.
    pub last_seen_at: i64,
}

/// Which sessions are still live at a moment: those not past their absolute end, made after
/// `created_after` (so a shorter `session_lifetime` applies to sessions made before it)
/// and used after `seen_after`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Now, epoch seconds.
    pub now: i64,
    /// Sessions made at or before this have lived too long.
    pub created_after: i64,
    /// Sessions last used at or before this have been idle too long.
    pub seen_after: i64,
}

const INSERT: &str = "insert into sessions (token_hash, uid, username, csrf_token, created_at, expires_at, last_seen_at) \
    values ($1, $2, $3, $4, $5, $6, $5)";

/// Stores a new session, used now.
pub async fn insert(conn: Conn<'_>, token_hash: &str, session: &Session, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(INSERT).bind(token_hash).bind(session.uid).bind(&session.username)
        .bind(&session.csrf_token).bind(now).bind(session.expires_at).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const GET: &str = "select uid, username, csrf_token, last_seen_at from sessions \
    where token_hash = $1 and expires_at > $2 and created_at > $3 and last_seen_at > $4";

/// The session with this token hash, if live in `window`.
pub async fn get(conn: Conn<'_>, token_hash: &str, window: Window) -> DbResult<Option<Live>> {
    Ok(on_conn!(conn, c => sqlx::query_as(GET).bind(token_hash).bind(window.now).bind(window.created_after)
        .bind(window.seen_after).fetch_optional(&mut *c).await?))
}

const TOUCH: &str = "update sessions set last_seen_at = $2 where token_hash = $1 and last_seen_at < $2";

/// Notes that a session was used at `now`.
pub async fn touch(conn: Conn<'_>, token_hash: &str, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(TOUCH).bind(token_hash).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const DELETE: &str = "delete from sessions where token_hash = $1";

/// Ends a session (logout).
pub async fn delete(conn: Conn<'_>, token_hash: &str) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(DELETE).bind(token_hash).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const DELETE_FOR_USER: &str = "delete from sessions where username = $1 or uid = $2";

/// Ends every session of a user, known by login name and, for database users, uid; returns
/// how many ended.
pub async fn delete_for_user(conn: Conn<'_>, username: &str, uid: Option<i64>) -> DbResult<u64> {
    Ok(on_conn!(conn, c => sqlx::query(DELETE_FOR_USER).bind(username).bind(uid).execute(&mut *c).await?
        .rows_affected()))
}

const PURGE: &str = "delete from sessions where expires_at <= $1 or created_at <= $2 or last_seen_at <= $3";

/// Deletes the sessions no longer live in `window`; returns how many.
pub async fn purge_expired(conn: Conn<'_>, window: Window) -> DbResult<u64> {
    Ok(on_conn!(conn, c => sqlx::query(PURGE).bind(window.now).bind(window.created_after).bind(window.seen_after)
        .execute(&mut *c).await?.rows_affected()))
}
