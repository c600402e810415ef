//! The API's side of the authorization point: an action endpoint calls [`require`] first,
//! and gets either the request's actor or the 401/403 answer.

use crate::auth::authz::{self, Action, Decision};
use crate::engine::Engine;
use crate::engine::actions::Request;

use super::ApiError;

/// Checks that the caller may take `action`; returns who is asking, with `reason`.
pub fn require(engine: &Engine, action: Action, reason: Option<String>) -> Result<Request, ApiError> {
    // Logins arrive with the auth sources; until then every caller is anonymous.
    let user: Option<&str> = None;
    match authz::decide(&engine.config.authz, action, user, &[]) {
        Decision::Allow => Ok(Request { actor: user.map(str::to_owned), reason: reason.unwrap_or_default() }),
        Decision::NeedLogin => {
            Err(ApiError::unauthorized(format!("`{}` needs a logged-in user ([authz] {})", action.key(), action.key())))
        }
        Decision::Forbidden => {
            Err(ApiError::forbidden(format!("`{}` is not allowed here ([authz] {})", action.key(), action.key())))
        }
    }
}
