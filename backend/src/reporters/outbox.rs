//! The sender shared by every reporter: one task per reporter name claims that reporter's
//! due outbox rows, hands them to its [`Deliver`] in id order, and records the outcome:
//! sent, due again after an exponential backoff, or failed for good. While a message waits
//! out a long backoff, the sender asks its [`Deliver`] now and then whether the peer is back,
//! so that delivery resumes soon after a long outage ends. What a message says and how it
//! reaches its peer belong to the reporter.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;
use tokio::time::Instant;
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

    /// After a delivery failed because the peer could not be reached at all: whether it can
    /// be reached now (a cheap look, such as a connection opened and closed). The sender asks
    /// while a message waits out a backoff longer than the first one, and makes the waiting
    /// messages due at once when it can: a peer back after minutes of absence gets them
    /// within seconds, not at the next doubled retry. False by default, and whenever the last
    /// failure was not about reaching the peer: one that answers "try later" keeps its
    /// backoff.
    fn peer_back(&self) -> impl Future<Output = bool> + Send {
        async { false }
    }

    /// Delivers `payload`, the JSON the reporter stored.
    fn deliver(&self, payload: &serde_json::Value) -> impl Future<Output = Result<(), DeliverError>> + Send;

    /// Delivers several messages at once, for a sender that batches them (see
    /// [`Sender::buffer_delay`]): all of them or none. By default one after the other.
    fn deliver_batch(&self, payloads: &[serde_json::Value]) -> impl Future<Output = Result<(), DeliverError>> + Send {
        async move {
            for payload in payloads {
                self.deliver(payload).await?;
            }
            Ok(())
        }
    }
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
    backoff_secs_from(FIRST_BACKOFF_SECS, attempts, max)
}

/// The delay before the next attempt after `attempts` failed ones: `first` seconds,
/// doubling each time, at most `max` (and at least one).
pub fn backoff_secs_from(first: i64, attempts: i64, max: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    first.max(1).saturating_mul(1 << doublings).min(max.max(1))
}

/// How long a claim holds before another master may take the rows over.
const DEFAULT_LEASE_SECS: i64 = 300;
/// Rows claimed at once; they are sent one by one within the lease.
const DEFAULT_BATCH: i64 = 20;
/// The most messages sent together when batching.
const BATCH_MAX: i64 = 500;
/// The longest sleep without looking at the table: another master's lease may run out.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// The shortest sleep, so a row that is due but held elsewhere is not polled in a loop.
const MIN_IDLE: Duration = Duration::from_millis(100);

/// The sleep after a database error.
const ERROR_IDLE: Duration = Duration::from_secs(5);

/// How long a sender sleeps, and whether its oldest message waits out a backoff longer than
/// the first one, during which it asks its deliverer whether the peer is back (see
/// [`Deliver::peer_back`]).
struct Wait {
    sleep: Duration,
    look_for_peer: bool,
}

impl Wait {
    fn sleep(sleep: Duration) -> Wait {
        Wait { sleep, look_for_peer: false }
    }
}

