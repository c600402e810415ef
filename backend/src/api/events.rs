//! `/events`: the bus as Server-Sent Events, filterable by builder and event type.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use poem::web::Data;
use poem::web::sse::Event as SseEvent;
use poem_openapi::param::Query;
use poem_openapi::payload::EventStream;
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use tokio::sync::broadcast;

use super::Tag;
use super::types::{Build, Change, LogInfo, Step};
use crate::engine::Engine;
use crate::engine::bus::{Event, Stamped};

/// The events resource.
#[derive(Debug, Default)]
pub struct EventsApi;

/// One event of the stream; which fields are present depends on `type`.
#[derive(Debug, Object)]
pub struct BusEvent {
    /// change.new, buildset.new, buildrequest.new, buildrequest.cancelled, build.started,
    /// build.finished, step.started, step.finished, log.appended, worker.connected,
    /// worker.disconnected, worker.paused, worker.unpaused, worker.stopping, action,
    /// master.started or master.stopping.
    #[oai(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The builder concerned.
    pub builder: Option<String>,
    /// The build (build.* events, and the build of step.* events).
    pub build: Option<Build>,
    /// The build's number (step.* and log.appended).
    pub build_number: Option<i64>,
    /// The step (step.* events).
    pub step: Option<Step>,
    /// The step's number (log.appended).
    pub step_number: Option<i64>,
    /// The log with its new line count (log.appended).
    pub log: Option<LogInfo>,
    /// The change (change.new).
    pub change: Option<Change>,
    /// A worker's, master's or scheduler's name.
    pub name: Option<String>,
    /// The id of a buildset or build request.
    pub id: Option<i64>,
    /// Who took the action (`action` events).
    pub actor: Option<String>,
    /// What the action was taken on (`action` events).
    pub target: Option<String>,
    /// Why (`action` events).
    pub reason: Option<String>,
}

impl BusEvent {
    fn empty(kind: &str, at_ms: i64) -> BusEvent {
        BusEvent {
            kind: kind.to_owned(),
            at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default(),
            builder: None,
            build: None,
            build_number: None,
            step: None,
            step_number: None,
            log: None,
            change: None,
            name: None,
            id: None,
            actor: None,
            target: None,
            reason: None,
        }
    }
}

impl From<&Stamped> for BusEvent {
    fn from(s: &Stamped) -> Self {
        let mut e = BusEvent::empty(s.event.kind(), s.at_ms);
        e.builder = s.event.builder().map(str::to_owned);
        match &s.event {
            Event::ChangeNew(c) => e.change = Some(c.clone().into()),
            Event::BuildsetNew { id, scheduler, .. } => {
                e.id = Some(id.0);
                e.name = Some(scheduler.clone());
            }
            Event::BuildRequestNew { id, .. } | Event::BuildRequestCancelled { id, .. } => e.id = Some(id.0),
            Event::WorkerPaused { name, .. } | Event::WorkerStopping { name } => e.name = Some(name.clone()),
            Event::Action { action, actor, target, reason } => {
                e.name = Some(action.clone());
                e.actor = Some(actor.clone());
                e.target = Some(target.clone());
                e.reason = Some(reason.clone());
            }
            Event::BuildStarted(b) | Event::BuildFinished(b) => e.build = Some(b.clone().into()),
            Event::StepStarted { build, step } | Event::StepFinished { build, step } => {
                e.build_number = Some(build.number);
                e.build = Some(build.clone().into());
                e.step = Some(step.clone().into());
            }
            Event::LogAppended { build_number, step_number, log, .. } => {
                e.build_number = Some(*build_number);
                e.step_number = Some(*step_number);
                e.log = Some(log.clone().into());
            }
            Event::WorkerConnected { name }
            | Event::WorkerDisconnected { name }
            | Event::MasterStarted { name }
            | Event::MasterStopping { name } => e.name = Some(name.clone()),
        }
        e
    }
}

fn wanted(event: &Stamped, builders: &[String], types: &[String]) -> bool {
    let builder_ok = builders.is_empty() || event.event.builder().is_some_and(|b| builders.iter().any(|x| x == b));
    let type_ok = types.is_empty()
        || types.iter().any(|t| t == event.event.kind() || event.event.kind().starts_with(&format!("{t}.")));
    builder_ok && type_ok
}

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// Every state change of the master as it happens (Server-Sent Events; the SSE event
    /// name is the event's `type`).
    #[oai(path = "/events", method = "get", operation_id = "stream_events")]
    async fn stream_events(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only events about these builders (repeatable).
        builder: Query<Vec<String>>,
        /// Only these event types, or type prefixes such as `build` (repeatable).
        #[oai(name = "type")]
        kind: Query<Vec<String>>,
    ) -> EventStream<futures::stream::BoxStream<'static, BusEvent>> {
        let (builders, types) = (builder.0, kind.0);
        let mut rx = engine.bus.subscribe();
        let mut closing = Box::pin(engine.closing());
        // When the master begins to stop, the events already published (master.stopping
        // among them) are still sent, then the stream ends so the server can close.
        let stream = async_stream::stream! {
            loop {
                let item = tokio::select! {
                    item = rx.recv() => item,
                    _ = &mut closing => {
                        while let Ok(ev) = rx.try_recv() {
                            if wanted(&ev, &builders, &types) {
                                yield BusEvent::from(ev.as_ref());
                            }
                        }
                        break;
                    }
                };
                match item {
                    Ok(ev) if wanted(&ev, &builders, &types) => yield BusEvent::from(ev.as_ref()),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        .boxed();
        EventStream::new(stream)
            .keep_alive(Duration::from_secs(15))
            .to_event(|e| SseEvent::message(e.to_json_string()).event_type(e.kind.clone()))
    }
}
