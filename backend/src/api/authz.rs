//! The API's side of the one authorization point: action endpoints call [`require`] with
//! the request's [`Caller`] and get either the actor for the records or the 401/403 answer.

use crate::auth::authz::{self, Action, Decision};
use crate::engine::Engine;
use crate::engine::actions::Request;

use super::ApiError;
use super::caller::{Caller, Via};

/// Checks that `caller` may take `action` (and, for a session, that the request carries
/// its CSRF token); returns who is asking, with `reason`.
pub fn require(engine: &Engine, caller: &Caller, action: Action, reason: Option<String>) -> Result<Request, ApiError> {
    if let Some(refusal) = caller.refusal() {
        return Err(refusal);
    }
    if let Via::Session { csrf_ok: false, .. } = caller.via {
        return Err(ApiError::csrf());
    }
    match authz::decide(&engine.config().authz, action, caller.username(), caller.roles()) {
        Decision::Allow => {
            Ok(Request { actor: caller.username().map(str::to_owned), reason: reason.unwrap_or_default() })
        }
        Decision::NeedLogin => {
            let config = engine.config();
            let login = config.auth.login_url.as_deref().unwrap_or("/login");
            Err(ApiError::unauthorized(format!("`{}` needs a logged-in user; log in at {login}", action.key())))
        }
        Decision::Forbidden => Err(ApiError::forbidden(match caller.username() {
            Some(user) => format!("`{user}` may not `{}` ([authz] {})", action.key(), action.key()),
            None => format!("`{}` is not allowed here ([authz] {})", action.key(), action.key()),
        })),
    }
}

/// Checks that `caller` may act on the account of database user `uid`: their own account
/// (once logged in, with the session's CSRF token), or anyone's when `action` allows.
pub fn require_self_or(engine: &Engine, caller: &Caller, uid: i64, action: Action) -> Result<Request, ApiError> {
    let own = caller.identity.as_ref().is_some_and(|i| i.uid == Some(uid));
    if !own {
        return require(engine, caller, action, None);
    }
    if let Via::Session { csrf_ok: false, .. } = caller.via {
        return Err(ApiError::csrf());
    }
    Ok(Request { actor: caller.username().map(str::to_owned), reason: String::new() })
}
