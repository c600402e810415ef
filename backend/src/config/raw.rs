//! The file's shape as serde types: exactly the keys `cascade.toml` accepts
//! (`deny_unknown_fields` everywhere) with their defaults, and the small custom
//! deserializers for values that take several forms. Cross-references, ranges and paths are
//! checked in `validate.rs`. Sections and array elements are deserialized one by one (see
//! `doc.rs`), so a nested section appears here as `IgnoredAny` in its parent.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::change_hooks::HookUser;
use super::secret::Secret;
use super::types::{AuthzRule, Command, CommentLink, ConfigUser, GitStep, Revlink};

/// The top level; each section is read on its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct RawConfig {
    #[serde(default = "default_title")]
    pub title: String,
    pub title_url: Option<String>,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default)]
    db: IgnoredAny,
    #[serde(default)]
    web: IgnoredAny,
    #[serde(default)]
    auth: IgnoredAny,
    #[serde(default)]
    authz: IgnoredAny,
    #[serde(default)]
    workers: IgnoredAny,
    #[serde(default)]
    builders: IgnoredAny,
    #[serde(default)]
    schedulers: IgnoredAny,
    #[serde(default)]
    change_hook: IgnoredAny,
    #[serde(default)]
    change_sources: IgnoredAny,
    #[serde(default)]
    reporters: IgnoredAny,
}

fn default_title() -> String {
    "Cascade".into()
}

fn default_base_url() -> String {
    "http://localhost:8010/".into()
}

/// `[db]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDb {
    #[serde(default = "default_db_url")]
    pub url: String,
    #[serde(default = "default_heartbeat")]
    pub heartbeat: u64,
    #[serde(default = "default_lost_after")]
    pub lost_after: u64,
}

fn default_heartbeat() -> u64 {
    10
}

fn default_lost_after() -> u64 {
    60
}

fn default_db_url() -> String {
    "sqlite://cascade.sqlite".into()
}

/// `[web]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeb {
    #[serde(default = "default_listen")]
    pub listen: Vec<RawListen>,
    pub public_html: Option<PathBuf>,
    #[serde(default = "default_num_builds")]
    pub num_builds: u32,
    #[serde(default = "default_num_events")]
    pub num_events: u32,
    #[serde(default = "default_num_events_max")]
    pub num_events_max: u32,
    #[serde(default)]
    pub order_console_by_time: bool,
    pub revlink: Option<Revlink>,
    pub changecommentlink: Option<CommentLink>,
    #[serde(default)]
    pub projects: BTreeMap<String, String>,
    #[serde(default)]
    pub repositories: BTreeMap<String, String>,
    pub access_log: Option<RawAccessLog>,
    #[serde(default = "default_client_timeout")]
    pub write_timeout: u64,
    #[serde(default = "default_client_timeout")]
    pub request_timeout: u64,
}

fn default_client_timeout() -> u64 {
    30
}

fn default_listen() -> Vec<RawListen> {
    vec![RawListen { addr: "127.0.0.1:8010".into(), tls: None }]
}

/// One `web.listen` entry: `"127.0.0.1:8010"`, or
/// `{ addr = "0.0.0.0:8443", tls = { cert = "server.pem", key = "server.key" } }`.
#[derive(Debug)]
pub(crate) struct RawListen {
    pub addr: String,
    pub tls: Option<RawTls>,
}

/// `web.listen[n].tls`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl<'de> Deserialize<'de> for RawListen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Not `untagged`: a table keeps serde's own messages for unknown or missing keys.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            addr: String,
            tls: Option<RawTls>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawListen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an address such as \"127.0.0.1:8010\" or a table { addr, tls }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawListen, E> {
                Ok(RawListen { addr: v.to_owned(), tls: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawListen, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawListen { addr: t.addr, tls: t.tls })
            }
        }
        d.deserialize_any(V)
    }
}
fn default_num_builds() -> u32 {
    20
}
fn default_num_events() -> u32 {
    200
}
fn default_num_events_max() -> u32 {
    1000
}

/// `web.access_log`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccessLog {
    pub path: PathBuf,
    #[serde(default = "default_rotate_length")]
    pub rotate_length: u64,
    #[serde(default = "default_max_rotated_files")]
    pub max_rotated_files: u32,
}

fn default_rotate_length() -> u64 {
    10_000_000
}
fn default_max_rotated_files() -> u32 {
    10
}

/// `[auth]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    #[serde(default)]
    pub users: Vec<ConfigUser>,
    pub htpasswd: Option<PathBuf>,
    #[serde(default)]
    pub db_users: bool,
    pub trusted_header: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub login_url: Option<String>,
    #[serde(default = "default_session_idle_timeout")]
    pub session_idle_timeout: u64,
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime: u64,
}

fn default_session_idle_timeout() -> u64 {
    super::types::DEFAULT_SESSION_IDLE_TIMEOUT
}
fn default_session_lifetime() -> u64 {
    super::types::DEFAULT_SESSION_LIFETIME
}

