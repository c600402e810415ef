//! Buildsets, the source stamps they build and the changes they were made for.

use super::query::{Bind, insert_rows};
use super::{Conn, DbResult, from_json, on_conn, to_json};
use crate::model::{BuildSetId, ChangeId, Results, SourceStampId, Sourced};

/// What a scheduler decided to build.
#[derive(Clone, Debug, Default)]
pub struct NewBuildSet {
    /// Why ("The SingleBranchScheduler named 'main' triggered this build").
    pub reason: String,
    /// The scheduler's name.
    pub scheduler: String,
    /// Who asked for it.
    pub owner: Option<String>,
    /// Properties every build of the set gets, with their sources.
    pub properties: Sourced,
}

/// The source to build.
#[derive(Clone, Debug, Default)]
pub struct NewSourceStamp {
    /// Codebase name.
    pub codebase: String,
    /// Repository URL.
    pub repository: String,
    /// Branch; `None` for the default.
    pub branch: Option<String>,
    /// Revision; `None` for the branch head.
    pub revision: Option<String>,
    /// Project.
    pub project: String,
}

const INSERT: &str = "insert into buildsets (reason, scheduler, submitted_at, properties, owner, property_sources) \
    values ($1, $2, $3, $4, $5, $6) returning id";
const INSERT_SS: &str = "insert into sourcestamps (codebase, repository, branch, revision, project, created_at) \
    values ($1, $2, $3, $4, $5, $6) returning id";
const LINK_SS: &str = "insert into buildset_sourcestamps (buildset_id, sourcestamp_id) values ($1, $2)";
const LINK_CHANGE: &str = "insert into buildset_changes (buildset_id, change_id) values ($1, $2)";

/// Stores a buildset with its source stamps and changes.
pub async fn insert(
    conn: Conn<'_>,
    set: &NewBuildSet,
    stamps: &[NewSourceStamp],
    changes: &[ChangeId],
    now: i64,
) -> DbResult<(BuildSetId, Vec<SourceStampId>)> {
    let properties = to_json(&set.properties.values);
    let sources = to_json(&set.properties.sources);
    on_conn!(conn, c => {
        let id: i64 = sqlx::query_scalar(INSERT)
            .bind(&set.reason).bind(&set.scheduler).bind(now).bind(&properties).bind(&set.owner).bind(&sources)
            .fetch_one(&mut *c).await?;
        let mut ss_ids = Vec::with_capacity(stamps.len());
        for ss in stamps {
            let ss_id: i64 = sqlx::query_scalar(INSERT_SS)
                .bind(&ss.codebase).bind(&ss.repository).bind(&ss.branch).bind(&ss.revision)
                .bind(&ss.project).bind(now)
                .fetch_one(&mut *c).await?;
            sqlx::query(LINK_SS).bind(id).bind(ss_id).execute(&mut *c).await?;
            ss_ids.push(SourceStampId(ss_id));
        }
        for change in changes {
            sqlx::query(LINK_CHANGE).bind(id).bind(change.0).execute(&mut *c).await?;
        }
        Ok((BuildSetId(id), ss_ids))
    })
}

const FIRST_SS: &str = "select ss.codebase, ss.repository, ss.branch, ss.revision, ss.project \
    from sourcestamps ss join buildset_sourcestamps bss on bss.sourcestamp_id = ss.id \
    where bss.buildset_id = $1 order by ss.id limit 1";

/// A source stamp row: codebase, repository, branch, revision, project.
type StampRow = (String, String, Option<String>, Option<String>, String);

/// A buildset's first source stamp (the default one when it has none).
pub async fn first_source(conn: Conn<'_>, id: BuildSetId) -> DbResult<NewSourceStamp> {
    let row: Option<StampRow> = on_conn!(conn, c => sqlx::query_as(FIRST_SS).bind(id.0).fetch_optional(&mut *c).await?);
    Ok(row.map(stamp).unwrap_or_default())
}

const DETAILS: &str = "select reason, scheduler, properties, property_sources, owner from buildsets where id = $1";

/// What a buildset gives each of its builds.
#[derive(Clone, Debug)]
pub struct SetDetails {
    /// Why it was made.
    pub reason: String,
    /// The scheduler that made it.
    pub scheduler: String,
    /// Its properties with their sources.
    pub properties: Sourced,
    /// Who asked for it.
    pub owner: Option<String>,
}

