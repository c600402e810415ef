//! The bot's words: build notifications as Buildbot's IRC bot writes them, with mIRC
//! colours, durations, build links, and lines made safe and short enough for IRC. Pure.

use crate::model::Results;

/// mIRC colour codes (0.8.9's `irc_colors` indices).
const GREEN: u8 = 3;
const RED: u8 = 4;
const PURPLE: u8 = 6;
const YELLOW: u8 = 8;
const AQUA_LIGHT: u8 = 11;
const PINK: u8 = 13;
const GREY: u8 = 14;

/// How a result is named in messages, and its colour.
pub fn results_title(results: Results) -> (&'static str, u8) {
    match results {
        Results::Success => ("Success", GREEN),
        Results::Warnings => ("Warnings", YELLOW),
        Results::Failure => ("Failure", RED),
        Results::Skipped => ("Skipped", GREY),
        Results::Exception => ("Exception", PURPLE),
        Results::Retry => ("Retry", AQUA_LIGHT),
        Results::Cancelled => ("Cancelled", PINK),
    }
}

/// `text` in mIRC colour `code` when `on`: `^C` + two digits, ended by `^O`.
pub fn colourize(text: &str, code: u8, on: bool) -> String {
    if on { format!("\u{3}{code:02}{text}\u{f}") } else { text.to_owned() }
}

/// What the notifications of one build say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildSummary {
    /// The builder.
    pub builder: String,
    /// The build's number.
    pub number: i64,
    /// The revisions of its changes, oldest first; its source stamp's revision when it has
    /// no changes.
    pub revisions: Vec<String>,
    /// How many changes it builds.
    pub changes: usize,
    /// The authors of its changes (its blamelist), without repeats.
    pub authors: Vec<String>,
    /// Its results, once finished.
    pub results: Option<Results>,
    /// Its state text ("build successful", "failed compile").
    pub state_text: String,
    /// Its page.
    pub url: String,
}

/// The options that change how notifications read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// mIRC colours.
    pub colors: bool,
    /// Name builds by their revisions instead of their numbers.
    pub revisions: bool,
    /// Add the blamelist to builds that did not succeed.
    pub blame: bool,
}

/// Revisions shortened to 7 characters, as `use_revisions` shows them.
fn short_revisions(revisions: &[String]) -> String {
    revisions.iter().map(|r| r.chars().take(7).collect::<String>()).collect::<Vec<_>>().join(", ")
}

/// Whether the build is named by its revisions.
fn by_revisions(b: &BuildSummary, style: Style) -> bool {
    style.revisions && !b.revisions.is_empty()
}

/// "build containing revision(s) [...] on B" or "build #N of B".
fn build_name(b: &BuildSummary, style: Style) -> String {
    if by_revisions(b, style) {
        format!("build containing revision(s) [{}] on {}", short_revisions(&b.revisions), b.builder)
    } else {
        format!("build #{} of {}", b.number, b.builder)
    }
}

/// "build #N of B started (including [r1, r2] and K more)".
pub fn started(b: &BuildSummary, style: Style) -> String {
    let mut text = format!("{} started", build_name(b, style));
    if !by_revisions(b, style) && b.changes > 0 && !b.revisions.is_empty() {
        let shown: Vec<&str> = b.revisions.iter().take(2).map(String::as_str).collect();
        text.push_str(&format!(" (including [{}]", shown.join(", ")));
        if b.changes > 2 {
            text.push_str(&format!(" and {} more", b.changes - 2));
        }
        text.push(')');
    }
    text
}

/// "build #N of B is complete: Success [text]  Build details are at URL  blamelist: a, b".
pub fn finished(b: &BuildSummary, style: Style) -> String {
    let results = b.results.unwrap_or(Results::Exception);
    let (title, colour) = results_title(results);
    let mut text = format!(
        "{} is complete: {} [{}]  Build details are at {}",
        build_name(b, style),
        colourize(title, colour, style.colors),
        b.state_text,
        b.url
    );
    if style.blame && results != Results::Success && !b.authors.is_empty() {
        text.push_str(&format!("  blamelist: {}", b.authors.join(", ")));
    }
    text
}

/// A build's page in the web UI (one function for mails and IRC alike).
pub use crate::engine::links::build_url;

/// 0.8.9's `convertTime`: "42 seconds", "3m05s", "2h03m05s".
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} seconds"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60),
    }
}

/// A running build in `status`: "#12 (compile) [ETA 3m05s]", "#12 (no current step)".
pub fn running(number: i64, step: Option<&str>, eta: Option<i64>) -> String {
    let mut text = match step {
        Some(step) => format!("#{number} ({step})"),
        None => format!("#{number} (no current step)"),
    };
    if let Some(eta) = eta {
        text.push_str(&format!(" [ETA {}]", duration(eta)));
    }
    text
}

