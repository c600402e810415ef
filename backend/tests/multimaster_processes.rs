//! Two `cascade start` processes on one database share the queue: every build request runs
//! exactly once, and build numbers never repeat.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A master process, killed when dropped.
struct Master {
    child: Child,
    url: String,
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, db_url: &str) -> Master {
    let config = format!(
        "title = \"m\"\n[db]\nurl = \"{db_url}\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n[authz]\nforce_build = true\n\
         [[workers]]\nname = \"local\"\nembedded = true\nmax_builds = 3\n\
         [[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = [ {{ name = \"s\", command = \"sleep 0.1\" }} ]\n\
         [[schedulers]]\nname = \"force\"\nkind = \"force\"\nbuilders = [\"app\"]\n"
    );
    std::fs::write(dir.join("cascade.toml"), config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["start", "--config"])
        .arg(dir.join("cascade.toml"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on ") {
                let _ = tx.send(line[i + "listening on ".len()..].trim_end_matches('/').to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("the master did not start");
    Master { child, url }
}

fn get(url: &str) -> Value {
    let mut resp = ureq::get(url).call().unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_master_processes_never_run_a_request_twice() {
    let tdb = common::TestDb::new().await;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (url, a_path, b_path) = (tdb.url.clone(), a_dir.path().to_owned(), b_dir.path().to_owned());
    let (a, b) = tokio::task::spawn_blocking(move || (start(&a_path, &url), start(&b_path, &url))).await.unwrap();
    const N: usize = 30;
    let builds = tokio::task::spawn_blocking(move || {
        for i in 0..N {
            let master = if i % 2 == 0 { &a.url } else { &b.url };
            let resp = ureq::post(format!("{master}/api/v1/builders/app/force"))
                .header("content-type", "application/json")
                .send("{}")
                .unwrap();
            assert_eq!(resp.status().as_u16(), 202);
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let builds = get(&format!("{}/api/v1/builds?limit=1000", a.url))["builds"].as_array().unwrap().clone();
            let done = builds.iter().filter(|b| b["complete"] == Value::Bool(true)).count();
            if done >= N {
                let seen_by_b = get(&format!("{}/api/v1/builds?limit=1000", b.url))["builds"].as_array().unwrap().len();
                assert_eq!(seen_by_b, builds.len(), "both masters read the same database");
                drop((a, b));
                return builds;
            }
            assert!(Instant::now() < deadline, "only {done} of {N} builds finished");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    assert_eq!(builds.len(), N, "one build per request");
    let requests: HashSet<_> = builds.iter().map(|b| b["buildrequest_id"].as_i64().unwrap()).collect();
    assert_eq!(requests.len(), N, "no request ran twice");
    let numbers: HashSet<_> = builds.iter().map(|b| b["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, (1..=N as i64).collect::<HashSet<_>>(), "numbers 1..N, none repeated");
    assert!(builds.iter().all(|b| b["results"] == Value::String("success".into())));
}
