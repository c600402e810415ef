//! The outbox and its sender, on SQLite and (with CASCADE_TEST_DATABASE_URL) PostgreSQL:
//! one row per idempotency key, claims that never go to two masters and that expire,
//! backoff, in-order exactly-once delivery across failures and restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cascade::db::outbox::{self, State};
use cascade::db::{Db, DbError};
use cascade::engine::clock::ManualClock;
use cascade::model::MasterId;
use cascade::reporters::outbox::{Deliver, DeliverError, Sender};
use common::TestDb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_700_000_000;

async fn enqueue(db: &Db, reporter: &str, n: i64, now: i64) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let id = outbox::enqueue(tx.conn(), reporter, &format!("event-{n}"), &json!({ "n": n }), now).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn all(db: &Db, state: Option<State>) -> Vec<outbox::Message> {
    let mut conn = db.acquire().await.unwrap();
    outbox::list(conn.conn(), None, state, 1000, 0).await.unwrap()
}

/// Whether every message has its outcome stored: a sender stopped between a delivery and
/// its record leaves the message to be sent again, so tests stop it only once this holds.
async fn settled(db: &Db) -> bool {
    all(db, Some(State::Pending)).await.is_empty()
}

/// Records what it is given; fails transiently for its first `fail_first` calls and for
/// good on the payloads listed in `refuse`; ready unless `unready` is set, which it sets
/// itself once it has delivered `lost_after`.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<i64>>>,
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    refuse: Vec<i64>,
    unready: Arc<AtomicBool>,
    lost_after: Option<i64>,
}

impl Recorder {
    fn seen(&self) -> Vec<i64> {
        self.seen.lock().unwrap().clone()
    }
}

impl Deliver for Recorder {
    fn ready(&self) -> bool {
        !self.unready.load(Ordering::SeqCst)
    }

