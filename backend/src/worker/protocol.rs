//! Messages between master and worker (DESIGN §4). They are JSON-encoded on a remote
//! worker's WebSocket and passed as values to the embedded worker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The protocol version a worker announces in its hello.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Master → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MasterMsg {
    /// Run one command.
    RunStep(RunStep),
    /// Kill a running step's whole process group.
    Interrupt {
        /// The step token.
        step: u64,
    },
    /// Answer with a pong.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// Disconnect and do not come back (the master sends it once a gracefully stopping
    /// worker has finished its builds).
    Shutdown,
    /// The hello was accepted.
    Accepted {
        /// The master's name.
        master: String,
    },
    /// The hello was refused; the connection closes.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// A command to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStep {
    /// Token the master uses to route output back to the build.
    pub step: u64,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the worker's base directory.
    pub workdir: String,
    /// Seconds after which the command is killed.
    pub timeout: Option<u64>,
}

/// Which stream output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A line from the worker itself about the command.
    Header,
}

/// Worker → master.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerMsg {
    /// First message on a connection.
    Hello {
        /// The worker's configured name.
        name: String,
        /// Its password (remote workers; the embedded worker sends none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// Most builds it will run at once, if it limits them below the master's setting.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_builds: Option<u32>,
        /// Host information (os, arch, hostname, cpus).
        info: BTreeMap<String, String>,
        /// Cascade version of the worker.
        version: String,
    },
    /// Output of a running step; `data` may end in the middle of a line.
    Output {
        /// The step token.
        step: u64,
        /// Which stream.
        stream: Stream,
        /// The bytes, decoded as UTF-8 (invalid sequences replaced).
        data: String,
    },
    /// A step ended.
    StepFinished {
        /// The step token.
        step: u64,
        /// The exit code, `None` when killed by a signal or never started.
        exit_code: Option<i32>,
        /// Why it did not run to completion, if it did not.
        error: Option<StepError>,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
}

/// Why a command did not complete normally.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum StepError {
    /// It ran longer than its timeout and was killed.
    Timeout(String),
    /// The master interrupted it.
    Interrupted(String),
    /// It could not be started (no such program, bad working directory).
    Spawn(String),
}

/// Host information for a worker's hello.
pub fn host_info() -> BTreeMap<String, String> {
    let mut info = BTreeMap::new();
    info.insert("os".into(), std::env::consts::OS.into());
    info.insert("arch".into(), std::env::consts::ARCH.into());
    if let Ok(name) = hostname::get() {
        info.insert("hostname".into(), name.to_string_lossy().into_owned());
    }
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    info.insert("cpus".into(), cpus.to_string());
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let msg = WorkerMsg::StepFinished { step: 3, exit_code: Some(1), error: None };
        let text = serde_json::to_string(&msg).unwrap();
        assert!(text.contains(r#""type":"step_finished""#), "{text}");
        assert_eq!(serde_json::from_str::<WorkerMsg>(&text).unwrap(), msg);
        let run = MasterMsg::Interrupt { step: 9 };
        let text = serde_json::to_string(&run).unwrap();
        assert_eq!(serde_json::from_str::<MasterMsg>(&text).unwrap(), run);
    }
}
