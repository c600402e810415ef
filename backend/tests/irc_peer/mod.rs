//! A real IRC server for the IRC reporter's tests (Debian's ngircd on a free loopback port,
//! configured in a temporary folder, killed by its PID when dropped) and a plain client
//! speaking raw IRC lines, which keeps what it reads until a test asks for it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

const NGIRCD: &str = "/usr/sbin/ngircd";

/// How long a test waits for anything the server or the bot should do.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running ngircd.
pub struct Ngircd {
    dir: tempfile::TempDir,
    /// Its plain port.
    pub port: u16,
    /// Its TLS port, when it has one.
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Ngircd {
    /// A server with the channel `#keyed` (key `sesame`).
    pub async fn start() -> Ngircd {
        Self::start_in(tempfile::tempdir().unwrap(), false).await
    }

    /// A server that also listens with TLS, with a certificate for `localhost` signed by a
    /// CA made for the test; returns the CA's file too.
    pub async fn start_with_tls() -> (Ngircd, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        make_certificates(dir.path());
        let ca = dir.path().join("ca.pem");
        (Self::start_in(dir, true).await, ca)
    }

    async fn start_in(dir: tempfile::TempDir, tls: bool) -> Ngircd {
        let port = free_port();
        let tls_port = tls.then(free_port);
        let mut config = format!(
            "[Global]\nName = irc.cascade.test\nInfo = Cascade test server\nAdminInfo1 = tests\nAdminInfo2 = tests\n\
             AdminEMail = tests@example.org\nListen = 127.0.0.1\nPorts = {port}\nMotdPhrase = \"test server\"\n\
             [Limits]\nMaxNickLength = 30\nMaxConnectionsIP = 0\nMaxJoins = 0\nIdleTimeout = 300\n\
             [Options]\nPAM = no\nIdent = no\nDNS = no\n\
             [Channel]\nName = #keyed\nModes = +ntk sesame\n"
        );
        if let Some(tls_port) = tls_port {
            let d = dir.path().display();
            config.push_str(&format!("[SSL]\nCertFile = {d}/cert.pem\nKeyFile = {d}/key.pem\nPorts = {tls_port}\n"));
        }
        let path = dir.path().join("ngircd.conf");
        std::fs::write(&path, config).unwrap();
        let check = std::process::Command::new(NGIRCD).arg("--configtest").arg("--config").arg(&path).output().unwrap();
        assert!(check.status.success(), "ngircd --configtest: {}", String::from_utf8_lossy(&check.stderr));
        let mut server = Ngircd { dir, port, tls_port, child: None };
        server.run().await;
        server
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("ngircd.conf")
    }

    async fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("ngircd.log")).unwrap();
        let child = Command::new(NGIRCD)
            .arg("--config")
            .arg(self.config())
            .arg("--nodaemon")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("cannot start ngircd (is Debian's ngircd installed?)");
        self.child = Some(child);
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "ngircd did not listen on {} in time: {}", self.port, self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ngircd.log")).unwrap_or_default()
    }

    /// Kills the server (by its PID) and waits for it to go.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Starts the server again on the same ports.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.run().await;
    }
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// A test CA, and a certificate for `localhost` it signed, made with openssl.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Cascade test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// One line from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The sender's nick (or the server's name).
    pub from: String,
    /// The command or numeric.
    pub command: String,
    /// Its parameters, the trailing one included.
    pub params: Vec<String>,
}

impl Line {
    fn parse(raw: &str) -> Line {
        let mut rest = raw;
        let mut from = String::new();
        if let Some(tail) = rest.strip_prefix(':') {
            let (prefix, tail) = tail.split_once(' ').unwrap_or((tail, ""));
            from = prefix.split('!').next().unwrap_or(prefix).to_owned();
            rest = tail;
        }
        let (head, trailing) = match rest.split_once(" :") {
            Some((head, trailing)) => (head, Some(trailing)),
            None => (rest, None),
        };
        let mut words = head.split_whitespace().map(str::to_owned);
        let command = words.next().unwrap_or_default();
        let mut params: Vec<String> = words.collect();
        params.extend(trailing.map(str::to_owned));
        Line { from, command, params }
    }

    /// The text of a PRIVMSG or NOTICE from `from` to `target`.
    pub fn said(&self, from: &str, target: &str) -> Option<&str> {
        let ok = matches!(self.command.as_str(), "PRIVMSG" | "NOTICE")
            && self.from.eq_ignore_ascii_case(from)
            && self.params.first().is_some_and(|t| t.eq_ignore_ascii_case(target));
        ok.then(|| self.params.get(1).map(String::as_str).unwrap_or(""))
    }
}

