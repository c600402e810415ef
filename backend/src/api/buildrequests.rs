//! `/buildrequests`: the queue of pending build requests, and cancelling them.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::types::time;
use super::{ActionResult, ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;
use crate::model::BuildRequestId;

/// The build requests resource.
#[derive(Debug, Default)]
pub struct BuildRequestsApi;

/// A request waiting for a worker.
#[derive(Debug, Object)]
pub struct BuildRequest {
    /// Its id.
    pub id: i64,
    /// Its buildset.
    pub buildset_id: i64,
    /// The builder it waits for.
    pub builder: String,
    /// Higher runs first.
    pub priority: i64,
    /// When it was queued.
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: String,
}

/// Pending requests, next to run first.
#[derive(Debug, Object)]
pub struct BuildRequestList {
    /// The requests.
    pub buildrequests: Vec<BuildRequest>,
}

/// Which pending requests to cancel.
#[derive(Debug, Object)]
pub struct CancelBody {
    /// These requests; absent: every pending request (of `builder`, if given).
    pub ids: Option<Vec<i64>>,
    /// Only this builder's requests.
    pub builder: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

#[OpenApi(tag = "Tag::BuildRequests")]
impl BuildRequestsApi {
    /// Lists the pending (unclaimed) build requests.
    #[oai(path = "/buildrequests", method = "get", operation_id = "list_buildrequests")]
    async fn list_buildrequests(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only this builder's requests.
        builder: Query<Option<String>>,
        /// At most this many (default 100).
        limit: Query<Option<i64>>,
    ) -> Result<Json<BuildRequestList>, ApiError> {
        let mut conn = engine.db.acquire().await?;
        let pending =
            db::buildrequests::pending(conn.conn(), builder.0.as_deref().unwrap_or(""), page(limit.0, 100)).await?;
        Ok(Json(BuildRequestList {
            buildrequests: pending
                .into_iter()
                .map(|p| BuildRequest {
                    id: p.id,
                    buildset_id: p.buildset_id,
                    builder: p.builder,
                    priority: p.priority,
                    submitted_at: time(p.submitted_at),
                    reason: p.reason,
                })
                .collect(),
        }))
    }

    /// Cancels one pending build request.
    #[oai(path = "/buildrequests/:id", method = "delete", operation_id = "cancel_buildrequest")]
    async fn cancel_buildrequest(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
        /// Why.
        reason: Query<Option<String>>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::CancelPendingBuild, reason.0)?;
        engine.cancel_request(BuildRequestId(id.0), &req).await?;
        Ok(ActionResult::said(format!("cancelled build request {}", id.0)))
    }

    /// Cancels the selected pending build requests, or all of them (of one builder).
    #[oai(path = "/buildrequests/cancel", method = "post", operation_id = "cancel_buildrequests")]
    async fn cancel_buildrequests(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        body: Json<CancelBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let body = body.0;
        let req = require(&engine, &caller, Action::CancelAllPendingBuilds, body.reason)?;
        let ids: Option<Vec<BuildRequestId>> = body.ids.map(|ids| ids.into_iter().map(BuildRequestId).collect());
        let cancelled = engine.cancel_pending(ids.as_deref(), body.builder.as_deref(), &req).await?;
        Ok(Json(ActionResult {
            message: format!("cancelled {} build request(s)", cancelled.len()),
            count: Some(cancelled.len() as i64),
        }))
    }
}
