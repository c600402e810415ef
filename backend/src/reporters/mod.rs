//! Status targets. Each reporter decides, inside the transaction that records a build's
//! start, its end or its build set's completion, what to tell whom, and writes that to the
//! outbox under a key unique to the event: the decision commits with its cause or not at
//! all, and a key written twice stores one message. [`outbox`] sends the stored messages,
//! with retries, through the reporter's own delivery. One file per reporter kind.

pub mod forge_status;
pub mod gerrit;
pub mod http_push;
pub mod irc;
pub mod mail;
pub mod outbox;
pub mod reach;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ReporterConfig, ReporterKind};
use crate::db::{self, Conn, DbResult};
use crate::model::{Build, BuildSetId, ChangeId, Results};

/// A build's start or end, as the reporters see it when deciding.
#[derive(Clone, Copy, Debug)]
pub struct BuildEvent<'a> {
    /// The build, as just recorded (with its results when finished).
    pub build: &'a Build,
    /// Its builder's tags.
    pub tags: &'a [String],
    /// The changes it builds (its blamelist).
    pub changes: &'a [ChangeId],
    /// For a finished build, the results of the previous finished build of the same builder
    /// and branch (retries left out), if there is one.
    pub previous: Option<Results>,
}

/// A build set whose builds are all done.
#[derive(Clone, Debug)]
pub struct BuildSetEvent {
    /// The build set.
    pub id: BuildSetId,
    /// The results stored for it: the worst of its requests', cancelled ones included.
    pub results: Results,
    /// Its finished builds, each with its builder's tags and previous results.
    pub builds: Vec<(Build, Vec<String>, Option<Results>)>,
}

/// What one reporter does.
// One per configured reporter, made once: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Kind {
    /// Mail.
    Mail(mail::Mail),
    /// An IRC bot.
    Irc(irc::Irc),
    /// GitHub commit statuses.
    GithubStatus(forge_status::ForgeStatus),
    /// GitLab commit statuses.
    GitlabStatus(forge_status::ForgeStatus),
    /// Events POSTed to an HTTP server.
    HttpPush(http_push::HttpPush),
    /// Reviews on Gerrit changes.
    Gerrit(gerrit::Gerrit),
}

/// One configured reporter.
pub struct Reporter {
    /// Its configuration.
    pub config: ReporterConfig,
    /// Notified after a commit that stored messages for it.
    pub wake: Arc<Notify>,
    /// What it does.
    pub kind: Kind,
    /// Cancelled when it stops: with the master, or when a reconfiguration changes or
    /// removes it.
    stop: CancellationToken,
    /// Its sender and connections, to wait for when it stops.
    tasks: tokio_util::task::TaskTracker,
}

impl Reporter {
    /// The messages to store for a build that finished, as (idempotency key, payload).
    fn on_build_finished(&self, event: &BuildEvent<'_>) -> Vec<(String, serde_json::Value)> {
        if !self.config.wants(&event.build.builder, event.tags) {
            return Vec::new();
        }
        match &self.kind {
            Kind::Mail(mail) => mail.on_build_finished(event).into_iter().collect(),
            Kind::Irc(irc) => irc.on_build_finished(event),
            Kind::HttpPush(push) => push.on_build_finished(event),
            Kind::GithubStatus(forge) | Kind::GitlabStatus(forge) => forge.on_build(event).into_iter().collect(),
            Kind::Gerrit(gerrit) => gerrit.on_build_finished(event).into_iter().collect(),
        }
    }

    fn on_buildset(&self, event: &BuildSetEvent) -> Option<(String, serde_json::Value)> {
        match &self.kind {
            Kind::Mail(mail) => mail.on_buildset_complete(&self.config, event),
            Kind::Gerrit(gerrit) => gerrit.on_buildset(&self.config, event),
            Kind::Irc(_) | Kind::HttpPush(_) | Kind::GithubStatus(_) | Kind::GitlabStatus(_) => None,
        }
    }
}

