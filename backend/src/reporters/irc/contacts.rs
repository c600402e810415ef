//! Whom the bot tells what: its channels, the nicks it messages, each contact's notify
//! events and mute, and the builds people watch. Deciding which contacts a build's start or
//! end concerns is pure and cheap, since it runs inside the transaction that records the
//! build. The part people change (joins, leaves, events, mutes, watches) is saved as JSON in
//! the state table, so a restart keeps it. Anyone on the network can add to it, so it is
//! bounded ([`Contacts::tidy`]): at most [`MAX_CONTACTS`] contacts beyond the configured
//! ones (the longest untouched are forgotten), at most [`MAX_WATCHERS`] watchers, none older
//! than [`WATCH_FOR`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::IrcConfig;
use crate::config::is_irc_channel;
use crate::model::{BuildRequestId, Results};

/// How many recent build starts are remembered for forces answered late.
const RECENT_STARTS: usize = 256;

/// The most contacts kept besides the configured channels and `pm_to_nicks`: nicks with
/// settings, and channels joined or with settings.
pub const MAX_CONTACTS: usize = 1000;

/// The most watchers kept, over every watched build request.
pub const MAX_WATCHERS: usize = 1000;

/// How long a watch lasts at most, in seconds (a week): its build may never be reported
/// here (cancelled, pruned, or reported by another master).
pub const WATCH_FOR: i64 = 7 * 86_400;

/// What `notify on` with no events turns on.
pub const DEFAULT_ON: [&str; 2] = ["started", "finished"];

/// A contact's name as the bot keys it: IRC names are case-insensitive.
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// What one contact asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Settings {
    /// Its events, once it chose them (until then, the configured ones for channels and
    /// `pm_to_nicks`, none for other nicks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<BTreeSet<String>>,
    /// Nothing is said to it until it unmutes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    muted: bool,
    /// When it last changed a setting or used the bot (epoch seconds).
    #[serde(default, skip_serializing_if = "is_zero")]
    touched: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One contact's watch of a build request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedWatcher")]
struct Watcher {
    /// It also wants the start (a force does, a watch of a running build does not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    start: bool,
    /// When it began to watch (epoch seconds).
    since: i64,
}

/// A watcher as saved: an object, or, from before watches had times, whether it wants the
/// start (such a watch counts as begun long ago).
#[derive(Deserialize)]
#[serde(untagged)]
enum SavedWatcher {
    Untimed(bool),
    Timed {
        #[serde(default)]
        start: bool,
        since: i64,
    },
}

impl From<SavedWatcher> for Watcher {
    fn from(saved: SavedWatcher) -> Watcher {
        match saved {
            SavedWatcher::Untimed(start) => Watcher { start, since: 0 },
            SavedWatcher::Timed { start, since } => Watcher { start, since },
        }
    }
}

/// What people changed, as saved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    /// Channels joined by command that the configuration does not list.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    joined: BTreeSet<String>,
    /// Configured channels left by command.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    left: BTreeSet<String>,
    /// Contacts by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    contacts: BTreeMap<String, Settings>,
    /// Watched build requests: contact → its watch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    watches: BTreeMap<i64, BTreeMap<String, Watcher>>,
}

/// The bot's contacts.
#[derive(Clone, Debug, Default)]
pub struct Contacts {
    defaults: BTreeSet<String>,
    configured: Vec<String>,
    pm_to_nicks: BTreeSet<String>,
    saved: Saved,
    /// Requests whose builds started lately, with the build's number, oldest first.
    recent: VecDeque<(BuildRequestId, i64)>,
    /// Requests whose build's start is decided but not yet committed (or rolled back).
    deciding: BTreeMap<BuildRequestId, usize>,
}

/// What [`Contacts::watch_forced`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forced {
    /// The forcer watches the build's start and end.
    Watching,
    /// The build (this number) started already: the forcer watches its end.
    Started(i64),
    /// The build's start is being recorded: nothing is done until it is committed or rolled
    /// back, when the force is to be watched again.
    Deciding,
}

