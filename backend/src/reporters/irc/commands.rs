//! What a message addressed to the bot asks for: its command parsed into a [`Command`],
//! case-insensitively, with Buildbot's usage text for each. Pure: running a command against
//! the engine belongs to `respond.rs`, telling addressed messages apart to `incoming.rs`.

use std::collections::BTreeMap;

use crate::config::{is_irc_channel, is_irc_event};

/// A builder, or all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    /// Every builder the bot reports on.
    All,
    /// One builder, by name.
    Builder(String),
}

/// What `notify` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyAction {
    /// Add events (`started` and `finished` when none are named).
    On,
    /// Remove events (all of them when none are named).
    Off,
    /// Say which events are notified.
    List,
}

/// What `shutdown` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownArg {
    /// Say whether a clean shutdown is under way.
    Check,
    /// Start a clean shutdown.
    Start,
    /// Cancel it.
    Stop,
    /// Exit now.
    Now,
}

/// `force build`'s arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForceArgs {
    /// The builder.
    pub builder: String,
    /// Why (may be empty).
    pub reason: String,
    /// `--branch=`.
    pub branch: Option<String>,
    /// `--revision=`.
    pub revision: Option<String>,
    /// `--props=K=V,...`.
    pub props: BTreeMap<String, String>,
}

/// A command, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `hello`.
    Hello,
    /// `version`.
    Version,
    /// `source`.
    Source,
    /// `commands`.
    Commands,
    /// `help [COMMAND [ARG]]`.
    Help(Option<String>, Option<String>),
    /// `list builders`.
    ListBuilders,
    /// `status [BUILDER|all]`.
    Status(Which),
    /// `last [BUILDER|all]`.
    Last(Which),
    /// `watch BUILDER`.
    Watch(String),
    /// `join CHANNEL`.
    Join(String),
    /// `leave CHANNEL`.
    Leave(String),
    /// `notify on|off|list [EVENT...]`.
    Notify(NotifyAction, Vec<String>),
    /// `mute`.
    Mute,
    /// `unmute`.
    Unmute,
    /// `shutdown check|start|stop|now`.
    Shutdown(ShutdownArg),
    /// `force build ...`.
    Force(ForceArgs),
    /// `stop build BUILDER REASON`.
    Stop {
        /// The builder.
        builder: String,
        /// Why.
        reason: String,
    },
}

/// Why a message is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// No command by that name.
    Unknown(String),
    /// The command's arguments are wrong; the text says how to use it.
    Usage(String),
}

/// Every command's name, sorted, with its usage (0.8.9's `command_X.usage`).
pub const USAGE: &[(&str, &str)] = &[
    ("commands", "commands - List available commands"),
    (
        "force",
        "force build [--branch=branch] [--revision=revision] [--props=prop1=val1,prop2=val2...] <which> <reason> - \
         Force a build",
    ),
    ("hello", "hello - Say hello"),
    ("help", "help <command> - Give help for <command>"),
    ("join", "join <channel> - Join a channel"),
    ("last", "last <which> - list last build status for builder <which> (or 'all')"),
    ("leave", "leave <channel> - Leave a channel"),
    ("list", "list builders - List configured builders"),
    ("mute", "mute - suppress all messages until a corresponding 'unmute' is issued"),
    (
        "notify",
        "notify on|off|list [<EVENT>] ... - Notify me about build events. EVENT is one or more of: started, \
         finished, success, warnings, failure, exception, cancelled, or xToY (x and Y each one of success, \
         warnings, failure, exception, cancelled, Y capitalized: successToFailure)",
    ),
    ("shutdown", "shutdown check|start|stop|now - shutdown the master"),
    ("source", "source - where this master and its project live"),
    ("status", "status [<which>] - List status of a builder (or all builders)"),
    ("stop", "stop build <which> <reason> - Stop a running build"),
    ("unmute", "unmute - disable a previous 'mute'"),
    ("version", "version - show the master's version"),
    ("watch", "watch <which> - announce the completion of an active build"),
];

/// `help shutdown ARG`.
const SHUTDOWN_USAGE: &[(&str, &str)] = &[
    ("check", "shutdown check - check if the master is running or shutting down"),
    ("start", "shutdown start - start a clean shutdown: no new builds, exit when the running ones end"),
    ("stop", "shutdown stop - cancel the clean shutdown"),
    ("now", "shutdown now - shutdown immediately without waiting for the builders to finish"),
];

