//! Changes and their files.

use std::collections::HashMap;

use sqlx::FromRow;

use super::query::{Bind, Query, insert_rows};
use super::{Conn, DbResult, from_json, on_conn, to_json};
use crate::model::{BuildRequestId, Change, ChangeId, NewChange};

#[derive(FromRow)]
struct Row {
    id: i64,
    author: String,
    committer: Option<String>,
    comments: String,
    revision: Option<String>,
    branch: Option<String>,
    repository: String,
    project: String,
    codebase: String,
    category: Option<String>,
    revlink: Option<String>,
    when_ts: i64,
    created_at: i64,
    properties: String,
}

impl Row {
    fn into_change(self, files: Vec<String>) -> Change {
        Change {
            id: ChangeId(self.id),
            created_at: self.created_at,
            fields: NewChange {
                author: self.author,
                committer: self.committer,
                comments: self.comments,
                revision: self.revision,
                branch: self.branch,
                repository: self.repository,
                project: self.project,
                codebase: self.codebase,
                category: self.category,
                revlink: self.revlink,
                when: Some(self.when_ts),
                files,
                properties: from_json(&self.properties),
            },
        }
    }
}

/// Stores a change and its files; `when` defaults to `now`.
pub async fn insert(conn: Conn<'_>, change: &NewChange, now: i64) -> DbResult<ChangeId> {
    let ids = insert_all(conn, std::slice::from_ref(change), now).await?;
    ids.first().copied().ok_or(super::DbError::NotFound)
}

/// Stores changes received together (a hook delivery's) and their files, in two statements
/// whatever their number; `when` defaults to `now`. Their ids, in order.
pub async fn insert_all(conn: Conn<'_>, changes: &[NewChange], now: i64) -> DbResult<Vec<ChangeId>> {
    insert_rows_of(conn, changes.iter().map(|c| (c, now))).await
}

const GET: &str = "select id, author, committer, comments, revision, branch, repository, project, \
    codebase, category, revlink, when_ts, created_at, properties from changes where id = $1";
const FILES: &str = "select filename from change_files where change_id = $1 order by filename";

/// One change, with its files.
pub async fn get(conn: Conn<'_>, id: ChangeId) -> DbResult<Change> {
    on_conn!(conn, c => {
        let row: Row = sqlx::query_as(GET).bind(id.0).fetch_one(&mut *c).await?;
        let files: Vec<String> = sqlx::query_scalar(FILES).bind(id.0).fetch_all(&mut *c).await?;
        Ok(row.into_change(files))
    })
}

const LIST_FOR_BUILDSET: &str = "select c.id, c.author, c.committer, c.comments, c.revision, \
    c.branch, c.repository, c.project, c.codebase, c.category, c.revlink, c.when_ts, c.created_at, \
    c.properties from changes c join buildset_changes bc on bc.change_id = c.id \
    where bc.buildset_id = $1 order by c.id";

/// The changes a buildset was made for (its builds' blamelist), oldest first.
pub async fn list_for_buildset(mut conn: Conn<'_>, buildset_id: i64) -> DbResult<Vec<Change>> {
    let rows: Vec<Row> =
        on_conn!(conn.reborrow(), c => sqlx::query_as(LIST_FOR_BUILDSET).bind(buildset_id).fetch_all(&mut *c).await?);
    with_files(conn, rows).await
}

/// The authors of the changes each of `requests` was made for (its builds' blamelist),
/// each author once, in the order of their first change; in one query.
pub async fn authors_for_requests(
    conn: Conn<'_>,
    requests: &[BuildRequestId],
) -> DbResult<HashMap<BuildRequestId, Vec<String>>> {
    let mut out: HashMap<BuildRequestId, Vec<String>> = HashMap::new();
    if requests.is_empty() {
        return Ok(out);
    }
    let mut q = Query::new(
        "select br.id, c.author from buildrequests br join buildset_changes bc on bc.buildset_id = br.buildset_id \
         join changes c on c.id = bc.change_id where 1 = 1",
    );
    q.any_of("br.id", requests.iter().map(|r| r.0));
    q.push(" order by br.id, c.id");
    let rows: Vec<(i64, String)> = q.fetch_all(conn).await?;
    for (request, author) in rows {
        let authors = out.entry(BuildRequestId(request)).or_default();
        if !authors.contains(&author) {
            authors.push(author);
        }
    }
    Ok(out)
}

/// What the overview pages select changes by. Lists OR their values; empty lists match all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Branches; `trunk` also matches changes on the default branch (0.8.9's convention).
    pub branches: Vec<String>,
    /// Repositories.
    pub repositories: Vec<String>,
    /// Projects.
    pub projects: Vec<String>,
    /// Codebases.
    pub codebases: Vec<String>,
    /// Authors.
    pub authors: Vec<String>,
    /// Only changes the master stored at or before this time (epoch seconds).
    pub until: Option<i64>,
    /// Only changes stored at or after this time.
    pub since: Option<i64>,
    /// Only changes with a smaller id: the next page of a list by id.
    pub below: Option<i64>,
}

