//! `[auth] trusted_header` is believed only from `[auth] trusted_proxies`: a master on a real
//! socket is asked from two loopback addresses, one listed as a proxy and one not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use serde_json::{Value, json};

/// The address the proxy connects from; the server itself listens on 127.0.0.1 only.
const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Any other client.
const STRANGER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

struct Served {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _engine: Arc<Engine>,
    _db: common::TestDb,
    _dir: tempfile::TempDir,
}

async fn serve() -> Served {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let text = "title = \"t\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n\
        [auth]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.2/32\", \"10.0.0.0/8\"]\n\
        [authz]\nshow_users_page = \"auth\"\nstop_all_builds = \"auth\"\n\
        [[workers]]\nname = \"local\"\nembedded = true\n\
        [[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = [ { name = \"s\", command = \"true\" } ]\n";
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap();
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let (acceptor, bound) =
        cascade::server::bind(&engine.config().web.listen, engine.watch_configuration()).await.unwrap();
    assert!(bound[0].starts_with("127.0.0.1:"), "{bound:?}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cascade::server::serve(acceptor, engine.clone(), async move {
        let _ = stopped.await;
    }));
    Served { base: format!("http://{}", bound[0]), _stop: stop, _engine: engine, _db: tdb, _dir: dir }
}

/// A client whose connections come from `from`.
fn client(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().local_address(from).build().unwrap()
}

async fn session(c: &reqwest::Client, base: &str, user: Option<&str>) -> Value {
    let mut req = c.get(format!("{base}/api/v1/session"));
    if let Some(user) = user {
        req = req.header("X-Remote-User", user);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_names_the_user_from_a_listed_proxy() {
    let s = serve().await;
    let proxy = client(PROXY);
    let me = session(&proxy, &s.base, Some("pat")).await;
    assert_eq!(me["username"], json!("pat"));
    assert_eq!(me["actions"]["stop_all_builds"], json!(true));
    let users = proxy.get(format!("{}/api/v1/users", s.base)).header("X-Remote-User", "pat").send().await.unwrap();
    assert_eq!(users.status(), 200);
    // Without the header, the proxy's own requests are anonymous.
    assert_eq!(session(&proxy, &s.base, None).await["username"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_is_ignored_from_any_other_address() {
    let s = serve().await;
    let stranger = client(STRANGER);
    let me = session(&stranger, &s.base, Some("pat")).await;
    assert_eq!(me["username"], Value::Null, "a client that is not a proxy cannot name itself: {me}");
    assert_eq!(me["actions"]["stop_all_builds"], json!(false));
    let users = stranger.get(format!("{}/api/v1/users", s.base)).header("X-Remote-User", "pat").send().await.unwrap();
    assert_eq!(users.status(), 401);
    let stop = stranger
        .post(format!("{}/api/v1/builds/stop", s.base))
        .header("X-Remote-User", "admin")
        .json(&json!({ "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 401, "an action with the header from a stranger is anonymous");
}
