//! Reads what a node of the tree holds, through the engine's read models and the
//! repositories, and shapes it with `shape`. A loader lives for one request and keeps what
//! several nodes share (the builders' overview, their newest builds, the workers' state),
//! so the root costs each of those once.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::shape::{self, CACHED_BUILDS};
use super::tree::Node;
use crate::db;
use crate::engine::views::{BuildPage, BuilderOverview, RunningBuild};
use crate::engine::workers::WorkerStatus;
use crate::engine::{Engine, EngineError};
use crate::model::{Build, BuildSetId, ChangeId};

/// The most builds `builds/_all?max=` gives in full.
pub const MAX_ALL_BUILDS: i64 = 50;
/// How many changes `/json/changes` lists unless `max=` says.
pub const DEFAULT_CHANGES: i64 = 100;
/// The most changes `max=` may ask for.
pub const MAX_CHANGES: i64 = 1000;
/// The most waiting requests `pendingBuilds` lists.
const MAX_PENDING: i64 = 200;

/// What a node could not be read for: it does not exist, or the master failed.
type Loaded = Result<Option<Value>, EngineError>;

/// Reads nodes for one request.
pub struct Loader<'a> {
    engine: &'a Engine,
    /// The `max=` argument.
    max: Option<i64>,
    overview: Option<Vec<BuilderOverview>>,
    /// Each builder's newest builds, newest first.
    recent: Option<HashMap<String, Vec<Build>>>,
    running: HashMap<String, Vec<RunningBuild>>,
    workers: Option<Vec<WorkerStatus>>,
}

