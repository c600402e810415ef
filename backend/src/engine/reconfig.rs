//! Live reconfiguration: a new configuration replaces the running one without a restart.
//! Builds keep running with the builder definition they started with, connected workers and
//! live event streams stay; added, changed and removed builders, schedulers, workers, change
//! sources and reporters take effect at once. What the engine made from the configuration
//! (builder ids, worker password hashes, links, reporters) is made again beside it and
//! swapped in whole, so every reader sees one configuration or the other, never a mix.
//! Settings that cannot change under a running master (`[db]`, the listen addresses) are
//! refused, and the old configuration stays.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::bus::Event;
use super::links::Links;
use super::{Engine, EngineError};
use crate::config::{Config, ConfigError};
use crate::db::{self, Conn, DbResult};
use crate::model::{BuilderId, WorkerId};
use crate::reporters::Reporters;

/// The configuration a master runs, with what is made from it.
#[derive(Debug)]
pub struct Configured {
    /// The configuration.
    pub config: Arc<Config>,
    /// How revisions, comments, projects and repositories become links.
    pub links: Arc<Links>,
    /// The status targets.
    pub reporters: Arc<Reporters>,
    /// The database id of each configured builder.
    builder_ids: HashMap<String, BuilderId>,
    /// argon2 hashes of the remote workers' passwords.
    worker_hashes: HashMap<String, String>,
}

impl Configured {
    /// What the engine makes of `config`, whose builders have the ids `builder_ids`; the
    /// reporters stop when `parent` is cancelled.
    pub(super) async fn new(
        config: Arc<Config>,
        builder_ids: HashMap<String, BuilderId>,
        parent: &CancellationToken,
    ) -> Result<Self, EngineError> {
        let worker_hashes = hash_passwords(&config).await?;
        let reporters = Arc::new(Reporters::new(&config, parent));
        Ok(Configured { links: Arc::new(Links::new(&config.web)), reporters, config, builder_ids, worker_hashes })
    }

    /// The database id of a configured builder.
    pub fn builder_id(&self, name: &str) -> Option<BuilderId> {
        self.builder_ids.get(name).copied()
    }

    /// The argon2 hash of a remote worker's password.
    pub(super) fn worker_hash(&self, name: &str) -> Option<String> {
        self.worker_hashes.get(name).cloned()
    }
}

/// argon2 hashes of the remote workers' passwords, so that a worker's hello is checked
/// without keeping the password itself.
async fn hash_passwords(config: &Config) -> Result<HashMap<String, String>, EngineError> {
    let mut hashes = HashMap::new();
    for w in config.workers.iter().filter(|w| !w.embedded) {
        let Some(secret) = &w.password else { continue };
        let plain = secret.resolve().map_err(|e| EngineError::Invalid(format!("worker `{}`: {e}", w.name)))?;
        let hash = crate::auth::password::hash_async(plain).await.map_err(|e| EngineError::Invalid(e.to_string()))?;
        hashes.insert(w.name.clone(), hash);
    }
    Ok(hashes)
}

/// Records `config`'s builders and workers in the database (a builder's description and
/// tags as configured now); returns their ids.
pub(super) async fn register(
    mut conn: Conn<'_>,
    config: &Config,
) -> DbResult<(HashMap<String, BuilderId>, HashMap<String, WorkerId>)> {
    let mut builders = HashMap::new();
    for b in &config.builders {
        let id = db::builders::upsert(conn.reborrow(), &b.name, b.description.as_deref(), &b.tags).await?;
        builders.insert(b.name.clone(), id);
    }
    let mut workers = HashMap::new();
    for w in &config.workers {
        workers.insert(w.name.clone(), db::workers::upsert(conn.reborrow(), &w.name).await?);
    }
    Ok((builders, workers))
}

/// Why a new configuration was not put in place (the running one stays).
#[derive(Debug, thiserror::Error)]
pub enum ReconfigError {
    /// The file has errors, each with its file, line and key.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    /// It asks for what a running master cannot do (or a file it names cannot be used).
    #[error("{0}")]
    Refused(String),
    /// Applying it failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<db::DbError> for ReconfigError {
    fn from(e: db::DbError) -> Self {
        ReconfigError::Engine(e.into())
    }
}

impl Engine {
    /// Puts `new` in place of the running configuration, on behalf of `by` (a user, or the
    /// signal that asked); returns what changed, as the `reconfig` event says it.
    pub async fn reconfigure(self: &Arc<Self>, new: Config, by: &str) -> Result<String, ReconfigError> {
        let _one_at_a_time = self.reconfiguring.lock().await;
        let old = self.config();
        fixed(&old, &new)?;
        let new = Arc::new(new);
        // Secrets are read before anything is written: one that cannot be read refuses it all.
        let worker_hashes = hash_passwords(&new).await?;
        let mut tx = self.db.begin().await?;
        let (builder_ids, worker_ids) = register(tx.conn(), &new).await?;
        tx.commit().await?;

        let reporters = self.reporters().reconfigured(&new, old.base_url != new.base_url, &self.shutdown);
        for fresh in &reporters.fresh {
            if let crate::reporters::Kind::Irc(irc) = &fresh.kind {
                irc.load(&self.db).await?;
            }
        }
        let configured = Configured {
            links: Arc::new(Links::new(&new.web)),
            reporters: Arc::new(reporters.reporters),
            config: new.clone(),
            builder_ids,
            worker_hashes,
        };
        self.configured.send_replace(Arc::new(configured));

        // The old senders end before the new ones start, so no message goes out twice.
        let retired = reporters.retired.iter().map(|r| r.stop(std::time::Duration::from_secs(10)));
        futures::future::join_all(retired).await;
        crate::reporters::start(self, reporters.fresh.iter());
        self.rearrange_workers(&old, &new, &worker_ids).await;
        if old.change_sources != new.change_sources {
            self.start_change_sources(&new);
        }
        // Pages built from the old configuration are not served again.
        self.pages.invalidate();
        self.wake();
        let summary = summary(&old, &new);
        tracing::info!(by, changes = summary, "reconfigured");
        self.publish_recorded(Event::Reconfigured {
            name: self.master_name.clone(),
            by: by.to_owned(),
            summary: summary.clone(),
        })
        .await;
        Ok(summary)
    }

