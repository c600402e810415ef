//! Group commit for the change hooks. Each delivery is answered only once its changes and its
//! record in the delivery log are committed, so an acknowledged change is stored; but the
//! deliveries that arrive while a transaction commits share the next one, so a burst of hooks
//! costs one commit per batch instead of two per hook. The batch's changes are stored with one
//! set of multi-row statements and its records with one more, whatever the number of
//! deliveries; should the database refuse some change, the batch's deliveries are stored again
//! one by one, each in a savepoint of the transaction: one that fails is undone alone and the
//! others are kept.
//!
//! A delivery that finds no batch being written starts a task that writes batches for as long
//! as deliveries keep arriving, and ends when none is waiting; every other caller only queues
//! its delivery and waits for its answer. The batches run on tasks of their own, so a caller
//! that goes away (its client hung up) does not stop the others' work halfway.
//!
//! Batches overlap by one step: once a batch has written its rows it waits only for its turn
//! to commit, and the next batch starts writing meanwhile (on PostgreSQL, on a connection of
//! its own; SQLite's single writer makes it wait for the commit). Commits, and the events
//! published after them, keep the order in which the batches wrote, so a hook's change is
//! never visible before another hook's with a smaller id. (Changes a poller finds are stored
//! in transactions of their own, outside this order.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::bus::Event;
use super::{Engine, EngineError};
use crate::db::deliveries::Delivery;
use crate::db::{self, DbError, Savepoint};
use crate::model::{ChangeId, NewChange};

/// The deliveries one transaction takes at most; the rest wait for the next.
const BATCH_MAX: usize = 256;

/// How a delivery is recorded once its changes are stored (`Ok`, their ids) or refused
/// (`Err`): the record says what the sender was answered.
pub type Record = Box<dyn FnOnce(Result<&[ChangeId], &EngineError>) -> Delivery + Send>;

/// What became of one delivery.
#[derive(Debug)]
pub struct Ingested {
    /// The ids of its stored changes, or why none was stored.
    pub changes: Result<Vec<ChangeId>, EngineError>,
    /// The id of its record in the delivery log, if it was stored.
    pub delivery: Option<i64>,
}

/// The deliveries no batch has taken yet, oldest first.
#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    /// Whether a task is writing batches (it takes these jobs before it ends).
    writing: bool,
}

struct Job {
    changes: Vec<NewChange>,
    record: Record,
    answer: oneshot::Sender<Ingested>,
}

/// The deliveries waiting for a transaction, and the turn to commit one.
#[derive(Default)]
pub struct Queue {
    waiting: Mutex<Waiting>,
    /// Held by the batch committing; taken before the next batch may write, and fair, so
    /// batches commit in the order they wrote.
    commit: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Engine {
    /// Stores a hook delivery's changes (letting the schedulers decide on them) and its
    /// record in the delivery log, committed before this returns; see the module's text.
    pub async fn ingest(self: &Arc<Self>, changes: Vec<NewChange>, record: Record) -> Ingested {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut waiting = lock(&self.ingest.waiting);
            waiting.jobs.push_back(Job { changes, record, answer });
            !std::mem::replace(&mut waiting.writing, true)
        };
        if start {
            tokio::spawn(self.clone().write_batches());
        }
        answered.await.unwrap_or_else(|_| Ingested { changes: Err(unstored()), delivery: None })
    }

    /// Writes the waiting deliveries a batch at a time until none is waiting. A batch is
    /// written while the one before it commits.
    async fn write_batches(self: Arc<Self>) {
        loop {
            let jobs = {
                let mut waiting = lock(&self.ingest.waiting);
                if waiting.jobs.is_empty() {
                    waiting.writing = false;
                    return;
                }
                let at = waiting.jobs.len().min(BATCH_MAX);
                waiting.jobs.drain(..at).collect::<Vec<_>>()
            };
            let (written, rows_written) = oneshot::channel();
            let engine = self.clone();
            tokio::spawn(async move { engine.commit_batch(jobs, written).await });
            // Sent, or dropped, once the batch no longer writes.
            let _ = rows_written.await;
        }
    }

