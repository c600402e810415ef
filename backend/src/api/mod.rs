//! The JSON API under `/api/v1`, described by the OpenAPI document it generates, with the
//! requests the master sends as the document's webhooks. Handlers are thin: parse,
//! authorize, call the engine or a repository, map the result.

mod authz;
mod builders;
mod buildrequests;
mod builds;
pub mod caller;
mod changes;
pub mod error;
mod events;
mod hooks;
pub mod json;
pub mod limits;
pub mod logs;
mod master;
mod outbox;
mod session;
pub mod types;
mod users;
mod views;
pub mod webhooks;
pub mod worker_socket;
mod workers;

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
    /// Pending build requests.
    BuildRequests,
    /// Workers and the actions on them.
    Workers,
    /// The master itself.
    Master,
    /// Login and the current session.
    Session,
    /// Users.
    Users,
    /// The change hook delivery log.
    Hooks,
    /// The reporters' outbox.
    Outbox,
    /// One-round-trip data for the SPA's pages.
    Views,
    /// The live event stream.
    Events,
    /// What an `http_push` reporter POSTs to its server (webhooks).
    Push,
}

/// All API resources.
pub type Apis = (
    builders::BuildersApi,
    builds::BuildsApi,
    logs::LogsApi,
    changes::ChangesApi,
    buildrequests::BuildRequestsApi,
    workers::WorkersApi,
    master::MasterApi,
    session::SessionApi,
    users::UsersApi,
    // Nested: a tuple of more than twelve has no `Default`.
    (hooks::HooksApi, outbox::OutboxApi),
    views::ViewsApi,
    events::EventsApi,
);

/// The OpenAPI service serving `/api/v1`; handlers find the engine as request data.
pub fn service() -> OpenApiService<Apis, webhooks::Webhooks> {
    OpenApiService::new(Apis::default(), "Cascade", env!("CARGO_PKG_VERSION"))
        .webhooks::<webhooks::Webhooks>()
        .description("The JSON API of the Cascade continuous-integration master.")
        .server("/api/v1")
}

/// The OpenAPI document as JSON, exactly as `/api/openapi.json` serves it.
pub fn spec_json() -> String {
    service().spec()
}

/// The body of an action: why it is taken.
#[derive(Debug, Default, poem_openapi::Object)]
pub struct ActionBody {
    /// Why (recorded with the action).
    pub reason: Option<String>,
}

/// What an action did.
#[derive(Debug, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ActionResult {
    /// A sentence for people.
    pub message: String,
    /// How many things it affected, when it acts on several.
    pub count: Option<i64>,
}

impl ActionResult {
    /// A result with a message only.
    pub fn said(message: impl Into<String>) -> poem_openapi::payload::Json<ActionResult> {
        poem_openapi::payload::Json(ActionResult { message: message.into(), count: None })
    }
}

/// Clamps a page size to 1..=1000 with a default.
pub(crate) fn page(limit: Option<i64>, default: i64) -> i64 {
    limit.unwrap_or(default).clamp(1, 1000)
}
