//! The JSON API under `/api/v1`, described by the OpenAPI document it generates. Handlers
//! are thin: parse, authorize, call the engine or a repository, map the result.

mod builders;
mod builds;
mod changes;
pub mod error;
mod events;
mod logs;
pub mod types;
mod views;

use poem_openapi::OpenApiService;

pub use error::ApiError;

/// The OpenAPI tags grouping the operations.
#[derive(poem_openapi::Tags)]
pub enum Tag {
    /// Builders and the actions on them.
    Builders,
    /// Builds and their steps.
    Builds,
    /// Step logs.
    Logs,
    /// Changes.
    Changes,
    /// One-round-trip data for the SPA's pages.
    Views,
    /// The live event stream.
    Events,
}

/// All API resources.
pub type Apis =
    (builders::BuildersApi, builds::BuildsApi, logs::LogsApi, changes::ChangesApi, views::ViewsApi, events::EventsApi);

/// The OpenAPI service serving `/api/v1`; handlers find the engine as request data.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            builders::BuildersApi,
            builds::BuildsApi,
            logs::LogsApi,
            changes::ChangesApi,
            views::ViewsApi,
            events::EventsApi,
        ),
        "Cascade",
        env!("CARGO_PKG_VERSION"),
    )
    .description("The JSON API of the Cascade continuous-integration master.")
    .server("/api/v1")
}

/// The OpenAPI document as JSON, exactly as `/api/openapi.json` serves it.
pub fn spec_json() -> String {
    service().spec()
}

/// Clamps a page size to 1..=1000 with a default.
pub(crate) fn page(limit: Option<i64>, default: i64) -> i64 {
    limit.unwrap_or(default).clamp(1, 1000)
}
