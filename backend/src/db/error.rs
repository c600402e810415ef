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
    /// The disk under the database is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`):
    /// nothing more can be written until space is freed, while reads go on working.
    #[error("storage full: {0}")]
    Full(String),
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
            sqlx::Error::Database(ref db) if db.code().as_deref().is_some_and(storage_full) => {
                DbError::Full(db.message().to_owned())
            }
            sqlx::Error::PoolTimedOut => DbError::Busy("timed out waiting for a connection".into()),
            // The server went away (restarted, or the network): the next request may succeed.
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                DbError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(ref db) if db.code().as_deref().is_some_and(server_going_away) => {
                DbError::Unavailable(db.message().to_owned())
            }
            other => DbError::Other(other),
        }
    }
}

/// Whether a PostgreSQL error code says the server is shutting down, starting up or lost the
/// connection (classes 08 and 57P), rather than that the statement was wrong.
fn server_going_away(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P")
}

impl DbError {
    /// Whether the failure mends by itself (its server restarting, a lock held too long, its
    /// disk full until space is freed), so the same work may succeed when tried again.
    pub fn is_transient(&self) -> bool {
        matches!(self, DbError::Busy(_) | DbError::Unavailable(_) | DbError::Full(_))
    }
}

/// Whether a database error code says the disk is full: SQLite's result code 13
/// (`SQLITE_FULL`, "database or disk is full", also what a `max_page_count` limit gives) or
/// PostgreSQL's `53100` (`disk_full`). The two sets of codes do not overlap.
fn storage_full(code: &str) -> bool {
    code == "13" || code == "53100"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_from_a_server_going_away() {
        assert!(storage_full("13"));
        assert!(storage_full("53100"));
        // SQLITE_IOERR_WRITE (778) and PostgreSQL's out of memory (53200) are other failures.
        assert!(!storage_full("778"));
        assert!(!storage_full("53200"));
        assert!(server_going_away("57P01"));
        assert!(!server_going_away("53100"));
    }
}
