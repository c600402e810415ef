//! The configuration: `cascade.toml` read, checked and turned into an immutable [`Config`].
//! Problems are collected rather than returned one by one, so `cascade checkconfig` names the
//! file, line and dotted key of every mistake in a single run. Loading is the only I/O here;
//! secrets are resolved later, when used.

use std::path::{Path, PathBuf};

mod change_hooks;
mod doc;
mod error;
mod listen;
mod raw;
mod reporters;
mod secret;
#[cfg(test)]
mod tests;
mod types;
mod validate;

pub use change_hooks::{
    BaseDialect, BitbucketDialect, ChangeHookConfig, GerritDialect, GithubDialect, GitlabDialect, GitoriousDialect,
    GooglecodeDialect, HookAuth, HookDialects, HookUser, PollerDialect,
};
pub use error::{ConfigError, ConfigIssue};
pub use listen::{Listen, TlsError, TlsFiles, TlsPem};
pub use reporters::{
    AddLogs, BodyType, ForgeStatusConfig, GerritConfig, HttpAuth, HttpPushConfig, IrcChannel, IrcConfig, MailConfig,
    MailMode, ReporterConfig, ReporterKind, SmtpSecurity, is_irc_channel, is_irc_event,
};
pub use secret::Secret;
pub use types::{
    AccessLog, AuthConfig, AuthzConfig, AuthzRule, BuilderConfig, ChangeFilter, ChangeSourceConfig, ChangeSourceKind,
    Command, CommentLink, Config, ConfigUser, DbConfig, GitMode, GitPollerConfig, GitStep, PollBranches, Revlink,
    SchedulerConfig, SchedulerKind, StepConfig, StepKind, WebConfig, WorkerConfig,
};
pub use validate::percent_to_jinja;

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_owned(), source })?;
    parse(&text, path)
}

/// Parses and validates `text` as if read from `path`, which locates relative paths and is
/// named in every issue.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    // Issues name the file as the user gave it; the config keeps it absolute.
    let shown = path.to_owned();
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let dir = path.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let mut doc = doc::Doc::parse(text, shown.clone())?;
    let config = validate::validate(&mut doc, path, dir);
    let issues = doc.into_issues();
    match config {
        Some(config) if issues.is_empty() => Ok(config),
        _ if !issues.is_empty() => Err(ConfigError::Invalid(issues)),
        _ => Err(ConfigError::Invalid(vec![ConfigIssue {
            file: shown,
            line: None,
            key: String::new(),
            message: "invalid configuration".into(),
        }])),
    }
}
