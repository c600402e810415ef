//! The one place an `http_push` delivery reads the database.

use crate::db::{self, DbError};
use crate::engine::Engine;
use crate::model::BuildId;

use super::super::outbox::DeliverError;
use super::body::PushBuild;

/// Build `id` as its events report it.
pub async fn build(engine: &Engine, id: i64) -> Result<PushBuild, DeliverError> {
    read(engine, id).await.map_err(|e| match e {
        DbError::NotFound => DeliverError::Permanent(format!("build {id} no longer exists")),
        other => DeliverError::Transient(format!("cannot read build {id}: {other}")),
    })
}

async fn read(engine: &Engine, id: i64) -> Result<PushBuild, DbError> {
    let mut conn = engine.db.acquire().await?;
    let mut conn = conn.conn();
    let build = db::builds::get(conn.reborrow(), BuildId(id)).await?;
    let set = db::buildrequests::buildset_of(conn.reborrow(), build.buildrequest_id).await?;
    let mut blamelist: Vec<String> = db::changes::list_for_buildset(conn.reborrow(), set.0)
        .await?
        .into_iter()
        .map(|c| c.fields.author)
        .filter(|a| !a.is_empty())
        .collect();
    blamelist.sort();
    blamelist.dedup();
    Ok(PushBuild {
        url: crate::engine::links::build_url(&engine.config().base_url, &build.builder, build.number),
        builder: build.builder,
        number: build.number,
        id: build.id.0,
        results: build.results.map(Into::into),
        state_text: build.state_text,
        started_at: build.started_at,
        finished_at: build.finished_at,
        branch: build.branch,
        revision: build.revision,
        reason: build.reason,
        properties: build.properties,
        blamelist,
    })
}
