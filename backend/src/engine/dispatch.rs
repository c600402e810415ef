//! Dispatch: pending build requests go to idle workers. A request is claimed in the
//! database (so two masters never run the same one) in the same transaction that starts
//! its build.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::bus::Event;
use super::properties;
use super::{Engine, EngineError};
use crate::db::{self, builds::NewBuild};
use crate::model::{Build, WorkerId};

/// Looks for work whenever woken, and every second in case another master queued some.
pub(super) async fn run(engine: Arc<Engine>) {
    loop {
        if engine.orphaned.swap(false, Ordering::SeqCst) && engine.release_orphans().await.is_err() {
            engine.orphaned.store(true, Ordering::SeqCst);
        }
        engine.dispatch_once().await;
        tokio::select! {
            _ = engine.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

impl Engine {
    /// Starts a build for every pending request an idle worker can take. A start that
    /// failed may have been stored all the same (a server that goes away between committing
    /// and answering), leaving a build nobody runs: it is marked for
    /// [`Engine::release_orphans`].
    async fn dispatch_once(self: &Arc<Self>) {
        if self.draining.load(Ordering::SeqCst) {
            return;
        }
        // One query tells which builders have work, so idle builders cost nothing.
        let pending = match self.db.acquire().await {
            Ok(mut conn) => db::buildrequests::pending_counts(conn.conn()).await.unwrap_or_default(),
            Err(_) => return,
        };
        for builder in &self.config().builders {
            let mut waiting = self.builder_id(&builder.name).and_then(|id| pending.get(&id.0).copied()).unwrap_or(0);
            while waiting > 0
                && let Some((worker, worker_id)) = self.workers.reserve(&builder.workers)
            {
                match self.claim_and_start(&builder.name, worker_id, &worker).await {
                    Ok(Some(build)) => {
                        waiting -= 1;
                        let running = self.register_running(&build);
                        let engine = self.clone();
                        self.spawn(engine.run_build(build, worker, running));
                    }
                    Ok(None) => {
                        self.workers.release(&worker);
                        break;
                    }
                    Err(EngineError::Db(crate::db::DbError::Conflict(_))) => {
                        // Another master took the same build number first; try again.
                        self.workers.release(&worker);
                        self.wake();
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = ?e, builder = builder.name, "could not start a build");
                        self.workers.release(&worker);
                        self.orphaned.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }
    }

    /// Claims the builder's next request and starts its build, in one transaction.
    async fn claim_and_start(
        &self,
        builder: &str,
        worker_id: WorkerId,
        worker: &str,
    ) -> Result<Option<Build>, EngineError> {
        let Some(builder_id) = self.builder_id(builder) else { return Ok(None) };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let Some(claimed) = db::buildrequests::claim_next(tx.conn(), builder_id, self.master, now).await? else {
            return Ok(None);
        };
        let source = db::buildsets::first_source(tx.conn(), claimed.buildset()).await?;
        let set = db::buildsets::details(tx.conn(), claimed.buildset()).await?;
        let builder_properties = self.config().builder(builder).map(|b| b.properties.clone()).unwrap_or_default();
        let mut properties = properties::for_build(
            &builder_properties,
            set.properties,
            [
                ("buildername", Some(builder.into())),
                ("workername", Some(worker.into())),
                ("branch", source.branch.clone().map(Into::into)),
                ("revision", source.revision.clone().map(Into::into)),
            ],
        );
        let new = NewBuild {
            builder_id,
            buildrequest_id: claimed.request(),
            worker_id,
            master_id: self.master,
            reason: &set.reason,
            properties: &properties.values,
            source: &source,
        };
        let (id, number) = db::builds::insert(tx.conn(), &new, now).await?;
        properties.set("buildnumber", number.into(), "Build");
        db::builds::set_properties(tx.conn(), id, &properties).await?;
        let build = db::builds::get(tx.conn(), id).await?;
        let changes = db::buildsets::change_ids(tx.conn(), claimed.buildset()).await?;
        let tags = self.builder_tags(builder);
        let started = self.reporters().build_started(tx.conn(), &build, &tags, &changes, now).await?;
        tx.commit().await?;
        self.reporters().started(started);
        self.bus.publish(Event::BuildStarted { build: build.clone(), changes });
        Ok(Some(build))
    }
}
