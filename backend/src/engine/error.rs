//! The engine's error type.

use crate::db::DbError;

/// What an engine operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// No such builder, build, worker, ...
    #[error("{0}")]
    NotFound(String),
    /// The request is fine but the state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
}
