//! Moving an installation's database from SQLite to PostgreSQL: every table, copied in the
//! order of the target's foreign keys with COPY, in one PostgreSQL transaction, the row
//! counts checked and the sequences moved past the copied ids. Both databases must be at this
//! binary's schema. Whether to run at all (a master alive, a target in use) and what to print
//! are the command line's business.

mod encode;
pub mod schema;

use std::collections::BTreeMap;

use futures::TryStreamExt;
use sqlx::postgres::PgCopyIn;
use sqlx::{AssertSqlSafe, PgConnection, Row, SqliteConnection};

use super::{Db, DbError};
use schema::{Table, quote};

/// Why a copy did not happen or was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The source is not SQLite or the target not PostgreSQL.
    #[error("{0}")]
    Backend(&'static str),
    /// The two schemas differ, or the target has a column type the copy cannot fill.
    #[error("the two databases' schemas differ: {0}")]
    Schema(String),
    /// The target's foreign keys form a cycle through these tables.
    #[error("the foreign keys between {} form a cycle", .0.join(", "))]
    Cycle(Vec<String>),
    /// A value cannot be written to the target.
    #[error("{table}.{column} of the row with rowid {rowid}: {reason}")]
    Value {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The SQLite rowid of the row.
        rowid: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// After the copy, some tables do not hold as many rows as their source.
    #[error("row counts differ after the copy: {}", .0.iter().map(|c| format!("{} {} → {}", c.table, c.source, c.target)).collect::<Vec<_>>().join(", "))]
    Count(Vec<Count>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for TransferError {
    fn from(e: sqlx::Error) -> Self {
        TransferError::Db(e.into())
    }
}

/// One table's rows in each database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    /// The table.
    pub table: String,
    /// Rows in SQLite.
    pub source: i64,
    /// Rows in PostgreSQL.
    pub target: i64,
}

/// What a copy tells as it goes, for a progress display.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// A table's copy begins; it has `rows` rows.
    Table {
        /// The table.
        name: &'a str,
        /// Its rows.
        rows: u64,
    },
    /// Some more rows of the current table were sent.
    Rows(u64),
    /// The current table is copied.
    TableDone,
    /// Every table is copied; counts are checked and sequences set before the commit.
    Finishing,
}

/// Rows sent to PostgreSQL in one COPY data message, at most.
const BATCH_ROWS: usize = 2_000;
/// Bytes sent to PostgreSQL in one COPY data message, about (log chunks are large rows).
const BATCH_BYTES: usize = 1 << 20;
/// Rows of a table counted, at most, when telling what a database holds.
pub const COUNT_CAP: i64 = 1_000;

const TARGET_TABLES: &str = "select table_name::text from information_schema.tables \
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name";

/// The tables of the target's schema that hold rows, with their row counts (capped at [`COUNT_CAP`]),
/// sqlx's bookkeeping left out: a database to copy into must have none.
pub async fn occupied(target: &Db) -> Result<Vec<(String, i64)>, TransferError> {
    let Db::Postgres(pool) = target else { return Err(TransferError::Backend("the target must be PostgreSQL")) };
    let mut conn = pool.acquire().await?;
    let tables: Vec<String> = sqlx::query_scalar(TARGET_TABLES).fetch_all(&mut *conn).await?;
    let mut found = Vec::new();
    for table in tables.into_iter().filter(|t| t != schema::MIGRATIONS_TABLE) {
        let sql = format!("select count(*) from (select 1 from {} limit {COUNT_CAP}) t", quote(&table));
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *conn).await?;
        if rows > 0 {
            found.push((table, rows));
        }
    }
    Ok(found)
}

