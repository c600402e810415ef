//! Change hooks: `/change_hook/{dialect}` turns a forge's notification into changes. Each
//! dialect (one file each) only parses a request into [`NewChange`]s; this router checks
//! that the dialect is enabled, limits the body, stores the changes before answering, and
//! maps every failure to a 4xx with its reason.

pub mod auth;
pub mod base;
pub mod bitbucket;
pub mod gerrit;
pub mod github;
pub mod gitlab;
pub mod gitorious;
pub mod googlecode;
pub mod poller;
pub mod signature;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use poem::http::{HeaderMap, StatusCode};
use poem::web::{Data, Json, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::json;

use crate::api::{ApiError, limits};
use crate::db::DbError;
use crate::engine::{Engine, EngineError};
use crate::model::{ChangeId, NewChange};

/// Largest hook body accepted: the same as anywhere else.
pub const MAX_BODY: usize = crate::api::limits::MAX_BODY;

/// A hook request, as the dialects see it.
#[derive(Debug)]
pub struct HookRequest {
    /// Request headers.
    pub headers: HeaderMap,
    /// Query arguments; a repeated argument's values are joined by newlines.
    pub query: HashMap<String, String>,
    /// The body.
    pub body: Bytes,
}

impl HookRequest {
    /// The media type of the body, without parameters, lowercased.
    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// Why a hook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The payload is malformed or misses a required field.
    #[error("{0}")]
    BadRequest(String),
    /// The body is too large.
    #[error("request body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body's media type is not one the dialect reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The signature or token is missing or wrong.
    #[error("{0}")]
    Forbidden(String),
    /// The master cannot check the request now (its secret cannot be read).
    #[error("{0}")]
    Unavailable(String),
}

/// Largest body kept in the delivery log.
const KEEP_BODY: usize = 64 * 1024;

/// What a hook request came to.
#[derive(Debug)]
pub struct Outcome {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON answer.
    pub body: serde_json::Value,
    /// The changes created.
    pub change_ids: Vec<i64>,
}

impl Outcome {
    /// A refusal, in the status and shape [`ApiError`] gives every error.
    fn refused(e: impl Into<ApiError>) -> Outcome {
        let e = e.into();
        let body = serde_json::to_value(e.body()).unwrap_or_else(|_| json!({ "error": "internal" }));
        Outcome { status: e.status(), body, change_ids: Vec::new() }
    }
}

fn resolve(secret: Option<&crate::config::Secret>) -> Result<Option<String>, HookError> {
    secret
        .map(|s| s.resolve().map_err(|e| HookError::Unavailable(format!("the dialect's secret cannot be read: {e}"))))
        .transpose()
}

/// Parses a request with the named dialect; `None` when the dialect is not enabled.
/// `verify` is false when replaying a stored delivery (its signature was checked then).
fn parse(engine: &Engine, dialect: &str, req: &HookRequest, verify: bool) -> Option<Result<Vec<NewChange>, HookError>> {
    let d = &engine.config().change_hook.dialects;
    let secret = |s: Option<&crate::config::Secret>| if verify { resolve(s) } else { Ok(None) };
    Some(match dialect {
        "base" => {
            d.base.as_ref()?;
            base::parse(req)
        }
        "github" => {
            let cfg = d.github.as_ref()?;
            secret(cfg.secret.as_ref()).and_then(|s| github::parse(req, cfg, s.as_deref()))
        }
        "gitlab" => {
            let cfg = d.gitlab.as_ref()?;
            secret(cfg.token.as_ref()).and_then(|s| gitlab::parse(req, cfg, s.as_deref()))
        }
        "bitbucket" => {
            let cfg = d.bitbucket.as_ref()?;
            secret(cfg.secret.as_ref()).and_then(|s| bitbucket::parse(req, cfg, s.as_deref()))
        }
        "gitorious" => {
            let cfg = d.gitorious.as_ref()?;
            gitorious::parse(req, cfg, None)
        }
        "googlecode" => {
            let cfg = d.googlecode.as_ref()?;
            secret(cfg.secret_key.as_ref()).and_then(|s| googlecode::parse(req, cfg, s.as_deref()))
        }
        "gerrit" => {
            let cfg = d.gerrit.as_ref()?;
            gerrit::parse(req, cfg)
        }
        _ => return None,
    })
}

/// Handles a hook request whose caller is allowed: parses it, stores its changes and its
/// record in the delivery log (in one transaction shared with the deliveries arriving at the
/// same time, see [`crate::engine::ingest`]), and returns the answer and the record's id.
pub async fn handle(
    engine: &Arc<Engine>,
    dialect: &str,
    source: &str,
    req: &HookRequest,
    verify: bool,
    replay_of: Option<i64>,
) -> (Outcome, Option<i64>) {
    let changes = match prepare(engine, dialect, req, verify).await {
        Ok(changes) => changes,
        Err(outcome) => {
            let id = record(engine, dialect, source, req, &outcome, replay_of).await;
            return (outcome, id);
        }
    };
    // What the sender is answered is filled in once the changes are stored (or are not).
    let pending = Outcome { status: StatusCode::ACCEPTED, body: json!({}), change_ids: Vec::new() };
    let draft = delivery(engine, dialect, source, req, &pending, replay_of);
    let record = Box::new(move |stored: Result<&[ChangeId], &EngineError>| {
        let outcome = stored_outcome(stored);
        crate::db::deliveries::Delivery {
            status: i64::from(outcome.status.as_u16()),
            outcome: message_of(&outcome),
            change_ids: serde_json::to_string(&outcome.change_ids).unwrap_or_else(|_| "[]".into()),
            ..draft
        }
    });
    let ingested = engine.ingest(changes, record).await;
    (stored_outcome(ingested.changes.as_deref()), ingested.delivery)
}

/// The changes a request carries, or the answer it gets when it carries none to store.
async fn prepare(
    engine: &Arc<Engine>,
    dialect: &str,
    req: &HookRequest,
    verify: bool,
) -> Result<Vec<NewChange>, Outcome> {
    if dialect == "poller" && engine.config().change_hook.dialects.poller.is_some() {
        return Err(poller::handle(engine, req).await);
    }
    let changes = match parse(engine, dialect, req, verify) {
        None => {
            return Err(Outcome::refused(ApiError::not_found(format!(
                "change hook dialect `{dialect}` is not enabled"
            ))));
        }
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(Outcome::refused(e)),
    };
    if changes.is_empty() {
        return Err(Outcome {
            status: StatusCode::OK,
            body: json!({ "change_ids": [], "message": "no change found" }),
            change_ids: Vec::new(),
        });
    }
    Ok(changes)
}

/// The answer to a request whose changes were stored, or could not be.
fn stored_outcome(stored: Result<&[ChangeId], &EngineError>) -> Outcome {
    match stored {
        Ok(ids) => {
            let ids: Vec<i64> = ids.iter().map(|c| c.0).collect();
            let message = format!("{} change{} found", ids.len(), if ids.len() == 1 { "" } else { "s" });
            Outcome {
                status: StatusCode::ACCEPTED,
                body: json!({ "change_ids": ids, "message": message }),
                change_ids: ids,
            }
        }
        // The cause was logged where it happened; the sender is told to try again, once the
        // database's disk has room again if that was the cause.
        Err(EngineError::Db(DbError::Full(_))) => Outcome::refused(ApiError::storage_full()),
        Err(_) => Outcome::refused(ApiError::unavailable("the change could not be stored; try again")),
    }
}

fn message_of(outcome: &Outcome) -> String {
    outcome.body.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned()
}

/// The forge's event type, from whichever header it uses.
fn event_of(headers: &HeaderMap) -> Option<String> {
    ["x-github-event", "x-gitlab-event", "x-event-key"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
}

/// Headers worth keeping in the log: everything but credentials.
fn loggable_headers(headers: &HeaderMap) -> serde_json::Value {
    let secretive = |name: &str| {
        name == "authorization"
            || name == "cookie"
            || name.contains("token")
            || name.contains("secret")
            || name.contains("password")
    };
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(k, _)| !secretive(k.as_str()))
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), json!(v))))
        .collect();
    serde_json::Value::Object(map)
}

