//! The embedded worker: runs in the master's process and speaks the same messages as a
//! remote worker, so the master has one code path for both.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::executor;
use super::protocol::{self, MasterMsg, WorkerMsg};

/// The master's ends of a worker connection.
#[derive(Debug)]
pub struct Link {
    /// Messages to the worker.
    pub to_worker: mpsc::Sender<MasterMsg>,
    /// Messages from the worker; closes when the worker goes away.
    pub from_worker: mpsc::Receiver<WorkerMsg>,
}

/// Starts an embedded worker called `name` that runs steps under `basedir`. Its first
/// message is the hello, as on a remote connection.
pub fn spawn(name: String, basedir: PathBuf) -> Link {
    let (to_worker, mut inbox) = mpsc::channel::<MasterMsg>(64);
    let (outbox, from_worker) = mpsc::channel::<WorkerMsg>(1024);
    tokio::spawn(async move {
        let hello = WorkerMsg::Hello { name, info: protocol::host_info(), version: protocol::VERSION.into() };
        if outbox.send(hello).await.is_err() {
            return;
        }
        let running: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>> = Arc::default();
        while let Some(msg) = inbox.recv().await {
            match msg {
                MasterMsg::RunStep(step) => {
                    let (itx, irx) = oneshot::channel();
                    if let Ok(mut map) = running.lock() {
                        map.insert(step.step, itx);
                    }
                    let (out, base, running) = (outbox.clone(), basedir.clone(), running.clone());
                    tokio::spawn(async move {
                        let token = step.step;
                        executor::run(&base, step, out, irx).await;
                        if let Ok(mut map) = running.lock() {
                            map.remove(&token);
                        }
                    });
                }
                MasterMsg::Interrupt { step } => {
                    let sender = running.lock().ok().and_then(|mut m| m.remove(&step));
                    if let Some(tx) = sender {
                        let _ = tx.send(());
                    }
                }
                MasterMsg::Ping { nonce } => {
                    let _ = outbox.send(WorkerMsg::Pong { nonce }).await;
                }
                MasterMsg::Shutdown => break,
            }
        }
    });
    Link { to_worker, from_worker }
}
