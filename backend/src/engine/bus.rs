//! The event bus: every state change of the master is published here once, and the API's
//! live stream, the waterfall and (later) every reporter read from it.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::{Build, BuildRequestId, BuildSetId, Change, LogInfo, Step};

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
    /// A build started.
    BuildStarted(Build),
    /// A build finished.
    BuildFinished(Build),
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
            Event::BuildStarted(_) => "build.started",
            Event::BuildFinished(_) => "build.finished",
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

    /// The builder the event concerns, if any (for filtering).
    pub fn builder(&self) -> Option<&str> {
        match self {
            Event::BuildRequestNew { builder, .. }
            | Event::BuildRequestCancelled { builder, .. }
            | Event::LogAppended { builder, .. } => Some(builder),
            Event::BuildStarted(b) | Event::BuildFinished(b) => Some(&b.builder),
            Event::StepStarted { build, .. } | Event::StepFinished { build, .. } => Some(&build.builder),
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
