//! Running the commands people address to the bot, one at a time, and answering in kind:
//! in the channel they were said in, or privately. `force build`, `stop build` and
//! `shutdown` act as the user whose `irc` attribute is the sender's nick, and `[authz]`
//! decides as for the web (a nick no user claims is anonymous).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use irc::client::prelude::Command as IrcCommand;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::commands::{self, Command, ForceArgs, NotifyAction, ParseError, ShutdownArg, Which};
use super::connection::join_command;
use super::contacts::Forced;
use super::format::{self, Style};
use super::incoming::Incoming;
use crate::auth::authz::{self, Action, Decision};
use crate::auth::{Auth, AuthError};
use crate::build_info::VERSION;
use crate::engine::actions::{Request, ShutdownMode};
use crate::engine::views::BuilderState;
use crate::engine::{Engine, EngineError};
use crate::model::{BuildRequestId, ForceRequest};

/// How long a force waits for the start of its build, being recorded, to be committed or
/// rolled back.
const START_SETTLES_WITHIN: Duration = Duration::from_secs(30);

/// What a command says, and the IRC commands to send after saying it.
#[derive(Debug, Default)]
struct Reply {
    lines: Vec<String>,
    then: Vec<IrcCommand>,
}

impl Reply {
    fn say(line: impl Into<String>) -> Reply {
        Reply { lines: vec![line.into()], then: Vec::new() }
    }

    fn lines(lines: Vec<String>) -> Reply {
        Reply { lines, then: Vec::new() }
    }
}

/// Runs commands for one bot.
pub struct Responder {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    auth: Auth,
}

impl Responder {
    /// The responder of the bot sharing `shared`.
    pub fn new(engine: Arc<Engine>, shared: Arc<Shared>) -> Responder {
        let auth = Auth::new(engine.config().clone(), engine.db.clone());
        Responder { engine, shared, auth }
    }

    /// Answers commands as they come, until `shutdown`.
    pub async fn serve(self, mut commands: mpsc::Receiver<Incoming>, shutdown: CancellationToken) {
        loop {
            let incoming = tokio::select! {
                _ = shutdown.cancelled() => return,
                incoming = commands.recv() => incoming,
            };
            let Some(incoming) = incoming else { return };
            self.handle(&incoming).await;
        }
    }

    /// Runs one command and says its answer, unless the contact is muted (and stays so).
    async fn handle(&self, incoming: &Incoming) {
        let contact = incoming.contact();
        self.shared.contacts().touch(contact, self.engine.clock.now());
        let muted_before = self.shared.contacts().muted(contact);
        let reply = self.respond(incoming).await;
        let muted_after = self.shared.contacts().muted(contact);
        let Some(link) = self.shared.link() else { return };
        if !(muted_before && muted_after) {
            for line in &reply.lines {
                if !link.say(contact, line).await {
                    return;
                }
            }
        }
        for command in reply.then {
            link.send(command).await;
        }
    }

    async fn respond(&self, incoming: &Incoming) -> Reply {
        let command = match commands::parse(&incoming.text) {
            Ok(command) => command,
            Err(ParseError::Unknown(name)) => {
                return Reply::say(format!("Unrecognized command '{name}' (try 'commands')"));
            }
            Err(ParseError::Usage(usage)) => return Reply::say(usage),
        };
        match self.run(command, incoming).await {
            Ok(reply) => reply,
            Err(EngineError::Db(e)) => {
                tracing::error!(reporter = %self.shared.name, error = ?e, "an IRC command failed");
                Reply::say("Something bad happened (see logs)")
            }
            Err(e) => Reply::say(format!("sorry, {e}")),
        }
    }

