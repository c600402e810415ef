//! `/changes`: the changes the master has seen.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::error::missing;
use super::json::{RawJson, cached, page_key};
use super::types::Change;
use super::{ActionBody, ActionResult, ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;
use crate::model::ChangeId;

/// The changes resource.
#[derive(Debug, Default)]
pub struct ChangesApi;

/// A page of changes.
#[derive(Debug, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct ChangeList {
    /// Newest first.
    pub changes: Vec<Change>,
    /// The `before` of the next page, absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[OpenApi(tag = "Tag::Changes")]
impl ChangesApi {
    /// Lists changes, newest first; repeated filters OR together, different ones AND.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/changes", method = "get", operation_id = "list_changes")]
    async fn list_changes(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Authors.
        author: Query<Vec<String>>,
        /// Branches (`trunk` also matches the default branch).
        branch: Query<Vec<String>>,
        /// Repositories.
        repository: Query<Vec<String>>,
        /// Projects.
        project: Query<Vec<String>>,
        /// Codebases.
        codebase: Query<Vec<String>>,
        /// Page size (default 50, at most 1000).
        limit: Query<Option<i64>>,
        /// Only changes older than this id: the `next_before` of the previous page.
        before: Query<Option<i64>>,
        request: &poem::Request,
    ) -> Result<RawJson<ChangeList>, ApiError> {
        let filter = db::changes::Filter {
            authors: author.0,
            branches: branch.0,
            repositories: repository.0,
            projects: project.0,
            codebases: codebase.0,
            below: before.0,
            ..Default::default()
        };
        let limit = page(limit.0, 50);
        cached(&engine, page_key(request), async {
            let mut conn = engine.db.acquire().await?;
            // One extra row tells whether there is a next page.
            let mut changes =
                db::changes::list_filtered(conn.conn(), &filter, db::changes::Order::Id, limit + 1).await?;
            let more = changes.len() as i64 > limit;
            changes.truncate(limit as usize);
            let next_before = if more { changes.last().map(|c| c.id.0) } else { None };
            let links = engine.links();
            Ok(ChangeList { changes: changes.into_iter().map(|c| Change::new(c, &links)).collect(), next_before })
        })
        .await
    }

    /// One change.
    #[oai(path = "/changes/:id", method = "get", operation_id = "get_change")]
    async fn get_change(&self, engine: Data<&Arc<Engine>>, id: Path<i64>) -> Result<Json<Change>, ApiError> {
        let mut conn = engine.db.acquire().await?;
        let change =
            db::changes::get(conn.conn(), ChangeId(id.0)).await.map_err(missing(format!("no change {}", id.0)))?;
        Ok(Json(Change::new(change, &engine.links())))
    }

    /// Cancels the pending build requests and stops the running builds made for a change.
    #[oai(path = "/changes/:id/stop", method = "post", operation_id = "stop_change")]
    async fn stop_change(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        id: Path<i64>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::StopChange, body.0.reason)?;
        let (cancelled, stopped) = engine.stop_change(ChangeId(id.0), &req).await?;
        Ok(Json(ActionResult {
            message: format!("cancelled {cancelled} pending request(s), stopping {stopped} build(s)"),
            count: Some((cancelled + stopped) as i64),
        }))
    }
}
