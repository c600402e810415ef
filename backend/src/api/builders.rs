//! `/builders`: the builders with their state, and forcing a build.

use std::collections::BTreeMap;

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::json::{RawJson, cached, page_key};
use super::types::Builder;
use super::{ActionBody, ActionResult, ApiError, Tag};
use crate::auth::authz::Action;
use crate::engine::Engine;
use crate::model::ForceRequest;

/// The builders resource.
#[derive(Debug, Default)]
pub struct BuildersApi;

/// The builders list.
#[derive(Debug, Object, serde::Serialize)]
pub struct BuilderList {
    /// Builders in configuration order.
    pub builders: Vec<Builder>,
}

/// The force form.
#[derive(Debug, Object, Default)]
pub struct ForceBody {
    /// Why.
    pub reason: Option<String>,
    /// Branch to build.
    pub branch: Option<String>,
    /// Revision to build.
    pub revision: Option<String>,
    /// Repository to build.
    pub repository: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Extra properties.
    pub properties: Option<BTreeMap<String, String>>,
}

/// What a force created.
#[derive(Debug, Object)]
pub struct Forced {
    /// The new buildset.
    pub buildset_id: i64,
    /// Its build requests.
    pub buildrequest_ids: Vec<i64>,
}

/// Answer of a force.
#[derive(Debug, ApiResponse)]
pub enum ForceResponse {
    /// Queued.
    #[oai(status = 202)]
    Accepted(Json<Forced>),
}

/// One worker's answer to a ping.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WorkerPing {
    /// The worker.
    pub worker: String,
    /// Whether it answered.
    pub replied: bool,
    /// Round trip in milliseconds.
    pub rtt_ms: Option<i64>,
    /// Why it did not answer.
    pub error: Option<String>,
}

/// The answers to a builder ping.
#[derive(Debug, Object)]
pub struct PingResults {
    /// One entry per worker of the builder.
    pub workers: Vec<WorkerPing>,
}

#[OpenApi(tag = "Tag::Builders")]
impl BuildersApi {
    /// Lists the builders with their current state and last build.
    #[oai(path = "/builders", method = "get", operation_id = "list_builders")]
    async fn list_builders(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only these builders (repeatable).
        builder: Query<Vec<String>>,
        /// The last build shown is the last of these branches (repeatable; `trunk`
        /// includes the default branch).
        branch: Query<Vec<String>>,
        request: &poem::Request,
    ) -> Result<RawJson<BuilderList>, ApiError> {
        cached(&engine, page_key(request), async {
            let mut builders = engine.builders_overview_on(&branch.0).await?;
            if !builder.0.is_empty() {
                builders.retain(|b| builder.0.contains(&b.name));
            }
            Ok(BuilderList { builders: builders.into_iter().map(Builder::from).collect() })
        })
        .await
    }

    /// One builder.
    #[oai(path = "/builders/:name", method = "get", operation_id = "get_builder")]
    async fn get_builder(&self, engine: Data<&Arc<Engine>>, name: Path<String>) -> Result<Json<Builder>, ApiError> {
        Ok(Json(engine.builder_overview(&name).await?.into()))
    }

    /// Queues a build of the builder, as its force scheduler's form would.
    #[oai(path = "/builders/:name/force", method = "post", operation_id = "force_build")]
    async fn force_build(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        body: Json<ForceBody>,
    ) -> Result<ForceResponse, ApiError> {
        let who = require(&engine, &caller, Action::ForceBuild, None)?;
        let body = body.0;
        let request = ForceRequest {
            reason: body.reason.unwrap_or_default(),
            owner: who.actor,
            branch: body.branch.filter(|b| !b.is_empty()),
            revision: body.revision.filter(|r| !r.is_empty()),
            repository: body.repository.filter(|r| !r.is_empty()),
            project: body.project.filter(|p| !p.is_empty()),
            properties: body.properties.unwrap_or_default(),
        };
        let (set, requests) = engine.force(&name, request).await?;
        Ok(ForceResponse::Accepted(Json(Forced {
            buildset_id: set.0,
            buildrequest_ids: requests.into_iter().map(|r| r.0).collect(),
        })))
    }

    /// Queues a build of every builder that has a force scheduler.
    #[oai(path = "/builders/_all/force", method = "post", operation_id = "force_all_builds")]
    async fn force_all_builds(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        body: Json<ForceBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let who = require(&engine, &caller, Action::ForceAllBuilds, None)?;
        let body = body.0;
        let mut n = 0;
        for builder in engine.builders_overview().await?.into_iter().filter(|b| b.can_force) {
            let request = ForceRequest {
                reason: body.reason.clone().unwrap_or_default(),
                owner: who.actor.clone(),
                branch: body.branch.clone().filter(|b| !b.is_empty()),
                revision: body.revision.clone().filter(|r| !r.is_empty()),
                repository: body.repository.clone().filter(|r| !r.is_empty()),
                project: body.project.clone().filter(|p| !p.is_empty()),
                properties: body.properties.clone().unwrap_or_default(),
            };
            engine.force(&builder.name, request).await?;
            n += 1;
        }
        Ok(Json(ActionResult { message: format!("forced {n} builder(s)"), count: Some(n) }))
    }

    /// Pings every worker of the builder and says which answered.
    #[oai(path = "/builders/:name/ping", method = "post", operation_id = "ping_builder")]
    async fn ping_builder(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        body: Json<ActionBody>,
    ) -> Result<Json<PingResults>, ApiError> {
        let req = require(&engine, &caller, Action::PingBuilder, body.0.reason)?;
        let results = engine.ping_builder(&name, &req).await?;
        Ok(Json(PingResults {
            workers: results
                .into_iter()
                .map(|r| WorkerPing {
                    worker: r.worker,
                    replied: r.replied,
                    rtt_ms: r.rtt_ms.map(|m| m as i64),
                    error: r.error,
                })
                .collect(),
        }))
    }
}
