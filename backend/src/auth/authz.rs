//! The one authorization point: every action of the API is named here and decided from
//! the `[authz]` table (DESIGN §3, §9), so a new action cannot exist without a rule.

use crate::config::{AuthzConfig, AuthzRule};

/// Everything the web status lets people do (0.8.9's Authz actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See anything at all.
    View,
    /// Force a build of one builder.
    ForceBuild,
    /// Force a build of every builder.
    ForceAllBuilds,
    /// Ping a builder's workers.
    PingBuilder,
    /// Shut a worker down gracefully.
    GracefulShutdown,
    /// Pause or unpause a worker.
    PauseWorker,
    /// Stop a running build.
    StopBuild,
    /// Stop every running build.
    StopAllBuilds,
    /// Cancel a pending build request.
    CancelPendingBuild,
    /// Cancel several or all pending build requests.
    CancelAllPendingBuilds,
    /// Stop everything a change caused.
    StopChange,
    /// Shut the master down.
    CleanShutdown,
    /// See the users.
    ShowUsersPage,
    /// Create, change and delete users.
    ManageUsers,
    /// Read and replay the change hook delivery log.
    HookDeliveries,
    /// See the reporters' outbox, retry and drop its messages.
    ManageOutbox,
    /// Re-read the configuration file.
    Reconfig,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 17] = [
        Action::View,
        Action::ForceBuild,
        Action::ForceAllBuilds,
        Action::PingBuilder,
        Action::GracefulShutdown,
        Action::PauseWorker,
        Action::StopBuild,
        Action::StopAllBuilds,
        Action::CancelPendingBuild,
        Action::CancelAllPendingBuilds,
        Action::StopChange,
        Action::CleanShutdown,
        Action::ShowUsersPage,
        Action::ManageUsers,
        Action::HookDeliveries,
        Action::ManageOutbox,
        Action::Reconfig,
    ];

    /// The action's key in `[authz]`.
    pub fn key(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::ForceBuild => "force_build",
            Action::ForceAllBuilds => "force_all_builds",
            Action::PingBuilder => "ping_builder",
            Action::GracefulShutdown => "graceful_shutdown",
            Action::PauseWorker => "pause_worker",
            Action::StopBuild => "stop_build",
            Action::StopAllBuilds => "stop_all_builds",
            Action::CancelPendingBuild => "cancel_pending_build",
            Action::CancelAllPendingBuilds => "cancel_all_pending_builds",
            Action::StopChange => "stop_change",
            Action::CleanShutdown => "clean_shutdown",
            Action::ShowUsersPage => "show_users_page",
            Action::ManageUsers => "manage_users",
            Action::HookDeliveries => "hook_deliveries",
            Action::ManageOutbox => "manage_outbox",
            Action::Reconfig => "reconfig",
        }
    }

    /// The configured rule for the action.
    pub fn rule(self, authz: &AuthzConfig) -> &AuthzRule {
        match self {
            Action::View => &authz.view,
            Action::ForceBuild => &authz.force_build,
            Action::ForceAllBuilds => &authz.force_all_builds,
            Action::PingBuilder => &authz.ping_builder,
            Action::GracefulShutdown => &authz.graceful_shutdown,
            Action::PauseWorker => &authz.pause_worker,
            Action::StopBuild => &authz.stop_build,
            Action::StopAllBuilds => &authz.stop_all_builds,
            Action::CancelPendingBuild => &authz.cancel_pending_build,
            Action::CancelAllPendingBuilds => &authz.cancel_all_pending_builds,
            Action::StopChange => &authz.stop_change,
            Action::CleanShutdown => &authz.clean_shutdown,
            Action::ShowUsersPage => &authz.show_users_page,
            Action::ManageUsers => &authz.manage_users,
            Action::HookDeliveries => &authz.hook_deliveries,
            Action::ManageOutbox => &authz.manage_outbox,
            Action::Reconfig => &authz.reconfig,
        }
    }
}

/// The outcome of an authorization check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Logging in would help.
    NeedLogin,
    /// Nobody (or not this user) may.
    Forbidden,
}

/// Decides `action` for a user (`None`: anonymous) with the given roles.
pub fn decide(authz: &AuthzConfig, action: Action, user: Option<&str>, roles: &[String]) -> Decision {
    match (action.rule(authz), user) {
        (AuthzRule::Allow, _) => Decision::Allow,
        (AuthzRule::Deny, _) => Decision::Forbidden,
        (AuthzRule::Auth | AuthzRule::Roles(_), None) => Decision::NeedLogin,
        (AuthzRule::Auth, Some(_)) => Decision::Allow,
        (AuthzRule::Roles(wanted), Some(_)) if wanted.iter().any(|r| roles.contains(r)) => Decision::Allow,
        (AuthzRule::Roles(_), Some(_)) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz(rule: AuthzRule) -> AuthzConfig {
        AuthzConfig { stop_build: rule, ..Default::default() }
    }

    #[test]
    fn each_rule_decides_for_anonymous_users_and_users() {
        let roles = vec!["dev".to_string()];
        let cases = [
            (AuthzRule::Allow, None, Decision::Allow),
            (AuthzRule::Deny, Some("ann"), Decision::Forbidden),
            (AuthzRule::Auth, None, Decision::NeedLogin),
            (AuthzRule::Auth, Some("ann"), Decision::Allow),
            (AuthzRule::Roles(vec!["dev".into()]), None, Decision::NeedLogin),
            (AuthzRule::Roles(vec!["dev".into()]), Some("ann"), Decision::Allow),
            (AuthzRule::Roles(vec!["admin".into()]), Some("ann"), Decision::Forbidden),
        ];
        for (rule, user, expected) in cases {
            assert_eq!(decide(&authz(rule.clone()), Action::StopBuild, user, &roles), expected, "{rule:?} {user:?}");
        }
    }

    #[test]
    fn every_action_has_a_distinct_key() {
        let keys: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), Action::ALL.len());
    }
}
