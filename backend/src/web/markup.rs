//! Text made safe for the XML and HTML Cascade writes itself (SVG badges, the HTML of feed
//! entries and of mails). User text (builder names, labels, commit authors, log lines) can hold any
//! character; XML 1.0 forbids most control characters even escaped, so those are dropped,
//! and markup characters are escaped.

use std::borrow::Cow;

/// Whether XML 1.0 allows `c` in a document at all.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` without the characters XML 1.0 forbids, for writers that escape markup
/// themselves.
pub fn xml_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| allowed(*c)).collect())
    }
}

/// `text` as the content of an element or a quoted attribute: `& < > " '` escaped and the
/// characters XML forbids dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars().filter(|c| allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => Cow::Owned(text.chars().take(max.saturating_sub(1)).chain(['…']).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_forbidden_characters_dropped() {
        assert_eq!(escape(r#"<x&"y'>"#), "&lt;x&amp;&quot;y&#39;&gt;");
        assert_eq!(escape("a\u{1b}[31mb\u{0}c\u{FFFE}d\te"), "a[31mbcd\te");
        assert_eq!(xml_chars("ok"), "ok");
        assert_eq!(xml_chars("bell\u{7}"), "bell");
        assert_eq!(xml_chars("<kept>"), "<kept>", "the writer escapes markup");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("exactly10!", 10), "exactly10!");
        assert_eq!(shorten("much longer text", 10), "much long…");
        assert_eq!(shorten("ééééé", 3), "éé…");
    }
}
