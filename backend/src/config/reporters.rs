//! `[[reporters]]`: the status targets, validated. Each entry has a unique `name` (default:
//! its kind), an optional `builders` or `tags` filter, and the options of its kind.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::secret::Secret;

/// One status target.
#[derive(Clone, Debug, PartialEq)]
pub struct ReporterConfig {
    /// Unique name; the outbox and the logs use it.
    pub name: String,
    /// Only builds of these builders (empty: every builder).
    pub builders: Vec<String>,
    /// Only builds of builders with one of these tags (empty: every builder).
    pub tags: Vec<String>,
    /// The longest wait, in seconds, between two attempts to deliver a message (the wait
    /// starts at 5 s and doubles; default 3600).
    pub max_retry_delay: u64,
    /// What it does.
    pub kind: ReporterKind,
}

impl ReporterConfig {
    /// Whether builds of `builder` (with `tags`) concern this reporter.
    pub fn wants(&self, builder: &str, tags: &[String]) -> bool {
        (self.builders.is_empty() || self.builders.iter().any(|b| b == builder))
            && (self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(t)))
    }

    /// The kind's name, as written in the file.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ReporterKind::Mail(_) => "mail",
            ReporterKind::Irc(_) => "irc",
            ReporterKind::HttpPush(_) => "http_push",
            ReporterKind::GithubStatus(_) => "github_status",
            ReporterKind::GitlabStatus(_) => "gitlab_status",
            ReporterKind::Gerrit(_) => "gerrit",
        }
    }
}

/// The reporter kinds (`kind = "…"`).
#[derive(Clone, Debug, PartialEq)]
pub enum ReporterKind {
    /// `mail`: Buildbot's MailNotifier.
    Mail(Box<MailConfig>),
    /// `irc`: Buildbot's IRC bot.
    Irc(Box<IrcConfig>),
    /// `http_push`: Buildbot's HttpStatusPush.
    HttpPush(Box<HttpPushConfig>),
    /// `github_status`: Buildbot's GitHubStatusPush.
    GithubStatus(Box<ForgeStatusConfig>),
    /// `gitlab_status`: Buildbot's GitLabStatusPush.
    GitlabStatus(Box<ForgeStatusConfig>),
    /// `gerrit`: Buildbot's GerritStatusPush.
    Gerrit(Box<GerritConfig>),
}

/// How an `http_push` reporter authenticates.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpAuth {
    /// `Authorization: Basic`.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer`.
    Bearer(Secret),
}

/// `kind = "http_push"`.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpPushConfig {
    /// Where the events are POSTed (http or https).
    pub server_url: String,
    /// Push `build.started`.
    pub started: bool,
    /// Push `build.finished`.
    pub finished: bool,
    /// Credentials sent with each request.
    pub auth: Option<HttpAuth>,
    /// The key of the `X-Cascade-Signature` HMAC-SHA256 of the body.
    pub secret: Option<Secret>,
    /// Seconds events are collected before one batch POST (0: one POST per event).
    pub buffer_delay: u64,
    /// Seconds before the first retry (the wait then doubles up to `max_retry_delay`).
    pub retry_delay: u64,
    /// The most unsent events kept; the oldest beyond it are dropped (`None`: no limit).
    pub max_queue: Option<u64>,
    /// Seconds a request may take.
    pub timeout: u64,
}

/// When a build is worth a mail (`mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MailMode {
    /// The result differs from the previous build's of the builder and branch.
    Change,
    /// The build failed.
    Failing,
    /// The build succeeded.
    Passing,
    /// The build failed and the previous one did not.
    Problem,
    /// The build had warnings.
    Warnings,
    /// The build ended in an exception.
    Exception,
    /// The build was cancelled.
    Cancelled,
}

