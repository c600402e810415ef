//! Change sources: pollers that look for new changes on their own schedule (and when the
//! poller hook asks), and hand what they find to the engine like any other change.

pub mod git_poller;

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use crate::config::{ChangeSourceConfig, ChangeSourceKind};

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// A git command failed.
    #[error("{0}")]
    Git(String),
    /// Storing what was found failed.
    #[error(transparent)]
    Engine(#[from] super::EngineError),
}

impl Engine {
    /// Polls one change source now; returns how many changes it reported.
    pub async fn poll_source(&self, source: &ChangeSourceConfig) -> Result<usize, PollError> {
        match &source.kind {
            ChangeSourceKind::GitPoller(cfg) => {
                let workdir = self.config().dir.join("gitpoller").join(sanitize(&source.name));
                git_poller::poll(self, &source.name, cfg, &workdir).await
            }
        }
    }
}

impl Engine {
    /// Polls a change source now, in the background (the poller hook's request).
    pub fn poll_in_background(self: &std::sync::Arc<Self>, source: ChangeSourceConfig) {
        let engine = self.clone();
        tokio::spawn(async move {
            match engine.poll_source(&source).await {
                Ok(n) => tracing::info!(source = source.name, changes = n, "poll requested by the poller hook"),
                Err(e) => tracing::warn!(source = source.name, error = %e, "poll requested by the poller hook failed"),
            }
        });
    }
}

/// A file name for a poller's work directory.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// Polls every change source of `sources` on its interval (and once at start when
/// `poll_at_launch`).
pub(super) async fn run(engine: Arc<Engine>, sources: Vec<ChangeSourceConfig>) {
    let tasks = sources.into_iter().map(|source| {
        let engine = engine.clone();
        async move {
            let (interval, at_launch) = match &source.kind {
                ChangeSourceKind::GitPoller(cfg) => (cfg.poll_interval, cfg.poll_at_launch),
            };
            if !at_launch {
                tokio::time::sleep(Duration::from_secs(interval)).await;
            }
            loop {
                match engine.poll_source(&source).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(source = source.name, changes = n, "poller found new changes"),
                    Err(e) => tracing::warn!(source = source.name, error = %e, "poll failed"),
                }
                tokio::time::sleep(Duration::from_secs(interval)).await;
            }
        }
    });
    futures::future::join_all(tasks).await;
}
