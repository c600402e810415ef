//! The event bus: every state change of the master is published here once, and the API's
//! live stream, the waterfall and (later) every reporter read from it.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::{Build, BuildRequestId, BuildSetId, Change, ChangeId, LogInfo, Step};

/// Something that happened.
#[derive(Clone, Debug)]
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
            | Event::MasterStopping { name } => Some(name),
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
#[derive(Clone, Debug)]
pub struct Stamped {
    /// When.
    pub at_ms: i64,
    /// What.
    pub event: Event,
}

/// A broadcast channel of events. Slow subscribers lose old events rather than slow the master.
#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Stamped>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

impl Bus {
    /// A bus that buffers up to 4,096 events per subscriber.
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(4096);
        Bus { tx }
    }

    /// Publishes an event; having no subscriber is fine.
    pub fn publish(&self, event: Event) {
        let at_ms = chrono::Utc::now().timestamp_millis();
        let _ = self.tx.send(Arc::new(Stamped { at_ms, event }));
    }

    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stamped>> {
        self.tx.subscribe()
    }
}
