//! Read models that combine configuration, live worker state and stored builds into what
//! one page shows, so each view is one round trip. The overview pages each have their own
//! file; their decisions (the console's boxes, the grid's columns, which builds fill a
//! waterfall page) are pure functions tested there.

pub mod badge;
pub mod cache;
pub mod console;
pub mod feed;
pub mod grid;
mod newest;
pub mod waterfall;

use crate::config::SchedulerKind;
use crate::db;
use std::collections::{HashMap, HashSet};

use crate::model::{Build, BuildId, BuildRequestId, Step};

use super::{Engine, EngineError};

/// A builder's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuilderState {
    /// Nothing running, a worker is connected.
    Idle,
    /// At least one build running.
    Building,
    /// None of its workers is connected.
    Offline,
    /// Workers are connected, but every one of them is paused or shutting down.
    Paused,
}

/// A builder with what the builders list and the waterfall header show.
#[derive(Clone, Debug)]
pub struct BuilderOverview {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Workers it may use.
    pub workers: Vec<String>,
    /// Current state.
    pub state: BuilderState,
    /// Requests waiting.
    pub pending: i64,
    /// Builds running.
    pub running: i64,
    /// Whether a force scheduler lists it.
    pub can_force: bool,
    /// Its last finished build.
    pub last_build: Option<Build>,
    /// The mean duration (seconds) of its recent successful builds, for the ETA of the
    /// builds it runs now; only for a builder that is building.
    pub average_duration: Option<i64>,
}

/// One build as its own page shows it: the build with its steps and changes, and what its
/// buildset says about it.
#[derive(Clone, Debug)]
pub struct BuildPage {
    /// The build, its steps and its changes.
    pub detail: BuildWithSteps,
    /// Who asked for it (a force or rebuild), if anyone.
    pub owner: Option<String>,
    /// Where each of its properties came from.
    pub property_sources: std::collections::BTreeMap<String, String>,
    /// Every source stamp it builds, one per codebase.
    pub sources: Vec<db::buildsets::NewSourceStamp>,
}

/// A build with its steps.
#[derive(Clone, Debug)]
pub struct BuildWithSteps {
    /// The build.
    pub build: Build,
    /// Its steps in order.
    pub steps: Vec<Step>,
    /// The changes it builds (its blamelist), when asked for.
    pub changes: Option<Vec<crate::model::Change>>,
}

/// Whether a builder's tags pass a `category=` filter (empty: everything). A tag matches
/// its whole self or its category, the part before a `|` (`linux|x86` is in `linux`).
pub fn in_categories(tags: &[String], categories: &[String]) -> bool {
    categories.is_empty()
        || tags
            .iter()
            .any(|t| categories.iter().any(|c| t == c || t.split('|').next().is_some_and(|head| head.trim() == c)))
}

/// How many finished builds' steps are kept in memory (a waterfall page shows at most
/// `num_events_max`, 1,000 by default).
pub const FINISHED_STEPS_CACHED: usize = 2048;

/// The steps of finished builds, which never change again: pages showing recent builds
/// read them from memory instead of the database.
pub type StepsCache = quick_cache::sync::Cache<BuildId, std::sync::Arc<Vec<Step>>>;

/// How many recent successful builds an ETA averages.
const ETA_SAMPLE: i64 = 10;

/// A running build as its builder's status shows it.
#[derive(Clone, Debug)]
pub struct RunningBuild {
    /// The build.
    pub build: Build,
    /// The step it runs now, if one has started and not finished.
    pub step: Option<String>,
    /// Seconds until it should end, by its builder's mean successful build; none without
    /// such builds, or once it has run longer than that.
    pub eta: Option<i64>,
}

/// The step running among a build's `steps`: the last one started and not finished.
pub fn current_step(steps: &[Step]) -> Option<&Step> {
    steps.iter().rev().find(|s| s.started_at.is_some() && s.finished_at.is_none())
}

/// The seconds left at `now` to a build started at `started_at`, when builds take
/// `average` seconds; none once it is late.
pub fn eta(started_at: i64, average: Option<i64>, now: i64) -> Option<i64> {
    average.map(|avg| started_at + avg - now).filter(|left| *left > 0)
}

impl Engine {
    /// Every configured builder, in configuration order.
    pub async fn builders_overview(&self) -> Result<Vec<BuilderOverview>, EngineError> {
        self.builders_overview_on(&[]).await
    }

