//! A stand-in for a forge's HTTP API on 127.0.0.1, shared by the commit status and Gerrit
//! tests: it records every request and answers from a script, and the outbox helpers those
//! tests wait with.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cascade::db::outbox;
use cascade::engine::Engine;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Received {
    /// The header `name`, which must not be given twice.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let first = found.next();
        assert_eq!(found.next(), None, "{name} given twice: {:?}", self.headers);
        first
    }
}

/// The stand-in API: answers each request with the next scripted status (200 once the
/// script is used up) and records it.
#[derive(Clone, Default)]
pub struct Api {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    port: u16,
}

impl Api {
    pub async fn start(script: &[(u16, &'static str)]) -> Api {
        Api::start_on(0, script).await
    }

    /// As [`Api::start`], on `port` (0: any free one).
    pub async fn start_on(port: u16, script: &[(u16, &'static str)]) -> Api {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let api = Api {
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            port: listener.local_addr().unwrap().port(),
        };
        let state = api.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(state.clone().serve(stream));
            }
        });
        api
    }

    async fn serve(self, mut stream: tokio::net::TcpStream) {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            data.extend_from_slice(&buf[..n]);
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap().split(' ');
        let (method, path) = (first.next().unwrap().to_owned(), first.next().unwrap().to_owned());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        while data.len() < head_end + length {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "body cut short");
            data.extend_from_slice(&buf[..n]);
        }
        let body = serde_json::from_slice(&data[head_end..head_end + length]).unwrap_or(Value::Null);
        let (status, text) = self.script.lock().unwrap().pop_front().unwrap_or((200, "{}"));
        self.received.lock().unwrap().push(Received { method, path, headers, body });
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to a minute) until `n` requests arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{} of {n} requests arrived: {got:#?}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn rows(engine: &Engine) -> Vec<outbox::Message> {
    let mut conn = engine.db.acquire().await.unwrap();
    let mut rows = outbox::list(conn.conn(), None, None, 1000, 0).await.unwrap();
    rows.reverse();
    rows
}

/// Waits until `check` holds for the outbox row with key `key`, and returns it.
pub async fn row_where(engine: &Engine, key: &str, check: impl Fn(&outbox::Message) -> bool) -> outbox::Message {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(row) = rows(engine).await.into_iter().find(|r| r.key.as_deref() == Some(key) && check(r)) {
            return row;
        }
        assert!(Instant::now() < deadline, "no row {key} as expected: {:?}", rows(engine).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
