//! The actions people take on a running master (DESIGN §4): stop builds, cancel pending
//! requests, stop everything a change caused, ping a builder's workers, pause or shut
//! down workers, shut the master down cleanly. Each is recorded with who asked and why,
//! and published on the bus.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::bus::Event;
use super::workers::WorkerActionError;
use super::{Engine, EngineError};
use crate::db;
use crate::model::{BuildId, BuildRequestId, ChangeId};

/// Who asked for an action and why.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The user, `None` for anonymous.
    pub actor: Option<String>,
    /// Their reason.
    pub reason: String,
}

impl Request {
    /// The actor's name for records.
    pub fn who(&self) -> &str {
        self.actor.as_deref().unwrap_or("anonymous")
    }
}

/// A build running on this master, so that it can be stopped.
#[derive(Debug)]
pub struct RunningBuild {
    /// Its builder.
    pub builder: String,
    /// Its number.
    pub number: i64,
    /// The request it runs.
    pub request: BuildRequestId,
    /// Cancelled when someone stops the build.
    pub stop: CancellationToken,
    /// Who stopped it and why.
    pub stopped_by: Mutex<Option<Request>>,
    /// The worker token of the step running now (0 between steps).
    pub step_token: AtomicU64,
}

/// The running builds of this master.
#[derive(Debug, Default)]
pub struct RunningBuilds(Mutex<HashMap<BuildId, std::sync::Arc<RunningBuild>>>);

impl RunningBuilds {
    /// Registers a build that starts.
    pub fn insert(&self, id: BuildId, build: std::sync::Arc<RunningBuild>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id, build);
        }
    }

    /// Forgets a build that ended.
    pub fn remove(&self, id: BuildId) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(&id);
        }
    }

    fn find(&self, pred: impl Fn(&RunningBuild) -> bool) -> Vec<(BuildId, std::sync::Arc<RunningBuild>)> {
        self.0
            .lock()
            .map(|m| m.iter().filter(|(_, b)| pred(b)).map(|(id, b)| (*id, b.clone())).collect())
            .unwrap_or_default()
    }

    /// The builds that run now (even past a panic that poisoned the lock: an empty answer
    /// would have them taken for builds that run nowhere).
    pub fn ids(&self) -> std::collections::HashSet<BuildId> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).keys().copied().collect()
    }

    /// How many builds run now.
    pub fn count(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// One worker's answer to a builder ping.
#[derive(Clone, Debug)]
pub struct PingResult {
    /// The worker.
    pub worker: String,
    /// Whether it answered in time.
    pub replied: bool,
    /// Round trip in milliseconds, when it answered.
    pub rtt_ms: Option<u64>,
    /// Why it did not answer.
    pub error: Option<String>,
}

/// The master's shutdown state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Stop taking builds, finish the running ones, exit.
    Start,
    /// Cancel a started clean shutdown.
    Stop,
    /// Exit now: running builds end `retry` and run again later.
    Now,
}

const PING_TIMEOUT: Duration = Duration::from_secs(5);

impl Engine {
    async fn record(&self, action: &str, target: &str, req: &Request) -> Result<(), EngineError> {
        let mut conn = self.db.acquire().await?;
        let payload = serde_json::json!({ "target": target, "reason": req.reason });
        db::events::insert(conn.conn(), action, self.clock.now(), req.actor.as_deref(), &payload).await?;
        tracing::info!(action, target, actor = req.who(), reason = req.reason, "action");
        self.bus.publish(Event::Action {
            action: action.to_owned(),
            actor: req.who().to_owned(),
            target: target.to_owned(),
            reason: req.reason.clone(),
        });
        Ok(())
    }

    fn stop_running(build: &RunningBuild, req: &Request) {
        if let Ok(mut by) = build.stopped_by.lock()
            && by.is_none()
        {
            *by = Some(req.clone());
        }
        build.stop.cancel();
    }

    /// Stops a running build; it ends `cancelled`.
    pub async fn stop_build(&self, builder: &str, number: i64, req: &Request) -> Result<(), EngineError> {
        let detail = self.build_detail(builder, number).await?;
        if detail.build.finished_at.is_some() {
            return Err(EngineError::Conflict(format!("build {number} of `{builder}` has already finished")));
        }
        let found = self.running.find(|b| b.builder == builder && b.number == number);
        let Some((_, build)) = found.first() else {
            return Err(EngineError::Conflict(format!("build {number} of `{builder}` runs on another master")));
        };
        self.record("stop_build", &format!("{builder}/{number}"), req).await?;
        Self::stop_running(build, req);
        Ok(())
    }