impl<'a> Loader<'a> {
    /// A loader for a request with `max=` given or not.
    pub fn new(engine: &'a Engine, max: Option<i64>) -> Loader<'a> {
        Loader { engine, max, overview: None, recent: None, running: HashMap::new(), workers: None }
    }

    /// What `node` holds, or `None` when it names nothing (no such build, step or change).
    pub async fn value(&mut self, node: &Node) -> Loaded {
        match node {
            Node::Root => {
                let mut root = serde_json::Map::new();
                root.insert("builders".into(), self.builders().await?);
                root.insert("changes".into(), self.changes().await?);
                root.insert("project".into(), shape::project(&self.engine.config()));
                root.insert("slaves".into(), self.slaves(None).await?);
                Ok(Some(Value::Object(root)))
            }
            Node::Builders => self.builders().await.map(Some),
            Node::Builder(b) => self.builder(b).await,
            Node::BuilderSlaves(b) => {
                let names = self.engine.config().builder(b).map(|c| c.workers.clone()).unwrap_or_default();
                self.slaves(Some(&names)).await.map(Some)
            }
            Node::Slave(w) => Ok(self.slaves(Some(std::slice::from_ref(w))).await?.get(w).cloned()),
            Node::Slaves => self.slaves(None).await.map(Some),
            Node::PendingBuilds(b) => self.pending(b).await.map(Some),
            Node::Builds(b) => {
                let numbers = self.recent_of(b).await?.iter().map(|b| (b.number.to_string(), Value::Null)).collect();
                Ok(Some(Value::Object(numbers)))
            }
            Node::AllBuilds(b) => self.all_builds(b).await.map(Some),
            Node::Build(b, n) => self.build(b, *n).await,
            Node::SourceStamp(b, n) => Ok(self.build(b, *n).await?.map(|v| v["sourceStamp"].clone())),
            Node::BuildChanges(b, n) => Ok(self.page(b, *n).await?.map(|(page, _)| {
                // The first source stamp's changes, as its `changes` list has them.
                let first = page.sources.first().map(|s| s.codebase.clone());
                let single = page.sources.len() <= 1;
                let changes = page.detail.changes.iter().flatten();
                shape::changes_by_number(changes.filter(|c| single || Some(&c.fields.codebase) == first.as_ref()))
            })),
            Node::Steps(b, n) => {
                let base = &self.engine.config().base_url;
                Ok(self.page(b, *n).await?.map(|(page, _)| shape::steps_by_index(&page, base)))
            }
            Node::Step(b, n, which) => {
                let base = &self.engine.config().base_url;
                Ok(self.page(b, *n).await?.and_then(|(page, _)| {
                    let (i, s) = shape::find_step(&page.detail.steps, which)?;
                    Some(shape::step(&page.detail.build, i, s, base))
                }))
            }
            Node::Changes => self.changes().await.map(Some),
            Node::Change(n) => {
                let mut conn = self.engine.db.acquire().await?;
                match db::changes::get(conn.conn(), ChangeId(*n)).await {
                    Err(db::DbError::NotFound) => Ok(None),
                    other => Ok(Some(shape::change(&other?))),
                }
            }
            Node::Project => Ok(Some(shape::project(&self.engine.config()))),
        }
    }

    async fn overview(&mut self) -> Result<&[BuilderOverview], EngineError> {
        if self.overview.is_none() {
            self.overview = Some(self.engine.builders_overview().await?);
        }
        Ok(self.overview.as_deref().unwrap_or_default())
    }

    /// The newest builds of every builder, read once in two queries.
    async fn recent(&mut self) -> Result<&HashMap<String, Vec<Build>>, EngineError> {
        if self.recent.is_none() {
            let ids: Vec<_> =
                self.engine.config().builders.iter().filter_map(|b| self.engine.builder_id(&b.name)).collect();
            let mut conn = self.engine.db.acquire().await?;
            let mut by_builder: HashMap<String, Vec<Build>> = HashMap::new();
            for b in db::builds::last_of_each(conn.conn(), &ids, CACHED_BUILDS).await? {
                by_builder.entry(b.builder.clone()).or_default().push(b);
            }
            self.recent = Some(by_builder);
        }
        Ok(self.recent.get_or_insert_default())
    }

    async fn recent_of(&mut self, builder: &str) -> Result<&[Build], EngineError> {
        Ok(self.recent().await?.get(builder).map(Vec::as_slice).unwrap_or_default())
    }

    /// The builder's running builds with their ETAs, read once.
    async fn running(&mut self, builder: &str) -> Result<&[RunningBuild], EngineError> {
        if !self.running.contains_key(builder) {
            let running = self.engine.running_builds(builder).await?;
            self.running.insert(builder.to_owned(), running);
        }
        Ok(self.running.get(builder).map(Vec::as_slice).unwrap_or_default())
    }

    async fn builders(&mut self) -> Result<Value, EngineError> {
        let names: Vec<String> = self.overview().await?.iter().map(|o| o.name.clone()).collect();
        let mut out = serde_json::Map::new();
        for name in names {
            if let Some(v) = self.builder(&name).await? {
                out.insert(name, v);
            }
        }
        Ok(Value::Object(out))
    }

    async fn builder(&mut self, name: &str) -> Loaded {
        let Some(o) = self.overview().await?.iter().find(|o| o.name == name).cloned() else { return Ok(None) };
        let mut cached: Vec<i64> = self.recent_of(name).await?.iter().map(|b| b.number).collect();
        cached.sort_unstable();
        let current: Vec<i64> =
            if o.running > 0 { self.running(name).await?.iter().map(|r| r.build.number).collect() } else { Vec::new() };
        let schedulers = shape::schedulers_of(&self.engine.config(), name);
        Ok(Some(shape::builder(&o, &schedulers, &cached, &current)))
    }

    /// A build's page and the patches of its buildset, by number (negative from the newest).
    async fn page(
        &mut self,
        builder: &str,
        number: i64,
    ) -> Result<Option<(BuildPage, Vec<db::buildsets::Patch>)>, EngineError> {
        let number = if number < 0 {
            let Some(newest) = self.recent_of(builder).await?.first().map(|b| b.number) else { return Ok(None) };
            newest + 1 + number
        } else {
            number
        };
        let page = match self.engine.build_page(builder, number).await {
            Err(EngineError::NotFound(_)) => return Ok(None),
            other => other?,
        };
        let mut conn = self.engine.db.acquire().await?;
        let set: BuildSetId = db::buildrequests::buildset_of(conn.conn(), page.detail.build.buildrequest_id).await?;
        let patches = db::buildsets::patches(conn.conn(), set).await?;
        Ok(Some((page, patches)))
    }

    async fn build(&mut self, builder: &str, number: i64) -> Loaded {
        let Some((page, patches)) = self.page(builder, number).await? else { return Ok(None) };
        let b = &page.detail.build;
        let eta = if b.finished_at.is_none() {
            self.running(builder).await?.iter().find(|r| r.build.id == b.id).and_then(|r| r.eta)
        } else {
            None
        };
        Ok(Some(shape::build(&page, &patches, eta, &self.engine.config().base_url)))
    }

    async fn all_builds(&mut self, builder: &str) -> Result<Value, EngineError> {
        let max = self.max.unwrap_or(CACHED_BUILDS).clamp(1, MAX_ALL_BUILDS);
        let numbers: Vec<i64> = match self.engine.builder_id(builder) {
            Some(id) => {
                let mut conn = self.engine.db.acquire().await?;
                db::builds::last_of_each(conn.conn(), &[id], max).await?.iter().map(|b| b.number).collect()
            }
            None => Vec::new(),
        };
        let mut out = serde_json::Map::new();
        for n in numbers {
            if let Some(v) = self.build(builder, n).await? {
                out.insert(n.to_string(), v);
            }
        }
        Ok(Value::Object(out))
    }

    async fn changes(&mut self) -> Result<Value, EngineError> {
        let max = self.max.unwrap_or(DEFAULT_CHANGES).clamp(1, MAX_CHANGES);
        let mut conn = self.engine.db.acquire().await?;
        let filter = db::changes::Filter::default();
        let changes = db::changes::list_filtered(conn.conn(), &filter, db::changes::Order::Id, max).await?;
        Ok(shape::changes_by_number(&changes))
    }

    /// The workers called `names` (every worker for `None`) by name.
    async fn slaves(&mut self, names: Option<&[String]>) -> Result<Value, EngineError> {
        if self.workers.is_none() {
            self.workers = Some(self.engine.worker_statuses().await?);
        }
        let statuses: Vec<WorkerStatus> = self
            .workers
            .iter()
            .flatten()
            .filter(|s| names.is_none_or(|names| names.contains(&s.name)))
            .cloned()
            .collect();
        let overview: Vec<(String, Vec<String>, i64)> =
            self.overview().await?.iter().map(|o| (o.name.clone(), o.workers.clone(), o.running)).collect();
        let mut out = serde_json::Map::new();
        for s in statuses {
            let mut running = Vec::new();
            let mut builders = BTreeMap::new();
            for (builder, _, busy) in overview.iter().filter(|(_, workers, _)| workers.contains(&s.name)) {
                let mine = |b: &Build| b.worker.as_deref() == Some(s.name.as_str());
                let ran: Vec<i64> = self
                    .recent_of(builder)
                    .await?
                    .iter()
                    .filter(|b| b.finished_at.is_some() && mine(b))
                    .map(|b| b.number)
                    .collect();
                builders.insert(builder.clone(), ran);
                if *busy > 0 {
                    let numbers: Vec<i64> = self
                        .running(builder)
                        .await?
                        .iter()
                        .filter(|r| mine(&r.build))
                        .map(|r| r.build.number)
                        .collect();
                    for n in numbers {
                        running.extend(self.build(builder, n).await?);
                    }
                }
            }
            out.insert(s.name.clone(), shape::slave(&s, running, builders));
        }
        Ok(Value::Object(out))
    }

    async fn pending(&mut self, builder: &str) -> Result<Value, EngineError> {
        let mut conn = self.engine.db.acquire().await?;
        let requests = db::buildrequests::pending(conn.conn(), builder, MAX_PENDING).await?;
        let mut out = Vec::with_capacity(requests.len());
        for p in requests {
            let set = BuildSetId(p.buildset_id);
            let stamp = db::buildsets::first_source(conn.conn(), set).await?;
            let changes = db::changes::list_for_buildset(conn.conn(), set.0).await?;
            let details = db::buildsets::details(conn.conn(), set).await?;
            let changes: Vec<_> = changes.iter().filter(|c| c.fields.codebase == stamp.codebase).collect();
            let source = shape::source_stamp(&stamp, &changes, None);
            let sourced = &details.properties;
            let properties =
                shape::properties(&sourced.values, |k| sourced.sources.get(k).cloned().unwrap_or_default());
            out.push(shape::pending(&p, source, properties));
        }
        Ok(json!(out))
    }

    /// Names to fill the help page's examples with: a builder that has a build (else the
    /// first), its newest build, one of its workers, the newest change.
    pub async fn examples(&mut self) -> Result<super::help::Examples, EngineError> {
        let names: Vec<String> = self.engine.config().builders.iter().map(|b| b.name.clone()).collect();
        let mut chosen = None;
        for name in &names {
            if let Some(newest) = self.recent_of(name).await?.first() {
                chosen = Some((name.clone(), Some(newest.number)));
                break;
            }
        }
        let (builder, build) = match chosen {
            Some((name, number)) => (Some(name), number),
            None => (names.first().cloned(), None),
        };
        let config = self.engine.config();
        let worker = builder
            .as_deref()
            .and_then(|b| config.builder(b))
            .and_then(|b| b.workers.first().cloned())
            .or_else(|| config.workers.first().map(|w| w.name.clone()));
        let mut conn = self.engine.db.acquire().await?;
        let filter = db::changes::Filter::default();
        let change = db::changes::list_filtered(conn.conn(), &filter, db::changes::Order::Id, 1).await?;
        Ok(super::help::Examples { builder, build, worker, change: change.first().map(|c| c.id.0) })
    }
}
