//! The master's view of its workers: which are connected (and over which connection),
//! paused or shutting down gracefully, how many builds each runs, the routing of each
//! running step's output back to its build, and pings waiting for their pong.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::db::workers::WorkerRow;
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

/// A worker as the workers page sees it.
#[derive(Clone, Debug)]
pub struct WorkerStatus {
    /// Configured name.
    pub name: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// Where it connected from ("embedded" or an address).
    pub peer: Option<String>,
    /// Builds running on it.
    pub running: usize,
    /// Most builds it runs at once.
    pub max_builds: usize,
    /// Paused workers take no new builds.
    pub paused: bool,
    /// Shutting down: finishing its builds, taking no new ones.
    pub graceful: bool,
    /// Host info from its hello.
    pub info: BTreeMap<String, String>,
    /// Its version.
    pub version: Option<String>,
    /// Epoch seconds of its last message.
    pub last_seen: Option<i64>,
    /// The master it is connected to: this one, or another sharing the database.
    pub master: Option<String>,
}

impl WorkerStatus {
    /// This master's view of a worker completed by the database's: a worker connected to
    /// another master is connected there, with the host info it sent that master.
    pub fn merged(self, row: Option<&WorkerRow>, this_master: &str) -> WorkerStatus {
        if self.connected {
            return WorkerStatus { master: Some(this_master.to_owned()), ..self };
        }
        let Some(row) = row else { return self };
        let elsewhere = row.master.as_deref().filter(|m| *m != this_master);
        WorkerStatus {
            connected: elsewhere.is_some(),
            master: elsewhere.map(str::to_owned),
            info: if self.info.is_empty() { crate::db::from_json(&row.info) } else { self.info },
            version: self.version.or_else(|| row.version.clone()),
            last_seen: self.last_seen.max(row.last_seen),
            ..self
        }
    }
}

#[derive(Debug)]
struct Connection {
    generation: u64,
    sender: mpsc::Sender<MasterMsg>,
    peer: String,
    max_builds: usize,
}

#[derive(Debug)]
struct Entry {
    id: WorkerId,
    max_builds: usize,
    conn: Option<Connection>,
    running: usize,
    paused: bool,
    graceful: bool,
    /// Removed from the configuration: it leaves once its builds end, and is forgotten.
    retired: bool,
    info: BTreeMap<String, String>,
    version: Option<String>,
    last_seen: Option<i64>,
}

#[derive(Debug)]
struct Route {
    worker: String,
    tx: mpsc::Sender<StepEvent>,
    lost: CancellationToken,
}

/// Output waiting for the runner, per step. A bounded queue: a worker that produces
/// output faster than it can be stored is slowed down instead of filling the master's memory.
const STEP_QUEUE: usize = 64;

/// What a running step's runner listens to.
#[derive(Debug)]
pub struct StepChannel {
    rx: mpsc::Receiver<StepEvent>,
    lost: CancellationToken,
}

impl StepChannel {
    /// The next event; `Lost` when the worker went away (or the channel closed).
    pub async fn recv(&mut self) -> StepEvent {
        tokio::select! {
            biased;
            event = self.rx.recv() => event.unwrap_or(StepEvent::Lost),
            _ = self.lost.cancelled() => StepEvent::Lost,
        }
    }
}

/// The registry of configured workers and running steps.
#[derive(Debug, Default)]
pub struct Registry {
    workers: Mutex<HashMap<String, Entry>>,
    routes: Mutex<HashMap<u64, Route>>,
    pings: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    next_token: AtomicU64,
}

/// Why a worker action could not be done.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerActionError {
    /// No such worker is configured.
    Unknown,
    /// It is not connected.
    NotConnected,
}

