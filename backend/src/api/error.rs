//! The API's one error type: every status an operation can answer with, each with the JSON
//! body `{ "error": code, "message": text, "request_id": id }`, decided in one place from the
//! lower layers' errors (database, engine, authentication, users, change hooks) and from
//! requests that could not be read. A database's own words (which differ between SQLite and
//! PostgreSQL and name tables and constraints) go to the log, never to the client.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object};

use crate::auth::AuthError;
use crate::auth::users::UserError;
use crate::db::DbError;
use crate::engine::EngineError;
use crate::hooks::HookError;

/// What kind of error an answer is: a stable code for programs, one per cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (400).
    BadRequest,
    /// The body's media type is not one the operation reads (400).
    UnsupportedMediaType,
    /// No credentials, or wrong ones (401).
    Unauthorized,
    /// Not allowed (403).
    Forbidden,
    /// A state-changing request made with a session cookie lacked its CSRF token (403).
    Csrf,
    /// No such resource (404).
    NotFound,
    /// The path exists, but not with this method (405).
    MethodNotAllowed,
    /// The resource's state does not allow this (409).
    Conflict,
    /// The body is larger than the master reads (413).
    TooLarge,
    /// The body is well-formed but wrong (422).
    Invalid,
    /// The configuration file a reconfiguration read is not valid (422).
    InvalidConfig,
    /// Too many failed logins (429).
    RateLimited,
    /// The master failed; details are in its log (500).
    Internal,
    /// The database is busy or out of reach; try again (503).
    Unavailable,
    /// The database's disk is full (507).
    StorageFull,
}

/// The body of every error answer.
#[derive(Debug, Object, serde::Serialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code.
    pub error: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The request's id, also in its `X-Request-Id` header and in the master's log lines
    /// about it; quote it when reporting a problem.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
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
    /// The request body is larger than the master reads.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is well-formed but wrong.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many failed logins; try again later.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// The master failed; details are in its log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is busy or out of reach; try again.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
    /// The request's line and headers together are larger than the master reads (8 kB).
    /// The HTTP server answers so itself, with no body, before any operation runs.
    #[oai(status = 431)]
    #[allow(dead_code, reason = "answered by the HTTP server (server::MAX_REQUEST_HEAD), listed for the document")]
    HeadTooLarge,
    /// The database's disk is full: nothing can be stored until space is freed (reads work).
    #[oai(status = 507)]
    InsufficientStorage(Json<ErrorBody>),
}

fn body(error: ErrorCode, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody { error, message: message.into(), request_id: crate::web::request_id::current() })
}

impl ApiError {
    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::NotFound(body(ErrorCode::NotFound, message))
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(body(ErrorCode::BadRequest, message))
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(body(ErrorCode::Forbidden, message))
    }

    /// 409 with a message.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::Conflict(body(ErrorCode::Conflict, message))
    }

    /// 429 with a message.
    pub fn too_many(message: impl Into<String>) -> ApiError {
        ApiError::TooManyRequests(body(ErrorCode::RateLimited, message))
    }

    /// 403: a state-changing request made with a session cookie lacked its CSRF token.
    pub fn csrf() -> ApiError {
        ApiError::Forbidden(body(
            ErrorCode::Csrf,
            "missing or wrong X-CSRF-Token header (get it from GET /api/v1/session)",
        ))
    }

    /// 500: the master failed (logged by the caller); the client learns nothing more.
    pub fn internal() -> ApiError {
        ApiError::Internal(body(ErrorCode::Internal, "internal error; see the master's log"))
    }

    /// 401 with a message.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(body(ErrorCode::Unauthorized, message))
    }

    /// 503 with a message: the client should try again later.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::Unavailable(body(ErrorCode::Unavailable, message))
    }

    /// 507: the database's disk is full; the client should send the request again once
    /// space is freed (nothing of it was stored).
    pub fn storage_full() -> ApiError {
        ApiError::InsufficientStorage(body(
            ErrorCode::StorageFull,
            "the master's database has no space left to write to, so nothing was stored; \
             reads still work; try again once space is freed",
        ))
    }
}

impl ApiError {
    /// 413: the body is larger than `limit` bytes.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::PayloadTooLarge(body(ErrorCode::TooLarge, format!("request body larger than {limit} bytes")))
    }

    /// The status of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    /// The body of this answer; `None` for the one answered without a body.
    pub fn body(&self) -> Option<&ErrorBody> {
        Some(match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::PayloadTooLarge(b)
            | ApiError::Unprocessable(b)
            | ApiError::TooManyRequests(b)
            | ApiError::Internal(b)
            | ApiError::Unavailable(b)
            | ApiError::InsufficientStorage(b) => &b.0,
            ApiError::HeadTooLarge => return None,
        })
    }
}

