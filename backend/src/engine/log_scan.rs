//! Reading a whole log for what the log viewer cannot get from a window of lines: the lines
//! matching a search, and the markers of collapsible sections. Each call reads a bounded
//! amount (`SCAN_BYTES` of decompressed text) and says where to resume, so no request walks
//! a 1 GB log at once and the client pages through it. Lines are matched as the viewer shows
//! them: escape sequences removed, and only what follows a carriage return.

use std::borrow::Cow;

use super::logs::decompress;
use crate::db::{self, Db, DbError, DbResult};
use crate::model::LogId;

/// Decompressed bytes one call reads at most (it always finishes the chunk it is in).
pub const SCAN_BYTES: usize = 16 * 1024 * 1024;
/// Chunks fetched per query.
const BATCH: i64 = 16;

/// What one call found, and where the next call starts.
#[derive(Debug, PartialEq)]
pub struct Scan<T> {
    /// What was found, in line order.
    pub found: Vec<T>,
    /// The first line not read.
    pub next: i64,
    /// Whether the read reached the last stored line (a running log may grow past it).
    pub at_end: bool,
}

/// `text` without terminal escape sequences (colours, cursor moves, titles, links) or other
/// C0 control characters than tab and carriage return, nor DEL; the SPA's ANSI parser drops
/// the same (and keeps C1 controls, which terminals rarely honour in UTF-8 text).
pub fn strip_escapes(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            if (c >= ' ' || c == '\t' || c == '\r') && c != '\x7f' {
                out.push(c);
            }
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC, DCS, SOS, PM, APC: a string up to BEL or ESC \.
            Some(']' | 'P' | 'X' | '^' | '_') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            // Other escapes: intermediates, then one final character.
            Some(' '..='/') => while chars.next().is_some_and(|c| (' '..='/').contains(&c)) {},
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// The text a line shows: escape sequences removed, and of a line rewritten with carriage
/// returns (a progress bar) only its last state.
pub fn display_text(text: &str) -> Cow<'_, str> {
    let stripped = strip_escapes(text);
    match stripped.rfind('\r') {
        None => stripped,
        Some(i) => Cow::Owned(stripped[i + 1..].to_owned()),
    }
}

/// Whether `hay` contains `needle_lower` (already lowercase), ignoring case.
pub fn contains_ignoring_case(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_ascii() {
        let n = needle_lower.as_bytes();
        n.is_empty() || hay.as_bytes().windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle_lower)
    }
}

/// The folding syntax a marker belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// GitHub Actions: `::group::NAME` … `::endgroup::`.
    Github,
    /// GitLab: `section_start:TIME:NAME[collapsed=true]\r\e[0KHEADER` … `section_end:TIME:NAME`.
    Gitlab,
    /// Buildkite: `--- NAME`, `+++ NAME`, `~~~ NAME`, each section ending at the next.
    Buildkite,
}

/// A line that opens or closes a collapsible section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Its line number.
    pub line: i64,
    /// Whether it opens a section (else it closes one).
    pub start: bool,
    /// Its syntax.
    pub syntax: Syntax,
    /// The section's name (GitLab pairs ends to starts by it).
    pub name: String,
    /// The heading to show for a start.
    pub title: String,
    /// Whether the section starts folded.
    pub collapsed: bool,
}

fn start(syntax: Syntax, name: &str, title: &str, collapsed: bool) -> Marker {
    let title = if title.trim().is_empty() { name } else { title };
    Marker { line: 0, start: true, syntax, name: name.trim().to_owned(), title: title.trim().to_owned(), collapsed }
}

fn end(syntax: Syntax, name: &str) -> Marker {
    Marker { line: 0, start: false, syntax, name: name.to_owned(), title: String::new(), collapsed: false }
}

