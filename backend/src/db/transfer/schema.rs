//! What a copy from SQLite to PostgreSQL learns from the two catalogues: the tables and
//! their columns (typed as the target declares them), the order the target's foreign keys
//! impose, and the columns that draw their values from a sequence. Nothing here is a
//! hand-kept list: a table added by a migration is copied without a change to this code.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, SqliteConnection};

use super::TransferError;

/// How a column's values travel: read from SQLite as this, written in PostgreSQL's COPY
/// text format for the target column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `bigint`, `integer`, `smallint`.
    Int,
    /// `boolean`, stored by SQLite as 0 or 1.
    Bool,
    /// `double precision`, `real`.
    Float,
    /// `text`, `character varying`, `json`, `jsonb`: JSON travels as its text.
    Text,
    /// `bytea`, SQLite's BLOB (zstd log chunks, patches, hook bodies).
    Bytes,
}

/// The kind of a PostgreSQL column type as `information_schema.columns.data_type` names it.
pub fn kind_of(data_type: &str) -> Option<Kind> {
    Some(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "boolean" => Kind::Bool,
        "double precision" | "real" => Kind::Float,
        "text" | "character varying" | "character" | "json" | "jsonb" => Kind::Text,
        "bytea" => Kind::Bytes,
        _ => return None,
    })
}

/// A column of a table to copy.
#[derive(Clone, Debug)]
pub struct Column {
    /// Its name, the same in both databases.
    pub name: String,
    /// How its values travel.
    pub kind: Kind,
}

/// A table to copy, with its columns in the target's order.
#[derive(Clone, Debug)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<Column>,
}

/// sqlx's own bookkeeping: each database has its own, written by its migrations.
pub(super) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

const TARGET_COLUMNS: &str = "select c.table_name::text, c.column_name::text, c.data_type::text \
    from information_schema.columns c join information_schema.tables t \
    on t.table_schema = c.table_schema and t.table_name = c.table_name \
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' \
    order by c.table_name, c.ordinal_position";

/// The target's tables (sqlx's bookkeeping left out), with their columns.
pub(super) async fn target_tables(pg: &mut PgConnection) -> Result<Vec<Table>, TransferError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(TARGET_COLUMNS).fetch_all(&mut *pg).await?;
    let mut tables: Vec<Table> = Vec::new();
    for (table, column, data_type) in rows {
        if table == MIGRATIONS_TABLE {
            continue;
        }
        let kind = kind_of(&data_type).ok_or_else(|| {
            TransferError::Schema(format!("{table}.{column} has the type {data_type}, which this copy cannot fill"))
        })?;
        if tables.last().is_none_or(|t| t.name != table) {
            tables.push(Table { name: table.clone(), columns: Vec::new() });
        }
        if let Some(t) = tables.last_mut() {
            t.columns.push(Column { name: column, kind });
        }
    }
    Ok(tables)
}

const SOURCE_COLUMNS: &str = "select m.name, p.name from sqlite_schema m join pragma_table_info(m.name) p \
    where m.type = 'table' and m.name not like 'sqlite\\_%' escape '\\' order by m.name, p.cid";

/// The source's tables (SQLite's and sqlx's bookkeeping left out) and their column names.
pub(super) async fn source_tables(
    sqlite: &mut SqliteConnection,
) -> Result<BTreeMap<String, BTreeSet<String>>, TransferError> {
    let rows: Vec<(String, String)> = sqlx::query_as(SOURCE_COLUMNS).fetch_all(&mut *sqlite).await?;
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (table, column) in rows.into_iter().filter(|(t, _)| t != MIGRATIONS_TABLE) {
        tables.entry(table).or_default().insert(column);
    }
    Ok(tables)
}

/// Checks that both databases have the same tables with the same columns, naming every
/// difference.
pub(super) fn compare(target: &[Table], source: &BTreeMap<String, BTreeSet<String>>) -> Result<(), TransferError> {
    let mut problems = Vec::new();
    for t in target {
        let Some(columns) = source.get(&t.name) else {
            problems.push(format!("table {} is missing from the SQLite database", t.name));
            continue;
        };
        let wanted: BTreeSet<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        let have: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
        for c in wanted.difference(&have) {
            problems.push(format!("column {}.{c} is missing from the SQLite database", t.name));
        }
        for c in have.difference(&wanted) {
            problems.push(format!("column {}.{c} is missing from the PostgreSQL database", t.name));
        }
    }
    for name in source.keys().filter(|n| !target.iter().any(|t| &t.name == *n)) {
        problems.push(format!("table {name} is missing from the PostgreSQL database"));
    }
    if problems.is_empty() { Ok(()) } else { Err(TransferError::Schema(problems.join("; "))) }
}

const FOREIGN_KEYS: &str = "select c.relname::text, p.relname::text from pg_constraint k \
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid \
    join pg_namespace n on n.oid = c.relnamespace \
    where k.contype = 'f' and n.nspname = current_schema()";

