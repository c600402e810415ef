//! The database layer's error type.

/// What can go wrong in a repository call.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database was busy or locked for longer than the timeout.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database server cannot be reached or the URL is unusable.
    #[error("{0}")]
    Unavailable(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Anything else sqlx reports.
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(ref db) if db.is_unique_violation() => DbError::Conflict(db.message().to_owned()),
            sqlx::Error::Database(ref db) if db.message().contains("database is locked") => {
                DbError::Busy(db.message().to_owned())
            }
            sqlx::Error::PoolTimedOut => DbError::Busy("timed out waiting for a connection".into()),
            other => DbError::Other(other),
        }
    }
}
