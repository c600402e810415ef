//! `/hooks/deliveries`: every change hook request, for admins debugging a webhook, with a
//! replay of a stored one.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::error::missing;
use super::types::time;
use super::{ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;

/// The hook deliveries resource.
#[derive(Debug, Default)]
pub struct HooksApi;

/// One hook request.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// The dialect addressed.
    pub dialect: String,
    /// When it arrived.
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// The client's address.
    pub source_addr: String,
    /// The forge's event type.
    pub event: Option<String>,
    /// The HTTP status answered.
    pub status: i64,
    /// What happened.
    pub outcome: String,
    /// The changes created.
    pub change_ids: Vec<i64>,
    /// The request headers, credentials removed.
    pub headers: serde_json::Value,
    /// The body's media type.
    pub content_type: Option<String>,
    /// The body as text (in the single-delivery answer), up to the stored limit.
    pub body: Option<String>,
    /// Whether the stored body was cut (such a delivery cannot be replayed).
    pub body_truncated: bool,
    /// The delivery this one replays.
    pub replay_of: Option<i64>,
}

/// Deliveries, newest first.
#[derive(Debug, Object)]
pub struct DeliveryList {
    /// The deliveries (without bodies).
    pub deliveries: Vec<Delivery>,
}

impl From<db::deliveries::Delivery> for Delivery {
    fn from(d: db::deliveries::Delivery) -> Self {
        Delivery {
            id: d.id,
            dialect: d.dialect,
            received_at: time(d.received_at),
            source_addr: d.source_addr,
            event: d.event,
            status: d.status,
            outcome: d.outcome,
            change_ids: serde_json::from_str(&d.change_ids).unwrap_or_default(),
            headers: serde_json::from_str(&d.headers).unwrap_or_default(),
            content_type: d.content_type,
            body: d.body.map(|b| String::from_utf8_lossy(&b).into_owned()),
            body_truncated: d.body_truncated != 0,
            replay_of: d.replay_of,
        }
    }
}

#[OpenApi(tag = "Tag::Hooks")]
impl HooksApi {
    /// Lists hook deliveries, newest first.
    #[oai(path = "/hooks/deliveries", method = "get", operation_id = "list_hook_deliveries")]
    async fn list_hook_deliveries(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        /// Only this dialect's.
        dialect: Query<Option<String>>,
        /// Page size (default 50).
        limit: Query<Option<i64>>,
        /// Deliveries to skip.
        offset: Query<Option<i64>>,
    ) -> Result<Json<DeliveryList>, ApiError> {
        require(&engine, &caller, Action::HookDeliveries, None)?;
        let mut conn = engine.db.acquire().await?;
        let list = db::deliveries::list(
            conn.conn(),
            dialect.0.as_deref().unwrap_or(""),
            page(limit.0, 50),
            offset.0.unwrap_or(0).max(0),
        )
        .await?;
        Ok(Json(DeliveryList { deliveries: list.into_iter().map(Delivery::from).collect() }))
    }

    /// One delivery with its body.
    #[oai(path = "/hooks/deliveries/:id", method = "get", operation_id = "get_hook_delivery")]
    async fn get_hook_delivery(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
    ) -> Result<Json<Delivery>, ApiError> {
        require(&engine, &caller, Action::HookDeliveries, None)?;
        let mut conn = engine.db.acquire().await?;
        let delivery =
            db::deliveries::get(conn.conn(), id.0).await.map_err(missing(format!("no hook delivery {}", id.0)))?;
        Ok(Json(delivery.into()))
    }

    /// Runs a stored delivery through its dialect again (signatures were checked when it
    /// first arrived); the replay is recorded as a new delivery.
    #[oai(path = "/hooks/deliveries/:id/replay", method = "post", operation_id = "replay_hook_delivery")]
    async fn replay_hook_delivery(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
    ) -> Result<Json<Delivery>, ApiError> {
        require(&engine, &caller, Action::HookDeliveries, None)?;
        let original = {
            let mut conn = engine.db.acquire().await?;
            db::deliveries::get(conn.conn(), id.0).await.map_err(missing(format!("no hook delivery {}", id.0)))?
        };
        if original.body_truncated != 0 {
            return Err(ApiError::conflict("this delivery's body was too large to keep; it cannot be replayed"));
        }
        let replay_id = crate::hooks::replay(&engine, &original).await;
        let mut conn = engine.db.acquire().await?;
        Ok(Json(
            db::deliveries::get(
                conn.conn(),
                replay_id.ok_or_else(|| ApiError::not_found("the replay was not recorded"))?,
            )
            .await?
            .into(),
        ))
    }
}
