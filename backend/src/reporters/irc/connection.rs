//! The bot's connection: connect (with TLS when `use_ssl`), register, identify to NickServ,
//! join the channels, pass addressed messages to the responder, and send everything at a
//! flood-safe pace. When the connection is lost the bot waits `lost_delay` and connects
//! again; when an attempt fails it waits `failed_delay`. Once registered, what waited in the
//! outbox for the server is made due at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use irc::client::ClientStream;
use irc::client::prelude::{Client, Command, Config, Message, Response};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::contacts::key;
use super::format::{self, MAX_TEXT};
use super::incoming::{self, Incoming};
use super::{Shared, lock};
use crate::build_info::VERSION;
use crate::config::IrcConfig;
use crate::config::is_irc_channel;
use crate::db;
use crate::engine::Engine;

/// Messages sent at once before pacing starts.
const BURST: f64 = 5.0;
/// Messages a second after the burst: under what IRC servers let a client send before
/// they hold its lines back or drop it for flooding.
const PER_SECOND: f64 = 2.0;
/// Messages waiting to be paced out; a flood of replies past this is dropped.
const QUEUE: usize = 512;
/// Commands waiting for the responder; more are dropped.
const COMMAND_QUEUE: usize = 64;
/// How long a connection attempt (TCP and TLS) may take.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);
/// How long the server may take to welcome the bot once connected.
const REGISTER_WITHIN: Duration = Duration::from_secs(60);

/// A token bucket: `burst` messages at once, then `per_second`.
#[derive(Clone, Debug)]
pub struct Bucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(burst: f64, per_second: f64, now: Instant) -> Bucket {
        Bucket { burst, per_second, tokens: burst, at: now }
    }

    /// Takes a token for a message at `now`; returns how long to wait before sending it.
    pub fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst) - 1.0;
        self.at = now;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.per_second) }
    }
}

/// A message waiting to be paced out, and who wants to know when it left.
struct Outgoing {
    message: Message,
    left: Option<oneshot::Sender<()>>,
}

/// Sends the queued messages at the bucket's pace through `send` (false once the
/// connection is gone), telling each waiter when its message left.
async fn pace(mut queue: mpsc::Receiver<Outgoing>, mut send: impl FnMut(Message) -> bool) {
    let mut bucket = Bucket::new(BURST, PER_SECOND, tokio::time::Instant::now().into_std());
    while let Some(Outgoing { message, left }) = queue.recv().await {
        let wait = bucket.take(tokio::time::Instant::now().into_std());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if !send(message) {
            return;
        }
        if let Some(left) = left {
            let _ = left.send(());
        }
    }
}

/// A registered connection, as the responder and the delivery use it.
pub struct Link {
    out: mpsc::Sender<Outgoing>,
    pongs: std::sync::Mutex<HashMap<String, oneshot::Sender<()>>>,
    notice_on_channel: bool,
}

static PING_TOKENS: AtomicU64 = AtomicU64::new(1);

/// A PING on its way: see [`Link::answered`].
pub struct Ping {
    token: String,
    left: oneshot::Receiver<()>,
    pong: oneshot::Receiver<()>,
}

impl Link {
    fn new(out: mpsc::Sender<Outgoing>, notice_on_channel: bool) -> Link {
        Link { out, pongs: std::sync::Mutex::default(), notice_on_channel }
    }

    /// Queues a command; false once the connection is gone.
    pub async fn send(&self, command: Command) -> bool {
        self.out.send(Outgoing { message: command.into(), left: None }).await.is_ok()
    }

    /// Says `text` to a channel or a nick (a NOTICE in channels with `notice_on_channel`),
    /// in as many lines as it takes; false once the connection is gone.
    pub async fn say(&self, target: &str, text: &str) -> bool {
        for line in format::lines(text, MAX_TEXT) {
            let command = if self.notice_on_channel && is_irc_channel(target) {
                Command::NOTICE(target.to_owned(), line)
            } else {
                Command::PRIVMSG(target.to_owned(), line)
            };
            if !self.send(command).await {
                return false;
            }
        }
        true
    }

    /// Queues a PING behind everything queued so far: the server answers it only after
    /// reading the lines sent ahead of it.
    pub async fn ping(&self) -> Result<Ping, String> {
        let token = format!("cascade-{}", PING_TOKENS.fetch_add(1, Ordering::Relaxed));
        let (pong_tx, pong) = oneshot::channel();
        lock(&self.pongs).insert(token.clone(), pong_tx);
        let (left_tx, left) = oneshot::channel();
        let message = Command::PING(token.clone(), None).into();
        if self.out.send(Outgoing { message, left: Some(left_tx) }).await.is_err() {
            lock(&self.pongs).remove(&token);
            return Err("the connection to the IRC server closed".into());
        }
        Ok(Ping { token, left, pong })
    }

