//! `kind = "http_push"`: Buildbot's HttpStatusPush. A build's start and end each store one
//! message naming the build; at delivery the build is read from the database
//! ([`load`]), made into JSON ([`body`]) and POSTed to `server_url`, one event per request
//! or, with `buffer_delay`, several in one.

pub mod body;
pub mod load;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::BuildEvent;
use super::outbox::{Deliver, DeliverError};
use crate::config::{HttpAuth, HttpPushConfig};
use crate::engine::Engine;
use body::Event;

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
        self.message(self.config.started, Event::Started, event)
    }

    /// The message to store for a build that finished, if it pushes ends.
    pub fn on_build_finished(&self, event: &BuildEvent<'_>) -> Vec<(String, Value)> {
        self.message(self.config.finished, Event::Finished, event)
    }

    fn message(&self, wanted: bool, kind: Event, event: &BuildEvent<'_>) -> Vec<(String, Value)> {
        if !wanted {
            return Vec::new();
        }
        let id = event.build.id.0;
        let suffix = match kind {
            Event::Started => "started",
            Event::Finished => "finished",
        };
        vec![(format!("build:{id}:{suffix}"), json!({ "event": kind.name(), "build": id }))]
    }

    /// The delivery of its messages.
    pub fn delivery(&self, engine: Arc<Engine>) -> Result<Delivery, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(self.config.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Cascade/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Delivery { engine, client, config: self.config.clone() })
    }
}

/// POSTs one reporter's stored events.
pub struct Delivery {
    engine: Arc<Engine>,
    client: reqwest::Client,
    config: HttpPushConfig,
}

impl Delivery {
    /// The body of one stored message.
    async fn event_body(&self, payload: &Value) -> Result<Value, DeliverError> {
        let (kind, id) = parse(payload).map_err(DeliverError::Permanent)?;
        let build = load::build(&self.engine, id).await?;
        Ok(body::event(kind, &build))
    }

    /// POSTs `body`, signed and authenticated as configured.
    async fn post(&self, body: &Value) -> Result<(), DeliverError> {
        let bytes = serde_json::to_vec(body).map_err(|e| DeliverError::Permanent(e.to_string()))?;
        let mut request =
            self.client.post(&self.config.server_url).header(reqwest::header::CONTENT_TYPE, "application/json");
        let secret = |s: &crate::config::Secret| {
            s.resolve().map_err(|e| DeliverError::Transient(format!("secret unavailable: {e}")))
        };
        if let Some(key) = &self.config.secret {
            let signature = crate::hooks::signature::sign_sha256(secret(key)?.as_bytes(), &bytes);
            request = request.header("X-Cascade-Signature", signature);
        }
        request = match &self.config.auth {
            None => request,
            Some(HttpAuth::Basic { user, password }) => request.basic_auth(user, Some(secret(password)?)),
            Some(HttpAuth::Bearer(token)) => request.bearer_auth(secret(token)?),
        };
        let response = request
            .body(bytes)
            .send()
            .await
            .map_err(|e| DeliverError::Transient(format!("POST {}: {e}", self.config.server_url)))?;
        classify(response.status())
    }
}

impl Deliver for Delivery {
    async fn deliver(&self, payload: &Value) -> Result<(), DeliverError> {
        let body = self.event_body(payload).await?;
        self.post(&body).await
    }

    async fn deliver_batch(&self, payloads: &[Value]) -> Result<(), DeliverError> {
        let mut events = Vec::with_capacity(payloads.len());
        for payload in payloads {
            events.push(self.event_body(payload).await?);
        }
        self.post(&body::batch(events)).await
    }
}

/// A stored message: `{"event": "build.started", "build": 12}`.
fn parse(payload: &Value) -> Result<(Event, i64), String> {
    let kind = payload["event"].as_str().and_then(Event::parse);
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
        assert_eq!(parse(&json!({"event": "build.finished", "build": 4})), Ok((Event::Finished, 4)));
        assert!(parse(&json!({"event": "build.x", "build": 4})).is_err());
        assert!(parse(&json!({"event": "build.started"})).is_err());
    }
}
