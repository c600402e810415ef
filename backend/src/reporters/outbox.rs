//! The sender shared by every reporter: one task per reporter name claims that reporter's
//! due outbox rows, hands them to its [`Deliver`] in id order, and records the outcome:
//! sent, due again after an exponential backoff, or failed for good. What a message says
//! and how it reaches its peer belong to the reporter.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::{self, Db, DbResult};
use crate::engine::clock::Clock;
use crate::model::MasterId;

/// Why a delivery did not happen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliverError {
    /// Worth trying again later: the peer is down, busy or unreachable.
    #[error("{0}")]
    Transient(String),
    /// Will never succeed as it stands: the peer refused the message itself.
    #[error("{0}")]
    Permanent(String),
}

/// Hands one message to its peer (a mail server, an IRC channel, ...).
pub trait Deliver: Send + Sync + 'static {
    /// Whether this master can deliver now (an IRC bot is registered on its server, ...).
    /// A sender whose delivery is not ready claims nothing: its messages stay due, with
    /// their attempts and schedule untouched, for another master or for later, and it sleeps
    /// until woken (a delivery that becomes ready wakes its sender) or until its idle
    /// timeout. Always ready unless a deliverer says otherwise.
    fn ready(&self) -> bool {
        true
    }

    /// Delivers `payload`, the JSON the reporter stored.
    fn deliver(&self, payload: &serde_json::Value) -> impl Future<Output = Result<(), DeliverError>> + Send;
}

/// The first retry's delay, in seconds.
pub const FIRST_BACKOFF_SECS: i64 = 5;
/// The longest delay between two attempts, in seconds.
pub const MAX_BACKOFF_SECS: i64 = 3600;

/// The delay before the next attempt after `attempts` failed ones (1 or more): 5 s,
/// doubling each time, at most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    backoff_secs_at_most(attempts, MAX_BACKOFF_SECS)
}

/// As [`backoff_secs`], at most `max` seconds (and at least one).
pub fn backoff_secs_at_most(attempts: i64, max: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    FIRST_BACKOFF_SECS.saturating_mul(1 << doublings).min(max.max(1))
}

/// How long a claim holds before another master may take the rows over.
const DEFAULT_LEASE_SECS: i64 = 300;
/// Rows claimed at once; they are sent one by one within the lease.
const DEFAULT_BATCH: i64 = 20;
/// The longest sleep without looking at the table: another master's lease may run out.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// The shortest sleep, so a row that is due but held elsewhere is not polled in a loop.
const MIN_IDLE: Duration = Duration::from_millis(100);

/// The sleep after a database error.
const ERROR_IDLE: Duration = Duration::from_secs(5);

/// The sender of one reporter's messages on this master.
pub struct Sender<D> {
    db: Db,
    clock: Arc<dyn Clock>,
    master: MasterId,
    reporter: String,
    deliver: D,
    wake: Arc<Notify>,
    lease_secs: i64,
    max_backoff_secs: i64,
}

impl<D: Deliver> Sender<D> {
    /// A sender of `reporter`'s messages for `master`.
    pub fn new(db: Db, clock: Arc<dyn Clock>, master: MasterId, reporter: &str, deliver: D) -> Self {
        Sender {
            db,
            clock,
            master,
            reporter: reporter.to_owned(),
            deliver,
            wake: Arc::new(Notify::new()),
            lease_secs: DEFAULT_LEASE_SECS,
            max_backoff_secs: MAX_BACKOFF_SECS,
        }
    }

    /// The sender wakes when `wake` is notified, as well as on its own schedule.
    pub fn waking_on(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// Waits at most `secs` between two attempts at a message.
    pub fn max_backoff(mut self, secs: u64) -> Self {
        self.max_backoff_secs = i64::try_from(secs).unwrap_or(MAX_BACKOFF_SECS);
        self
    }

    /// What to notify after committing a new message, so it leaves without waiting.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends until `shutdown` is cancelled, then gives back the rows still claimed.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let idle = tokio::select! {
                _ = shutdown.cancelled() => break,
                idle = self.round() => idle,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
        if let Ok(mut conn) = self.db.acquire().await
            && let Err(e) = db::outbox::release(conn.conn(), &self.reporter, self.master).await
        {
            tracing::warn!(reporter = %self.reporter, error = %e, "claims not given back");
        }
    }

