//! `kind = "http_push"`: Buildbot's HttpStatusPush. A build's start and end each store one
//! message naming the build, under a key that is also the event's id in the body; at
//! delivery the build is read from the database ([`load`]), made into the documented body
//! ([`body`]) and POSTed to `server_url`, one event per request or, with `buffer_delay`,
//! several in one. After a POST that could not connect, [`Deliver::peer_back`] looks whether
//! the server takes connections again.

pub mod body;
pub mod load;

use std::sync::Arc;
use std::time::Duration;

use poem_openapi::types::{ParseFromJSON, ToJSON};
use serde_json::{Value, json};

use super::BuildEvent;
use super::outbox::{Deliver, DeliverError};
use super::reach::HttpPeer;
use crate::config::{HttpAuth, HttpPushConfig};
use crate::engine::Engine;
use body::{PushBatch, PushEvent, PushEventKind};

/// One `http_push` reporter's decisions.
pub struct HttpPush {
    config: HttpPushConfig,
}

impl HttpPush {
    /// The reporter configured by `config`.
    pub fn new(config: &HttpPushConfig) -> Self {
        HttpPush { config: config.clone() }
    }

    /// Its configuration.
    pub fn config(&self) -> &HttpPushConfig {
        &self.config
    }

    /// The message to store for a build that started, if it pushes starts.
    pub fn on_build_started(&self, event: &BuildEvent<'_>) -> Vec<(String, Value)> {
        self.message(self.config.started, PushEventKind::Started, event)
    }

    /// The message to store for a build that finished, if it pushes ends.
    pub fn on_build_finished(&self, event: &BuildEvent<'_>) -> Vec<(String, Value)> {
        self.message(self.config.finished, PushEventKind::Finished, event)
    }

    fn message(&self, wanted: bool, kind: PushEventKind, event: &BuildEvent<'_>) -> Vec<(String, Value)> {
        if !wanted {
            return Vec::new();
        }
        vec![stored(kind, event.build.id.0)]
    }

    /// The delivery of its messages.
    pub fn delivery(&self, engine: Arc<Engine>) -> Result<Delivery, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(self.config.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Cascade/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Delivery { engine, client, peer: HttpPeer::new(&self.config.server_url), config: self.config.clone() })
    }
}

/// POSTs one reporter's stored events.
pub struct Delivery {
    engine: Arc<Engine>,
    client: reqwest::Client,
    config: HttpPushConfig,
    /// Whether the server could be reached.
    peer: HttpPeer,
}

impl Delivery {
    /// The event of one stored message.
    async fn event(&self, payload: &Value) -> Result<PushEvent, DeliverError> {
        let (kind, id) = parse(payload).map_err(DeliverError::Permanent)?;
        let mut build = load::build(&self.engine, id).await?;
        if kind == PushEventKind::Started {
            // A start sent late (the receiver was down) still reports the build as it started,
            // not the end that is reported by its own event.
            build.results = None;
            build.finished_at = None;
            "building".clone_into(&mut build.state_text);
        }
        Ok(PushEvent { id: key(kind, id), event: kind, build })
    }

    /// POSTs `body`, signed and authenticated as configured.
    async fn post(&self, body: &impl ToJSON) -> Result<(), DeliverError> {
        let bytes = body::encode(body).map_err(DeliverError::Permanent)?;
        let mut request =
            self.client.post(&self.config.server_url).header(reqwest::header::CONTENT_TYPE, body::CONTENT_TYPE);
        let secret = |s: &crate::config::Secret| {
            s.resolve().map_err(|e| DeliverError::Transient(format!("secret unavailable: {e}")))
        };
        if let Some(key) = &self.config.secret {
            let signature = crate::hooks::signature::sign_sha256(secret(key)?.as_bytes(), &bytes);
            request = request.header(body::SIGNATURE_HEADER, signature);
        }
        request = match &self.config.auth {
            None => request,
            Some(HttpAuth::Basic { user, password }) => request.basic_auth(user, Some(secret(password)?)),
            Some(HttpAuth::Bearer(token)) => request.bearer_auth(secret(token)?),
        };
        let sent = request.body(bytes).send().await;
        self.peer.saw(&sent);
        let response = sent.map_err(|e| DeliverError::Transient(format!("POST {}: {e}", self.config.server_url)))?;
        classify(response.status())
    }
}