/// The usage of `command` (and of its argument `arg`, for `shutdown`).
pub fn usage(command: &str, arg: Option<&str>) -> Option<&'static str> {
    let command = command.to_ascii_lowercase();
    if command == "shutdown"
        && let Some(arg) = arg
    {
        let arg = arg.to_ascii_lowercase();
        return SHUTDOWN_USAGE.iter().find(|(a, _)| *a == arg).map(|(_, u)| *u);
    }
    USAGE.iter().find(|(c, _)| *c == command).map(|(_, u)| *u)
}

/// The commands a bot offers: `force` and `stop` with `allow_force`, `shutdown` with
/// `allow_shutdown`.
pub fn available(allow_force: bool, allow_shutdown: bool) -> Vec<&'static str> {
    USAGE
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| match *c {
            "force" | "stop" => allow_force,
            "shutdown" => allow_shutdown,
            _ => true,
        })
        .collect()
}

const FORCE_TRY: &str =
    "try 'force build [--branch=BRANCH] [--revision=REVISION] [--props=PROP1=VAL1,PROP2=VAL2...] <WHICH> <REASON>'";

/// Parses a command (the message with the bot's name already taken off).
pub fn parse(text: &str) -> Result<Command, ParseError> {
    let text = text.trim();
    let (name, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let args = split_args(rest)?;
    let usage = |s: &str| Err(ParseError::Usage(s.to_owned()));
    let arg = |i: usize| args.get(i).map(String::as_str);
    match name.to_ascii_lowercase().as_str() {
        "hello" => Ok(Command::Hello),
        "version" => Ok(Command::Version),
        "source" => Ok(Command::Source),
        "commands" => Ok(Command::Commands),
        "mute" => Ok(Command::Mute),
        "unmute" => Ok(Command::Unmute),
        "help" => Ok(Command::Help(arg(0).map(str::to_owned), arg(1).map(str::to_owned))),
        "list" => match arg(0) {
            Some(a) if a.eq_ignore_ascii_case("builders") => Ok(Command::ListBuilders),
            _ => usage("try 'list builders'"),
        },
        "status" => which(&args).map(Command::Status).or_else(|_| usage("try 'status <builder>'")),
        "last" => which(&args).map(Command::Last).or_else(|_| usage("try 'last <builder>'")),
        "watch" => match args.as_slice() {
            [builder] => Ok(Command::Watch(builder.clone())),
            _ => usage("try 'watch <builder>'"),
        },
        "join" => match args.as_slice() {
            [channel] if is_irc_channel(channel) => Ok(Command::Join(channel.clone())),
            _ => usage("try 'join #channel'"),
        },
        "leave" => match args.as_slice() {
            [channel] if is_irc_channel(channel) => Ok(Command::Leave(channel.clone())),
            _ => usage("try 'leave #channel'"),
        },
        "notify" => notify(&args),
        "shutdown" => {
            let arg = match args.as_slice() {
                [a] => a.to_ascii_lowercase(),
                _ => String::new(),
            };
            match arg.as_str() {
                "check" => Ok(Command::Shutdown(ShutdownArg::Check)),
                "start" => Ok(Command::Shutdown(ShutdownArg::Start)),
                "stop" => Ok(Command::Shutdown(ShutdownArg::Stop)),
                "now" => Ok(Command::Shutdown(ShutdownArg::Now)),
                _ => usage("try 'shutdown check|start|stop|now'"),
            }
        }
        "force" => force(&args),
        "stop" => match args.as_slice() {
            [what, builder, reason @ ..] if what.eq_ignore_ascii_case("build") && !reason.is_empty() => {
                Ok(Command::Stop { builder: builder.clone(), reason: reason.join(" ") })
            }
            _ => usage("try 'stop build WHICH <REASON>'"),
        },
        _ => Err(ParseError::Unknown(name.to_owned())),
    }
}

fn which(args: &[String]) -> Result<Which, ()> {
    match args {
        [] => Ok(Which::All),
        [one] if one.eq_ignore_ascii_case("all") => Ok(Which::All),
        [one] => Ok(Which::Builder(one.clone())),
        _ => Err(()),
    }
}

fn notify(args: &[String]) -> Result<Command, ParseError> {
    let Some((action, events)) = args.split_first() else {
        return Err(ParseError::Usage("try 'notify on|off|list <EVENT>'".into()));
    };
    let action = match action.to_ascii_lowercase().as_str() {
        "on" => NotifyAction::On,
        "off" => NotifyAction::Off,
        "list" => NotifyAction::List,
        _ => return Err(ParseError::Usage("try 'notify on|off|list <EVENT>'".into())),
    };
    if let Some(bad) = events.iter().find(|e| !is_irc_event(e)) {
        return Err(ParseError::Usage(format!("'{bad}' is not an event; try 'help notify'")));
    }
    Ok(Command::Notify(action, events.to_vec()))
}

fn force(args: &[String]) -> Result<Command, ParseError> {
    let usage = |s: String| Err(ParseError::Usage(s));
    let Some((what, mut rest)) = args.split_first() else { return usage(FORCE_TRY.into()) };
    if !what.eq_ignore_ascii_case("build") {
        return usage(FORCE_TRY.into());
    }
    let mut force = ForceArgs::default();
    while let Some((opt, tail)) = rest.split_first().filter(|(o, _)| o.starts_with("--")) {
        rest = tail;
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, v.to_owned()),
            None => match rest.split_first() {
                Some((v, tail)) => {
                    rest = tail;
                    (opt.as_str(), v.clone())
                }
                None => return usage(format!("{opt} needs a value; {FORCE_TRY}")),
            },
        };
        match key {
            "--branch" if is_safe(&value, "_.+/~-") => force.branch = Some(value).filter(|v| !v.is_empty()),
            "--branch" => return usage(format!("sorry, bad branch '{value}'")),
            "--revision" if is_safe(&value, " _.-/") => force.revision = Some(value).filter(|v| !v.is_empty()),
            "--revision" => return usage(format!("sorry, bad revision '{value}'")),
            "--props" => {
                for pair in value.split(',').filter(|p| !p.is_empty()) {
                    match pair.split_once('=') {
                        Some((k, v)) if !k.is_empty() && is_safe(k, "_.-/~:") && is_safe(v, "_.-/~:") => {
                            force.props.insert(k.to_owned(), v.to_owned());
                        }
                        _ => return usage(format!("sorry, bad property '{pair}'")),
                    }
                }
            }
            _ => return usage(format!("unknown option {key}; {FORCE_TRY}")),
        }
    }
    let Some((builder, reason)) = rest.split_first() else {
        return usage(format!("you must provide a Builder, {FORCE_TRY}"));
    };
    force.builder = builder.clone();
    force.reason = reason.join(" ");
    Ok(Command::Force(force))
}

