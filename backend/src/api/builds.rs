//! `/builds` and `/builders/{name}/builds/{number}`: builds and their steps.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::types::{Build, BuildDetail, Results};
use super::{ActionBody, ActionResult, ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;

/// The builds resource.
#[derive(Debug, Default)]
pub struct BuildsApi;

/// A page of builds.
#[derive(Debug, Object)]
pub struct BuildList {
    /// Newest first.
    pub builds: Vec<Build>,
    /// The `offset` of the next page, absent on the last one.
    pub next_offset: Option<i64>,
}

#[OpenApi(tag = "Tag::Builds")]
impl BuildsApi {
    /// Lists builds newest first; repeated filters OR together.
    #[oai(path = "/builds", method = "get", operation_id = "list_builds")]
    #[allow(clippy::too_many_arguments)] // one argument per query parameter
    async fn list_builds(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Builder names.
        builder: Query<Vec<String>>,
        /// Branches.
        branch: Query<Vec<String>>,
        /// Results.
        results: Query<Vec<Results>>,
        /// Names of the workers they ran on.
        worker: Query<Vec<String>>,
        /// Page size (default 50, at most 1000).
        limit: Query<Option<i64>>,
        /// Builds to skip.
        offset: Query<Option<i64>>,
    ) -> Result<Json<BuildList>, ApiError> {
        let filter = db::builds::Filter {
            builders: builder.0,
            branches: branch.0,
            results: results.0.into_iter().map(Into::into).collect(),
            workers: worker.0,
        };
        let limit = page(limit.0, 50);
        let offset = offset.0.unwrap_or(0).max(0);
        let mut conn = engine.db.acquire().await?;
        // One extra row tells whether there is a next page.
        let mut builds = db::builds::list(conn.conn(), &filter, limit + 1, offset).await?;
        let next_offset = (builds.len() as i64 > limit).then_some(offset + limit);
        builds.truncate(limit as usize);
        Ok(Json(BuildList { builds: builds.into_iter().map(Build::from).collect(), next_offset }))
    }

    /// One build with its steps.
    #[oai(path = "/builders/:name/builds/:number", method = "get", operation_id = "get_build")]
    async fn get_build(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
    ) -> Result<Json<BuildDetail>, ApiError> {
        Ok(Json(BuildDetail::new(engine.build_detail(&name, number.0).await?, &engine.links)))
    }

    /// Stops a running build; it ends `cancelled`.
    #[oai(path = "/builders/:name/builds/:number/stop", method = "post", operation_id = "stop_build")]
    async fn stop_build(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        number: Path<i64>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::StopBuild, body.0.reason)?;
        engine.stop_build(&name, number.0, &req).await?;
        Ok(ActionResult::said(format!("stopping build {} of {}", number.0, name.0)))
    }

    /// Stops every running build, or those of one builder.
    #[oai(path = "/builds/stop", method = "post", operation_id = "stop_all_builds")]
    async fn stop_all_builds(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        /// Only this builder's builds.
        builder: Query<Option<String>>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::StopAllBuilds, body.0.reason)?;
        let n = engine.stop_all_builds(builder.0.as_deref(), &req).await?;
        Ok(Json(ActionResult { message: format!("stopping {n} build(s)"), count: Some(n as i64) }))
    }
}