/// The section marker on a line, if it is one (`line` is left 0 for the caller to set).
pub fn marker(text: &str) -> Option<Marker> {
    // Cheap test first: most lines start with none of the markers' first characters.
    let first = *text.as_bytes().first()?;
    if !matches!(first, b':' | b'#' | b's' | b'-' | b'+' | b'~' | 0x1b) {
        return None;
    }
    let text = strip_escapes(text);
    let text = text.as_ref();
    if let Some(name) = text.strip_prefix("::group::").or_else(|| text.strip_prefix("##[group]")) {
        return Some(start(Syntax::Github, name, name, true));
    }
    if text.starts_with("::endgroup::") || text.starts_with("##[endgroup]") {
        return Some(end(Syntax::Github, ""));
    }
    if let Some(rest) = text.strip_prefix("section_start:") {
        let (_time, rest) = rest.split_once(':')?;
        let (head, title) = rest.split_once('\r').unwrap_or((rest, ""));
        let (name, options) = match head.split_once('[') {
            Some((name, options)) => (name, options.trim_end_matches(']')),
            None => (head, ""),
        };
        let collapsed = options.split(',').any(|o| o.trim() == "collapsed=true");
        return Some(start(Syntax::Gitlab, name, title, collapsed));
    }
    if let Some(rest) = text.strip_prefix("section_end:") {
        let (_time, rest) = rest.split_once(':')?;
        let name = rest.split('\r').next().unwrap_or(rest);
        return Some(end(Syntax::Gitlab, name.trim()));
    }
    for (prefix, collapsed) in [("--- ", true), ("+++ ", false), ("~~~ ", true)] {
        if let Some(name) = text.strip_prefix(prefix) {
            return Some(start(Syntax::Buildkite, name, name, collapsed));
        }
    }
    None
}

/// Reads from line `from` on, calling `visit` with each line's number and stored text until
/// it returns `false` (then the scan resumes after that line) or `SCAN_BYTES` are read.
async fn scan<T, F>(db: &Db, log: LogId, from: i64, mut visit: F) -> DbResult<Scan<T>>
where
    F: FnMut(i64, &str, &mut Vec<T>) -> bool + Send + 'static,
    T: Send + 'static,
{
    let mut found = Vec::new();
    let mut next = from.max(0);
    let mut read = 0usize;
    loop {
        let chunks = {
            let mut conn = db.acquire().await?;
            db::logs::chunks_from(conn.conn(), log, next, BATCH).await?
        };
        if chunks.is_empty() {
            return Ok(Scan { found, next, at_end: true });
        }
        let batch_full = chunks.len() as i64 == BATCH;
        let start = next;
        // Decompressing and matching are CPU work: off the async threads.
        let stopped;
        (visit, found, next, read, stopped) = tokio::task::spawn_blocking(move || -> DbResult<_> {
            let mut next = start;
            for chunk in chunks {
                let raw = decompress(&chunk.content)?;
                read += raw.len();
                let lines = raw.split(|b| *b == b'\n').filter(|l| !l.is_empty());
                for (number, line) in (chunk.first_line..).zip(lines) {
                    if number < next {
                        continue;
                    }
                    if !visit(number, &String::from_utf8_lossy(&line[1..]), &mut found) {
                        return Ok((visit, found, number + 1, read, true));
                    }
                }
                next = chunk.last_line + 1;
                if read >= SCAN_BYTES {
                    return Ok((visit, found, next, read, true));
                }
            }
            Ok((visit, found, next, read, false))
        })
        .await
        .map_err(|e| DbError::Unavailable(format!("log scan task failed: {e}")))??;
        if stopped {
            return Ok(Scan { found, next, at_end: false });
        }
        if !batch_full {
            return Ok(Scan { found, next, at_end: true });
        }
    }
}

/// Numbers of the lines from `from` on whose shown text contains `query`, ignoring case; at
/// most `limit` of them.
pub async fn search(db: &Db, log: LogId, query: &str, from: i64, limit: usize) -> DbResult<Scan<i64>> {
    let needle = query.to_lowercase();
    let visit = move |number: i64, text: &str, found: &mut Vec<i64>| {
        if contains_ignoring_case(&display_text(text), &needle) {
            found.push(number);
        }
        found.len() < limit
    };
    scan(db, log, from, visit).await
}

