//! The validated configuration the engine runs on: plain data with every default filled in,
//! every cross-reference checked and every relative path made absolute. Parsing and checking
//! live in `doc.rs`, `raw.rs` and `validate.rs`; nothing here can fail.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::change_hooks::ChangeHookConfig;
use super::listen::Listen;
use super::secret::Secret;

/// A whole, valid `cascade.toml`.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The configuration file.
    pub path: PathBuf,
    /// Its directory; relative paths (SQLite file, secret files, …) resolve against it.
    pub dir: PathBuf,
    /// Shown in the page title and header.
    pub title: String,
    /// Where the title links to.
    pub title_url: Option<String>,
    /// The public URL of the web UI, used in mails, feeds and statuses; ends with `/`.
    pub base_url: String,
    /// The database.
    pub db: DbConfig,
    /// The web server and UI options.
    pub web: WebConfig,
    /// Who users are.
    pub auth: AuthConfig,
    /// What users may do.
    pub authz: AuthzConfig,
    /// Workers allowed to connect, plus embedded ones.
    pub workers: Vec<WorkerConfig>,
    /// Builders, each a list of steps run on one of its workers.
    pub builders: Vec<BuilderConfig>,
    /// Schedulers, which turn changes and timers into build requests.
    pub schedulers: Vec<SchedulerConfig>,
    /// The `/change_hook/<dialect>` endpoints.
    pub change_hook: ChangeHookConfig,
    /// Where changes are polled from.
    pub change_sources: Vec<ChangeSourceConfig>,
    /// Status targets: mail, IRC, ...
    pub reporters: Vec<super::reporters::ReporterConfig>,
}

impl Config {
    /// The builder called `name`.
    pub fn builder(&self, name: &str) -> Option<&BuilderConfig> {
        self.builders.iter().find(|b| b.name == name)
    }

    /// The worker called `name`.
    pub fn worker(&self, name: &str) -> Option<&WorkerConfig> {
        self.workers.iter().find(|w| w.name == name)
    }
}

/// The database connection.
#[derive(Clone, PartialEq, Eq)]
pub struct DbConfig {
    /// `sqlite://ABSOLUTE-PATH` (or `sqlite::memory:`), or `postgres://…`.
    pub url: String,
    /// Seconds between two notes in the database that this master still runs.
    pub heartbeat: u64,
    /// Seconds without a note after which another master declares this one lost and gives
    /// its builds and build requests to the others.
    pub lost_after: u64,
}

impl fmt::Debug for DbConfig {
    /// Hides a password in `scheme://user:password@host`, since configs get logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match (self.url.find("://"), self.url.rfind('@')) {
            (Some(s), Some(at)) if s + 3 < at => {
                let auth = &self.url[s + 3..at];
                match auth.find(':') {
                    Some(c) => format!("{}{}:<redacted>{}", &self.url[..s + 3], &auth[..c], &self.url[at..]),
                    None => self.url.clone(),
                }
            }
            _ => self.url.clone(),
        };
        f.debug_struct("DbConfig")
            .field("url", &url)
            .field("heartbeat", &self.heartbeat)
            .field("lost_after", &self.lost_after)
            .finish()
    }
}

/// The web server and what the UI shows by default.
#[derive(Clone, Debug, PartialEq)]
pub struct WebConfig {
    /// Where to listen, each address valid as a `SocketAddr`.
    pub listen: Vec<Listen>,
    /// Files here override or add to the built-in ones.
    pub public_html: Option<PathBuf>,
    /// Default number of builds shown per builder.
    pub num_builds: u32,
    /// Default number of waterfall events.
    pub num_events: u32,
    /// Cap on the number of events a request may ask for.
    pub num_events_max: u32,
    /// Order the console by time rather than by revision.
    pub order_console_by_time: bool,
    /// How revisions become links.
    pub revlink: Option<Revlink>,
    /// How references in change comments become links.
    pub changecommentlink: Option<CommentLink>,
    /// Project name to URL.
    pub projects: BTreeMap<String, String>,
    /// Repository URL to browsable URL.
    pub repositories: BTreeMap<String, String>,
    /// The HTTP access log, if any.
    pub access_log: Option<AccessLog>,
    /// Seconds a client may leave the master's writes untaken before its connection is
    /// closed (a stuck event-stream reader, for one).
    pub write_timeout: u64,
    /// Seconds a client may take to send a whole request, from its first byte.
    pub request_timeout: u64,
}

/// How a revision becomes a link: one format for all, or one per repository (`%s` = revision).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revlink {
    /// One format string such as `https://github.com/acme/app/commit/%s`.
    Format(String),
    /// Repository URL to format string.
    PerRepository(BTreeMap<String, String>),
}

/// A regex over change comments and the link (and title) each match becomes.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommentLink {
    /// The pattern to find, e.g. `#(\d+)`.
    pub regex: String,
    /// The link, with `\1`-style group references.
    pub url: String,
    /// The link's title, if any.
    pub title: Option<String>,
}