    /// Re-reads the configuration file the master started with and puts it in place if
    /// `check` finds the files it names usable; errors are logged with their file and line,
    /// and the running configuration stays.
    pub async fn reconfigure_from_file(
        self: &Arc<Self>,
        by: &str,
        check: impl FnOnce(&Config) -> Result<(), String>,
    ) -> Result<String, ReconfigError> {
        let path = self.config().path.clone();
        let result = match crate::config::load(&path) {
            Ok(new) => match check(&new) {
                Ok(()) => self.reconfigure(new, by).await,
                Err(why) => Err(ReconfigError::Refused(format!("{}: {why}", path.display()))),
            },
            Err(e) => Err(e.into()),
        };
        if let Err(error) = &result {
            tracing::error!(by, "reconfiguration refused, the running configuration stays:\n{error}");
        }
        result
    }

    /// Declares the workers of `new`, and asks those it removed to finish their builds and
    /// leave; starts the embedded workers it added.
    async fn rearrange_workers(self: &Arc<Self>, old: &Config, new: &Config, ids: &HashMap<String, WorkerId>) {
        for w in &new.workers {
            if let Some(&id) = ids.get(&w.name) {
                self.workers.reconfigure(&w.name, id, w.max_builds as usize);
            }
            if w.embedded && old.worker(&w.name).is_none_or(|o| !o.embedded) {
                self.spawn_embedded_worker(&w.name);
            }
        }
        for w in old.workers.iter().filter(|w| new.worker(&w.name).is_none()) {
            tracing::info!(worker = w.name, "worker removed from the configuration: it leaves once its builds end");
            if let Some(goodbye) = self.workers.retire(&w.name) {
                let _ = goodbye.send(crate::worker::protocol::MasterMsg::Shutdown).await;
            }
        }
    }
}

/// Refuses what a running master cannot change.
fn fixed(old: &Config, new: &Config) -> Result<(), ReconfigError> {
    if old.db != new.db {
        return Err(ReconfigError::Refused(format!(
            "{}: [db] cannot change while the master runs; restart the master to use the new settings",
            new.path.display()
        )));
    }
    let addresses = |c: &Config| c.web.listen.iter().map(|l| (l.addr.clone(), l.tls.is_some())).collect::<Vec<_>>();
    if addresses(old) != addresses(new) {
        return Err(ReconfigError::Refused(format!(
            "{}: [web] listen (the addresses, and which of them use TLS) cannot change while the master runs; \
             restart the master to listen elsewhere",
            new.path.display()
        )));
    }
    Ok(())
}

/// What changed, in a line: `builders +docs ~app -old; schedulers +nightly; [authz]`.
pub fn summary(old: &Config, new: &Config) -> String {
    let mut parts = Vec::new();
    let mut named = |what: &str, changes: Vec<String>| {
        if !changes.is_empty() {
            parts.push(format!("{what} {}", changes.join(" ")));
        }
    };
    named("builders", diff(&old.builders, &new.builders, |b| &b.name));
    named("schedulers", diff(&old.schedulers, &new.schedulers, |s| &s.name));
    named("workers", diff(&old.workers, &new.workers, |w| &w.name));
    named("change sources", diff(&old.change_sources, &new.change_sources, |c| &c.name));
    named("reporters", diff(&old.reporters, &new.reporters, |r| &r.name));
    let sections = [
        ("title", old.title != new.title || old.title_url != new.title_url),
        ("base_url", old.base_url != new.base_url),
        ("[web]", old.web != new.web),
        ("[auth]", old.auth != new.auth),
        ("[authz]", old.authz != new.authz),
        ("[change_hook]", old.change_hook != new.change_hook),
    ];
    parts.extend(sections.iter().filter(|(_, changed)| *changed).map(|(name, _)| (*name).to_owned()));
    if parts.is_empty() { "nothing changed".to_owned() } else { parts.join("; ") }
}

/// `+name` for each added item, `~name` for each changed one and `-name` for each removed.
fn diff<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    let find = |list: &[T], n: &str| list.iter().position(|x| name(x) == n);
    let mut out = Vec::new();
    for item in new {
        match find(old, name(item)) {
            None => out.push(format!("+{}", name(item))),
            Some(i) if old[i] != *item => out.push(format!("~{}", name(item))),
            Some(_) => {}
        }
    }
    out.extend(old.iter().filter(|o| find(new, name(o)).is_none()).map(|o| format!("-{}", name(o))));
    out
}
