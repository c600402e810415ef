//! The parsed but untyped configuration document, kept with its byte spans so that every
//! problem can be reported with a line and a dotted key. It deserializes one *unit* (a section
//! or one array element) at a time, so a mistake in one place does not hide mistakes elsewhere,
//! and within a unit it drops each offending key and retries to find the next problem.
//! What the keys mean belongs in `raw.rs` and `validate.rs`, not here.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ConfigIssue};

/// A TOML value with its byte span in the file.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// One step of a [`KeyPath`]: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted key path such as `builders[1].steps[0].timeout`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Seg>);

impl KeyPath {
    /// The path of the key `key` inside this table.
    pub(crate) fn key(&self, key: &str) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        KeyPath(segs)
    }

    /// The path of element `index` of this array.
    pub(crate) fn index(&self, index: usize) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare { f.write_str(k)? } else { write!(f, "{k:?}")? }
                }
            }
        }
        Ok(())
    }
}

/// The document being checked, plus every issue found so far.
pub(crate) struct Doc<'i> {
    text: &'i str,
    file: PathBuf,
    root: Value<'i>,
    issues: Vec<ConfigIssue>,
}

impl<'i> Doc<'i> {
    /// Parses the TOML syntax; a syntax error is returned at once as a single issue.
    pub(crate) fn parse(text: &'i str, file: PathBuf) -> Result<Self, ConfigError> {
        match DeTable::parse(text) {
            Ok(table) => {
                let span = table.span();
                let root = Spanned::new(span, DeValue::Table(table.into_inner()));
                Ok(Doc { text, file, root, issues: Vec::new() })
            }
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start));
                let message = format!("TOML syntax error: {}", e.message().trim_end());
                Err(ConfigError::Invalid(vec![ConfigIssue { file, line, key: String::new(), message }]))
            }
        }
    }

    /// The value at `path`, if present.
    pub(crate) fn get(&self, path: &KeyPath) -> Option<&Value<'i>> {
        let mut value = &self.root;
        for seg in &path.0 {
            value = match (seg, value.get_ref()) {
                (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// The number of elements of the array at `path` (0 if absent); reports a non-array.
    pub(crate) fn array_len(&mut self, path: &KeyPath) -> usize {
        match self.get(path).map(|v| v.get_ref()) {
            None => 0,
            Some(DeValue::Array(a)) => a.len(),
            Some(other) => {
                let found = other.type_str();
                self.issue(path, format!("expected an array of tables, found {found}"));
                0
            }
        }
    }

    /// The keys of the table at `path`, sorted (empty if absent or not a table).
    pub(crate) fn table_keys(&self, path: &KeyPath) -> Vec<String> {
        match self.get(path).map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => t.keys().map(|k| k.get_ref().to_string()).collect(),
            _ => Vec::new(),
        }
    }

    /// Records a problem at `path`, located at the deepest part of the path that exists.
    pub(crate) fn issue(&mut self, path: &KeyPath, message: impl Into<String>) {
        let line = self.line_at(path);
        self.push(path.to_string(), line, message.into());
    }

    /// The 1-based line of the value at `path`, or of its deepest existing ancestor.
    fn line_at(&self, path: &KeyPath) -> Option<usize> {
        (0..=path.0.len()).rev().find_map(|n| {
            let value = self.get(&KeyPath(path.0[..n].to_vec()))?;
            let span = value.span();
            (span != (0..0) || n > 0).then(|| line_of(self.text, span.start))
        })
    }

    fn push(&mut self, key: String, line: Option<usize>, message: String) {
        let file = self.file.clone();
        self.issues.push(ConfigIssue { file, line, key, message });
    }

    /// Deserializes the value at `path` (an empty table if absent) as `T`, recording every
    /// problem. Returns `T` if it could be built once the offending keys were dropped.
    pub(crate) fn unit<T: DeserializeOwned>(&mut self, path: &KeyPath) -> Option<T> {
        let present = self.get(path).cloned();
        let synthetic = present.is_none();
        let mut value = present.unwrap_or_else(|| Spanned::new(0..0, DeValue::Table(DeTable::new())));
        let mut dropped: Vec<String> = Vec::new();
        loop {
            let err = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(t) => return Some(t),
                Err(err) => err,
            };
            let (at, line) = match err.span() {
                Some(span) if !synthetic => (self.find(span.start), Some(line_of(self.text, span.start))),
                _ => (path.clone(), None),
            };
            let at = if at.0.starts_with(&path.0) { at } else { path.clone() };
            let (at, message) = humanize(err.message(), at);
            // The key directly under the unit that holds the problem; drop it and retry.
            let child = match at.0.get(path.0.len()) {
                Some(Seg::Key(k)) => Some(k.clone()),
                _ => None,
            };
            let missing_dropped =
                child.as_ref().is_some_and(|k| dropped.contains(k)) && message.starts_with("missing required key");
            if !missing_dropped {
                self.push(at.to_string(), line, message);
            }
            let DeValue::Table(table) = value.get_mut() else {
                return None;
            };
            let child = child?;
            table.remove(child.as_str())?;
            dropped.push(child);
        }
    }

    /// The deepest key path whose key or value span contains byte `pos`.
    fn find(&self, pos: usize) -> KeyPath {
        find_in(&self.root, pos, KeyPath::default()).unwrap_or_default()
    }

    /// All issues found, ordered by line.
    pub(crate) fn into_issues(mut self) -> Vec<ConfigIssue> {
        self.issues.sort_by_key(|i| i.line.unwrap_or(0));
        self.issues
    }
}

