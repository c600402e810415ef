//! Worker connections on the master: the hello (name and password checked), the
//! heartbeat that notices a silent worker, and the routing of its messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Engine;
use super::bus::Event;
use super::workers::StepEvent;
use crate::auth::password;
use crate::db;
use crate::worker::embedded::Link;
use crate::worker::protocol::{MasterMsg, WorkerMsg};

/// How often the master pings each worker.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A worker silent for this long is considered lost (noticed within HEARTBEAT more).
const SILENCE: Duration = Duration::from_secs(20);
/// How long a new connection has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

impl Engine {
    /// Takes over a worker connection: checks its hello, registers it, pings it, routes
    /// its messages to the steps they belong to, and unregisters it when it goes away.
    pub fn attach_worker(self: &Arc<Self>, link: Link) {
        let engine = self.clone();
        self.spawn(async move { engine.serve_worker(link).await });
    }

    async fn serve_worker(self: Arc<Self>, link: Link) {
        let Link { to_worker, mut from_worker, peer } = link;
        let hello = tokio::time::timeout(HELLO_TIMEOUT, from_worker.recv()).await;
        let Ok(Some(WorkerMsg::Hello { name, password, max_builds, info, version })) = hello else {
            tracing::warn!(peer, "a worker connection sent no hello");
            return;
        };
        if let Err(reason) = self.admit(&name, password, &peer).await {
            tracing::warn!(peer, worker = name, reason, "refused a worker");
            let _ = to_worker.send(MasterMsg::Rejected { reason }).await;
            return;
        }
        let now = self.clock.now();
        let Some((id, generation)) =
            self.workers.connect(&name, to_worker.clone(), &peer, (info.clone(), version.clone(), max_builds), now)
        else {
            return;
        };
        let _ = to_worker.send(MasterMsg::Accepted { master: self.master_name.clone() }).await;
        if let Ok(mut conn) = self.db.acquire().await {
            let info = serde_json::to_value(&info).unwrap_or_default();
            let _ = db::workers::set_connected(conn.conn(), id, self.master, &info, &version, now).await;
        }
        tracing::info!(worker = name, peer, "worker connected");
        self.publish_recorded(Event::WorkerConnected { name: name.clone() }).await;
        self.wake();

        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                msg = from_worker.recv() => {
                    let Some(msg) = msg else { break };
                    heard = Instant::now();
                    self.workers.touch(&name, self.clock.now());
                    match msg {
                        WorkerMsg::Output { step, stream, data } => {
                            self.workers.deliver(step, StepEvent::Output(stream, data)).await;
                        }
                        WorkerMsg::StepFinished { step, exit_code, error } => {
                            self.workers.deliver(step, StepEvent::Finished { exit_code, error }).await;
                        }
                        WorkerMsg::Pong { nonce } => self.workers.pong(nonce),
                        WorkerMsg::Hello { .. } => {}
                    }
                }
                _ = heartbeat.tick() => {
                    if heard.elapsed() > SILENCE {
                        tracing::warn!(worker = name, "no word from the worker for {}s; considering it lost", SILENCE.as_secs());
                        break;
                    }
                    if to_worker.send(MasterMsg::Ping { nonce: 0 }).await.is_err() {
                        break;
                    }
                }
            }
        }
        if self.workers.disconnect(&name, generation) {
            if let Ok(mut conn) = self.db.acquire().await {
                let _ = db::workers::set_disconnected(conn.conn(), id, self.clock.now()).await;
            }
            tracing::info!(worker = name, "worker disconnected");
            self.publish_recorded(Event::WorkerDisconnected { name }).await;
        }
    }

    /// Whether a worker may connect: it must be configured, and a remote one must know its
    /// password (checked against the hash made when the configuration was read).
    async fn admit(&self, name: &str, password: Option<String>, peer: &str) -> Result<(), String> {
        let configured = self.configured.borrow().clone();
        let cfg = configured.config.worker(name).ok_or_else(|| format!("no worker named `{name}` is configured"))?;
        let embedded = peer == "embedded";
        if cfg.embedded != embedded {
            return Err(if cfg.embedded {
                format!("`{name}` is the master's embedded worker")
            } else {
                format!("`{name}` is a remote worker")
            });
        }
        if embedded {
            return Ok(());
        }
        let hash = configured.worker_hash(name).ok_or_else(|| format!("`{name}` has no password configured"))?;
        if password::verify_async(password.unwrap_or_default(), hash).await {
            Ok(())
        } else {
            Err("wrong worker name or password".into())
        }
    }
}