/// A buildset's reason, scheduler, properties and owner.
pub async fn details(conn: Conn<'_>, id: BuildSetId) -> DbResult<SetDetails> {
    let (reason, scheduler, properties, sources, owner): (String, String, String, String, Option<String>) =
        on_conn!(conn, c => sqlx::query_as(DETAILS).bind(id.0).fetch_one(&mut *c).await?);
    let properties = Sourced::from_stored(from_json(&properties), from_json(&sources));
    Ok(SetDetails { reason, scheduler, properties, owner })
}

const SOURCES: &str = "select ss.codebase, ss.repository, ss.branch, ss.revision, ss.project \
    from sourcestamps ss join buildset_sourcestamps bss on bss.sourcestamp_id = ss.id \
    where bss.buildset_id = $1 order by ss.id";

/// Every source stamp of a buildset, one per codebase.
pub async fn sources(conn: Conn<'_>, id: BuildSetId) -> DbResult<Vec<NewSourceStamp>> {
    let rows: Vec<StampRow> = on_conn!(conn, c => sqlx::query_as(SOURCES).bind(id.0).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(stamp).collect())
}

fn stamp((codebase, repository, branch, revision, project): StampRow) -> NewSourceStamp {
    NewSourceStamp { codebase, repository, branch, revision, project }
}

/// A patch applied on top of a source stamp (what a try build builds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    /// The source stamp's codebase.
    pub codebase: String,
    /// The diff, as submitted (usually UTF-8 text, not necessarily).
    pub body: Vec<u8>,
    /// The `-p` level to apply it with.
    pub level: Option<i64>,
    /// The directory to apply it in.
    pub subdir: Option<String>,
}

const SET_PATCH: &str = "update sourcestamps set patch_body = $2, patch_level = $3, patch_subdir = $4 where id = $1";

/// Attaches a patch to a source stamp, before its builds start.
pub async fn set_patch(conn: Conn<'_>, stamp: SourceStampId, patch: &Patch) -> DbResult<()> {
    let n = on_conn!(conn, c => sqlx::query(SET_PATCH).bind(stamp.0).bind(&patch.body).bind(patch.level)
        .bind(&patch.subdir).execute(&mut *c).await?.rows_affected());
    if n == 1 { Ok(()) } else { Err(super::DbError::NotFound) }
}

const PATCHES: &str = "select ss.codebase, ss.patch_body, ss.patch_level, ss.patch_subdir \
    from sourcestamps ss join buildset_sourcestamps bss on bss.sourcestamp_id = ss.id \
    where bss.buildset_id = $1 and ss.patch_body is not null order by ss.id";

/// A patch row: codebase, body, level, subdir.
type PatchRow = (String, Vec<u8>, Option<i64>, Option<String>);

/// The patches of a buildset's source stamps, in source stamp order.
pub async fn patches(conn: Conn<'_>, id: BuildSetId) -> DbResult<Vec<Patch>> {
    let rows: Vec<PatchRow> = on_conn!(conn, c => sqlx::query_as(PATCHES).bind(id.0).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(|(codebase, body, level, subdir)| Patch { codebase, body, level, subdir }).collect())
}

// The set's result is the worst of its requests' (`Results::worst`): the numbers order by
// severity except `skipped` (3), which is milder than `success`, so it counts as -1.
const COMPLETE_IF_DONE: &str = "update buildsets set complete = 1, complete_at = $2, results = \
    (select case when m = -1 then 3 else m end from (select max(case when results = 3 then -1 else results end) \
        as m from buildrequests where buildset_id = $1) worst) \
    where id = $1 and complete = 0 and not exists \
    (select 1 from buildrequests where buildset_id = $1 and complete = 0)";

const LOCK: &str = "select id from buildsets where id = $1 for update";

/// Marks the buildset complete once all its requests are; returns whether it did. Call it
/// after completing a request, in the same transaction.
pub async fn complete_if_done(mut conn: Conn<'_>, id: BuildSetId, now: i64) -> DbResult<bool> {
    // Two requests of a set completed at once on PostgreSQL would each see the other still
    // running (neither commit is visible to the other), and neither would complete the set.
    // Locking the set's row orders them: the second waits for the first to commit, and its
    // check, a new statement, then sees both requests done. SQLite has one writer at a time
    // and no `for update`.
    match conn.reborrow() {
        Conn::Postgres(c) => {
            sqlx::query(LOCK).bind(id.0).execute(&mut *c).await?;
        }
        Conn::Sqlite(_) => {}
    }
    let done =
        on_conn!(conn, c => sqlx::query(COMPLETE_IF_DONE).bind(id.0).bind(now).execute(&mut *c).await?.rows_affected());
    Ok(done > 0)
}