    async fn deliver(&self, payload: &serde_json::Value) -> Result<(), DeliverError> {
        let n = payload["n"].as_i64().unwrap();
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return Err(DeliverError::Transient(format!("peer down for {n}")));
        }
        if self.refuse.contains(&n) {
            return Err(DeliverError::Permanent(format!("{n} refused")));
        }
        self.seen.lock().unwrap().push(n);
        if self.lost_after == Some(n) {
            self.unready.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Polls `done` until it holds, moving `clock` on by an hour and waking the sender between
/// looks so that every backoff runs out; fails after 30 s.
async fn wait_for(clock: &ManualClock, wake: &tokio::sync::Notify, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out");
        clock.advance(3600);
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_same_key_is_stored_once() {
    let tdb = TestDb::new().await;
    let first = enqueue(&tdb.db, "mail", 1, T0).await;
    let again = enqueue(&tdb.db, "mail", 1, T0 + 10).await;
    assert_eq!(first, again);
    let other_reporter = enqueue(&tdb.db, "irc", 1, T0).await;
    assert_ne!(first, other_reporter);
    let rows = all(&tdb.db, None).await;
    assert_eq!(rows.len(), 2);
    let mail = rows.iter().find(|m| m.reporter == "mail").unwrap();
    assert_eq!((mail.created_at, mail.key.as_deref(), mail.state()), (T0, Some("event-1"), State::Pending));

    // Inside a transaction that rolls back, nothing stays.
    let mut tx = tdb.db.begin().await.unwrap();
    outbox::enqueue(tx.conn(), "mail", "event-2", &json!({ "n": 2 }), T0).await.unwrap();
    drop(tx);
    assert_eq!(all(&tdb.db, None).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_masters_take_turns_and_send_each_row_once_in_order() {
    let tdb = TestDb::new().await;
    for n in 0..120 {
        enqueue(&tdb.db, "mail", n, T0).await;
    }
    // The order in which rows are sent, whoever sends them.
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for master in [1, 2] {
        // Each master has its own pool on the same database.
        let db = Db::connect(&tdb.url).await.unwrap();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while sent.lock().unwrap().len() < 120 {
                assert!(Instant::now() < deadline, "the rows were not all sent");
                let mut tx = db.begin().await.unwrap();
                let batch = outbox::claim_due(tx.conn(), "mail", MasterId(master), T0, 300, 7).await.unwrap();
                tx.commit().await.unwrap();
                let mut conn = db.acquire().await.unwrap();
                for m in batch {
                    assert_eq!(m.claimed_by, Some(master));
                    sent.lock().unwrap().push(m.id);
                    outbox::mark_sent(conn.conn(), m.id, T0).await.unwrap();
                    mine.push(m.id);
                }
                drop(conn);
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 120, "a row was claimed twice");
    assert_eq!(unique.len(), 120);
    assert_eq!(all(&tdb.db, Some(State::Sent)).await.len(), 120);
    let order = sent.lock().unwrap().clone();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "rows overtook each other: {order:?}");
}

#[tokio::test]
async fn a_master_holding_a_live_lease_keeps_the_others_waiting() {
    let tdb = TestDb::new().await;
    for n in 0..3 {
        enqueue(&tdb.db, "mail", n, T0).await;
    }
    let mut conn = tdb.db.acquire().await.unwrap();
    let first = outbox::claim_due(conn.conn(), "mail", MasterId(1), T0, 300, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    // Rows 2 and 3 are free and due, but master 1 is sending: master 2 waits its turn.
    assert!(outbox::claim_due(conn.conn(), "mail", MasterId(2), T0 + 1, 300, 10).await.unwrap().is_empty());
    // Another reporter's messages are not held up.
    enqueue(&tdb.db, "irc", 9, T0).await;
    assert_eq!(outbox::claim_due(conn.conn(), "irc", MasterId(2), T0 + 1, 300, 10).await.unwrap().len(), 1);
    outbox::mark_sent(conn.conn(), first[0].id, T0 + 2).await.unwrap();
    let rest = outbox::claim_due(conn.conn(), "mail", MasterId(2), T0 + 3, 300, 10).await.unwrap();
    assert_eq!(rest.len(), 2);
}

#[tokio::test]
async fn a_lease_past_its_time_is_taken_over() {
    let tdb = TestDb::new().await;
    enqueue(&tdb.db, "mail", 1, T0).await;
    let mut conn = tdb.db.acquire().await.unwrap();
    let held = outbox::claim_due(conn.conn(), "mail", MasterId(1), T0, 300, 10).await.unwrap();
    assert_eq!(held.len(), 1);
    let early = outbox::claim_due(conn.conn(), "mail", MasterId(2), T0 + 299, 300, 10).await.unwrap();
    assert!(early.is_empty(), "a live lease was taken");
    let next = outbox::next_due(conn.conn(), "mail", MasterId(2), 300).await.unwrap();
    assert_eq!(next, Some(T0 + 300));
    let late = outbox::claim_due(conn.conn(), "mail", MasterId(2), T0 + 300, 300, 10).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!((late[0].claimed_by, late[0].claimed_at), (Some(2), Some(T0 + 300)));
    // The first master, slow to get to it, finds the message is no longer its to send.
    assert!(!outbox::hold(conn.conn(), "mail", late[0].id, MasterId(1), T0 + 301).await.unwrap());
    assert!(outbox::hold(conn.conn(), "mail", late[0].id, MasterId(2), T0 + 301).await.unwrap());
}

#[tokio::test]
async fn a_claim_is_renewed_before_each_delivery() {
    let tdb = TestDb::new().await;
    let id = enqueue(&tdb.db, "mail", 1, T0).await;
    let mut conn = tdb.db.acquire().await.unwrap();
    outbox::claim_due(conn.conn(), "mail", MasterId(1), T0, 300, 10).await.unwrap();
    // Renewed at T0 + 250, the lease holds until T0 + 550: another master waits.
    assert!(outbox::hold(conn.conn(), "mail", id, MasterId(1), T0 + 250).await.unwrap());
    let other = outbox::claim_due(conn.conn(), "mail", MasterId(2), T0 + 400, 300, 10).await.unwrap();
    assert!(other.is_empty(), "a renewed lease was taken");
    outbox::mark_sent(conn.conn(), id, T0 + 260).await.unwrap();
    assert!(!outbox::hold(conn.conn(), "mail", id, MasterId(1), T0 + 261).await.unwrap(), "a sent message was held");
}

#[tokio::test]
async fn transient_failures_back_off_on_the_clock() {
    let tdb = TestDb::new().await;
    let clock = ManualClock::new(T0);
    let id = enqueue(&tdb.db, "mail", 1, T0).await;
    let deliverer = Recorder { fail_first: usize::MAX, ..Recorder::default() };
    let sender = Sender::new(tdb.db.clone(), clock.clone(), MasterId(1), "mail", deliverer.clone());
    let mut schedule = Vec::new();
    for _ in 0..12 {
        sender.send_due().await.unwrap();
        let mut conn = tdb.db.acquire().await.unwrap();
        let m = outbox::get(conn.conn(), id).await.unwrap();
        let delay = m.next_attempt_at - clock_now(&clock);
        schedule.push((m.attempts, delay));
        assert_eq!(m.last_error.as_deref(), Some("peer down for 1"));
        assert_eq!((m.state(), m.claimed_by), (State::Pending, None));
        // Not due yet: nothing happens one second early.
        clock.advance(delay - 1);
        sender.send_due().await.unwrap();
        assert_eq!(outbox::get(conn.conn(), id).await.unwrap().attempts, m.attempts);
        clock.advance(1);
    }
    let expected: Vec<(i64, i64)> =
        [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600].into_iter().zip(1..).map(|(d, a)| (a, d)).collect();
    assert_eq!(schedule, expected);
    assert!(deliverer.seen().is_empty());
}

fn clock_now(clock: &ManualClock) -> i64 {
    use cascade::engine::clock::Clock;
    clock.now()
}

#[tokio::test]
async fn a_recovering_peer_gets_each_message_once_in_order() {
    let tdb = TestDb::new().await;
    let clock = ManualClock::new(T0);
    for n in 0..6 {
        enqueue(&tdb.db, "mail", n, T0).await;
    }
    let deliverer = Recorder { fail_first: 4, refuse: vec![3], ..Recorder::default() };
    let sender = Sender::new(tdb.db.clone(), clock.clone(), MasterId(1), "mail", deliverer.clone());
    let wake = sender.waker();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sender.run(stop.clone()));

    wait_for(&clock, &wake, async || deliverer.seen().len() == 5 && settled(&tdb.db).await).await;
    assert_eq!(deliverer.seen(), [0, 1, 2, 4, 5]);

    // A message enqueued while the sender idles leaves once it is woken.
    enqueue(&tdb.db, "mail", 6, clock_now(&clock)).await;
    wake.notify_one();
    wait_for(&clock, &wake, async || deliverer.seen().len() == 6 && settled(&tdb.db).await).await;
    stop.cancel();
    task.await.unwrap();

    assert_eq!(deliverer.seen(), [0, 1, 2, 4, 5, 6]);
    let rows = all(&tdb.db, None).await;
    let first = rows.iter().find(|m| m.key.as_deref() == Some("event-0")).unwrap();
    assert_eq!((first.attempts, first.state()), (4, State::Sent));
    let refused = rows.iter().find(|m| m.key.as_deref() == Some("event-3")).unwrap();
    assert_eq!((refused.state(), refused.last_error.as_deref()), (State::Failed, Some("3 refused")));
    assert_eq!(all(&tdb.db, Some(State::Sent)).await.len(), 6);
}

#[tokio::test]
async fn a_sender_whose_delivery_is_not_ready_leaves_the_messages_as_they_were() {
    let tdb = TestDb::new().await;
    let clock = ManualClock::new(T0);
    for n in 0..4 {
        enqueue(&tdb.db, "irc", n, T0).await;
    }
    let deliverer = Recorder::default();
    deliverer.unready.store(true, Ordering::SeqCst);
    let sender = Sender::new(tdb.db.clone(), clock.clone(), MasterId(1), "irc", deliverer.clone());
    sender.send_due().await.unwrap();
    let untouched = |m: &outbox::Message| {
        (m.state(), m.attempts, m.claimed_by, m.next_attempt_at, m.last_error.is_none())
            == (State::Pending, 0, None, T0, true)
    };
    assert!(all(&tdb.db, None).await.iter().all(untouched), "a message was claimed or tried");
    assert_eq!(deliverer.calls.load(Ordering::SeqCst), 0);

    // Ready, it sends until it is no longer ready; what it had claimed and not tried is
    // given back untouched.
    let deliverer = Recorder { lost_after: Some(1), ..Recorder::default() };
    let sender = Sender::new(tdb.db.clone(), clock.clone(), MasterId(1), "irc", deliverer.clone());
    sender.send_due().await.unwrap();
    assert_eq!(deliverer.seen(), [0, 1]);
    let rows = all(&tdb.db, None).await;
    let pending: Vec<&outbox::Message> = rows.iter().filter(|m| m.state() == State::Pending).collect();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|m| untouched(m)), "{pending:?}");

    // Ready again and woken, the running sender sends the rest, in order, at their first try.
    let wake = sender.waker();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sender.run(stop.clone()));
    deliverer.unready.store(false, Ordering::SeqCst);
    wake.notify_one();
    wait_for(&clock, &wake, async || deliverer.seen().len() == 4 && settled(&tdb.db).await).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(deliverer.seen(), [0, 1, 2, 3]);
    let rows = all(&tdb.db, None).await;
    assert!(rows.iter().all(|m| m.state() == State::Sent && m.attempts == 0), "{rows:?}");
}

#[tokio::test]
async fn a_restarted_sender_sends_what_was_left_and_nothing_twice() {
    let tdb = TestDb::new().await;
    let clock = ManualClock::new(T0);
    for n in 0..4 {
        enqueue(&tdb.db, "mail", n, T0).await;
    }
    // A master that died mid-round: it claimed everything and sent the first message.
    {
        let mut conn = tdb.db.acquire().await.unwrap();
        let claimed = outbox::claim_due(conn.conn(), "mail", MasterId(1), T0, 300, 10).await.unwrap();
        assert_eq!(claimed.len(), 4);
        outbox::mark_sent(conn.conn(), claimed[0].id, T0).await.unwrap();
    }
    // The same master started again, on a fresh pool.
    let db = Db::connect(&tdb.url).await.unwrap();
    let deliverer = Recorder::default();
    let sender = Sender::new(db.clone(), clock.clone(), MasterId(1), "mail", deliverer.clone());
    let wake = sender.waker();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sender.run(stop.clone()));
    wait_for(&clock, &wake, async || deliverer.seen().len() == 3 && settled(&tdb.db).await).await;
    stop.cancel();
    task.await.unwrap();

    // Another start after a clean stop finds nothing to send, then sends what is new.
    enqueue(&tdb.db, "mail", 4, clock_now(&clock)).await;
    enqueue(&tdb.db, "mail", 1, clock_now(&clock)).await;
    let sender = Sender::new(db.clone(), clock.clone(), MasterId(1), "mail", deliverer.clone());
    let wake = sender.waker();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sender.run(stop.clone()));
    wait_for(&clock, &wake, async || deliverer.seen().len() == 4 && settled(&tdb.db).await).await;
    stop.cancel();
    task.await.unwrap();

