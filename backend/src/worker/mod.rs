//! The worker side of Cascade: the protocol spoken between master and worker, the executor
//! that runs a step's command, and the embedded worker that runs inside the master through
//! the same messages a remote worker exchanges over its connection.

pub mod embedded;
pub mod executor;
pub mod protocol;