    async fn run(&self, command: Command, incoming: &Incoming) -> Result<Reply, EngineError> {
        let config = &self.shared.config;
        Ok(match command {
            Command::Hello => Reply::say("yes?"),
            Command::Version => Reply::say(format!("Cascade {VERSION} at your service")),
            Command::Source => Reply::say(self.source()),
            Command::Commands => Reply::say(format!(
                "Cascade commands: {}",
                commands::available(config.allow_force, config.allow_shutdown).join(", ")
            )),
            Command::Help(None, _) => {
                Reply::say("Get help on what? (try 'help <foo>', or 'commands' for a command list)")
            }
            Command::Help(Some(name), arg) => match commands::usage(&name, arg.as_deref()) {
                Some(usage) => Reply::say(format!("Usage: {usage}")),
                None => Reply::say(format!(
                    "no such command '{}'",
                    [Some(name), arg].into_iter().flatten().collect::<Vec<_>>().join(" ")
                )),
            },
            Command::ListBuilders => self.list_builders().await?,
            Command::Status(which) => self.status(&which).await?,
            Command::Last(which) => self.last(&which).await?,
            Command::Watch(builder) => self.watch(&builder, incoming).await?,
            Command::Join(channel) => {
                self.shared.contacts().join(&channel, self.engine.clock.now());
                self.save().await?;
                Reply { lines: vec![format!("Joined {channel}")], then: vec![join_command(config, &channel)] }
            }
            Command::Leave(channel) => {
                self.shared.contacts().leave(&channel);
                self.save().await?;
                Reply {
                    lines: vec![format!("I have been told to leave {channel}")],
                    then: vec![IrcCommand::PART(channel, None)],
                }
            }
            Command::Notify(action, events) => self.notify(action, &events, incoming.contact()).await?,
            Command::Mute => {
                self.shared.contacts().set_muted(incoming.contact(), true, self.engine.clock.now());
                self.save().await?;
                Reply::say("Shutting up for now.")
            }
            Command::Unmute => {
                if !self.shared.contacts().muted(incoming.contact()) {
                    return Ok(Reply::say("You hadn't told me to be quiet, but it's the thought that counts, right?"));
                }
                self.shared.contacts().set_muted(incoming.contact(), false, self.engine.clock.now());
                self.save().await?;
                Reply::say("I'm baaaaaaaaaaack!")
            }
            Command::Shutdown(arg) => self.shutdown(arg, incoming).await?,
            Command::Force(args) => self.force(args, incoming).await?,
            Command::Stop { builder, reason } => self.stop(&builder, &reason, incoming).await?,
        })
    }

    /// Saves the contacts once a command changed them, within their bounds.
    async fn save(&self) -> Result<(), EngineError> {
        Ok(self.shared.tidy_and_save(&self.engine.db, self.engine.clock.now()).await?)
    }

    /// Of `requests`, just watched, those not finished yet; the watches of the others are
    /// forgotten (their end may have been decided before the watch came, and would never
    /// be reported to it).
    async fn still_to_watch(&self, requests: &[BuildRequestId]) -> Result<HashSet<BuildRequestId>, EngineError> {
        let unfinished = self.engine.unfinished_requests(requests).await?;
        let mut contacts = self.shared.contacts();
        for request in requests.iter().filter(|r| !unfinished.contains(r)) {
            contacts.unwatch(*request);
        }
        Ok(unfinished)
    }

    fn source(&self) -> String {
        let c = &self.engine.config();
        match &c.title_url {
            Some(url) => format!("My home page is {}, and {}'s is {url}", c.base_url, c.title),
            None => format!("My home page is {}", c.base_url),
        }
    }

    /// Whether the bot reports on `builder` (its `builders` and `tags` filters).
    fn reports_on(&self, builder: &str) -> bool {
        let config = self.engine.config();
        let Some(cfg) = config.builder(builder) else { return false };
        let name = &self.shared.name;
        config.reporters.iter().find(|r| &r.name == name).is_none_or(|r| r.wants(builder, &cfg.tags))
    }

    /// The builders `which` names, sorted, or an error naming an unknown one.
    fn builders(&self, which: &Which) -> Result<Vec<String>, EngineError> {
        match which {
            Which::Builder(name) if self.reports_on(name) => Ok(vec![name.clone()]),
            Which::Builder(name) => Err(EngineError::NotFound(format!("no such builder '{name}'"))),
            Which::All => {
                let mut names: Vec<String> = self
                    .engine
                    .config()
                    .builders
                    .iter()
                    .map(|b| b.name.clone())
                    .filter(|b| self.reports_on(b))
                    .collect();
                names.sort();
                Ok(names)
            }
        }
    }

    async fn list_builders(&self) -> Result<Reply, EngineError> {
        let wanted = self.builders(&Which::All)?;
        let mut overview = self.engine.builders_overview().await?;
        overview.retain(|b| wanted.contains(&b.name));
        overview.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = overview
            .iter()
            .map(|b| if b.state == BuilderState::Offline { format!("{}[offline]", b.name) } else { b.name.clone() })
            .collect();
        Ok(Reply::say(format!("Configured builders: {}", names.join(" "))))
    }

    async fn status(&self, which: &Which) -> Result<Reply, EngineError> {
        let names = self.builders(which)?;
        let now = self.engine.clock.now();
        let mut lines = Vec::new();
        for b in self.engine.builders_overview().await?.into_iter().filter(|b| names.contains(&b.name)) {
            let line = match b.state {
                BuilderState::Idle => match &b.last_build {
                    Some(last) => format!(
                        "{}: idle, last build {} ago: {}",
                        b.name,
                        format::duration(now - last.finished_at.unwrap_or(now)),
                        last.state_text
                    ),
                    None => format!("{}: idle", b.name),
                },
                BuilderState::Building => {
                    let running = self.engine.running_builds(&b.name).await?;
                    let builds: Vec<String> =
                        running.iter().map(|r| format::running(r.build.number, r.step.as_deref(), r.eta)).collect();
                    format!("{}: building {}", b.name, builds.join(", "))
                }
                BuilderState::Offline => format!("{}: offline", b.name),
                BuilderState::Paused => format!("{}: paused", b.name),
            };
            lines.push(line);
        }
        lines.sort();
        Ok(Reply::lines(lines))
    }

