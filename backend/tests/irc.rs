//! The IRC bot against a real IRC server (ngircd), on SQLite and (with
//! CASCADE_TEST_DATABASE_URL) PostgreSQL: every command and its answer, notifications of
//! real builds by event, result and transition, force and stop under `[authz]`, watches,
//! settings kept across a restart, a server restarted under the bot, and TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod irc_peer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade::auth::users::{self, UserChange};
use cascade::config;
use cascade::db::users::Attribute;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use cascade::model::{Build, ForceRequest, NewChange, Results};
use cascade::reporters::Kind;
use cascade::reporters::irc::ConnectionStats;
use common::{TestDb, wait_finished};
use irc_peer::{Client, Ngircd, PATIENCE};

const BOT: &str = "cascade";
const URL: &str = "http://ci.example.org/builders";

const BUILDERS: &str = r#"
[[builders]]
name = "app"
workers = ["local"]
properties = { outcome = "pass" }
steps = [ { name = "test", command = "test '{{ prop.outcome }}' = pass" } ]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "sleep", command = "sleep 60" } ]
[[builders]]
name = "warn"
workers = ["local"]
steps = [ { name = "lint", command = "echo 'warning: unused'", warn_on = "^warning:" } ]
[[builders]]
name = "lib"
workers = ["local"]
steps = [ { name = "compile", command = "false" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "slow", "warn"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
tree_stable_timer = 1
builders = ["lib"]
"#;

/// A master with builders [`BUILDERS`], `[authz]` keys `authz` and an IRC reporter at
/// `port` with the options `irc`.
fn config_text(port: u16, irc: &str, authz: &str) -> String {
    format!(
        "title = \"test\"\ntitle_url = \"https://example.org/project\"\nbase_url = \"http://ci.example.org/\"\n\
         [web]\nlisten = [\"127.0.0.1:0\"]\n[authz]\n{authz}\n\
         [[workers]]\nname = \"local\"\nembedded = true\nmax_builds = 4\n{BUILDERS}\n\
         [[reporters]]\nkind = \"irc\"\nhost = \"127.0.0.1\"\nport = {port}\nnick = \"{BOT}\"\n\
         lost_delay = 0.5\nfailed_delay = 2\n{irc}\n"
    )
}

/// A running master on a database and folder that outlive its restarts.
struct Master {
    engine: Arc<Engine>,
    tdb: TestDb,
    dir: tempfile::TempDir,
}

impl Master {
    async fn start(text: &str) -> Master {
        let tdb = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cascade.toml"), text).unwrap();
        let engine = Self::engine(&tdb, &dir).await;
        Master { engine, tdb, dir }
    }

    async fn engine(tdb: &TestDb, dir: &tempfile::TempDir) -> Arc<Engine> {
        let mut cfg = config::load(&dir.path().join("cascade.toml")).unwrap_or_else(|e| panic!("bad config:\n{e}"));
        cfg.db.url = tdb.url.clone();
        Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap()
    }

    /// Stops the engine and starts another on the same database and configuration.
    async fn restart(&mut self) {
        self.engine.stop().await;
        self.engine = Self::engine(&self.tdb, &self.dir).await;
    }

    /// How the bot's connection has fared.
    fn irc_connection(&self) -> ConnectionStats {
        self.engine
            .reporters()
            .iter()
            .find_map(|r| match &r.kind {
                Kind::Irc(irc) => Some(irc.connection()),
                _ => None,
            })
            .unwrap()
    }

    /// Forces a build with properties and waits for it to finish.
    async fn build(&self, builder: &str, props: &[(&str, &str)]) -> Build {
        let mut rx = self.engine.bus.subscribe();
        let properties = props.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.engine.force(builder, ForceRequest { properties, ..Default::default() }).await.unwrap();
        wait_finished(&mut rx, builder, 30).await
    }

    async fn add_user(&self, name: &str, attributes: &[(&str, &str)]) {
        let attributes =
            attributes.iter().map(|(t, d)| Attribute { attr_type: (*t).into(), attr_data: (*d).into() }).collect();
        let change = UserChange { username: Some(name.into()), attributes, ..Default::default() };
        users::add(&self.engine.db, &change).await.unwrap();
    }

    /// Waits until the bot's connection stats satisfy `pred`.
    async fn wait_connection(&self, what: &str, pred: impl Fn(&ConnectionStats) -> bool) -> ConnectionStats {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let stats = self.irc_connection();
            if pred(&stats) {
                return stats;
            }
            assert!(Instant::now() < deadline, "the bot never {what}: {stats:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn complete(builder: &str, number: i64, results: &str, text: &str) -> String {
    format!(
        "build #{number} of {builder} is complete: {results} [{text}]  Build details are at {URL}/{builder}/builds/{number}"
    )
}

fn started(builder: &str, number: i64) -> String {
    format!("build #{number} of {builder} started")
}

#[tokio::test]
async fn commands_are_answered_in_kind_in_channels_and_in_private() {
    let server = Ngircd::start().await;
    let mut nickserv = Client::connect(server.port, "NickServ").await;
    let mut t = Client::connect(server.port, "tester").await;
    t.join("#ci", None).await;
    t.join("#keyed", Some("sesame")).await;
    let irc = "password = \"hunter2\"\nchannels = [\"#ci\", { name = \"#keyed\", key = \"sesame\" }]\n\
               use_colors = false\nbuilders = [\"app\", \"slow\"]";
    let _m = Master::start(&config_text(server.port, irc, "")).await;
    assert_eq!(nickserv.heard(BOT, "NickServ").await, "IDENTIFY hunter2");
    t.sees_join(BOT, "#ci").await;
    t.sees_join(BOT, "#keyed").await;

    let version = format!("Cascade {} at your service", env!("CARGO_PKG_VERSION"));
    let answers = [
        ("hello", "yes?"),
        ("VERSION", version.as_str()),
        ("source", "My home page is http://ci.example.org/, and test's is https://example.org/project"),
        (
            "commands",
            "Cascade commands: commands, hello, help, join, last, leave, list, mute, notify, source, status, unmute, version, watch",
        ),
        ("help", "Get help on what? (try 'help <foo>', or 'commands' for a command list)"),
        ("help watch", "Usage: watch <which> - announce the completion of an active build"),
        ("help shutdown now", "Usage: shutdown now - shutdown immediately without waiting for the builders to finish"),
        ("help dance", "no such command 'dance'"),
        ("dance", "Unrecognized command 'dance' (try 'commands')"),
        ("list builders", "Configured builders: app slow"),
        ("list workers", "try 'list builders'"),
        ("status hidden", "sorry, no such builder 'hidden'"),
        ("status lib", "sorry, no such builder 'lib'"),
        ("last app", "last build [app]: (no builds yet)"),
        ("watch app", "there are no builds currently running"),
        ("force build app now", "forcing builds is not enabled here"),
        ("stop build app now", "stopping builds is not enabled here"),
        ("shutdown check", "shutdown control is not enabled"),
        ("notify list", "No events are being notified"),
        ("notify on", "The following events are being notified: finished, started"),
        ("notify off started", "The following events are being notified: finished"),
        ("notify on bogus", "'bogus' is not an event; try 'help notify'"),
    ];
    for (command, answer) in answers {
        assert_eq!(t.ask(BOT, "#ci", command).await, answer, "{command}");
    }
    let help = t.ask(BOT, "#ci", "help notify").await;
    assert!(help.starts_with("Usage: notify on|off|list [<EVENT>] ..."), "{help}");
    assert_eq!(t.ask(BOT, "#ci", "status").await, "app: idle");
    assert_eq!(t.heard(BOT, "#ci").await, "slow: idle");
    assert_eq!(t.ask(BOT, "#ci", "last all").await, "last build [app]: (no builds yet)");
    assert_eq!(t.heard(BOT, "#ci").await, "last build [slow]: (no builds yet)");
    // Addressed with a comma, in capitals; answered in the channel it was said in, as PRIVMSG.
    t.say("#keyed", "CASCADE, hello").await;
    assert_eq!(t.heard_as(BOT, "#keyed").await, ("PRIVMSG".to_owned(), "yes?".to_owned()));
    // Private messages are answered privately, and a private contact has settings of its own.
    assert_eq!(t.ask(BOT, BOT, "notify list").await, "No events are being notified");
    t.say(BOT, "cascade: status app").await;
    assert_eq!(t.heard(BOT, "tester").await, "app: idle");

    // Muted, the channel hears nothing until it unmutes: the answer to `unmute` is the next
    // thing said there, so `hello` went unanswered.
    assert_eq!(t.ask(BOT, "#ci", "mute").await, "Shutting up for now.");
    t.say("#ci", "cascade: hello").await;
    assert_eq!(t.ask(BOT, "#ci", "unmute").await, "I'm baaaaaaaaaaack!");
    assert_eq!(
        t.ask(BOT, "#ci", "unmute").await,
        "You hadn't told me to be quiet, but it's the thought that counts, right?"
    );

    t.join("#extra", None).await;
    assert_eq!(t.ask(BOT, "#ci", "join #extra").await, "Joined #extra");
    t.sees_join(BOT, "#extra").await;
    assert_eq!(t.ask(BOT, "#ci", "leave #extra").await, "I have been told to leave #extra");
    t.sees_part(BOT, "#extra").await;
    // Told to leave the channel it is asked in, it answers there first.
    assert_eq!(t.ask(BOT, "#keyed", "leave #keyed").await, "I have been told to leave #keyed");
    t.sees_part(BOT, "#keyed").await;
    assert_eq!(t.ask(BOT, BOT, "join #keyed").await, "Joined #keyed");
    t.sees_join(BOT, "#keyed").await;
}

#[tokio::test]
async fn builds_are_announced_by_event_result_and_transition() {
    let server = Ngircd::start().await;
    let mut watcher = Client::connect(server.port, "watcher").await;
    watcher.join("#ci", None).await;
    let mut alice = Client::connect(server.port, "alice").await;
    let mut bob = Client::connect(server.port, "bob").await;
    let irc = "channels = [\"#ci\"]\npm_to_nicks = [\"bob\"]\nnotify_events = [\"started\", \"finished\"]";
    let m = Master::start(&config_text(server.port, irc, "")).await;
    watcher.sees_join(BOT, "#ci").await;
    let transitions = "The following events are being notified: failureToSuccess, successToFailure";
    assert_eq!(alice.ask(BOT, BOT, "notify on successToFailure failureToSuccess").await, transitions);
    assert_eq!(bob.ask(BOT, BOT, "notify off").await, "No events are being notified");
    assert_eq!(bob.ask(BOT, BOT, "notify on failure").await, "The following events are being notified: failure");

    let outcomes = ["pass", "fail", "fail", "pass"];
    for outcome in outcomes {
        m.build("app", &[("outcome", outcome)]).await;
    }
    m.build("warn", &[]).await;
    let mut rx = m.engine.bus.subscribe();
    let revisions: Vec<String> = (1..=3).map(|i| format!("{i}{}", "0123456789abcdef".repeat(2))).collect();
    let changes =
        [("alice", &revisions[0]), ("bob", &revisions[1]), ("alice", &revisions[2])].map(|(author, rev)| NewChange {
            author: author.into(),
            branch: Some("main".into()),
            revision: Some(rev.clone()),
            ..Default::default()
        });
    m.engine.add_changes(changes.to_vec()).await.unwrap();
    let lib = wait_finished(&mut rx, "lib", 30).await;
    assert_eq!(lib.results, Some(Results::Failure));

    let success = |n| complete("app", n, "\u{3}03Success\u{f}", "build successful");
    let failure = |n| complete("app", n, "\u{3}04Failure\u{f}", "failed test");
    let lib_failure = format!("{}  blamelist: alice, bob", complete("lib", 1, "\u{3}04Failure\u{f}", "failed compile"));
    let channel = [
        started("app", 1),
        success(1),
        started("app", 2),
        failure(2),
        started("app", 3),
        failure(3),
        started("app", 4),
        success(4),
        started("warn", 1),
        complete("warn", 1, "\u{3}08Warnings\u{f}", "warnings"),
        format!("build #1 of lib started (including [{}, {}] and 1 more)", revisions[0], revisions[1]),
        lib_failure.clone(),
    ];
    for expected in &channel {
        assert_eq!(&watcher.heard(BOT, "#ci").await, expected);
    }
    // Each private contact heard what its events ask for, and nothing else: the answer to a
    // command said after everything was sent comes right after.
    assert_eq!(alice.heard(BOT, "alice").await, failure(2), "successToFailure");
    assert_eq!(alice.heard(BOT, "alice").await, success(4), "failureToSuccess");
    assert_eq!(alice.ask(BOT, BOT, "notify list").await, transitions);
    for expected in [failure(2), failure(3), lib_failure] {
        assert_eq!(bob.heard(BOT, "bob").await, expected);
    }
    assert_eq!(bob.ask(BOT, BOT, "notify list").await, "The following events are being notified: failure");

    let last = watcher.ask(BOT, "#ci", "last app").await;
    assert!(last.starts_with("last build [app]: ") && last.ends_with(" ago: build successful"), "{last}");
    let status = watcher.ask(BOT, "#ci", "status app").await;
    assert!(status.starts_with("app: idle, last build ") && status.ends_with(" ago: build successful"), "{status}");
}

/// What the bot answers in `channel` to `command` from `speaker`, as `reader` (who reads
/// everything said there) hears it.
async fn ask_in(speaker: &mut Client, reader: &mut Client, channel: &str, command: &str) -> String {
    speaker.say(channel, &format!("{BOT}: {command}")).await;
    reader.heard(BOT, channel).await
}

/// The next `n` things the bot says in `channel`, sorted: what a command answers and what
/// the outbox sends may come in either order.
async fn next_sorted(client: &mut Client, channel: &str, n: usize) -> Vec<String> {
    let mut said = Vec::new();
    for _ in 0..n {
        said.push(client.heard(BOT, channel).await);
    }
    said.sort();
    said
}

#[tokio::test]
async fn force_stop_watch_and_shutdown_act_as_the_nicks_user() {
    let server = Ngircd::start().await;
    let mut annie = Client::connect(server.port, "annie").await;
    let mut carl = Client::connect(server.port, "carl").await;
    let mut mallory = Client::connect(server.port, "mallory").await;
    for c in [&mut annie, &mut carl, &mut mallory] {
        c.join("#ci", None).await;
    }
    let irc = "channels = [\"#ci\"]\nuse_colors = false\nallow_force = true\nallow_shutdown = true";
    let authz = "force_build = { roles = [\"dev\"] }\nstop_build = \"auth\"\nclean_shutdown = { roles = [\"dev\"] }";
    let m = Master::start(&config_text(server.port, irc, authz)).await;
    m.add_user("ann", &[("irc", "annie"), ("role", "dev")]).await;
    m.add_user("carl", &[("irc", "Carl")]).await;
    annie.sees_join(BOT, "#ci").await;
    let all = annie.ask(BOT, "#ci", "commands").await;
    assert!(all.contains("force,") && all.contains("shutdown,") && all.contains("stop,"), "{all}");

    let unknown = |action: &str| format!("sorry, `{action}` needs a known user, and no user has the irc nick mallory");
    // annie reads the channel; the others only speak there.
    assert_eq!(ask_in(&mut mallory, &mut annie, "#ci", "force build app please").await, unknown("force_build"));
    assert_eq!(
        ask_in(&mut carl, &mut annie, "#ci", "force build app please").await,
        "sorry, carl may not `force_build`"
    );
    assert_eq!(annie.ask(BOT, "#ci", "force build nosuch now").await, "sorry, no such builder 'nosuch'");

    let queued = "The build has been queued, I'll give a shout when it starts".to_owned();
    annie.say("#ci", "cascade: force build --branch=dev --props=flavour=mint,x=1 app ship it").await;
    let success = complete("app", 1, "Success", "build successful");
    let mut expected = vec![queued.clone(), started("app", 1), success.clone()];
    expected.sort();
    assert_eq!(next_sorted(&mut annie, "#ci", 3).await, expected);
    let page = m.engine.build_page("app", 1).await.unwrap();
    let build = &page.detail.build;
    assert_eq!(build.reason, "forced: by IRC user <annie> on channel #ci: ship it");
    assert_eq!((build.branch.as_deref(), page.owner.as_deref()), (Some("dev"), Some("ann")));
    assert_eq!((build.properties["flavour"].as_str(), build.properties["x"].as_str()), (Some("mint"), Some("1")));

    // Forced privately, the forcer hears of the build privately.
    carl.say(BOT, "force build app").await;
    assert_eq!(carl.heard(BOT, "carl").await, "sorry, carl may not `force_build`");

    annie.say("#ci", "cascade: force build slow long one").await;
    let mut expected = vec![queued.clone(), started("slow", 1)];
    expected.sort();
    assert_eq!(next_sorted(&mut annie, "#ci", 2).await, expected);
    let deadline = Instant::now() + PATIENCE;
    while m.engine.build_detail("slow", 1).await.unwrap().steps.first().is_none_or(|s| s.started_at.is_none()) {
        assert!(Instant::now() < deadline, "the step never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(annie.ask(BOT, "#ci", "status slow").await, "slow: building #1 (sleep)");
    assert_eq!(carl.ask(BOT, BOT, "watch slow").await, "watching build slow #1 until it finishes..");
    assert_eq!(ask_in(&mut mallory, &mut annie, "#ci", "stop build slow no").await, unknown("stop_build"));
    assert_eq!(
        ask_in(&mut carl, &mut annie, "#ci", "stop build slow enough waiting").await,
        "build #1 of slow interrupted"
    );
    let cancelled =
        complete("slow", 1, "Cancelled", "stopped by carl: enough waiting (IRC user <carl> on channel #ci)");
    assert_eq!(annie.heard(BOT, "#ci").await, cancelled, "the forcing channel hears of the end");
    assert_eq!(carl.heard(BOT, "carl").await, cancelled, "the watcher hears of the end");
    assert_eq!(annie.ask(BOT, "#ci", "stop build slow again").await, "sorry, no build is currently running");

    assert_eq!(ask_in(&mut mallory, &mut annie, "#ci", "shutdown start").await, unknown("clean_shutdown"));
    assert_eq!(ask_in(&mut mallory, &mut annie, "#ci", "shutdown check").await, "Status: the master is running");
    annie.say("#ci", "cascade: force build slow keep the master busy").await;
    let mut expected = vec![queued.clone(), started("slow", 2)];
    expected.sort();
    assert_eq!(next_sorted(&mut annie, "#ci", 2).await, expected);
    let shutdown = [
        ("shutdown start", "Starting clean shutdown"),
        ("shutdown check", "Status: the master is shutting down, waiting for 1 build(s)"),
        ("shutdown start", "Already started"),
        ("shutdown stop", "Stopping clean shutdown"),
        ("shutdown stop", "Nothing to stop"),
        ("shutdown check", "Status: the master is running"),
        ("stop build slow done", "build #2 of slow interrupted"),
    ];
    for (command, answer) in shutdown {
        assert_eq!(annie.ask(BOT, "#ci", command).await, answer, "{command}");
    }
    let cancelled = complete("slow", 2, "Cancelled", "stopped by ann: done (IRC user <annie> on channel #ci)");
    assert_eq!(annie.heard(BOT, "#ci").await, cancelled);
    assert_eq!(annie.ask(BOT, "#ci", "shutdown now").await, "Stopping the master");
    tokio::time::timeout(PATIENCE, m.engine.exit_requested()).await.expect("the master was not told to exit");
}

/// The build requests the bot watches, as it last saved them, once `pred` holds of them.
async fn saved_watches(m: &Master, pred: impl Fn(&[i64]) -> bool) -> Vec<i64> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let saved = {
            let mut conn = m.engine.db.acquire().await.unwrap();
            cascade::db::state::get(conn.conn(), "irc:irc", "contacts").await.unwrap()
        };
        let saved: serde_json::Value = serde_json::from_str(saved.as_deref().unwrap_or("{}")).unwrap();
        let watched: Vec<i64> =
            saved["watches"].as_object().map(|w| w.keys().map(|k| k.parse().unwrap()).collect()).unwrap_or_default();
        if pred(&watched) {
            return watched;
        }
        assert!(Instant::now() < deadline, "the saved watches never got there: {saved}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_forced_build_cancelled_before_it_starts_is_watched_no_more() {
    let server = Ngircd::start().await;
    let mut annie = Client::connect(server.port, "annie").await;
    annie.join("#ci", None).await;
    let irc = "channels = [\"#ci\"]\nuse_colors = false\nallow_force = true";
    let m = Master::start(&config_text(server.port, irc, "force_build = true")).await;
    annie.sees_join(BOT, "#ci").await;
    let nobody = cascade::engine::actions::Request::default();
    m.engine.pause_worker("local", true, &nobody).await.unwrap();

    let queued = "The build has been queued, I'll give a shout when it starts";
    assert_eq!(annie.ask(BOT, "#ci", "force build app waiting").await, queued);
    let watched = saved_watches(&m, |w| w.len() == 1).await;
    m.engine.cancel_request(cascade::model::BuildRequestId(watched[0]), &nobody).await.unwrap();
    saved_watches(&m, <[i64]>::is_empty).await;
}

#[tokio::test]
async fn notify_settings_and_joins_survive_a_restart() {
    let server = Ngircd::start().await;
    let mut watcher = Client::connect(server.port, "watcher").await;
    watcher.join("#ci", None).await;
    watcher.join("#extra", None).await;
    let mut alice = Client::connect(server.port, "alice").await;
    let mut m = Master::start(&config_text(server.port, "channels = [\"#ci\"]\nuse_colors = false", "")).await;
    watcher.sees_join(BOT, "#ci").await;
    assert_eq!(watcher.ask(BOT, "#ci", "notify on started").await, "The following events are being notified: started");
    assert_eq!(alice.ask(BOT, BOT, "notify on finished").await, "The following events are being notified: finished");
    assert_eq!(watcher.ask(BOT, "#ci", "join #extra").await, "Joined #extra");
    watcher.sees_join(BOT, "#extra").await;

    m.restart().await;
    watcher.take("the bot quitting", |l| l.command == "QUIT" && l.from == BOT).await;
    watcher.sees_join(BOT, "#ci").await;
    watcher.sees_join(BOT, "#extra").await;
    for n in 1..=2 {
        m.build("app", &[]).await;
        assert_eq!(watcher.heard(BOT, "#ci").await, started("app", n));
        assert_eq!(alice.heard(BOT, "alice").await, complete("app", n, "Success", "build successful"));
    }
}

#[tokio::test]
async fn the_bot_comes_back_after_the_server_restarts_and_sends_what_waited_once() {
    let mut server = Ngircd::start().await;
    let mut watcher = Client::connect(server.port, "watcher").await;
    watcher.join("#ci", None).await;
    let irc = "channels = [\"#ci\"]\nnotify_events = [\"finished\"]\nuse_colors = false\nnotice_on_channel = true";
    let m = Master::start(&config_text(server.port, irc, "")).await;
    watcher.sees_join(BOT, "#ci").await;
    let notice = |text: String| ("NOTICE".to_owned(), text);
    m.build("app", &[]).await;
    assert_eq!(watcher.heard_as(BOT, "#ci").await, notice(complete("app", 1, "Success", "build successful")));
    watcher.say("#ci", "cascade: hello").await;
    assert_eq!(watcher.heard_as(BOT, "#ci").await, notice("yes?".into()));

    server.stop().await;
    let lost_at = Instant::now();
    m.wait_connection("noticed the server went", |s| s.lost == 1 && !s.connected).await;
    m.wait_connection("tried again", |s| s.refused >= 1).await;
    assert!(
        lost_at.elapsed() >= Duration::from_millis(400),
        "it tried again before lost_delay: {:?}",
        lost_at.elapsed()
    );
    // A build finishing now is stored and kept for later, untried: this master's bot is away.
    m.build("app", &[]).await;
    pending_irc(&m, |rows| rows.len() == 1).await;
    // Restarted right after a refused attempt, the server has the watcher back in the
    // channel well before the bot's next attempt, `failed_delay` later.
    let refused = m.irc_connection().refused;
    m.wait_connection("tried again", |s| s.refused > refused).await;
    server.restart().await;
    let restarted_at = Instant::now();
    let mut watcher = Client::connect(server.port, "watcher").await;
    watcher.join("#ci", None).await;
    watcher.sees_join(BOT, "#ci").await;
    assert!(restarted_at.elapsed() < Duration::from_secs(2 + 5), "rejoined late: {:?}", restarted_at.elapsed());
    assert_eq!(m.irc_connection().connections, 2);
    m.build("app", &[]).await;
    for n in 2..=3 {
        assert_eq!(watcher.heard_as(BOT, "#ci").await, notice(complete("app", n, "Success", "build successful")));
    }
    // Each was sent at its first attempt: nothing was tried while the server was away.
    pending_irc(&m, <[_]>::is_empty).await;
    let mut conn = m.engine.db.acquire().await.unwrap();
    let sent = cascade::db::outbox::list(conn.conn(), Some("irc"), Some(cascade::db::outbox::State::Sent), 10, 0)
        .await
        .unwrap();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|m| m.attempts == 0 && m.last_error.is_none()), "{sent:?}");
}

/// Waits until the IRC reporter's pending outbox rows satisfy `pred`, and returns them.
async fn pending_irc(
    m: &Master,
    pred: impl Fn(&[cascade::db::outbox::Message]) -> bool,
) -> Vec<cascade::db::outbox::Message> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let pending = {
            let mut conn = m.engine.db.acquire().await.unwrap();
            cascade::db::outbox::list(conn.conn(), Some("irc"), Some(cascade::db::outbox::State::Pending), 10, 0)
                .await
                .unwrap()
        };
        if pred(&pending) {
            return pending;
        }
        assert!(Instant::now() < deadline, "the IRC outbox never got there: {pending:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_bot_connects_with_tls_trusting_the_configured_ca() {
    let (server, ca) = Ngircd::start_with_tls().await;
    let mut watcher = Client::connect(server.port, "watcher").await;
    watcher.join("#ci", None).await;
    let tls_port = server.tls_port.unwrap();
    let irc = format!(
        "channels = [\"#ci\"]\nnotify_events = [\"finished\"]\nuse_colors = false\nuse_revisions = true\n\
         use_ssl = true\ntls_ca_file = \"{}\"",
        ca.display()
    );
    let text = config_text(tls_port, &irc, "").replace("host = \"127.0.0.1\"", "host = \"localhost\"");
    let m = Master::start(&text).await;
    watcher.sees_join(BOT, "#ci").await;
    // With use_revisions a build is named by what it builds.
    let mut rx = m.engine.bus.subscribe();
    let request = ForceRequest { revision: Some("0123456789abcdef".into()), ..Default::default() };
    m.engine.force("app", request).await.unwrap();
    wait_finished(&mut rx, "app", 30).await;
    assert_eq!(
        watcher.heard(BOT, "#ci").await,
        format!(
            "build containing revision(s) [0123456] on app is complete: Success [build successful]  Build details are at {URL}/app/builds/1"
        )
    );
}