/// The HTTP access log and its rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLog {
    /// The log file (absolute).
    pub path: PathBuf,
    /// Rotate once the file reaches this many bytes.
    pub rotate_length: u64,
    /// Keep at most this many rotated files.
    pub max_rotated_files: u32,
}

/// Where users come from.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthConfig {
    /// Users listed in the file.
    pub users: Vec<ConfigUser>,
    /// An htpasswd file (absolute).
    pub htpasswd: Option<PathBuf>,
    /// Whether users in the database may log in.
    pub db_users: bool,
    /// A header set by a trusted proxy naming the user.
    pub trusted_header: Option<String>,
    /// The addresses (single IPs as /32 or /128) whose `trusted_header` is believed; the
    /// header from any other client is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// An external login page.
    pub login_url: Option<String>,
    /// Seconds a session may go unused before it ends.
    pub session_idle_timeout: i64,
    /// Seconds after the login at which a session ends however busy it is.
    pub session_lifetime: i64,
}

/// `[auth] session_idle_timeout` when the file does not say: a day.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: u64 = 86_400;
/// `[auth] session_lifetime` when the file does not say: two weeks, as Buildbot's cookie.
pub const DEFAULT_SESSION_LIFETIME: u64 = 14 * 86_400;

/// A user defined in the file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigUser {
    /// The login name.
    pub username: String,
    /// A PHC-format password hash such as `$argon2id$…`.
    pub password_hash: String,
}

/// Who may perform one action.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthzRule {
    /// Nobody (`false`).
    Deny,
    /// Everybody, even anonymous (`true`).
    Allow,
    /// Any logged-in user (`"auth"`).
    Auth,
    /// Users holding one of these roles (`{ roles = [...] }`).
    Roles(Vec<String>),
}

/// What users may do, one rule per action (Buildbot's `authz` actions, snake_cased).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthzConfig {
    /// See the UI and read the API (default: allowed).
    pub view: AuthzRule,
    /// Force a build on one builder.
    pub force_build: AuthzRule,
    /// Force builds on all builders at once.
    pub force_all_builds: AuthzRule,
    /// Ping a builder's workers.
    pub ping_builder: AuthzRule,
    /// Shut a worker down once its builds finish.
    pub graceful_shutdown: AuthzRule,
    /// Pause or unpause a worker.
    pub pause_worker: AuthzRule,
    /// Stop a running build.
    pub stop_build: AuthzRule,
    /// Stop every running build.
    pub stop_all_builds: AuthzRule,
    /// Cancel one pending build request.
    pub cancel_pending_build: AuthzRule,
    /// Cancel every pending build request.
    pub cancel_all_pending_builds: AuthzRule,
    /// Stop the builds of a change.
    pub stop_change: AuthzRule,
    /// Shut the master down once builds finish.
    pub clean_shutdown: AuthzRule,
    /// See the users page.
    pub show_users_page: AuthzRule,
    /// Create, change and delete users (default: the `admins` role).
    pub manage_users: AuthzRule,
    /// Read and replay the change hook delivery log (default: the `admins` role).
    pub hook_deliveries: AuthzRule,
    /// See the reporters' outbox, retry and drop its messages (default: the `admins` role).
    pub manage_outbox: AuthzRule,
    /// Re-read the configuration file (`POST /api/v1/master/reconfig`).
    pub reconfig: AuthzRule,
    /// Role name to the usernames holding it.
    pub roles: BTreeMap<String, Vec<String>>,
}

impl Default for AuthzConfig {
    /// Read-only: viewing is allowed, every action denied (Buildbot's defaults).
    fn default() -> Self {
        AuthzConfig {
            view: AuthzRule::Allow,
            force_build: AuthzRule::Deny,
            force_all_builds: AuthzRule::Deny,
            ping_builder: AuthzRule::Deny,
            graceful_shutdown: AuthzRule::Deny,
            pause_worker: AuthzRule::Deny,
            stop_build: AuthzRule::Deny,
            stop_all_builds: AuthzRule::Deny,
            cancel_pending_build: AuthzRule::Deny,
            cancel_all_pending_builds: AuthzRule::Deny,
            stop_change: AuthzRule::Deny,
            clean_shutdown: AuthzRule::Deny,
            show_users_page: AuthzRule::Deny,
            manage_users: AuthzRule::Roles(vec!["admins".into()]),
            hook_deliveries: AuthzRule::Roles(vec!["admins".into()]),
            manage_outbox: AuthzRule::Roles(vec!["admins".into()]),
            reconfig: AuthzRule::Deny,
            roles: BTreeMap::new(),
        }
    }
}

/// A worker: embedded in the master, or connecting with a password.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    /// Unique, URL-safe name.
    pub name: String,
    /// Runs inside the master process.
    pub embedded: bool,
    /// How many builds it runs at once (at least 1).
    pub max_builds: u32,
    /// Present exactly when the worker is not embedded.
    pub password: Option<Secret>,
}

