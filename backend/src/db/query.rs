//! Queries whose filters depend on the request (the builds list, the overview pages): the
//! SQL text grows with each filter and its values are bound as `$n` placeholders, so no
//! value is ever spliced into the text. The same text runs on both backends.

use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::{Conn, DbResult, on_conn};

/// One bound value.
#[derive(Clone, Debug)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    NullText,
    NullInt,
    Bytes(Vec<u8>),
    NullBytes,
}

impl From<Option<String>> for Bind {
    fn from(s: Option<String>) -> Self {
        s.map_or(Bind::NullText, Bind::Text)
    }
}

impl From<Option<i64>> for Bind {
    fn from(i: Option<i64>) -> Self {
        i.map_or(Bind::NullInt, Bind::Int)
    }
}

impl From<Vec<u8>> for Bind {
    fn from(b: Vec<u8>) -> Self {
        Bind::Bytes(b)
    }
}

impl From<Option<Vec<u8>>> for Bind {
    fn from(b: Option<Vec<u8>>) -> Self {
        b.map_or(Bind::NullBytes, Bind::Bytes)
    }
}

impl From<&str> for Bind {
    fn from(s: &str) -> Self {
        Bind::Text(s.to_owned())
    }
}

impl From<String> for Bind {
    fn from(s: String) -> Self {
        Bind::Text(s)
    }
}

impl From<i64> for Bind {
    fn from(i: i64) -> Self {
        Bind::Int(i)
    }
}

/// Binds every value in order (sqlx's `Query` and `QueryAs` share `bind` but no trait).
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
                Bind::NullText => q.bind(None::<String>),
                Bind::NullInt => q.bind(None::<i64>),
                Bind::Bytes(v) => q.bind(v),
                Bind::NullBytes => q.bind(None::<Vec<u8>>),
            };
        }
        q
    }};
}

tokio::task_local! {
    /// Set by [`explaining`]: the plans recorded so far.
    static PLANS: std::cell::RefCell<Vec<Plan>>;
}

/// A query and SQLite's plan for it (`EXPLAIN QUERY PLAN`, one line per step).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The query.
    pub sql: String,
    /// Its plan's steps, such as `SEARCH b USING INDEX builds_builder_id (builder_id=?)`.
    pub steps: Vec<String>,
}

/// Runs `work`, recording the plan of every filtered query (the lists and the overview
/// pages) it runs on SQLite; returns its output and the plans, so that a test can hold every
/// such query to an index walk.
pub async fn explaining<F: std::future::Future>(work: F) -> (F::Output, Vec<Plan>) {
    PLANS
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let out = work.await;
            (out, PLANS.with(std::cell::RefCell::take))
        })
        .await
}

/// SQL text and the values of its placeholders, in order.
#[derive(Debug)]
pub(crate) struct Query {
    sql: String,
    binds: Vec<Bind>,
}

impl Query {
    /// Starts with `sql` (which must hold no placeholders).
    pub(crate) fn new(sql: &str) -> Query {
        Query { sql: sql.to_owned(), binds: Vec::new() }
    }