/// The section markers from line `from` on; at most `limit` of them.
pub async fn markers(db: &Db, log: LogId, from: i64, limit: usize) -> DbResult<Scan<Marker>> {
    let visit = move |number: i64, text: &str, found: &mut Vec<Marker>| {
        if let Some(m) = marker(text) {
            found.push(Marker { line: number, ..m });
        }
        found.len() < limit
    };
    scan(db, log, from, visit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_text_drops_escapes_and_what_a_carriage_return_overwrote() {
        assert_eq!(display_text("plain"), "plain");
        assert_eq!(display_text("\x1b[1;31mred\x1b[0m and \x1b]8;;http://x\x07link\x1b]8;;\x07"), "red and link");
        assert_eq!(display_text("10%\r50%\r\x1b[K100% done"), "100% done");
    }

    #[test]
    fn escapes_of_every_kind_are_stripped() {
        assert_eq!(
            strip_escapes("\x1b[38;2;255;0;0mtrue\x1b[m \x1b[?25lcursor\x1b(Bcharset\x1bPdcs\x1b\\ end\x08"),
            "true cursorcharset end"
        );
        assert_eq!(strip_escapes("tab\tand\rcr"), "tab\tand\rcr");
        assert!(matches!(strip_escapes("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn c1_controls_are_kept_whether_or_not_the_line_has_other_escapes() {
        // A line with an escape sequence used to lose its C1 controls (U+0080 to U+009F) and
        // a line without one kept them, so search and section markers read such lines
        // otherwise than the SPA shows them.
        assert_eq!(strip_escapes("a\u{85}b"), "a\u{85}b");
        assert_eq!(strip_escapes("\x1b[1ma\u{85}b\x01"), "a\u{85}b");
    }

    #[test]
    fn search_ignores_case_in_ascii_and_beyond() {
        assert!(contains_ignoring_case("Build FAILED here", "failed"));
        assert!(!contains_ignoring_case("Build passed", "failed"));
        assert!(contains_ignoring_case("ÉCHEC du test", &"échec".to_lowercase()));
        assert!(contains_ignoring_case("anything", ""));
    }

    #[test]
    fn github_groups_start_folded_and_end_with_endgroup() {
        let m = marker("::group::Install deps").unwrap();
        assert_eq!((m.start, m.syntax, m.title.as_str(), m.collapsed), (true, Syntax::Github, "Install deps", true));
        assert_eq!(marker("##[group]Run tests").unwrap().name, "Run tests");
        let e = marker("::endgroup::").unwrap();
        assert_eq!((e.start, e.syntax), (false, Syntax::Github));
    }

    #[test]
    fn gitlab_sections_carry_name_options_and_header() {
        let m =
            marker("\x1b[0Ksection_start:1560896352:build_app[collapsed=true]\r\x1b[0KBuilding the \x1b[1mapp\x1b[0m")
                .unwrap();
        assert_eq!(
            (m.syntax, m.name.as_str(), m.title.as_str(), m.collapsed),
            (Syntax::Gitlab, "build_app", "Building the app", true)
        );
        let open = marker("section_start:1:deps\r\x1b[0K").unwrap();
        assert_eq!((open.title.as_str(), open.collapsed), ("deps", false));
        let e = marker("section_end:1560896353:build_app\r\x1b[0K").unwrap();
        assert_eq!((e.start, e.name.as_str()), (false, "build_app"));
        assert!(marker("section_start:broken").is_none());
    }

    #[test]
    fn buildkite_headers_fold_by_their_prefix() {
        let fold = |t: &str| marker(t).map(|m| (m.syntax, m.title, m.collapsed));
        assert_eq!(fold("--- Compile"), Some((Syntax::Buildkite, "Compile".to_owned(), true)));
        assert_eq!(fold("+++ Tests"), Some((Syntax::Buildkite, "Tests".to_owned(), false)));
        assert_eq!(fold("~~~ Setup"), Some((Syntax::Buildkite, "Setup".to_owned(), true)));
        assert_eq!(fold("---"), None);
        assert_eq!(fold("some output"), None);
        assert_eq!(fold(""), None);
    }
}