/// What the reporters decided about a build's start, inside the transaction that records
/// it: give it to [`Reporters::started`] once that transaction has committed. Dropped instead
/// (the transaction failed), it leaves nothing behind.
#[must_use = "give it to Reporters::started once the transaction has committed"]
#[derive(Default)]
pub struct Started {
    /// Whether messages were stored.
    stored: bool,
    /// The IRC bots' notes of the start.
    notes: Vec<irc::StartNote>,
}

/// Every configured reporter.
#[derive(Default)]
pub struct Reporters {
    list: Vec<Arc<Reporter>>,
}

impl std::fmt::Debug for Reporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.list.iter().map(|r| &r.config.name)).finish()
    }
}

/// The reporters of a new configuration, as [`Reporters::reconfigured`] made them.
pub struct Reconfigured {
    /// All of them, in configuration order.
    pub reporters: Reporters,
    /// The new and changed ones, which have yet to be started.
    pub fresh: Vec<Arc<Reporter>>,
    /// The changed and removed ones of the old configuration, to stop once the new one is
    /// in place.
    pub retired: Vec<Arc<Reporter>>,
}

impl Reporter {
    /// The reporter `r` of `config`.
    fn new(r: &ReporterConfig, config: &Config, parent: &CancellationToken) -> Self {
        let kind = match &r.kind {
            ReporterKind::Mail(cfg) => Kind::Mail(mail::Mail::new(&r.name, cfg)),
            ReporterKind::Irc(cfg) => Kind::Irc(irc::Irc::new(&r.name, cfg)),
            ReporterKind::HttpPush(cfg) => Kind::HttpPush(http_push::HttpPush::new(cfg)),
            ReporterKind::GithubStatus(cfg) => Kind::GithubStatus(forge_status::ForgeStatus::new(
                forge_status::Forge::Github,
                &r.name,
                cfg,
                &config.base_url,
            )),
            ReporterKind::GitlabStatus(cfg) => Kind::GitlabStatus(forge_status::ForgeStatus::new(
                forge_status::Forge::Gitlab,
                &r.name,
                cfg,
                &config.base_url,
            )),
            ReporterKind::Gerrit(cfg) => Kind::Gerrit(gerrit::Gerrit::new(&r.name, cfg, &config.base_url)),
        };
        Reporter {
            config: r.clone(),
            wake: Arc::new(Notify::new()),
            kind,
            stop: parent.child_token(),
            tasks: tokio_util::task::TaskTracker::new(),
        }
    }

    /// Runs one of its tasks under the engine until it stops (the task is given the token
    /// that says so).
    fn spawn<F, T>(&self, engine: &crate::engine::Engine, task: F)
    where
        F: FnOnce(CancellationToken) -> T,
        T: std::future::Future<Output = ()> + Send + 'static,
    {
        let tasks = self.tasks.clone();
        engine.spawn_until(&self.stop, |token| tasks.track_future(task(token)));
    }

    /// Stops its sender and connections, and waits (up to `within`) until they have: a
    /// reporter of the same name started afterwards never sends beside it.
    pub async fn stop(&self, within: std::time::Duration) {
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(within, self.tasks.wait()).await.is_err() {
            tracing::warn!(reporter = %self.config.name, "the reporter's tasks did not stop in time");
        }
    }
}

impl Reporters {
    /// The reporters of `config`; each stops when `parent` is cancelled.
    pub fn new(config: &Config, parent: &CancellationToken) -> Self {
        Reporters { list: config.reporters.iter().map(|r| Arc::new(Reporter::new(r, config, parent))).collect() }
    }