    /// Appends text.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Query {
        self.sql.push_str(sql);
        self
    }

    /// Adds a value and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Bind>) -> String {
        self.binds.push(value.into());
        format!("${}", self.binds.len())
    }

    /// Placeholders for a list of values, comma-separated.
    pub(crate) fn bind_list<B: Into<Bind>>(&mut self, values: impl IntoIterator<Item = B>) -> String {
        values.into_iter().map(|v| self.bind(v)).collect::<Vec<_>>().join(", ")
    }

    /// The rows of a multi-row `values` list: `($1, $2), ($3, $4)`.
    pub(crate) fn rows(&mut self, rows: impl IntoIterator<Item = Vec<Bind>>) -> String {
        rows.into_iter().map(|row| format!("({})", self.bind_list(row))).collect::<Vec<_>>().join(", ")
    }

    /// The same list with SQLite's anonymous placeholders, `(?, ?), (?, ?)`, for a statement
    /// whose every placeholder is one of these, in order. SQLite finds a numbered placeholder
    /// (`$n`) by walking the statement's list of names, once for each value bound: the square
    /// of the statement's size, where anonymous ones are found at once.
    pub(crate) fn rows_anonymous(&mut self, rows: impl IntoIterator<Item = Vec<Bind>>) -> String {
        let mut out = String::new();
        for row in rows {
            out.push_str(if out.is_empty() { "(" } else { ", (" });
            for (i, value) in row.into_iter().enumerate() {
                out.push_str(if i == 0 { "?" } else { ", ?" });
                self.binds.push(value);
            }
            out.push(')');
        }
        out
    }

    /// ` and COLUMN in (...)`; nothing when `values` is empty (no filter).
    pub(crate) fn any_of<B: Into<Bind>>(&mut self, column: &str, values: impl IntoIterator<Item = B>) -> &mut Query {
        let list = self.bind_list(values);
        if !list.is_empty() {
            self.sql.push_str(&format!(" and {column} in ({list})"));
        }
        self
    }

    /// Runs the query and maps every row (on SQLite inside [`explaining`], after recording
    /// its plan).
    pub(crate) async fn fetch_all<R>(self, conn: Conn<'_>) -> DbResult<Vec<R>>
    where
        R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let Query { sql, binds } = self;
        Ok(match conn {
            Conn::Sqlite(c) => {
                if PLANS.try_with(|_| ()).is_ok() {
                    let explain = format!("explain query plan {sql}");
                    let q = bind_all!(
                        sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain)),
                        binds.clone()
                    );
                    let steps = q.fetch_all(&mut *c).await?.into_iter().map(|(_, _, _, step)| step).collect();
                    let _ = PLANS.try_with(|plans| plans.borrow_mut().push(Plan { sql: sql.clone(), steps }));
                }
                let q = bind_all!(sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql)), binds);
                q.fetch_all(&mut *c).await?
            }
            Conn::Postgres(c) => {
                let q = bind_all!(sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql)), binds);
                q.fetch_all(&mut *c).await?
            }
        })
    }

    /// Runs a statement that returns no rows; the number of rows it touched.
    pub(crate) async fn execute(self, conn: Conn<'_>) -> DbResult<u64> {
        let Query { sql, binds } = self;
        Ok(on_conn!(conn, c => {
            let q = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), binds);
            q.execute(&mut *c).await?.rows_affected()
        }))
    }

    /// Runs a multi-row `insert … returning id` and gives the new ids in the order of the
    /// rows: ids are handed out in that order, so sorting them restores it.
    pub(crate) async fn insert_ids(self, conn: Conn<'_>) -> DbResult<Vec<i64>> {
        let mut ids: Vec<(i64,)> = self.fetch_all(conn).await?;
        ids.sort_unstable();
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}

/// At most this many values per statement of [`insert_rows`]: a batch of hook deliveries or a
/// seeding batch in a few statements, each well under SQLite's and PostgreSQL's limits.
const MAX_BINDS: usize = 1000;

/// Inserts `rows` (each the values of the columns `head` names, in order) with multi-row
/// statements `head (…), (…)…`, and returns the new ids in row order when `returning`.
/// PostgreSQL gets one statement whatever the number of rows, each column bound as an
/// array (`… select * from unnest($1::text[], …)`): its text stays the same from one batch
/// to the next, so the connection prepares it once instead of parsing and planning a new
/// statement at each batch.
pub(crate) async fn insert_rows(
    mut conn: Conn<'_>,
    head: &str,
    rows: Vec<Vec<Bind>>,
    returning: bool,
) -> DbResult<Vec<i64>> {
    if let Conn::Postgres(c) = &mut conn
        && let Some(statement) = Unnest::of(head, &rows, returning)
    {
        return statement.run(c, rows).await;
    }
    let width = rows.first().map_or(1, Vec::len).max(1);
    let per = (MAX_BINDS / width).max(1);
    let mut ids = Vec::with_capacity(if returning { rows.len() } else { 0 });
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Bind>> = rows.by_ref().take(per).collect();
        let mut q = Query::new(head);
        let values = if matches!(conn, Conn::Sqlite(_)) { q.rows_anonymous(chunk) } else { q.rows(chunk) };
        q.push(&values);
        if returning {
            q.push(" returning id");
            ids.extend(q.insert_ids(conn.reborrow()).await?);
        } else {
            q.execute(conn.reborrow()).await?;
        }
    }
    Ok(ids)
}

/// A PostgreSQL multi-row insert with one array per column.
struct Unnest {
    sql: String,
    /// Empty, one per column, each of its column's type.
    columns: Vec<Column>,
}

