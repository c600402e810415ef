//! `/builds` and `/builders/{name}/builds/{number}`: builds and their steps.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::builders::{ForceResponse, Forced};
use super::caller::Caller;
use super::json::{RawJson, cached, page_key};
use super::types::{Build, BuildPage, Results};
use super::{ActionBody, ActionResult, ApiError, Tag, page};
use crate::auth::authz::Action;
use crate::db;
use crate::engine::Engine;
use crate::model::ChangeId;

/// The `property.NAME=VALUE` arguments of a query, in order.
pub fn property_filters(request: &poem::Request) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("property.").filter(|name| !name.is_empty()).map(|name| (name.to_owned(), v))
        })
        .collect()
}

/// The builds resource.
#[derive(Debug, Default)]
pub struct BuildsApi;

/// A page of builds.
#[derive(Debug, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct BuildList {
    /// Newest first.
    pub builds: Vec<Build>,
    /// The `offset` of the next page, absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<i64>,
}

#[OpenApi(tag = "Tag::Builds")]
impl BuildsApi {
    /// Lists builds newest first; repeated filters OR together. `property.NAME=VALUE`
    /// arguments keep builds whose property NAME has that value (all of them must match).
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
        /// Only builds made for this change (by id).
        change: Query<Option<i64>>,
        /// Names of the workers they ran on.
        worker: Query<Vec<String>>,
        /// Page size (default 50, at most 1000).
        limit: Query<Option<i64>>,
        /// Builds to skip.
        offset: Query<Option<i64>>,
        request: &poem::Request,
    ) -> Result<RawJson<BuildList>, ApiError> {
        let limit = page(limit.0, 50);
        let offset = offset.0.unwrap_or(0).max(0);
        cached(&engine, page_key(request), async {
            // Made only when the page is built: a page served from the cache reads no argument.
            let filter = db::builds::Filter {
                builders: builder.0,
                branches: branch.0,
                results: results.0.into_iter().map(Into::into).collect(),
                change: change.0.map(ChangeId),
                properties: property_filters(request),
                workers: worker.0,
            };
            let mut conn = engine.db.acquire().await?;
            // One extra row tells whether there is a next page.
            let mut builds = db::builds::list(conn.conn(), &filter, limit + 1, offset).await?;
            let next_offset = (builds.len() as i64 > limit).then_some(offset.saturating_add(limit));
            builds.truncate(limit as usize);
            Ok(BuildList { builds: builds.into_iter().map(Build::from).collect(), next_offset })
        })
        .await
    }

    /// One build with its steps, changes, source stamps and property sources.
    #[oai(path = "/builders/:name/builds/:number", method = "get", operation_id = "get_build")]
    async fn get_build(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
    ) -> Result<Json<BuildPage>, ApiError> {
        Ok(Json(BuildPage::new(engine.build_page(&name, number.0).await?, &engine.links())))
    }

    /// Queues the build again: the same source stamps, changes and properties, owned by
    /// the caller (allowed by `force_build`).
    #[oai(path = "/builders/:name/builds/:number/rebuild", method = "post", operation_id = "rebuild_build")]
    async fn rebuild_build(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        number: Path<i64>,
        body: Json<ActionBody>,
    ) -> Result<ForceResponse, ApiError> {
        let req = require(&engine, &caller, Action::ForceBuild, body.0.reason)?;
        let (set, requests) = engine.rebuild(&name, number.0, &req).await?;
        Ok(ForceResponse::Accepted(Json(Forced {
            buildset_id: set.0,
            buildrequest_ids: requests.into_iter().map(|r| r.0).collect(),
        })))
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
