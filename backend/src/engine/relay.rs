//! The bus between masters on one PostgreSQL, with no other server: each event published on
//! a master is sent to the others with `NOTIFY` (channel [`db::bus::CHANNEL`]), and each
//! master's listener publishes the others' events on its own bus, where its SSE streams, its
//! page cache and its dispatcher see them. A notification is
//! `{"m": master, "s": sequence, "e": event}`, or, for an event too large for a
//! notification, `{"m", "s", "id"}` naming the `bus_events` row that holds it. One master's
//! events leave from one task in the order they were published, so they arrive in that
//! order. A gap in a master's sequence (an event it could not send) or a lost connection
//! (events sent meanwhile are gone) makes the listener publish `resync`, telling every page
//! to read its state again. On SQLite nothing of this runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::Engine;
use super::bus::{Event, Stamped};
use crate::db::{self, Db};

/// The largest event sent inside a notification (PostgreSQL's limit is 8,000 bytes).
const INLINE_MAX: usize = 7_000;

/// At most this many events leave in one round trip.
const BATCH_MAX: usize = 256;

/// How many large events are stored between two prunes of the old ones.
const PRUNE_EVERY: u64 = 100;

/// Starts relaying this master's events to the other masters and theirs to this one, when
/// the database is PostgreSQL.
pub fn start(engine: &Arc<Engine>) {
    let Db::Postgres(pool) = &engine.db else { return };
    let Some(outgoing) = engine.bus.relay() else { return };
    engine.spawn(send(engine.clone(), pool.clone(), outgoing));
    engine.spawn(listen(engine.clone(), pool.clone()));
}

/// One notification, as sent.
#[derive(Debug, Deserialize)]
struct Envelope {
    /// The master that published the event.
    m: i64,
    /// Its sequence number among that master's events, from 1.
    s: u64,
    /// The event, when it fits.
    e: Option<Stamped>,
    /// The `bus_events` row holding the event, when it does not.
    id: Option<i64>,
}

