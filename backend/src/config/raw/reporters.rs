//! `[[reporters]]` entries, one shape per kind; `validate/reporters.rs` picks the shape by
//! `kind` and checks what serde cannot.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::OneOrMany;
use crate::config::secret::Secret;

/// `mode`: a shortcut or a list of modes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMode {
    One(String),
    Many(Vec<String>),
}

/// `add_logs`: `true`/`false` or a list of log names.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawAddLogs {
    Flag(bool),
    Names(Vec<String>),
}

/// A channel: `"#name"` or `{ name = "#name", key = "..." }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawChannel {
    Name(String),
    Keyed(RawKeyedChannel),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeyedChannel {
    pub name: String,
    pub key: Option<String>,
}

/// `kind = "mail"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMail {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    pub builders: Option<OneOrMany>,
    #[serde(default)]
    pub tags: Option<OneOrMany>,
    pub max_retry_delay: Option<u64>,
    pub from: String,
    #[serde(default = "yes")]
    pub send_to_interested_users: bool,
    #[serde(default)]
    pub extra_recipients: Vec<String>,
    pub subject: Option<String>,
    pub mode: Option<RawMode>,
    pub add_logs: Option<RawAddLogs>,
    #[serde(default = "yes")]
    pub add_patch: bool,
    #[serde(default)]
    pub build_set_summary: bool,
    #[serde(default = "default_relay_host")]
    pub relay_host: String,
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub use_tls: bool,
    #[serde(default)]
    pub use_ssl: bool,
    pub tls_ca_file: Option<PathBuf>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<Secret>,
    pub lookup: Option<String>,
    pub template: Option<String>,
    pub template_file: Option<PathBuf>,
    pub template_type: Option<String>,
    #[serde(default)]
    pub extra_headers: BTreeMap<String, String>,
}

/// `kind = "irc"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIrc {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    pub builders: Option<OneOrMany>,
    #[serde(default)]
    pub tags: Option<OneOrMany>,
    pub max_retry_delay: Option<u64>,
    pub host: String,
    #[serde(default = "default_irc_port")]
    pub port: u16,
    pub nick: String,
    pub password: Option<Secret>,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
    #[serde(default)]
    pub pm_to_nicks: Vec<String>,
    #[serde(default)]
    pub use_ssl: bool,
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default = "yes")]
    pub use_colors: bool,
    #[serde(default)]
    pub notice_on_channel: bool,
    #[serde(default)]
    pub allow_force: bool,
    #[serde(default)]
    pub allow_shutdown: bool,
    #[serde(default)]
    pub use_revisions: bool,
    #[serde(default = "yes")]
    pub show_blame_list: bool,
    pub lost_delay: Option<f64>,
    pub failed_delay: Option<f64>,
    #[serde(default)]
    pub notify_events: Vec<String>,
}

/// `kind = "http_push"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttpPush {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    pub builders: Option<OneOrMany>,
    #[serde(default)]
    pub tags: Option<OneOrMany>,
    pub max_retry_delay: Option<u64>,
    pub server_url: String,
    pub events: Option<Vec<String>>,
    pub auth: Option<RawHttpAuth>,
    pub secret: Option<Secret>,
    #[serde(default)]
    pub buffer_delay: u64,
    #[serde(default = "default_retry_delay")]
    pub retry_delay: u64,
    pub max_queue: Option<u64>,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

/// `auth`: `{ basic = { user, password } }` or `{ bearer = token }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) enum RawHttpAuth {
    Basic(RawBasicAuth),
    Bearer(Secret),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasicAuth {
    pub user: String,
    pub password: Secret,
}

fn default_retry_delay() -> u64 {
    5
}

fn default_timeout() -> u64 {
    10
}

/// `kind = "github_status"` or `"gitlab_status"` (`repo_owner` and `repo_name` for GitHub,
/// `project` for GitLab).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawForgeStatus {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    pub builders: Option<OneOrMany>,
    #[serde(default)]
    pub tags: Option<OneOrMany>,
    pub max_retry_delay: Option<u64>,
    pub token: Secret,
    pub repo_owner: Option<String>,
    pub repo_name: Option<String>,
    pub project: Option<String>,
    pub sha: Option<String>,
    pub context: Option<String>,
    pub start_description: Option<String>,
    pub end_description: Option<String>,
    pub base_url: Option<String>,
}

/// `start_message`: `true` for the default message or a template.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawStartMessage {
    Flag(bool),
    Template(String),
}

/// `kind = "gerrit"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGerrit {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    pub builders: Option<OneOrMany>,
    #[serde(default)]
    pub tags: Option<OneOrMany>,
    pub max_retry_delay: Option<u64>,
    pub server_url: String,
    pub user: String,
    pub password: Secret,
    #[serde(default = "yes")]
    pub summary: bool,
    #[serde(default)]
    pub per_build: bool,
    pub start_message: Option<RawStartMessage>,
    pub review_message: Option<String>,
    pub summary_message: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub change: Option<String>,
    pub patchset: Option<String>,
    pub tag: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_relay_host() -> String {
    "localhost".into()
}

fn default_irc_port() -> u16 {
    6667
}
