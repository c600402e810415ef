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
/// "Now", in the tests that do not look at time.
const T: i64 = 1_700_000_000;

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
    c.notify_on("Alice", &[], T);
    assert_eq!(c.events("alice"), set(&["started", "finished"]));
    c.notify_off("alice", &["started".into()], T);
    assert_eq!(c.events("ALICE"), set(&["finished"]));
    c.notify_on("#ci", &["successToFailure".into()], T);
    assert_eq!(c.events("#ci"), set(&["failure", "successToFailure"]));
    c.notify_off("boss", &[], T);
    assert_eq!(c.events("boss"), set(&[]));
    assert_eq!(c.finished_targets(R, Failure, Some(Success)), vec!["#ci", "#dev", "alice"]);
    assert_eq!(c.finished_targets(R, Success, Some(Success)), vec!["alice"]);
    assert_eq!(c.started_targets(R), Vec::<String>::new());
}

#[test]
fn joins_leaves_and_watches_decide_who_hears() {
    let mut c = Contacts::new(&config(&["finished"]));
    assert!(c.leave("#CI") && !c.leave("#ci"));
    assert!(c.join("#extra", T) && !c.join("#Extra", T));
    assert_eq!(c.channels(), vec!["#dev", "#extra"]);
    c.notify_on("#gone", &[], T);
    assert_eq!(c.finished_targets(R, Success, None), vec!["#dev", "#extra", "boss"], "left channels hear nothing");
    let mut quiet = Contacts::new(&config(&[]));
    quiet.watch(BuildRequestId(5), "Watcher", false, T);
    quiet.watch(BuildRequestId(5), "#ci", true, T);
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
    assert_eq!(c.watch_forced(BuildRequestId(7), "ann", T), Forced::Started(3));
    assert_eq!(c.watch_forced(BuildRequestId(8), "bob", T), Forced::Watching);
    assert_eq!(c.watch_forced(BuildRequestId(1000), "cy", T), Forced::Watching, "the oldest starts are forgotten");
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
    assert_eq!(c.watch_forced(committed, "ann", T), Forced::Deciding);
    assert_eq!(c.watch_forced(rolled_back, "bob", T), Forced::Deciding);
    assert!(c.finished_targets(committed, Success, None).is_empty(), "a deciding force watches nothing yet");
    c.start_committed(committed, 4);
    c.start_abandoned(rolled_back);
    assert_eq!(c.watch_forced(committed, "ann", T), Forced::Started(4));
    assert_eq!(c.watch_forced(rolled_back, "bob", T), Forced::Watching);
    assert_eq!(c.started_targets(rolled_back), vec!["bob"], "the start to come is told");
    assert!(c.deciding.is_empty());
}

#[test]
fn what_people_changed_is_saved_and_restored() {
    let mut c = Contacts::new(&config(&["finished"]));
    c.notify_on("alice", &["failure".into()], T);
    c.set_muted("#dev", true, T);
    c.join("#extra", T);
    c.leave("#ci");
    c.watch(BuildRequestId(9), "bob", true, T);
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
    // Watches saved before they had times are read, as begun long ago.
    let mut old = Contacts::new(&config(&[]));
    old.restore(r#"{"watches":{"9":{"bob":true,"ann":false}}}"#).unwrap();
    assert_eq!(old.started_targets(BuildRequestId(9)), vec!["bob"]);
    assert_eq!(old.finished_targets(BuildRequestId(9), Success, None), vec!["ann", "bob"]);
    old.tidy(T);
    assert!(old.watched().is_empty());
}

#[test]
fn watches_end_after_a_week_and_the_oldest_go_past_the_limit() {
    let mut c = Contacts::new(&config(&[]));
    c.watch(BuildRequestId(1), "ann", false, T);
    c.watch(BuildRequestId(2), "bob", true, T + 10);
    assert!(c.tidy(T + WATCH_FOR - 1).is_empty());
    assert_eq!(c.watched(), [BuildRequestId(1), BuildRequestId(2)]);
    c.tidy(T + WATCH_FOR);
    assert_eq!(c.watched(), [BuildRequestId(2)]);
    assert!(c.finished_targets(BuildRequestId(1), Success, None).is_empty());
    // Watching again starts the week again.
    c.watch(BuildRequestId(2), "bob", false, T + WATCH_FOR);
    c.tidy(T + WATCH_FOR + 20);
    assert_eq!(c.started_targets(BuildRequestId(2)), vec!["bob"], "a force's start is still watched");

    let mut c = Contacts::new(&config(&[]));
    let n = MAX_WATCHERS as i64 + 5;
    for i in 0..n {
        c.watch(BuildRequestId(i % 7), &format!("nick{i}"), false, T + i);
    }
    c.tidy(T + n);
    let kept: usize = c.saved.watches.values().map(BTreeMap::len).sum();
    assert_eq!(kept, MAX_WATCHERS);
    assert!(c.finished_targets(BuildRequestId(4), Success, None).iter().all(|w| w != "nick4"), "oldest go");
    assert!(c.finished_targets(BuildRequestId(5), Success, None).contains(&"nick5".to_owned()));
}

#[test]
fn the_longest_untouched_contacts_are_forgotten_past_the_limit_but_never_the_configured_ones() {
    let mut c = Contacts::new(&config(&["finished"]));
    c.notify_off("#ci", &[], T - 100);
    c.set_muted("boss", true, T - 100);
    c.join("#old", T - 50);
    c.notify_on("oldnick", &[], T - 40);
    c.notify_on("regular", &[], T - 30);
    for i in 0..MAX_CONTACTS - 3 {
        c.notify_on(&format!("nick{i}"), &["failure".into()], T + i as i64);
    }
    assert!(c.tidy(T + 10_000).is_empty(), "at the limit, nothing goes");
    // A contact that uses the bot is touched, and outlives the others.
    c.touch("Regular", T + 10_000);
    c.touch("stranger", T + 10_000);
    c.join("#new", T + 10_001);
    c.notify_on("newnick", &[], T + 10_001);
    assert_eq!(c.tidy(T + 10_002), vec!["#old"], "a joined channel forgotten is to be left");
    assert!(!c.channels().contains(&"#old".to_owned()) && c.channels().contains(&"#new".to_owned()));
    assert!(c.events("oldnick").is_empty() && !c.events("regular").is_empty());
    assert!(c.events("#ci").is_empty() && c.muted("boss"), "configured contacts keep their settings");
    assert!(!c.saved.contacts.contains_key("stranger"), "touching makes no contact");
    assert_eq!(c.saved.contacts.len(), MAX_CONTACTS + 2);

    // Settings that say nothing are not kept.
    let mut c = Contacts::new(&config(&[]));
    c.set_muted("ann", true, T);
    c.set_muted("ann", false, T);
    c.join("#x", T);
    c.leave("#x");
    c.tidy(T);
    assert_eq!(c.save(), "{}");
}
