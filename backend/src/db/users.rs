//! Users and their attributes (email, git author, irc nick, role ...).

use std::collections::HashMap;

use sqlx::FromRow;

use super::query::Query;
use super::{Conn, DbResult, on_conn};

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct User {
    /// Its id.
    pub uid: i64,
    /// A unique identifier (often the email or the VCS name).
    pub identifier: String,
    /// The login name, if the user can log in.
    pub username: Option<String>,
    /// argon2id hash of the password.
    pub password_hash: Option<String>,
}

/// One attribute of a user.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Attribute {
    /// Its type: email, git, svn, irc, role ...
    pub attr_type: String,
    /// Its value.
    pub attr_data: String,
}

const INSERT: &str = "insert into users (identifier, username, password_hash) values ($1, $2, $3) returning uid";

/// Creates a user; a taken identifier or username is a `Conflict`.
pub async fn insert(
    conn: Conn<'_>,
    identifier: &str,
    username: Option<&str>,
    password_hash: Option<&str>,
) -> DbResult<i64> {
    Ok(
        on_conn!(conn, c => sqlx::query_scalar(INSERT).bind(identifier).bind(username).bind(password_hash).fetch_one(&mut *c).await?),
    )
}

const UPDATE: &str = "update users set identifier = $2, username = $3, password_hash = $4 where uid = $1";

/// Replaces a user's identifier, username and password hash.
pub async fn update(conn: Conn<'_>, user: &User) -> DbResult<()> {
    let n = on_conn!(conn, c => sqlx::query(UPDATE).bind(user.uid).bind(&user.identifier).bind(&user.username).bind(&user.password_hash).execute(&mut *c).await?.rows_affected());
    if n == 0 { Err(super::DbError::NotFound) } else { Ok(()) }
}

const REMOVE: &str = "delete from users where uid = $1";

/// Deletes a user (its attributes and sessions go with it).
pub async fn remove(conn: Conn<'_>, uid: i64) -> DbResult<()> {
    let n = on_conn!(conn, c => sqlx::query(REMOVE).bind(uid).execute(&mut *c).await?.rows_affected());
    if n == 0 { Err(super::DbError::NotFound) } else { Ok(()) }
}

const GET: &str = "select uid, identifier, username, password_hash from users where uid = $1";
const BY_USERNAME: &str = "select uid, identifier, username, password_hash from users where username = $1";
const BY_IDENTIFIER: &str = "select uid, identifier, username, password_hash from users where identifier = $1";
const LIST: &str = "select uid, identifier, username, password_hash from users order by uid";

/// A user by id.
pub async fn get(conn: Conn<'_>, uid: i64) -> DbResult<User> {
    Ok(on_conn!(conn, c => sqlx::query_as(GET).bind(uid).fetch_one(&mut *c).await?))
}

/// A user by login name.
pub async fn by_username(conn: Conn<'_>, username: &str) -> DbResult<Option<User>> {
    Ok(on_conn!(conn, c => sqlx::query_as(BY_USERNAME).bind(username).fetch_optional(&mut *c).await?))
}

/// A user by identifier.
pub async fn by_identifier(conn: Conn<'_>, identifier: &str) -> DbResult<Option<User>> {
    Ok(on_conn!(conn, c => sqlx::query_as(BY_IDENTIFIER).bind(identifier).fetch_optional(&mut *c).await?))
}

// Nicks and addresses are compared without case: IRC nicks are case-insensitive.
const BY_ATTRIBUTE: &str = "select u.uid, u.identifier, u.username, u.password_hash from users u \
    join user_attributes a on a.uid = u.uid where a.attr_type = $1 and lower(a.attr_data) = lower($2) \
    order by u.uid limit 1";

/// The user with an attribute (`irc` nick, `email` ...) of this value, if any.
pub async fn by_attribute(conn: Conn<'_>, attr_type: &str, value: &str) -> DbResult<Option<User>> {
    Ok(on_conn!(conn, c => sqlx::query_as(BY_ATTRIBUTE).bind(attr_type).bind(value).fetch_optional(&mut *c).await?))
}

/// Every user, by id.
pub async fn list(conn: Conn<'_>) -> DbResult<Vec<User>> {
    Ok(on_conn!(conn, c => sqlx::query_as(LIST).fetch_all(&mut *c).await?))
}

const ATTRIBUTES: &str =
    "select attr_type, attr_data from user_attributes where uid = $1 order by attr_type, attr_data";
const ALL_ATTRIBUTES: &str = "select uid, attr_type, attr_data from user_attributes order by uid, attr_type, attr_data";
const SET_ATTRIBUTE: &str = "insert into user_attributes (uid, attr_type, attr_data) values ($1, $2, $3)";
const CLEAR_TYPE: &str = "delete from user_attributes where uid = $1 and attr_type = $2";

/// A user's attributes.
pub async fn attributes(conn: Conn<'_>, uid: i64) -> DbResult<Vec<Attribute>> {
    Ok(on_conn!(conn, c => sqlx::query_as(ATTRIBUTES).bind(uid).fetch_all(&mut *c).await?))
}

/// Every user's attributes, as (uid, attribute).
pub async fn all_attributes(conn: Conn<'_>) -> DbResult<Vec<(i64, Attribute)>> {
    let rows: Vec<(i64, String, String)> =
        on_conn!(conn, c => sqlx::query_as(ALL_ATTRIBUTES).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(|(uid, attr_type, attr_data)| (uid, Attribute { attr_type, attr_data })).collect())
}

/// Sets attributes: each given type's old values are replaced by the new ones. An attribute
/// value already held by another user is a `Conflict` (it identifies one person).
pub async fn set_attributes(conn: Conn<'_>, uid: i64, attributes: &[Attribute]) -> DbResult<()> {
    on_conn!(conn, c => {
        let mut types: Vec<&str> = attributes.iter().map(|a| a.attr_type.as_str()).collect();
        types.dedup();
        for t in types {
            sqlx::query(CLEAR_TYPE).bind(uid).bind(t).execute(&mut *c).await?;
        }
        for a in attributes {
            sqlx::query(SET_ATTRIBUTE).bind(uid).bind(&a.attr_type).bind(&a.attr_data).execute(&mut *c).await?;
        }
    });
    Ok(())
}

/// The `email` attribute of the users that `names` designate, as name → address. A name
/// designates a user when it is the user's identifier, login name or the value of one of
/// the user's attributes (a `git` attribute "Ann <ann@example.org>", an `svn` login ...),
/// which is how a change's author is tied to a person. A user with several addresses gives
/// the first in order; names that designate nobody with an address are left out.
pub async fn emails_of(conn: Conn<'_>, names: &[String]) -> DbResult<HashMap<String, String>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Query::new("select m.name, e.attr_data from (");
    let by_attribute = q.bind_list(names.iter().map(String::as_str));
    let by_identifier = q.bind_list(names.iter().map(String::as_str));
    let by_username = q.bind_list(names.iter().map(String::as_str));
    q.push(&format!(
        "select attr_data as name, uid from user_attributes where attr_data in ({by_attribute}) \
         union select identifier, uid from users where identifier in ({by_identifier}) \
         union select username, uid from users where username in ({by_username})) m \
         join user_attributes e on e.uid = m.uid and e.attr_type = 'email' order by m.name, e.attr_data"
    ));
    let rows: Vec<(String, String)> = q.fetch_all(conn).await?;
    let mut out = HashMap::new();
    for (name, email) in rows {
        out.entry(name).or_insert(email);
    }
    Ok(out)
}