impl Contacts {
    /// The contacts a configuration starts with.
    pub fn new(config: &IrcConfig) -> Contacts {
        Contacts {
            defaults: config.notify_events.iter().cloned().collect(),
            configured: config.channels.iter().map(|c| key(&c.name)).collect(),
            pm_to_nicks: config.pm_to_nicks.iter().map(|n| key(n)).collect(),
            saved: Saved::default(),
            recent: VecDeque::new(),
            deciding: BTreeMap::new(),
        }
    }

    /// Takes back what was saved (see [`Contacts::save`]).
    pub fn restore(&mut self, saved: &str) -> Result<(), serde_json::Error> {
        self.saved = serde_json::from_str(saved)?;
        Ok(())
    }

    /// What people changed, as JSON.
    pub fn save(&self) -> String {
        serde_json::to_string(&self.saved).unwrap_or_default()
    }

    /// The channels the bot should be in: the configured ones not left, then those joined.
    pub fn channels(&self) -> Vec<String> {
        let configured = self.configured.iter().filter(|c| !self.saved.left.contains(*c));
        configured.chain(self.saved.joined.iter()).cloned().collect()
    }

    /// Adds a channel; false if the bot was in it already.
    pub fn join(&mut self, channel: &str, now: i64) -> bool {
        let channel = key(channel);
        self.settings(&channel, now);
        if self.configured.contains(&channel) {
            self.saved.left.remove(&channel)
        } else {
            self.saved.joined.insert(channel)
        }
    }

    /// Removes a channel; false if the bot was not in it.
    pub fn leave(&mut self, channel: &str) -> bool {
        let channel = key(channel);
        if self.configured.contains(&channel) {
            self.saved.left.insert(channel)
        } else {
            self.saved.joined.remove(&channel)
        }
    }

    /// Whether the configured events apply to `contact` until it chooses its own.
    fn has_defaults(&self, contact: &str) -> bool {
        if is_irc_channel(contact) {
            self.channels().iter().any(|c| c == contact)
        } else {
            self.pm_to_nicks.contains(contact)
        }
    }

    /// The events `contact` is notified of.
    pub fn events(&self, contact: &str) -> BTreeSet<String> {
        let contact = key(contact);
        match self.saved.contacts.get(&contact).and_then(|s| s.events.clone()) {
            Some(events) => events,
            None if self.has_defaults(&contact) => self.defaults.clone(),
            None => BTreeSet::new(),
        }
    }

    /// Adds events (`started` and `finished` when none are given).
    pub fn notify_on(&mut self, contact: &str, events: &[String], at: i64) {
        let mut now = self.events(contact);
        if events.is_empty() {
            now.extend(DEFAULT_ON.iter().map(|e| (*e).to_owned()));
        } else {
            now.extend(events.iter().cloned());
        }
        self.settings(contact, at).events = Some(now);
    }

    /// Removes events (all of them when none are given).
    pub fn notify_off(&mut self, contact: &str, events: &[String], at: i64) {
        let mut now = self.events(contact);
        if events.is_empty() {
            now.clear();
        } else {
            now.retain(|e| !events.contains(e));
        }
        self.settings(contact, at).events = Some(now);
    }

    /// Mutes or unmutes a contact.
    pub fn set_muted(&mut self, contact: &str, muted: bool, now: i64) {
        self.settings(contact, now).muted = muted;
    }

    /// Notes that a contact with settings used the bot: it is forgotten last.
    pub fn touch(&mut self, contact: &str, now: i64) {
        if let Some(settings) = self.saved.contacts.get_mut(&key(contact)) {
            settings.touched = now;
        }
    }

    /// Whether a contact is muted.
    pub fn muted(&self, contact: &str) -> bool {
        self.saved.contacts.get(&key(contact)).is_some_and(|s| s.muted)
    }

