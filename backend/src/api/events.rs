//! `/events`: the bus as Server-Sent Events, filterable by builder and event type.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use poem::web::Data;
use poem::{Body, IntoResponse, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tokio::sync::broadcast;

use super::types::{Build, Change, LogInfo, Step};
use super::{ApiError, Tag};
use crate::config::Config;
use crate::engine::bus::{Event, Stamped};
use crate::engine::links::Links;
use crate::engine::views::console::builds_change;
use crate::engine::{Configured, Engine};

/// The events resource.
#[derive(Debug, Default)]
pub struct EventsApi;

/// What happened: the SSE event name and the event's `type`.
#[derive(Clone, Copy, Debug, Enum, PartialEq, Eq, serde::Serialize)]
pub enum EventKind {
    /// A change was stored (`change`).
    #[oai(rename = "change.new")]
    #[serde(rename = "change.new")]
    ChangeNew,
    /// A scheduler made a buildset (`id`, `name` = the scheduler).
    #[oai(rename = "buildset.new")]
    #[serde(rename = "buildset.new")]
    BuildsetNew,
    /// A build request was queued (`id`, `builder`).
    #[oai(rename = "buildrequest.new")]
    #[serde(rename = "buildrequest.new")]
    BuildrequestNew,
    /// A pending build request was cancelled (`id`, `builder`).
    #[oai(rename = "buildrequest.cancelled")]
    #[serde(rename = "buildrequest.cancelled")]
    BuildrequestCancelled,
    /// A build started (`build`, `change_ids`).
    #[oai(rename = "build.started")]
    #[serde(rename = "build.started")]
    BuildStarted,
    /// A build finished (`build`, `change_ids`).
    #[oai(rename = "build.finished")]
    #[serde(rename = "build.finished")]
    BuildFinished,
    /// A step started (`build`, `build_number`, `step`).
    #[oai(rename = "step.started")]
    #[serde(rename = "step.started")]
    StepStarted,
    /// A step finished (`build`, `build_number`, `step`).
    #[oai(rename = "step.finished")]
    #[serde(rename = "step.finished")]
    StepFinished,
    /// Lines were added to a log (`builder`, `build_number`, `step_number`, `log`).
    #[oai(rename = "log.appended")]
    #[serde(rename = "log.appended")]
    LogAppended,
    /// A worker connected (`name`).
    #[oai(rename = "worker.connected")]
    #[serde(rename = "worker.connected")]
    WorkerConnected,
    /// A worker went away (`name`).
    #[oai(rename = "worker.disconnected")]
    #[serde(rename = "worker.disconnected")]
    WorkerDisconnected,
    /// A worker was paused (`name`).
    #[oai(rename = "worker.paused")]
    #[serde(rename = "worker.paused")]
    WorkerPaused,
    /// A worker was unpaused (`name`).
    #[oai(rename = "worker.unpaused")]
    #[serde(rename = "worker.unpaused")]
    WorkerUnpaused,
    /// A worker was asked to shut down once idle (`name`).
    #[oai(rename = "worker.stopping")]
    #[serde(rename = "worker.stopping")]
    WorkerStopping,
    /// Someone took an action (`name` = the action, `actor`, `target`, `reason`).
    #[oai(rename = "action")]
    #[serde(rename = "action")]
    Action,
    /// A master started (`name`).
    #[oai(rename = "master.started")]
    #[serde(rename = "master.started")]
    MasterStarted,
    /// A master is stopping (`name`).
    #[oai(rename = "master.stopping")]
    #[serde(rename = "master.stopping")]
    MasterStopping,
    /// A master's heartbeat stopped and another declared it lost (`name`); its builds end
    /// `retry` and run again.
    #[oai(rename = "master.lost")]
    #[serde(rename = "master.lost")]
    MasterLost,
    /// A master put a new configuration in place (`name` = the master, `actor` = who asked,
    /// `reason` = what changed).
    #[oai(rename = "reconfig")]
    #[serde(rename = "reconfig")]
    Reconfig,
    /// Events may have been missed (`reason`): the master's link to the others was lost and
    /// is back, or this stream fell behind. Read the state again.
    #[oai(rename = "resync")]
    #[serde(rename = "resync")]
    Resync,
}

impl EventKind {
    /// The kind of an engine event.
    pub fn of(event: &Event) -> EventKind {
        match event {
            Event::ChangeNew(_) => EventKind::ChangeNew,
            Event::BuildsetNew { .. } => EventKind::BuildsetNew,
            Event::BuildRequestNew { .. } => EventKind::BuildrequestNew,
            Event::BuildRequestCancelled { .. } => EventKind::BuildrequestCancelled,
            Event::BuildStarted { .. } => EventKind::BuildStarted,
            Event::BuildFinished { .. } => EventKind::BuildFinished,
            Event::StepStarted { .. } => EventKind::StepStarted,
            Event::StepFinished { .. } => EventKind::StepFinished,
            Event::LogAppended { .. } => EventKind::LogAppended,
            Event::WorkerConnected { .. } => EventKind::WorkerConnected,
            Event::WorkerDisconnected { .. } => EventKind::WorkerDisconnected,
            Event::WorkerPaused { paused: true, .. } => EventKind::WorkerPaused,
            Event::WorkerPaused { paused: false, .. } => EventKind::WorkerUnpaused,
            Event::WorkerStopping { .. } => EventKind::WorkerStopping,
            Event::Action { .. } => EventKind::Action,
            Event::MasterStarted { .. } => EventKind::MasterStarted,
            Event::MasterStopping { .. } => EventKind::MasterStopping,
            Event::MasterLost { .. } => EventKind::MasterLost,
            Event::Reconfigured { .. } => EventKind::Reconfig,
            Event::Resync { .. } => EventKind::Resync,
        }
    }
}

/// One event of the stream; which fields are present depends on `type`.
#[derive(Debug, Object)]
pub struct BusEvent {
    /// What happened.
    #[oai(rename = "type")]
    pub kind: EventKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The builder concerned.
    #[oai(skip_serializing_if_is_none)]
    pub builder: Option<String>,
    /// The build (build.* events, and the build of step.* events).
    #[oai(skip_serializing_if_is_none)]
    pub build: Option<Build>,
    /// The ids of the changes the build contains, its blamelist (build.* events).
    #[oai(skip_serializing_if_is_none)]
    pub change_ids: Option<Vec<i64>>,
    /// The build's number (step.* and log.appended).
    #[oai(skip_serializing_if_is_none)]
    pub build_number: Option<i64>,
    /// The step (step.* events).
    #[oai(skip_serializing_if_is_none)]
    pub step: Option<Step>,
    /// The step's number (log.appended).
    #[oai(skip_serializing_if_is_none)]
    pub step_number: Option<i64>,
    /// The log with its new line count (log.appended).
    #[oai(skip_serializing_if_is_none)]
    pub log: Option<LogInfo>,
    /// The change (change.new).
    #[oai(skip_serializing_if_is_none)]
    pub change: Option<Change>,
    /// The builders whose schedulers take the change (change.new): where the console shows
    /// it "not started" rather than "not in builder".
    #[oai(skip_serializing_if_is_none)]
    pub builders: Option<Vec<String>>,
    /// A worker's, master's or scheduler's name, or the action taken.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// The id of a buildset or build request.
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<i64>,
    /// Who took the action (`action` events) or asked for the reconfiguration (`reconfig`).
    #[oai(skip_serializing_if_is_none)]
    pub actor: Option<String>,
    /// What the action was taken on (`action` events).
    #[oai(skip_serializing_if_is_none)]
    pub target: Option<String>,
    /// Why (`action` events), what changed (`reconfig`), or why to read again (`resync`).
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

impl BusEvent {
    fn empty(kind: EventKind, at_ms: i64) -> BusEvent {
        BusEvent {
            kind,
            at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default(),
            builder: None,
            build: None,
            change_ids: None,
            build_number: None,
            step: None,
            step_number: None,
            log: None,
            change: None,
            builders: None,
            name: None,
            id: None,
            actor: None,
            target: None,
            reason: None,
        }
    }

    /// The API's copy of an engine event; a change is linked by `links` and its builders
    /// found in `config`.
    pub fn new(s: &Stamped, links: &Links, config: &Config) -> Self {
        let mut e = BusEvent::empty(EventKind::of(&s.event), s.at_ms);
        e.builder = s.event.builder().map(str::to_owned);
        match &s.event {
            Event::ChangeNew(c) => {
                e.builders = Some(
                    config
                        .builders
                        .iter()
                        .filter(|b| builds_change(config, &b.name, c))
                        .map(|b| b.name.clone())
                        .collect(),
                );
                e.change = Some(Change::new(c.clone(), links));
            }
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
            Event::BuildStarted { build, changes } | Event::BuildFinished { build, changes } => {
                e.build = Some(build.clone().into());
                e.change_ids = Some(changes.iter().map(|c| c.0).collect());
            }
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
            | Event::MasterStopping { name }
            | Event::MasterLost { name } => e.name = Some(name.clone()),
            Event::Resync { reason } => e.reason = Some(reason.clone()),
            Event::Reconfigured { name, by, summary } => {
                e.name = Some(name.clone());
                e.actor = Some(by.clone());
                e.reason = Some(summary.clone());
            }
        }
        e
    }

    /// Tells a stream that fell behind the bus that it missed events.
    fn lagged(missed: u64) -> Stamped {
        let reason = format!("this stream fell behind and missed {missed} events");
        Stamped::new(chrono::Utc::now().timestamp_millis(), Event::Resync { reason })
    }
}

/// How often a stream with nothing to send sends a comment line, so that proxies and clients
/// see it alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `event`'s SSE frame (its `event:` and `data:` lines), rendered with the configuration in
/// place, or as an earlier stream rendered it.
fn frame(event: &Stamped, configured: &Configured) -> Bytes {
    event
        .rendered
        .get_or_init(|| {
            let json = BusEvent::new(event, &configured.links, &configured.config).to_json_string();
            // Compact JSON is one line: a string's newlines are escaped.
            Bytes::from(format!("event: {}\ndata: {json}\n\n", event.event.kind()))
        })
        .clone()
}

/// An event stream as its clients receive it: each event's frame is shared by every stream
/// that sends it and goes to the socket as it is, with no copy per client. Documented as a
/// stream of [`BusEvent`]s.
pub struct EventFrames(BoxStream<'static, Bytes>);

impl Payload for EventFrames {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(BusEvent::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        BusEvent::register(registry);
    }
}

impl ApiResponse for EventFrames {
    fn meta() -> MetaResponses {
        super::json::ok_with::<Self>()
    }

    fn register(registry: &mut Registry) {
        BusEvent::register(registry);
    }
}

impl IntoResponse for EventFrames {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(Body::from_bytes_stream(self.0.map(Ok::<_, std::io::Error>)))
    }
}

/// Refuses a `type` filter that no event could match (a typo would otherwise give a stream
/// that stays silent): each must be an event type or the part of one before a dot.
fn check_types(types: &[String]) -> Result<(), ApiError> {
    let known = event_types();
    let matches = |t: &str| known.iter().any(|k| k == t || k.strip_prefix(t).is_some_and(|rest| rest.starts_with('.')));
    match types.iter().find(|t| !matches(t)) {
        None => Ok(()),
        Some(t) => {
            let mut prefixes: Vec<&str> = known.iter().map(|k| k.split('.').next().unwrap_or(k)).collect();
            prefixes.dedup();
            Err(ApiError::bad_request(format!(
                "no event has type `{t}`: give a type such as `build.finished` or its first part ({})",
                prefixes.join(", ")
            )))
        }
    }
}

/// Every event type, as the document lists them.
fn event_types() -> &'static [String] {
    static TYPES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| {
        let mut registry = Registry::new();
        EventKind::register(&mut registry);
        let items = registry.schemas.get(&*EventKind::name()).map(|s| s.enum_items.clone()).unwrap_or_default();
        items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
    })
}