    /// The builders as `builders_overview` gives them, with the last build of one of
    /// `branches` (all branches when empty).
    pub async fn builders_overview_on(&self, branches: &[String]) -> Result<Vec<BuilderOverview>, EngineError> {
        let mut conn = self.db.acquire().await?;
        let pending = db::buildrequests::pending_counts(conn.conn()).await?;
        let running = db::builds::running_counts(conn.conn()).await?;
        let mut last = db::builds::last_finished_all(conn.conn(), branches).await?;
        let mut out = Vec::with_capacity(self.config().builders.len());
        for b in &self.config().builders {
            let Some(id) = self.builder_id(&b.name) else { continue };
            let last_build = last.remove(&b.name);
            let running = running.get(&id.0).copied().unwrap_or(0);
            let average_duration = if running > 0 {
                db::builds::average_duration(conn.conn(), id, ETA_SAMPLE).await?.map(|d| d.round() as i64)
            } else {
                None
            };
            out.push(BuilderOverview {
                name: b.name.clone(),
                description: b.description.clone(),
                tags: b.tags.clone(),
                workers: b.workers.clone(),
                state: self.builder_state(&b.workers, running),
                pending: pending.get(&id.0).copied().unwrap_or(0),
                running,
                can_force: self
                    .config()
                    .schedulers
                    .iter()
                    .any(|s| matches!(s.kind, SchedulerKind::Force { .. }) && s.builders.contains(&b.name)),
                last_build,
                average_duration,
            });
        }
        Ok(out)
    }

    /// Building if it runs builds; else idle when one of its workers takes builds, paused
    /// when its connected workers are all paused (or shutting down), offline when none is
    /// connected.
    fn builder_state(&self, workers: &[String], running: i64) -> BuilderState {
        if running > 0 {
            return BuilderState::Building;
        }
        let states: Vec<Option<bool>> = workers.iter().map(|w| self.workers.takes_builds(w)).collect();
        if states.contains(&Some(true)) {
            BuilderState::Idle
        } else if states.contains(&Some(false)) {
            BuilderState::Paused
        } else {
            BuilderState::Offline
        }
    }

    /// One builder's overview.
    pub async fn builder_overview(&self, name: &str) -> Result<BuilderOverview, EngineError> {
        self.builders_overview()
            .await?
            .into_iter()
            .find(|b| b.name == name)
            .ok_or_else(|| EngineError::NotFound(format!("no builder named `{name}`")))
    }

    /// The unfinished builds of `builder`, oldest first, each with the step it runs and
    /// its ETA.
    pub async fn running_builds(&self, builder: &str) -> Result<Vec<RunningBuild>, EngineError> {
        let mut conn = self.db.acquire().await?;
        let builds = db::builds::running_of(conn.conn(), builder).await?;
        if builds.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<BuildId> = builds.iter().map(|b| b.id).collect();
        let mut steps = db::steps::list_for_builds(conn.conn(), &ids).await?;
        let average = match self.builder_id(builder) {
            Some(id) => db::builds::average_duration(conn.conn(), id, ETA_SAMPLE).await?.map(|d| d.round() as i64),
            None => None,
        };
        let now = self.clock.now();
        Ok(builds
            .into_iter()
            .map(|build| {
                let steps = steps.remove(&build.id).unwrap_or_default();
                let step = current_step(&steps).map(|s| s.name.clone());
                let eta = eta(build.started_at, average, now);
                RunningBuild { build, step, eta }
            })
            .collect())
    }

    /// Of the build requests `ids`, those not finished yet: waiting, or being built (a
    /// request whose build ended `retry` waits again). Cancelled, finished and unknown
    /// requests are left out.
    pub async fn unfinished_requests(&self, ids: &[BuildRequestId]) -> Result<HashSet<BuildRequestId>, EngineError> {
        let mut conn = self.db.acquire().await?;
        Ok(db::buildrequests::unfinished_among(conn.conn(), ids).await?)
    }

    /// The steps (with their logs) of `builds`: finished builds' from memory when they were
    /// read before, the others from the database (and kept once finished).
    pub(crate) async fn steps_of(
        &self,
        conn: db::Conn<'_>,
        builds: &[Build],
    ) -> Result<HashMap<BuildId, Vec<Step>>, EngineError> {
        let mut out = HashMap::with_capacity(builds.len());
        let mut missing = Vec::new();
        for b in builds {
            match self.finished_steps.get(&b.id) {
                Some(steps) if b.finished_at.is_some() => {
                    out.insert(b.id, steps.as_ref().clone());
                }
                _ => missing.push(b.id),
            }
        }
        let fetched = db::steps::list_for_builds(conn, &missing).await?;
        for b in builds.iter().filter(|b| missing.contains(&b.id)) {
            let steps = fetched.get(&b.id).cloned().unwrap_or_default();
            if b.finished_at.is_some() {
                self.finished_steps.insert(b.id, std::sync::Arc::new(steps.clone()));
            }
            out.insert(b.id, steps);
        }
        Ok(out)
    }

    /// Builds (newest first) with their steps, filtered like the builds list.
    pub async fn builds_with_steps(
        &self,
        filter: &db::builds::Filter,
        limit: i64,
    ) -> Result<Vec<BuildWithSteps>, EngineError> {
        let mut conn = self.db.acquire().await?;
        let builds = db::builds::list(conn.conn(), filter, limit, 0).await?;
        let mut steps = self.steps_of(conn.conn(), &builds).await?;
        Ok(builds
            .into_iter()
            .map(|build| {
                let steps = steps.remove(&build.id).unwrap_or_default();
                BuildWithSteps { build, steps, changes: None }
            })
            .collect())
    }

