//! `/builders`: the builders with their state, and forcing a build.

use std::collections::BTreeMap;

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::types::Builder;
use super::{ApiError, Tag};
use crate::config::AuthzRule;
use crate::engine::Engine;
use crate::model::ForceRequest;

/// The builders resource.
#[derive(Debug)]
pub struct BuildersApi;

/// The builders list.
#[derive(Debug, Object)]
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

#[OpenApi(tag = "Tag::Builders")]
impl BuildersApi {
    /// Lists the builders with their current state and last build.
    #[oai(path = "/builders", method = "get", operation_id = "list_builders")]
    async fn list_builders(&self, engine: Data<&Arc<Engine>>) -> Result<Json<BuilderList>, ApiError> {
        let builders = engine.builders_overview().await?;
        Ok(Json(BuilderList { builders: builders.into_iter().map(Builder::from).collect() }))
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
        name: Path<String>,
        body: Json<ForceBody>,
    ) -> Result<ForceResponse, ApiError> {
        if engine.config.authz.force_build != AuthzRule::Allow {
            return Err(ApiError::forbidden("forcing builds is not allowed ([authz] force_build)"));
        }
        let body = body.0;
        let request = ForceRequest {
            reason: body.reason.unwrap_or_default(),
            owner: None,
            branch: body.branch.filter(|b| !b.is_empty()),
            revision: body.revision.filter(|r| !r.is_empty()),
            properties: body.properties.unwrap_or_default(),
        };
        let (set, requests) = engine.force(&name, request).await?;
        Ok(ForceResponse::Accepted(Json(Forced {
            buildset_id: set.0,
            buildrequest_ids: requests.into_iter().map(|r| r.0).collect(),
        })))
    }
}