    /// A contact's settings, touched at `now`.
    fn settings(&mut self, contact: &str, now: i64) -> &mut Settings {
        let settings = self.saved.contacts.entry(key(contact)).or_default();
        settings.touched = now;
        settings
    }

    /// `contact` hears about the end of the builds of `request` (and their start, when
    /// `started`) whatever its events, from `now` for at most [`WATCH_FOR`].
    pub fn watch(&mut self, request: BuildRequestId, contact: &str, started: bool, now: i64) {
        let watchers = self.saved.watches.entry(request.0).or_default();
        let watcher = watchers.entry(key(contact)).or_insert(Watcher { start: false, since: now });
        watcher.start |= started;
        watcher.since = now;
    }

    /// The watched build requests.
    pub fn watched(&self) -> Vec<BuildRequestId> {
        self.saved.watches.keys().map(|r| BuildRequestId(*r)).collect()
    }

    /// Notes that the start of a build of `request` is being recorded: until it is
    /// committed ([`Contacts::start_committed`]) or rolled back
    /// ([`Contacts::start_abandoned`]), a force of that request waits.
    pub fn start_deciding(&mut self, request: BuildRequestId) {
        *self.deciding.entry(request).or_default() += 1;
    }

    /// Notes that build `number` of `request` started, now that its start is committed (a
    /// force may learn it late).
    pub fn start_committed(&mut self, request: BuildRequestId, number: i64) {
        self.start_abandoned(request);
        if self.recent.len() == RECENT_STARTS {
            self.recent.pop_front();
        }
        self.recent.push_back((request, number));
    }

    /// Forgets a start whose recording was rolled back.
    pub fn start_abandoned(&mut self, request: BuildRequestId) {
        if let Some(n) = self.deciding.get_mut(&request) {
            *n -= 1;
            if *n == 0 {
                self.deciding.remove(&request);
            }
        }
    }

    /// What a force does once it has its request: watch its build's start and end, or, if
    /// the build started already, only its end (the forcer is told of the start at once).
    /// While the start is being recorded, whether the forcer is among those it tells is
    /// decided already: nothing is done, and the force is to be watched again once the
    /// start is committed or rolled back.
    pub fn watch_forced(&mut self, request: BuildRequestId, contact: &str, now: i64) -> Forced {
        if self.deciding.contains_key(&request) {
            return Forced::Deciding;
        }
        let started = self.recent.iter().rev().find(|(r, _)| *r == request).map(|(_, n)| *n);
        self.watch(request, contact, started.is_none(), now);
        started.map_or(Forced::Watching, Forced::Started)
    }

    /// Forgets the watchers of a request whose build has been reported; false if it had none.
    pub fn unwatch(&mut self, request: BuildRequestId) -> bool {
        self.saved.watches.remove(&request.0).is_some()
    }

    /// Every contact that may be notified: the channels, `pm_to_nicks`, nicks that chose
    /// events, and watchers of `request`; each once.
    fn candidates(&self, request: BuildRequestId) -> BTreeSet<String> {
        let channels = self.channels();
        let chosen = self.saved.contacts.keys().filter(|c| !is_irc_channel(c) || channels.contains(*c));
        let mut all: BTreeSet<String> = channels.iter().chain(&self.pm_to_nicks).chain(chosen).cloned().collect();
        if let Some(watchers) = self.saved.watches.get(&request.0) {
            all.extend(watchers.keys().cloned());
        }
        all
    }

    fn watches(&self, request: BuildRequestId, contact: &str, started: bool) -> bool {
        self.saved.watches.get(&request.0).and_then(|w| w.get(contact)).is_some_and(|w| !started || w.start)
    }

