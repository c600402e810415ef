//! `/master`: the master's own state, and its clean shutdown.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::types::time;
use super::{ActionResult, ApiError, Tag};
use crate::auth::authz::Action;
use crate::engine::Engine;
use crate::engine::actions::ShutdownMode;
use crate::model::MasterId;
use crate::{build_info, db};

/// The master resource.
#[derive(Debug, Default)]
pub struct MasterApi;

/// The master.
#[derive(Debug, Object)]
pub struct Master {
    /// Its name (host and configuration directory).
    pub name: String,
    /// The configured title.
    pub title: String,
    /// Where the title links to.
    #[oai(skip_serializing_if_is_none)]
    pub title_url: Option<String>,
    /// Cascade's version.
    pub version: String,
    /// "sqlite" or "postgres".
    pub database: String,
    /// Whether a clean shutdown is under way.
    pub shutting_down: bool,
    /// Builds running on this master.
    pub running_builds: i64,
    /// When this master started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Seconds since it started.
    pub uptime: i64,
    /// The database engine's version.
    pub database_version: String,
    /// The database's size in bytes.
    pub database_size: i64,
    /// The main libraries this binary was built with (Rust crates, then the web UI's).
    pub libraries: Vec<Library>,
    /// Every master sharing the database, running ones first.
    pub masters: Vec<MasterInfo>,
}

/// A library and its version.
#[derive(Debug, Object)]
pub struct Library {
    /// Its name (a crate, or an npm package of the web UI).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// A master sharing the database.
#[derive(Debug, Object)]
pub struct MasterInfo {
    /// Its name (host and configuration directory).
    pub name: String,
    /// Where it serves its web pages (empty until it listens).
    pub address: String,
    /// Whether it runs.
    pub active: bool,
    /// Whether it runs, stopped cleanly, or was declared lost when its heartbeat stopped.
    pub state: MasterState,
    /// When it (last) started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Its last heartbeat while it ran (or when it stopped).
    pub last_active: chrono::DateTime<chrono::Utc>,
    /// When another master declared it lost.
    #[oai(skip_serializing_if_is_none)]
    pub lost_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether it is the master answering.
    pub current: bool,
}

/// A master's state.
#[derive(Debug, Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum MasterState {
    /// It runs and its heartbeat is current.
    Running,
    /// It stopped cleanly.
    Stopped,
    /// Its heartbeat stopped; another master gave its builds to the others.
    Lost,
}

impl MasterInfo {
    fn new(m: db::masters::MasterRow, current: MasterId) -> Self {
        let state = match (m.active != 0, m.lost_at) {
            (true, _) => MasterState::Running,
            (false, Some(_)) => MasterState::Lost,
            (false, None) => MasterState::Stopped,
        };
        MasterInfo {
            current: m.id == current.0,
            name: m.name,
            address: m.address,
            active: m.active != 0,
            state,
            started_at: time(m.started_at),
            last_active: time(m.last_active),
            lost_at: m.lost_at.map(time),
        }
    }
}

/// What to do with the master's clean shutdown.
#[derive(Debug, Enum, Clone, Copy)]
#[oai(rename_all = "lowercase")]
pub enum Mode {
    /// Take no new builds, finish the running ones, exit.
    Start,
    /// Cancel a clean shutdown under way.
    Stop,
    /// Exit now; running builds end `retry` and run again later.
    Now,
}

/// A shutdown request.
#[derive(Debug, Object)]
pub struct ShutdownBody {
    /// What to do.
    pub mode: Mode,
    /// Why.
    pub reason: Option<String>,
}

#[OpenApi(tag = "Tag::Master")]
impl MasterApi {
    /// The master's state (`shutting_down` answers 0.8.9's `shutdown check`).
    #[oai(path = "/master", method = "get", operation_id = "get_master")]
    async fn get_master(&self, engine: Data<&Arc<Engine>>) -> Result<Json<Master>, ApiError> {
        let (shutting_down, running) = engine.shutdown_status();
        let masters = {
            let mut conn = engine.db.acquire().await?;
            db::masters::list(conn.conn()).await?
        };
        Ok(Json(Master {
            name: engine.master_name.clone(),
            title: engine.config().title.clone(),
            title_url: engine.config().title_url.clone(),
            version: build_info::VERSION.into(),
            database: engine.db.backend().into(),
            shutting_down,
            running_builds: running as i64,
            started_at: time(engine.started_at),
            uptime: (engine.clock.now() - engine.started_at).max(0),
            database_version: engine.db.server_version().await?,
            database_size: engine.db.size().await?,
            libraries: build_info::LIBRARIES
                .iter()
                .map(|(name, version)| Library { name: (*name).into(), version: (*version).into() })
                .collect(),
            masters: masters.into_iter().map(|m| MasterInfo::new(m, engine.master)).collect(),
        }))
    }

    /// Every master sharing the database, running ones first: where each serves, when it
    /// started, its last heartbeat and its state.
    #[oai(path = "/masters", method = "get", operation_id = "list_masters")]
    async fn list_masters(&self, engine: Data<&Arc<Engine>>) -> Result<Json<Vec<MasterInfo>>, ApiError> {
        let mut conn = engine.db.acquire().await?;
        let masters = db::masters::list(conn.conn()).await?;
        Ok(Json(masters.into_iter().map(|m| MasterInfo::new(m, engine.master)).collect()))
    }

    /// Re-reads the configuration file the master started with and puts it in place without
    /// dropping a build, a worker or an event stream (as `SIGHUP` does); answers what
    /// changed. A configuration with errors is refused whole, each error with its file and
    /// line, and the running one stays.
    #[oai(path = "/master/reconfig", method = "post", operation_id = "reconfig_master")]
    async fn reconfig_master(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::Reconfig, None)?;
        let summary = engine.reconfigure_from_file(req.who(), crate::web::check_files).await?;
        Ok(ActionResult::said(format!("reconfigured: {summary}")))
    }

    /// Starts, cancels or forces the master's shutdown.
    #[oai(path = "/master/shutdown", method = "post", operation_id = "shutdown_master")]
    async fn shutdown_master(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        body: Json<ShutdownBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let body = body.0;
        let req = require(&engine, &caller, Action::CleanShutdown, body.reason)?;
        let (mode, message) = match body.mode {
            Mode::Start => (ShutdownMode::Start, "the master will exit once its running builds finish"),
            Mode::Stop => (ShutdownMode::Stop, "clean shutdown cancelled"),
            Mode::Now => (ShutdownMode::Now, "the master is exiting now"),
        };
        engine.shutdown(mode, &req).await?;
        Ok(ActionResult::said(message))
    }
}