    /// Stops every running build (of one builder, if given); returns how many.
    pub async fn stop_all_builds(&self, builder: Option<&str>, req: &Request) -> Result<usize, EngineError> {
        if let Some(b) = builder
            && self.config().builder(b).is_none()
        {
            return Err(EngineError::NotFound(format!("no builder named `{b}`")));
        }
        let builds = self.running.find(|b| builder.is_none_or(|name| b.builder == name));
        self.record("stop_all_builds", builder.unwrap_or("*"), req).await?;
        for (_, build) in &builds {
            Self::stop_running(build, req);
        }
        Ok(builds.len())
    }

    /// Cancels one pending request.
    pub async fn cancel_request(&self, id: BuildRequestId, req: &Request) -> Result<(), EngineError> {
        let pending = {
            let mut conn = self.db.acquire().await?;
            match db::buildrequests::get(conn.conn(), id).await {
                Err(db::DbError::NotFound) => return Err(EngineError::NotFound(format!("no build request {}", id.0))),
                other => other?,
            }
        };
        if !self.cancel_one(id, &pending.builder).await? {
            return Err(EngineError::Conflict(format!("build request {} is no longer pending", id.0)));
        }
        self.record("cancel_pending_build", &id.0.to_string(), req).await
    }

    async fn cancel_one(&self, id: BuildRequestId, builder: &str) -> Result<bool, EngineError> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if !db::buildrequests::cancel(tx.conn(), id, now).await? {
            return Ok(false);
        }
        let set = db::buildrequests::buildset_of(tx.conn(), id).await?;
        let told = db::buildsets::complete_if_done(tx.conn(), set, now).await?
            && self.reporters().buildset_completed(tx.conn(), set, |b| self.builder_tags(b), now).await?;
        tx.commit().await?;
        if told {
            self.reporters().wake();
        }
        self.bus.publish(Event::BuildRequestCancelled { id, builder: builder.to_owned() });
        Ok(true)
    }

    /// Cancels the given pending requests, or all of them (of one builder, if given);
    /// returns the ids it cancelled. Requests that started meanwhile are left alone.
    pub async fn cancel_pending(
        &self,
        ids: Option<&[BuildRequestId]>,
        builder: Option<&str>,
        req: &Request,
    ) -> Result<Vec<BuildRequestId>, EngineError> {
        let pending = {
            let mut conn = self.db.acquire().await?;
            db::buildrequests::pending(conn.conn(), builder.unwrap_or(""), i64::MAX).await?
        };
        let mut cancelled = Vec::new();
        for p in pending {
            let id = BuildRequestId(p.id);
            if ids.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            if self.cancel_one(id, &p.builder).await? {
                cancelled.push(id);
            }
        }
        self.record("cancel_all_pending_builds", builder.unwrap_or("*"), req).await?;
        Ok(cancelled)
    }

    /// Cancels the pending requests and stops the running builds made for change `id`.
    pub async fn stop_change(&self, id: ChangeId, req: &Request) -> Result<(usize, usize), EngineError> {
        let requests = {
            let mut conn = self.db.acquire().await?;
            if let Err(db::DbError::NotFound) = db::changes::get(conn.conn(), id).await {
                return Err(EngineError::NotFound(format!("no change {}", id.0)));
            }
            db::buildrequests::unfinished_for_change(conn.conn(), id).await?
        };
        self.record("stop_change", &id.0.to_string(), req).await?;
        let mut cancelled = 0;
        for request in &requests {
            let builder = {
                let mut conn = self.db.acquire().await?;
                db::buildrequests::get(conn.conn(), *request).await?.builder
            };
            if self.cancel_one(*request, &builder).await? {
                cancelled += 1;
            }
        }
        let running = self.running.find(|b| requests.contains(&b.request));
        for (_, build) in &running {
            Self::stop_running(build, req);
        }
        Ok((cancelled, running.len()))
    }

    /// Pings every worker of a builder and reports which answered.
    pub async fn ping_builder(&self, builder: &str, req: &Request) -> Result<Vec<PingResult>, EngineError> {
        let config = self.config();
        let cfg =
            config.builder(builder).ok_or_else(|| EngineError::NotFound(format!("no builder named `{builder}`")))?;
        self.record("ping_builder", builder, req).await?;
        let pings = cfg.workers.iter().map(|worker| async move {
            let started = Instant::now();
            let (replied, error) = match self.workers.ping(worker).await {
                Err(_) => (false, Some("not connected".to_owned())),
                Ok(rx) => match tokio::time::timeout(PING_TIMEOUT, rx).await {
                    Ok(Ok(())) => (true, None),
                    _ => (false, Some(format!("no answer within {}s", PING_TIMEOUT.as_secs()))),
                },
            };
            let rtt_ms = replied.then(|| started.elapsed().as_millis() as u64);
            PingResult { worker: worker.clone(), replied, rtt_ms, error }
        });
        Ok(futures::future::join_all(pings).await)
    }

    /// Pauses or unpauses a worker: a paused worker finishes its builds but gets no new ones.
    pub async fn pause_worker(&self, name: &str, paused: bool, req: &Request) -> Result<(), EngineError> {
        self.workers
            .set_paused(name, paused)
            .map_err(|_| EngineError::NotFound(format!("no worker named `{name}`")))?;
        self.record(if paused { "pause_worker" } else { "unpause_worker" }, name, req).await?;
        self.publish_recorded(Event::WorkerPaused { name: name.to_owned(), paused }).await;
        if !paused {
            self.wake();
        }
        Ok(())
    }

    /// Asks a worker to finish its running builds, take no new ones, and disconnect.
    pub async fn graceful_shutdown_worker(&self, name: &str, req: &Request) -> Result<(), EngineError> {
        let now = match self.workers.set_graceful(name) {
            Ok(now) => now,
            Err(WorkerActionError::Unknown) => return Err(EngineError::NotFound(format!("no worker named `{name}`"))),
            Err(WorkerActionError::NotConnected) => {
                return Err(EngineError::Conflict(format!("worker `{name}` is not connected")));
            }
        };
        self.record("graceful_shutdown", name, req).await?;
        self.publish_recorded(Event::WorkerStopping { name: name.to_owned() }).await;
        if let Some(goodbye) = now {
            let _ = goodbye.send(crate::worker::protocol::MasterMsg::Shutdown).await;
        }
        Ok(())
    }

    /// Starts, cancels or forces the master's clean shutdown.
    pub async fn shutdown(&self, mode: ShutdownMode, req: &Request) -> Result<(), EngineError> {
        match mode {
            ShutdownMode::Start => {
                if self.draining.swap(true, Ordering::SeqCst) {
                    return Err(EngineError::Conflict("a clean shutdown is already under way".into()));
                }
                self.record("clean_shutdown", "master", req).await?;
                self.publish_recorded(Event::MasterStopping { name: self.master_name.clone() }).await;
                self.exit_when_idle();
            }
            ShutdownMode::Stop => {
                if self.exit.is_cancelled() || !self.draining.swap(false, Ordering::SeqCst) {
                    return Err(EngineError::Conflict("no clean shutdown is under way".into()));
                }
                self.record("cancel_clean_shutdown", "master", req).await?;
                self.publish_recorded(Event::MasterStarted { name: self.master_name.clone() }).await;
                self.wake();
            }
            ShutdownMode::Now => {
                self.record("shutdown_now", "master", req).await?;
                self.exit.cancel();
            }
        }
        Ok(())
    }

    /// Whether a clean shutdown is under way, and how many builds it waits for.
    pub fn shutdown_status(&self) -> (bool, usize) {
        (self.draining.load(Ordering::SeqCst), self.running.count())
    }

    /// Resolves when the master should exit (a shutdown finished draining, or `now`).
    pub async fn exit_requested(&self) {
        self.exit.cancelled().await;
    }

    fn exit_when_idle(&self) {
        let (draining, exit, running) = (self.draining.clone(), self.exit.clone(), self.running.clone());
        tokio::spawn(async move {
            loop {
                if !draining.load(Ordering::SeqCst) {
                    return;
                }
                if running.count() == 0 {
                    exit.cancel();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_requests_are_recorded_as_anonymous() {
        assert_eq!(Request::default().who(), "anonymous");
        assert_eq!(Request { actor: Some("ann".into()), reason: String::new() }.who(), "ann");
    }
}