/// The target's foreign keys as (referencing table, referenced table).
pub(super) async fn foreign_keys(pg: &mut PgConnection) -> Result<Vec<(String, String)>, TransferError> {
    Ok(sqlx::query_as(FOREIGN_KEYS).fetch_all(&mut *pg).await?)
}

/// The tables in an order where each comes after every table it references (a table may
/// reference itself: its rows are copied in id order, older rows first). Ties go by name, so
/// the order is the same on every run. Tables caught in a cycle are returned as the error.
pub fn dependency_order(tables: &[String], references: &[(String, String)]) -> Result<Vec<String>, Vec<String>> {
    let mut left: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order = Vec::with_capacity(tables.len());
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|t| references.iter().all(|(from, to)| from != t || to == t || !left.contains(to.as_str())))
            .collect();
        if ready.is_empty() {
            return Err(left.into_iter().map(str::to_owned).collect());
        }
        for t in ready {
            left.remove(t);
            order.push(t.to_owned());
        }
    }
    Ok(order)
}

const SEQUENCES: &str = "select c.table_name::text, c.column_name::text, \
    pg_get_serial_sequence(quote_ident(c.table_name::text), c.column_name::text) \
    from information_schema.columns c where c.table_schema = current_schema() \
    and (c.is_identity = 'YES' or c.column_default like 'nextval(%')";

/// The columns (table, column, sequence) whose new values a sequence hands out.
pub(super) async fn sequences(pg: &mut PgConnection) -> Result<Vec<(String, String, String)>, TransferError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(SEQUENCES).fetch_all(&mut *pg).await?;
    Ok(rows.into_iter().filter_map(|(t, c, s)| Some((t, c, s?))).collect())
}

const HAS_SQLITE_SEQUENCE: &str =
    "select exists (select 1 from sqlite_schema where type = 'table' and name = 'sqlite_sequence')";
const SQLITE_SEQUENCE: &str = "select name, seq from sqlite_sequence";

/// The highest id SQLite's AUTOINCREMENT handed out per table, which may be above the
/// highest id left (pruned builds): the target goes on from there, so no id is used twice.
pub(super) async fn autoincrements(sqlite: &mut SqliteConnection) -> Result<BTreeMap<String, i64>, TransferError> {
    let exists: bool = sqlx::query_scalar(HAS_SQLITE_SEQUENCE).fetch_one(&mut *sqlite).await?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(SQLITE_SEQUENCE).fetch_all(&mut *sqlite).await?;
    Ok(rows.into_iter().collect())
}

/// `name` as a quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn refs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn referenced_tables_come_first_and_ties_go_by_name() {
        let tables = names(&["steps", "builds", "masters", "builders", "logs"]);
        let fks = refs(&[("builds", "builders"), ("builds", "masters"), ("steps", "builds"), ("logs", "steps")]);
        assert_eq!(
            dependency_order(&tables, &fks).unwrap(),
            names(&["builders", "masters", "builds", "steps", "logs"])
        );
    }

    #[test]
    fn a_table_referencing_itself_is_not_a_cycle() {
        let tables = names(&["hook_deliveries"]);
        let fks = refs(&[("hook_deliveries", "hook_deliveries")]);
        assert_eq!(dependency_order(&tables, &fks).unwrap(), tables);
    }

    #[test]
    fn a_cycle_names_its_tables() {
        let tables = names(&["a", "b", "c"]);
        let fks = refs(&[("a", "b"), ("b", "a")]);
        assert_eq!(dependency_order(&tables, &fks).unwrap_err(), names(&["a", "b"]));
    }

    #[test]
    fn every_type_of_the_schema_has_a_kind() {
        assert_eq!(kind_of("bigint"), Some(Kind::Int));
        assert_eq!(kind_of("bytea"), Some(Kind::Bytes));
        assert_eq!(kind_of("text"), Some(Kind::Text));
        assert_eq!(kind_of("boolean"), Some(Kind::Bool));
        assert_eq!(kind_of("timestamp with time zone"), None);
    }

    #[test]
    fn schemas_that_differ_are_named() {
        let target = vec![Table {
            name: "builds".into(),
            columns: vec![Column { name: "id".into(), kind: Kind::Int }, Column { name: "x".into(), kind: Kind::Int }],
        }];
        let mut source = BTreeMap::new();
        source.insert("builds".to_string(), ["id", "y"].iter().map(|s| s.to_string()).collect());
        source.insert("extra".to_string(), BTreeSet::new());
        let err = compare(&target, &source).unwrap_err().to_string();
        assert!(err.contains("builds.x is missing from the SQLite"), "{err}");
        assert!(err.contains("builds.y is missing from the PostgreSQL"), "{err}");
        assert!(err.contains("table extra is missing from the PostgreSQL"), "{err}");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("key"), "\"key\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