/// Buildbot's validation of forced branches, revisions and properties: word characters and
/// a few punctuation marks, so nothing odd reaches a command line.
fn is_safe(value: &str, extra: &str) -> bool {
    value.chars().all(|c| c.is_alphanumeric() || extra.contains(c))
}

/// Splits arguments at white space, keeping what is quoted with `'` or `"` together.
fn split_args(text: &str) -> Result<Vec<String>, ParseError> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => args.extend(current.take()),
            (None, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err(ParseError::Usage("unbalanced quotes".into()));
    }
    args.extend(current);
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Command {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn usage_of(text: &str) -> String {
        match parse(text) {
            Err(ParseError::Usage(u)) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn commands_are_case_insensitive_and_arguments_keep_their_case() {
        assert_eq!(ok("HELLO"), Command::Hello);
        assert_eq!(ok("  Version  "), Command::Version);
        assert_eq!(ok("List Builders"), Command::ListBuilders);
        assert_eq!(ok("status App"), Command::Status(Which::Builder("App".into())));
        assert_eq!(ok("STATUS ALL"), Command::Status(Which::All));
        assert_eq!(ok("status"), Command::Status(Which::All));
        assert_eq!(ok("last"), Command::Last(Which::All));
        assert_eq!(ok("last app"), Command::Last(Which::Builder("app".into())));
        assert_eq!(ok("watch app"), Command::Watch("app".into()));
        assert_eq!(ok("join #Dev"), Command::Join("#Dev".into()));
        assert_eq!(ok("leave &local"), Command::Leave("&local".into()));
        assert_eq!(ok("mute"), Command::Mute);
        assert_eq!(ok("UNMUTE"), Command::Unmute);
        assert_eq!(ok("source"), Command::Source);
        assert_eq!(ok("commands"), Command::Commands);
        assert_eq!(ok("help"), Command::Help(None, None));
        assert_eq!(ok("help shutdown start"), Command::Help(Some("shutdown".into()), Some("start".into())));
    }

    #[test]
    fn unknown_commands_and_bad_arguments_say_so() {
        assert_eq!(parse("dance"), Err(ParseError::Unknown("dance".into())));
        assert_eq!(parse(""), Err(ParseError::Unknown(String::new())));
        assert_eq!(usage_of("list"), "try 'list builders'");
        assert_eq!(usage_of("status a b"), "try 'status <builder>'");
        assert_eq!(usage_of("watch"), "try 'watch <builder>'");
        assert_eq!(usage_of("join dev"), "try 'join #channel'");
        assert_eq!(usage_of("shutdown later"), "try 'shutdown check|start|stop|now'");
        assert_eq!(usage_of("stop build app"), "try 'stop build WHICH <REASON>'");
        assert_eq!(usage_of("status 'app"), "unbalanced quotes");
    }

    #[test]
    fn notify_takes_known_events_only() {
        assert_eq!(ok("notify on"), Command::Notify(NotifyAction::On, vec![]));
        assert_eq!(
            ok("notify ON failure successToFailure"),
            Command::Notify(NotifyAction::On, vec!["failure".into(), "successToFailure".into()])
        );
        assert_eq!(ok("notify off"), Command::Notify(NotifyAction::Off, vec![]));
        assert_eq!(ok("notify list"), Command::Notify(NotifyAction::List, vec![]));
        assert_eq!(usage_of("notify on successtofailure"), "'successtofailure' is not an event; try 'help notify'");
        assert_eq!(usage_of("notify"), "try 'notify on|off|list <EVENT>'");
        assert_eq!(usage_of("notify maybe"), "try 'notify on|off|list <EVENT>'");
    }

    #[test]
    fn force_build_takes_options_a_builder_and_a_reason() {
        let Command::Force(f) = ok("force build --branch=dev --revision abc123 --props=a=1,b=x:y app fix it now")
        else {
            panic!()
        };
        assert_eq!((f.builder.as_str(), f.reason.as_str()), ("app", "fix it now"));
        assert_eq!((f.branch.as_deref(), f.revision.as_deref()), (Some("dev"), Some("abc123")));
        assert_eq!(f.props, BTreeMap::from([("a".into(), "1".into()), ("b".into(), "x:y".into())]));
        let Command::Force(f) = ok("Force Build app \"quoted  reason\"") else { panic!() };
        assert_eq!((f.builder.as_str(), f.reason.as_str(), f.branch), ("app", "quoted  reason", None));
        assert!(usage_of("force build").starts_with("you must provide a Builder, try 'force build"));
        assert!(usage_of("force app").starts_with("try 'force build"));
        assert_eq!(usage_of("force build --branch=a;rm app"), "sorry, bad branch 'a;rm'");
        assert_eq!(usage_of("force build --revision=$(x) app"), "sorry, bad revision '$(x)'");
        assert_eq!(usage_of("force build --props=novalue app"), "sorry, bad property 'novalue'");
        assert_eq!(usage_of("force build --props==v app"), "sorry, bad property '=v'");
        assert!(usage_of("force build --color=red app").starts_with("unknown option --color"));
        assert!(usage_of("force build --branch").starts_with("--branch needs a value"));
    }

    #[test]
    fn stop_build_names_a_builder_and_a_reason() {
        assert_eq!(
            ok("stop build app it is broken"),
            Command::Stop { builder: "app".into(), reason: "it is broken".into() }
        );
    }

    #[test]
    fn help_knows_every_command_and_shutdown_arguments() {
        assert!(usage("notify", None).is_some_and(|u| u.starts_with("notify on|off|list")));
        assert!(usage("FORCE", None).is_some_and(|u| u.starts_with("force build")));
        assert!(usage("shutdown", Some("now")).is_some_and(|u| u.starts_with("shutdown now")));
        assert!(usage("shutdown", Some("later")).is_none());
        assert!(usage("dance", None).is_none());
        let names: Vec<_> = USAGE.iter().map(|(c, _)| *c).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for name in &names {
            let line = format!("{name} x");
            assert!(!matches!(parse(&line), Err(ParseError::Unknown(_))), "{name} has usage but no parser");
        }
    }

    #[test]
    fn force_stop_and_shutdown_are_offered_only_when_allowed() {
        assert!(!available(false, false).iter().any(|c| ["force", "stop", "shutdown"].contains(c)));
        assert!(available(true, false).contains(&"force") && available(true, false).contains(&"stop"));
        assert!(available(false, true).contains(&"shutdown"));
    }
}
