//! The `[web]` keys that reach the file system, over real TCP so that no client tidies the
//! paths sent: `public_html` (served before the built-in files, never anything outside its
//! folder) and `access_log` (Combined Log Format lines, rotated by size).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::TestDb;

const BODY: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[change_hook]
dialects = { base = {} }
"#;

/// A master serving on a free port of 127.0.0.1, stopped when dropped.
struct Served {
    addr: String,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _engine: Arc<Engine>,
    _db: TestDb,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves a master whose `[web]` section has `web` (with `DIR` replaced by its directory);
/// `prepare` fills the directory first.
async fn serve(web: &str, body: &str, prepare: impl FnOnce(&Path)) -> Served {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let web = web.replace("DIR", &dir.path().display().to_string());
    let cfg = common::config_with_web(dir.path(), &web, body, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let (acceptor, bound) =
        cascade::server::bind(&engine.config().web.listen, engine.watch_configuration()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cascade::server::serve(acceptor, engine.clone(), async move {
        let _ = stopped.await;
    }));
    Served { addr: bound[0].clone(), dir, stop: Some(stop), _engine: engine, _db: tdb }
}

/// An answer read off the wire.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `head` (a request line and headers, without the blank line) exactly as written.
async fn send(addr: &str, head: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Answer { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

async fn get(addr: &str, path: &str) -> Answer {
    send(addr, &format!("GET {path} HTTP/1.1")).await
}

const SECRET: &str = "TOP SECRET: outside public_html";

/// `DIR/public_html` with a robots.txt, a logo, an extra page, files named like server
/// routes, and symlinks out of the folder; `DIR/secret.txt` beside it.
fn public_folder(dir: &Path) {
    let root = dir.join("public_html");
    for sub in ["extra", "api/v1", "change_hook", "nested/deeper"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("robots.txt"), "User-agent: *\nDisallow: /secret-area\n").unwrap();
    std::fs::write(root.join("logo.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(root.join("extra/index.html"), "<h1>Extra page</h1>").unwrap();
    std::fs::write(root.join("nested/deeper/notes.txt"), "deep notes").unwrap();
    std::fs::write(root.join("api/v1/builders"), "shadow").unwrap();
    std::fs::write(root.join("change_hook/base"), "shadow").unwrap();
    std::fs::write(root.join("healthz"), "shadow").unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
    std::fs::write(dir.join("outside/secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), root.join("escape-dir")).unwrap();
}

#[tokio::test]
async fn public_html_files_are_served_before_the_built_in_ones() {
    let s = serve("public_html = \"public_html\"", BODY, public_folder).await;

    let robots = get(&s.addr, "/robots.txt").await;
    assert_eq!(robots.status, 200);
    assert_eq!(robots.text(), "User-agent: *\nDisallow: /secret-area\n");
    assert!(robots.header("content-type").unwrap().starts_with("text/plain"), "{}", robots.head);

    let logo = get(&s.addr, "/logo.png").await;
    assert_eq!((logo.status, logo.header("content-type")), (200, Some("image/png")));
    assert!(logo.body.starts_with(b"\x89PNG"));

    let notes = get(&s.addr, "/nested/deeper/notes.txt").await;
    assert_eq!((notes.status, notes.text().as_str()), (200, "deep notes"));

    let page = get(&s.addr, "/extra/").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.text(), "<h1>Extra page</h1>");
    let bare = get(&s.addr, "/extra?x=1").await;
    assert_eq!((bare.status, bare.header("location")), (301, Some("/extra/?x=1")));

    let head = send(&s.addr, "HEAD /logo.png HTTP/1.1").await;
    assert_eq!((head.status, head.body.len()), (200, 0));

    // The server's own routes are never shadowed by files of the same name.
    let api = get(&s.addr, "/api/v1/builders").await;
    assert_eq!(api.status, 200);
    assert!(api.header("content-type").unwrap().starts_with("application/json"), "{}", api.head);
    assert_ne!(api.text(), "shadow");
    let health = get(&s.addr, "/healthz").await;
    assert_eq!(health.text(), "ok");
    let hook = get(&s.addr, "/change_hook/base").await;
    assert_ne!(hook.text(), "shadow");
    let posted = send(&s.addr, "POST /robots.txt HTTP/1.1\r\nContent-Length: 0").await;
    assert_ne!(posted.text(), "User-agent: *\nDisallow: /secret-area\n");
}

#[tokio::test]
async fn built_in_files_answer_what_public_html_does_not_have() {
    let s = serve("public_html = \"public_html\"", BODY, |dir| {
        std::fs::create_dir_all(dir.join("public_html")).unwrap();
    })
    .await;
    let robots = get(&s.addr, "/robots.txt").await;
    assert_eq!(robots.status, 200);
    assert!(robots.text().contains("Disallow: /waterfall"), "{}", robots.text());
    assert_eq!(get(&s.addr, "/healthz").await.text(), "ok");
}

#[tokio::test]
async fn path_traversal_attempts_never_reach_a_file_outside_the_folder() {
    let s = serve("public_html = \"public_html\"", BODY, public_folder).await;
    let refused = [
        "/../secret.txt",
        "/extra/../../secret.txt",
        "/../../../../../../etc/passwd",
        "/./robots.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/extra/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/robots.txt%00.png",
        "/escape.txt",
        "/escape-dir/secret.txt",
    ];
    for path in refused {
        let answer = get(&s.addr, path).await;
        assert!(matches!(answer.status, 400 | 404), "{path}: {} {}", answer.status, answer.text());
        let body = answer.text();
        assert!(!body.contains(SECRET) && !body.contains("root:"), "{path} served {body}");
    }
    // Absolute paths and absolute-form targets stay inside the folder (or reach the SPA).
    for target in [
        "//etc/passwd",
        &format!("/{}", s.dir.path().join("secret.txt").display()),
        &format!("http://{}/../secret.txt", s.addr),
        "http://evil.example/%2e%2e/secret.txt",
    ] {
        let answer = get(&s.addr, target).await;
        let body = answer.text();
        assert!(!body.contains(SECRET) && !body.contains("root:"), "{target} served {body}");
    }
}

/// One parsed Combined Log Format line.
#[derive(Debug)]
struct Logged {
    remote: String,
    user: String,
    time: String,
    request: String,
    status: u16,
    bytes: String,
    referer: String,
    agent: String,
}

fn parse(line: &str) -> Logged {
    let re = regex::Regex::new(
        r#"^(\S+) - (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$"#,
    )
    .unwrap();
    let c = re.captures(line).unwrap_or_else(|| panic!("not a combined log line: {line:?}"));
    Logged {
        remote: c[1].into(),
        user: c[2].into(),
        time: c[3].into(),
        request: c[4].into(),
        status: c[5].parse().unwrap(),
        bytes: c[6].into(),
        referer: c[7].into(),
        agent: c[8].into(),
    }
}

/// Waits until the log at `path` has a line containing `needle`, then returns every line.
async fn lines_once(path: &Path, needle: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text.lines().map(str::to_owned).collect();
        }
        assert!(tokio::time::Instant::now() < deadline, "no `{needle}` in {}:\n{text}", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_request_is_one_combined_log_format_line() {
    let hash = cascade::auth::password::hash("pw").unwrap();
    let body = format!("{BODY}\n[auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}]\n");
    let s = serve("access_log = { path = \"logs/http.log\" }", &body, |_| {}).await;
    let log = s.dir.path().join("logs/http.log");

    let ok = send(
        &s.addr,
        "GET /healthz?probe=1 HTTP/1.1\r\nReferer: http://ci.example.org/waterfall\r\nUser-Agent: probe/1.0 \"quoted\"",
    )
    .await;
    assert_eq!(ok.status, 200);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("ann:pw");
    let me = send(&s.addr, &format!("GET /api/v1/session HTTP/1.1\r\nAuthorization: Basic {basic}")).await;
    assert_eq!(me.status, 200);
    let missing = get(&s.addr, "/api/v1/builders/nope").await;
    assert_eq!(missing.status, 404);
    send(&s.addr, "GET /last HTTP/1.0").await;

    let lines = lines_once(&log, "GET /last HTTP/1.0").await;
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let lines: Vec<Logged> = lines.iter().map(|l| parse(l)).collect();
    let probe = &lines[0];
    assert_eq!(
        (probe.remote.as_str(), probe.user.as_str(), probe.request.as_str(), probe.status, probe.bytes.as_str()),
        ("127.0.0.1", "-", "GET /healthz?probe=1 HTTP/1.1", 200, "2")
    );
    assert_eq!(probe.referer, "http://ci.example.org/waterfall");
    assert_eq!(probe.agent, r##"probe/1.0 \"quoted\""##);
    let now = chrono::Utc::now().format("%d/%b/%Y").to_string();
    assert!(probe.time.starts_with(&now), "{}", probe.time);

    let session = &lines[1];
    assert_eq!((session.user.as_str(), session.status), ("ann", 200));
    assert_eq!(session.bytes, me.body.len().to_string());
    assert_eq!((session.referer.as_str(), session.agent.as_str()), ("-", "-"));
    let nope = &lines[2];
    assert_eq!(
        (nope.request.as_str(), nope.status, nope.user.as_str()),
        ("GET /api/v1/builders/nope HTTP/1.1", 404, "-")
    );
    assert_eq!(nope.bytes, missing.body.len().to_string());
    assert_eq!(lines[3].request, "GET /last HTTP/1.0");
}

fn rotated(log: &Path, n: usize) -> PathBuf {
    PathBuf::from(format!("{}.{n}", log.display()))
}

#[tokio::test]
async fn the_access_log_rotates_by_size_and_keeps_max_rotated_files() {
    let web = "access_log = { path = \"http.log\", rotate_length = 1000, max_rotated_files = 3 }";
    let s = serve(web, BODY, |_| {}).await;
    let log = s.dir.path().join("http.log");
    // About 90 bytes a line: 100 requests make about nine files' worth.
    let requests = 100;
    for n in 0..requests {
        let answer = get(&s.addr, &format!("/healthz?n={n:03}")).await;
        assert_eq!(answer.status, 200);
    }
    let last = format!("GET /healthz?n={:03} ", requests - 1);
    lines_once(&log, &last).await;

    let kept: Vec<PathBuf> = (1..=3).map(|n| rotated(&log, n)).collect();
    for path in &kept {
        let size = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).len();
        assert!((1000..1000 + 200).contains(&size), "{} has {size} bytes", path.display());
    }
    assert!(!rotated(&log, 4).exists(), "more than max_rotated_files were kept");
    assert!(std::fs::metadata(&log).unwrap().len() < 1000 + 200);

    // Oldest first, every line whole, and the requests in order with none missing since
    // the oldest kept one.
    let mut numbers = Vec::new();
    for path in kept.iter().rev().chain([&log]) {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let entry = parse(line);
            let n = entry.request.strip_prefix("GET /healthz?n=").and_then(|r| r.strip_suffix(" HTTP/1.1"));
            numbers.push(n.unwrap_or_else(|| panic!("unexpected line {line}")).parse::<i64>().unwrap());
        }
    }
    let first = numbers[0];
    assert!(first > 0, "the oldest files were not dropped");
    assert_eq!(numbers, (first..requests).collect::<Vec<_>>());
}