/// A connected, registered IRC client.
pub struct Client {
    /// Its nick.
    pub nick: String,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    kept: VecDeque<Line>,
}

impl Client {
    /// Connects as `nick` and waits for the server's welcome.
    pub async fn connect(port: u16, nick: &str) -> Client {
        let (read, write) = TcpStream::connect(("127.0.0.1", port)).await.unwrap().into_split();
        let mut client =
            Client { nick: nick.to_owned(), reader: BufReader::new(read), writer: write, kept: VecDeque::new() };
        client.send(&format!("NICK {nick}")).await;
        client.send(&format!("USER {nick} 0 * :test client {nick}")).await;
        client.take("the welcome", |l| l.command == "001").await;
        client
    }

    /// Sends one raw line.
    pub async fn send(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
    }

    /// Joins a channel and waits until the server says so.
    pub async fn join(&mut self, channel: &str, key: Option<&str>) {
        self.send(&format!("JOIN {channel} {}", key.unwrap_or(""))).await;
        let nick = self.nick.clone();
        self.take(&format!("our JOIN of {channel}"), |l| l.command == "JOIN" && l.from == nick).await;
        self.take(&format!("the names of {channel}"), |l| l.command == "366").await;
    }

    /// Says `text` to a channel or a nick.
    pub async fn say(&mut self, target: &str, text: &str) {
        self.send(&format!("PRIVMSG {target} :{text}")).await;
    }

    /// The first line, kept or still to come, that `pred` accepts; what it passes over is
    /// kept for later. Fails after [`PATIENCE`], showing what came.
    pub async fn take(&mut self, what: &str, pred: impl Fn(&Line) -> bool) -> Line {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) = self.kept.iter().position(&pred) {
                return self.kept.remove(i).unwrap();
            }
            let mut raw = String::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_line(&mut raw)).await;
            match read {
                Err(_) => panic!("{}: no {what} within {PATIENCE:?}; kept: {:#?}", self.nick, self.kept),
                Ok(Ok(0)) => {
                    panic!("{}: the server closed the connection waiting for {what}; kept: {:#?}", self.nick, self.kept)
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("{}: {e}", self.nick),
            }
            let line = Line::parse(raw.trim_end_matches(['\r', '\n']));
            if line.command == "PING" {
                let token = line.params.first().cloned().unwrap_or_default();
                self.send(&format!("PONG :{token}")).await;
                continue;
            }
            self.kept.push_back(line);
        }
    }

    /// The next thing `from` said to `target` (a channel, or this client).
    pub async fn heard(&mut self, from: &str, target: &str) -> String {
        let line = self.take(&format!("message from {from} to {target}"), |l| l.said(from, target).is_some()).await;
        line.params.get(1).cloned().unwrap_or_default()
    }

    /// The next message `from` sent to `target`, with its command (PRIVMSG or NOTICE).
    pub async fn heard_as(&mut self, from: &str, target: &str) -> (String, String) {
        let line = self.take(&format!("message from {from} to {target}"), |l| l.said(from, target).is_some()).await;
        (line.command.clone(), line.params.get(1).cloned().unwrap_or_default())
    }

    /// Says `command` to `target` addressed to `bot` and returns the first line of the
    /// answer: in the channel for a channel, privately for a private message.
    pub async fn ask(&mut self, bot: &str, target: &str, command: &str) -> String {
        let (text, answer_to) = if target.starts_with('#') {
            (format!("{bot}: {command}"), target.to_owned())
        } else {
            (command.to_owned(), self.nick.clone())
        };
        self.say(target, &text).await;
        self.heard(bot, &answer_to).await
    }

    /// Waits until `nick` joins `channel` (seen from inside it).
    pub async fn sees_join(&mut self, nick: &str, channel: &str) {
        self.take(&format!("{nick} joining {channel}"), |l| {
            l.command == "JOIN"
                && l.from.eq_ignore_ascii_case(nick)
                && l.params.first().is_some_and(|c| c.eq_ignore_ascii_case(channel))
        })
        .await;
    }

    /// Waits until `nick` leaves `channel` (seen from inside it).
    pub async fn sees_part(&mut self, nick: &str, channel: &str) {
        self.take(&format!("{nick} leaving {channel}"), |l| {
            l.command == "PART"
                && l.from.eq_ignore_ascii_case(nick)
                && l.params.first().is_some_and(|c| c.eq_ignore_ascii_case(channel))
        })
        .await;
    }
}
