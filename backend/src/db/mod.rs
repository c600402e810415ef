//! The database: one pool over SQLite or PostgreSQL chosen by the URL's scheme, the
//! embedded migrations, and one repository module per aggregate. Repository functions take
//! a [`Conn`] (a connection or a transaction of either backend) and hold all of Cascade's
//! SQL; they know nothing of HTTP or of the engine's decisions.

pub mod backup;
pub mod builders;
pub mod buildrequests;
pub mod builds;
pub mod buildsets;
pub mod bus;
pub mod changes;
pub mod deliveries;
mod error;
pub mod events;
pub mod history;
pub mod logs;
pub mod masters;
pub mod outbox;
pub mod prune;
mod query;
pub use query::{Plan, explaining};
pub mod scheduler_changes;
pub mod sessions;
pub mod state;
pub mod steps;
pub mod transfer;
pub mod users;
pub mod workers;

pub use error::DbError;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Result of a repository call.
pub type DbResult<T> = Result<T, DbError>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connection pool to one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded default: the pool readers take connections from, and the connection
    /// transactions write through.
    Sqlite(SqlitePool, SqliteWriter),
    /// For several masters and large installations.
    Postgres(PgPool),
}

/// SQLite's writing side. SQLite runs one writer at a time: queueing in the master is fairer
/// and much faster than SQLite's busy handler, which sleeps and retries. Every transaction
/// writes through the same connection, whose page cache stays warm; a connection that another
/// one wrote behind reads its pages from the file again.
#[derive(Clone, Debug)]
pub struct SqliteWriter {
    turn: Arc<Semaphore>,
    pool: SqlitePool,
}

impl SqliteWriter {
    /// The writer's pool: one connection.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// A connection taken from the pool.
pub enum PoolConn {
    /// SQLite.
    Sqlite(PoolConnection<Sqlite>),
    /// PostgreSQL.
    Postgres(PoolConnection<Postgres>),
}

/// A transaction; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    /// SQLite, holding the write lock until it ends.
    Sqlite(Transaction<'static, Sqlite>, OwnedSemaphorePermit),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// What [`Tx::savepoint`] does with the transaction's one savepoint.
#[derive(Clone, Copy, Debug)]
pub enum Savepoint {
    /// Marks the start of a unit of work.
    Begin,
    /// Keeps the unit's work (still to be committed with the transaction).
    Release,
    /// Undoes the unit's work; the transaction goes on.
    RollBack,
}

/// A borrowed connection (plain or inside a transaction) that repository functions run on.
pub enum Conn<'c> {
    /// SQLite.
    Sqlite(&'c mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'c mut PgConnection),
}

/// Expands the same body for both backends: `on_conn!(conn, c => query.fetch_all(&mut *c).await)`.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_conn;

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://...`), creating a SQLite file if needed.
    pub async fn connect(url: &str) -> DbResult<Db> {
        Self::connect_with(url, true).await
    }

    /// Connects to a database that must exist already: a missing SQLite file is an error
    /// rather than a new, empty database (for tools that read an installation's data).
    pub async fn connect_existing(url: &str) -> DbResult<Db> {
        Self::connect_with(url, false).await
    }