/// The sender of one reporter's messages on this master.
pub struct Sender<D> {
    db: Db,
    clock: Arc<dyn Clock>,
    master: MasterId,
    reporter: String,
    deliver: D,
    wake: Arc<Notify>,
    lease_secs: i64,
    first_backoff_secs: i64,
    max_backoff_secs: i64,
    buffer_secs: i64,
    max_queue: Option<i64>,
    /// While batching: the time before which the due messages wait for more.
    not_before: AtomicI64,
    /// Where failed deliveries are counted.
    metrics: Option<Arc<crate::metrics::Metrics>>,
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
            first_backoff_secs: FIRST_BACKOFF_SECS,
            max_backoff_secs: MAX_BACKOFF_SECS,
            buffer_secs: 0,
            max_queue: None,
            not_before: AtomicI64::new(0),
            metrics: None,
        }
    }

    /// Counts the sender's failed deliveries in `metrics`.
    pub fn counting_failures(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count_failure(&self, permanent: bool) {
        if let Some(m) = &self.metrics {
            m.outbox_failure(&self.reporter, permanent);
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

    /// Waits `secs` before the first retry of a message (default 5), doubling after that.
    pub fn first_backoff(mut self, secs: u64) -> Self {
        self.first_backoff_secs = i64::try_from(secs).unwrap_or(FIRST_BACKOFF_SECS);
        self
    }

    /// With `secs` > 0, the due messages wait until the oldest is `secs` old, then leave
    /// together through [`Deliver::deliver_batch`]: all sent, or the first one retried later.
    pub fn buffer_delay(mut self, secs: u64) -> Self {
        self.buffer_secs = i64::try_from(secs).unwrap_or(0);
        self
    }

    /// Keeps at most `max` unsent messages: before each round the oldest beyond it are
    /// given up on, with a warning that counts them.
    pub fn max_queue(mut self, max: Option<u64>) -> Self {
        self.max_queue = max.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
        self
    }

    /// What to notify after committing a new message, so it leaves without waiting.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends until `shutdown` is cancelled, then gives back the rows still claimed.
    pub async fn run(self, shutdown: CancellationToken) {
        // When to look whether the peer is back: kept across wakes, so that a master woken
        // by every new build still looks on time.
        let mut look_at: Option<Instant> = None;
        loop {
            let wait = tokio::select! {
                _ = shutdown.cancelled() => break,
                wait = self.round() => wait,
            };
            let now = Instant::now();
            look_at = wait.look_for_peer.then(|| look_at.unwrap_or(now + self.look_every()));
            let sleep = look_at.map_or(wait.sleep, |at| wait.sleep.min(at.saturating_duration_since(now)));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
            if look_at.is_some_and(|at| Instant::now() >= at) {
                look_at = None;
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = self.look_for_peer() => {}
                }
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
    async fn round(&self) -> Wait {
        let result = match self.send_due().await {
            Ok(()) if !self.deliver.ready() => Ok(Wait::sleep(MAX_IDLE)),
            Ok(()) => self.idle().await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(reporter = %self.reporter, error = %e, "the outbox cannot be read");
            Wait::sleep(ERROR_IDLE)
        })
    }

    /// How often to look whether the peer is back: every first backoff.
    fn look_every(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.first_backoff_secs.max(1)).unwrap_or(1))
    }

    /// Makes the waiting messages due now if the deliverer finds its peer back.
    async fn look_for_peer(&self) {
        if !self.deliver.peer_back().await {
            return;
        }
        let now = self.clock.now();
        let made_due = match self.db.acquire().await {
            Ok(mut conn) => db::outbox::due_now(conn.conn(), &self.reporter, now).await,
            Err(e) => Err(e),
        };
        match made_due {
            Ok(()) => tracing::info!(reporter = %self.reporter, "the peer is back; the waiting messages leave now"),
            Err(e) => tracing::warn!(reporter = %self.reporter, error = %e, "waiting messages stay on their schedule"),
        }
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
            self.drop_beyond_max_queue().await?;
            if self.buffer_secs > 0 {
                return self.send_due_batch().await;
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
                        self.count_failure(true);
                        db::outbox::mark_failed(conn.conn(), message.id, &error, None, now).await?;
                    }
                    Err(DeliverError::Transient(error)) => {
                        let attempts = message.attempts + 1;
                        let next = now + self.backoff(attempts);
                        tracing::info!(reporter = %self.reporter, id = message.id, attempts, %error, "delivery will be retried");
                        self.count_failure(false);
                        db::outbox::mark_failed(conn.conn(), message.id, &error, Some(next), now).await?;
                        db::outbox::release(conn.conn(), &self.reporter, self.master).await?;
                        return Ok(());
                    }
                }
            }
        }
    }

    fn backoff(&self, attempts: i64) -> i64 {
        backoff_secs_from(self.first_backoff_secs, attempts, self.max_backoff_secs)
    }

    /// Gives up on the oldest unsent messages beyond `max_queue`.
    async fn drop_beyond_max_queue(&self) -> DbResult<()> {
        let Some(max) = self.max_queue else { return Ok(()) };
        let error = format!("dropped: more than max_queue ({max}) unsent messages");
        let mut conn = self.db.acquire().await?;
        let dropped =
            db::outbox::drop_oldest_unsent(conn.conn(), &self.reporter, max, &error, self.clock.now()).await?;
        if dropped > 0 {
            tracing::warn!(reporter = %self.reporter, dropped, max_queue = max, "unsent messages dropped, oldest first");
        }
        Ok(())
    }

    /// Sends every due message in one batch once the oldest has waited `buffer_delay`; a
    /// message already tried once leaves as soon as it is due again.
    async fn send_due_batch(&self) -> DbResult<()> {
        let batch = {
            let mut tx = self.db.begin().await?;
            let now = self.clock.now();
            let batch =
                db::outbox::claim_due(tx.conn(), &self.reporter, self.master, now, self.lease_secs, BATCH_MAX).await?;
            tx.commit().await?;
            batch
        };
        let Some(first) = batch.first() else { return Ok(()) };
        let now = self.clock.now();
        let ready_at = first.created_at + self.buffer_secs;
        let mut conn = self.db.acquire().await?;
        if first.attempts == 0 && ready_at > now {
            self.not_before.store(ready_at, Ordering::Relaxed);
            db::outbox::release(conn.conn(), &self.reporter, self.master).await?;
            return Ok(());
        }
        if !db::outbox::hold(conn.conn(), &self.reporter, first.id, self.master, now).await? {
            return Ok(());
        }
        drop(conn);
        let payloads: Vec<serde_json::Value> =
            batch.iter().map(|m| serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null)).collect();
        let outcome = self.deliver.deliver_batch(&payloads).await;
        let now = self.clock.now();
        let mut conn = self.db.acquire().await?;
        match outcome {
            Ok(()) => {
                for message in &batch {
                    db::outbox::mark_sent(conn.conn(), message.id, now).await?;
                }
            }
            Err(DeliverError::Permanent(error)) => {
                tracing::warn!(reporter = %self.reporter, messages = batch.len(), %error, "messages failed for good");
                self.count_failure(true);
                for message in &batch {
                    db::outbox::mark_failed(conn.conn(), message.id, &error, None, now).await?;
                }
            }
            Err(DeliverError::Transient(error)) => {
                let attempts = first.attempts + 1;
                let next = now + self.backoff(attempts);
                tracing::info!(reporter = %self.reporter, messages = batch.len(), attempts, %error, "delivery will be retried");
                self.count_failure(false);
                db::outbox::mark_failed(conn.conn(), first.id, &error, Some(next), now).await?;
                db::outbox::release(conn.conn(), &self.reporter, self.master).await?;
            }
        }
        Ok(())
    }

    /// How long to sleep before the next message may be due; a wait longer than the first
    /// backoff is one to look for the peer during.
    async fn idle(&self) -> DbResult<Wait> {
        let mut conn = self.db.acquire().await?;
        let due = db::outbox::next_due(conn.conn(), &self.reporter, self.master, self.lease_secs).await?;
        let not_before = self.not_before.load(Ordering::Relaxed);
        Ok(match due {
            None => Wait::sleep(MAX_IDLE),
            Some(at) => {
                let at = at.max(not_before);
                let secs = u64::try_from(at - self.clock.now()).unwrap_or(0);
                let sleep = Duration::from_secs(secs).clamp(MIN_IDLE, MAX_IDLE);
                Wait { sleep, look_for_peer: sleep > self.look_every() }
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
        let from_two: Vec<i64> = (1..=5).map(|n| backoff_secs_from(2, n, 20)).collect();
        assert_eq!(from_two, [2, 4, 8, 16, 20]);
        assert_eq!(backoff_secs_from(0, 1, 20), 1);
    }
}
