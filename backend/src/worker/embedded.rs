//! The embedded worker: runs in the master's process and speaks the same messages as a
//! remote worker, so the master has one code path for both.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::protocol::{self, MasterMsg, WorkerMsg};
use super::session;

/// The master's ends of a worker connection, whatever carries it.
#[derive(Debug)]
pub struct Link {
    /// Messages to the worker.
    pub to_worker: mpsc::Sender<MasterMsg>,
    /// Messages from the worker; closes when the worker goes away.
    pub from_worker: mpsc::Receiver<WorkerMsg>,
    /// Where it connected from ("embedded" or a network address), for the workers page.
    pub peer: String,
}

/// Starts an embedded worker called `name` that runs steps under `basedir`. Its first
/// message is the hello, as on a remote connection.
pub fn spawn(name: String, basedir: PathBuf) -> Link {
    let (to_worker, inbox) = mpsc::channel::<MasterMsg>(64);
    let (outbox, from_worker) = mpsc::channel::<WorkerMsg>(64);
    tokio::spawn(async move {
        let hello = WorkerMsg::Hello {
            name,
            password: None,
            max_builds: None,
            info: protocol::host_info(),
            version: protocol::VERSION.into(),
        };
        if outbox.send(hello).await.is_ok() {
            session::serve(inbox, outbox, basedir).await;
        }
    });
    Link { to_worker, from_worker, peer: "embedded".into() }
}