/// Runs a stored delivery again (without checking its signature, which was checked when
/// it arrived; its credentials were not stored) and records the replay; returns its id.
pub async fn replay(engine: &Arc<Engine>, original: &crate::db::deliveries::Delivery) -> Option<i64> {
    let mut headers = HeaderMap::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&original.headers) {
        for (k, v) in map {
            if let (Ok(name), Some(Ok(value))) =
                (poem::http::HeaderName::from_bytes(k.as_bytes()), v.as_str().map(poem::http::HeaderValue::from_str))
            {
                headers.insert(name, value);
            }
        }
    }
    let req =
        HookRequest { headers, query: HashMap::new(), body: Bytes::from(original.body.clone().unwrap_or_default()) };
    handle(engine, &original.dialect, "replay", &req, false, Some(original.id)).await.1
}

/// The delivery log's record of a request and of what it was answered.
fn delivery(
    engine: &Engine,
    dialect: &str,
    source: &str,
    req: &HookRequest,
    outcome: &Outcome,
    replay_of: Option<i64>,
) -> crate::db::deliveries::Delivery {
    let truncated = req.body.len() > KEEP_BODY;
    let mut delivery = crate::db::deliveries::Delivery {
        dialect: dialect.to_owned(),
        received_at: engine.clock.now(),
        source_addr: source.to_owned(),
        event: event_of(&req.headers),
        status: i64::from(outcome.status.as_u16()),
        outcome: message_of(outcome),
        change_ids: serde_json::to_string(&outcome.change_ids).unwrap_or_else(|_| "[]".into()),
        headers: loggable_headers(&req.headers).to_string(),
        content_type: req.headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned),
        body_truncated: i64::from(truncated),
        replay_of,
        ..Default::default()
    };
    delivery.keep_body(&req.body[..req.body.len().min(KEEP_BODY)]);
    delivery
}