    assert_eq!(deliverer.seen(), [1, 2, 3, 4]);
    assert_eq!(all(&tdb.db, Some(State::Sent)).await.len(), 5);
    assert!(all(&tdb.db, None).await.iter().all(|m| m.claimed_by.is_none()));
}

#[tokio::test]
async fn list_filters_pages_retries_and_drops() {
    let tdb = TestDb::new().await;
    let a = enqueue(&tdb.db, "mail", 1, T0).await;
    let b = enqueue(&tdb.db, "mail", 2, T0).await;
    let c = enqueue(&tdb.db, "irc", 3, T0).await;
    let mut conn = tdb.db.acquire().await.unwrap();
    outbox::mark_sent(conn.conn(), a, T0 + 1).await.unwrap();
    outbox::mark_failed(conn.conn(), b, "refused", None, T0 + 2).await.unwrap();

    let ids = |rows: Vec<outbox::Message>| rows.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(outbox::list(conn.conn(), None, None, 10, 0).await.unwrap()), [c, b, a]);
    assert_eq!(ids(outbox::list(conn.conn(), None, None, 2, 1).await.unwrap()), [b, a]);
    assert_eq!(ids(outbox::list(conn.conn(), Some("mail"), None, 10, 0).await.unwrap()), [b, a]);
    assert_eq!(ids(outbox::list(conn.conn(), None, Some(State::Pending), 10, 0).await.unwrap()), [c]);
    assert_eq!(ids(outbox::list(conn.conn(), None, Some(State::Sent), 10, 0).await.unwrap()), [a]);
    assert_eq!(ids(outbox::list(conn.conn(), Some("mail"), Some(State::Failed), 10, 0).await.unwrap()), [b]);

    outbox::retry(conn.conn(), b, T0 + 50).await.unwrap();
    let retried = outbox::get(conn.conn(), b).await.unwrap();
    assert_eq!(retried.state(), State::Pending);
    assert_eq!(
        (retried.next_attempt_at, retried.attempts, retried.last_error.as_deref()),
        (T0 + 50, 1, Some("refused"))
    );
    assert!(matches!(outbox::retry(conn.conn(), a, T0).await, Err(DbError::NotFound)), "a sent message is retried");

    outbox::drop(conn.conn(), c).await.unwrap();
    assert!(matches!(outbox::drop(conn.conn(), c).await, Err(DbError::NotFound)));
    assert!(matches!(outbox::get(conn.conn(), c).await, Err(DbError::NotFound)));
}

