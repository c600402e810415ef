//! `kind = "irc"`: Buildbot's IRC bot. Inside the transaction that records a build's start
//! or end, [`Irc::on_build_started`] and [`Irc::on_build_finished`] decide from the
//! contacts' notify settings and watches who hears of it and store one outbox row per event;
//! the outbox sends each row through the live connection (`deliver.rs`), so a notification
//! made while the server is away goes out once it is back. The bot also answers commands
//! addressed to it in its channels or by private message, and keeps its saved contacts to
//! what is still of use (`tend`): watches of requests cancelled or finished go, and what
//! strangers add is bounded.
//!
//! The contacts live in this master's memory, read from the database at start: with
//! several masters on one database, one master only should run a given IRC reporter (and
//! it announces the builds it runs).
//!
//! - `incoming.rs`: which messages are commands, and whose (pure)
//! - `commands.rs`: what a command asks for (pure)
//! - `contacts.rs`: who hears what, saved in the state table (pure)
//! - `format.rs`: what the bot says (pure)
//! - `respond.rs`: running commands against the engine
//! - `connection.rs`: connecting, pacing, reconnecting
//! - `deliver.rs`: sending stored notifications

mod commands;
mod connection;
mod contacts;
mod deliver;
mod format;
mod incoming;
mod respond;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::BuildEvent;
use crate::config::IrcConfig;
use crate::db::{self, Db, DbResult};
use crate::engine::bus::Event;
use crate::engine::{Engine, EngineError};
use crate::model::{Build, BuildRequestId};
use contacts::Contacts;
use deliver::Note;

/// How the bot's connection has fared since the master started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Registered with the server now.
    pub connected: bool,
    /// Registrations so far.
    pub connections: u64,
    /// Connections lost (closed or failed after the server answered).
    pub lost: u64,
    /// Connection attempts refused (or otherwise failed before the server answered).
    pub refused: u64,
}

/// What the bot's tasks and the deciding side share.
pub(crate) struct Shared {
    /// The reporter's name.
    name: String,
    /// Its options.
    config: IrcConfig,
    /// Its contacts.
    contacts: Mutex<Contacts>,
    /// The live connection, when registered.
    link: Mutex<Option<Arc<connection::Link>>>,
    /// How the connection fared.
    stats: Mutex<ConnectionStats>,
    /// Saves happen one at a time, each writing what the contacts are when it starts.
    save_lock: tokio::sync::Mutex<()>,
    /// Notified when a build start being recorded is committed or rolled back.
    starts: Notify,
}

/// Locks a mutex whose holder cannot leave its data half-changed (no code between lock and
/// unlock panics), so a poisoned lock is still sound to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn contacts(&self) -> MutexGuard<'_, Contacts> {
        lock(&self.contacts)
    }

    fn link(&self) -> Option<Arc<connection::Link>> {
        lock(&self.link).clone()
    }

    fn set_link(&self, link: Option<Arc<connection::Link>>) {
        *lock(&self.link) = link;
    }

    fn stats(&self) -> MutexGuard<'_, ConnectionStats> {
        lock(&self.stats)
    }

    /// Where the contacts are saved.
    fn state_object(&self) -> String {
        format!("irc:{}", self.name)
    }

    /// Keeps the contacts within their bounds at `now` (leaving the joined channels it
    /// forgets), then saves them.
    async fn tidy_and_save(&self, db: &Db, now: i64) -> DbResult<()> {
        let forgotten = self.contacts().tidy(now);
        self.leave(forgotten).await;
        self.save(db).await
    }

    /// Leaves channels the contacts forgot.
    async fn leave(&self, channels: Vec<String>) {
        if let Some(link) = self.link() {
            for channel in channels {
                link.send(irc::client::prelude::Command::PART(channel, None)).await;
            }
        }
    }

    /// Forgets the watches of a build request that was cancelled.
    async fn cancelled(&self, request: BuildRequestId, db: &Db) -> Result<(), EngineError> {
        let watched = self.contacts().unwatch(request);
        if watched {
            self.save(db).await?;
        }
        Ok(())
    }

    /// Forgets the watches of build requests that are finished (or cancelled, here or on
    /// another master) and keeps the contacts within their bounds; saves them if that
    /// changed anything.
    async fn sweep(&self, engine: &Engine) -> Result<(), EngineError> {
        let watched = self.contacts().watched();
        let unfinished = engine.unfinished_requests(&watched).await?;
        let (forgotten, changed) = {
            let mut contacts = self.contacts();
            let before = contacts.save();
            for request in watched.iter().filter(|r| !unfinished.contains(r)) {
                contacts.unwatch(*request);
            }
            let forgotten = contacts.tidy(engine.clock.now());
            (forgotten, contacts.save() != before)
        };
        self.leave(forgotten).await;
        if changed {
            self.save(&engine.db).await?;
        }
        Ok(())
    }

    /// Saves the contacts as they are now.
    async fn save(&self, db: &Db) -> DbResult<()> {
        let _one_at_a_time = self.save_lock.lock().await;
        let text = self.contacts().save();
        let mut conn = db.acquire().await?;
        db::state::set(conn.conn(), &self.state_object(), STATE_KEY, &text).await
    }
}