    /// Waits for the server's answer to `ping`, at most `within` from the moment the PING
    /// left the pacer: however long the queue ahead of it, the server gets the same time
    /// to answer (the queue is bounded, so is the wait for it to drain).
    pub async fn answered(&self, ping: Ping, within: Duration) -> Result<(), String> {
        let Ping { token, left, pong } = ping;
        if left.await.is_err() {
            lock(&self.pongs).remove(&token);
            return Err("the connection to the IRC server closed before the PING was sent".into());
        }
        match tokio::time::timeout(within, pong).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("the connection to the IRC server closed before it confirmed".into()),
            Err(_) => {
                lock(&self.pongs).remove(&token);
                Err(format!("the IRC server did not answer within {}s", within.as_secs()))
            }
        }
    }

    /// Waits until the server has read everything queued before (see [`Link::answered`]).
    pub async fn confirm(&self, within: Duration) -> Result<(), String> {
        let ping = self.ping().await?;
        self.answered(ping, within).await
    }

    fn pong(&self, token: &str) {
        if let Some(tx) = lock(&self.pongs).remove(token) {
            let _ = tx.send(());
        }
    }

    /// Fails every wait for the server: the connection is over.
    fn close(&self) {
        lock(&self.pongs).clear();
    }
}

/// The JOIN for `channel`, with its configured key.
pub fn join_command(config: &IrcConfig, channel: &str) -> Command {
    let channel_key = config.channels.iter().find(|c| key(&c.name) == key(channel)).and_then(|c| c.key.clone());
    Command::JOIN(channel.to_owned(), channel_key, None)
}

/// How a connection ended.
enum End {
    /// The engine stops.
    Stopped,
    /// Lost after the server answered.
    Lost(String),
    /// Never reached the server.
    Refused(String),
}

/// The bot's connection task.
pub struct Bot {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    wake: Arc<Notify>,
    commands: mpsc::Sender<Incoming>,
}

impl Bot {
    /// The bot, and the commands it will receive for the responder.
    pub fn new(engine: Arc<Engine>, shared: Arc<Shared>, wake: Arc<Notify>) -> (Bot, mpsc::Receiver<Incoming>) {
        let (commands, received) = mpsc::channel(COMMAND_QUEUE);
        (Bot { engine, shared, wake, commands }, received)
    }