impl Deliver for Delivery {
    /// After a POST that could not connect: whether the server takes a connection now. A
    /// server that answered (a 503, say) keeps its backoff.
    async fn peer_back(&self) -> bool {
        self.peer.back().await
    }

    async fn deliver(&self, payload: &Value) -> Result<(), DeliverError> {
        let event = self.event(payload).await?;
        self.post(&event).await
    }

    async fn deliver_batch(&self, payloads: &[Value]) -> Result<(), DeliverError> {
        let mut events = Vec::with_capacity(payloads.len());
        for payload in payloads {
            events.push(self.event(payload).await?);
        }
        self.post(&PushBatch { events }).await
    }
}

/// The outbox key of an event, which is also its id in the body: `build:12:started`. One
/// event of one build is stored once per reporter under it.
fn key(kind: PushEventKind, build: i64) -> String {
    let suffix = match kind {
        PushEventKind::Started => "started",
        PushEventKind::Finished => "finished",
    };
    format!("build:{build}:{suffix}")
}

/// The message stored for event `kind` of build `id`, under its key.
fn stored(kind: PushEventKind, id: i64) -> (String, Value) {
    (key(kind, id), json!({ "event": kind.to_json(), "build": id }))
}

/// A stored message: `{"event": "build.started", "build": 12}`.
fn parse(payload: &Value) -> Result<(PushEventKind, i64), String> {
    let kind = PushEventKind::parse_from_json(Some(payload["event"].clone())).ok();
    match (kind, payload["build"].as_i64()) {
        (Some(kind), Some(id)) => Ok((kind, id)),
        _ => Err(format!("not an http_push message: {payload}")),
    }
}

/// 2xx: delivered; 408, 429 and 5xx: worth another try; anything else: refused for good.
fn classify(status: reqwest::StatusCode) -> Result<(), DeliverError> {
    let code = status.as_u16();
    if status.is_success() {
        Ok(())
    } else if code == 408 || code == 429 || status.is_server_error() {
        Err(DeliverError::Transient(format!("the server answered {status}")))
    } else {
        Err(DeliverError::Permanent(format!("the server answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_sent_retried_or_refused() {
        let at = |c: u16| classify(reqwest::StatusCode::from_u16(c).unwrap());
        assert_eq!(at(200), Ok(()));
        assert_eq!(at(204), Ok(()));
        for c in [408, 429, 500, 502, 503] {
            assert!(matches!(at(c), Err(DeliverError::Transient(_))), "{c}");
        }
        for c in [301, 400, 401, 403, 404, 410] {
            assert!(matches!(at(c), Err(DeliverError::Permanent(_))), "{c}");
        }
    }

    #[test]
    fn stored_messages_parse() {
        assert_eq!(parse(&json!({"event": "build.finished", "build": 4})), Ok((PushEventKind::Finished, 4)));
        assert!(parse(&json!({"event": "build.x", "build": 4})).is_err());
        assert!(parse(&json!({"event": "build.started"})).is_err());
    }

    #[test]
    fn a_stored_message_names_its_event_as_the_body_does_under_the_events_id() {
        let (key, payload) = stored(PushEventKind::Started, 12);
        assert_eq!((key.as_str(), payload), ("build:12:started", json!({"event": "build.started", "build": 12})));
        let (key, payload) = stored(PushEventKind::Finished, 12);
        assert_eq!(key, "build:12:finished");
        assert_eq!(parse(&payload), Ok((PushEventKind::Finished, 12)));
    }
}
