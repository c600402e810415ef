//! A remote worker that stops answering is noticed by the master's heartbeat, over a
//! real WebSocket connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use cascade::worker::protocol::{MasterMsg, WorkerMsg};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use common::TestMaster;

#[tokio::test]
async fn a_silent_worker_is_dropped_within_thirty_seconds() {
    let m = TestMaster::start(
        "[[workers]]\nname = \"far\"\npassword = \"pw\"\n[[builders]]\nname = \"b\"\nworkers = [\"far\"]\nsteps = [ { name = \"s\", command = \"true\" } ]\n",
    )
    .await;
    let (acceptor, bound) =
        cascade::server::bind(&[cascade::config::Listen::plain("127.0.0.1:0")], m.engine.watch_configuration())
            .await
            .unwrap();
    let engine = m.engine.clone();
    tokio::spawn(cascade::server::serve(acceptor, engine, std::future::pending()));
    let url = format!("ws://{}/api/v1/worker/connect", bound[0]);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let hello = WorkerMsg::Hello {
        name: "far".into(),
        password: Some("pw".into()),
        max_builds: None,
        info: Default::default(),
        version: "test".into(),
    };
    socket.send(Message::Text(serde_json::to_string(&hello).unwrap().into())).await.unwrap();
    let first = socket.next().await.unwrap().unwrap();
    let accepted: MasterMsg = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert!(matches!(accepted, MasterMsg::Accepted { .. }), "{accepted:?}");
    assert!(m.engine.workers.is_connected("far"));

    // From now on the worker reads (so TCP stays healthy) but never answers a ping.
    let started = Instant::now();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} });
    while m.engine.workers.is_connected("far") {
        assert!(started.elapsed() < Duration::from_secs(30), "the silent worker was not dropped within 30 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(15), "dropped too early: {:?}", started.elapsed());
    reader.abort();
}
