//! The masters sharing a database keep an eye on each other: each notes every `[db]
//! heartbeat` seconds that it runs, and a master silent for `lost_after` seconds is declared
//! lost by whichever master notices first (one update decides, so it happens once). The
//! builds it was running end `retry` and its build requests go back to the queue, where the
//! others take them; the same happens to a master's own builds when it restarts after dying.

use std::sync::Arc;
use std::time::Duration;

use super::bus::Event;
use super::{Engine, EngineError};
use crate::db::{self, Conn};
use crate::model::{Build, ChangeId, MasterId, Results};

/// A build ended because its master went away, with its blamelist, to publish once the
/// transaction that ended it has committed.
pub(super) type Ended = (Build, Vec<ChangeId>);

impl Engine {
    /// Ends the builds `master` left running (`retry`, with `why` as their state) and puts
    /// their requests and the ones it had claimed back in the queue, in `conn`'s transaction;
    /// the reporters hear of each end. Returns the builds, and whether reporters have news.
    pub(super) async fn release_master(
        &self,
        mut conn: Conn<'_>,
        master: MasterId,
        why: &str,
        now: i64,
    ) -> Result<(Vec<Ended>, bool), EngineError> {
        let builds = db::builds::unfinished_for_master(conn.reborrow(), master).await?;
        let released = self.end_for_retry(conn.reborrow(), builds, why, now).await?;
        db::buildrequests::unclaim_all(conn.reborrow(), master).await?;
        db::workers::disconnect_all(conn.reborrow(), master).await?;
        Ok(released)
    }

    /// Ends `builds` `retry` with `why` as their state and puts their requests back in the
    /// queue, in `conn`'s transaction; the reporters hear of each end. A build something
    /// else has ended meanwhile is left as it is.
    async fn end_for_retry(
        &self,
        mut conn: Conn<'_>,
        builds: Vec<Build>,
        why: &str,
        now: i64,
    ) -> Result<(Vec<Ended>, bool), EngineError> {
        let mut ended = Vec::new();
        let mut told = false;
        for build in builds {
            if !db::builds::finish(conn.reborrow(), build.id, Results::Retry, why, now).await? {
                continue;
            }
            db::steps::interrupt_open(conn.reborrow(), build.id, Results::Retry, now).await?;
            db::buildrequests::unclaim(conn.reborrow(), build.buildrequest_id).await?;
            let finished = db::builds::get(conn.reborrow(), build.id).await?;
            let set = db::buildrequests::buildset_of(conn.reborrow(), build.buildrequest_id).await?;
            let changes = db::buildsets::change_ids(conn.reborrow(), set).await?;
            let tags = self.builder_tags(&build.builder);
            told |= self.reporters().build_finished(conn.reborrow(), &finished, &tags, &changes, now).await?;
            ended.push((finished, changes));
        }
        Ok((ended, told))
    }

    /// Ends `retry` the builds the database says this master runs and it does not: a start
    /// whose commit failed may have been stored all the same, by a server that went away
    /// between committing and answering, and a build whose end could not be recorded stays
    /// running there; nothing else would ever end them while this master lives. Their
    /// requests go back to the queue.
    pub(super) async fn release_orphans(&self) -> Result<(), EngineError> {
        // Only the dispatcher, which calls this, adds running builds, and a build leaves the
        // running ones once its end is recorded or given up on: an unfinished build of this
        // master that was not among them when this list was taken runs nowhere.
        let running = self.running.ids();
        let now = self.clock.now();
        let unfinished = {
            // Read first, outside a transaction: on SQLite a transaction takes the one writer.
            let mut conn = self.db.acquire().await?;
            db::builds::unfinished_for_master(conn.conn(), self.master).await?
        };
        let orphans: Vec<Build> = unfinished.into_iter().filter(|b| !running.contains(&b.id)).collect();
        if orphans.is_empty() {
            return Ok(());
        }
        // A build ended meanwhile is left as it is (`end_for_retry`).
        let mut tx = self.db.begin().await?;
        let why = "retry: its master lost track of it in a database failure";
        let (ended, told) = self.end_for_retry(tx.conn(), orphans, why, now).await?;
        tx.commit().await?;
        for (build, _) in &ended {
            tracing::warn!(
                builder = %build.builder,
                number = build.number,
                "a build that the database holds as running and this master does not run will run again"
            );
        }
        self.publish_released(ended, told);
        Ok(())
    }

    /// Publishes the ends of builds released by [`Engine::release_master`], once committed.
    pub(super) fn publish_released(&self, ended: Vec<Ended>, told: bool) {
        if told {
            self.reporters().wake();
        }
        for (build, changes) in ended {
            self.bus.publish(Event::BuildFinished { build, changes });
        }
        self.wake();
    }

    /// Records where this master serves its web pages, for the other masters' lists.
    pub async fn set_address(&self, address: &str) -> Result<(), EngineError> {
        let mut conn = self.db.acquire().await?;
        db::masters::set_address(conn.conn(), self.master, address).await?;
        Ok(())
    }

    /// Notes that this master runs, and declares lost the masters silent for too long.
    async fn beat(&self) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut conn = self.db.acquire().await?;
        if !db::masters::touch(conn.conn(), self.master, now).await? {
            tracing::error!(
                "another master declared this one lost (its heartbeat stopped for longer than [db] lost_after): \
                 the builds it was running were given to the others; taking part again"
            );
            db::masters::upsert(conn.conn(), &self.master_name, now).await?;
        }
        let since = now - i64::try_from(self.config().db.lost_after).unwrap_or(i64::MAX);
        let silent = db::masters::silent(conn.conn(), since, self.master).await?;
        drop(conn);
        for master in silent {
            self.declare_lost(master, since, now).await?;
        }
        Ok(())
    }

    /// Declares `master` lost if it still is silent since `since` and no other master did it
    /// first, and releases its builds and requests.
    async fn declare_lost(&self, master: MasterId, since: i64, now: i64) -> Result<(), EngineError> {
        let mut tx = self.db.begin().await?;
        let Some(name) = db::masters::declare_lost(tx.conn(), master, since, now).await? else { return Ok(()) };
        let (ended, told) = self.release_master(tx.conn(), master, "its master was lost", now).await?;
        tx.commit().await?;
        tracing::warn!(
            master = %name,
            builds = ended.len(),
            "a master's heartbeat stopped: declared lost; its builds will run again"
        );
        self.publish_released(ended, told);
        self.publish_recorded(Event::MasterLost { name }).await;
        Ok(())
    }
}

/// Beats every `[db] heartbeat` seconds until the engine stops.
pub(super) async fn heartbeat(engine: Arc<Engine>) {
    let mut every = tokio::time::interval(Duration::from_secs(engine.config().db.heartbeat));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(error) = engine.beat().await {
            tracing::warn!(%error, "could not note that this master runs, or check the others");
        }
    }
}
