//! The outbox: messages that reporters decided to send, stored in the transaction of the
//! state change that caused them and sent later by a sender that claims them like build
//! requests. Deciding what to send and how to deliver it belongs to `reporters`.

use sqlx::FromRow;

use super::{Conn, DbResult, on_conn};
use crate::model::MasterId;

/// One stored message.
#[derive(Clone, Debug, FromRow)]
pub struct Message {
    /// Its id; messages of one reporter are sent in id order.
    pub id: i64,
    /// The reporter that sends it.
    pub reporter: String,
    /// The reporter's idempotency key.
    pub key: Option<String>,
    /// The message as JSON text, in the reporter's own shape.
    pub payload: String,
    /// When it was enqueued, epoch seconds.
    pub created_at: i64,
    /// Failed deliveries so far.
    pub attempts: i64,
    /// When it is due (again), epoch seconds.
    pub next_attempt_at: i64,
    /// When it was delivered.
    pub sent_at: Option<i64>,
    /// When it failed for good.
    pub failed_at: Option<i64>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The master holding it.
    pub claimed_by: Option<i64>,
    /// When that master took it.
    pub claimed_at: Option<i64>,
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting to be sent, possibly after failed attempts.
    Pending,
    /// Delivered.
    Sent,
    /// Given up on.
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }
}

impl Message {
    /// Where the message stands.
    pub fn state(&self) -> State {
        if self.sent_at.is_some() {
            State::Sent
        } else if self.failed_at.is_some() {
            State::Failed
        } else {
            State::Pending
        }
    }
}

const INSERT: &str = "insert into outbox (reporter, key, payload, created_at, next_attempt_at) \
    values ($1, $2, $3, $4, $4) on conflict (reporter, key) do nothing returning id";

const ID_OF_KEY: &str = "select id from outbox where reporter = $1 and key = $2";

/// Stores a message due now, once per `(reporter, key)`: enqueuing a key again returns the
/// id stored the first time. Meant to run in the transaction that records the cause.
pub async fn enqueue(
    mut conn: Conn<'_>,
    reporter: &str,
    key: &str,
    payload: &serde_json::Value,
    now: i64,
) -> DbResult<i64> {
    let text = super::to_json(payload);
    let inserted: Option<i64> = on_conn!(conn.reborrow(), c => sqlx::query_scalar(INSERT)
        .bind(reporter).bind(key).bind(&text).bind(now).fetch_optional(&mut *c).await?);
    match inserted {
        Some(id) => Ok(id),
        None => {
            Ok(on_conn!(conn, c => sqlx::query_scalar(ID_OF_KEY).bind(reporter).bind(key).fetch_one(&mut *c).await?))
        }
    }
}

// A row is claimable when it is unsent, not failed, due, and free (unclaimed, claimed by
// this master in an earlier life, or held past its lease). Rows behind the reporter's
// earliest message that is not due yet wait for it, so messages leave in id order even
// across retries; and while another master holds a live lease on any of the reporter's
// rows, nothing is claimed, so one master at a time sends a reporter's messages and none
// overtakes another. The outer conditions repeat the inner ones: an update that waited for
// another master's claim re-reads the row and skips it, so no row goes to two masters.
const CLAIM_DUE: &str = "update outbox set claimed_by = $2, claimed_at = $3 \
    where id in (select id from outbox where reporter = $1 and sent_at is null and failed_at is null \
        and next_attempt_at <= $3 \
        and (claimed_by is null or claimed_by = $2 or claimed_at <= $4) \
        and id < (select coalesce(min(id), $6) from outbox where reporter = $1 and sent_at is null \
            and failed_at is null and next_attempt_at > $3) \
        and not exists (select 1 from outbox o where o.reporter = $1 and o.sent_at is null \
            and o.failed_at is null and o.claimed_by <> $2 and o.claimed_at > $4) \
        order by id limit $5) \
    and sent_at is null and failed_at is null \
    and (claimed_by is null or claimed_by = $2 or claimed_at <= $4) \
    returning id, reporter, key, payload, created_at, attempts, next_attempt_at, sent_at, failed_at, \
    last_error, claimed_by, claimed_at";