    /// Sends what is due and says how long to sleep before looking again: until woken, or
    /// the longest sleep, when the delivery is not ready.
    async fn round(&self) -> Duration {
        let result = match self.send_due().await {
            Ok(()) if !self.deliver.ready() => Ok(MAX_IDLE),
            Ok(()) => self.idle().await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(reporter = %self.reporter, error = %e, "the outbox cannot be read");
            ERROR_IDLE
        })
    }

    /// Sends every message due now, oldest first. A transient failure stops the round: the
    /// messages behind the failed one wait for its retry, so none overtakes it. While the
    /// delivery is not ready nothing is claimed, and the claimed messages not yet tried
    /// when it stops being ready are given back as they were.
    pub async fn send_due(&self) -> DbResult<()> {
        loop {
            if !self.deliver.ready() {
                return Ok(());
            }
            let batch = {
                let mut tx = self.db.begin().await?;
                let now = self.clock.now();
                let batch =
                    db::outbox::claim_due(tx.conn(), &self.reporter, self.master, now, self.lease_secs, DEFAULT_BATCH)
                        .await?;
                tx.commit().await?;
                batch
            };
            if batch.is_empty() {
                return Ok(());
            }
            for message in batch {
                if !self.deliver.ready() {
                    let mut conn = self.db.acquire().await?;
                    db::outbox::release(conn.conn(), &self.reporter, self.master).await?;
                    return Ok(());
                }
                let held = {
                    let mut conn = self.db.acquire().await?;
                    db::outbox::hold(conn.conn(), &self.reporter, message.id, self.master, self.clock.now()).await?
                };
                if !held {
                    continue;
                }
                let payload = serde_json::from_str(&message.payload).unwrap_or(serde_json::Value::Null);
                let outcome = self.deliver.deliver(&payload).await;
                let now = self.clock.now();
                let mut conn = self.db.acquire().await?;
                match outcome {
                    Ok(()) => db::outbox::mark_sent(conn.conn(), message.id, now).await?,
                    Err(DeliverError::Permanent(error)) => {
                        tracing::warn!(reporter = %self.reporter, id = message.id, %error, "message failed for good");
                        db::outbox::mark_failed(conn.conn(), message.id, &error, None, now).await?;
                    }
                    Err(DeliverError::Transient(error)) => {
                        let attempts = message.attempts + 1;
                        let next = now + backoff_secs_at_most(attempts, self.max_backoff_secs);
                        tracing::info!(reporter = %self.reporter, id = message.id, attempts, %error, "delivery will be retried");
                        db::outbox::mark_failed(conn.conn(), message.id, &error, Some(next), now).await?;
                        db::outbox::release(conn.conn(), &self.reporter, self.master).await?;
                        return Ok(());
                    }
                }
            }
        }
    }

    /// How long to sleep before the next message may be due.
    async fn idle(&self) -> DbResult<Duration> {
        let mut conn = self.db.acquire().await?;
        let due = db::outbox::next_due(conn.conn(), &self.reporter, self.master, self.lease_secs).await?;
        Ok(match due {
            None => MAX_IDLE,
            Some(at) => {
                let secs = u64::try_from(at - self.clock.now()).unwrap_or(0);
                Duration::from_secs(secs).clamp(MIN_IDLE, MAX_IDLE)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_to_an_hour() {
        let delays: Vec<i64> = (1..=12).map(backoff_secs).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(backoff_secs(0), 5);
        assert_eq!(backoff_secs(1_000), 3600);
        let capped: Vec<i64> = (1..=4).map(|n| backoff_secs_at_most(n, 12)).collect();
        assert_eq!(capped, [5, 10, 12, 12]);
        assert_eq!(backoff_secs_at_most(1, 2), 2);
        assert_eq!(backoff_secs_at_most(1, 0), 1);
    }
}