impl MailMode {
    /// Every mode, with its name in the file.
    pub const ALL: [(&'static str, MailMode); 7] = [
        ("change", MailMode::Change),
        ("failing", MailMode::Failing),
        ("passing", MailMode::Passing),
        ("problem", MailMode::Problem),
        ("warnings", MailMode::Warnings),
        ("exception", MailMode::Exception),
        ("cancelled", MailMode::Cancelled),
    ];
}

/// Which logs a mail attaches (`add_logs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddLogs {
    /// None (`false`, the default).
    None,
    /// Every log (`true`).
    All,
    /// These, each `log` or `step.log`.
    Names(Vec<String>),
}

/// How the connection to the mail server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP.
    None,
    /// `use_tls`: STARTTLS, required.
    StartTls,
    /// `use_ssl`: TLS from the first byte (SMTPS).
    Implicit,
}

/// The body's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `text/plain`.
    Plain,
    /// `text/html`.
    Html,
}

/// `kind = "mail"`.
#[derive(Clone, Debug, PartialEq)]
pub struct MailConfig {
    /// The sender's address.
    pub from: String,
    /// Mail the authors of the build's changes and its `owners`.
    pub send_to_interested_users: bool,
    /// Always mailed (CC when interested users are mailed too).
    pub extra_recipients: Vec<String>,
    /// The subject, a minijinja template (Buildbot's `%(builder)s` placeholders converted).
    pub subject: String,
    /// When a build is worth a mail.
    pub mode: Vec<MailMode>,
    /// Logs to attach.
    pub add_logs: AddLogs,
    /// Attach the build's patch, if any.
    pub add_patch: bool,
    /// One mail per build set, once all its builds are done.
    pub build_set_summary: bool,
    /// The SMTP server.
    pub relay_host: String,
    /// Its port.
    pub smtp_port: u16,
    /// TLS to the server.
    pub security: SmtpSecurity,
    /// A PEM file of extra trusted certificates (a private relay's own CA).
    pub tls_ca_file: Option<PathBuf>,
    /// The SMTP login.
    pub smtp_user: Option<String>,
    /// Its password.
    pub smtp_password: Option<Secret>,
    /// A domain appended to VCS user names without one.
    pub lookup: Option<String>,
    /// A body template replacing the default message.
    pub template: Option<String>,
    /// The custom body's format.
    pub template_type: BodyType,
    /// Extra headers, values being templates.
    pub extra_headers: BTreeMap<String, String>,
}

/// `kind = "github_status"` or `"gitlab_status"`: commit statuses on a forge. The templates see `prop`,
/// `revision`, `repository`, `branch`, `project`, `codebase`, `builder`, `buildername`,
/// `number` and `results`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForgeStatusConfig {
    /// The API token.
    pub token: Secret,
    /// The repository's owner, a template (`None`: from the build's repository URL).
    pub repo_owner: Option<String>,
    /// The repository's name, a template (`None`: from the build's repository URL).
    pub repo_name: Option<String>,
    /// GitLab's project, id or path, a template (`None`: the repository URL's path).
    pub project: Option<String>,
    /// The commit, a template.
    pub sha: String,
    /// The status's context, a template.
    pub context: String,
    /// The description of a started build, a template.
    pub start_description: String,
    /// The description of a finished build, a template.
    pub end_description: String,
    /// The API's root, without a trailing slash.
    pub base_url: String,
}

