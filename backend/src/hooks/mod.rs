//! Change hooks: `/change_hook/{dialect}` turns a forge's notification into changes. Each
//! dialect (one file each) only parses a request into [`NewChange`]s; this router checks
//! that the dialect is enabled, limits the body, stores the changes before answering, and
//! maps every failure to a 4xx with its reason.

pub mod base;
pub mod bitbucket;
pub mod github;
pub mod gitlab;
pub mod gitorious;
pub mod googlecode;
pub mod signature;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use poem::http::{HeaderMap, StatusCode};
use poem::web::{Data, Json, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::json;

use crate::engine::Engine;
use crate::model::NewChange;

/// Largest hook body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A hook request, as the dialects see it.
#[derive(Debug)]
pub struct HookRequest {
    /// Request headers.
    pub headers: HeaderMap,
    /// Query arguments (the last value of each).
    pub query: HashMap<String, String>,
    /// The body.
    pub body: Bytes,
}

impl HookRequest {
    /// The media type of the body, without parameters, lowercased.
    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// Why a hook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The payload is malformed or misses a required field.
    #[error("{0}")]
    BadRequest(String),
    /// The body is too large.
    #[error("request body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body's media type is not one the dialect reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The signature or token is missing or wrong.
    #[error("{0}")]
    Forbidden(String),
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": code, "message": message.into() }))).into_response()
}

/// `POST /change_hook/{dialect}`.
#[handler]
pub async fn change_hook(
    Path(dialect): Path<String>,
    req: &Request,
    body: Body,
    engine: Data<&Arc<Engine>>,
) -> Response {
    let dialects = &engine.config.change_hook.dialects;
    let parse: fn(&HookRequest) -> Result<Vec<NewChange>, HookError> = match dialect.as_str() {
        "base" if dialects.base.is_some() => base::parse,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("change hook dialect `{dialect}` is not enabled"),
            );
        }
    };
    let body = match body.into_bytes_limit(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", HookError::TooLarge.to_string()),
    };
    let query = req.uri().query().map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default());
    let hook =
        HookRequest { headers: req.headers().clone(), query: query.unwrap_or_default().into_iter().collect(), body };
    let changes = match parse(&hook) {
        Ok(c) => c,
        Err(HookError::TooLarge) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", HookError::TooLarge.to_string());
        }
        Err(HookError::UnsupportedMediaType(m)) => {
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m);
        }
        Err(HookError::BadRequest(m)) => return error(StatusCode::BAD_REQUEST, "bad_request", m),
        Err(HookError::Forbidden(m)) => return error(StatusCode::FORBIDDEN, "forbidden", m),
    };
    if changes.is_empty() {
        return (StatusCode::OK, Json(json!({ "change_ids": [], "message": "no change found" }))).into_response();
    }
    match engine.add_changes(changes).await {
        Ok(ids) => {
            let ids: Vec<i64> = ids.into_iter().map(|c| c.0).collect();
            let message = format!("{} change{} found", ids.len(), if ids.len() == 1 { "" } else { "s" });
            (StatusCode::ACCEPTED, Json(json!({ "change_ids": ids, "message": message }))).into_response()
        }
        Err(e) => {
            tracing::error!(error = ?e, dialect, "could not store hook changes");
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the change could not be stored; try again")
        }
    }
}
