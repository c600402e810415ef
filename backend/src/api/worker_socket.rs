//! The master's end of a remote worker's WebSocket (`/api/v1/worker/connect`): JSON
//! messages in both directions, handed to the engine as a [`Link`] like the embedded
//! worker's.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use poem::web::websocket::{Message, WebSocket};
use poem::web::{Data, RemoteAddr};
use poem::{IntoResponse, handler};
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::worker::embedded::Link;
use crate::worker::protocol::{MasterMsg, WorkerMsg};

/// Largest message a worker may send (output is sent in pieces far below this).
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// `GET /api/v1/worker/connect`, upgraded to a WebSocket.
#[handler]
pub fn connect(ws: WebSocket, engine: Data<&Arc<Engine>>, addr: &RemoteAddr) -> impl IntoResponse {
    let engine = engine.clone();
    let peer = addr.to_string().trim_start_matches("socket://").to_owned();
    ws.on_upgrade(move |socket| async move {
        let (mut sink, mut stream) = socket.split();
        let (to_worker, mut outgoing) = mpsc::channel::<MasterMsg>(64);
        let (incoming, from_worker) = mpsc::channel::<WorkerMsg>(64);
        engine.attach_worker(Link { to_worker, from_worker, peer: peer.clone() });
        let writer = async {
            while let Some(msg) = outgoing.recv().await {
                let Ok(text) = serde_json::to_string(&msg) else { continue };
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        };
        let reader = async {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Text(text) if text.len() <= MAX_MESSAGE => {
                        match serde_json::from_str::<WorkerMsg>(&text) {
                            Ok(msg) => {
                                if incoming.send(msg).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(peer, error = %e, "malformed message from a worker; closing");
                                return;
                            }
                        }
                    }
                    Message::Close(_) => return,
                    Message::Text(_) | Message::Binary(_) => {
                        tracing::warn!(peer, "oversized or binary message from a worker; closing");
                        return;
                    }
                    _ => {}
                }
            }
        };
        tokio::select! {
            _ = writer => {}
            _ = reader => {}
        }
    })
}