/// A build start decided inside the transaction that records it: once that transaction
/// has committed, [`StartNote::committed`] notes the start (a force answered late learns the
/// build's number from it); dropped uncommitted, it leaves nothing behind. Until either, a
/// force of the same request waits.
pub struct StartNote {
    shared: Arc<Shared>,
    request: BuildRequestId,
    number: i64,
    committed: bool,
}

impl StartNote {
    /// The start is committed.
    pub fn committed(mut self) {
        self.committed = true;
    }
}

impl Drop for StartNote {
    fn drop(&mut self) {
        let mut contacts = self.shared.contacts();
        if self.committed {
            contacts.start_committed(self.request, self.number);
        } else {
            contacts.start_abandoned(self.request);
        }
        drop(contacts);
        self.shared.starts.notify_waiters();
    }
}

/// How often the watches are checked against their build requests.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Keeps the saved contacts to what is still of use until `shutdown`: a watch of a request
/// cancelled on this master goes at once, and every [`SWEEP_EVERY`] (and at start) the
/// watches of finished requests go, with those too old and the contacts past their bounds.
async fn tend(engine: Arc<Engine>, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut events = engine.bus.subscribe();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let saved = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sweep.tick() => shared.sweep(&engine).await,
            event = events.recv() => match event {
                Ok(stamped) => match &stamped.event {
                    Event::BuildRequestCancelled { id, .. } => shared.cancelled(*id, &engine.db).await,
                    _ => Ok(()),
                },
                Err(RecvError::Lagged(_)) => Ok(()),
                Err(RecvError::Closed) => return,
            },
        };
        if let Err(e) = saved {
            tracing::warn!(reporter = %shared.name, error = %e, "could not tidy the IRC contacts");
        }
    }
}

/// The state table's key for the contacts.
const STATE_KEY: &str = "contacts";

/// An IRC reporter.
pub struct Irc {
    shared: Arc<Shared>,
}

impl Irc {
    /// The reporter `name` with options `config`.
    pub fn new(name: &str, config: &IrcConfig) -> Self {
        let shared = Shared {
            name: name.to_owned(),
            config: config.clone(),
            contacts: Mutex::new(Contacts::new(config)),
            link: Mutex::new(None),
            stats: Mutex::new(ConnectionStats::default()),
            save_lock: tokio::sync::Mutex::new(()),
            starts: Notify::new(),
        };
        Irc { shared: Arc::new(shared) }
    }

    /// Reads the contacts saved by the last run; before any build can start, so that no
    /// decision is made on the configured defaults alone.
    pub async fn load(&self, db: &Db) -> DbResult<()> {
        let saved = {
            let mut conn = db.acquire().await?;
            db::state::get(conn.conn(), &self.shared.state_object(), STATE_KEY).await?
        };
        if let Some(text) = saved
            && let Err(e) = self.shared.contacts().restore(&text)
        {
            tracing::warn!(reporter = %self.shared.name, error = %e, "the saved IRC contacts are unreadable; starting afresh");
        }
        Ok(())
    }

