//! The event bus: every state change of the master is published here once, and the API's
//! live stream, the waterfall and the page cache read from it. With several masters on one
//! PostgreSQL, [`super::relay`] carries each master's events to the others' buses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::metrics::Metrics;
use crate::model::{Build, BuildRequestId, BuildSetId, Change, ChangeId, LogInfo, Step};

/// Something that happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Event {
    /// A change was stored.
    ChangeNew(Change),
    /// A scheduler made a buildset.
    BuildsetNew { id: BuildSetId, scheduler: String, reason: String },
    /// A build request was queued for a builder.
    BuildRequestNew { id: BuildRequestId, builder: String },
    /// A pending build request was cancelled.
    BuildRequestCancelled { id: BuildRequestId, builder: String },
    /// A build started; `changes` are the ids of the changes it builds (its blamelist).
    BuildStarted { build: Build, changes: Vec<ChangeId> },
    /// A build finished; `changes` as for `BuildStarted`.
    BuildFinished { build: Build, changes: Vec<ChangeId> },
    /// A step started.
    StepStarted { build: Build, step: Step },
    /// A step finished.
    StepFinished { build: Build, step: Step },
    /// Lines were added to a log.
    LogAppended { builder: String, build_number: i64, step_number: i64, log: LogInfo },
    /// A worker connected.
    WorkerConnected { name: String },
    /// A worker went away.
    WorkerDisconnected { name: String },
    /// A worker was paused or unpaused.
    WorkerPaused { name: String, paused: bool },
    /// A worker was asked to shut down once its builds finish.
    WorkerStopping { name: String },
    /// Someone took an action: who, what, on what, and why.
    Action { action: String, actor: String, target: String, reason: String },
    /// This master started.
    MasterStarted { name: String },
    /// This master is shutting down.
    MasterStopping { name: String },
    /// A master's heartbeat stopped and this master declared it lost.
    MasterLost { name: String },
    /// A master put a new configuration in place: `by` asked, `summary` says what changed.
    Reconfigured { name: String, by: String, summary: String },
    /// Events may have been missed (the link to the other masters was lost, or a subscriber
    /// fell behind): whatever shows state should read it again. Never relayed.
    Resync { reason: String },
}