    async fn last(&self, which: &Which) -> Result<Reply, EngineError> {
        let names = self.builders(which)?;
        let now = self.engine.clock.now();
        let overview = self.engine.builders_overview().await?;
        let lines = names
            .iter()
            .map(|name| {
                let last = overview.iter().find(|b| &b.name == name).and_then(|b| b.last_build.as_ref());
                let said = match last {
                    Some(l) => {
                        format!("{} ago: {}", format::duration(now - l.finished_at.unwrap_or(now)), l.state_text)
                    }
                    None => "(no builds yet)".to_owned(),
                };
                format!("last build [{name}]: {said}")
            })
            .collect();
        Ok(Reply::lines(lines))
    }

    async fn watch(&self, builder: &str, incoming: &Incoming) -> Result<Reply, EngineError> {
        self.builders(&Which::Builder(builder.to_owned()))?;
        let running = self.engine.running_builds(builder).await?;
        if running.is_empty() {
            return Ok(Reply::say("there are no builds currently running"));
        }
        let requests: Vec<BuildRequestId> = running.iter().map(|r| r.build.buildrequest_id).collect();
        {
            let (mut contacts, now) = (self.shared.contacts(), self.engine.clock.now());
            for request in &requests {
                contacts.watch(*request, incoming.contact(), false, now);
            }
        }
        let unfinished = self.still_to_watch(&requests).await?;
        self.save().await?;
        let watching: Vec<String> = running
            .iter()
            .filter(|r| unfinished.contains(&r.build.buildrequest_id))
            .map(|r| format!("watching build {builder} #{} until it finishes..", r.build.number))
            .collect();
        if watching.is_empty() {
            return Ok(Reply::say("there are no builds currently running"));
        }
        Ok(Reply::lines(watching))
    }

    async fn notify(&self, action: NotifyAction, events: &[String], contact: &str) -> Result<Reply, EngineError> {
        match action {
            NotifyAction::On => self.shared.contacts().notify_on(contact, events, self.engine.clock.now()),
            NotifyAction::Off => self.shared.contacts().notify_off(contact, events, self.engine.clock.now()),
            NotifyAction::List => {}
        }
        if action != NotifyAction::List {
            self.save().await?;
        }
        let now: Vec<String> = self.shared.contacts().events(contact).into_iter().collect();
        Ok(Reply::say(if now.is_empty() {
            "No events are being notified".to_owned()
        } else {
            format!("The following events are being notified: {}", now.join(", "))
        }))
    }

    /// Who the sender is to `[authz]`: the user whose `irc` attribute is their nick (with
    /// that user's roles), or anonymous; `Err` says why `action` is refused.
    async fn authorize(
        &self,
        action: Action,
        incoming: &Incoming,
    ) -> Result<Result<Option<String>, String>, EngineError> {
        let identity = self.auth.identity_by_attribute("irc", &incoming.nick).await.map_err(|e| match e {
            AuthError::Db(e) => EngineError::Db(e),
            other => EngineError::Invalid(other.to_string()),
        })?;
        let name = identity.as_ref().map(|i| i.username.as_str());
        let roles = identity.as_ref().map(|i| i.roles.as_slice()).unwrap_or_default();
        Ok(match authz::decide(&self.engine.config().authz, action, name, roles) {
            Decision::Allow => Ok(name.map(str::to_owned)),
            Decision::NeedLogin => Err(format!(
                "sorry, `{}` needs a known user, and no user has the irc nick {}",
                action.key(),
                incoming.nick
            )),
            Decision::Forbidden => Err(match name {
                Some(user) => format!("sorry, {user} may not `{}`", action.key()),
                None => format!("sorry, `{}` is not allowed here", action.key()),
            }),
        })
    }