/// One column's values, bound as one array.
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Column {
    /// An empty column of `value`'s type (a null has its column's type too).
    fn of(value: &Bind, rows: usize) -> Column {
        match value {
            Bind::Text(_) | Bind::NullText => Column::Text(Vec::with_capacity(rows)),
            Bind::Int(_) | Bind::NullInt => Column::Int(Vec::with_capacity(rows)),
            Bind::Bytes(_) | Bind::NullBytes => Column::Bytes(Vec::with_capacity(rows)),
        }
    }

    /// Whether `value` is a null or of this column's type.
    fn takes(&self, value: &Bind) -> bool {
        matches!(
            (self, value),
            (_, Bind::NullText | Bind::NullInt | Bind::NullBytes)
                | (Column::Text(_), Bind::Text(_))
                | (Column::Int(_), Bind::Int(_))
                | (Column::Bytes(_), Bind::Bytes(_))
        )
    }

    /// The SQL type of the column's array.
    fn array(&self) -> &'static str {
        match self {
            Column::Text(_) => "text[]",
            Column::Int(_) => "bigint[]",
            Column::Bytes(_) => "bytea[]",
        }
    }

    /// Adds a value; a null, or (never after [`Unnest::of`]) a value of another type, as null.
    fn push(&mut self, value: Bind) {
        match (self, value) {
            (Column::Text(v), Bind::Text(t)) => v.push(Some(t)),
            (Column::Int(v), Bind::Int(i)) => v.push(Some(i)),
            (Column::Bytes(v), Bind::Bytes(b)) => v.push(Some(b)),
            (Column::Text(v), _) => v.push(None),
            (Column::Int(v), _) => v.push(None),
            (Column::Bytes(v), _) => v.push(None),
        }
    }
}

impl Unnest {
    /// The statement for `rows` under `head` (`insert into t (…) values `), each column of
    /// the type of the first row's value, when every row's values are of those types or null;
    /// `None` otherwise, or for no rows.
    fn of(head: &str, rows: &[Vec<Bind>], returning: bool) -> Option<Unnest> {
        let into = head.trim_end().strip_suffix("values")?;
        let columns: Vec<Column> = rows.first()?.iter().map(|v| Column::of(v, rows.len())).collect();
        let fits = |row: &Vec<Bind>| row.len() == columns.len() && row.iter().zip(&columns).all(|(v, c)| c.takes(v));
        if !rows.iter().all(fits) {
            return None;
        }
        let arrays: Vec<String> =
            columns.iter().enumerate().map(|(j, c)| format!("${}::{}", j + 1, c.array())).collect();
        let returning = if returning { " returning id" } else { "" };
        Some(Unnest { sql: format!("{into}select * from unnest({}){returning}", arrays.join(", ")), columns })
    }

    /// Binds each column as an array and runs the statement; the new ids in row order.
    async fn run(mut self, c: &mut sqlx::PgConnection, rows: Vec<Vec<Bind>>) -> DbResult<Vec<i64>> {
        for row in rows {
            for (column, value) in self.columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(self.sql));
        for column in self.columns {
            q = match column {
                Column::Text(v) => q.bind(v),
                Column::Int(v) => q.bind(v),
                Column::Bytes(v) => q.bind(v),
            };
        }
        let mut ids: Vec<i64> = q.fetch_all(&mut *c).await?.into_iter().map(|(id,)| id).collect();
        ids.sort_unstable();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_number_their_placeholders_in_order_and_empty_ones_vanish() {
        let mut q = Query::new("select 1 from t where 1 = 1");
        q.any_of("a", ["x", "y"]).any_of("b", Vec::<i64>::new()).any_of("c", [3_i64]);
        let limit = q.bind(10_i64);
        q.push(&format!(" limit {limit}"));
        assert_eq!(q.sql, "select 1 from t where 1 = 1 and a in ($1, $2) and c in ($3) limit $4");
        assert_eq!(q.binds.len(), 4);
    }

    #[test]
    fn postgres_inserts_bind_a_typed_array_per_column_whatever_the_number_of_rows() {
        let head = "insert into t (a, b, c) values ";
        let rows = |n: i64| (0..n).map(|i| vec![Bind::NullText, Bind::Int(i), Bind::NullBytes]).collect::<Vec<_>>();
        let mut one = rows(1);
        one[0][0] = "x".into();
        let statement = Unnest::of(head, &one, true).unwrap();
        assert_eq!(
            statement.sql,
            "insert into t (a, b, c) select * from unnest($1::text[], $2::bigint[], $3::bytea[]) returning id"
        );
        assert_eq!(Unnest::of(head, &rows(500), true).unwrap().sql, statement.sql);
        assert!(!Unnest::of(head, &rows(2), false).unwrap().sql.contains("returning"));
        // A column holding two kinds of value, or a head of another shape, keeps to `values`.
        let mut mixed = rows(2);
        mixed[1][1] = "y".into();
        assert!(Unnest::of(head, &mixed, true).is_none());
        assert!(Unnest::of("insert into t (a, b, c) select ", &rows(2), true).is_none());
        assert!(Unnest::of(head, &[], true).is_none());
    }

    #[test]
    fn anonymous_rows_bind_every_value_in_order() {
        let mut q = Query::new("insert into t (a, b) values ");
        let values = q.rows_anonymous([vec![Bind::Int(1), "x".into()], vec![Bind::Int(2), Bind::NullText]]);
        assert_eq!(values, "(?, ?), (?, ?)");
        assert!(matches!(&q.binds[..], [Bind::Int(1), Bind::Text(x), Bind::Int(2), Bind::NullText] if x == "x"));
    }
}