    /// Runs `jobs` in one transaction and answers each once it commits; says it is `written`
    /// (by sending or dropping it) once its rows are written and its turn to commit has come,
    /// or once it has failed.
    async fn commit_batch(&self, jobs: Vec<Job>, written: oneshot::Sender<()>) {
        let now = self.clock.now();
        let mut tx = match self.db.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                // The database is out of reach (a begin waits for a connection as long as the
                // pool lets it): the deliveries that queued meanwhile would wait as long
                // again for the same answer, so they get it now and their senders retry.
                let queued = std::mem::take(&mut lock(&self.ingest.waiting).jobs);
                return fail_all(jobs.into_iter().chain(queued).map(|j| j.answer), &e);
            }
        };
        let counts: Vec<usize> = jobs.iter().map(|j| j.changes.len()).collect();
        let mut changes = Vec::with_capacity(counts.iter().sum());
        let mut rest = Vec::with_capacity(jobs.len());
        for Job { changes: mine, record, answer } in jobs {
            changes.extend(mine);
            rest.push((record, answer));
        }
        let stored = match self.store_batch(&mut tx, &changes, &counts, now).await {
            Ok(stored) => stored,
            Err(e) => return fail_all(rest.into_iter().map(|(_, answer)| answer), &e),
        };
        let mut records = Vec::with_capacity(rest.len());
        let mut answers = Vec::with_capacity(rest.len());
        for ((record, answer), (ids, events)) in rest.into_iter().zip(stored) {
            records.push(record(ids.as_deref()));
            answers.push((answer, ids, events));
        }
        let delivery_ids = match db::deliveries::insert_many(tx.conn(), records).await {
            Ok(ids) => ids,
            Err(e) => return fail_all(answers.into_iter().map(|a| a.0), &e),
        };
        let committing = self.ingest.commit.lock().await;
        let _ = written.send(());
        if let Err(e) = tx.commit().await {
            return fail_all(answers.into_iter().map(|a| a.0), &e);
        }
        let mut changes = changes.into_iter();
        for (((answer, ids, events), delivery), count) in answers.into_iter().zip(delivery_ids).zip(counts) {
            let mine: Vec<NewChange> = changes.by_ref().take(count).collect();
            if let Ok(ids) = &ids {
                self.publish_changes(ids, mine, now, events);
            }
            let _ = answer.send(Ingested { changes: ids, delivery: Some(delivery) });
        }
        drop(committing);
    }

    /// Stores the changes of a batch's deliveries (`counts` says how many of `changes` are
    /// each one's) inside the batch's transaction, which has done nothing else yet: all of
    /// them with one set of statements first, and when the database refuses that, the
    /// transaction starts over and stores one delivery at a time, each in a savepoint undone
    /// alone if it fails. Each delivery's change ids, or why none was
    /// stored, with the events to publish after the commit. `Err` only when the transaction
    /// itself failed.
    async fn store_batch(
        &self,
        tx: &mut db::Tx,
        changes: &[NewChange],
        counts: &[usize],
        now: i64,
    ) -> Result<Vec<(Result<Vec<ChangeId>, EngineError>, Vec<Event>)>, DbError> {
        if counts.len() > 1 {
            let mut events = Vec::new();
            match self.store_changes(tx, changes, now, &mut events).await {
                Ok(ids) => {
                    let mut ids = ids.into_iter();
                    let mut stored: Vec<_> =
                        counts.iter().map(|&n| (Ok(ids.by_ref().take(n).collect()), Vec::new())).collect();
                    // The buildsets' events follow every change of the batch.
                    if let Some(last) = stored.last_mut() {
                        last.1 = events;
                    }
                    return Ok(stored);
                }
                Err(e) => {
                    tracing::debug!(error = ?e, "a batch of hook deliveries was refused; storing them one by one");
                    tx.restart().await.map_err(|then| first_error(&e, then))?;
                }
            }
        }
        let mut stored = Vec::with_capacity(counts.len());
        let mut from = 0;
        for &n in counts {
            let mut events = Vec::new();
            tx.savepoint(Savepoint::Begin).await?;
            let ids = self.store_changes(tx, &changes[from..from + n], now, &mut events).await;
            match &ids {
                Ok(_) => tx.savepoint(Savepoint::Release).await?,
                Err(e) => {
                    tracing::error!(error = ?e, "could not store a hook delivery's changes");
                    events.clear();
                    tx.savepoint(Savepoint::RollBack).await.map_err(|then| first_error(e, then))?;
                }
            }
            stored.push((ids, events));
            from += n;
        }
        Ok(stored)
    }
}

/// Why a transaction failed when undoing part of it failed too: a full disk if that was the
/// first refusal (SQLite then rolls the whole transaction back by itself, and the undo finds
/// none), so the sender is told to wait for space; else the undo's failure.
fn first_error(first: &EngineError, then: DbError) -> DbError {
    match first {
        EngineError::Db(DbError::Full(m)) => DbError::Full(m.clone()),
        _ => then,
    }
}

/// Answers every delivery of a batch whose transaction failed: nothing of it was stored.
fn fail_all(answers: impl Iterator<Item = oneshot::Sender<Ingested>>, error: &DbError) {
    tracing::error!(error = ?error, "could not store a batch of hook deliveries");
    for answer in answers {
        let _ = answer.send(Ingested { changes: Err(unstored_by(error)), delivery: None });
    }
}

/// Why a delivery was not stored, as its sender is to be told: a full disk as itself (the
/// sender should wait for space, not only retry), anything else as the database not taking it.
fn unstored_by(error: &DbError) -> EngineError {
    match error {
        DbError::Full(m) => EngineError::Db(DbError::Full(m.clone())),
        _ => unstored(),
    }
}

fn unstored() -> EngineError {
    EngineError::Db(DbError::Unavailable("the database did not take the delivery".into()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