/// A builder: steps run, in order, on one of its workers.
#[derive(Clone, Debug, PartialEq)]
pub struct BuilderConfig {
    /// Unique, URL-safe name.
    pub name: String,
    /// Shown in the UI.
    pub description: Option<String>,
    /// Tags for filtering in the UI.
    pub tags: Vec<String>,
    /// Names of workers that may run its builds (at least one).
    pub workers: Vec<String>,
    /// Build properties set on every build.
    pub properties: BTreeMap<String, String>,
    /// The steps (at least one).
    pub steps: Vec<StepConfig>,
}

/// One step of a builder.
#[derive(Clone, Debug, PartialEq)]
pub struct StepConfig {
    /// Shown in the UI.
    pub name: String,
    /// What the step does.
    pub kind: StepKind,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory relative to the build directory.
    pub workdir: Option<String>,
    /// Seconds the step may run before it is killed with its whole process group (> 0).
    pub timeout: Option<u64>,
    /// Stop the build if this step fails.
    pub halt_on_failure: bool,
    /// A failure of this step fails the build.
    pub flunk_on_failure: bool,
    /// A failure of this step only makes the build warn.
    pub warn_on_failure: bool,
    /// A regex: any matching output line makes the step warn.
    pub warn_on: Option<String>,
}

/// The action of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Run a command.
    Shell(Command),
    /// Check out a git repository.
    Git(GitStep),
}

/// A command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run directly (a TOML array, non-empty).
    Argv(Vec<String>),
    /// Run with `sh -c` (a TOML string).
    Shell(String),
}

/// A git checkout.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GitStep {
    /// The repository to clone.
    pub repo_url: String,
    /// Reuse the previous checkout or start afresh.
    #[serde(default)]
    pub mode: GitMode,
    /// The branch, when the build request names none.
    pub branch: Option<String>,
}

/// How a git step treats an existing checkout.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GitMode {
    /// Fetch and update in place.
    #[default]
    Incremental,
    /// Clone afresh.
    Full,
}

/// A scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Unique, URL-safe name.
    pub name: String,
    /// Builders it requests builds on (non-empty).
    pub builders: Vec<String>,
    /// When it does so.
    pub kind: SchedulerKind,
    /// Properties every build it requests gets.
    pub properties: BTreeMap<String, String>,
}

/// The kinds of scheduler (`kind = "…"` in the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedulerKind {
    /// `single_branch`: changes on one branch, once no new change came for
    /// `tree_stable_timer` seconds (0 = at once).
    SingleBranch {
        /// The branch.
        branch: String,
        /// Seconds of quiet before building.
        tree_stable_timer: u64,
        /// Further limits on interesting changes.
        filter: ChangeFilter,
    },
    /// `any_branch`: like `single_branch`, separately for each branch.
    AnyBranch {
        /// Seconds of quiet before building.
        tree_stable_timer: u64,
        /// Limits on interesting changes.
        filter: ChangeFilter,
    },
    /// `force`: only when a user asks.
    Force {},
    /// `periodic`: every `interval` seconds.
    Periodic {
        /// Seconds between builds (> 0).
        interval: u64,
        /// The branch to build, or the default one.
        branch: Option<String>,
    },
    /// `nightly`: at times given by cron fields (`*`, `N`, `N-M`, lists, `/STEP`).
    Nightly {
        /// 0-59, default "0".
        minute: String,
        /// 0-23, default "*".
        hour: String,
        /// 1-31, default "*".
        day_of_month: String,
        /// 1-12, default "*".
        month: String,
        /// 0-7 (0 and 7 are Sunday), default "*".
        day_of_week: String,
        /// The branch to build, or the default one.
        branch: Option<String>,
    },
}

/// Which changes interest a scheduler: a change matches when every non-empty list contains
/// its value. TOML keys: `branches`, `project`, `repository`, `category`, `codebase`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// Branch names.
    pub branches: Vec<String>,
    /// Project names.
    pub projects: Vec<String>,
    /// Repository URLs.
    pub repositories: Vec<String>,
    /// Change categories.
    pub categories: Vec<String>,
    /// Codebase names.
    pub codebases: Vec<String>,
}

/// A change source: something the master polls for new changes.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSourceConfig {
    /// Unique name (default: the repository URL); `?poller=NAME` of the poller hook uses it.
    pub name: String,
    /// What it polls.
    pub kind: ChangeSourceKind,
}

/// The kinds of change source (`kind = "…"`).
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeSourceKind {
    /// `git_poller`: a git repository's branches.
    GitPoller(GitPollerConfig),
}

/// A git repository polled for new commits.
#[derive(Clone, Debug, PartialEq)]
pub struct GitPollerConfig {
    /// The repository (any URL or path git can fetch).
    pub repo_url: String,
    /// The branches to follow.
    pub branches: PollBranches,
    /// Seconds between polls (> 0; default 600).
    pub poll_interval: u64,
    /// Poll once at start instead of waiting a full interval.
    pub poll_at_launch: bool,
    /// Project of the changes it reports.
    pub project: String,
    /// Category of the changes it reports.
    pub category: Option<String>,
    /// Codebase of the changes it reports.
    pub codebase: String,
}

/// Which branches a poller follows: a list, or `"all"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollBranches {
    /// Every branch of the repository.
    All,
    /// These branches (default: `main`).
    List(Vec<String>),
}
