//! `/views/...`: everything one SPA page needs, in one round trip.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::types::{BuildDetail, Builder};
use super::{ApiError, Tag};
use crate::db;
use crate::engine::Engine;

/// The views resource.
#[derive(Debug, Default)]
pub struct ViewsApi;

/// The waterfall's data.
#[derive(Debug, Object)]
pub struct Waterfall {
    /// The columns.
    pub builders: Vec<Builder>,
    /// Recent builds with their steps, newest first.
    pub builds: Vec<BuildDetail>,
}

#[OpenApi(tag = "Tag::Views")]
impl ViewsApi {
    /// The builders and their recent builds with steps.
    #[oai(path = "/views/waterfall", method = "get", operation_id = "get_waterfall")]
    async fn get_waterfall(
        &self,
        engine: Data<&Arc<Engine>>,
        /// Only these builders (repeatable).
        builder: Query<Vec<String>>,
        /// Builds to show (default `[web] num_builds` × 5, at most `num_events_max`).
        num_builds: Query<Option<i64>>,
    ) -> Result<Json<Waterfall>, ApiError> {
        let web = &engine.config.web;
        let limit = num_builds.0.unwrap_or(i64::from(web.num_builds) * 5).clamp(1, i64::from(web.num_events_max));
        let mut builders = engine.builders_overview().await?;
        if !builder.0.is_empty() {
            builders.retain(|b| builder.0.contains(&b.name));
        }
        let filter = db::builds::Filter { builders: builder.0, ..Default::default() };
        let builds = engine.builds_with_steps(&filter, limit).await?;
        Ok(Json(Waterfall {
            builders: builders.into_iter().map(Builder::from).collect(),
            builds: builds.into_iter().map(BuildDetail::from).collect(),
        }))
    }
}
