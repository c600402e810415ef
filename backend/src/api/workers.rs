//! `/workers`: the workers' state, and pausing or shutting them down.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::authz::require;
use super::caller::Caller;
use super::types::time;
use super::{ActionBody, ActionResult, ApiError, Tag};
use crate::auth::authz::Action;
use crate::engine::Engine;
use crate::engine::workers::WorkerStatus;

/// The workers resource.
#[derive(Debug, Default)]
pub struct WorkersApi;

/// A worker.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Worker {
    /// Its name.
    pub name: String,
    /// Whether it is connected (to this master or another sharing the database).
    pub connected: bool,
    /// The master it is connected to.
    #[oai(skip_serializing_if_is_none)]
    pub master: Option<String>,
    /// Runs inside the master.
    pub embedded: bool,
    /// Where it connected from.
    pub peer: Option<String>,
    /// Host info from its hello (os, arch, hostname, cpus).
    pub info: BTreeMap<String, String>,
    /// Its Cascade version.
    pub version: Option<String>,
    /// Paused workers take no new builds.
    pub paused: bool,
    /// Shutting down once its builds finish.
    pub graceful: bool,
    /// Builds running on it now.
    pub running_builds: i64,
    /// Most builds at once.
    pub max_builds: i64,
    /// The builders it serves.
    pub builders: Vec<String>,
    /// When it was last heard from.
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
}

/// All workers, by name.
#[derive(Debug, Object)]
pub struct WorkerList {
    /// The workers.
    pub workers: Vec<Worker>,
}

fn worker(engine: &Engine, s: WorkerStatus) -> Worker {
    let builders =
        engine.config().builders.iter().filter(|b| b.workers.contains(&s.name)).map(|b| b.name.clone()).collect();
    Worker {
        embedded: engine.config().worker(&s.name).is_some_and(|w| w.embedded),
        name: s.name,
        connected: s.connected,
        master: s.master,
        peer: s.peer,
        info: s.info,
        version: s.version,
        paused: s.paused,
        graceful: s.graceful,
        running_builds: s.running as i64,
        max_builds: s.max_builds as i64,
        builders,
        last_seen: s.last_seen.map(time),
    }
}

#[OpenApi(tag = "Tag::Workers")]
impl WorkersApi {
    /// Lists the configured workers with their connection state.
    #[oai(path = "/workers", method = "get", operation_id = "list_workers")]
    async fn list_workers(&self, engine: Data<&Arc<Engine>>) -> Result<Json<WorkerList>, ApiError> {
        let statuses = engine.worker_statuses().await?;
        Ok(Json(WorkerList { workers: statuses.into_iter().map(|s| worker(&engine, s)).collect() }))
    }

    /// One worker.
    #[oai(path = "/workers/:name", method = "get", operation_id = "get_worker")]
    async fn get_worker(&self, engine: Data<&Arc<Engine>>, name: Path<String>) -> Result<Json<Worker>, ApiError> {
        let status = engine.worker_statuses().await?.into_iter().find(|s| s.name == name.0);
        status
            .map(|s| Json(worker(&engine, s)))
            .ok_or_else(|| ApiError::not_found(format!("no worker named `{}`", name.0)))
    }

    /// Pauses a worker: it finishes its builds and takes no new ones until unpaused.
    #[oai(path = "/workers/:name/pause", method = "post", operation_id = "pause_worker")]
    async fn pause_worker(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::PauseWorker, body.0.reason)?;
        engine.pause_worker(&name, true, &req).await?;
        Ok(ActionResult::said(format!("paused {}", name.0)))
    }

    /// Unpauses a worker.
    #[oai(path = "/workers/:name/unpause", method = "post", operation_id = "unpause_worker")]
    async fn unpause_worker(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::PauseWorker, body.0.reason)?;
        engine.pause_worker(&name, false, &req).await?;
        Ok(ActionResult::said(format!("unpaused {}", name.0)))
    }

    /// Shuts a worker down gracefully: it finishes its builds, takes no new ones, disconnects.
    #[oai(path = "/workers/:name/shutdown", method = "post", operation_id = "shutdown_worker")]
    async fn shutdown_worker(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        name: Path<String>,
        body: Json<ActionBody>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let req = require(&engine, &caller, Action::GracefulShutdown, body.0.reason)?;
        engine.graceful_shutdown_worker(&name, &req).await?;
        Ok(ActionResult::said(format!("{} will shut down once its builds finish", name.0)))
    }
}
