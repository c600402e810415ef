//! The master's view of its workers: which are connected, how many builds each runs, and
//! the routing of each running step's output back to the build that waits for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::model::WorkerId;
use crate::worker::protocol::{MasterMsg, RunStep, StepError, Stream};

/// What a running step hears from its worker.
#[derive(Debug)]
pub enum StepEvent {
    /// Output.
    Output(Stream, String),
    /// The command ended.
    Finished {
        /// Its exit code.
        exit_code: Option<i32>,
        /// Why it ended abnormally.
        error: Option<StepError>,
    },
    /// The worker went away.
    Lost,
}

/// A worker as the views see it.
#[derive(Clone, Debug)]
pub struct WorkerStatus {
    /// Configured name.
    pub name: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// Builds running on it.
    pub running: usize,
    /// Most builds it runs at once.
    pub max_builds: usize,
    /// Host info from its hello.
    pub info: std::collections::BTreeMap<String, String>,
    /// Its version.
    pub version: Option<String>,
}

#[derive(Debug)]
struct Entry {
    id: WorkerId,
    sender: Option<mpsc::Sender<MasterMsg>>,
    max_builds: usize,
    running: usize,
    info: std::collections::BTreeMap<String, String>,
    version: Option<String>,
}

#[derive(Debug)]
struct Route {
    worker: String,
    tx: mpsc::UnboundedSender<StepEvent>,
}

/// The registry of configured workers and running steps.
#[derive(Debug, Default)]
pub struct Registry {
    workers: Mutex<HashMap<String, Entry>>,
    routes: Mutex<HashMap<u64, Route>>,
    next_token: AtomicU64,
}

impl Registry {
    /// Declares a configured worker (not yet connected).
    pub fn configure(&self, name: &str, id: WorkerId, max_builds: usize) {
        if let Ok(mut w) = self.workers.lock() {
            w.insert(
                name.to_owned(),
                Entry { id, sender: None, max_builds, running: 0, info: Default::default(), version: None },
            );
        }
    }

    /// Records a connection; returns the worker's id, or `None` for an unknown name.
    pub fn connect(
        &self,
        name: &str,
        sender: mpsc::Sender<MasterMsg>,
        info: std::collections::BTreeMap<String, String>,
        version: String,
    ) -> Option<WorkerId> {
        let mut workers = self.workers.lock().ok()?;
        let entry = workers.get_mut(name)?;
        entry.sender = Some(sender);
        entry.info = info;
        entry.version = Some(version);
        Some(entry.id)
    }

    /// Records that a worker went away and tells every step running on it.
    pub fn disconnect(&self, name: &str) -> Option<WorkerId> {
        let id = {
            let mut workers = self.workers.lock().ok()?;
            let entry = workers.get_mut(name)?;
            entry.sender = None;
            entry.id
        };
        if let Ok(mut routes) = self.routes.lock() {
            routes.retain(|_, route| {
                if route.worker == name {
                    let _ = route.tx.send(StepEvent::Lost);
                    false
                } else {
                    true
                }
            });
        }
        Some(id)
    }

    /// Takes a build slot on the first connected worker among `candidates` that has one.
    pub fn reserve(&self, candidates: &[String]) -> Option<(String, WorkerId)> {
        let mut workers = self.workers.lock().ok()?;
        for name in candidates {
            if let Some(entry) = workers.get_mut(name)
                && entry.sender.is_some()
                && entry.running < entry.max_builds
            {
                entry.running += 1;
                return Some((name.clone(), entry.id));
            }
        }
        None
    }

    /// Gives back a build slot.
    pub fn release(&self, name: &str) {
        if let Ok(mut workers) = self.workers.lock()
            && let Some(entry) = workers.get_mut(name)
        {
            entry.running = entry.running.saturating_sub(1);
        }
    }

    /// Sends a step to a worker; the returned receiver hears its output and its end.
    pub async fn start_step(&self, worker: &str, mut step: RunStep) -> mpsc::UnboundedReceiver<StepEvent> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed) + 1;
        step.step = token;
        let (tx, rx) = mpsc::unbounded_channel();
        let sender = self.workers.lock().ok().and_then(|w| w.get(worker).and_then(|e| e.sender.clone()));
        match sender {
            Some(sender) => {
                if let Ok(mut routes) = self.routes.lock() {
                    routes.insert(token, Route { worker: worker.to_owned(), tx: tx.clone() });
                }
                if sender.send(MasterMsg::RunStep(step)).await.is_err() {
                    self.end_route(token);
                    let _ = tx.send(StepEvent::Lost);
                }
            }
            None => {
                let _ = tx.send(StepEvent::Lost);
            }
        }
        rx
    }

    /// Delivers a worker's message about step `token`; returns false when nobody listens.
    pub fn deliver(&self, token: u64, event: StepEvent) -> bool {
        let finished = matches!(event, StepEvent::Finished { .. });
        let Ok(mut routes) = self.routes.lock() else { return false };
        let delivered = routes.get(&token).map(|r| r.tx.send(event).is_ok()).unwrap_or(false);
        if finished {
            routes.remove(&token);
        }
        delivered
    }

    fn end_route(&self, token: u64) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.remove(&token);
        }
    }

    /// Whether a worker is connected.
    pub fn is_connected(&self, name: &str) -> bool {
        self.workers.lock().map(|w| w.get(name).is_some_and(|e| e.sender.is_some())).unwrap_or(false)
    }

    /// Every configured worker's status, by name.
    pub fn statuses(&self) -> Vec<WorkerStatus> {
        let Ok(workers) = self.workers.lock() else { return Vec::new() };
        let mut out: Vec<WorkerStatus> = workers
            .iter()
            .map(|(name, e)| WorkerStatus {
                name: name.clone(),
                connected: e.sender.is_some(),
                running: e.running,
                max_builds: e.max_builds,
                info: e.info.clone(),
                version: e.version.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl Registry {
    /// Interrupts every running step (the master is stopping).
    pub async fn interrupt_all(&self) {
        let targets: Vec<(u64, mpsc::Sender<MasterMsg>)> = {
            let (Ok(routes), Ok(workers)) = (self.routes.lock(), self.workers.lock()) else { return };
            routes
                .iter()
                .filter_map(|(token, r)| workers.get(&r.worker).and_then(|w| w.sender.clone()).map(|s| (*token, s)))
                .collect()
        };
        for (token, sender) in targets {
            let _ = sender.send(MasterMsg::Interrupt { step: token }).await;
        }
    }
}