/// The longest text sent in one message, in bytes: the server adds the bot's prefix and
/// the target to what it relays, within IRC's 512 bytes a line.
pub const MAX_TEXT: usize = 400;

/// `text` as IRC lines: line breaks and NULs (which would end the command or smuggle in
/// another) become spaces, and what is longer than `max` bytes is cut at a space where it
/// can be, else at a character boundary.
pub fn lines(text: &str, max: usize) -> Vec<String> {
    let clean: String = text.chars().map(|c| if matches!(c, '\r' | '\n' | '\0') { ' ' } else { c }).collect();
    let mut out = Vec::new();
    let mut rest = clean.as_str();
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = rest[..cut].rfind(' ').filter(|&i| i > 0) {
            cut = space;
        }
        out.push(rest[..cut].to_owned());
        rest = rest[cut..].trim_start_matches(' ');
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> BuildSummary {
        BuildSummary {
            builder: "app".into(),
            number: 7,
            revisions: vec!["1234567890abcdef".into(), "feedbeef".into(), "cafe".into()],
            changes: 3,
            authors: vec!["alice".into(), "bob".into()],
            results: Some(Results::Failure),
            state_text: "failed test".into(),
            url: "http://ci/builders/app/builds/7".into(),
        }
    }

    #[test]
    fn started_lists_two_revisions_and_counts_the_rest() {
        let plain = Style::default();
        assert_eq!(
            started(&summary(), plain),
            "build #7 of app started (including [1234567890abcdef, feedbeef] and 1 more)"
        );
        let two = BuildSummary { revisions: vec!["a".into(), "b".into()], changes: 2, ..summary() };
        assert_eq!(started(&two, plain), "build #7 of app started (including [a, b])");
        let none = BuildSummary { revisions: vec![], changes: 0, ..summary() };
        assert_eq!(started(&none, plain), "build #7 of app started");
        let revs = Style { revisions: true, ..plain };
        assert_eq!(started(&summary(), revs), "build containing revision(s) [1234567, feedbee, cafe] on app started");
        assert_eq!(started(&none, revs), "build #7 of app started");
    }

    #[test]
    fn finished_names_the_result_links_the_build_and_blames_unless_success() {
        let style = Style { colors: false, revisions: false, blame: true };
        assert_eq!(
            finished(&summary(), style),
            "build #7 of app is complete: Failure [failed test]  Build details are at \
             http://ci/builders/app/builds/7  blamelist: alice, bob"
        );
        let ok = BuildSummary { results: Some(Results::Success), state_text: "build successful".into(), ..summary() };
        assert_eq!(
            finished(&ok, style),
            "build #7 of app is complete: Success [build successful]  Build details are at http://ci/builders/app/builds/7"
        );
        assert!(!finished(&summary(), Style { blame: false, ..style }).contains("blamelist"));
        assert!(
            finished(&summary(), Style { revisions: true, ..style })
                .starts_with("build containing revision(s) [1234567, feedbee, cafe] on app is complete: Failure")
        );
    }

    #[test]
    fn results_are_coloured_as_buildbot_colours_them() {
        let style = Style { colors: true, ..Style::default() };
        let coloured = |r| finished(&BuildSummary { results: Some(r), ..summary() }, style);
        assert!(coloured(Results::Success).contains("complete: \u{3}03Success\u{f} ["));
        assert!(coloured(Results::Warnings).contains("\u{3}08Warnings\u{f}"));
        assert!(coloured(Results::Failure).contains("\u{3}04Failure\u{f}"));
        assert!(coloured(Results::Exception).contains("\u{3}06Exception\u{f}"));
        assert!(coloured(Results::Retry).contains("\u{3}11Retry\u{f}"));
        assert!(coloured(Results::Cancelled).contains("\u{3}13Cancelled\u{f}"));
    }

    #[test]
    fn urls_durations_and_lines() {
        assert_eq!(build_url("http://ci:8010/", "a b/c", 3), "http://ci:8010/builders/a%20b%2Fc/builds/3");
        assert_eq!(duration(-1), "0 seconds");
        assert_eq!(duration(59), "59 seconds");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(7385), "2h03m05s");
        assert_eq!(lines("one\r\nQUIT :bye", 400), vec!["one  QUIT :bye"]);
        assert_eq!(lines("", 400), vec![""]);
        assert_eq!(lines("aaaa bbbb cccc", 9), vec!["aaaa", "bbbb cccc"]);
        assert_eq!(lines("aaaaaaaaaaaa", 5), vec!["aaaaa", "aaaaa", "aa"]);
        assert_eq!(lines("ééé", 3), vec!["é", "é", "é"]);
    }

    #[test]
    fn running_builds_show_their_step_and_eta() {
        assert_eq!(running(12, Some("compile"), Some(185)), "#12 (compile) [ETA 3m05s]");
        assert_eq!(running(3, None, None), "#3 (no current step)");
    }
}