    /// One build, by builder name and number, with its steps and its changes.
    pub async fn build_detail(&self, builder: &str, number: i64) -> Result<BuildWithSteps, EngineError> {
        let mut conn = self.db.acquire().await?;
        Ok(Self::detail_and_set(conn.conn(), builder, number).await?.0)
    }

    /// A build by its builder and number, or NotFound saying which.
    pub(crate) async fn build_by_number(conn: db::Conn<'_>, builder: &str, number: i64) -> Result<Build, EngineError> {
        match db::builds::get_by_number(conn, builder, number).await {
            Err(db::DbError::NotFound) => {
                Err(EngineError::NotFound(format!("builder `{builder}` has no build {number}")))
            }
            other => Ok(other?),
        }
    }

    /// A build with its steps and changes, and the buildset it belongs to.
    async fn detail_and_set(
        mut conn: db::Conn<'_>,
        builder: &str,
        number: i64,
    ) -> Result<(BuildWithSteps, crate::model::BuildSetId), EngineError> {
        let build = Self::build_by_number(conn.reborrow(), builder, number).await?;
        let mut steps = db::steps::list_for_builds(conn.reborrow(), &[build.id]).await?;
        let set = db::buildrequests::buildset_of(conn.reborrow(), build.buildrequest_id).await?;
        let changes = db::changes::list_for_buildset(conn, set.0).await?;
        let detail =
            BuildWithSteps { steps: steps.remove(&build.id).unwrap_or_default(), build, changes: Some(changes) };
        Ok((detail, set))
    }

    /// One build with its source stamps, owner and property sources, for its page.
    pub async fn build_page(&self, builder: &str, number: i64) -> Result<BuildPage, EngineError> {
        let mut conn = self.db.acquire().await?;
        let (detail, set) = Self::detail_and_set(conn.conn(), builder, number).await?;
        let owner = db::buildsets::details(conn.conn(), set).await?.owner;
        let sources = db::buildsets::sources(conn.conn(), set).await?;
        let property_sources = db::builds::property_sources(conn.conn(), detail.build.id).await?;
        Ok(BuildPage { detail, owner, property_sources, sources })
    }
}

/// Builds and builders for the views' unit tests; change fields with struct update syntax.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{BuilderOverview, BuilderState};
    use crate::model::{Build, BuildId, BuildRequestId};

    /// A running build started at `started_at`, of no source in particular.
    pub fn build(id: i64, builder: &str, number: i64, started_at: i64) -> Build {
        Build {
            id: BuildId(id),
            builder: builder.into(),
            number,
            buildrequest_id: BuildRequestId(id),
            worker: None,
            started_at,
            finished_at: None,
            state_text: String::new(),
            results: None,
            reason: String::new(),
            properties: Default::default(),
            branch: None,
            revision: None,
            codebase: String::new(),
            project: String::new(),
            repository: String::new(),
        }
    }

    /// An idle builder with no builds.
    pub fn overview(name: &str) -> BuilderOverview {
        BuilderOverview {
            name: name.into(),
            description: None,
            tags: vec![],
            workers: vec![],
            state: BuilderState::Idle,
            pending: 0,
            running: 0,
            can_force: false,
            last_build: None,
            average_duration: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, started_at: Option<i64>, finished_at: Option<i64>) -> Step {
        Step {
            id: crate::model::StepId(0),
            build_id: BuildId(1),
            number: 0,
            name: name.into(),
            state_text: String::new(),
            results: None,
            started_at,
            finished_at,
            logs: vec![],
        }
    }

    #[test]
    fn a_running_build_shows_its_current_step_and_the_time_it_has_left() {
        let steps = [step("checkout", Some(1), Some(2)), step("test", Some(2), None), step("upload", None, None)];
        assert_eq!(current_step(&steps).map(|s| s.name.as_str()), Some("test"));
        assert!(current_step(&steps[..1]).is_none(), "between steps");
        assert!(current_step(&[]).is_none());
        assert_eq!(eta(100, Some(60), 130), Some(30));
        assert_eq!(eta(100, Some(60), 160), None, "due now");
        assert_eq!(eta(100, Some(60), 200), None, "late");
        assert_eq!(eta(100, None, 130), None, "no successful build to go by");
    }

    #[test]
    fn a_category_matches_a_tag_or_the_part_before_its_bar() {
        let tags = vec!["linux|x86".to_owned(), "fast".to_owned()];
        assert!(in_categories(&tags, &[]));
        assert!(in_categories(&tags, &["linux".to_owned()]));
        assert!(in_categories(&tags, &["linux|x86".to_owned()]));
        assert!(in_categories(&tags, &["fast".to_owned(), "slow".to_owned()]));
        assert!(!in_categories(&tags, &["x86".to_owned()]));
        assert!(!in_categories(&[], &["linux".to_owned()]));
    }
}