impl Event {
    /// The event's type name, as the API and the SSE stream use it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ChangeNew(_) => "change.new",
            Event::BuildsetNew { .. } => "buildset.new",
            Event::BuildRequestNew { .. } => "buildrequest.new",
            Event::BuildRequestCancelled { .. } => "buildrequest.cancelled",
            Event::BuildStarted { .. } => "build.started",
            Event::BuildFinished { .. } => "build.finished",
            Event::StepStarted { .. } => "step.started",
            Event::StepFinished { .. } => "step.finished",
            Event::LogAppended { .. } => "log.appended",
            Event::WorkerConnected { .. } => "worker.connected",
            Event::WorkerDisconnected { .. } => "worker.disconnected",
            Event::WorkerPaused { paused: true, .. } => "worker.paused",
            Event::WorkerPaused { paused: false, .. } => "worker.unpaused",
            Event::WorkerStopping { .. } => "worker.stopping",
            Event::Action { .. } => "action",
            Event::MasterStarted { .. } => "master.started",
            Event::MasterStopping { .. } => "master.stopping",
            Event::MasterLost { .. } => "master.lost",
            Event::Reconfigured { .. } => "reconfig",
            Event::Resync { .. } => "resync",
        }
    }

    /// The worker or master an event of the waterfall's `show_events` names; `None` for
    /// every other event, which is not kept in the `events` table.
    pub fn recorded_name(&self) -> Option<&str> {
        match self {
            Event::WorkerConnected { name }
            | Event::WorkerDisconnected { name }
            | Event::WorkerPaused { name, .. }
            | Event::WorkerStopping { name }
            | Event::MasterStarted { name }
            | Event::MasterStopping { name }
            | Event::MasterLost { name }
            | Event::Reconfigured { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The builder the event concerns, if any (for filtering).
    pub fn builder(&self) -> Option<&str> {
        match self {
            Event::BuildRequestNew { builder, .. }
            | Event::BuildRequestCancelled { builder, .. }
            | Event::LogAppended { builder, .. } => Some(builder),
            Event::BuildStarted { build, .. }
            | Event::BuildFinished { build, .. }
            | Event::StepStarted { build, .. }
            | Event::StepFinished { build, .. } => Some(&build.builder),
            _ => None,
        }
    }
}

/// An event with the time it happened (epoch milliseconds).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stamped {
    /// When.
    pub at_ms: i64,
    /// What.
    pub event: Event,
    /// The event as the API's event streams send it (its SSE frame), made by the first
    /// stream that sends it and shared by the others: a thousand open streams serialise an
    /// event once, not a thousand times, and write the same bytes.
    #[serde(skip)]
    pub rendered: OnceLock<bytes::Bytes>,
}

impl Stamped {
    /// `event`, happened at `at_ms`.
    pub fn new(at_ms: i64, event: Event) -> Stamped {
        Stamped { at_ms, event, rendered: OnceLock::new() }
    }
}

/// A broadcast channel of events. Slow subscribers lose old events rather than slow the master.
#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Stamped>>,
    /// Where this master's events go to reach the other masters, once relaying is on.
    relay: Arc<OnceLock<mpsc::Sender<Arc<Stamped>>>>,
    /// Events the relay had no room for.
    unrelayed: Arc<AtomicU64>,
    /// Where this master's own events are counted.
    metrics: Option<Arc<Metrics>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

/// Events waiting to be relayed to the other masters before new ones are dropped (and the
/// others told to resynchronise).
const RELAY_QUEUE: usize = 16_384;

impl Bus {
    /// A bus that buffers up to 4,096 events per subscriber.
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(4096);
        Bus { tx, relay: Arc::default(), unrelayed: Arc::default(), metrics: None }
    }

    /// A bus that also counts the builds and steps of the events published on it (not those
    /// relayed from other masters, which count them themselves).
    pub fn counting(metrics: Arc<Metrics>) -> Bus {
        Bus { metrics: Some(metrics), ..Bus::new() }
    }

    /// Publishes an event of this master: to its subscribers, and to the other masters once
    /// relaying is on. Having no subscriber is fine.
    pub fn publish(&self, event: Event) {
        if let Some(metrics) = &self.metrics {
            count(metrics, &event);
        }
        let at_ms = chrono::Utc::now().timestamp_millis();
        let stamped = Arc::new(Stamped::new(at_ms, event));
        if let Some(relay) = self.relay.get()
            && !matches!(stamped.event, Event::Resync { .. })
            && relay.try_send(stamped.clone()).is_err()
        {
            let n = self.unrelayed.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    events = n,
                    "the other masters are not keeping up: events dropped, they will resynchronise"
                );
            }
        }
        let _ = self.tx.send(stamped);
    }

    /// Publishes an event another master published, to this master's subscribers only.
    pub fn publish_relayed(&self, stamped: Arc<Stamped>) {
        let _ = self.tx.send(stamped);
    }

    /// Turns relaying on: from now on every event published here is also queued on the
    /// returned receiver. `None` if it was on already.
    pub fn relay(&self) -> Option<mpsc::Receiver<Arc<Stamped>>> {
        let (tx, rx) = mpsc::channel(RELAY_QUEUE);
        self.relay.set(tx).ok().map(|()| rx)
    }

    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stamped>> {
        self.tx.subscribe()
    }
}

/// What an event of this master changes in its counts.
fn count(metrics: &Metrics, event: &Event) {
    match event {
        Event::BuildStarted { build, .. } => metrics.build_started(&build.builder),
        Event::BuildFinished { build, .. } => {
            let result = build.results.map(|r| r.name()).unwrap_or("unknown");
            let secs = build.finished_at.map(|end| end - build.started_at).unwrap_or(0);
            metrics.build_finished(&build.builder, result, secs);
        }
        Event::StepFinished { build, step } => {
            if let (Some(start), Some(end)) = (step.started_at, step.finished_at) {
                metrics.step_finished(&build.builder, end - start);
            }
        }
        _ => {}
    }
}