    /// The notification to store for a build that started, naming the contacts it
    /// concerns, and the start to note once it is committed. Runs inside the build's
    /// transaction, so it only looks at memory.
    pub fn on_build_started(&self, event: &BuildEvent<'_>) -> (Vec<(String, serde_json::Value)>, StartNote) {
        let build = event.build;
        let targets = {
            let mut contacts = self.shared.contacts();
            contacts.start_deciding(build.buildrequest_id);
            contacts.started_targets(build.buildrequest_id)
        };
        let note = StartNote {
            shared: self.shared.clone(),
            request: build.buildrequest_id,
            number: build.number,
            committed: false,
        };
        (Self::notification(build, true, targets), note)
    }

    /// The notification to store for a build that finished, naming the contacts it
    /// concerns. Runs inside the build's transaction, so it only looks at memory.
    pub fn on_build_finished(&self, event: &BuildEvent<'_>) -> Vec<(String, serde_json::Value)> {
        let build = event.build;
        let Some(results) = build.results else { return Vec::new() };
        let targets = self.shared.contacts().finished_targets(build.buildrequest_id, results, event.previous);
        Self::notification(build, false, targets)
    }

    /// One outbox row per event, when it concerns anyone.
    fn notification(build: &Build, started: bool, targets: Vec<String>) -> Vec<(String, serde_json::Value)> {
        if targets.is_empty() {
            return Vec::new();
        }
        let note = Note::new(build, started, targets);
        let key = format!("build:{}:{}", build.id.0, if started { "started" } else { "finished" });
        vec![(key, note.to_json())]
    }

    /// Connects the bot and starts answering its commands, until `reporter` stops; returns
    /// the delivery of its stored notifications, for the reporter's sender (woken by `wake`).
    pub fn start(&self, engine: &Arc<Engine>, reporter: &super::Reporter) -> impl super::outbox::Deliver + use<> {
        let (bot, commands) = connection::Bot::new(engine.clone(), self.shared.clone(), reporter.wake.clone());
        let responder = respond::Responder::new(engine.clone(), self.shared.clone());
        reporter.spawn(engine, |token| responder.serve(commands, token));
        reporter.spawn(engine, |token| bot.run(token));
        reporter.spawn(engine, |token| tend(engine.clone(), self.shared.clone(), token));
        deliver::Delivery::new(engine.clone(), self.shared.clone())
    }

    /// How the connection has fared.
    pub fn connection(&self) -> ConnectionStats {
        *self.shared.stats()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::contacts::Forced;
    use super::*;
    use crate::config::{IrcChannel, IrcConfig};
    use crate::engine::views::fixtures;

    #[test]
    fn a_start_is_noted_once_committed_and_forgotten_if_rolled_back() {
        let irc = Irc::new("irc", &config());
        let (rolled_back, committed) = (fixtures::build(1, "app", 1, 0), fixtures::build(2, "app", 2, 0));
        let event = |build| BuildEvent { build, tags: &[], changes: &[], previous: None };
        let (messages, note) = irc.on_build_started(&event(&rolled_back));
        assert!(messages.is_empty(), "nobody hears of starts");
        assert_eq!(irc.shared.contacts().watch_forced(rolled_back.buildrequest_id, "ann", 0), Forced::Deciding);
        drop(note);
        assert_eq!(irc.shared.contacts().watch_forced(rolled_back.buildrequest_id, "ann", 0), Forced::Watching);

        let (_, note) = irc.on_build_started(&event(&committed));
        note.committed();
        assert_eq!(irc.shared.contacts().watch_forced(committed.buildrequest_id, "bob", 0), Forced::Started(2));
    }

    /// A bot in `#CI` and `#dev` (keyed), messaging `Boss`, with no notify events.
    pub fn config() -> IrcConfig {
        IrcConfig {
            host: "irc".into(),
            port: 6667,
            nick: "bot".into(),
            password: None,
            channels: vec![
                IrcChannel { name: "#CI".into(), key: None },
                IrcChannel { name: "#dev".into(), key: Some("k".into()) },
            ],
            pm_to_nicks: vec!["Boss".into()],
            use_ssl: false,
            tls_ca_file: None,
            use_colors: true,
            notice_on_channel: false,
            allow_force: false,
            allow_shutdown: false,
            use_revisions: false,
            show_blame_list: true,
            lost_delay: None,
            failed_delay: None,
            notify_events: Vec::new(),
        }
    }
}