    /// The reporters of `config`, keeping the running ones whose configuration did not
    /// change (an IRC bot stays in its channels, a sender keeps its place in the outbox).
    pub fn reconfigured(&self, config: &Config, base_url_changed: bool, parent: &CancellationToken) -> Reconfigured {
        let mut fresh = Vec::new();
        let list = config
            .reporters
            .iter()
            .map(|r| match self.list.iter().find(|old| old.config == *r && !base_url_changed) {
                Some(kept) => kept.clone(),
                None => {
                    let made = Arc::new(Reporter::new(r, config, parent));
                    fresh.push(made.clone());
                    made
                }
            })
            .collect::<Vec<_>>();
        let retired = self.list.iter().filter(|old| !list.iter().any(|r| Arc::ptr_eq(r, old))).cloned().collect();
        Reconfigured { reporters: Reporters { list }, fresh, retired }
    }

    /// Reads what the reporters keep between runs (the IRC bots' contacts); called before
    /// any build can start.
    pub async fn load(&self, db: &db::Db) -> DbResult<()> {
        for reporter in &self.list {
            if let Kind::Irc(irc) = &reporter.kind {
                irc.load(db).await?;
            }
        }
        Ok(())
    }

    /// The reporters, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Reporter>> {
        self.list.iter()
    }

    /// Stores what the reporters say about a build that just started, in the transaction
    /// that recorded the start; what they note of it waits for the commit (see [`Started`]).
    pub async fn build_started(
        &self,
        mut conn: Conn<'_>,
        build: &Build,
        tags: &[String],
        changes: &[ChangeId],
        now: i64,
    ) -> DbResult<Started> {
        let mut started = Started::default();
        let event = BuildEvent { build, tags, changes, previous: None };
        for reporter in &self.list {
            if !reporter.config.wants(&build.builder, tags) {
                continue;
            }
            let messages = match &reporter.kind {
                Kind::Irc(irc) => {
                    let (messages, note) = irc.on_build_started(&event);
                    started.notes.push(note);
                    messages
                }
                Kind::HttpPush(push) => push.on_build_started(&event),
                Kind::GithubStatus(forge) | Kind::GitlabStatus(forge) => forge.on_build(&event).into_iter().collect(),
                Kind::Gerrit(gerrit) => gerrit.on_build_started(&event).into_iter().collect(),
                Kind::Mail(_) => continue,
            };
            for (key, payload) in messages {
                db::outbox::enqueue(conn.reborrow(), &reporter.config.name, &key, &payload, now).await?;
                started.stored = true;
            }
        }
        Ok(started)
    }

    /// Once the transaction that recorded a build's start has committed: the reporters note
    /// the start, and the senders with new messages look at the outbox.
    pub fn started(&self, started: Started) {
        for note in started.notes {
            note.committed();
        }
        if started.stored {
            self.wake();
        }
    }

    /// Stores what the reporters say about a build that just finished, in the transaction
    /// that recorded its end.
    pub async fn build_finished(
        &self,
        mut conn: Conn<'_>,
        build: &Build,
        tags: &[String],
        changes: &[ChangeId],
        now: i64,
    ) -> DbResult<bool> {
        if self.list.is_empty() {
            return Ok(false);
        }
        let previous = db::builds::previous_finished(conn.reborrow(), build).await?.and_then(|b| b.results);
        let event = BuildEvent { build, tags, changes, previous };
        self.store(conn.reborrow(), |r| r.on_build_finished(&event), now).await
    }

    /// Stores what the reporters say about a build set whose builds are all done, in the
    /// transaction that completed it (after [`db::buildsets::complete_if_done`], whose
    /// results it reports). `tags` gives a builder's tags.
    pub async fn buildset_completed(
        &self,
        mut conn: Conn<'_>,
        id: BuildSetId,
        tags: impl Fn(&str) -> Vec<String>,
        now: i64,
    ) -> DbResult<bool> {
        let summarises = |r: &Arc<Reporter>| match &r.kind {
            Kind::Mail(m) => m.summarises(),
            Kind::Gerrit(g) => g.summarises(),
            _ => false,
        };
        if !self.list.iter().any(summarises) {
            return Ok(false);
        }
        let mut builds = Vec::new();
        for build in db::builds::of_buildset(conn.reborrow(), id).await? {
            let previous = db::builds::previous_finished(conn.reborrow(), &build).await?.and_then(|b| b.results);
            let build_tags = tags(&build.builder);
            builds.push((build, build_tags, previous));
        }
        // What the set stored, not a result recombined from its builds: a request cancelled
        // before it ran has no build, yet a set with one is not a success. A completed set
        // always has results; none would be a set completed elsewhere, not a success either.
        let results = db::buildsets::results(conn.reborrow(), id).await?.unwrap_or(Results::Exception);
        let event = BuildSetEvent { id, results, builds };
        self.store(conn.reborrow(), |r| r.on_buildset(&event).into_iter().collect(), now).await
    }

    /// Stores each reporter's messages; true if any was stored.
    async fn store(
        &self,
        mut conn: Conn<'_>,
        decide: impl Fn(&Reporter) -> Vec<(String, serde_json::Value)>,
        now: i64,
    ) -> DbResult<bool> {
        let mut any = false;
        for reporter in &self.list {
            for (key, payload) in decide(reporter) {
                db::outbox::enqueue(conn.reborrow(), &reporter.config.name, &key, &payload, now).await?;
                any = true;
            }
        }
        Ok(any)
    }

    /// Tells every sender to look at the outbox now: call after committing.
    pub fn wake(&self) {
        for r in &self.list {
            r.wake.notify_one();
        }
    }
}