/// `kind = "gerrit"`: reviews on a Gerrit change. The templates see what a commit status's
/// do, plus `url`, `state_text` and `result_text` for a build, or `results`, `builds` (each
/// with `builder`, `number`, `results`, `result_text`, `state_text` and `url`) and `prop`
/// (the first build's properties) for a build set's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct GerritConfig {
    /// Gerrit's address, without a trailing slash; the REST API is under `/a/`.
    pub server_url: String,
    /// The HTTP user.
    pub user: String,
    /// Its HTTP password.
    pub password: Secret,
    /// One review per build set, once all its builds are done.
    pub summary: bool,
    /// One review per finished build.
    pub per_build: bool,
    /// A message when each build starts, a template (`None`: no message).
    pub start_message: Option<String>,
    /// The message of a build's review, a template.
    pub review_message: String,
    /// The message of a build set's summary, a template.
    pub summary_message: String,
    /// Label → score, each score a template rendering an integer; empty or 0 leaves the label
    /// out.
    pub labels: BTreeMap<String, String>,
    /// The change, a template (`None`: the `event.change.number` property, else the branch
    /// `refs/changes/NN/CHANGE/PS`).
    pub change: Option<String>,
    /// The patch set, a template (`None`: as for `change`, `event.patchSet.number`).
    pub patchset: Option<String>,
    /// The reviews' tag (`None`: untagged).
    pub tag: Option<String>,
}

/// An IRC channel to join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrcChannel {
    /// `#name`.
    pub name: String,
    /// Its key, if it has one.
    pub key: Option<String>,
}

/// `kind = "irc"`.
#[derive(Clone, Debug, PartialEq)]
pub struct IrcConfig {
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The bot's nick.
    pub nick: String,
    /// Sent to NickServ after connecting.
    pub password: Option<Secret>,
    /// Channels joined at start.
    pub channels: Vec<IrcChannel>,
    /// Nicks notified by private message.
    pub pm_to_nicks: Vec<String>,
    /// TLS to the server.
    pub use_ssl: bool,
    /// A PEM file of extra trusted certificates.
    pub tls_ca_file: Option<PathBuf>,
    /// mIRC colours in notifications.
    pub use_colors: bool,
    /// Notifications in channels as NOTICE instead of PRIVMSG.
    pub notice_on_channel: bool,
    /// `force build` and `stop build` commands.
    pub allow_force: bool,
    /// `shutdown` commands.
    pub allow_shutdown: bool,
    /// Revisions instead of change numbers in messages.
    pub use_revisions: bool,
    /// The blamelist in failure notifications.
    pub show_blame_list: bool,
    /// Seconds before reconnecting after a lost connection (`None`: random 1–5).
    pub lost_delay: Option<f64>,
    /// Seconds before reconnecting after a failed attempt (`None`: random 45–60).
    pub failed_delay: Option<f64>,
    /// The events every channel and nick is notified of until it says otherwise.
    pub notify_events: Vec<String>,
}

/// Whether `event` is an IRC notification event: started, finished, a result name, or a
/// transition `xToY` between results.
pub fn is_irc_event(event: &str) -> bool {
    const RESULTS: [&str; 6] = ["success", "warnings", "failure", "exception", "cancelled", "retry"];
    if matches!(event, "started" | "finished" | "problem" | "recovery" | "worse" | "better") || RESULTS.contains(&event)
    {
        return true;
    }
    let Some(at) = event.find("To") else { return false };
    let (from, to) = (&event[..at], &event[at + 2..]);
    let mut to_chars = to.chars();
    let to_lower = match to_chars.next() {
        Some(c) if c.is_ascii_uppercase() => format!("{}{}", c.to_ascii_lowercase(), to_chars.as_str()),
        _ => return false,
    };
    RESULTS.contains(&from) && RESULTS.contains(&to_lower.as_str())
}

/// Whether `name` names an IRC channel: `#` or `&` and a name without spaces, commas or
/// BELs.
pub fn is_irc_channel(name: &str) -> bool {
    (name.starts_with('#') || name.starts_with('&'))
        && name.len() > 1
        && !name.contains(|c: char| c.is_whitespace() || c == ',' || c == '\u{7}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irc_events_are_results_and_transitions() {
        for ok in ["started", "finished", "failure", "successToFailure", "exceptionToSuccess", "warningsToWarnings"] {
            assert!(is_irc_event(ok), "{ok}");
        }
        for bad in ["", "Started", "successtofailure", "successToFoo", "fooToSuccess", "To", "successTo"] {
            assert!(!is_irc_event(bad), "{bad}");
        }
    }
}