    /// Connects, and connects again after each loss, until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let name = self.shared.name.clone();
        loop {
            let end = self.session(&shutdown).await;
            self.shared.stats().connected = false;
            let delay = match end {
                End::Stopped => return,
                End::Lost(why) => {
                    self.shared.stats().lost += 1;
                    let delay = delay_or(self.shared.config.lost_delay, 1.0..=5.0);
                    tracing::warn!(reporter = %name, %why, delay = ?delay, "lost the IRC connection");
                    delay
                }
                End::Refused(why) => {
                    self.shared.stats().refused += 1;
                    let delay = delay_or(self.shared.config.failed_delay, 45.0..=60.0);
                    tracing::warn!(reporter = %name, %why, delay = ?delay, "could not connect to the IRC server");
                    delay
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn client_config(&self) -> Config {
        let c = &self.shared.config;
        Config {
            nickname: Some(c.nick.clone()),
            alt_nicks: vec![format!("{}_", c.nick), format!("{}__", c.nick)],
            username: Some("cascade".into()),
            realname: Some(format!("Cascade {VERSION}")),
            server: Some(c.host.clone()),
            port: Some(c.port),
            use_tls: Some(c.use_ssl),
            cert_path: c.tls_ca_file.as_ref().map(|p| p.display().to_string()),
            version: Some(format!("Cascade {VERSION}")),
            ping_time: Some(60),
            ping_timeout: Some(30),
            ..Config::default()
        }
    }

    /// One connection, from connecting to its end.
    async fn session(&self, shutdown: &CancellationToken) -> End {
        if self.shared.config.use_ssl {
            // Several TLS back ends are linked in; rustls needs to be told which to use.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let connecting = tokio::time::timeout(CONNECT_WITHIN, Client::from_config(self.client_config()));
        let mut client = tokio::select! {
            _ = shutdown.cancelled() => return End::Stopped,
            attempt = connecting => match attempt {
                Ok(Ok(client)) => client,
                Ok(Err(e)) => return End::Refused(e.to_string()),
                Err(_) => return End::Refused(format!("no connection within {}s", CONNECT_WITHIN.as_secs())),
            },
        };
        let mut stream = match client.identify().and_then(|()| client.stream()) {
            Ok(stream) => stream,
            Err(e) => return End::Lost(e.to_string()),
        };
        let (out, queue) = mpsc::channel(QUEUE);
        let irc = client.sender();
        let pacer = tokio::spawn(pace(queue, move |message| irc.send(message).is_ok()));
        let link = Arc::new(Link::new(out, self.shared.config.notice_on_channel));
        let end = self.serve(&client, &mut stream, &link, shutdown).await;
        self.shared.set_link(None);
        link.close();
        pacer.abort();
        end
    }

    /// Reads the connection until it ends.
    async fn serve(
        &self,
        client: &Client,
        stream: &mut ClientStream,
        link: &Arc<Link>,
        shutdown: &CancellationToken,
    ) -> End {
        let welcome = tokio::time::sleep(REGISTER_WITHIN);
        tokio::pin!(welcome);
        let mut registered = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = client.send_quit("the master is stopping");
                    // Lets the QUIT out and the server close the connection.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async { while stream.next().await.is_some() {} }).await;
                    return End::Stopped;
                }
                _ = &mut welcome, if !registered => {
                    return End::Lost(format!("the server did not register the bot within {}s", REGISTER_WITHIN.as_secs()));
                }
                next = stream.next() => match next {
                    None => return End::Lost("the server closed the connection".into()),
                    Some(Err(e)) => return End::Lost(e.to_string()),
                    Some(Ok(message)) => {
                        if matches!(message.command, Command::Response(Response::RPL_WELCOME, _)) {
                            registered = true;
                            self.registered(link).await;
                        } else {
                            self.handle(client, link, &message);
                        }
                    }
                },
            }
        }
    }

    /// Identifies to NickServ, joins the channels, and lets the waiting notifications out.
    async fn registered(&self, link: &Arc<Link>) {
        let config = &self.shared.config;
        if let Some(secret) = &config.password {
            match secret.resolve() {
                Ok(password) => {
                    link.send(Command::PRIVMSG("NickServ".into(), format!("IDENTIFY {password}"))).await;
                }
                Err(e) => {
                    tracing::error!(reporter = %self.shared.name, error = %e, "the NickServ password cannot be read")
                }
            }
        }
        let channels = self.shared.contacts().channels();
        for channel in channels {
            link.send(join_command(config, &channel)).await;
        }
        self.shared.set_link(Some(link.clone()));
        {
            let mut stats = self.shared.stats();
            stats.connected = true;
            stats.connections += 1;
        }
        tracing::info!(reporter = %self.shared.name, host = %config.host, "connected to the IRC server");
        let now = self.engine.clock.now();
        let made_due = match self.engine.db.acquire().await {
            Ok(mut conn) => db::outbox::due_now(conn.conn(), &self.shared.name, now).await,
            Err(e) => Err(e),
        };
        if let Err(e) = made_due {
            tracing::warn!(reporter = %self.shared.name, error = %e, "waiting notifications stay on their schedule");
        }
        self.wake.notify_one();
    }

    /// What the server says besides the welcome.
    fn handle(&self, client: &Client, link: &Link, message: &Message) {
        match &message.command {
            Command::PRIVMSG(target, body) => {
                let from = message.source_nickname().unwrap_or_default();
                if let Some(incoming) = incoming::addressed(client.current_nickname(), from, target, body)
                    && self.commands.try_send(incoming).is_err()
                {
                    tracing::warn!(reporter = %self.shared.name, from, "too many IRC commands at once; one dropped");
                }
            }
            Command::PONG(server, token) => {
                link.pong(server);
                if let Some(token) = token {
                    link.pong(token);
                }
            }
            Command::KICK(channel, nick, reason) if nick.eq_ignore_ascii_case(client.current_nickname()) => {
                tracing::warn!(reporter = %self.shared.name, %channel, reason = reason.as_deref().unwrap_or(""), "kicked from an IRC channel");
            }
            Command::ERROR(text) => {
                tracing::warn!(reporter = %self.shared.name, %text, "the IRC server is closing the connection")
            }
            Command::Response(response, args) if response.is_error() => {
                tracing::info!(reporter = %self.shared.name, ?response, args = %args.join(" "), "the IRC server refused a command");
            }
            _ => {}
        }
    }
}

/// `configured` seconds, or a random delay in `default` (so that several bots do not all
/// knock at once).
fn delay_or(configured: Option<f64>, default: std::ops::RangeInclusive<f64>) -> Duration {
    let secs = configured.unwrap_or_else(|| rand::random_range(default));
    Duration::from_secs_f64(secs.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_sends_a_burst_then_paces() {
        let t0 = Instant::now();
        let mut b = Bucket::new(3.0, 2.0, t0);
        let waits: Vec<Duration> = (0..5).map(|_| b.take(t0)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 500, 1000]);
        // A second later two more tokens have come, but the debt of two is still owed.
        assert_eq!(b.take(t0 + Duration::from_secs(1)).as_millis(), 500);
        // After a long pause the bucket is full again, never fuller.
        let later = t0 + Duration::from_secs(60);
        let waits: Vec<u128> = (0..4).map(|_| b.take(later).as_millis()).collect();
        assert_eq!(waits, [0, 0, 0, 500]);
    }

    /// What the pacer sent, and when.
    type Sent = Arc<std::sync::Mutex<Vec<(tokio::time::Instant, Message)>>>;

    /// A link whose messages go through the pacer to `sent`, where the server's answer to
    /// each PING is given at once.
    fn paced_link() -> (Arc<Link>, Sent) {
        let (out, queue) = mpsc::channel(QUEUE);
        let link = Arc::new(Link::new(out, false));
        let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (server, log) = (link.clone(), sent.clone());
        tokio::spawn(pace(queue, move |message: Message| {
            if let Command::PING(token, _) = &message.command {
                server.pong(token);
            }
            lock(&log).push((tokio::time::Instant::now(), message));
            true
        }));
        (link, sent)
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_queue_ahead_of_a_ping_does_not_count_against_its_answer() {
        let (link, sent) = paced_link();
        let queued_at = tokio::time::Instant::now();
        for n in 0..100 {
            assert!(link.say("#ci", &format!("line {n}")).await);
        }
        // 100 lines take ~48 s to pace out, far more than the 30 s the answer may take.
        link.confirm(Duration::from_secs(30)).await.unwrap();
        let sent = lock(&sent);
        assert_eq!(sent.len(), 101);
        let (ping_left, ping) = &sent[100];
        assert!(matches!(ping.command, Command::PING(..)), "{ping:?}");
        assert!(*ping_left - queued_at > Duration::from_secs(45), "{:?}", *ping_left - queued_at);
        // Paced: a burst of 5, then 2 a second.
        let (fifth, sixth) = (sent[4].0, sent[5].0);
        assert!(fifth - queued_at < Duration::from_millis(5), "{:?}", fifth - queued_at);
        let gap = (sixth - fifth).as_millis();
        assert!((499..=502).contains(&gap), "{gap}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_ping_without_an_answer_fails_once_it_has_waited_its_time_after_leaving() {
        let (out, mut queue) = mpsc::channel(QUEUE);
        let link = Link::new(out, false);
        let ping = link.ping().await.unwrap();
        let waiting = tokio::spawn(async move { link.answered(ping, Duration::from_secs(30)).await });
        // Held in the queue for a minute, then sent: the 30 s run from then.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let outgoing = queue.recv().await.unwrap();
        let left_at = tokio::time::Instant::now();
        outgoing.left.unwrap().send(()).unwrap();
        let error = waiting.await.unwrap().unwrap_err();
        assert_eq!(error, "the IRC server did not answer within 30s");
        let waited = tokio::time::Instant::now() - left_at;
        assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");
    }

    #[tokio::test]
    async fn a_closed_connection_fails_the_waits_for_the_server() {
        let (out, queue) = mpsc::channel(QUEUE);
        let link = Link::new(out, false);
        let ping = link.ping().await.unwrap();
        drop(queue);
        assert!(link.answered(ping, Duration::from_secs(30)).await.is_err());
        assert!(link.ping().await.is_err());
        assert!(!link.say("#ci", "hello").await);
    }

    #[test]
    fn delays_are_configured_or_random_in_their_range() {
        assert_eq!(delay_or(Some(0.25), 1.0..=5.0), Duration::from_millis(250));
        for _ in 0..50 {
            let d = delay_or(None, 45.0..=60.0).as_secs_f64();
            assert!((45.0..=60.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn joins_carry_the_configured_key() {
        let mut config = crate::reporters::irc::tests::config();
        config.channels = vec![crate::config::IrcChannel { name: "#Dev".into(), key: Some("sesame".into()) }];
        assert_eq!(join_command(&config, "#dev"), Command::JOIN("#dev".into(), Some("sesame".into()), None));
        assert_eq!(join_command(&config, "#other"), Command::JOIN("#other".into(), None, None));
    }
}
