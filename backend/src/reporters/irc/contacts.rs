//! Whom the bot tells what: its channels, the nicks it messages, each contact's notify
//! events and mute, and the builds people watch. Deciding which contacts a build's start or
//! end concerns is pure and cheap, since it runs inside the transaction that records the
//! build. The part people change (joins, leaves, events, mutes, watches) is saved as JSON in
//! the state table, so a restart keeps it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::IrcConfig;
use crate::config::is_irc_channel;
use crate::model::{BuildRequestId, Results};

/// How many recent build starts are remembered for forces answered late.
const RECENT_STARTS: usize = 256;

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
    /// Watched build requests: contact → whether it also wants the start (a force does,
    /// a watch of a running build does not).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    watches: BTreeMap<i64, BTreeMap<String, bool>>,
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
    pub fn join(&mut self, channel: &str) -> bool {
        let channel = key(channel);
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
    pub fn notify_on(&mut self, contact: &str, events: &[String]) {
        let mut now = self.events(contact);
        if events.is_empty() {
            now.extend(DEFAULT_ON.iter().map(|e| (*e).to_owned()));
        } else {
            now.extend(events.iter().cloned());
        }
        self.settings(contact).events = Some(now);
    }

    /// Removes events (all of them when none are given).
    pub fn notify_off(&mut self, contact: &str, events: &[String]) {
        let mut now = self.events(contact);
        if events.is_empty() {
            now.clear();
        } else {
            now.retain(|e| !events.contains(e));
        }
        self.settings(contact).events = Some(now);
    }

    /// Mutes or unmutes a contact.
    pub fn set_muted(&mut self, contact: &str, muted: bool) {
        self.settings(contact).muted = muted;
    }

    /// Whether a contact is muted.
    pub fn muted(&self, contact: &str) -> bool {
        self.saved.contacts.get(&key(contact)).is_some_and(|s| s.muted)
    }

    fn settings(&mut self, contact: &str) -> &mut Settings {
        self.saved.contacts.entry(key(contact)).or_default()
    }

    /// `contact` hears about the end of the builds of `request` (and their start, when
    /// `started`) whatever its events.
    pub fn watch(&mut self, request: BuildRequestId, contact: &str, started: bool) {
        let watchers = self.saved.watches.entry(request.0).or_default();
        let wants = watchers.entry(key(contact)).or_default();
        *wants |= started;
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
    pub fn watch_forced(&mut self, request: BuildRequestId, contact: &str) -> Forced {
        if self.deciding.contains_key(&request) {
            return Forced::Deciding;
        }
        let started = self.recent.iter().rev().find(|(r, _)| *r == request).map(|(_, n)| *n);
        self.watch(request, contact, started.is_none());
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
        self.saved.watches.get(&request.0).and_then(|w| w.get(contact)).is_some_and(|s| !started || *s)
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
mod tests {
    use super::*;
    use Results::*;

    fn config(events: &[&str]) -> IrcConfig {
        IrcConfig {
            notify_events: events.iter().map(|e| (*e).to_owned()).collect(),
            ..crate::reporters::irc::tests::config()
        }
    }

    fn set(events: &[&str]) -> BTreeSet<String> {
        events.iter().map(|e| (*e).to_owned()).collect()
    }

    const R: BuildRequestId = BuildRequestId(1);

    #[test]
    fn finished_builds_notify_by_name_result_and_transition() {
        assert!(notify_finished(&set(&["finished"]), Retry, None));
        assert!(notify_finished(&set(&["failure"]), Failure, Some(Failure)));
        assert!(!notify_finished(&set(&["failure"]), Success, Some(Failure)));
        assert!(notify_finished(&set(&["successToFailure"]), Failure, Some(Success)));
        assert!(!notify_finished(&set(&["successToFailure"]), Failure, Some(Warnings)));
        assert!(!notify_finished(&set(&["successToFailure"]), Failure, None));
        assert!(notify_finished(&set(&["failureToSuccess"]), Success, Some(Failure)));
        assert!(notify_finished(&set(&["warningsToWarnings"]), Warnings, Some(Warnings)));
        assert!(notify_finished(&set(&["cancelled"]), Cancelled, Some(Success)));
        assert!(notify_finished(&set(&["exceptionToSuccess"]), Success, Some(Exception)));
    }

    #[test]
    fn comparisons_follow_buildbot_severity() {
        assert!(notify_finished(&set(&["worse"]), Warnings, Some(Success)));
        assert!(!notify_finished(&set(&["worse"]), Success, Some(Warnings)));
        assert!(notify_finished(&set(&["better"]), Success, Some(Exception)));
        assert!(notify_finished(&set(&["problem"]), Exception, Some(Warnings)));
        assert!(!notify_finished(&set(&["problem"]), Failure, Some(Failure)));
        assert!(notify_finished(&set(&["recovery"]), Warnings, Some(Failure)));
        assert!(!notify_finished(&set(&["recovery", "worse", "better"]), Retry, Some(Failure)));
        assert!(!notify_finished(&set(&["worse"]), Failure, None));
    }

    #[test]
    fn channels_and_pm_nicks_start_with_the_configured_events_and_others_with_none() {
        let c = Contacts::new(&config(&["started", "failure"]));
        assert_eq!(c.channels(), vec!["#ci", "#dev"]);
        assert_eq!(c.events("#CI"), set(&["started", "failure"]));
        assert_eq!(c.events("boss"), set(&["started", "failure"]));
        assert_eq!(c.events("alice"), set(&[]));
        assert_eq!(c.events("#elsewhere"), set(&[]));
        assert_eq!(c.started_targets(R), vec!["#ci", "#dev", "boss"]);
        assert_eq!(c.finished_targets(R, Failure, None), vec!["#ci", "#dev", "boss"]);
        assert!(c.finished_targets(R, Success, None).is_empty());
    }

    #[test]
    fn notify_on_and_off_change_one_contact() {
        let mut c = Contacts::new(&config(&["failure"]));
        c.notify_on("Alice", &[]);
        assert_eq!(c.events("alice"), set(&["started", "finished"]));
        c.notify_off("alice", &["started".into()]);
        assert_eq!(c.events("ALICE"), set(&["finished"]));
        c.notify_on("#ci", &["successToFailure".into()]);
        assert_eq!(c.events("#ci"), set(&["failure", "successToFailure"]));
        c.notify_off("boss", &[]);
        assert_eq!(c.events("boss"), set(&[]));
        assert_eq!(c.finished_targets(R, Failure, Some(Success)), vec!["#ci", "#dev", "alice"]);
        assert_eq!(c.finished_targets(R, Success, Some(Success)), vec!["alice"]);
        assert_eq!(c.started_targets(R), Vec::<String>::new());
    }

    #[test]
    fn joins_leaves_and_watches_decide_who_hears() {
        let mut c = Contacts::new(&config(&["finished"]));
        assert!(c.leave("#CI") && !c.leave("#ci"));
        assert!(c.join("#extra") && !c.join("#Extra"));
        assert_eq!(c.channels(), vec!["#dev", "#extra"]);
        c.notify_on("#gone", &[]);
        assert_eq!(c.finished_targets(R, Success, None), vec!["#dev", "#extra", "boss"], "left channels hear nothing");
        let mut quiet = Contacts::new(&config(&[]));
        quiet.watch(BuildRequestId(5), "Watcher", false);
        quiet.watch(BuildRequestId(5), "#ci", true);
        assert_eq!(quiet.started_targets(BuildRequestId(5)), vec!["#ci"]);
        assert_eq!(quiet.finished_targets(BuildRequestId(5), Failure, None), vec!["#ci", "watcher"]);
        assert!(quiet.finished_targets(BuildRequestId(6), Failure, None).is_empty());
        assert!(quiet.unwatch(BuildRequestId(5)) && !quiet.unwatch(BuildRequestId(5)));
        assert!(quiet.finished_targets(BuildRequestId(5), Failure, None).is_empty());
    }

    #[test]
    fn a_force_answered_after_its_build_started_watches_only_the_end() {
        let mut c = Contacts::new(&config(&[]));
        for n in 0..300 {
            c.start_deciding(BuildRequestId(1000 + n));
            c.start_committed(BuildRequestId(1000 + n), n);
        }
        c.start_committed(BuildRequestId(7), 3);
        assert_eq!(c.watch_forced(BuildRequestId(7), "ann"), Forced::Started(3));
        assert_eq!(c.watch_forced(BuildRequestId(8), "bob"), Forced::Watching);
        assert_eq!(c.watch_forced(BuildRequestId(1000), "cy"), Forced::Watching, "the oldest starts are forgotten");
        assert!(c.started_targets(BuildRequestId(7)).is_empty());
        assert_eq!(c.finished_targets(BuildRequestId(7), Success, None), vec!["ann"]);
        assert_eq!(c.started_targets(BuildRequestId(8)), vec!["bob"]);
    }

    #[test]
    fn a_force_waits_for_a_start_being_recorded_and_a_rolled_back_start_is_not_one() {
        let mut c = Contacts::new(&config(&[]));
        let (committed, rolled_back) = (BuildRequestId(1), BuildRequestId(2));
        c.start_deciding(committed);
        c.start_deciding(rolled_back);
        assert_eq!(c.watch_forced(committed, "ann"), Forced::Deciding);
        assert_eq!(c.watch_forced(rolled_back, "bob"), Forced::Deciding);
        assert!(c.finished_targets(committed, Success, None).is_empty(), "a deciding force watches nothing yet");
        c.start_committed(committed, 4);
        c.start_abandoned(rolled_back);
        assert_eq!(c.watch_forced(committed, "ann"), Forced::Started(4));
        assert_eq!(c.watch_forced(rolled_back, "bob"), Forced::Watching);
        assert_eq!(c.started_targets(rolled_back), vec!["bob"], "the start to come is told");
        assert!(c.deciding.is_empty());
    }

    #[test]
    fn what_people_changed_is_saved_and_restored() {
        let mut c = Contacts::new(&config(&["finished"]));
        c.notify_on("alice", &["failure".into()]);
        c.set_muted("#dev", true);
        c.join("#extra");
        c.leave("#ci");
        c.watch(BuildRequestId(9), "bob", true);
        let saved = c.save();
        let mut back = Contacts::new(&config(&["finished"]));
        back.restore(&saved).unwrap();
        assert_eq!(back.events("alice"), set(&["failure"]));
        assert!(back.muted("#DEV") && !back.muted("alice"));
        assert_eq!(back.channels(), vec!["#dev", "#extra"]);
        assert_eq!(back.started_targets(BuildRequestId(9)), vec!["bob"]);
        assert_eq!(back.save(), saved);
        assert!(back.restore("not json").is_err());
        assert_eq!(Contacts::new(&config(&[])).save(), "{}");
    }
}
