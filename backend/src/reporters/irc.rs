//! `kind = "irc"`: Buildbot's IRC bot.

use super::BuildEvent;
use crate::config::IrcConfig;

/// An IRC reporter.
pub struct Irc {
    /// Its name.
    pub name: String,
    /// Its options.
    pub config: IrcConfig,
}

impl Irc {
    /// The reporter `name` with options `config`.
    pub fn new(name: &str, config: &IrcConfig) -> Self {
        Irc { name: name.to_owned(), config: config.clone() }
    }

    /// The notifications to store for a build that started or finished.
    pub fn on_build(&self, _started: bool, _event: &BuildEvent<'_>) -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }
}

impl Irc {
    /// Connects the bot and starts sending its stored notifications.
    pub fn start(&self, engine: &std::sync::Arc<crate::engine::Engine>, wake: std::sync::Arc<tokio::sync::Notify>) {
        let _ = (engine, wake);
    }
}