/// The answer to a request poem or poem-openapi could not read (a malformed or wrongly
/// typed body or parameter, an unsupported media type, an unknown path or method): its
/// status, in the one error shape, with the reason.
pub fn unreadable(e: &poem::Error) -> poem::Response {
    use poem::IntoResponse;
    let reason = e.to_string();
    let known = match e.status() {
        StatusCode::BAD_REQUEST => Some(ApiError::bad_request(reason.clone())),
        // A wrong media type is bad input like any other, as the change hooks say too.
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Some(ApiError::BadRequest(body(ErrorCode::UnsupportedMediaType, reason.clone())))
        }
        StatusCode::NOT_FOUND => Some(ApiError::not_found(reason.clone())),
        StatusCode::PAYLOAD_TOO_LARGE => Some(ApiError::PayloadTooLarge(body(ErrorCode::TooLarge, reason.clone()))),
        StatusCode::UNPROCESSABLE_ENTITY => Some(ApiError::Unprocessable(body(ErrorCode::Invalid, reason.clone()))),
        status if status.is_server_error() => {
            tracing::error!(error = ?e, "request failed");
            Some(ApiError::internal())
        }
        _ => None,
    };
    match known {
        Some(answer) => answer.into_response(),
        None => {
            let code = if e.status() == StatusCode::METHOD_NOT_ALLOWED {
                ErrorCode::MethodNotAllowed
            } else {
                ErrorCode::BadRequest
            };
            poem::web::Json(body(code, reason).0).with_status(e.status()).into_response()
        }
    }
}

/// Maps a repository's `NotFound` to a 404 saying `message` (which thing is missing), and
/// every other failure as [`From<DbError>`] does; for `map_err`.
pub fn missing(message: impl Into<String>) -> impl FnOnce(DbError) -> ApiError {
    move |e| match e {
        DbError::NotFound => ApiError::not_found(message),
        other => other.into(),
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found("not found"),
            DbError::Conflict(m) => {
                tracing::info!(error = %m, "refused by a uniqueness constraint");
                ApiError::Conflict(body(ErrorCode::Conflict, "conflicts with what is stored already"))
            }
            e @ (DbError::Busy(_) | DbError::Unavailable(_)) => {
                tracing::error!(error = ?e, "database unavailable");
                ApiError::Unavailable(body(ErrorCode::Unavailable, "the database is busy or out of reach; try again"))
            }
            e @ DbError::Full(_) => {
                tracing::error!(error = ?e, "database full: free space on its disk");
                ApiError::storage_full()
            }
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
            ReconfigError::Invalid(e) => ApiError::Unprocessable(body(ErrorCode::InvalidConfig, e.to_string())),
            ReconfigError::Refused(m) => ApiError::Conflict(body(ErrorCode::Conflict, m)),
            ReconfigError::Engine(e) => e.into(),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Db(db) => db.into(),
            EngineError::NotFound(m) => ApiError::not_found(m),
            EngineError::Conflict(m) => ApiError::Conflict(body(ErrorCode::Conflict, m)),
            EngineError::Invalid(m) => ApiError::Unprocessable(body(ErrorCode::Invalid, m)),
        }
    }
}

impl From<&AuthError> for ApiError {
    fn from(e: &AuthError) -> Self {
        match e {
            AuthError::BadCredentials => ApiError::unauthorized(e.to_string()),
            AuthError::RateLimited(_) => ApiError::too_many(e.to_string()),
            AuthError::Db(db) => {
                tracing::error!(error = ?db, "authentication store failed");
                ApiError::Unavailable(body(ErrorCode::Unavailable, "the credentials cannot be checked now; try again"))
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::from(&e)
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::NotFound => ApiError::not_found("no such user"),
            UserError::Conflict(m) => ApiError::Conflict(body(ErrorCode::Conflict, m)),
            UserError::Invalid(m) => ApiError::Unprocessable(body(ErrorCode::Invalid, m)),
            UserError::Db(db) => db.into(),
        }
    }
}

impl From<HookError> for ApiError {
    fn from(e: HookError) -> Self {
        let reason = e.to_string();
        match e {
            HookError::TooLarge => ApiError::PayloadTooLarge(body(ErrorCode::TooLarge, reason)),
            // A wrong content type is bad input like any other (DESIGN §8: 4xx with the reason).
            HookError::UnsupportedMediaType(_) => ApiError::BadRequest(body(ErrorCode::UnsupportedMediaType, reason)),
            HookError::BadRequest(_) => ApiError::bad_request(reason),
            HookError::Forbidden(_) => ApiError::forbidden(reason),
            HookError::Unavailable(_) => ApiError::Unavailable(body(ErrorCode::Unavailable, reason)),
        }
    }
}
