//! Secrets stay secret: a master process configured with every kind of secret (a worker's
//! password, each hook dialect's secret, the hooks' HTTP password, each reporter's password
//! or token, the SMTP password, an admin's password) is made to use them all: a remote
//! worker connects (and one with a wrong password is refused), signed hooks are posted
//! (and badly signed ones refused), builds run and every reporter delivers to a real peer.
//! Then its debug-level log, its access log, the workers' logs, the live events, the API's
//! answers and the hook delivery log are searched for each secret's value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[allow(dead_code)]
mod forge_peer;
mod irc_peer;
mod mail_peer;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::Master;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

/// Each secret, named for the failure message. The values are unlike anything else the
/// master could print, so any occurrence is a leak.
const SECRETS: &[(&str, &str)] = &[
    ("worker password", "wkr-pw-5b1f8e2a"),
    ("wrong worker password", "wrong-wkr-pw-9c44d1"),
    ("github secret", "gh-hook-secret-71aa0c"),
    ("gitlab token", "gl-hook-token-3e90b2"),
    ("rotated gitlab token", "gl-hook-token-rotated-8d21"),
    ("bitbucket secret", "bb-hook-secret-c8d2f4"),
    ("googlecode key", "gc-hook-key-0a6e13"),
    ("hook password", "hook-basic-pw-d5e7a9"),
    ("wrong hook password", "wrong-hook-pw-64b0ce"),
    ("http_push bearer", "push-bearer-2f7c5d"),
    ("http_push basic password", "push-basic-pw-8e1b3a"),
    ("http_push signing secret", "push-hmac-key-4d9f60"),
    ("github_status token", "ghs-token-a13c7e"),
    ("gitlab_status token", "gls-token-5e2d98"),
    ("gerrit password", "gerrit-pw-b7f04c"),
    ("smtp password", "smtp-pw-e9a1d3"),
    ("irc password", "irc-pw-17c8b5"),
    ("admin password", "admin-pw-c02e6f"),
    ("wrong login password", "wrong-login-pw-3a7e90"),
];

/// Extra request headers: name, value.
type Headers = Vec<(&'static str, String)>;

fn secret(name: &str) -> &'static str {
    SECRETS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap()
}

