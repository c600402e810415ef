//! The build engine: changes go to schedulers, schedulers make buildsets and build
//! requests, the dispatcher claims requests for free workers, the runner drives each build
//! step by step, and every state change is published on the bus.

pub mod actions;
mod build_end;
pub mod bus;
pub mod change_sources;
pub mod clock;
mod connections;
mod dispatch;
mod error;
pub mod ingest;
pub mod links;
pub mod log_scan;
pub mod logs;
mod masters;
pub mod properties;
pub mod reconfig;
pub mod relay;
mod runner;
pub mod schedulers;
mod timers;
pub mod views;
pub mod workers;

pub use error::EngineError;
pub use reconfig::{Configured, ReconfigError};

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, SchedulerKind};
use crate::db::buildsets::{NewBuildSet, NewSourceStamp};
use crate::db::{self, Db, Tx};
use crate::model::{BuildRequestId, BuildSetId, BuilderId, Change, ChangeId, ForceRequest, MasterId, NewChange};
use bus::{Bus, Event};
use clock::Clock;
use schedulers::Decision;
use workers::Registry;

/// The running master's engine, shared by the API, the hooks and its own tasks.
#[derive(Debug)]
pub struct Engine {
    /// The database.
    pub db: Db,
    /// The configuration it runs and what is made from it, replaced whole by a
    /// reconfiguration (see [`reconfig`]); read it through [`Engine::config`] and its
    /// siblings, never across an `await`.
    configured: tokio::sync::watch::Sender<Arc<Configured>>,
    /// Where every state change is published.
    pub bus: Bus,
    /// This master's counts, which `/metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// "Now".
    pub clock: Arc<dyn Clock>,
    /// This master's id.
    pub master: MasterId,
    /// This master's name.
    pub master_name: String,
    /// When this master started (epoch seconds).
    pub started_at: i64,
    /// Connected workers and running steps.
    pub workers: Registry,
    /// Finished builds' steps, read once.
    finished_steps: views::StepsCache,
    /// The overview pages as last built, until the next event.
    pub pages: views::cache::PageCache,
    /// Builds running on this master.
    running: Arc<actions::RunningBuilds>,
    /// Set during a clean shutdown: no new builds start.
    draining: Arc<std::sync::atomic::AtomicBool>,
    /// Set when a build may be running in the database and nowhere else (a start whose
    /// commit failed, an end that could not be recorded): the dispatcher looks for such
    /// builds and ends them ([`Engine::release_orphans`]), until one look succeeds.
    orphaned: std::sync::atomic::AtomicBool,
    /// Cancelled when the master should exit.
    exit: CancellationToken,
    /// Cancelled when the master begins to stop: live event streams end.
    closing: CancellationToken,
    /// Cancelled to stop the change sources of the running configuration.
    change_sources: std::sync::Mutex<CancellationToken>,
    /// Held while a reconfiguration is applied: one at a time.
    reconfiguring: tokio::sync::Mutex<()>,
    /// Hook deliveries waiting to share a transaction.
    ingest: ingest::Queue,
    wake: Notify,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Engine {
    /// Registers the master, its builders and workers, recovers from an unclean stop and
    /// starts the dispatcher, the scheduler timers and the embedded workers.
    pub async fn start(config: Arc<Config>, db: Db, clock: Arc<dyn Clock>) -> Result<Arc<Engine>, EngineError> {
        let now = clock.now();
        let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "localhost".into());
        let master_name = format!("{host}:{}", config.dir.display());
        let mut tx = db.begin().await?;
        let master = db::masters::upsert(tx.conn(), &master_name, now).await?;
        let (builder_ids, worker_ids) = reconfig::register(tx.conn(), &config).await?;
        let registry = Registry::default();
        for w in &config.workers {
            if let Some(&id) = worker_ids.get(&w.name) {
                registry.configure(&w.name, id, w.max_builds as usize);
            }
        }
        db::workers::disconnect_all(tx.conn(), master).await?;
        tx.commit().await?;

        let shutdown = CancellationToken::new();
        let configured = Configured::new(config, builder_ids, &shutdown).await?;
        configured.reporters.load(&db).await?;
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let engine = Arc::new(Engine {
            db,
            configured: tokio::sync::watch::Sender::new(Arc::new(configured)),
            finished_steps: views::StepsCache::new(views::FINISHED_STEPS_CACHED),
            pages: views::cache::PageCache::default(),
            bus: Bus::counting(metrics.clone()),
            metrics,
            clock,
            master,
            master_name,
            started_at: now,
            workers: registry,
            running: Arc::default(),
            draining: Arc::default(),
            orphaned: Default::default(),
            exit: CancellationToken::new(),
            closing: CancellationToken::new(),
            change_sources: std::sync::Mutex::new(shutdown.child_token()),
            reconfiguring: tokio::sync::Mutex::new(()),
            ingest: ingest::Queue::default(),
            wake: Notify::new(),
            shutdown,
            tasks: TaskTracker::new(),
        });
        engine.recover().await?;
        relay::start(&engine);
        let config = engine.config();
        for w in config.workers.iter().filter(|w| w.embedded) {
            engine.spawn_embedded_worker(&w.name);
        }
        engine.spawn(forget_pages(engine.clone(), engine.bus.subscribe()));
        engine.spawn(dispatch::run(engine.clone()));
        engine.spawn(timers::run(engine.clone()));
        engine.start_change_sources(&config);
        engine.spawn(masters::heartbeat(engine.clone()));
        crate::reporters::start(&engine, engine.reporters().iter());
        engine.publish_recorded(Event::MasterStarted { name: engine.master_name.clone() }).await;
        Ok(engine)
    }