/// Records a delivery that stored no change, in a transaction of its own, and returns its
/// id; a failure to record is logged, never answered.
pub async fn record(
    engine: &Engine,
    dialect: &str,
    source: &str,
    req: &HookRequest,
    outcome: &Outcome,
    replay_of: Option<i64>,
) -> Option<i64> {
    let delivery = delivery(engine, dialect, source, req, outcome, replay_of);
    let stored = match engine.db.begin().await {
        Ok(mut tx) => match crate::db::deliveries::insert(tx.conn(), &delivery).await {
            Ok(id) => tx.commit().await.map(|()| id),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    stored.map_err(|e| tracing::warn!(error = ?e, "could not record a hook delivery")).ok()
}

/// `POST /change_hook/{dialect}` (GET too, as Buildbot's hooks answer both). Every
/// request is recorded in the delivery log, refused ones included: a webhook that "does
/// nothing" is debugged from there.
#[handler]
pub async fn change_hook(
    Path(dialect): Path<String>,
    req: &Request,
    body: Body,
    engine: Data<&Arc<Engine>>,
    guard: Data<&Arc<auth::HookGuard>>,
) -> Response {
    let source = req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let mut query: HashMap<String, String> = HashMap::new();
    let pairs = req.uri().query().map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default());
    for (k, v) in pairs.unwrap_or_default() {
        query
            .entry(k)
            .and_modify(|old| {
                old.push('\n');
                old.push_str(&v);
            })
            .or_insert(v);
    }
    let mut hook = HookRequest { headers: req.headers().clone(), query, body: Bytes::new() };
    let outcome = if let Err(refusal) = guard.check(req).await {
        let _ = record(
            &engine,
            &dialect,
            &source,
            &hook,
            &Outcome::refused(ApiError::unauthorized("no valid credentials")),
            None,
        )
        .await;
        engine.metrics.hook_delivery(dialect_label(&dialect), refusal.status().as_u16(), 0);
        return refusal;
    } else {
        match body.into_bytes_limit(MAX_BODY).await {
            Err(_) => {
                let outcome = Outcome::refused(HookError::TooLarge);
                let _ = record(&engine, &dialect, &source, &hook, &outcome, None).await;
                outcome
            }
            Ok(bytes) => {
                hook.body = bytes;
                if limits::looks_like_json(&hook.body) && limits::too_deep(&hook.body, limits::MAX_DEPTH) {
                    let outcome = Outcome::refused(HookError::BadRequest(limits::too_deep_message()));
                    let _ = record(&engine, &dialect, &source, &hook, &outcome, None).await;
                    outcome
                } else {
                    handle(&engine, &dialect, &source, &hook, true, None).await.0
                }
            }
        }
    };
    engine.metrics.hook_delivery(dialect_label(&dialect), outcome.status.as_u16(), outcome.change_ids.len());
    (outcome.status, Json(outcome.body)).into_response()
}

/// The dialect as a metric's label: anything else a client puts in the URL is `other`, so
/// made-up names cannot add series without end.
fn dialect_label(dialect: &str) -> &str {
    const DIALECTS: [&str; 8] =
        ["base", "github", "gitlab", "bitbucket", "gitorious", "googlecode", "gerrit", "poller"];
    if DIALECTS.contains(&dialect) { dialect } else { "other" }
}