fn sha256_signature(key: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn md5_signature(key: &str, body: &str) -> String {
    let mut mac = Hmac::<md5::Md5>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The configuration: secrets given literally, from a file and from the environment.
fn config(db: &str, peer: &str, smtp: &mail_peer::Smtp, ca: &str, irc: u16) -> String {
    let admin_hash = cascade::auth::password::hash(secret("admin password")).unwrap();
    format!(
        r##"title = "secrets"
[db]
url = "{db}"
[web]
listen = ["127.0.0.1:0"]
access_log = {{ path = "http.log" }}
[auth]
users = [{{ username = "admin", password_hash = "{admin_hash}" }}]
[authz]
force_build = true
roles = {{ admins = ["admin"] }}
[[workers]]
name = "remote"
password = {{ file = "worker.pass" }}
[[builders]]
name = "app"
workers = ["remote"]
steps = [ {{ name = "s", command = "echo built" }} ]
[[schedulers]]
name = "all"
kind = "any_branch"
builders = ["app"]
[change_hook]
dialects = {{ github = {{ secret = {{ env = "SECRETS_TEST_GITHUB" }} }}, gitlab = {{ token = "{gl}" }}, bitbucket = {{ secret = "{bb}" }}, googlecode = {{ secret_key = "{gc}" }}, gerrit = {{}} }}
auth = {{ users = [{{ username = "forge", password = "{hook}" }}] }}
[[reporters]]
kind = "http_push"
name = "bearer"
server_url = "{peer}/push/bearer"
auth = {{ bearer = "{bearer}" }}
secret = "{hmac}"
[[reporters]]
kind = "http_push"
name = "basic"
server_url = "{peer}/push/basic"
auth = {{ basic = {{ user = "cascade", password = "{basic}" }} }}
[[reporters]]
kind = "github_status"
token = "{ghs}"
base_url = "{peer}/api/v3"
[[reporters]]
kind = "gitlab_status"
token = "{gls}"
base_url = "{peer}"
[[reporters]]
kind = "gerrit"
server_url = "{peer}/"
user = "cascade"
password = "{gerrit}"
[[reporters]]
kind = "irc"
host = "127.0.0.1"
port = {irc}
nick = "cascadebot"
password = "{irc_pw}"
channels = ["#ci"]
{mail}"##,
        gl = secret("gitlab token"),
        bb = secret("bitbucket secret"),
        gc = secret("googlecode key"),
        hook = secret("hook password"),
        bearer = secret("http_push bearer"),
        hmac = secret("http_push signing secret"),
        basic = secret("http_push basic password"),
        ghs = secret("github_status token"),
        gls = secret("gitlab_status token"),
        gerrit = secret("gerrit password"),
        irc_pw = secret("irc password"),
        mail = mail_peer::reporter(
            "mail",
            smtp.port,
            &format!(
                "extra_recipients = [\"ops@example.org\"]\nuse_tls = true\ntls_ca_file = \"{ca}\"\n\
                 smtp_user = \"cascade\"\nsmtp_password = \"{}\"",
                secret("smtp password")
            )
        ),
    )
}

/// A `cascade worker` process whose log is kept; killed when dropped.
struct Worker {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    fn start(master: &str, dir: &std::path::Path, password: &str) -> Worker {
        let file = dir.join(format!("pw-{}", password.len()));
        std::fs::write(&file, password).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(["worker", "--master", master, "--name", "remote", "--password-file"])
            .arg(&file)
            .arg("--basedir")
            .arg(dir.join(format!("wd-{}", password.len())))
            .env("CASCADE_LOG", "debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        for out in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let kept = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    kept.lock().unwrap().push(line);
                }
            });
        }
        Worker { child, log }
    }

    /// Waits (up to a minute) for the process to exit on its own.
    async fn exited(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_events_api_answers_or_the_delivery_log() {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let peer = forge_peer::Api::start(&[]).await;
    let certs = mail_peer::certs(dir.path());
    let smtp = mail_peer::Smtp::start(&mail_peer::SmtpOptions {
        starttls: true,
        login: Some(("cascade", secret("smtp password"))),
        certs: Some(&certs),
        ..Default::default()
    });
    let ircd = irc_peer::Ngircd::start().await;
    let mut watcher = irc_peer::Client::connect(ircd.port, "watcher").await;
    watcher.join("#ci", None).await;
    std::fs::write(dir.path().join("worker.pass"), secret("worker password")).unwrap();
    let text = config(&tdb.url, &peer.url(), &smtp, &certs.ca.display().to_string(), ircd.port);
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, &text).unwrap();
    let config_path = path.clone();
    let env = [("CASCADE_LOG", "debug"), ("SECRETS_TEST_GITHUB", secret("github secret"))];
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &env, 1)).await.unwrap();
    let base = master.urls[0].clone();
    let http = reqwest::Client::new();
    let admin = |path: &str| http.get(format!("{base}{path}")).basic_auth("admin", Some(secret("admin password")));

    // The live events, from before anything happens until the end.
    let events = common::EventLog::read(admin("api/v1/events").send().await.unwrap());

    // The login form, refused and then accepted.
    for (password, status) in [(secret("wrong login password"), 401), (secret("admin password"), 200)] {
        let login = json!({ "username": "admin", "password": password });
        let resp = http.post(format!("{base}api/v1/login")).json(&login).send().await.unwrap();
        assert_eq!(resp.status(), status);
    }

    let mut refused = Worker::start(&base, dir.path(), secret("wrong worker password"));
    assert!(refused.exited().await, "a worker with a wrong password is refused and gives up");
    let worker = Worker::start(&base, dir.path(), secret("worker password"));

    let post = |dialect: &str, headers: Headers, body: String, password: &str| {
        let mut req = http
            .post(format!("{base}change_hook/{dialect}"))
            .basic_auth("forge", Some(password))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let hook_pw = secret("hook password");
    let gh = include_str!("fixtures/hooks/github/push.json").to_owned();
    let gl = include_str!("fixtures/hooks/gitlab/push.json").to_owned();
    let bb = include_str!("fixtures/hooks/bitbucket/cloud_push.json").to_owned();
    let gc = include_str!("fixtures/hooks/googlecode/svn_commit.json").to_owned();
    let gerrit = include_str!("fixtures/hooks/gerrit/patchset_created.json").to_owned();
    let signed: Vec<(&str, Headers, String)> = vec![
        (
            "github",
            vec![
                ("x-github-event", "push".into()),
                ("x-hub-signature-256", sha256_signature(secret("github secret"), &gh)),
            ],
            gh.clone(),
        ),
        ("gitlab", vec![("x-gitlab-event", "Push Hook".into()), ("x-gitlab-token", secret("gitlab token").into())], gl),
        (
            "bitbucket",
            vec![
                ("x-event-key", "repo:push".into()),
                ("x-hub-signature", sha256_signature(secret("bitbucket secret"), &bb)),
            ],
            bb,
        ),
        (
            "googlecode",
            vec![("google-code-project-hosting-hook-hmac", md5_signature(secret("googlecode key"), &gc))],
            gc,
        ),
        ("gerrit", vec![], gerrit),
    ];
    let mut changes = 0;
    for (dialect, headers, body) in signed {
        let resp = post(dialect, headers, body, hook_pw).await.unwrap();
        assert_eq!(resp.status(), 202, "{dialect}");
        changes += resp.json::<Value>().await.unwrap()["change_ids"].as_array().unwrap().len();
    }
    // Refused ones: a wrong signature, a wrong token, a wrong hook password.
    let wrong_sig = vec![("x-github-event", "push".into()), ("x-hub-signature-256", sha256_signature("nope", &gh))];
    assert_eq!(post("github", wrong_sig, gh.clone(), hook_pw).await.unwrap().status(), 403);
    let wrong_token =
        vec![("x-gitlab-event", "Push Hook".into()), ("x-gitlab-token", secret("gitlab token")[1..].into())];
    assert_eq!(post("gitlab", wrong_token, "{}".into(), hook_pw).await.unwrap().status(), 403);
    assert_eq!(post("github", vec![], gh, secret("wrong hook password")).await.unwrap().status(), 401);

    // Every change builds on the remote worker, and every reporter delivers.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let builds: Value = admin("api/v1/builds?limit=100").send().await.unwrap().json().await.unwrap();
        let builds = builds["builds"].as_array().unwrap().clone();
        if builds.len() >= changes && builds.iter().all(|b| b["complete"] == json!(true)) {
            assert!(builds.iter().all(|b| b["worker"] == json!("remote") && b["results"] == json!("success")));
            break;
        }
        assert!(Instant::now() < deadline, "{} of {changes} builds finished", builds.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = |path: &str| peer.received().into_iter().filter(|r| r.path.starts_with(path)).count();
    let deadline = Instant::now() + Duration::from_secs(60);
    for path in ["/push/bearer", "/push/basic", "/api/v3/repos/", "/api/v4/projects/", "/a/changes/"] {
        while delivered(path) == 0 {
            assert!(Instant::now() < deadline, "nothing reached {path}: {:?}", peer.received());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let received = peer.received();
    let header_of = |path: &str| received.iter().find(|r| r.path.starts_with(path)).unwrap().header("authorization");
    assert_eq!(header_of("/push/bearer"), Some(format!("Bearer {}", secret("http_push bearer")).as_str()));
    assert!(header_of("/api/v3/repos/").unwrap().contains(secret("github_status token")));
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0]["login"], json!("cascade"), "the mail went out with the SMTP login");
    assert!(header_of("/push/basic").unwrap().starts_with("Basic "));
    assert!(header_of("/a/changes/").unwrap().starts_with("Basic "));

    // A reconfiguration that rotates a secret: the new one works, and neither is told.
    let rotated = text.replace(secret("gitlab token"), secret("rotated gitlab token"));
    std::fs::write(&config_path, rotated).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .arg("reconfig")
        .arg("--config")
        .arg(&config_path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    events.wait_for("reconfig", Duration::from_secs(30)).await;
    let gl = include_str!("fixtures/hooks/gitlab/push.json").to_owned();
    let token = vec![("x-gitlab-event", "Push Hook".into()), ("x-gitlab-token", secret("rotated gitlab token").into())];
    assert_eq!(post("gitlab", token, gl, hook_pw).await.unwrap().status(), 202);
    watcher.take("the bot joins #ci", |l| l.from == "cascadebot" && l.command == "JOIN").await;

    // Everything the master says to people and programs.
    let mut said: Vec<(String, String)> = Vec::new();
    let mut answer = |what: String, text: String| said.push((what, text));
    let deliveries: Value = admin("api/v1/hooks/deliveries?limit=100").send().await.unwrap().json().await.unwrap();
    for d in deliveries["deliveries"].as_array().unwrap() {
        let path = format!("api/v1/hooks/deliveries/{}", d["id"]);
        answer(path.clone(), admin(&path).send().await.unwrap().text().await.unwrap());
    }
    answer("deliveries".into(), deliveries.to_string());
    for path in [
        "api/v1/outbox?limit=1000",
        "api/v1/workers",
        "api/v1/workers/remote",
        "api/v1/builds?limit=100",
        "api/v1/changes?limit=100",
        "api/v1/buildrequests",
        "api/v1/builders",
        "api/v1/master",
        "api/v1/masters",
        "api/v1/session",
        "api/v1/views/waterfall?show_events=true",
        "json",
        "json/slaves",
        "metrics",
        "builders/app/builds/1/steps/1/logs/stdio/text",
    ] {
        let resp = admin(path).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        answer(path.to_owned(), resp.text().await.unwrap());
    }
    said.push(("the worker's log".into(), worker.log.lock().unwrap().join("\n")));
    said.push(("the refused worker's log".into(), refused.log.lock().unwrap().join("\n")));
    drop(worker);
    said.push(("events".into(), events.text()));
    assert!(said.last().unwrap().1.contains("build.finished"), "the event stream was read");
    let logs = master.logs();
    assert!(logs.iter().any(|l| l.contains("DEBUG")), "the master logs at debug level");
    said.push(("the master's log".into(), logs.join("\n")));
    let access_log = std::fs::read_to_string(dir.path().join("http.log")).unwrap();
    assert!(access_log.contains("/change_hook/github"), "the access log was written");
    said.push(("the access log".into(), access_log));

    let mut leaks = Vec::new();
    for (name, value) in SECRETS {
        for (what, text) in &said {
            if let Some(at) = text.find(value) {
                let context = &text[at.saturating_sub(200)..(at + value.len() + 50).min(text.len())];
                leaks.push(format!("the {name} is in {what}: …{context}…"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n\n"));
}
