//! The grid and the transposed grid (0.8.9 `web/grid.py`): source stamps × builders. The
//! columns are the source stamps of each builder's last `width` builds, keyed by (project,
//! codebase, branch, revision), ordered by the earliest start among their builds, the newest
//! `width` kept; a cell is the builder's newest build of that stamp.

use std::collections::HashMap;

use super::BuilderOverview;
use crate::db::{self, builds::TimeFilter};
use crate::engine::{Engine, EngineError};
use crate::model::Build;

/// The grid's query arguments (`/tgrid` calls `width` `length`).
#[derive(Clone, Debug, Default)]
pub struct GridQuery {
    /// Only builders with one of these tags.
    pub categories: Vec<String>,
    /// Only builds of these branches.
    pub branches: Vec<String>,
    /// How many source stamps (default 5).
    pub width: u32,
}

/// What a column is: one source stamp.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StampKey {
    /// Project.
    pub project: String,
    /// Codebase.
    pub codebase: String,
    /// Branch (`None`: the default one).
    pub branch: Option<String>,
    /// Revision (`None`: the branch's head when it was built, shown as "latest").
    pub revision: Option<String>,
}

/// A build's source stamp key.
pub fn stamp_key(b: &Build) -> StampKey {
    StampKey {
        project: b.project.clone(),
        codebase: b.codebase.clone(),
        branch: b.branch.clone(),
        revision: b.revision.clone(),
    }
}

/// A column of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct GridStamp {
    /// Its key.
    pub key: StampKey,
    /// The repository of its builds (for the revision's link).
    pub repository: String,
    /// The earliest start among its builds (epoch seconds).
    pub time: i64,
}

/// A builder's row.
#[derive(Clone, Debug)]
pub struct GridRow {
    /// The builder.
    pub builder: BuilderOverview,
    /// One cell per stamp: the builder's newest build of it.
    pub cells: Vec<Option<Build>>,
}

/// The whole grid.
#[derive(Clone, Debug)]
pub struct GridPage {
    /// Columns, oldest first.
    pub stamps: Vec<GridStamp>,
    /// Rows, builders by name.
    pub rows: Vec<GridRow>,
}

/// Lays out the grid from each builder's recent builds (newest first).
pub fn arrange(mut builders: Vec<BuilderOverview>, mut builds: HashMap<String, Vec<Build>>, width: usize) -> GridPage {
    builders.sort_by(|a, b| a.name.cmp(&b.name));
    let mut stamps: HashMap<StampKey, GridStamp> = HashMap::new();
    for b in builds.values().flatten() {
        let key = stamp_key(b);
        let stamp = stamps.entry(key.clone()).or_insert_with(|| GridStamp {
            key,
            repository: b.repository.clone(),
            time: b.started_at,
        });
        stamp.time = stamp.time.min(b.started_at);
    }
    let mut stamps: Vec<GridStamp> = stamps.into_values().collect();
    stamps.sort_by(|a, b| (a.time, &a.key).cmp(&(b.time, &b.key)));
    let drop = stamps.len().saturating_sub(width);
    stamps.drain(..drop);
    let rows = builders
        .into_iter()
        .map(|builder| {
            let mine = builds.remove(&builder.name).unwrap_or_default();
            let cells = stamps.iter().map(|s| mine.iter().find(|b| stamp_key(b) == s.key).cloned()).collect();
            GridRow { builder, cells }
        })
        .collect();
    GridPage { stamps, rows }
}

impl Engine {
    /// The grid for `q`.
    pub async fn grid(&self, q: &GridQuery) -> Result<GridPage, EngineError> {
        let width = q.width.clamp(1, 100) as usize;
        let builders: Vec<BuilderOverview> = self
            .builders_overview()
            .await?
            .into_iter()
            .filter(|b| super::in_categories(&b.tags, &q.categories))
            .collect();
        let mut conn = self.db.acquire().await?;
        let mut builds: HashMap<String, Vec<Build>> = HashMap::new();
        if q.branches.is_empty() {
            let ids: Vec<_> = builders.iter().filter_map(|b| self.builder_id(&b.name)).collect();
            for b in db::builds::last_of_each(conn.conn(), &ids, width as i64).await? {
                builds.entry(b.builder.clone()).or_default().push(b);
            }
        } else {
            // On a branch a builder's builds are not consecutive numbers: one query each.
            let filter = TimeFilter { branches: q.branches.clone(), ..Default::default() };
            for b in &builders {
                let Some(id) = self.builder_id(&b.name) else { continue };
                let recent = db::builds::list_by_time(conn.conn(), &[id], &filter, width as i64).await?;
                builds.insert(b.name.clone(), recent);
            }
        }
        Ok(arrange(builders, builds, width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::fixtures;

    fn build(builder: &str, number: i64, revision: &str, started_at: i64) -> Build {
        Build {
            branch: Some("main".into()),
            revision: (!revision.is_empty()).then(|| revision.into()),
            project: "app".into(),
            repository: "https://git/app".into(),
            ..fixtures::build(started_at, builder, number, started_at)
        }
    }

    fn builder(name: &str) -> BuilderOverview {
        fixtures::overview(name)
    }

    fn revisions(page: &GridPage) -> Vec<Option<&str>> {
        page.stamps.iter().map(|s| s.key.revision.as_deref()).collect()
    }

    #[test]
    fn columns_are_stamps_by_their_earliest_build_and_the_newest_width_are_kept() {
        let builds = HashMap::from([
            (
                "linux".to_owned(),
                vec![build("linux", 3, "r3", 30), build("linux", 2, "r2", 20), build("linux", 1, "r1", 10)],
            ),
            // mac built r1 late: r1's time is still linux's earlier start.
            ("mac".to_owned(), vec![build("mac", 2, "r1", 40), build("mac", 1, "r0", 5)]),
        ]);
        let page = arrange(vec![builder("mac"), builder("linux")], builds.clone(), 5);
        assert_eq!(revisions(&page), [Some("r0"), Some("r1"), Some("r2"), Some("r3")]);
        assert_eq!(page.rows[0].builder.name, "linux", "rows by builder name");
        let page = arrange(vec![builder("mac"), builder("linux")], builds, 2);
        assert_eq!(revisions(&page), [Some("r2"), Some("r3")]);
    }

    #[test]
    fn a_cell_is_the_builder_s_newest_build_of_the_stamp_or_empty() {
        let builds = HashMap::from([
            (
                "linux".to_owned(),
                vec![build("linux", 3, "r1", 30), build("linux", 2, "r1", 20), build("linux", 1, "", 10)],
            ),
            ("mac".to_owned(), vec![]),
        ]);
        let page = arrange(vec![builder("linux"), builder("mac")], builds, 5);
        assert_eq!(revisions(&page), [None, Some("r1")], "no revision is its own column (\"latest\")");
        let linux: Vec<Option<i64>> = page.rows[0].cells.iter().map(|c| c.as_ref().map(|b| b.number)).collect();
        assert_eq!(linux, [Some(1), Some(3)]);
        assert!(page.rows[1].cells.iter().all(Option::is_none));
    }

    #[test]
    fn the_same_revision_on_two_branches_is_two_columns() {
        let mut other = build("linux", 2, "r1", 20);
        other.branch = Some("release".into());
        let builds = HashMap::from([("linux".to_owned(), vec![other, build("linux", 1, "r1", 10)])]);
        let page = arrange(vec![builder("linux")], builds, 5);
        assert_eq!(page.stamps.len(), 2);
        assert_eq!(page.stamps[1].key.branch.as_deref(), Some("release"));
    }
}
