//! The validated `[change_hook]` section: which dialects `/change_hook/{dialect}` serves, with
//! their options and secrets, and who may post to them. Kept apart from `types.rs`, which holds
//! the rest of the validated configuration; nothing here can fail.

use std::path::PathBuf;

use serde::Deserialize;

use super::secret::Secret;

/// The change hook endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeHookConfig {
    /// Enabled dialects.
    pub dialects: HookDialects,
    /// Who may post changes; anyone when `None`.
    pub auth: Option<HookAuth>,
}

/// Enabled change hook dialects; each is `None` when disabled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HookDialects {
    /// `/change_hook/base`: form-encoded changes.
    pub base: Option<BaseDialect>,
    /// `/change_hook/github`: GitHub (and GitHub Enterprise) webhooks.
    pub github: Option<GithubDialect>,
    /// `/change_hook/gitlab`: GitLab webhooks.
    pub gitlab: Option<GitlabDialect>,
    /// `/change_hook/bitbucket`: Bitbucket Cloud and Server webhooks.
    pub bitbucket: Option<BitbucketDialect>,
    /// `/change_hook/gitorious`: Gitorious post-receive notifications.
    pub gitorious: Option<GitoriousDialect>,
    /// `/change_hook/googlecode`: Google Code post-commit notifications.
    pub googlecode: Option<GooglecodeDialect>,
    /// `/change_hook/gerrit`: Gerrit's events (its webhooks plugin).
    pub gerrit: Option<GerritDialect>,
    /// `/change_hook/poller`: asks change sources to poll now.
    pub poller: Option<PollerDialect>,
}

/// Options of the `base` dialect (none yet).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaseDialect {}

/// Options of the `github` dialect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubDialect {
    /// The webhook secret; when set, `X-Hub-Signature-256` must match.
    pub secret: Option<Secret>,
    /// Also accept the SHA-1 `X-Hub-Signature` (old GitHub Enterprise servers).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Codebase of the changes.
    pub codebase: Option<String>,
}

/// Options of the `gitlab` dialect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabDialect {
    /// The secret token; when set, `X-Gitlab-Token` must equal it.
    pub token: Option<Secret>,
}

/// Options of the `bitbucket` dialect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitbucketDialect {
    /// The webhook secret; when set, `X-Hub-Signature` (HMAC-SHA256) must match.
    pub secret: Option<Secret>,
}

/// Options of the `gitorious` dialect (none).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitoriousDialect {}

/// Options of the `gerrit` dialect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GerritDialect {
    /// Where Gerrit serves its repositories; a change's repository is this and its project
    /// (`None`: the site of the change's web address).
    pub git_url: Option<String>,
    /// Codebase of the changes.
    pub codebase: Option<String>,
}

/// Options of the `googlecode` dialect.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GooglecodeDialect {
    /// The project's Post-Commit Authentication Key (HMAC-MD5 of the body).
    pub secret_key: Option<Secret>,
    /// The branch the changes are on (Google Code sends none).
    #[serde(default = "default_googlecode_branch")]
    pub branch: String,
}

fn default_googlecode_branch() -> String {
    "default".into()
}

/// Options of the `poller` dialect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollerDialect {
    /// The change sources (names or repository URLs) it may trigger; empty: all.
    #[serde(default)]
    pub allowed: Vec<String>,
}

/// Credentials for the change hook.
#[derive(Clone, Debug, PartialEq)]
pub enum HookAuth {
    /// An htpasswd file (absolute).
    Htpasswd(PathBuf),
    /// Users listed in the file.
    Users(Vec<HookUser>),
}

/// A change hook user.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookUser {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: Secret,
}
