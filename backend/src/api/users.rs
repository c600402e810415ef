//! `/users`: the people the master knows (gated by `show_users_page`; changes by
//! `manage_users`), and ending a user's sessions (their own, or anyone's with
//! `manage_users`).

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::authz::{require, require_self_or};
use super::caller::Caller;
use super::{ActionResult, ApiError, Tag};
use crate::auth::Auth;
use crate::auth::authz::Action;
use crate::auth::users::{self as manage, UserChange, UserRecord};
use crate::db::users::Attribute as DbAttribute;
use crate::engine::Engine;

/// The users resource.
#[derive(Debug, Default)]
pub struct UsersApi;

/// One attribute of a user.
#[derive(Clone, Debug, Object)]
pub struct Attribute {
    /// email, git, svn, irc, role, ...
    #[oai(rename = "type")]
    pub kind: String,
    /// Its value.
    pub value: String,
}

/// A user.
#[derive(Clone, Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct User {
    /// Id.
    pub uid: i64,
    /// Unique identifier.
    pub identifier: String,
    /// Login name.
    pub username: Option<String>,
    /// Attributes.
    pub attributes: Vec<Attribute>,
}

/// All users.
#[derive(Debug, Object)]
pub struct UserList {
    /// By uid.
    pub users: Vec<User>,
}

/// A user to create or the fields to change.
#[derive(Debug, Object)]
pub struct UserBody {
    /// Unique identifier (required to create unless a username is given).
    pub identifier: Option<String>,
    /// Login name (`""` removes it).
    pub username: Option<String>,
    /// Password (`""` removes it); stored as an argon2id hash.
    pub password: Option<String>,
    /// Attributes to set; each type given replaces that type's values.
    pub attributes: Option<Vec<Attribute>>,
}

/// Answer to a creation.
#[derive(Debug, ApiResponse)]
pub enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Json<User>),
}

impl From<UserRecord> for User {
    fn from(r: UserRecord) -> Self {
        User {
            uid: r.user.uid,
            identifier: r.user.identifier,
            username: r.user.username,
            attributes: r.attributes.into_iter().map(|a| Attribute { kind: a.attr_type, value: a.attr_data }).collect(),
        }
    }
}

/// One user, for the session endpoint.
pub(super) async fn load(engine: &Engine, uid: i64) -> Result<User, ApiError> {
    Ok(manage::show(&engine.db, uid).await?.into())
}

fn change(body: UserBody) -> UserChange {
    UserChange {
        identifier: body.identifier,
        username: body.username,
        password: body.password,
        attributes: body
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|a| DbAttribute { attr_type: a.kind, attr_data: a.value })
            .collect(),
    }
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Lists the users.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list_users(&self, engine: Data<&Arc<Engine>>, caller: Caller) -> Result<Json<UserList>, ApiError> {
        require(&engine, &caller, Action::ShowUsersPage, None)?;
        let users = manage::list(&engine.db).await?;
        Ok(Json(UserList { users: users.into_iter().map(User::from).collect() }))
    }

    /// One user.
    #[oai(path = "/users/:uid", method = "get", operation_id = "get_user")]
    async fn get_user(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        uid: Path<i64>,
    ) -> Result<Json<User>, ApiError> {
        require(&engine, &caller, Action::ShowUsersPage, None)?;
        Ok(Json(load(&engine, uid.0).await?))
    }

    /// Creates a user.
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create_user(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        body: Json<UserBody>,
    ) -> Result<Created, ApiError> {
        require(&engine, &caller, Action::ManageUsers, None)?;
        Ok(Created::Created(Json(manage::add(&engine.db, &change(body.0)).await?.into())))
    }

    /// Changes a user.
    #[oai(path = "/users/:uid", method = "patch", operation_id = "update_user")]
    async fn update_user(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        uid: Path<i64>,
        body: Json<UserBody>,
    ) -> Result<Json<User>, ApiError> {
        require(&engine, &caller, Action::ManageUsers, None)?;
        Ok(Json(manage::update(&engine.db, uid.0, &change(body.0)).await?.into()))
    }

    /// Deletes a user.
    #[oai(path = "/users/:uid", method = "delete", operation_id = "delete_user")]
    async fn delete_user(
        &self,
        engine: Data<&Arc<Engine>>,
        caller: Caller,
        uid: Path<i64>,
    ) -> Result<Json<ActionResult>, ApiError> {
        require(&engine, &caller, Action::ManageUsers, None)?;
        manage::remove(&engine.db, uid.0).await?;
        Ok(ActionResult::said(format!("deleted user {}", uid.0)))
    }

    /// Logs a user out everywhere: ends every session they have, in every browser. Users
    /// may do it for themselves; `[authz] manage_users` may do it for anyone.
    #[oai(path = "/users/:uid/logout", method = "post", operation_id = "logout_user_everywhere")]
    async fn logout_user_everywhere(
        &self,
        engine: Data<&Arc<Engine>>,
        auth: Data<&Arc<Auth>>,
        caller: Caller,
        uid: Path<i64>,
    ) -> Result<Json<ActionResult>, ApiError> {
        let by = require_self_or(&engine, &caller, uid.0, Action::ManageUsers)?;
        let user = load(&engine, uid.0).await?;
        let name = user.username.as_deref().unwrap_or(&user.identifier);
        let ended = auth.logout_everywhere(name, Some(uid.0)).await.map_err(|e| match e {
            crate::auth::AuthError::Db(db) => ApiError::from(db),
            other => ApiError::unauthorized(other.to_string()),
        })?;
        tracing::info!(user = name, by = by.actor.as_deref().unwrap_or("anonymous"), ended, "logged out everywhere");
        let mut result = ActionResult::said(format!("ended {ended} session(s) of {name}"));
        result.count = Some(i64::try_from(ended).unwrap_or(i64::MAX));
        Ok(result)
    }
}
