//! `/session`, `/login`, `/logout`: who am I, what may I do, and the browser's login.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::caller::{AuthenticatedAs, Caller, Via, client_addr, cookie_value};
use super::users::User;
use super::{ActionResult, ApiError, Tag};
use crate::auth::Auth;
use crate::auth::authz::{self, Action, Decision};
use crate::engine::Engine;

/// The session resource.
#[derive(Debug, Default)]
pub struct SessionApi;

/// Who the caller is and what they may do.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Session {
    /// The logged-in user's name; absent for anonymous callers.
    pub username: Option<String>,
    /// The user's database record, when they have one.
    pub user: Option<User>,
    /// Their roles.
    pub roles: Vec<String>,
    /// For every action of `[authz]`: whether the caller may take it now.
    pub actions: BTreeMap<String, bool>,
    /// The token to send as `X-CSRF-Token` with state-changing requests made with the
    /// session cookie.
    pub csrf_token: Option<String>,
    /// Where anonymous users log in, when a proxy's single sign-on does it.
    pub login_url: Option<String>,
    /// Whether the login form (user name and password) can work here.
    pub password_login: bool,
}

/// Credentials for the login form.
#[derive(Debug, Object)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The answer to a login.
#[derive(Debug, ApiResponse)]
pub enum LoginResponse {
    /// Logged in; the session cookie is set.
    #[oai(status = 200)]
    Ok(Json<Session>, #[oai(header = "Set-Cookie")] String),
}

/// The answer to a logout.
#[derive(Debug, ApiResponse)]
pub enum LogoutResponse {
    /// Logged out; the session cookie is cleared.
    #[oai(status = 200)]
    Ok(Json<ActionResult>, #[oai(header = "Set-Cookie")] String),
}

async fn session_of(engine: &Engine, caller: &Caller, csrf: Option<String>) -> Result<Session, ApiError> {
    let username = caller.username().map(str::to_owned);
    let roles = caller.roles().to_vec();
    let actions = Action::ALL
        .iter()
        .map(|a| {
            (
                a.key().to_owned(),
                authz::decide(&engine.config().authz, *a, caller.username(), &roles) == Decision::Allow,
            )
        })
        .collect();
    let user = match caller.identity.as_ref().and_then(|i| i.uid) {
        Some(uid) => super::users::load(engine, uid).await.ok(),
        None => None,
    };
    Ok(Session {
        username,
        user,
        roles,
        actions,
        csrf_token: csrf,
        login_url: engine.config().auth.login_url.clone(),
        password_login: !engine.config().auth.users.is_empty()
            || engine.config().auth.htpasswd.is_some()
            || engine.config().auth.db_users,
    })
}

#[OpenApi(tag = "Tag::Session")]
impl SessionApi {
    /// Who the caller is, which actions they may take, and their CSRF token.
    #[oai(path = "/session", method = "get", operation_id = "get_session")]
    async fn get_session(&self, engine: Data<&Arc<Engine>>, caller: Caller) -> Result<Json<Session>, ApiError> {
        if let Some(refusal) = caller.refusal() {
            return Err(refusal);
        }
        let csrf = match &caller.via {
            Via::Session { csrf, .. } => Some(csrf.clone()),
            _ => None,
        };
        Ok(Json(session_of(&engine, &caller, csrf).await?))
    }

    /// Logs in with a user name and password and sets the session cookie.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        engine: Data<&Arc<Engine>>,
        auth: Data<&Arc<Auth>>,
        req: &poem::Request,
        body: Json<Credentials>,
    ) -> Result<LoginResponse, ApiError> {
        let identity = auth.check_password(&body.username, &body.password, &client_addr(req)).await?;
        // A new session with new tokens; the one the browser presented, if any, ends.
        let presented = cookie_value(req, crate::auth::COOKIE);
        let (token, csrf) = auth.login(&identity, presented.as_deref(), chrono::Utc::now().timestamp()).await?;
        tracing::info!(user = identity.username, "logged in");
        AuthenticatedAs::note(req, &identity.username);
        let caller = Caller { identity: Some(identity), via: Via::Nobody, refused: None };
        let session = session_of(&engine, &caller, Some(csrf)).await?;
        Ok(LoginResponse::Ok(Json(session), auth.cookie(Some(&token))))
    }

    /// Ends the session and clears its cookie.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, auth: Data<&Arc<Auth>>, caller: Caller) -> Result<LogoutResponse, ApiError> {
        if let Via::Session { token, csrf_ok, .. } = &caller.via {
            if !csrf_ok {
                return Err(ApiError::csrf());
            }
            auth.logout(token).await?;
        }
        Ok(LogoutResponse::Ok(ActionResult::said("logged out"), auth.cookie(None)))
    }
}
