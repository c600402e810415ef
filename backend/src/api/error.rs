//! The API's one error type: every status an operation can answer with, each with the JSON
//! body `{ "error": code, "message": text, "request_id": id }`, decided in one place from the
//! lower layers' errors.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::db::DbError;
use crate::engine::EngineError;

/// The body of every error answer.
#[derive(Debug, Object)]
pub struct ErrorBody {
    /// A stable, machine-readable code ("not_found", "forbidden", ...).
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request's id, also in its `X-Request-Id` header and in the master's log lines
    /// about it; quote it when reporting a problem.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
}

/// Every error an API operation can answer with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// A login would help.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Logged in, but not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The resource's state does not allow this.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is well-formed but wrong.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many failed logins; try again later.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// The master failed; details are in its log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

fn body(error: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody { error: error.into(), message: message.into(), request_id: crate::web::request_id::current() })
}

impl ApiError {
    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::NotFound(body("not_found", message))
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(body("bad_request", message))
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(body("forbidden", message))
    }

    /// 429 with a message.
    pub fn too_many(message: impl Into<String>) -> ApiError {
        ApiError::TooManyRequests(body("rate_limited", message))
    }

    /// 403: a state-changing request made with a session cookie lacked its CSRF token.
    pub fn csrf() -> ApiError {
        ApiError::Forbidden(body("csrf", "missing or wrong X-CSRF-Token header (get it from GET /api/v1/session)"))
    }

    /// 500: the master failed (logged by the caller); the client learns nothing more.
    pub fn internal() -> ApiError {
        ApiError::Internal(body("internal", "internal error; see the master's log"))
    }

    /// 401 with a message.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(body("unauthorized", message))
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found("not found"),
            DbError::Conflict(m) => ApiError::Conflict(body("conflict", m)),
            other => {
                tracing::error!(error = ?other, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::engine::ReconfigError> for ApiError {
    fn from(e: crate::engine::ReconfigError) -> Self {
        use crate::engine::ReconfigError;
        match e {
            ReconfigError::Invalid(e) => ApiError::Unprocessable(body("invalid_config", e.to_string())),
            ReconfigError::Refused(m) => ApiError::Conflict(body("conflict", m)),
            ReconfigError::Engine(e) => e.into(),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Db(db) => db.into(),
            EngineError::NotFound(m) => ApiError::not_found(m),
            EngineError::Conflict(m) => ApiError::Conflict(body("conflict", m)),
            EngineError::Invalid(m) => ApiError::Unprocessable(body("invalid", m)),
        }
    }
}
