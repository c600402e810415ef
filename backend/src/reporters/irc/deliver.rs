//! Sending a stored notification: the outbox row names the build and the contacts decided
//! on when it started or finished; the text is written now (with the build's changes read
//! from the database) and said to each contact not muted, each followed by a PING, and the
//! row counts as sent once the server has answered them all. While the bot is not
//! registered the delivery is not ready and the outbox leaves the notifications untried
//! (for later, or for another master's bot); cut off before the answers, the outbox tries
//! again later, without the contacts already confirmed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::format::{self, BuildSummary, Style};
use super::{Shared, lock};
use crate::engine::{Engine, EngineError};
use crate::model::{Build, BuildRequestId, Results};
use crate::reporters::outbox::{Deliver, DeliverError};

/// How long the server may take to answer a PING, counted from when the PING left the
/// pacer (a long queue of lines ahead of it never makes a notification go out twice).
const CONFIRM_WITHIN: Duration = Duration::from_secs(30);

/// One stored notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// `started` or `finished`.
    pub event: String,
    /// The build's id.
    pub build: i64,
    /// Its builder.
    pub builder: String,
    /// Its number.
    pub number: i64,
    /// Its request (what watchers watch).
    pub request: i64,
    /// Its results, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
    /// Its state text, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The contacts to tell.
    pub targets: Vec<String>,
}

impl Note {
    /// The notification of `build`'s start or end for `targets`.
    pub fn new(build: &Build, started: bool, targets: Vec<String>) -> Note {
        Note {
            event: if started { "started" } else { "finished" }.to_owned(),
            build: build.id.0,
            builder: build.builder.clone(),
            number: build.number,
            request: build.buildrequest_id.0,
            results: if started { None } else { build.results.map(|r| r.name().to_owned()) },
            text: (!started).then(|| build.state_text.clone()),
            targets,
        }
    }

    /// As stored.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn started(&self) -> bool {
        self.event == "started"
    }

    fn results(&self) -> Option<Results> {
        self.results.as_deref().and_then(|r| r.parse().ok())
    }
}

/// How many notifications at most remember which of their targets have them.
const REMEMBERED: usize = 256;

/// The targets the server has confirmed, per notification (its build and event), while the
/// notification is not yet sent: a retry on this master skips them. Only the newest
/// [`REMEMBERED`] notifications are kept; a retry by another master, or after a restart,
/// tells every target again.
#[derive(Debug, Default)]
struct Confirmed(BTreeMap<(i64, String), BTreeSet<String>>);

impl Confirmed {
    fn key(note: &Note) -> (i64, String) {
        (note.build, note.event.clone())
    }

    /// Whether `target` has `note` already.
    fn has(&self, note: &Note, target: &str) -> bool {
        self.0.get(&Self::key(note)).is_some_and(|t| t.contains(target))
    }

    fn add(&mut self, note: &Note, target: &str) {
        self.0.entry(Self::key(note)).or_default().insert(target.to_owned());
        while self.0.len() > REMEMBERED {
            self.0.pop_first();
        }
    }

    /// Forgets a notification that is sent.
    fn sent(&mut self, note: &Note) {
        self.0.remove(&Self::key(note));
    }
}

/// Sends one IRC reporter's stored notifications.
pub struct Delivery {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    confirmed: Mutex<Confirmed>,
}

impl Delivery {
    /// The delivery of `shared`'s notifications.
    pub fn new(engine: Arc<Engine>, shared: Arc<Shared>) -> Delivery {
        Delivery { engine, shared, confirmed: Mutex::default() }
    }

    /// What the notification says about its build.
    async fn summary(&self, note: &Note) -> Result<BuildSummary, DeliverError> {
        let (changes, source_revision) = match self.engine.build_detail(&note.builder, note.number).await {
            Ok(detail) => (detail.changes.unwrap_or_default(), detail.build.revision),
            // Pruned since: the message goes out without the changes.
            Err(EngineError::NotFound(_)) => (Vec::new(), None),
            Err(e) => return Err(DeliverError::Transient(e.to_string())),
        };
        let mut revisions: Vec<String> = changes.iter().filter_map(|c| c.fields.revision.clone()).collect();
        if changes.is_empty() {
            revisions.extend(source_revision);
        }
        let mut authors: Vec<String> = Vec::new();
        for c in &changes {
            if !authors.contains(&c.fields.author) {
                authors.push(c.fields.author.clone());
            }
        }
        Ok(BuildSummary {
            builder: note.builder.clone(),
            number: note.number,
            revisions,
            changes: changes.len(),
            authors,
            results: note.results(),
            state_text: note.text.clone().unwrap_or_default(),
            url: format::build_url(&self.engine.config().base_url, &note.builder, note.number),
        })
    }