/// A peer that cannot be reached while `down` is set, and that says whether it is back
/// when the sender asks.
#[derive(Clone, Default)]
struct Away {
    down: Arc<AtomicBool>,
    looks: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<i64>>>,
}

impl Deliver for Away {
    async fn peer_back(&self) -> bool {
        self.looks.fetch_add(1, Ordering::SeqCst);
        !self.down.load(Ordering::SeqCst)
    }

    async fn deliver(&self, payload: &serde_json::Value) -> Result<(), DeliverError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(DeliverError::Transient("connection refused".into()));
        }
        self.seen.lock().unwrap().push(payload["n"].as_i64().unwrap());
        Ok(())
    }
}

/// Polls `done` on the wall clock (the sender's clock stands still) for at most 30 s.
async fn wait_real(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_peer_back_before_the_backoff_runs_out_gets_the_waiting_messages_at_once() {
    let tdb = TestDb::new().await;
    let clock = ManualClock::new(T0);
    let first = enqueue(&tdb.db, "push", 0, T0).await;
    for n in 1..3 {
        enqueue(&tdb.db, "push", n, T0).await;
    }
    // The peer has been away for long: the oldest message waits out an hour's backoff, and
    // the clock stands still, so only the sender's looks can make it due.
    {
        let mut conn = tdb.db.acquire().await.unwrap();
        outbox::mark_failed(conn.conn(), first, "connection refused", Some(T0 + 3600), T0).await.unwrap();
        // The messages behind it wait for it, however long ago they were due.
        assert_eq!(outbox::next_due(conn.conn(), "push", MasterId(1), 300).await.unwrap(), Some(T0 + 3600));
    }
    let away = Away::default();
    away.down.store(true, Ordering::SeqCst);
    let sender = Sender::new(tdb.db.clone(), clock.clone(), MasterId(1), "push", away.clone()).first_backoff(1);
    let wake = sender.waker();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sender.run(stop.clone()));
    // A busy master wakes its sender at every build: it still looks on time.
    let busy = tokio::spawn({
        let stop = stop.clone();
        async move {
            while !stop.is_cancelled() {
                wake.notify_one();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    // While the peer is away the sender looks for it, every first backoff, and tries nothing.
    wait_real("two looks", async || away.looks.load(Ordering::SeqCst) >= 2).await;
    assert_eq!(away.calls.load(Ordering::SeqCst), 0);

    // Back, it gets every waiting message, in order, once, though the backoff has not run out.
    away.down.store(false, Ordering::SeqCst);
    wait_real("the messages", async || {
        let seen = away.seen.lock().unwrap().len();
        seen == 3 && settled(&tdb.db).await
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    busy.await.unwrap();
    assert_eq!(*away.seen.lock().unwrap(), [0, 1, 2]);
    let rows = all(&tdb.db, None).await;
    assert!(rows.iter().all(|m| m.state() == State::Sent), "{rows:?}");
    assert_eq!(clock_now(&clock), T0);
}