const RESULTS: &str = "select results from buildsets where id = $1";

/// The results [`complete_if_done`] stored for a buildset, counting every request (one
/// cancelled before it ran too); `None` while it is not complete.
pub async fn results(conn: Conn<'_>, id: BuildSetId) -> DbResult<Option<Results>> {
    let stored: Option<Option<i64>> =
        on_conn!(conn, c => sqlx::query_scalar(RESULTS).bind(id.0).fetch_optional(&mut *c).await?);
    match stored {
        None => Err(super::DbError::NotFound),
        Some(n) => Ok(n.and_then(Results::from_i64)),
    }
}

const IDS_FOR_SCHEDULER: &str = "select id from buildsets where scheduler = $1 order by id";

/// The buildsets a scheduler made, oldest first.
pub async fn ids_for_scheduler(conn: Conn<'_>, scheduler: &str) -> DbResult<Vec<BuildSetId>> {
    let ids: Vec<i64> =
        on_conn!(conn, c => sqlx::query_scalar(IDS_FOR_SCHEDULER).bind(scheduler).fetch_all(&mut *c).await?);
    Ok(ids.into_iter().map(BuildSetId).collect())
}

const CHANGE_IDS: &str = "select change_id from buildset_changes where buildset_id = $1 order by change_id";

/// The ids of the changes a buildset was made for.
pub async fn change_ids(conn: Conn<'_>, id: BuildSetId) -> DbResult<Vec<ChangeId>> {
    let ids: Vec<i64> = on_conn!(conn, c => sqlx::query_scalar(CHANGE_IDS).bind(id.0).fetch_all(&mut *c).await?);
    Ok(ids.into_iter().map(ChangeId).collect())
}

/// A finished buildset of a history being loaded (`cascade bench seed`).
#[derive(Clone, Debug)]
pub struct PastBuildSet<'a> {
    /// What it was.
    pub set: &'a NewBuildSet,
    /// Its one source stamp.
    pub stamp: &'a NewSourceStamp,
    /// The changes it was made for.
    pub changes: &'a [ChangeId],
    /// When it was submitted.
    pub submitted_at: i64,
    /// When its last request completed.
    pub complete_at: i64,
    /// Its results.
    pub results: Results,
}

/// Stores a batch of finished buildsets with their source stamps and changes, a few
/// hundred rows a statement.
pub async fn insert_many(mut conn: Conn<'_>, sets: &[PastBuildSet<'_>]) -> DbResult<Vec<BuildSetId>> {
    let rows = sets
        .iter()
        .map(|s| {
            vec![
                s.set.reason.clone().into(),
                s.set.scheduler.clone().into(),
                s.submitted_at.into(),
                1_i64.into(),
                s.complete_at.into(),
                s.results.as_i64().into(),
                to_json(&s.set.properties.values).into(),
                s.set.owner.clone().into(),
                to_json(&s.set.properties.sources).into(),
            ]
        })
        .collect();
    let head = "insert into buildsets (reason, scheduler, submitted_at, complete, complete_at, results, \
        properties, owner, property_sources) values ";
    let ids = insert_rows(conn.reborrow(), head, rows, true).await?;
    let stamps = sets
        .iter()
        .map(|s| {
            vec![
                s.stamp.codebase.clone().into(),
                s.stamp.repository.clone().into(),
                s.stamp.branch.clone().into(),
                s.stamp.revision.clone().into(),
                s.stamp.project.clone().into(),
                s.submitted_at.into(),
            ]
        })
        .collect();
    let head = "insert into sourcestamps (codebase, repository, branch, revision, project, created_at) values ";
    let stamps = insert_rows(conn.reborrow(), head, stamps, true).await?;
    let links = ids.iter().zip(&stamps).map(|(set, ss)| vec![Bind::Int(*set), Bind::Int(*ss)]).collect();
    let head = "insert into buildset_sourcestamps (buildset_id, sourcestamp_id) values ";
    insert_rows(conn.reborrow(), head, links, false).await?;
    let changes = ids
        .iter()
        .zip(sets)
        .flat_map(|(set, s)| s.changes.iter().map(move |c| vec![Bind::Int(*set), Bind::Int(c.0)]))
        .collect();
    insert_rows(conn, "insert into buildset_changes (buildset_id, change_id) values ", changes, false).await?;
    Ok(ids.into_iter().map(BuildSetId).collect())
}
