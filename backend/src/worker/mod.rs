//! Workers, both ends: the protocol spoken between master and worker, the executor that
//! runs a step's command, the session loop shared by the embedded and the remote worker,
//! and the remote worker's client. Nothing here depends on the engine: the master's
//! WebSocket endpoint for remote workers is a handler like the others, in
//! `api::worker_socket`, and hands the engine a [`embedded::Link`].

pub mod client;
pub mod embedded;
pub mod executor;
pub mod protocol;
pub mod session;
