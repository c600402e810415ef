//! Online backups of a SQLite database. What to name the copy, whether to replace an old
//! one and what to tell the user belong to `cli`; PostgreSQL has pg_dump for this.

use std::path::Path;

use super::{Db, DbError, DbResult};

// `vacuum into` writes a consistent, compacted copy from one read transaction: on a WAL
// database the master keeps writing meanwhile, and what it commits after the copy began is
// simply not in it.
const VACUUM_INTO: &str = "vacuum into $1";

/// Writes a copy of the SQLite database to `file`, which must not exist (SQLite refuses to
/// write over a file that has content).
pub async fn vacuum_into(db: &Db, file: &Path) -> DbResult<()> {
    let Some(path) = file.to_str() else {
        return Err(DbError::Unavailable(format!("{} is not a UTF-8 path", file.display())));
    };
    match db {
        Db::Sqlite(pool, _) => {
            sqlx::query(VACUUM_INTO).bind(path).execute(pool).await?;
            Ok(())
        }
        Db::Postgres(_) => Err(DbError::Unavailable("a PostgreSQL database is backed up with pg_dump".into())),
    }
}
