//! `kind = "mail"`: Buildbot's MailNotifier. Decides, from a build's result and the previous
//! one's, whether a build (or a whole build set) is worth a mail, and stores that decision;
//! the mail itself is written and sent when the outbox delivers it: [`load`] reads the
//! facts, [`recipients`] and [`render`] (with [`body`], Cascade's own message) turn them
//! into addresses, a subject and bodies, [`message`] makes the MIME message and
//! [`transport`] hands it to the mail server.

pub mod body;
pub mod facts;
pub mod load;
pub mod message;
pub mod recipients;
pub mod render;
pub mod transport;

use std::sync::Arc;

use serde_json::json;

use super::outbox::{Deliver, DeliverError};
use super::{BuildEvent, BuildSetEvent};
use crate::config::{MailConfig, MailMode, ReporterConfig};
use crate::db::DbError;
use crate::engine::Engine;
use crate::model::Results;

/// A mail reporter.
pub struct Mail {
    /// Its name.
    pub name: String,
    /// Its options.
    pub config: MailConfig,
}

impl Mail {
    /// The reporter `name` with options `config`.
    pub fn new(name: &str, config: &MailConfig) -> Self {
        Mail { name: name.to_owned(), config: config.clone() }
    }

    /// Whether it mails whole build sets rather than builds.
    pub fn summarises(&self) -> bool {
        self.config.build_set_summary
    }

    /// The message to store for a finished build, if it is worth one.
    pub fn on_build_finished(&self, event: &BuildEvent<'_>) -> Option<(String, serde_json::Value)> {
        let results = event.build.results?;
        if self.config.build_set_summary || !is_mail_needed(&self.config.mode, results, event.previous) {
            return None;
        }
        let payload = json!({
            "build": event.build.id.0,
            "builder": event.build.builder,
            "number": event.build.number,
            "results": results.name(),
            "previous": event.previous.map(Results::name),
        });
        Some((format!("build:{}", event.build.id.0), payload))
    }

    /// The one message to store for a completed build set, if any of its builds is worth a
    /// mail.
    pub fn on_buildset_complete(
        &self,
        reporter: &ReporterConfig,
        event: &BuildSetEvent,
    ) -> Option<(String, serde_json::Value)> {
        if !self.config.build_set_summary {
            return None;
        }
        let (builds, previous): (Vec<i64>, Vec<Option<&str>>) = event
            .builds
            .iter()
            .filter(|(b, tags, previous)| {
                reporter.wants(&b.builder, tags)
                    && b.results.is_some_and(|r| is_mail_needed(&self.config.mode, r, *previous))
            })
            .map(|(b, _, previous)| (b.id.0, previous.map(Results::name)))
            .unzip();
        if builds.is_empty() {
            return None;
        }
        let payload = json!({
            "buildset": event.id.0,
            "builds": builds,
            "results": event.results.name(),
            "previous": previous,
        });
        Some((format!("buildset:{}", event.id.0), payload))
    }
}

/// Buildbot's `isMailNeeded`: whether `results`, after a previous build's `previous`, is
/// worth a mail in `modes`. A retried build never is.
pub fn is_mail_needed(modes: &[MailMode], results: Results, previous: Option<Results>) -> bool {
    modes.iter().any(|mode| match mode {
        MailMode::Change => previous.is_some_and(|p| p != results) && results != Results::Retry,
        MailMode::Failing => results == Results::Failure,
        MailMode::Passing => results == Results::Success,
        MailMode::Problem => results == Results::Failure && previous.is_some_and(|p| p != Results::Failure),
        MailMode::Warnings => results == Results::Warnings,
        MailMode::Exception => results == Results::Exception,
        MailMode::Cancelled => results == Results::Cancelled,
    })
}

/// Writes and sends the stored mails of one reporter.
pub struct Delivery {
    engine: Arc<Engine>,
    name: String,
    config: MailConfig,
    smtp: transport::Smtp,
}

impl Mail {
    /// The delivery of this reporter's mails, connecting to its server when it has a mail
    /// to send. Call it inside the runtime.
    pub fn delivery(&self, engine: Arc<Engine>) -> Delivery {
        Delivery {
            engine,
            name: self.name.clone(),
            config: self.config.clone(),
            smtp: transport::Smtp::new(&self.config),
        }
    }
}

impl Deliver for Delivery {
    async fn peer_back(&self) -> bool {
        self.smtp.back().await
    }

    async fn deliver(&self, payload: &serde_json::Value) -> Result<(), DeliverError> {
        let job = load::Job::parse(payload).map_err(DeliverError::Permanent)?;
        let loaded = load::facts(&self.engine, &job).await.map_err(|e| unreadable(&job, e))?;
        let to = recipients::choose(&self.config, &loaded.people);
        if to.is_empty() {
            tracing::info!(reporter = %self.name, %job, "nobody to mail about this; nothing sent");
            return Ok(());
        }
        // Attachments first: what they leave out is said in the body.
        let attached = load::attachments(&self.engine, &self.config, &loaded).await.map_err(|e| unreadable(&job, e))?;
        let mut facts = loaded.facts;
        facts.left_out = attached.left_out;
        let rendered = render::render(&self.config, &facts).map_err(DeliverError::Permanent)?;
        let message =
            message::build(&self.config.from, &to, rendered, attached.files).map_err(DeliverError::Permanent)?;
        for r in self.smtp.send(message).await? {
            tracing::warn!(
                reporter = %self.name, %job, recipient = %r.address, reason = %r.reason,
                "the mail server refused this recipient; the others got the mail"
            );
        }
        Ok(())
    }
}

/// A build that is gone (pruned) will never be mailed about; other database errors are
/// worth another try.
fn unreadable(job: &load::Job, e: DbError) -> DeliverError {
    match e {
        DbError::NotFound => DeliverError::Permanent(format!("{job} no longer exists")),
        other => DeliverError::Transient(format!("cannot read {job}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Results::*;

    #[test]
    fn modes_follow_buildbot() {
        use MailMode as M;
        assert!(is_mail_needed(&[M::Change], Success, Some(Failure)));
        assert!(!is_mail_needed(&[M::Change], Success, Some(Success)));
        assert!(!is_mail_needed(&[M::Change], Failure, None));
        assert!(is_mail_needed(&[M::Problem], Failure, Some(Success)));
        assert!(!is_mail_needed(&[M::Problem], Failure, Some(Failure)));
        assert!(!is_mail_needed(&[M::Problem], Failure, None));
        assert!(is_mail_needed(&[M::Failing], Failure, Some(Failure)));
        assert!(is_mail_needed(&[M::Passing], Success, None));
        assert!(is_mail_needed(&[M::Warnings], Warnings, None));
        assert!(is_mail_needed(&[M::Exception], Exception, None));
        assert!(is_mail_needed(&[M::Cancelled], Cancelled, None));
        let all = [M::Change, M::Failing, M::Passing, M::Problem, M::Warnings, M::Exception, M::Cancelled];
        assert!(!is_mail_needed(&all, Retry, Some(Success)));
        assert!(!is_mail_needed(&all, Skipped, None));
    }
}