impl Registry {
    fn token(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Declares a configured worker (not yet connected).
    pub fn configure(&self, name: &str, id: WorkerId, max_builds: usize) {
        if let Ok(mut w) = self.workers.lock() {
            w.insert(
                name.to_owned(),
                Entry {
                    id,
                    max_builds,
                    conn: None,
                    running: 0,
                    paused: false,
                    graceful: false,
                    retired: false,
                    info: BTreeMap::new(),
                    version: None,
                    last_seen: None,
                },
            );
        }
    }

    /// Declares a worker of a new configuration: a known one keeps its connection and
    /// running builds and takes its new `max_builds` (and stays, if it was being retired);
    /// an unknown one is declared as by [`Registry::configure`].
    pub fn reconfigure(&self, name: &str, id: WorkerId, max_builds: usize) {
        let known = self.workers.lock().is_ok_and(|mut w| match w.get_mut(name) {
            Some(entry) => {
                entry.max_builds = max_builds;
                if entry.retired {
                    entry.retired = false;
                    entry.graceful = false;
                }
                true
            }
            None => false,
        });
        if !known {
            self.configure(name, id, max_builds);
        }
    }

    /// A worker removed from the configuration takes no new build and leaves once its
    /// running ones end; it is forgotten when it disconnects (now, if it is not connected).
    /// Returns its connection when it is idle, so the caller can say goodbye at once.
    pub fn retire(&self, name: &str) -> Option<mpsc::Sender<MasterMsg>> {
        let mut workers = self.workers.lock().ok()?;
        let entry = workers.get_mut(name)?;
        let Some(conn) = &entry.conn else {
            workers.remove(name);
            return None;
        };
        let goodbye = (entry.running == 0).then(|| conn.sender.clone());
        entry.retired = true;
        entry.graceful = true;
        goodbye
    }

    /// Records a connection, replacing any older one of the same worker (whose running
    /// steps are lost). Returns the worker's id and the connection's generation.
    pub fn connect(
        &self,
        name: &str,
        sender: mpsc::Sender<MasterMsg>,
        peer: &str,
        hello: (BTreeMap<String, String>, String, Option<u32>),
        now: i64,
    ) -> Option<(WorkerId, u64)> {
        let generation = self.token();
        let (info, version, max_builds) = hello;
        let replaced = {
            let mut workers = self.workers.lock().ok()?;
            let entry = workers.get_mut(name)?;
            let limit = max_builds.map(|m| (m as usize).clamp(1, entry.max_builds)).unwrap_or(entry.max_builds);
            let old = entry.conn.replace(Connection { generation, sender, peer: peer.to_owned(), max_builds: limit });
            entry.info = info;
            entry.version = Some(version);
            entry.last_seen = Some(now);
            entry.graceful = false;
            (old.is_some(), entry.id)
        };
        if replaced.0 {
            self.lose_steps_of(name);
        }
        Some((replaced.1, generation))
    }

    /// Records that a connection went away (unless a newer one replaced it) and tells every
    /// step running on it. Returns whether this connection was the current one.
    pub fn disconnect(&self, name: &str, generation: u64) -> bool {
        let current = {
            let Ok(mut workers) = self.workers.lock() else { return false };
            match workers.get_mut(name) {
                Some(entry) if entry.conn.as_ref().is_some_and(|c| c.generation == generation) => {
                    entry.conn = None;
                    if entry.retired {
                        workers.remove(name);
                    }
                    true
                }
                _ => false,
            }
        };
        if current {
            self.lose_steps_of(name);
        }
        current
    }

    fn lose_steps_of(&self, name: &str) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.retain(|_, route| {
                if route.worker == name {
                    route.lost.cancel();
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Notes that a worker was heard from.
    pub fn touch(&self, name: &str, now: i64) {
        if let Ok(mut workers) = self.workers.lock()
            && let Some(entry) = workers.get_mut(name)
        {
            entry.last_seen = Some(now);
        }
    }

    /// Takes a build slot on the first connected, unpaused, not-stopping worker among
    /// `candidates` that has one.
    pub fn reserve(&self, candidates: &[String]) -> Option<(String, WorkerId)> {
        let mut workers = self.workers.lock().ok()?;
        for name in candidates {
            if let Some(entry) = workers.get_mut(name)
                && let Some(conn) = &entry.conn
                && !entry.paused
                && !entry.graceful
                && entry.running < conn.max_builds
            {
                entry.running += 1;
                return Some((name.clone(), entry.id));
            }
        }
        None
    }

    /// Gives back a build slot. Returns the worker's connection when it is shutting down
    /// gracefully and has just finished its last build, so the caller can say goodbye.
    pub fn release(&self, name: &str) -> Option<mpsc::Sender<MasterMsg>> {
        let mut workers = self.workers.lock().ok()?;
        let entry = workers.get_mut(name)?;
        entry.running = entry.running.saturating_sub(1);
        if entry.graceful && entry.running == 0 { entry.conn.as_ref().map(|c| c.sender.clone()) } else { None }
    }

    /// Pauses or unpauses a worker.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), WorkerActionError> {
        let mut workers = self.workers.lock().map_err(|_| WorkerActionError::Unknown)?;
        let entry = workers.get_mut(name).ok_or(WorkerActionError::Unknown)?;
        entry.paused = paused;
        Ok(())
    }

    /// Starts a graceful shutdown; returns the connection to say goodbye on at once when
    /// nothing is running.
    pub fn set_graceful(&self, name: &str) -> Result<Option<mpsc::Sender<MasterMsg>>, WorkerActionError> {
        let mut workers = self.workers.lock().map_err(|_| WorkerActionError::Unknown)?;
        let entry = workers.get_mut(name).ok_or(WorkerActionError::Unknown)?;
        let conn = entry.conn.as_ref().ok_or(WorkerActionError::NotConnected)?;
        entry.graceful = true;
        Ok((entry.running == 0).then(|| conn.sender.clone()))
    }

    /// Sends a ping; the receiver resolves when the pong arrives.
    pub async fn ping(&self, name: &str) -> Result<oneshot::Receiver<()>, WorkerActionError> {
        let sender = {
            let workers = self.workers.lock().map_err(|_| WorkerActionError::Unknown)?;
            let entry = workers.get(name).ok_or(WorkerActionError::Unknown)?;
            entry.conn.as_ref().ok_or(WorkerActionError::NotConnected)?.sender.clone()
        };
        let nonce = self.token();
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pings) = self.pings.lock() {
            pings.insert(nonce, tx);
        }
        if sender.send(MasterMsg::Ping { nonce }).await.is_err() {
            return Err(WorkerActionError::NotConnected);
        }
        Ok(rx)
    }

    /// A pong arrived.
    pub fn pong(&self, nonce: u64) {
        let waiting = self.pings.lock().ok().and_then(|mut p| p.remove(&nonce));
        if let Some(tx) = waiting {
            let _ = tx.send(());
        }
    }

    /// Sends a step to a worker; the returned channel hears its output and its end. The
    /// token identifies the step for [`Registry::interrupt`].
    pub async fn start_step(&self, worker: &str, mut step: RunStep) -> (u64, StepChannel) {
        let token = self.token();
        step.step = token;
        let (tx, rx) = mpsc::channel(STEP_QUEUE);
        let lost = CancellationToken::new();
        match self.sender(worker) {
            Some(sender) => {
                if let Ok(mut routes) = self.routes.lock() {
                    routes.insert(token, Route { worker: worker.to_owned(), tx, lost: lost.clone() });
                }
                if sender.send(MasterMsg::RunStep(step)).await.is_err() {
                    self.end_route(token);
                    lost.cancel();
                }
            }
            None => lost.cancel(),
        }
        (token, StepChannel { rx, lost })
    }

    fn sender(&self, worker: &str) -> Option<mpsc::Sender<MasterMsg>> {
        self.workers.lock().ok().and_then(|w| w.get(worker).and_then(|e| e.conn.as_ref().map(|c| c.sender.clone())))
    }

    /// Asks the worker running step `token` to kill it.
    pub async fn interrupt(&self, token: u64) {
        let worker = self.routes.lock().ok().and_then(|r| r.get(&token).map(|r| r.worker.clone()));
        if let Some(sender) = worker.and_then(|w| self.sender(&w)) {
            let _ = sender.send(MasterMsg::Interrupt { step: token }).await;
        }
    }

    /// Delivers a worker's message about step `token`, waiting while the step's queue is
    /// full; returns false when nobody listens.
    pub async fn deliver(&self, token: u64, event: StepEvent) -> bool {
        let finished = matches!(event, StepEvent::Finished { .. });
        let tx = {
            let Ok(mut routes) = self.routes.lock() else { return false };
            let tx = routes.get(&token).map(|r| r.tx.clone());
            if finished {
                routes.remove(&token);
            }
            tx
        };
        match tx {
            Some(tx) => tx.send(event).await.is_ok(),
            None => false,
        }
    }

    fn end_route(&self, token: u64) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.remove(&token);
        }
    }

