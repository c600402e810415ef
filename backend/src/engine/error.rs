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

impl EngineError {
    /// Whether the database failed in a way that mends by itself ([`DbError::is_transient`]),
    /// so the same work may succeed when tried again.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Db(db) if db.is_transient())
    }
}