    async fn connect_with(url: &str, create: bool) -> DbResult<Db> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Rows come from SQLite's thread through a channel: a deep one lets a page's
                // rows (a waterfall reads over a thousand) pass without a thread switch each.
                .row_buffer_size(1024);
            let pool_of = |size| {
                SqlitePoolOptions::new()
                    .max_connections(size)
                    // A SQLite connection is a file opened in this process: it cannot be lost the
                    // way a server's can, and the ping sqlx would send before lending it out is a
                    // round trip to its thread on every query.
                    .test_before_acquire(false)
                    // SQLite may roll a transaction back by itself when a statement fails (it does
                    // on a full disk); sqlx still counts it open, its ROLLBACK then fails, and the
                    // connection would refuse every later `begin` for good. Such a connection is
                    // closed instead of going back to the pool. Only a connection that still
                    // counts a transaction is looked at: the ping runs the rollback a dropped
                    // transaction left queued, and what still counts one after it is spoilt.
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Connection;
                            if conn.is_in_transaction() {
                                conn.ping().await?;
                            }
                            Ok(!conn.is_in_transaction())
                        })
                    })
            };
            let pool = pool_of(7).connect_with(options.clone()).await?;
            // A multi-row statement inside a transaction keeps what it changes in a statement
            // journal, to undo it alone should it fail; past 64 kB SQLite spills that journal to
            // a file it creates in /var/tmp and deletes again: a file created, written and
            // unlinked for nearly every batch of hooks. The writer keeps it in memory; its
            // transactions are short, and the readers, which sort, keep their default.
            let writer_options = options.pragma("temp_store", "memory");
            let writer = SqliteWriter {
                turn: Arc::new(Semaphore::new(1)),
                pool: pool_of(1).connect_with(writer_options).await?,
            };
            Ok(Db::Sqlite(pool, writer))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            // One direct connection first: a refused connection or an unknown database is
            // reported at once and as itself, not as a pool timeout.
            use sqlx::Connection;
            sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(|e| DbError::Unavailable(format!("cannot connect to {}: {e}", redact_url(url))))?
                .close()
                .await
                .ok();
            let pool = PgPoolOptions::new()
                .max_connections(10)
                // Values over 2 kB (a hook's body, a change's long comment) are compressed as
                // they are stored; lz4 does that several times faster than PostgreSQL's
                // default. A server built without it (or older than 14) keeps its default.
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        if let Err(e) = conn.execute("set default_toast_compression = 'lz4'").await {
                            tracing::debug!(error = %e, "values stay compressed with the server's default");
                        }
                        Ok(())
                    })
                })
                // While the server is down a request answers 503 within seconds, not after a
                // long wait; the pool reconnects by itself once the server is back.
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(options)
                .await
                .map_err(|e| DbError::Unavailable(format!("cannot connect to {}: {e}", redact_url(url))))?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::Unavailable(format!(
                "unsupported database URL `{}`: use sqlite://FILE or postgres://USER@HOST/DB",
                redact_url(url)
            )))
        }
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// How the migrations applied to this database compare with the ones this binary carries.
    pub async fn schema_state(&self) -> DbResult<SchemaState> {
        let migrator = match self {
            Db::Sqlite(..) => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        // Whether sqlx's bookkeeping table exists is asked differently of each catalogue.
        let exists: bool = match self {
            Db::Sqlite(pool, _) => sqlx::query_scalar(SQLITE_HAS_MIGRATIONS).fetch_one(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(POSTGRES_HAS_MIGRATIONS).fetch_one(pool).await?,
        };
        let applied: Vec<(i64, Vec<u8>)> = match self {
            _ if !exists => Vec::new(),
            Db::Sqlite(pool, _) => sqlx::query_as(APPLIED_MIGRATIONS).fetch_all(pool).await?,
            Db::Postgres(pool) => sqlx::query_as(APPLIED_MIGRATIONS).fetch_all(pool).await?,
        };
        let known = |version: i64| migrator.iter().any(|m| m.version == version);
        let mut state = SchemaState::default();
        for m in migrator.iter() {
            match applied.iter().find(|(v, _)| *v == m.version) {
                None => state.pending.push(format!("{:04}_{}", m.version, m.description)),
                Some((_, checksum)) if checksum.as_slice() != &*m.checksum => state.changed.push(m.version),
                Some(_) => {}
            }
        }
        state.unknown = applied.iter().map(|(v, _)| *v).filter(|v| !known(*v)).collect();
        Ok(state)
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// The database's size in bytes: SQLite's pages in use (the file, WAL included once
    /// checkpointed), PostgreSQL's `pg_database_size`.
    pub async fn size(&self) -> DbResult<i64> {
        // The two backends measure themselves differently.
        Ok(match self {
            Db::Sqlite(pool, _) => {
                sqlx::query_scalar("select page_count * page_size from pragma_page_count(), pragma_page_size()")
                    .fetch_one(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("select pg_database_size(current_database())").fetch_one(pool).await?
            }
        })
    }

    /// The pool's connections (on SQLite, the writer's too): in use, idle, and the most it
    /// opens.
    pub fn connections(&self) -> (i64, i64, i64) {
        let (size, idle, max) = match self {
            Db::Sqlite(pool, writer) => (
                pool.size() + writer.pool.size(),
                pool.num_idle() + writer.pool.num_idle(),
                pool.options().get_max_connections() + writer.pool.options().get_max_connections(),
            ),
            Db::Postgres(pool) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        (i64::from(size) - idle, idle, i64::from(max))
    }

    /// The database engine's version, e.g. `3.46.1` or `15.8 (Debian 15.8-0+deb12u1)`.
    pub async fn server_version(&self) -> DbResult<String> {
        // Each backend has its own way to tell.
        Ok(match self {
            Db::Sqlite(pool, _) => sqlx::query_scalar("select sqlite_version()").fetch_one(pool).await?,
            Db::Postgres(pool) => {
                sqlx::query_scalar("select current_setting('server_version')").fetch_one(pool).await?
            }
        })
    }

    /// Takes a connection from the pool.
    pub async fn acquire(&self) -> DbResult<PoolConn> {
        Ok(match self {
            Db::Sqlite(pool, _) => PoolConn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => PoolConn::Postgres(pool.acquire().await?),
        })
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`begin
    /// immediate`), so two writers queue on the busy timeout instead of failing on upgrade.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self {
            Db::Sqlite(_, writer) => {
                let permit = writer
                    .turn
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| DbError::Busy("the database is closing".into()))?;
                Tx::Sqlite(writer.pool.begin_with("begin immediate").await?, permit)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Refreshes PostgreSQL's statistics after a bulk load (seeding, a migration): until its
    /// autovacuum gets to the new rows, the planner guesses their number and reads whole
    /// tables where an index serves (a million-build waterfall took a second instead of
    /// milliseconds). SQLite plans without statistics: nothing to do there.
    pub async fn analyze(&self) -> DbResult<()> {
        if let Db::Postgres(pool) = self {
            sqlx::query("analyze").execute(pool).await?;
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, writer) => {
                writer.pool.close().await;
                pool.close().await
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

const SQLITE_HAS_MIGRATIONS: &str =
    "select exists (select 1 from sqlite_schema where type = 'table' and name = '_sqlx_migrations')";
const POSTGRES_HAS_MIGRATIONS: &str = "select to_regclass('_sqlx_migrations') is not null";
const APPLIED_MIGRATIONS: &str = "select version, checksum from _sqlx_migrations where success order by version";

/// The migrations of a database against this binary's: all three lists empty means the
/// database is at the schema this binary expects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// Migrations not applied yet, as `NNNN_name` (`cascade db upgrade` applies them).
    pub pending: Vec<String>,
    /// Applied migrations whose text differs from this binary's (an edited migration).
    pub changed: Vec<i64>,
    /// Applied migrations this binary does not know (a newer Cascade wrote the database).
    pub unknown: Vec<i64>,
}

impl SchemaState {
    /// Whether the database is at exactly this binary's schema.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty() && self.unknown.is_empty()
    }
}

impl Conn<'_> {
    /// Borrows this connection again, for a repository function that runs several queries.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl PoolConn {
    /// Borrows the connection for repository calls.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            PoolConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

impl Tx {
    /// Borrows the transaction's connection for repository calls.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(&mut *t),
            Tx::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    /// Runs one of the statements that mark (`savepoint`), keep (`release`) or undo
    /// (`rollback to`) part of a transaction: several units of work share one commit, and
    /// one that fails is undone alone.
    pub async fn savepoint(&mut self, step: Savepoint) -> DbResult<()> {
        match step {
            Savepoint::Begin => on_conn!(self.conn(), c => { sqlx::query("savepoint unit").execute(&mut *c).await?; }),
            Savepoint::Release => {
                on_conn!(self.conn(), c => { sqlx::query("release savepoint unit").execute(&mut *c).await?; });
            }
            // Rolling back to a savepoint keeps it: released too, so the next unit starts clean.
            Savepoint::RollBack => on_conn!(self.conn(), c => {
                sqlx::query("rollback to savepoint unit").execute(&mut *c).await?;
                sqlx::query("release savepoint unit").execute(&mut *c).await?;
            }),
        }
        Ok(())
    }

    /// Undoes everything the transaction did and starts it again on the same connection (on
    /// SQLite, without giving this process's turn to write to another task). Costs nothing
    /// until needed, where a savepoint around the work costs two statements each time.
    pub async fn restart(&mut self) -> DbResult<()> {
        let begin = match self {
            Tx::Sqlite(..) => "begin immediate",
            Tx::Postgres(_) => "begin",
        };
        on_conn!(self.conn(), c => {
            sqlx::query("rollback").execute(&mut *c).await?;
            sqlx::query(begin).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t, _permit) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme_end + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Serializes a JSON value for a TEXT column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Reads a TEXT column holding JSON, falling back to the default on garbage.
pub(crate) fn from_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.sqlite"), "sqlite://x.sqlite");
    }

    #[test]
    fn migration_lists_match() {
        let names =
            |m: &sqlx::migrate::Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
    }
}