    /// Interrupts every running step (the master is stopping).
    pub async fn interrupt_all(&self) {
        let tokens: Vec<u64> = self.routes.lock().map(|r| r.keys().copied().collect()).unwrap_or_default();
        for token in tokens {
            self.interrupt(token).await;
        }
    }

    /// Whether a worker is connected.
    pub fn is_connected(&self, name: &str) -> bool {
        self.workers.lock().map(|w| w.get(name).is_some_and(|e| e.conn.is_some())).unwrap_or(false)
    }

    /// Whether a worker is connected and takes new builds (`Some(true)`), is connected but
    /// paused or shutting down (`Some(false)`), or is not connected (`None`).
    pub fn takes_builds(&self, name: &str) -> Option<bool> {
        let workers = self.workers.lock().ok()?;
        let e = workers.get(name)?;
        e.conn.as_ref().map(|_| !e.paused && !e.graceful)
    }

    /// Every configured worker's status, by name.
    pub fn statuses(&self) -> Vec<WorkerStatus> {
        let Ok(workers) = self.workers.lock() else { return Vec::new() };
        let mut out: Vec<WorkerStatus> = workers
            .iter()
            .map(|(name, e)| WorkerStatus {
                name: name.clone(),
                connected: e.conn.is_some(),
                peer: e.conn.as_ref().map(|c| c.peer.clone()),
                running: e.running,
                max_builds: e.conn.as_ref().map(|c| c.max_builds).unwrap_or(e.max_builds),
                paused: e.paused,
                graceful: e.graceful,
                info: e.info.clone(),
                version: e.version.clone(),
                last_seen: e.last_seen,
                master: None,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl super::Engine {
    /// Every configured worker's status, as this master and the database know it.
    pub async fn worker_statuses(&self) -> Result<Vec<WorkerStatus>, super::EngineError> {
        let rows = {
            let mut conn = self.db.acquire().await?;
            crate::db::workers::list(conn.conn()).await?
        };
        let rows: HashMap<&str, &WorkerRow> = rows.iter().map(|r| (r.name.as_str(), r)).collect();
        Ok(self
            .workers
            .statuses()
            .into_iter()
            .map(|s| {
                let row = rows.get(s.name.as_str()).copied();
                s.merged(row, &self.master_name)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(connected: bool) -> WorkerStatus {
        WorkerStatus {
            name: "w".into(),
            connected,
            peer: connected.then(|| "127.0.0.1:5000".into()),
            running: 0,
            max_builds: 1,
            paused: false,
            graceful: false,
            info: if connected { BTreeMap::from([("os".into(), "linux".into())]) } else { BTreeMap::new() },
            version: connected.then(|| "0.1.0".into()),
            last_seen: Some(100),
            master: None,
        }
    }

    fn row(master: Option<&str>) -> WorkerRow {
        WorkerRow {
            name: "w".into(),
            master: master.map(str::to_owned),
            info: r#"{"os":"freebsd"}"#.into(),
            version: Some("0.0.9".into()),
            last_seen: Some(200),
        }
    }

    #[test]
    fn a_worker_connected_here_names_this_master_and_keeps_its_own_info() {
        let s = status(true).merged(Some(&row(Some("other"))), "here");
        assert_eq!((s.connected, s.master.as_deref()), (true, Some("here")));
        assert_eq!(s.info.get("os").map(String::as_str), Some("linux"));
        assert_eq!(s.last_seen, Some(100));
    }

    #[test]
    fn a_worker_connected_elsewhere_is_connected_there_with_its_stored_info() {
        let s = status(false).merged(Some(&row(Some("other"))), "here");
        assert_eq!((s.connected, s.master.as_deref()), (true, Some("other")));
        assert_eq!(s.info.get("os").map(String::as_str), Some("freebsd"));
        assert_eq!((s.version.as_deref(), s.last_seen), (Some("0.0.9"), Some(200)));
    }

    #[test]
    fn a_row_still_naming_this_master_while_disconnected_is_not_a_connection() {
        let s = status(false).merged(Some(&row(Some("here"))), "here");
        assert_eq!((s.connected, s.master), (false, None));
        let s = status(false).merged(None, "here");
        assert_eq!((s.connected, s.master), (false, None));
    }
}