/// Starts each reporter's sender (and the IRC bots' connections) under the engine; they stop
/// with it, or when a reconfiguration stops the reporter.
pub fn start<'a>(engine: &Arc<crate::engine::Engine>, reporters: impl Iterator<Item = &'a Arc<Reporter>>) {
    for reporter in reporters {
        match &reporter.kind {
            Kind::Mail(mail) => start_sender(engine, reporter, mail.delivery(engine.clone())),
            Kind::Irc(irc) => start_sender(engine, reporter, irc.start(engine, reporter)),
            Kind::HttpPush(push) => match push.delivery(engine.clone()) {
                Ok(delivery) => {
                    let config = push.config();
                    let sender = sender(engine, reporter, delivery)
                        .first_backoff(config.retry_delay)
                        .buffer_delay(config.buffer_delay)
                        .max_queue(config.max_queue);
                    reporter.spawn(engine, |token| sender.run(token));
                }
                Err(error) => {
                    tracing::error!(reporter = %reporter.config.name, %error, "this reporter sends nothing");
                }
            },
            Kind::GithubStatus(forge) | Kind::GitlabStatus(forge) => match forge.delivery() {
                Ok(delivery) => start_sender(engine, reporter, delivery),
                Err(error) => tracing::error!(reporter = %reporter.config.name, %error, "this reporter sends nothing"),
            },
            Kind::Gerrit(gerrit) => match gerrit.delivery() {
                Ok(delivery) => start_sender(engine, reporter, delivery),
                Err(error) => tracing::error!(reporter = %reporter.config.name, %error, "this reporter sends nothing"),
            },
        }
    }
}

/// The sender of `reporter`'s messages through `deliver`.
fn sender<D: outbox::Deliver>(
    engine: &Arc<crate::engine::Engine>,
    reporter: &Reporter,
    deliver: D,
) -> outbox::Sender<D> {
    outbox::Sender::new(engine.db.clone(), engine.clock.clone(), engine.master, &reporter.config.name, deliver)
        .counting_failures(engine.metrics.clone())
        .waking_on(reporter.wake.clone())
        .max_backoff(reporter.config.max_retry_delay)
}

/// Starts the sender of `reporter`'s messages through `deliver`.
fn start_sender<D: outbox::Deliver>(engine: &Arc<crate::engine::Engine>, reporter: &Reporter, deliver: D) {
    let sender = sender(engine, reporter, deliver);
    reporter.spawn(engine, |token| sender.run(token));
}