/// Whether a stream with these filters shows `event`; every stream shows `resync`.
fn wanted(event: &Stamped, builders: &[String], types: &[String]) -> bool {
    if matches!(event.event, Event::Resync { .. }) {
        return true;
    }
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
    ) -> Result<EventFrames, ApiError> {
        let (builders, types) = (builder.0, kind.0);
        check_types(&types)?;
        // Read per event, so that a stream open across a reconfiguration follows it.
        let configured = engine.watch_configuration();
        let mut rx = engine.bus.subscribe();
        let mut closing = Box::pin(engine.closing());
        // Counted as open until the stream ends or its client goes away (the stream is dropped).
        let open = engine.metrics.sse_opened();
        let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        // A stream its client kept waiting sends one comment, not one per period missed.
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // When the master begins to stop, the events already published (master.stopping
        // among them) are still sent, then the stream ends so the server can close.
        let stream = async_stream::stream! {
            let _open = open;
            loop {
                let item = tokio::select! {
                    item = rx.recv() => item,
                    _ = keep_alive.tick() => {
                        yield Bytes::from_static(b":\n\n");
                        continue;
                    }
                    _ = &mut closing => {
                        while let Ok(ev) = rx.try_recv() {
                            if wanted(&ev, &builders, &types) {
                                let sent = frame(&ev, &configured.borrow());
                                yield sent;
                            }
                        }
                        break;
                    }
                };
                match item {
                    Ok(ev) if wanted(&ev, &builders, &types) => {
                        let sent = frame(&ev, &configured.borrow());
                        yield sent;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let sent = frame(&BusEvent::lagged(missed), &configured.borrow());
                        yield sent;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        .boxed();
        Ok(EventFrames(stream))
    }
}