/// Sends this master's events in the order they were published: those waiting when a
/// round trip ends leave together in the next one (a busy master publishes thousands a
/// second; one `NOTIFY` round trip each would queue them).
async fn send(engine: Arc<Engine>, pool: PgPool, mut outgoing: mpsc::Receiver<Arc<Stamped>>) {
    let master = engine.master.0;
    let mut seq: u64 = 0;
    let mut stored: u64 = 0;
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while outgoing.recv_many(&mut batch, BATCH_MAX).await > 0 {
        let mut payloads = Vec::with_capacity(batch.len());
        for stamped in batch.drain(..) {
            seq += 1;
            let event = match serde_json::to_string(stamped.as_ref()) {
                Ok(text) => text,
                Err(error) => {
                    tracing::error!(%error, kind = stamped.event.kind(), "an event could not be written for the other masters");
                    continue;
                }
            };
            if event.len() <= INLINE_MAX {
                payloads.push(format!(r#"{{"m":{master},"s":{seq},"e":{event}}}"#));
                continue;
            }
            stored += 1;
            if stored.is_multiple_of(PRUNE_EVERY)
                && let Err(error) = db::bus::prune(&pool, engine.clock.now()).await
            {
                tracing::warn!(%error, "could not delete old large events");
            }
            match db::bus::store(&pool, master, &event, engine.clock.now()).await {
                Ok(id) => payloads.push(format!(r#"{{"m":{master},"s":{seq},"id":{id}}}"#)),
                // The gap in the sequence tells the other masters to resynchronise.
                Err(error) => {
                    tracing::warn!(%error, kind = stamped.event.kind(), "an event did not reach the other masters")
                }
            }
        }
        if let Err(error) = db::bus::notify(&pool, &payloads).await {
            tracing::warn!(%error, events = payloads.len(), "events did not reach the other masters");
        }
    }
}

/// Publishes the other masters' events on this master's bus until the engine stops. A
/// listener whose connection fails is dropped and a new one made; each time the link comes
/// back, pages are told to resynchronise.
async fn listen(engine: Arc<Engine>, pool: PgPool) {
    const FIRST_WAIT: Duration = Duration::from_millis(250);
    let mut backoff = FIRST_WAIT;
    let mut listener: Option<PgListener> = None;
    let mut ever_connected = false;
    let mut last: HashMap<i64, u64> = HashMap::new();
    loop {
        let Some(current) = listener.as_mut() else {
            match connect(&pool).await {
                Ok(l) => {
                    listener = Some(l);
                    backoff = FIRST_WAIT;
                    last.clear();
                    if ever_connected {
                        tracing::info!("listening to the other masters' events again");
                        resync(&engine, "the link to the other masters was lost and is back");
                    }
                    ever_connected = true;
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    if backoff == FIRST_WAIT {
                        tracing::warn!(%error, "cannot listen to the other masters' events; trying again");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            continue;
        };
        match current.try_recv().await {
            Ok(Some(notification)) => receive(&engine, &pool, notification.payload(), &mut last).await,
            Ok(None) => {
                // Lost and already back: what was sent meanwhile is gone.
                last.clear();
                resync(&engine, "the link to the other masters was lost and is back");
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "lost the other masters' events; reconnecting");
                listener = None;
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(db::bus::CHANNEL).await?;
    Ok(listener)
}

fn resync(engine: &Engine, reason: &str) {
    engine.bus.publish(Event::Resync { reason: reason.to_owned() });
    engine.wake();
}

/// Publishes the event of one notification, unless this master sent it.
async fn receive(engine: &Engine, pool: &PgPool, payload: &str, last: &mut HashMap<i64, u64>) {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(e) => e,
        Err(error) => {
            tracing::warn!(%error, "an event from another master could not be read");
            return resync(engine, "an event from another master could not be read");
        }
    };
    if envelope.m == engine.master.0 {
        return;
    }
    // A master's first event (it just started) follows nothing; any other must follow the
    // last one seen from it.
    let previous = last.insert(envelope.m, envelope.s);
    if envelope.s != 1 && previous.is_some_and(|p| envelope.s != p + 1) {
        resync(engine, "events of another master were lost on the way");
    }
    let stamped = match (envelope.e, envelope.id) {
        (Some(stamped), _) => stamped,
        (None, Some(id)) => match db::bus::fetch(pool, id).await {
            Ok(Some(text)) => match serde_json::from_str(&text) {
                Ok(stamped) => stamped,
                Err(error) => {
                    tracing::warn!(%error, id, "a large event from another master could not be read");
                    return resync(engine, "an event from another master could not be read");
                }
            },
            Ok(None) | Err(_) => return resync(engine, "an event from another master could not be fetched"),
        },
        (None, None) => return resync(engine, "an event from another master was empty"),
    };
    let wakes = matches!(
        stamped.event,
        Event::BuildRequestNew { .. } | Event::BuildFinished { .. } | Event::WorkerDisconnected { .. }
    );
    engine.bus.publish_relayed(Arc::new(stamped));
    if wakes {
        engine.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_trip_through_a_notification() {
        let stamped = Stamped::new(5, Event::WorkerPaused { name: "w".into(), paused: true });
        let text = format!(r#"{{"m":3,"s":9,"e":{}}}"#, serde_json::to_string(&stamped).unwrap());
        let back: Envelope = serde_json::from_str(&text).unwrap();
        assert_eq!((back.m, back.s, back.id), (3, 9, None));
        let event = back.e.unwrap();
        assert_eq!((event.at_ms, event.event.kind()), (5, "worker.paused"));
        let big: Envelope = serde_json::from_str(r#"{"m":3,"s":10,"id":77}"#).unwrap();
        assert_eq!((big.e.is_none(), big.id), (true, Some(77)));
    }
}
