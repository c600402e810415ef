//! Clients that stop reading: an event-stream client that reads nothing is dropped once the
//! master's writes to it have waited `[web] write_timeout`, with a log line, while a client
//! that reads gets every event. Clients that send too slowly, or a request head too large.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::process::{Master, config};
use tokio::io::AsyncWriteExt;

const CHANGES: usize = 120;

/// `cascade_sse_clients` as `/metrics` says it.
async fn open_streams(base: &str) -> i64 {
    let text = reqwest::get(format!("{base}metrics")).await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("cascade_sse_clients ")).unwrap_or_else(|| panic!("{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// A master process on a fresh database, with `web` as its `[web]` settings.
struct Running {
    master: Master,
    /// Its URL, ending in `/`.
    base: String,
    addr: std::net::SocketAddr,
    _db: common::TestDb,
    _dir: tempfile::TempDir,
}

async fn start(web: &str) -> Running {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, config(&tdb.url, web)).unwrap();
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &[], 1)).await.unwrap();
    let base = master.urls[0].clone();
    let addr = base.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    Running { master, base, addr, _db: tdb, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_nobody_reads_is_dropped_and_a_reader_gets_every_event() {
    let Running { master, base, addr, .. } =
        &start("listen = [\"127.0.0.1:0\"]\nwrite_timeout = 1\n[change_hook]\ndialects = { base = {} }").await;

    // The stuck client asks for the stream over a small receive buffer and never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(*addr).await.unwrap();
    stuck.write_all(b"GET /api/v1/events?type=change HTTP/1.1\r\nHost: cascade\r\n\r\n").await.unwrap();

    let mut reader = reqwest::get(format!("{base}api/v1/events?type=change")).await.unwrap();
    assert_eq!(reader.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_streams(base).await < 2 {
        assert!(Instant::now() < deadline, "the two streams did not open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Each change.new carries a 60 kB comment: 7 MB in all, more than the sockets can hold.
    let comment = "x".repeat(60_000);
    let client = reqwest::Client::new();
    let reading = tokio::spawn(async move {
        let (mut seen, mut text) = (0, String::new());
        while seen < CHANGES {
            let chunk = reader.chunk().await.unwrap().expect("the reader's stream ended");
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                seen += usize::from(text[..end].lines().any(|l| l == "event: change.new"));
                text.drain(..end + 2);
            }
        }
        (seen, reader)
    });
    for i in 0..CHANGES {
        let form = [("comments", comment.as_str()), ("revision", &format!("r{i}")), ("author", "a <a@x>")];
        let resp = client.post(format!("{base}change_hook/base")).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    }
    let (seen, reader) = tokio::time::timeout(Duration::from_secs(60), reading).await.unwrap().unwrap();
    assert_eq!(seen, CHANGES);

    // The stuck stream is closed and said so; the reader's stays open.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !master.logs().iter().any(|l| l.contains("closing a connection whose client has read nothing")) {
        assert!(Instant::now() < deadline, "the stuck client was not dropped: {:#?}", master.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_streams(base).await != 1 {
        assert!(Instant::now() < deadline, "the stuck stream is still counted open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop((stuck, reader));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_a_byte_at_a_time_is_cut_off_and_others_are_served() {
    use tokio::io::AsyncReadExt;
    let Running { master, base, addr, .. } = &start("listen = [\"127.0.0.1:0\"]\nrequest_timeout = 1").await;

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: cascade\r\n").await.unwrap();
    // A header a byte at a time, never finished: the master must close the connection.
    let (mut reading, mut writing) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for b in b"X-Slow: ".iter().cycle() {
            if writing.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), reading.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the trickling connection was not closed: {:#?}", master.logs());
    assert!(!String::from_utf8_lossy(&buf).contains(" 200 "), "the unfinished request was answered: {buf:?}");
    trickle.abort();

    assert_eq!(reqwest::get(format!("{base}healthz")).await.unwrap().status(), 200);
    let said = |l: &String| l.contains("did not send its request within the request timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !master.logs().iter().any(said) {
        assert!(Instant::now() < deadline, "no warning about the slow client: {:#?}", master.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_went_away_ends_at_once() {
    use tokio::io::AsyncReadExt;
    let Running { base, addr, .. } = &start("listen = [\"127.0.0.1:0\"]").await;

    // Streams of an event that does not come: the master writes nothing to them until their
    // first keep-alive comment, so only their clients' leaving can end them before that.
    let open = || async {
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET /api/v1/events?type=build.finished HTTP/1.1\r\nHost: cascade\r\n\r\n").await.unwrap();
        let mut head = [0u8; 512];
        let n = client.read(&mut head).await.unwrap();
        assert!(head[..n].starts_with(b"HTTP/1.1 200 "), "{:?}", String::from_utf8_lossy(&head[..n]));
        client
    };
    // A client that stays, opened first: its keep-alive is due before any of the others'.
    let mut staying = open().await;
    let mut leaving = Vec::new();
    for _ in 0..3 {
        leaving.push(open().await);
    }
    assert_eq!(open_streams(base).await, 4);
    drop(leaving);
    // The left streams are counted closed before the staying client hears its keep-alive:
    // had they lived on until a write of theirs failed, that would come first.
    let mut heard = [0u8; 64];
    loop {
        tokio::select! {
            biased;
            n = staying.read(&mut heard) => {
                panic!("a keep-alive came before the left streams ended: {:?}", String::from_utf8_lossy(&heard[..n.unwrap()]))
            }
            streams = open_streams(base) => if streams == 1 { break },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_over_8_kb_is_refused_and_the_next_request_is_served() {
    let Running { base, .. } = &start("listen = [\"127.0.0.1:0\"]").await;
    let client = reqwest::Client::new();
    let with_header = |bytes: usize| client.get(format!("{base}healthz")).header("X-Padding", "p".repeat(bytes)).send();

    let served = with_header(7 * 1024).await.unwrap();
    assert_eq!(served.status(), 200);
    let refused = with_header(9 * 1024).await.unwrap();
    assert_eq!(refused.status(), 431, "{:?}", refused.text().await);
    assert_eq!(with_header(10).await.unwrap().status(), 200);

    // A long query string counts too, and the API's document says so for each operation.
    let long = client.get(format!("{base}api/v1/builds?q={}", "x".repeat(9 * 1024))).send().await.unwrap();
    assert_eq!(long.status(), 431);
    let spec: serde_json::Value =
        client.get(format!("{base}api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let documented = spec["paths"]["/builds"]["get"]["responses"].as_object().unwrap();
    assert!(documented.contains_key("431"), "{documented:#?}");
}
