//! A `cascade start` process for system tests: started on a written configuration, its
//! listening URLs read off its standard output, its log lines kept, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running master process.
pub struct Master {
    child: Child,
    /// The "listening on" URLs, in the order of `[web] listen`, each ending in `/`.
    pub urls: Vec<String>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Master {
    /// Starts the master on `config` with extra environment variables and waits until it
    /// has printed `listeners` URLs.
    pub fn start(config: &Path, env: &[(&str, &str)], listeners: usize) -> Master {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(["start", "--config"])
            .arg(config)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on ") {
                    let _ = tx.send(line[i + "listening on ".len()..].to_owned());
                }
            }
        });
        let mut urls = Vec::new();
        while urls.len() < listeners {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(url) => urls.push(url),
                Err(_) => panic!("the master did not start; its log:\n{}", logs.lock().unwrap().join("\n")),
            }
        }
        Master { child, urls, logs }
    }

    /// The lines the master has written to standard error so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal configuration on `db_url` whose `[web]` section is `web`.
pub fn config(db_url: &str, web: &str) -> String {
    config_with_steps(db_url, web, "[ { name = \"s\", command = \"true\" } ]")
}

/// As [`config`], with `steps` (a TOML array) as the builder's steps.
pub fn config_with_steps(db_url: &str, web: &str, steps: &str) -> String {
    format!(
        "title = \"m\"\n[db]\nurl = \"{db_url}\"\n[web]\n{web}\n\
         [[workers]]\nname = \"local\"\nembedded = true\n\
         [[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = {steps}\n"
    )
}

/// Writes a self-signed certificate for 127.0.0.1 as `server.pem`, its key as `server.key`.
pub fn self_signed(dir: &Path) {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A CA certificate may not serve as the end entity, so say it is not one.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("server.key"))
        .arg("-out")
        .arg(dir.join("server.pem"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}
