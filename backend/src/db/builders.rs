//! Builders: the configured recipes, kept in the database so builds can refer to them by id.

use sqlx::FromRow;

use super::{Conn, DbResult, from_json, on_conn, to_json};
use crate::model::{Builder, BuilderId};

#[derive(FromRow)]
struct Row {
    id: i64,
    name: String,
    description: Option<String>,
    tags: String,
}

impl From<Row> for Builder {
    fn from(r: Row) -> Self {
        Builder { id: BuilderId(r.id), name: r.name, description: r.description, tags: from_json(&r.tags) }
    }
}

const UPSERT: &str = "insert into builders (name, description, tags) values ($1, $2, $3) \
    on conflict (name) do update set description = excluded.description, tags = excluded.tags \
    returning id";

/// Records a configured builder, returning its id (stable across restarts).
pub async fn upsert(conn: Conn<'_>, name: &str, description: Option<&str>, tags: &[String]) -> DbResult<BuilderId> {
    let tags = to_json(&tags);
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(UPSERT).bind(name).bind(description).bind(&tags).fetch_one(&mut *c).await?);
    Ok(BuilderId(id))
}

const LIST: &str = "select id, name, description, tags from builders order by name";

/// Every builder ever configured, by name.
pub async fn list(conn: Conn<'_>) -> DbResult<Vec<Builder>> {
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(LIST).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(Builder::from).collect())
}
