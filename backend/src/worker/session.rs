//! The worker's side of a connection, shared by the embedded and the remote worker: run the
//! steps the master sends, interrupt them on request, answer pings.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::executor;
use super::protocol::{MasterMsg, WorkerMsg};

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The master said goodbye for good (graceful shutdown).
    Shutdown,
    /// The master refused the worker.
    Rejected(String),
    /// The connection went away; a remote worker reconnects.
    Lost,
}

/// Serves master messages from `inbox` until the connection ends. Steps still running then
/// are killed: the master has already given up on them.
pub async fn serve(mut inbox: mpsc::Receiver<MasterMsg>, outbox: mpsc::Sender<WorkerMsg>, basedir: PathBuf) -> Ended {
    let running: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>> = Arc::default();
    let ended = loop {
        let Some(msg) = inbox.recv().await else { break Ended::Lost };
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
            MasterMsg::Accepted { .. } => {}
            MasterMsg::Rejected { reason } => break Ended::Rejected(reason),
            MasterMsg::Shutdown => break Ended::Shutdown,
        }
    };
    let leftovers: Vec<_> = running.lock().map(|mut m| m.drain().map(|(_, tx)| tx).collect()).unwrap_or_default();
    for tx in leftovers {
        let _ = tx.send(());
    }
    ended
}