    /// Runs a task until the engine stops.
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let token = self.shutdown.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Runs a task that stops by itself, cleanly, when the token it is given is cancelled:
    /// `token` (a child of the engine's shutdown, or the shutdown itself).
    pub(crate) fn spawn_until<F, T>(&self, token: &CancellationToken, task: F)
    where
        F: FnOnce(CancellationToken) -> T,
        T: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(token.clone()));
    }

    /// The configuration the master runs now.
    pub fn config(&self) -> Arc<Config> {
        self.configured.borrow().config.clone()
    }

    /// How revisions, comments, projects and repositories become links, now.
    pub fn links(&self) -> Arc<links::Links> {
        self.configured.borrow().links.clone()
    }

    /// The status targets, now.
    pub fn reporters(&self) -> Arc<crate::reporters::Reporters> {
        self.configured.borrow().reporters.clone()
    }

    /// Follows the configuration: the receiver sees each one a reconfiguration puts in place.
    pub fn watch_configuration(&self) -> tokio::sync::watch::Receiver<Arc<Configured>> {
        self.configured.subscribe()
    }

    /// A builder's tags (none for a builder no longer configured).
    pub fn builder_tags(&self, name: &str) -> Vec<String> {
        self.configured.borrow().config.builder(name).map(|b| b.tags.clone()).unwrap_or_default()
    }

    /// Asks the dispatcher to look for work now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The database id of a configured builder.
    pub fn builder_id(&self, name: &str) -> Option<BuilderId> {
        self.configured.borrow().builder_id(name)
    }

    /// Starts an embedded worker (in `workers/NAME` beside the configuration).
    fn spawn_embedded_worker(self: &Arc<Self>, name: &str) {
        let basedir = self.config().dir.join("workers").join(name);
        let link = crate::worker::embedded::spawn(name.to_owned(), basedir);
        self.attach_worker(link);
    }

    /// Starts polling `config`'s change sources, after stopping those of the configuration
    /// before it.
    fn start_change_sources(self: &Arc<Self>, config: &Config) {
        let token = self.shutdown.child_token();
        if let Ok(mut current) = self.change_sources.lock() {
            std::mem::replace(&mut *current, token.clone()).cancel();
        }
        let sources = config.change_sources.clone();
        let engine = self.clone();
        self.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = change_sources::run(engine, sources) => {}
            }
        });
    }

    /// Builds that a previous run of this master left running end `retry`, and their
    /// requests go back to the queue.
    async fn recover(&self) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let (ended, told) = self.release_master(tx.conn(), self.master, "interrupted by a master restart", now).await?;
        tx.commit().await?;
        if !ended.is_empty() {
            tracing::warn!(builds = ended.len(), "builds interrupted by the last stop will run again");
        }
        self.publish_released(ended, told);
        Ok(())
    }

    /// Announces that the master stops (`master.stopping`) and ends live event streams;
    /// [`Engine::stop`] does the rest once the web server has closed.
    pub fn begin_stop(&self) {
        if !self.closing.is_cancelled() {
            self.bus.publish(Event::MasterStopping { name: self.master_name.clone() });
            self.closing.cancel();
        }
    }

    /// Resolves when the master begins to stop.
    pub fn closing(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.closing.clone().cancelled_owned()
    }

    /// Stops taking work, interrupts running steps, marks their builds `retry` so they run
    /// again at the next start, and waits for the engine's tasks.
    pub async fn stop(&self) {
        self.begin_stop();
        self.keep_event(&Event::MasterStopping { name: self.master_name.clone() }).await;
        self.shutdown.cancel();
        self.workers.interrupt_all().await;
        self.tasks.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.tasks.wait()).await;
        if let Err(e) = self.recover().await {
            tracing::error!(error = ?e, "could not mark interrupted builds");
        }
        if let Ok(mut conn) = self.db.acquire().await {
            let _ = db::masters::set_inactive(conn.conn(), self.master, self.clock.now()).await;
        }
    }

    /// Stores changes and lets every scheduler decide on them, in one transaction per call.
    pub async fn add_changes(&self, changes: Vec<NewChange>) -> Result<Vec<ChangeId>, EngineError> {
        self.add_changes_and_record(changes, None).await
    }

    /// [`Engine::add_changes`], also storing `(object, key, value)` state in the same
    /// transaction: a poller's last seen revision is recorded with the changes it reported.
    pub async fn add_changes_and_record(
        &self,
        changes: Vec<NewChange>,
        state: Option<(&str, &str, &str)>,
    ) -> Result<Vec<ChangeId>, EngineError> {
        let now = self.clock.now();
        let mut events = Vec::new();
        let mut tx = self.db.begin().await?;
        let ids = self.store_changes(&mut tx, &changes, now, &mut events).await?;
        if let Some((object, key, value)) = state {
            db::state::set(tx.conn(), object, key, value).await?;
        }
        tx.commit().await?;
        self.publish_changes(&ids, changes, now, events);
        Ok(ids)
    }

    /// Stores changes inside `tx` and lets every scheduler decide on them; the buildsets'
    /// events are added to `events`, to be published with the changes once `tx` commits.
    async fn store_changes(
        &self,
        tx: &mut Tx,
        changes: &[NewChange],
        now: i64,
        events: &mut Vec<Event>,
    ) -> Result<Vec<ChangeId>, EngineError> {
        let ids = db::changes::insert_all(tx.conn(), changes, now).await?;
        let config = self.config();
        for (change, &id) in changes.iter().zip(&ids) {
            for scheduler in &config.schedulers {
                match schedulers::decide(scheduler, change) {
                    Decision::Ignore => {}
                    Decision::Hold { .. } => db::scheduler_changes::insert(tx.conn(), &scheduler.name, id).await?,
                    Decision::BuildNow => {
                        let set = NewBuildSet {
                            reason: schedulers::reason(scheduler),
                            scheduler: scheduler.name.clone(),
                            owner: None,
                            properties: properties::for_buildset(
                                &scheduler.properties,
                                Some(&change.properties),
                                &BTreeMap::new(),
                            ),
                        };
                        let stamp = stamp_of(change);
                        self.create_buildset(tx, &set, &[stamp], &[id], &scheduler.builders, events).await?;
                    }
                }
            }
        }
        Ok(ids)
    }

    /// Publishes committed changes, then the events of the buildsets made for them.
    fn publish_changes(&self, ids: &[ChangeId], changes: Vec<NewChange>, now: i64, events: Vec<Event>) {
        // The stored changes are what was submitted, with `when` defaulted to now.
        for (id, fields) in ids.iter().zip(changes) {
            let fields = NewChange { when: Some(fields.when.unwrap_or(now)), ..fields };
            self.bus.publish(Event::ChangeNew(Change { id: *id, fields, created_at: now }));
        }
        self.publish_all(events);
    }

    /// Queues a build of `builder` as its force scheduler would.
    pub async fn force(
        &self,
        builder: &str,
        request: ForceRequest,
    ) -> Result<(BuildSetId, Vec<BuildRequestId>), EngineError> {
        self.force_described(builder, request, None).await
    }

    /// [`Engine::force`], with the buildset's reason (what its builds say they were started
    /// for) given by the caller instead of the force form's.
    pub async fn force_described(
        &self,
        builder: &str,
        request: ForceRequest,
        description: Option<String>,
    ) -> Result<(BuildSetId, Vec<BuildRequestId>), EngineError> {
        let config = self.config();
        if config.builder(builder).is_none() {
            return Err(EngineError::NotFound(format!("no builder named `{builder}`")));
        }
        let scheduler = config
            .schedulers
            .iter()
            .find(|s| matches!(s.kind, SchedulerKind::Force { .. }) && s.builders.iter().any(|b| b == builder))
            .ok_or_else(|| EngineError::Conflict(format!("no force scheduler lists builder `{builder}`")))?;
        let reason = if request.reason.trim().is_empty() { "forced".to_owned() } else { request.reason.clone() };
        let mut properties = properties::for_buildset(&scheduler.properties, None, &request.properties);
        properties.set("reason", reason.clone().into(), "Force Build Form");
        if let Some(owner) = &request.owner {
            properties.set("owner", owner.clone().into(), "Force Build Form");
        }
        let by = request.owner.as_deref().unwrap_or("anonymous");
        let set = NewBuildSet {
            reason: description
                .unwrap_or_else(|| format!("The web-page 'force build' button was pressed by '{by}': {reason}")),
            scheduler: scheduler.name.clone(),
            owner: request.owner.clone(),
            properties,
        };
        let stamp = NewSourceStamp {
            branch: request.branch.clone(),
            revision: request.revision.clone(),
            repository: request.repository.clone().unwrap_or_default(),
            project: request.project.clone().unwrap_or_default(),
            ..Default::default()
        };
        let mut events = Vec::new();
        let mut tx = self.db.begin().await?;
        let (set_id, requests) =
            self.create_buildset(&mut tx, &set, &[stamp], &[], &[builder.to_owned()], &mut events).await?;
        db::events::insert(
            tx.conn(),
            "force_build",
            self.clock.now(),
            request.owner.as_deref(),
            &serde_json::json!({ "builder": builder, "reason": reason, "buildset": set_id.0 }),
        )
        .await?;
        tx.commit().await?;
        self.publish_all(events);
        Ok((set_id, requests))
    }

    /// Queues the same build again (Buildbot's "rebuild"): a new buildset for the build's
    /// builder with its buildset's source stamps, changes and properties, owned by whoever
    /// asked.
    pub async fn rebuild(
        &self,
        builder: &str,
        number: i64,
        req: &actions::Request,
    ) -> Result<(BuildSetId, Vec<BuildRequestId>), EngineError> {
        let mut events = Vec::new();
        let mut tx = self.db.begin().await?;
        let original = Self::build_by_number(tx.conn(), builder, number).await?;
        let old = db::buildrequests::buildset_of(tx.conn(), original.buildrequest_id).await?;
        let details = db::buildsets::details(tx.conn(), old).await?;
        let stamps = db::buildsets::sources(tx.conn(), old).await?;
        let changes = db::buildsets::change_ids(tx.conn(), old).await?;
        let reason = if req.reason.trim().is_empty() { format!("rebuild of #{number}") } else { req.reason.clone() };
        let mut properties = details.properties;
        properties.set("reason", reason.clone().into(), "Rebuild");
        match &req.actor {
            Some(owner) => properties.set("owner", owner.clone().into(), "Rebuild"),
            None => {
                properties.values.remove("owner");
                properties.sources.remove("owner");
            }
        }
        let set = NewBuildSet {
            reason: format!("The web-page 'rebuild' button was pressed by '{}': {reason}", req.who()),
            scheduler: details.scheduler,
            owner: req.actor.clone(),
            properties,
        };
        let (set_id, requests) =
            self.create_buildset(&mut tx, &set, &stamps, &changes, &[builder.to_owned()], &mut events).await?;
        db::events::insert(
            tx.conn(),
            "rebuild",
            self.clock.now(),
            req.actor.as_deref(),
            &serde_json::json!({ "builder": builder, "number": number, "reason": reason, "buildset": set_id.0 }),
        )
        .await?;
        tx.commit().await?;
        self.publish_all(events);
        Ok((set_id, requests))
    }

    /// Stores a buildset and one request per builder inside `tx`; events are returned to
    /// be published once the transaction commits.
    async fn create_buildset(
        &self,
        tx: &mut Tx,
        set: &NewBuildSet,
        stamps: &[NewSourceStamp],
        changes: &[ChangeId],
        builders: &[String],
        events: &mut Vec<Event>,
    ) -> Result<(BuildSetId, Vec<BuildRequestId>), EngineError> {
        let now = self.clock.now();
        let (set_id, _) = db::buildsets::insert(tx.conn(), set, stamps, changes, now).await?;
        events.push(Event::BuildsetNew { id: set_id, scheduler: set.scheduler.clone(), reason: set.reason.clone() });
        let mut requests = Vec::new();
        for name in builders {
            let builder =
                self.builder_id(name).ok_or_else(|| EngineError::NotFound(format!("no builder named `{name}`")))?;
            let id = db::buildrequests::insert(tx.conn(), set_id, builder, 0, now).await?;
            events.push(Event::BuildRequestNew { id, builder: name.clone() });
            requests.push(id);
        }
        Ok((set_id, requests))
    }

    /// Keeps a non-build event (a worker connecting, pausing or leaving, a master starting,
    /// stopping or reconfiguring) in the `events` table, which the waterfall's `show_events` reads. A
    /// failure to store it is logged: the event itself has happened either way.
    async fn keep_event(&self, event: &Event) {
        let Some(name) = event.recorded_name() else { return };
        let (payload, actor) = match event {
            Event::Reconfigured { by, summary, .. } => {
                (serde_json::json!({ "name": name, "summary": summary }), Some(by.as_str()))
            }
            _ => (serde_json::json!({ "name": name }), None),
        };
        let stored = match self.db.acquire().await {
            Ok(mut conn) => db::events::insert(conn.conn(), event.kind(), self.clock.now(), actor, &payload).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::warn!(error = ?e, kind = event.kind(), "could not store an event");
        }
    }

    /// Stores (see [`Engine::keep_event`]) and publishes an event.
    pub(crate) async fn publish_recorded(&self, event: Event) {
        self.keep_event(&event).await;
        self.bus.publish(event);
    }

    fn publish_all(&self, events: Vec<Event>) {
        let wake = !events.is_empty();
        for e in events {
            self.bus.publish(e);
        }
        if wake {
            self.wake();
        }
    }
}

/// Every event may change a page: built pages are not served past one.
async fn forget_pages(engine: Arc<Engine>, mut events: tokio::sync::broadcast::Receiver<Arc<bus::Stamped>>) {
    use tokio::sync::broadcast::error::RecvError;
    while !matches!(events.recv().await, Err(RecvError::Closed)) {
        engine.pages.invalidate();
    }
}

/// The source stamp a change asks to build.
fn stamp_of(change: &NewChange) -> NewSourceStamp {
    NewSourceStamp {
        codebase: change.codebase.clone(),
        repository: change.repository.clone(),
        branch: change.branch.clone(),
        revision: change.revision.clone(),
        project: change.project.clone(),
    }
}
