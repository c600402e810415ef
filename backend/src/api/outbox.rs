//! `/outbox`: the reporters' messages, sent or not, for admins watching a peer that is
//! down, with a retry and a drop of one message.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::error::missing;
use super::types::time;
use super::{ActionResult, ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;

/// The outbox resource.
#[derive(Debug, Default)]
pub struct OutboxApi;

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent, possibly after failed attempts.
    Pending,
    /// Delivered.
    Sent,
    /// Given up on; only a retry sends it again.
    Failed,
}

impl From<db::outbox::State> for OutboxState {
    fn from(s: db::outbox::State) -> Self {
        match s {
            db::outbox::State::Pending => OutboxState::Pending,
            db::outbox::State::Sent => OutboxState::Sent,
            db::outbox::State::Failed => OutboxState::Failed,
        }
    }
}

impl From<OutboxState> for db::outbox::State {
    fn from(s: OutboxState) -> Self {
        match s {
            OutboxState::Pending => db::outbox::State::Pending,
            OutboxState::Sent => db::outbox::State::Sent,
            OutboxState::Failed => db::outbox::State::Failed,
        }
    }
}

/// One message of a reporter.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OutboxMessage {
    /// Id.
    pub id: i64,
    /// The reporter sending it.
    pub reporter: String,
    /// The reporter's idempotency key.
    pub key: Option<String>,
    /// Where it stands.
    pub state: OutboxState,
    /// The message, in the reporter's shape.
    pub payload: serde_json::Value,
    /// When it was enqueued.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Failed deliveries so far.
    pub attempts: i64,
    /// When a pending message is next tried.
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    /// When it was delivered.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was given up on.
    pub failed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// Messages, newest first.
#[derive(Debug, Object)]
pub struct OutboxList {
    /// The messages.
    pub messages: Vec<OutboxMessage>,
}

impl From<db::outbox::Message> for OutboxMessage {
    fn from(m: db::outbox::Message) -> Self {
        OutboxMessage {
            id: m.id,
            state: m.state().into(),
            payload: serde_json::from_str(&m.payload).unwrap_or_default(),
            reporter: m.reporter,
            key: m.key,
            created_at: time(m.created_at),
            attempts: m.attempts,
            next_attempt_at: time(m.next_attempt_at),
            sent_at: m.sent_at.map(time),
            failed_at: m.failed_at.map(time),
            last_error: m.last_error,
        }
    }
}

#[OpenApi(tag = "Tag::Outbox")]
impl OutboxApi {
    /// Lists the reporters' messages, newest first.
    #[oai(path = "/outbox", method = "get", operation_id = "list_outbox")]
    async fn list_outbox(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        /// Only this reporter's.
        reporter: Query<Option<String>>,
        /// Only messages in this state.
        state: Query<Option<OutboxState>>,
        /// Page size (default 50).
        limit: Query<Option<i64>>,
        /// Messages to skip.
        offset: Query<Option<i64>>,
    ) -> Result<Json<OutboxList>, ApiError> {
        require(&engine, &caller, Action::ManageOutbox, None)?;
        let mut conn = engine.db.acquire().await?;
        let list = db::outbox::list(
            conn.conn(),
            reporter.0.as_deref(),
            state.0.map(Into::into),
            page(limit.0, 50),
            offset.0.unwrap_or(0).max(0),
        )
        .await?;
        Ok(Json(OutboxList { messages: list.into_iter().map(OutboxMessage::from).collect() }))
    }

    /// Makes an unsent message (pending or failed) due now; its last error stays until the
    /// next attempt.
    #[oai(path = "/outbox/:id/retry", method = "post", operation_id = "retry_outbox_message")]
    async fn retry_outbox_message(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
    ) -> Result<Json<OutboxMessage>, ApiError> {
        require(&engine, &caller, Action::ManageOutbox, None)?;
        let mut conn = engine.db.acquire().await?;
        db::outbox::retry(conn.conn(), id.0, engine.clock.now())
            .await
            .map_err(missing(format!("no unsent outbox message {}", id.0)))?;
        Ok(Json(db::outbox::get(conn.conn(), id.0).await?.into()))
    }

    /// Deletes a message, sent or not.
    #[oai(path = "/outbox/:id", method = "delete", operation_id = "drop_outbox_message")]
    async fn drop_outbox_message(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
    ) -> Result<Json<ActionResult>, ApiError> {
        require(&engine, &caller, Action::ManageOutbox, None)?;
        let mut conn = engine.db.acquire().await?;
        db::outbox::drop(conn.conn(), id.0).await.map_err(missing(format!("no outbox message {}", id.0)))?;
        Ok(ActionResult::said(format!("dropped outbox message {}", id.0)))
    }
}
