//! The remote worker (`cascade worker`): connects to a master's WebSocket, says hello,
//! runs what it is sent, and reconnects with backoff whenever the master goes away.

use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::protocol::{self, MasterMsg, WorkerMsg};
use super::session::{self, Ended};

/// A silent master is given up on after this long (it pings every few seconds).
const SILENCE: Duration = Duration::from_secs(45);
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How to reach the master and who to be.
#[derive(Clone, Debug)]
pub struct Options {
    /// The master's web address (`http://host:8010/`) or its worker URL (`ws://...`).
    pub master: String,
    /// The worker's name in the master's configuration.
    pub name: String,
    /// Its password.
    pub password: String,
    /// Where builds run.
    pub basedir: PathBuf,
    /// Most builds at once, if lower than the master's setting.
    pub max_builds: Option<u32>,
}

/// Why the worker stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The master refused the worker (wrong name or password): retrying would not help.
    #[error("the master refused this worker: {0}")]
    Rejected(String),
    /// The master URL cannot be used.
    #[error("invalid master URL `{0}`: use http://HOST:PORT/ or ws://HOST:PORT/api/v1/worker/connect")]
    BadUrl(String),
}

/// The WebSocket URL for a master address.
pub fn worker_url(master: &str) -> Result<String, WorkerError> {
    let trimmed = master.trim_end_matches('/');
    let url = if let Some(rest) = trimmed.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = trimmed.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if trimmed.starts_with("ws://") || trimmed.starts_with("wss://") {
        trimmed.to_owned()
    } else {
        return Err(WorkerError::BadUrl(master.to_owned()));
    };
    Ok(if url.ends_with("/api/v1/worker/connect") { url } else { format!("{url}/api/v1/worker/connect") })
}

/// Runs until the master shuts the worker down gracefully (Ok) or refuses it (Err).
pub async fn run(options: Options) -> Result<(), WorkerError> {
    let url = worker_url(&options.master)?;
    let mut backoff = Duration::from_secs(1);
    loop {
        match session_once(&url, &options).await {
            Ok((Ended::Shutdown, _)) => {
                tracing::info!("the master shut this worker down");
                return Ok(());
            }
            Ok((Ended::Rejected(reason), _)) => return Err(WorkerError::Rejected(reason)),
            Ok((Ended::Lost, accepted)) => {
                if accepted {
                    backoff = Duration::from_secs(1);
                }
                tracing::warn!(
                    master = url,
                    "lost the connection to the master; reconnecting in {}s",
                    backoff.as_secs()
                );
            }
            Err(e) => {
                tracing::warn!(master = url, error = %e, "cannot reach the master; retrying in {}s", backoff.as_secs())
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: returns how it ended and whether the master had accepted the worker.
async fn session_once(url: &str, options: &Options) -> Result<(Ended, bool), tokio_tungstenite::tungstenite::Error> {
    let (socket, _) = tokio_tungstenite::connect_async(url).await?;
    let (mut sink, mut stream) = socket.split();
    let hello = WorkerMsg::Hello {
        name: options.name.clone(),
        password: Some(options.password.clone()),
        max_builds: options.max_builds,
        info: protocol::host_info(),
        version: protocol::VERSION.into(),
    };
    sink.send(Message::Text(serde_json::to_string(&hello).unwrap_or_default().into())).await?;
    tracing::info!(master = url, worker = options.name, "connected; waiting for the master to accept");

    let (to_session, inbox) = mpsc::channel::<MasterMsg>(64);
    let (outbox, mut from_session) = mpsc::channel::<WorkerMsg>(64);
    let session = tokio::spawn(session::serve(inbox, outbox, options.basedir.clone()));
    let mut accepted = false;
    loop {
        tokio::select! {
            msg = tokio::time::timeout(SILENCE, stream.next()) => {
                let text = match msg {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Binary(_)))) => continue,
                    Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => break,
                    Err(_) => {
                        tracing::warn!("no word from the master for {}s", SILENCE.as_secs());
                        break;
                    }
                };
                let Ok(msg) = serde_json::from_str::<MasterMsg>(&text) else {
                    tracing::warn!("ignoring a message this worker does not understand");
                    continue;
                };
                if let MasterMsg::Accepted { master } = &msg {
                    accepted = true;
                    tracing::info!(master, "accepted by the master");
                }
                let last = matches!(msg, MasterMsg::Shutdown | MasterMsg::Rejected { .. });
                if to_session.send(msg).await.is_err() || last {
                    break;
                }
            }
            out = from_session.recv() => {
                let Some(out) = out else { break };
                let Ok(text) = serde_json::to_string(&out) else { continue };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    drop(to_session);
    let how = session.await.unwrap_or(Ended::Lost);
    let _ = sink.close().await;
    Ok((how, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_addresses_become_worker_urls() {
        assert_eq!(worker_url("http://m:8010/").unwrap(), "ws://m:8010/api/v1/worker/connect");
        assert_eq!(worker_url("https://m").unwrap(), "wss://m/api/v1/worker/connect");
        assert_eq!(worker_url("ws://m:1/api/v1/worker/connect").unwrap(), "ws://m:1/api/v1/worker/connect");
        assert!(worker_url("m:8010").is_err());
    }
}
