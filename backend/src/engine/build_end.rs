//! The end of a build, recorded in one transaction with its last step's end, and tried again
//! while the database cannot take it.

use std::time::Duration;

use super::actions::Request;
use super::bus::Event;
use super::runner::{StepEnd, build_state_text};
use super::{Engine, EngineError};
use crate::db;
use crate::model::{Build, Results};

/// The longest wait between tries to record the end of a build the database would not take.
const RECORD_END_WAIT_MAX: Duration = Duration::from_secs(5);

/// How a build ended, to be recorded.
pub(super) struct BuildEnd {
    pub results: Results,
    pub last_step: Option<String>,
    /// The state text, when the build ended for a reason of the master's own.
    pub why: Option<&'static str>,
    pub stopped_by: Option<Request>,
    pub step_end: Option<StepEnd>,
}

impl Engine {
    /// Records the end of a build, trying again while the database cannot take it (a
    /// restarting server, a full disk): a build whose end is not recorded would stay running,
    /// its request claimed, until the master restarts. Gives up when the master stops, which
    /// marks the build `retry` on its way out. Returns whether the end was recorded.
    pub(super) async fn record_end(&self, build: &Build, mut end: BuildEnd) -> bool {
        let mut wait = Duration::from_millis(250);
        let mut retrying = false;
        loop {
            match self.finish_build(build, &mut end, retrying).await {
                Ok(()) => return true,
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = ?e, build = build.id.0, "could not record the end of a build yet; trying again");
                }
                Err(e) => {
                    tracing::error!(error = ?e, build = build.id.0, "could not record the end of a build");
                    return false;
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(RECORD_END_WAIT_MAX);
            retrying = true;
        }
    }

    /// Records the build's end, with its last step's end (taken out of `end` once
    /// recorded), in one transaction. `retrying` after a try that failed, which the database
    /// may have stored all the same (a server that went away between committing and
    /// answering): then what is stored already is not written again.
    async fn finish_build(&self, build: &Build, end: &mut BuildEnd, retrying: bool) -> Result<(), EngineError> {
        let (results, now) = (end.results, self.clock.now());
        let text = match (end.why, &end.stopped_by, results) {
            (Some(why), _, _) => why.to_owned(),
            (None, Some(req), Results::Cancelled) if req.reason.is_empty() => format!("stopped by {}", req.who()),
            (None, Some(req), Results::Cancelled) => format!("stopped by {}: {}", req.who(), req.reason),
            _ => build_state_text(results, end.last_step.as_deref()),
        };
        let mut tx = self.db.begin().await?;
        if retrying {
            let stored = db::builds::get(tx.conn(), build.id).await?;
            if stored.results == Some(results) && stored.state_text == text {
                // The try before stored this very end: only its events are left to publish.
                let set = db::buildrequests::buildset_of(tx.conn(), build.buildrequest_id).await?;
                let changes = db::buildsets::change_ids(tx.conn(), set).await?;
                tx.commit().await?;
                // What the try before gave the reporters is stored, and nobody woke them.
                self.reporters().wake();
                if let Some(step) = end.step_end.take() {
                    self.publish_step_end(build, step);
                }
                self.bus.publish(Event::BuildFinished { build: stored, changes });
                return Ok(());
            }
        }
        if let Some(step) = &end.step_end {
            step.record(tx.conn()).await?;
        }
        if !db::builds::finish(tx.conn(), build.id, results, &text, now).await? {
            tx.commit().await?;
            if let Some(step) = end.step_end.take() {
                self.publish_step_end(build, step);
            }
            // Another master declared this one lost and ended the build: its request is
            // someone else's now.
            tracing::warn!(
                builder = %build.builder,
                number = build.number,
                "a build ended here had been ended by another master that declared this one lost; its result is dropped"
            );
            return Ok(());
        }
        if matches!(results, Results::Retry | Results::Exception) {
            // A step whose start was stored when the build gave up.
            db::steps::interrupt_open(tx.conn(), build.id, results, now).await?;
        }
        let set = db::buildrequests::buildset_of(tx.conn(), build.buildrequest_id).await?;
        let set_done = if results == Results::Retry {
            db::buildrequests::unclaim(tx.conn(), build.buildrequest_id).await?;
            false
        } else {
            db::buildrequests::complete(tx.conn(), build.buildrequest_id, results, now).await?;
            db::buildsets::complete_if_done(tx.conn(), set, now).await?
        };
        let finished = db::builds::get(tx.conn(), build.id).await?;
        let changes = db::buildsets::change_ids(tx.conn(), set).await?;
        let tags = self.builder_tags(&build.builder);
        let mut told = self.reporters().build_finished(tx.conn(), &finished, &tags, &changes, now).await?;
        if set_done {
            told |= self.reporters().buildset_completed(tx.conn(), set, |b| self.builder_tags(b), now).await?;
        }
        tx.commit().await?;
        if told {
            self.reporters().wake();
        }
        if let Some(step) = end.step_end.take() {
            self.publish_step_end(build, step);
        }
        self.bus.publish(Event::BuildFinished { build: finished, changes });
        Ok(())
    }
}