/// Copies every table of `source` (SQLite) into `target` (PostgreSQL, migrated and empty) in
/// one transaction and returns each table's row counts. The source is read in one read
/// transaction, so a master writing to it meanwhile does not tear the copy.
pub async fn copy(
    source: &Db,
    target: &Db,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Count>, TransferError> {
    let (Db::Sqlite(spool, _), Db::Postgres(tpool)) = (source, target) else {
        return Err(TransferError::Backend("the copy goes from SQLite to PostgreSQL"));
    };
    let mut read = spool.begin().await?;
    let mut write = tpool.begin().await?;

    let tables = schema::target_tables(&mut write).await?;
    schema::compare(&tables, &schema::source_tables(&mut read).await?)?;
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let order =
        schema::dependency_order(&names, &schema::foreign_keys(&mut write).await?).map_err(TransferError::Cycle)?;

    let mut counts = Vec::with_capacity(order.len());
    for name in &order {
        let Some(table) = tables.iter().find(|t| &t.name == name) else { continue };
        let sql = format!("select count(*) from {}", quote(name));
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *read).await?;
        progress(Progress::Table { name, rows: rows as u64 });
        copy_table(&mut read, &mut write, table, progress).await?;
        progress(Progress::TableDone);
        counts.push(Count { table: name.clone(), source: rows, target: 0 });
    }

    progress(Progress::Finishing);
    for count in &mut counts {
        let sql = format!("select count(*) from {}", quote(&count.table));
        count.target = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *write).await?;
    }
    let differ: Vec<Count> = counts.iter().filter(|c| c.source != c.target).cloned().collect();
    if !differ.is_empty() {
        return Err(TransferError::Count(differ));
    }
    reset_sequences(&mut write, &schema::autoincrements(&mut read).await?).await?;
    write.commit().await?;
    read.rollback().await?;
    Ok(counts)
}

/// Streams one table's rows, in rowid order (a row referencing an older row of its own table
/// comes after it), into a COPY.
async fn copy_table(
    read: &mut SqliteConnection,
    write: &mut PgConnection,
    table: &Table,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), TransferError> {
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let into = format!("copy {} ({}) from stdin", quote(&table.name), columns.join(", "));
    let mut copy = write.copy_in_raw(&into).await?;
    match feed(read, &mut copy, table, &columns, progress).await {
        Ok(()) => {
            copy.finish().await?;
            Ok(())
        }
        Err(e) => {
            // The COPY must end before the transaction can roll back; the error is the news.
            let _ = copy.abort(e.to_string()).await;
            Err(e)
        }
    }
}

async fn feed(
    read: &mut SqliteConnection,
    copy: &mut PgCopyIn<&mut PgConnection>,
    table: &Table,
    columns: &[String],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), TransferError> {
    let select = format!("select rowid, {} from {} order by rowid", columns.join(", "), quote(&table.name));
    let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *read);
    let mut buf = String::with_capacity(BATCH_BYTES + BATCH_BYTES / 4);
    let mut in_buf = 0;
    while let Some(row) = rows.try_next().await? {
        encode::push_row(&mut buf, &row, &table.columns).map_err(|(column, reason)| TransferError::Value {
            table: table.name.clone(),
            column,
            rowid: row.try_get(0).unwrap_or_default(),
            reason,
        })?;
        in_buf += 1;
        if in_buf >= BATCH_ROWS || buf.len() >= BATCH_BYTES {
            copy.send(buf.as_bytes()).await?;
            progress(Progress::Rows(in_buf as u64));
            buf.clear();
            in_buf = 0;
        }
    }
    if in_buf > 0 {
        copy.send(buf.as_bytes()).await?;
        progress(Progress::Rows(in_buf as u64));
    }
    Ok(())
}

/// Moves every sequence past the highest id copied (or handed out by SQLite's AUTOINCREMENT,
/// if higher), so the next row a master inserts gets a fresh id.
async fn reset_sequences(
    write: &mut PgConnection,
    autoincrements: &BTreeMap<String, i64>,
) -> Result<(), TransferError> {
    for (table, column, sequence) in schema::sequences(&mut *write).await? {
        let used = autoincrements.get(&table).copied().unwrap_or(0);
        let sql = format!(
            "select setval($1::regclass, greatest((select coalesce(max({}), 0) from {}), $2) + 1, false)",
            quote(&column),
            quote(&table)
        );
        sqlx::query(AssertSqlSafe(sql)).bind(&sequence).bind(used).execute(&mut *write).await?;
    }
    Ok(())
}