    /// Keeps what people added within bounds at `now`: forgets watches older than
    /// [`WATCH_FOR`] and, past [`MAX_WATCHERS`], the oldest watchers; forgets settings that
    /// say nothing, and, past [`MAX_CONTACTS`] contacts besides the configured ones, the
    /// longest untouched. Returns the joined channels forgotten, for the bot to leave.
    pub fn tidy(&mut self, now: i64) -> Vec<String> {
        let watches = &mut self.saved.watches;
        for watchers in watches.values_mut() {
            watchers.retain(|_, w| now - w.since < WATCH_FOR);
        }
        let mut all: Vec<(i64, i64, String)> = watches
            .iter()
            .flat_map(|(request, watchers)| watchers.iter().map(|(c, w)| (w.since, *request, c.clone())))
            .collect();
        if all.len() > MAX_WATCHERS {
            all.sort();
            for (_, request, contact) in all.drain(..all.len() - MAX_WATCHERS) {
                if let Some(watchers) = watches.get_mut(&request) {
                    watchers.remove(&contact);
                }
            }
        }
        watches.retain(|_, watchers| !watchers.is_empty());

        let joined = &self.saved.joined;
        self.saved.contacts.retain(|c, s| s.events.is_some() || s.muted || joined.contains(c));
        let configured = |c: &String| self.configured.contains(c) || self.pm_to_nicks.contains(c);
        let mut strangers: Vec<(i64, String)> = self
            .saved
            .contacts
            .keys()
            .chain(joined.iter())
            .filter(|c| !configured(c))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|c| (self.saved.contacts.get(c).map_or(0, |s| s.touched), c.clone()))
            .collect();
        let mut left = Vec::new();
        if strangers.len() > MAX_CONTACTS {
            strangers.sort();
            for (_, contact) in strangers.drain(..strangers.len() - MAX_CONTACTS) {
                self.saved.contacts.remove(&contact);
                if self.saved.joined.remove(&contact) {
                    left.push(contact);
                }
            }
        }
        left
    }

    /// Who hears that a build of `request` started.
    pub fn started_targets(&self, request: BuildRequestId) -> Vec<String> {
        self.candidates(request)
            .into_iter()
            .filter(|c| self.events(c).contains("started") || self.watches(request, c, true))
            .collect()
    }

    /// Who hears that a build of `request` finished with `results`, after a previous build
    /// (of the same builder and branch) that ended `previous`.
    pub fn finished_targets(
        &self,
        request: BuildRequestId,
        results: Results,
        previous: Option<Results>,
    ) -> Vec<String> {
        self.candidates(request)
            .into_iter()
            .filter(|c| notify_finished(&self.events(c), results, previous) || self.watches(request, c, false))
            .collect()
    }
}

/// Buildbot's severity order for `worse`, `better`, `problem` and `recovery`; retries
/// have no place in it.
fn severity(r: Results) -> Option<u8> {
    match r {
        Results::Skipped => Some(0),
        Results::Success => Some(1),
        Results::Warnings => Some(2),
        Results::Failure => Some(3),
        Results::Cancelled => Some(4),
        Results::Exception => Some(5),
        Results::Retry => None,
    }
}

/// Whether a contact with `events` hears of a build that finished `results` after one
/// that ended `previous`: `finished`, the result's name, `<previous>To<Results>`, or the
/// comparisons `worse`, `better`, `problem` and `recovery`.
pub fn notify_finished(events: &BTreeSet<String>, results: Results, previous: Option<Results>) -> bool {
    if events.contains("finished") || events.contains(results.name()) {
        return true;
    }
    let Some(previous) = previous else { return false };
    let mut to = results.name().to_owned();
    if let Some(first) = to.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if events.contains(&format!("{}To{to}", previous.name())) {
        return true;
    }
    let (Some(now), Some(before)) = (severity(results), severity(previous)) else { return false };
    let failing = |r: Results| matches!(r, Results::Failure | Results::Exception);
    let passing = |r: Results| matches!(r, Results::Success | Results::Warnings);
    (events.contains("worse") && now > before)
        || (events.contains("better") && now < before)
        || (events.contains("problem") && passing(previous) && failing(results))
        || (events.contains("recovery") && failing(previous) && passing(results))
}

#[cfg(test)]
mod tests;