// Two masters claiming at once on PostgreSQL would each see the other's rows unclaimed; a
// lock per reporter, held until the claiming transaction ends, makes them take turns.
// SQLite has one writer at a time already.
const LOCK_REPORTER: &str = "select pg_advisory_xact_lock(hashtext('outbox:' || $1))";

/// Claims up to `limit` due messages of `reporter` for `master`, oldest first, unless another
/// master holds a live lease on some of them. A claim older than `lease_secs` is taken over.
/// Run it in a transaction of its own: on PostgreSQL it takes a lock per reporter until then.
pub async fn claim_due(
    mut conn: Conn<'_>,
    reporter: &str,
    master: MasterId,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> DbResult<Vec<Message>> {
    if let Conn::Postgres(c) = &mut conn {
        sqlx::query(LOCK_REPORTER).bind(reporter).execute(&mut **c).await?;
    }
    let mut rows: Vec<Message> = on_conn!(conn, c => sqlx::query_as(CLAIM_DUE)
        .bind(reporter).bind(master.0).bind(now).bind(now - lease_secs).bind(limit).bind(i64::MAX)
        .fetch_all(&mut *c).await?);
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

const HOLD: &str = "update outbox set claimed_at = $3 \
    where reporter = $1 and claimed_by = $2 and sent_at is null and failed_at is null returning id";

/// Renews `master`'s claims on `reporter`'s messages just before delivering message `id`, so
/// the delivery starts with a whole lease ahead and the rest of the batch stays this
/// master's. False if `id` is no longer this master's to send: its lease ran out and another
/// master took it over, or it was sent, dropped or failed meanwhile.
pub async fn hold(conn: Conn<'_>, reporter: &str, id: i64, master: MasterId, now: i64) -> DbResult<bool> {
    let held: Vec<i64> = on_conn!(conn, c => sqlx::query_scalar(HOLD).bind(reporter).bind(master.0).bind(now)
        .fetch_all(&mut *c).await?);
    Ok(held.contains(&id))
}

const DROP_OLDEST: &str = "update outbox set failed_at = $3, last_error = $4, claimed_by = null, claimed_at = null \
    where id in (select id from outbox where reporter = $1 and sent_at is null and failed_at is null \
        order by id desc limit $5 offset $2) \
    and sent_at is null and failed_at is null";

/// Gives up on `reporter`'s oldest unsent messages beyond the newest `keep`, recording
/// `error` on each; returns how many were dropped.
pub async fn drop_oldest_unsent(conn: Conn<'_>, reporter: &str, keep: i64, error: &str, now: i64) -> DbResult<u64> {
    Ok(on_conn!(conn, c => sqlx::query(DROP_OLDEST).bind(reporter).bind(keep).bind(now).bind(error).bind(i64::MAX)
        .execute(&mut *c).await?.rows_affected()))
}

const MARK_SENT: &str =
    "update outbox set sent_at = $2, claimed_by = null, claimed_at = null where id = $1 and sent_at is null";

/// Records a delivery.
pub async fn mark_sent(conn: Conn<'_>, id: i64, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(MARK_SENT).bind(id).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const MARK_FAILED: &str = "update outbox set attempts = attempts + 1, last_error = $2, \
    next_attempt_at = coalesce($3, next_attempt_at), failed_at = case when $3 is null then $4 else null end, \
    claimed_by = null, claimed_at = null where id = $1 and sent_at is null";

/// Records a failed delivery: due again at `next_attempt_at`, or failed for good when
/// that is `None`.
pub async fn mark_failed(conn: Conn<'_>, id: i64, error: &str, next_attempt_at: Option<i64>, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(MARK_FAILED).bind(id).bind(error).bind(next_attempt_at).bind(now)
        .execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const RELEASE: &str = "update outbox set claimed_by = null, claimed_at = null \
    where reporter = $1 and claimed_by = $2 and sent_at is null";

/// Gives back the messages of `reporter` that `master` claimed and did not send.
pub async fn release(conn: Conn<'_>, reporter: &str, master: MasterId) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(RELEASE).bind(reporter).bind(master.0).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

// Messages leave in id order, so the oldest unsent one says when the next can: the rows
// behind it wait for it however long ago they were due (counting them would make a sender
// poll while its oldest message waits out a backoff). A row held by another master counts
// from the end of that master's lease, when this master may take it over.
const NEXT_DUE: &str = "select case when claimed_by is null or claimed_by = $2 \
    or claimed_at + $3 <= next_attempt_at then next_attempt_at else claimed_at + $3 end from outbox \
    where reporter = $1 and sent_at is null and failed_at is null order by id limit 1";

/// When `master` may next find a message of `reporter` to send, if there is one unsent: when
/// the oldest unsent one is due, as the others wait for it.
pub async fn next_due(conn: Conn<'_>, reporter: &str, master: MasterId, lease_secs: i64) -> DbResult<Option<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(NEXT_DUE).bind(reporter).bind(master.0).bind(lease_secs)
        .fetch_optional(&mut *c).await?))
}

const LIST: &str = "select id, reporter, key, payload, created_at, attempts, next_attempt_at, sent_at, failed_at, \
    last_error, claimed_by, claimed_at from outbox \
    where ($1 = '' or reporter = $1) \
    and ($2 = '' or ($2 = 'pending' and sent_at is null and failed_at is null) \
        or ($2 = 'sent' and sent_at is not null) or ($2 = 'failed' and failed_at is not null)) \
    order by id desc limit $3 offset $4";

/// Messages newest first, of one reporter and in one state when given.
pub async fn list(
    conn: Conn<'_>,
    reporter: Option<&str>,
    state: Option<State>,
    limit: i64,
    offset: i64,
) -> DbResult<Vec<Message>> {
    let state = state.map(State::as_str).unwrap_or_default();
    Ok(on_conn!(conn, c => sqlx::query_as(LIST).bind(reporter.unwrap_or_default()).bind(state)
        .bind(limit).bind(offset).fetch_all(&mut *c).await?))
}

const GET: &str = "select id, reporter, key, payload, created_at, attempts, next_attempt_at, sent_at, failed_at, \
    last_error, claimed_by, claimed_at from outbox where id = $1";

/// One message.
pub async fn get(conn: Conn<'_>, id: i64) -> DbResult<Message> {
    Ok(on_conn!(conn, c => sqlx::query_as(GET).bind(id).fetch_one(&mut *c).await?))
}

const RETRY: &str = "update outbox set next_attempt_at = $2, failed_at = null, claimed_by = null, claimed_at = null \
    where id = $1 and sent_at is null";

/// Makes an unsent message due now, failed or not, keeping its last error. `NotFound`
/// when there is no unsent message `id`.
pub async fn retry(conn: Conn<'_>, id: i64, now: i64) -> DbResult<()> {
    let n = on_conn!(conn, c => sqlx::query(RETRY).bind(id).bind(now).execute(&mut *c).await?.rows_affected());
    if n == 1 { Ok(()) } else { Err(super::DbError::NotFound) }
}

const DUE_NOW: &str = "update outbox set next_attempt_at = $2 \
    where reporter = $1 and sent_at is null and failed_at is null and next_attempt_at > $2";

/// Makes every message of `reporter` waiting for a retry due now: its peer is back, and
/// what waited for it need not sit out the rest of its backoff.
pub async fn due_now(conn: Conn<'_>, reporter: &str, now: i64) -> DbResult<()> {
    on_conn!(conn, c => sqlx::query(DUE_NOW).bind(reporter).bind(now).execute(&mut *c).await.map(|_| ())?);
    Ok(())
}

const DROP: &str = "delete from outbox where id = $1";

/// Deletes a message, whatever its state. `NotFound` when there is none.
pub async fn drop(conn: Conn<'_>, id: i64) -> DbResult<()> {
    let n = on_conn!(conn, c => sqlx::query(DROP).bind(id).execute(&mut *c).await?.rows_affected());
    if n == 1 { Ok(()) } else { Err(super::DbError::NotFound) }
}

const PENDING_BY_REPORTER: &str = "select reporter, count(*) from outbox \
    where sent_at is null and failed_at is null group by reporter order by reporter";

/// How many messages each reporter has neither sent nor given up (reporters with none are
/// left out).
pub async fn pending_by_reporter(conn: Conn<'_>) -> DbResult<Vec<(String, i64)>> {
    Ok(on_conn!(conn, c => sqlx::query_as(PENDING_BY_REPORTER).fetch_all(&mut *c).await?))
}
