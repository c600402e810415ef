//! Workers, both ends: the protocol spoken between master and worker, the executor that
//! runs a step's command, the session loop shared by the embedded and the remote worker,
//! the remote worker's client and the master's WebSocket endpoint for it.

pub mod client;
pub mod embedded;
pub mod executor;
pub mod protocol;
pub mod server;
pub mod session;