/// `[authz]`: everything denied except viewing, until the file says otherwise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthz {
    #[serde(default = "allow")]
    pub view: AuthzRule,
    #[serde(default = "deny")]
    pub force_build: AuthzRule,
    #[serde(default = "deny")]
    pub force_all_builds: AuthzRule,
    #[serde(default = "deny")]
    pub ping_builder: AuthzRule,
    #[serde(default = "deny")]
    pub graceful_shutdown: AuthzRule,
    #[serde(default = "deny")]
    pub pause_worker: AuthzRule,
    #[serde(default = "deny")]
    pub stop_build: AuthzRule,
    #[serde(default = "deny")]
    pub stop_all_builds: AuthzRule,
    #[serde(default = "deny")]
    pub cancel_pending_build: AuthzRule,
    #[serde(default = "deny")]
    pub cancel_all_pending_builds: AuthzRule,
    #[serde(default = "deny")]
    pub stop_change: AuthzRule,
    #[serde(default = "deny")]
    pub clean_shutdown: AuthzRule,
    #[serde(default = "deny")]
    pub show_users_page: AuthzRule,
    #[serde(default = "admins")]
    pub manage_users: AuthzRule,
    #[serde(default = "admins")]
    pub hook_deliveries: AuthzRule,
    #[serde(default = "admins")]
    pub manage_outbox: AuthzRule,
    #[serde(default = "deny")]
    pub reconfig: AuthzRule,
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
}

fn allow() -> AuthzRule {
    AuthzRule::Allow
}
fn deny() -> AuthzRule {
    AuthzRule::Deny
}
fn admins() -> AuthzRule {
    AuthzRule::Roles(vec!["admins".into()])
}

/// `[[workers]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorker {
    pub name: String,
    #[serde(default)]
    pub embedded: bool,
    #[serde(default = "one")]
    pub max_builds: u32,
    pub password: Option<Secret>,
}

fn one() -> u32 {
    1
}

/// `[[builders]]`; its `steps` are read one by one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuilder {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub workers: Vec<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    #[allow(dead_code)]
    steps: IgnoredAny,
}

/// `builders[n].steps[m]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub name: String,
    pub command: Option<Command>,
    pub git: Option<GitStep>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub workdir: Option<String>,
    pub timeout: Option<u64>,
    #[serde(default = "yes")]
    pub halt_on_failure: bool,
    #[serde(default = "yes")]
    pub flunk_on_failure: bool,
    #[serde(default)]
    pub warn_on_failure: bool,
    pub warn_on: Option<String>,
}

fn yes() -> bool {
    true
}

/// `[[change_sources]]` with `kind = "git_poller"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGitPoller {
    pub name: Option<String>,
    #[allow(dead_code)]
    kind: IgnoredAny,
    pub repo_url: String,
    #[serde(default)]
    pub branches: Option<OneOrMany>,
    #[serde(default = "default_poll_interval")]
    pub poll_interval: u64,
    #[serde(default)]
    pub poll_at_launch: bool,
    #[serde(default)]
    pub project: String,
    pub category: Option<String>,
    #[serde(default)]
    pub codebase: String,
}

fn default_poll_interval() -> u64 {
    600
}

/// `[change_hook]`; its `dialects` are read one by one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChangeHook {
    #[serde(default)]
    #[allow(dead_code)]
    dialects: IgnoredAny,
    pub auth: Option<RawHookAuth>,
}

/// `change_hook.auth`: exactly one of the two, checked in `validate.rs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHookAuth {
    pub htpasswd: Option<PathBuf>,
    pub users: Option<Vec<HookUser>>,
}

/// A string or a list of strings, as in `branches = "main"` or `branches = ["a", "b"]`.
#[derive(Debug, Default)]
pub(crate) struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }
        d.deserialize_any(V)
    }
}

/// A cron field such as `"*/15"` or `3`; integers become strings.
#[derive(Debug)]
pub(crate) struct CronField(pub String);

impl<'de> Deserialize<'de> for CronField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CronField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cron field such as \"*\", \"*/15\", \"1-5\" or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CronField, E> {
                Ok(CronField(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CronField, E> {
                Ok(CronField(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CronField, E> {
                Ok(CronField(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a shell command string or an array of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                Ok(Command::Shell(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                Ok(Command::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Revlink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Revlink;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a format string or a table of repository = format")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Revlink, E> {
                Ok(Revlink::Format(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Revlink, A::Error> {
                let mut links = BTreeMap::new();
                while let Some((repo, format)) = map.next_entry::<String, String>()? {
                    links.insert(repo, format);
                }
                Ok(Revlink::PerRepository(links))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for AuthzRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AuthzRule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"true, false, "auth" or { roles = [...] }"#)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AuthzRule, E> {
                Ok(if v { AuthzRule::Allow } else { AuthzRule::Deny })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AuthzRule, E> {
                match v {
                    "auth" => Ok(AuthzRule::Auth),
                    other => Err(E::custom(format!(
                        r#"invalid rule "{other}": expected true, false, "auth" or {{ roles = [...] }}"#
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AuthzRule, A::Error> {
                let mut roles = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "roles" => roles = Some(map.next_value::<Vec<String>>()?),
                        other => return Err(de::Error::unknown_field(other, &["roles"])),
                    }
                }
                roles.map(AuthzRule::Roles).ok_or_else(|| de::Error::missing_field("roles"))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) mod reporters;
/// Scheduler kinds and their tables; the `kind` key is read first to pick one.
pub(crate) mod scheduler;
