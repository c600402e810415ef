//! Time-driven scheduling: tree-stable timers, periodic and nightly schedulers. Decisions
//! use the injected clock, so tests drive them by calling [`Engine::tick`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, TimeZone};

use super::properties;
use super::schedulers::{self, cron};
use super::{Engine, EngineError, stamp_of};
use crate::config::{SchedulerConfig, SchedulerKind};
use crate::db::buildsets::{NewBuildSet, NewSourceStamp};
use crate::db::{self};

/// Ticks once a second.
pub(super) async fn run(engine: Arc<Engine>) {
    loop {
        if let Err(e) = engine.tick().await {
            tracing::error!(error = ?e, "scheduler tick failed");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Engine {
    /// Runs every time-driven scheduler decision that is due now.
    pub async fn tick(&self) -> Result<(), EngineError> {
        for scheduler in &self.config().schedulers {
            match &scheduler.kind {
                SchedulerKind::SingleBranch { tree_stable_timer, .. }
                | SchedulerKind::AnyBranch { tree_stable_timer, .. }
                    if *tree_stable_timer > 0 =>
                {
                    self.release_stable(scheduler, *tree_stable_timer).await?;
                }
                SchedulerKind::Periodic { interval, branch } => {
                    let last = self.last_run(scheduler).await?;
                    if schedulers::periodic_due(last, *interval, self.clock.now()) {
                        self.fire_timed(scheduler, branch.clone(), last).await?;
                    }
                }
                SchedulerKind::Nightly { minute, hour, day_of_month, month, day_of_week, branch } => {
                    let now = self.clock.now();
                    let minute_start = now - now.rem_euclid(60);
                    let Some(local) = Local.timestamp_opt(now, 0).single() else { continue };
                    let fields =
                        [minute.as_str(), hour.as_str(), day_of_month.as_str(), month.as_str(), day_of_week.as_str()];
                    let last = self.last_run(scheduler).await?;
                    if cron::matches(fields, &local) && last.is_none_or(|l| l < minute_start) {
                        self.fire_timed(scheduler, branch.clone(), last).await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn last_run(&self, scheduler: &SchedulerConfig) -> Result<Option<i64>, EngineError> {
        let mut conn = self.db.acquire().await?;
        let value = db::state::get(conn.conn(), &format!("scheduler:{}", scheduler.name), "last_run").await?;
        Ok(value.and_then(|v| v.parse().ok()))
    }

    /// A periodic or nightly scheduler builds its branch now, unless another tick (or
    /// another master) already did since `last` was read.
    async fn fire_timed(
        &self,
        scheduler: &SchedulerConfig,
        branch: Option<String>,
        last: Option<i64>,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let object = format!("scheduler:{}", scheduler.name);
        let last = last.map(|l| l.to_string());
        let set = NewBuildSet {
            reason: schedulers::reason(scheduler),
            scheduler: scheduler.name.clone(),
            owner: None,
            properties: properties::for_buildset(&scheduler.properties, None, &BTreeMap::new()),
        };
        let stamp = NewSourceStamp { branch, ..Default::default() };
        let mut events = Vec::new();
        let mut tx = self.db.begin().await?;
        if !db::state::compare_and_set(tx.conn(), &object, "last_run", last.as_deref(), &now.to_string()).await? {
            return Ok(());
        }
        self.create_buildset(&mut tx, &set, &[stamp], &[], &scheduler.builders, &mut events).await?;
        tx.commit().await?;
        self.publish_all(events);
        Ok(())
    }

    /// Builds the changes a scheduler held once none has arrived for `timer` seconds.
    async fn release_stable(&self, scheduler: &SchedulerConfig, timer: u64) -> Result<(), EngineError> {
        let held = {
            let mut conn = self.db.acquire().await?;
            db::scheduler_changes::list(conn.conn(), &scheduler.name).await?
        };
        let arrivals: Vec<i64> = held.iter().map(|(_, at)| *at).collect();
        if !schedulers::is_stable(&arrivals, timer, self.clock.now()) {
            return Ok(());
        }
        let ids: Vec<_> = held.iter().map(|(id, _)| *id).collect();
        let Some(&last) = ids.last() else { return Ok(()) };
        let mut tx = self.db.begin().await?;
        if db::scheduler_changes::clear(tx.conn(), &scheduler.name, last).await? != ids.len() as u64 {
            return Ok(());
        }
        let newest = db::changes::get(tx.conn(), last).await?;
        let set = NewBuildSet {
            reason: schedulers::reason(scheduler),
            scheduler: scheduler.name.clone(),
            owner: None,
            properties: properties::for_buildset(
                &scheduler.properties,
                Some(&newest.fields.properties),
                &BTreeMap::new(),
            ),
        };
        let mut events = Vec::new();
        self.create_buildset(&mut tx, &set, &[stamp_of(&newest.fields)], &ids, &scheduler.builders, &mut events)
            .await?;
        tx.commit().await?;
        self.publish_all(events);
        Ok(())
    }
}