fn covers(span: &Range<usize>, pos: usize) -> bool {
    span.start <= pos && pos < span.end.max(span.start + 1)
}

fn find_in(value: &Value<'_>, pos: usize, here: KeyPath) -> Option<KeyPath> {
    match value.get_ref() {
        DeValue::Table(t) => {
            for (k, v) in t.iter() {
                let path = here.key(k.get_ref());
                if covers(&k.span(), pos) {
                    return Some(path);
                }
                if let Some(found) = find_in(v, pos, path) {
                    return Some(found);
                }
            }
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if let Some(found) = find_in(v, pos, here.index(i)) {
                    return Some(found);
                }
            }
        }
        _ => {}
    }
    covers(&value.span(), pos).then_some(here)
}

/// The 1-based line containing byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// Rewrites serde's wording into the file's vocabulary; a missing key moves the path down.
fn humanize(message: &str, at: KeyPath) -> (KeyPath, String) {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("missing field") {
        let name = ticked.first().copied().unwrap_or_default();
        return (at.key(name), format!("missing required key `{name}`"));
    }
    if message.starts_with("unknown field") {
        let name = ticked.first().copied().unwrap_or_default();
        let allowed = ticked.get(1..).unwrap_or_default().join(", ");
        let hint = if allowed.is_empty() { String::new() } else { format!(" (allowed: {allowed})") };
        // A custom deserializer reports the span of the whole table rather than of the key.
        let at = if at.0.last() == Some(&Seg::Key(name.to_owned())) { at } else { at.key(name) };
        return (at, format!("unknown key `{name}`{hint}"));
    }
    let mut text = message.to_owned();
    for (from, to) in [
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
    ] {
        text = text.replace(from, to);
    }
    if let Some(i) = text.find("expected struct ") {
        text.replace_range(i.., "expected a table");
    }
    (at, text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn key_path_quotes_keys_that_are_not_bare() {
        let p = KeyPath::default().key("builders").index(1).key("steps").index(0).key("timeout");
        assert_eq!(p.to_string(), "builders[1].steps[0].timeout");
        let p = KeyPath::default().key("web").key("repositories").key("https://x/y");
        assert_eq!(p.to_string(), r#"web.repositories."https://x/y""#);
    }

    #[test]
    fn line_of_counts_newlines_before_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn syntax_error_reports_its_line() {
        let Err(e) = Doc::parse("a = 1\nb = [1,\n", PathBuf::from("c.toml")) else {
            panic!("expected a syntax error");
        };
        let issues = e.issues();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].line, Some(2), "{issues:?}");
        assert!(issues[0].message.contains("TOML syntax error"));
    }
}