/// The order of a filtered list, newest first either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// By id: the order the master stored them in.
    Id,
    /// By the time the master stored them (the waterfall's time axis).
    Stored,
}

/// Stores a batch of changes with the times the master received them, for loading a
/// history (`cascade bench seed`), a few hundred rows a statement.
pub async fn insert_many(conn: Conn<'_>, changes: &[(NewChange, i64)]) -> DbResult<Vec<ChangeId>> {
    insert_rows_of(conn, changes.iter().map(|(c, at)| (c, *at))).await
}

/// Stores each change with the time the master received it, and its files, a few hundred
/// rows a statement.
async fn insert_rows_of<'a>(
    mut conn: Conn<'_>,
    changes: impl Iterator<Item = (&'a NewChange, i64)> + Clone,
) -> DbResult<Vec<ChangeId>> {
    let rows = changes
        .clone()
        .map(|(c, at)| {
            vec![
                c.author.clone().into(),
                c.committer.clone().into(),
                c.comments.clone().into(),
                c.revision.clone().into(),
                c.branch.clone().into(),
                c.repository.clone().into(),
                c.project.clone().into(),
                c.codebase.clone().into(),
                c.category.clone().into(),
                c.revlink.clone().into(),
                c.when.unwrap_or(at).into(),
                at.into(),
                to_json(&c.properties).into(),
            ]
        })
        .collect();
    let head = "insert into changes (author, committer, comments, revision, branch, repository, project, \
        codebase, category, revlink, when_ts, created_at, properties) values ";
    let ids = insert_rows(conn.reborrow(), head, rows, true).await?;
    let files: Vec<Vec<Bind>> = ids
        .iter()
        .zip(changes)
        .flat_map(|(id, (c, _))| c.files.iter().map(move |f| vec![Bind::Int(*id), f.clone().into()]))
        .collect();
    insert_rows(conn, "insert into change_files (change_id, filename) values ", files, false).await?;
    Ok(ids.into_iter().map(ChangeId).collect())
}

/// The newest changes that pass the filter, with their files.
pub async fn list_filtered(mut conn: Conn<'_>, filter: &Filter, order: Order, limit: i64) -> DbResult<Vec<Change>> {
    let mut q = Query::new(
        "select id, author, committer, comments, revision, branch, repository, project, \
        codebase, category, revlink, when_ts, created_at, properties from changes where 1 = 1",
    );
    // Walking by time, the other columns are wrapped so that SQLite's planner keeps to the
    // time index (see `builds::TimeFilter`); by id, their own indexes serve the page.
    let col = |c: &str| if order == Order::Stored { format!("({c} || '')") } else { c.to_owned() };
    if !filter.branches.is_empty() {
        let list = q.bind_list(filter.branches.iter().map(String::as_str));
        let trunk = if filter.branches.iter().any(|b| b == "trunk") { " or branch is null" } else { "" };
        q.push(&format!(" and ({} in ({list}){trunk})", col("branch")));
    }
    q.any_of(&col("repository"), filter.repositories.iter().map(String::as_str))
        .any_of(&col("project"), filter.projects.iter().map(String::as_str))
        .any_of(&col("codebase"), filter.codebases.iter().map(String::as_str))
        .any_of(&col("author"), filter.authors.iter().map(String::as_str));
    if let Some(until) = filter.until {
        let until = q.bind(until);
        q.push(&format!(" and created_at <= {until}"));
    }
    if let Some(since) = filter.since {
        let since = q.bind(since);
        q.push(&format!(" and created_at >= {since}"));
    }
    if let Some(below) = filter.below {
        let below = q.bind(below);
        q.push(&format!(" and id < {below}"));
    }
    let limit = q.bind(limit);
    q.push(match order {
        Order::Id => " order by id desc",
        Order::Stored => " order by created_at desc, id desc",
    });
    q.push(&format!(" limit {limit}"));
    let rows: Vec<Row> = q.fetch_all(conn.reborrow()).await?;
    with_files(conn, rows).await
}

/// The changes of `rows` with their files, read in one query.
async fn with_files(conn: Conn<'_>, rows: Vec<Row>) -> DbResult<Vec<Change>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("select change_id, filename from change_files where 1 = 1");
    q.any_of("change_id", rows.iter().map(|r| r.id)).push(" order by change_id, filename");
    let files: Vec<(i64, String)> = q.fetch_all(conn).await?;
    let mut by_change: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for (id, name) in files {
        by_change.entry(id).or_default().push(name);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let files = by_change.remove(&r.id).unwrap_or_default();
            r.into_change(files)
        })
        .collect())
}