    fn style(&self) -> Style {
        let c = &self.shared.config;
        Style { colors: c.use_colors, revisions: c.use_revisions, blame: c.show_blame_list }
    }

    /// Forgets who watched a request whose build has now been reported (a retried build
    /// runs again, and its watchers wait for that).
    async fn forget_watchers(&self, note: &Note) {
        if note.started() || note.results() == Some(Results::Retry) {
            return;
        }
        if self.shared.contacts().unwatch(BuildRequestId(note.request))
            && let Err(e) = self.shared.save(&self.engine.db).await
        {
            tracing::warn!(reporter = %self.shared.name, error = %e, "could not save the IRC contacts");
        }
    }
}

impl Deliver for Delivery {
    /// Registered on the server: until then the notifications wait, untried, for this bot
    /// or another master's (the bot wakes the sender once registered).
    fn ready(&self) -> bool {
        self.shared.link().is_some()
    }

    /// Each target's lines are followed by a PING of their own, all queued at once: the
    /// server answers in order, so each answer confirms one more target. Cut off before
    /// every answer came, the notification is tried again without the targets already
    /// confirmed (on this master; see [`Confirmed`]). A target whose lines reached the
    /// server just before the connection went hears them again: delivery is at least once
    /// per target.
    async fn deliver(&self, payload: &serde_json::Value) -> Result<(), DeliverError> {
        let note: Note = serde_json::from_value(payload.clone())
            .map_err(|e| DeliverError::Permanent(format!("not an IRC notification: {e}")))?;
        let unmuted: Vec<&String> = {
            let contacts = self.shared.contacts();
            note.targets.iter().filter(|t| !contacts.muted(t)).collect()
        };
        let targets: Vec<&String> = {
            let confirmed = lock(&self.confirmed);
            unmuted.into_iter().filter(|t| !confirmed.has(&note, t)).collect()
        };
        if !targets.is_empty() {
            let link =
                self.shared.link().ok_or_else(|| DeliverError::Transient("not connected to the IRC server".into()))?;
            let summary = self.summary(&note).await?;
            let text = if note.started() {
                format::started(&summary, self.style())
            } else {
                format::finished(&summary, self.style())
            };
            let mut pings = Vec::with_capacity(targets.len());
            for target in targets {
                if !link.say(target, &text).await {
                    return Err(DeliverError::Transient("the connection to the IRC server closed".into()));
                }
                pings.push((target, link.ping().await.map_err(DeliverError::Transient)?));
            }
            for (target, ping) in pings {
                link.answered(ping, CONFIRM_WITHIN).await.map_err(DeliverError::Transient)?;
                lock(&self.confirmed).add(&note, target);
            }
        }
        lock(&self.confirmed).sent(&note);
        self.forget_watchers(&note).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(build: i64, event: &str) -> Note {
        Note {
            event: event.into(),
            build,
            builder: "app".into(),
            number: build,
            request: build,
            results: None,
            text: None,
            targets: vec!["#ci".into(), "#dev".into()],
        }
    }

    #[test]
    fn confirmed_targets_are_remembered_per_notification_until_it_is_sent() {
        let mut c = Confirmed::default();
        let (started, finished) = (note(1, "started"), note(1, "finished"));
        c.add(&started, "#ci");
        assert!(c.has(&started, "#ci") && !c.has(&started, "#dev") && !c.has(&finished, "#ci"));
        c.sent(&started);
        assert!(!c.has(&started, "#ci"));
        // Bounded: the oldest builds' notifications are forgotten first.
        for build in 0..=REMEMBERED as i64 {
            c.add(&note(build, "finished"), "#ci");
        }
        assert_eq!(c.0.len(), REMEMBERED);
        assert!(!c.has(&note(0, "finished"), "#ci") && c.has(&note(REMEMBERED as i64, "finished"), "#ci"));
    }
}
