//! Managing users (shared by `cascade user` and the users API): create, change, remove,
//! list, with passwords hashed by argon2id and attributes given as `TYPE=VALUE`.

use crate::db::users::{Attribute, User};
use crate::db::{self, Db, DbError};

/// A user with their attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// Their attributes.
    pub attributes: Vec<Attribute>,
}

/// What to create or change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    /// Unique identifier (required to create).
    pub identifier: Option<String>,
    /// Login name (`Some("")` removes it).
    pub username: Option<String>,
    /// New password (`Some("")` removes it).
    pub password: Option<String>,
    /// Attributes to set; each type given replaces that type's old values.
    pub attributes: Vec<Attribute>,
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// The identifier, username or an attribute value belongs to someone else.
    #[error("{0}")]
    Conflict(String),
    /// The request is incomplete or malformed.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for UserError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => UserError::NotFound,
            // The database's message names its tables and constraints and differs between
            // SQLite and PostgreSQL: it is logged, and the caller learns what was taken.
            DbError::Conflict(m) => {
                tracing::info!(error = %m, "a user's identifier, username or attribute is taken");
                UserError::Conflict("the identifier, username or an attribute value is already taken".into())
            }
            other => UserError::Db(other),
        }
    }
}

/// Parses `TYPE=VALUE`.
pub fn parse_attribute(text: &str) -> Result<Attribute, UserError> {
    match text.split_once('=') {
        Some((t, v)) if !t.trim().is_empty() && !v.is_empty() => {
            Ok(Attribute { attr_type: t.trim().to_owned(), attr_data: v.to_owned() })
        }
        _ => Err(UserError::Invalid(format!("`{text}` is not TYPE=VALUE (e.g. email=ann@example.org)"))),
    }
}

async fn hash(password: Option<&str>) -> Result<Option<Option<String>>, UserError> {
    match password {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(p) => crate::auth::password::hash_async(p.to_owned())
            .await
            .map(|h| Some(Some(h)))
            .map_err(|e| UserError::Invalid(e.to_string())),
    }
}

/// Creates a user.
pub async fn add(db: &Db, change: &UserChange) -> Result<UserRecord, UserError> {
    let identifier = change
        .identifier
        .clone()
        .or_else(|| change.username.clone())
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| UserError::Invalid("an identifier (or a username) is required".into()))?;
    let password_hash = hash(change.password.as_deref()).await?.flatten();
    let username = change.username.clone().filter(|u| !u.is_empty());
    if password_hash.is_some() && username.is_none() {
        return Err(UserError::Invalid("a password needs a username to log in with".into()));
    }
    let mut tx = db.begin().await?;
    let uid = db::users::insert(tx.conn(), &identifier, username.as_deref(), password_hash.as_deref()).await?;
    db::users::set_attributes(tx.conn(), uid, &change.attributes).await?;
    tx.commit().await?;
    show(db, uid).await
}

/// Changes a user. A new password or login name ends every session the user has, so a
/// password changed because it leaked locks out whoever used it.
pub async fn update(db: &Db, uid: i64, change: &UserChange) -> Result<UserRecord, UserError> {
    let new_hash = hash(change.password.as_deref()).await?;
    let mut tx = db.begin().await?;
    let mut user = db::users::get(tx.conn(), uid).await?;
    let old_username = user.username.clone();
    if let Some(identifier) = &change.identifier {
        user.identifier = identifier.clone();
    }
    if let Some(username) = &change.username {
        user.username = Some(username.clone()).filter(|u| !u.is_empty());
    }
    let new_password = new_hash.is_some();
    if let Some(hash) = new_hash {
        user.password_hash = hash;
    }
    db::users::update(tx.conn(), &user).await?;
    db::users::set_attributes(tx.conn(), uid, &change.attributes).await?;
    if new_password || user.username != old_username {
        let name = old_username.as_deref().unwrap_or(&user.identifier);
        db::sessions::delete_for_user(tx.conn(), name, Some(uid)).await?;
    }
    tx.commit().await?;
    show(db, uid).await
}

/// Removes a user.
pub async fn remove(db: &Db, uid: i64) -> Result<(), UserError> {
    let mut conn = db.acquire().await?;
    Ok(db::users::remove(conn.conn(), uid).await?)
}

/// One user with attributes.
pub async fn show(db: &Db, uid: i64) -> Result<UserRecord, UserError> {
    let mut conn = db.acquire().await?;
    let user = db::users::get(conn.conn(), uid).await?;
    let attributes = db::users::attributes(conn.conn(), uid).await?;
    Ok(UserRecord { user, attributes })
}

/// Finds a user by uid, identifier or username.
pub async fn find(db: &Db, key: &str) -> Result<UserRecord, UserError> {
    let mut conn = db.acquire().await?;
    let user = match key.parse::<i64>() {
        Ok(uid) => db::users::get(conn.conn(), uid).await.ok(),
        Err(_) => None,
    };
    let user = match user {
        Some(u) => Some(u),
        None => match db::users::by_identifier(conn.conn(), key).await? {
            Some(u) => Some(u),
            None => db::users::by_username(conn.conn(), key).await?,
        },
    };
    let user = user.ok_or(UserError::NotFound)?;
    let attributes = db::users::attributes(conn.conn(), user.uid).await?;
    Ok(UserRecord { user, attributes })
}

/// Every user with attributes.
pub async fn list(db: &Db) -> Result<Vec<UserRecord>, UserError> {
    let mut conn = db.acquire().await?;
    let users = db::users::list(conn.conn()).await?;
    let mut attrs = db::users::all_attributes(conn.conn()).await?;
    Ok(users
        .into_iter()
        .map(|user| {
            let (mine, rest): (Vec<_>, Vec<_>) = attrs.drain(..).partition(|(uid, _)| *uid == user.uid);
            attrs = rest;
            UserRecord { user, attributes: mine.into_iter().map(|(_, a)| a).collect() }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_type_equals_value() {
        let a = parse_attribute("email=ann@example.org").unwrap();
        assert_eq!((a.attr_type.as_str(), a.attr_data.as_str()), ("email", "ann@example.org"));
        assert_eq!(parse_attribute("git=Ann <a@b>").unwrap().attr_data, "Ann <a@b>");
        assert!(parse_attribute("novalue=").is_err());
        assert!(parse_attribute("plain").is_err());
    }
}
