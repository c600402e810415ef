//! Errors from loading a configuration: the file could not be read, or its contents are invalid.
//! An invalid file carries every problem found, each located by file, line and dotted key, so
//! `cascade checkconfig` can list them all in one run. Where problems are found lives elsewhere.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded, or a secret could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file (the configuration itself or a secret file) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A secret names an environment variable that is unset or not valid Unicode.
    #[error("secret environment variable `{name}`: {source}")]
    Env {
        /// The variable's name.
        name: String,
        /// Why it could not be read.
        source: std::env::VarError,
    },
    /// The file was read but is not a valid configuration; one issue per problem found.
    #[error("{}", Issues(.0))]
    Invalid(Vec<ConfigIssue>),
}

impl ConfigError {
    /// The issues of an [`ConfigError::Invalid`] error, or an empty slice for other kinds.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Invalid(issues) => issues,
            _ => &[],
        }
    }
}

/// One problem in a configuration file, located as precisely as the parser allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line of the offending key or value, when known.
    pub line: Option<usize>,
    /// Dotted key path such as `builders[1].steps[0].timeout`; empty for the whole file.
    pub key: String,
    /// What is wrong, in words meant for the person editing the file.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Displays a list of issues one per line, for [`ConfigError::Invalid`].
struct Issues<'a>(&'a [ConfigIssue]);

impl fmt::Display for Issues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn issue(line: Option<usize>, key: &str, message: &str) -> ConfigIssue {
        ConfigIssue { file: PathBuf::from("cascade.toml"), line, key: key.into(), message: message.into() }
    }

    #[test]
    fn issue_displays_file_line_key_message() {
        let i = issue(Some(7), "web.foo", "unknown key `foo`");
        assert_eq!(i.to_string(), "cascade.toml:7: web.foo: unknown key `foo`");
        let i = issue(None, "", "empty");
        assert_eq!(i.to_string(), "cascade.toml: empty");
    }

    #[test]
    fn invalid_lists_each_issue_on_its_own_line() {
        let e = ConfigError::Invalid(vec![issue(Some(1), "a", "x"), issue(Some(2), "b", "y")]);
        assert_eq!(e.to_string(), "cascade.toml:1: a: x\ncascade.toml:2: b: y");
        assert_eq!(e.issues().len(), 2);
    }
}