    async fn shutdown(&self, arg: ShutdownArg, incoming: &Incoming) -> Result<Reply, EngineError> {
        if !self.shared.config.allow_shutdown {
            return Ok(Reply::say("shutdown control is not enabled"));
        }
        let (draining, running) = self.engine.shutdown_status();
        if arg == ShutdownArg::Check {
            return Ok(Reply::say(if draining {
                format!("Status: the master is shutting down, waiting for {running} build(s)")
            } else {
                "Status: the master is running".to_owned()
            }));
        }
        let actor = match self.authorize(Action::CleanShutdown, incoming).await? {
            Ok(actor) => actor,
            Err(refused) => return Ok(Reply::say(refused)),
        };
        let req = Request { actor, reason: format!("by {}", incoming.describe_user()) };
        Ok(match arg {
            ShutdownArg::Check => Reply::default(),
            ShutdownArg::Start if draining => Reply::say("Already started"),
            ShutdownArg::Start => {
                self.engine.shutdown(ShutdownMode::Start, &req).await?;
                Reply::say("Starting clean shutdown")
            }
            ShutdownArg::Stop if !draining => Reply::say("Nothing to stop"),
            ShutdownArg::Stop => {
                self.engine.shutdown(ShutdownMode::Stop, &req).await?;
                Reply::say("Stopping clean shutdown")
            }
            ShutdownArg::Now => {
                // Said, and read by the server, before the master goes.
                if let Some(link) = self.shared.link()
                    && link.say(incoming.contact(), "Stopping the master").await
                {
                    let _ = link.confirm(Duration::from_secs(10)).await;
                }
                self.engine.shutdown(ShutdownMode::Now, &req).await?;
                Reply::default()
            }
        })
    }

    async fn force(&self, args: ForceArgs, incoming: &Incoming) -> Result<Reply, EngineError> {
        if !self.shared.config.allow_force {
            return Ok(Reply::say("forcing builds is not enabled here"));
        }
        self.builders(&Which::Builder(args.builder.clone()))?;
        let owner = match self.authorize(Action::ForceBuild, incoming).await? {
            Ok(actor) => actor,
            Err(refused) => return Ok(Reply::say(refused)),
        };
        let reason = format!("forced: by {}: {}", incoming.describe_user(), args.reason);
        let request = ForceRequest {
            reason: reason.clone(),
            owner,
            branch: args.branch,
            revision: args.revision,
            properties: args.props,
            ..ForceRequest::default()
        };
        let (_, requests) = self.engine.force_described(&args.builder, request, Some(reason)).await?;
        let mut started = Vec::new();
        for request in &requests {
            if let Some(number) = self.watch_forced(*request, incoming.contact()).await {
                started.push(number);
            }
        }
        self.still_to_watch(&requests).await?;
        self.save().await?;
        let mut lines = vec!["The build has been queued, I'll give a shout when it starts".to_owned()];
        for number in started {
            let summary = format::BuildSummary { builder: args.builder.clone(), number, ..Default::default() };
            lines.push(format::started(&summary, Style::default()));
        }
        Ok(Reply::lines(lines))
    }

    /// Has `contact` watch the forced `request` (see
    /// [`Contacts::watch_forced`](super::contacts::Contacts::watch_forced)), waiting for a
    /// start being recorded to be committed or rolled back; the number of the build that
    /// started already, if it did.
    async fn watch_forced(&self, request: BuildRequestId, contact: &str) -> Option<i64> {
        let deadline = tokio::time::Instant::now() + START_SETTLES_WITHIN;
        loop {
            let settled = self.shared.starts.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match self.shared.contacts().watch_forced(request, contact, self.engine.clock.now()) {
                Forced::Watching => return None,
                Forced::Started(number) => return Some(number),
                Forced::Deciding => {}
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                // A transaction this slow is not waited for: the end is watched, the start
                // may go unsaid.
                self.shared.contacts().watch(request, contact, true, self.engine.clock.now());
                return None;
            }
        }
    }

    async fn stop(&self, builder: &str, reason: &str, incoming: &Incoming) -> Result<Reply, EngineError> {
        if !self.shared.config.allow_force {
            return Ok(Reply::say("stopping builds is not enabled here"));
        }
        self.builders(&Which::Builder(builder.to_owned()))?;
        let actor = match self.authorize(Action::StopBuild, incoming).await? {
            Ok(actor) => actor,
            Err(refused) => return Ok(Reply::say(refused)),
        };
        let running = self.engine.running_builds(builder).await?;
        if running.is_empty() {
            return Ok(Reply::say("sorry, no build is currently running"));
        }
        let req = Request { actor, reason: format!("{reason} ({})", incoming.describe_user()) };
        let mut lines = Vec::new();
        for build in running.into_iter().map(|r| r.build) {
            lines.push(match self.engine.stop_build(builder, build.number, &req).await {
                Ok(()) => format!("build #{} of {builder} interrupted", build.number),
                Err(EngineError::Db(e)) => return Err(EngineError::Db(e)),
                Err(e) => format!("sorry, {e}"),
            });
        }
        Ok(Reply::lines(lines))
    }
}
