//! Who you are: password stores (config users, an htpasswd file, database users), a trusted
//! proxy header, HTTP Basic, and sessions kept in the database; what you may do is decided
//! in `authz`. Nothing here knows HTTP beyond the cookie's text.

pub mod authz;
pub mod htpasswd;
pub mod limiter;
pub mod password;
pub mod users;

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::db::{self, Db, DbError};

/// The session cookie's name.
pub const COOKIE: &str = "cascade_session";
/// How long a session lasts, in seconds (two weeks, as Buildbot's cookie).
pub const SESSION_SECONDS: i64 = 14 * 86_400;

/// Someone the master knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The login name.
    pub username: String,
    /// The database user, when there is one.
    pub uid: Option<i64>,
    /// Their roles (from `[authz] roles` and the user's `role` attributes).
    pub roles: Vec<String>,
}

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many failures lately.
    #[error("too many failed logins; try again in {0} seconds")]
    RateLimited(u64),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The authentication sources of one configuration.
#[derive(Debug)]
pub struct Auth {
    config: Arc<Config>,
    db: Db,
    htpasswd: Option<htpasswd::Htpasswd>,
    limiter: limiter::Limiter,
    /// A valid hash verified when the user is unknown, so timing does not reveal names
    /// (made on first need: hashing costs memory and time the master need not spend at start).
    dummy_hash: std::sync::OnceLock<String>,
}

impl Auth {
    /// The sources `config` enables.
    pub fn new(config: Arc<Config>, db: Db) -> Auth {
        let htpasswd = config.auth.htpasswd.clone().map(htpasswd::Htpasswd::new);
        Auth { config, db, htpasswd, limiter: limiter::Limiter::default(), dummy_hash: std::sync::OnceLock::new() }
    }

    /// Whether this is what `config` asks for (its `[auth]` and base URL are the ones
    /// served), so a reconfiguration that left them alone keeps it, and its memory of
    /// failed logins.
    pub fn serves(&self, config: &Config) -> bool {
        self.config.auth == config.auth && self.config.base_url == config.base_url
    }

    /// Whether a user name and password can log in at all here.
    pub fn password_login(&self) -> bool {
        !self.config.auth.users.is_empty() || self.htpasswd.is_some() || self.config.auth.db_users
    }

    /// The header a trusted proxy sets, if configured.
    pub fn trusted_header(&self) -> Option<&str> {
        self.config.auth.trusted_header.as_deref()
    }

    /// Where anonymous users log in, if not with the form.
    pub fn login_url(&self) -> Option<&str> {
        self.config.auth.login_url.as_deref()
    }

    /// Checks a user name and password against every enabled source, rate-limited per
    /// user and per client address.
    pub async fn check_password(&self, username: &str, password: &str, addr: &str) -> Result<Identity, AuthError> {
        let keys = [format!("user:{username}"), format!("addr:{addr}")];
        let now = Instant::now();
        self.limiter.check(&keys, now).map_err(AuthError::RateLimited)?;
        match self.find_and_verify(username, password).await? {
            Some(uid) => {
                self.limiter.clear(&keys[0]);
                self.identity(username, uid).await
            }
            None => {
                self.limiter.fail(&keys, now);
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// `Some(uid)` when the password is right (`uid` set for database users).
    async fn find_and_verify(&self, username: &str, password: &str) -> Result<Option<Option<i64>>, AuthError> {
        if let Some(user) = self.config.auth.users.iter().find(|u| u.username == username) {
            let ok = password::verify_async(password.to_owned(), user.password_hash.clone()).await;
            return Ok(ok.then_some(None));
        }
        if let Some(file) = &self.htpasswd
            && let Some(hash) = file.hash_of(username)
        {
            let password = password.to_owned();
            let ok = tokio::task::spawn_blocking(move || htpasswd::verify(&password, &hash)).await.unwrap_or(false);
            return Ok(ok.then_some(None));
        }
        if self.config.auth.db_users {
            let mut conn = self.db.acquire().await?;
            if let Some(user) = db::users::by_username(conn.conn(), username).await?
                && let Some(hash) = user.password_hash
            {
                let ok = password::verify_async(password.to_owned(), hash).await;
                return Ok(ok.then_some(Some(user.uid)));
            }
        }
        // Spend the same time on an unknown name as on a wrong password.
        let dummy = self.dummy_hash.get_or_init(|| password::hash("not a password").unwrap_or_default()).clone();
        password::verify_async(password.to_owned(), dummy).await;
        Ok(None)
    }

    /// The identity of a user already authenticated (by password, session or proxy):
    /// their roles from `[authz] roles` and from their `role` attributes.
    pub async fn identity(&self, username: &str, uid: Option<i64>) -> Result<Identity, AuthError> {
        let mut roles: Vec<String> = self
            .config
            .authz
            .roles
            .iter()
            .filter(|(_, members)| members.iter().any(|m| m == username))
            .map(|(role, _)| role.clone())
            .collect();
        let mut conn = self.db.acquire().await?;
        let uid = match uid {
            Some(uid) => Some(uid),
            None => db::users::by_username(conn.conn(), username).await?.map(|u| u.uid),
        };
        if let Some(uid) = uid {
            for attr in db::users::attributes(conn.conn(), uid).await? {
                if attr.attr_type == "role" && !roles.contains(&attr.attr_data) {
                    roles.push(attr.attr_data);
                }
            }
        }
        roles.sort();
        Ok(Identity { username: username.to_owned(), uid, roles })
    }

    /// The identity of the user with an attribute (`irc` nick, ...) of this value, compared
    /// without case; `None` when no user has it.
    pub async fn identity_by_attribute(&self, attr_type: &str, value: &str) -> Result<Option<Identity>, AuthError> {
        let user = {
            let mut conn = self.db.acquire().await?;
            db::users::by_attribute(conn.conn(), attr_type, value).await?
        };
        let Some(user) = user else { return Ok(None) };
        let name = user.username.unwrap_or(user.identifier);
        Ok(Some(self.identity(&name, Some(user.uid)).await?))
    }

    /// Starts a session; returns the cookie token and the CSRF token.
    pub async fn login(&self, who: &Identity, now: i64) -> Result<(String, String), AuthError> {
        let (token, csrf) = (random_token(), random_token());
        let session = db::sessions::Session {
            uid: who.uid,
            username: who.username.clone(),
            csrf_token: csrf.clone(),
            expires_at: now + SESSION_SECONDS,
        };
        let mut conn = self.db.acquire().await?;
        db::sessions::purge_expired(conn.conn(), now).await?;
        db::sessions::insert(conn.conn(), &token_hash(&token), &session, now).await?;
        Ok((token, csrf))
    }

    /// The identity and CSRF token of a live session.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<(Identity, String)>, AuthError> {
        let session = {
            let mut conn = self.db.acquire().await?;
            db::sessions::get(conn.conn(), &token_hash(token), now).await?
        };
        match session {
            Some(s) => Ok(Some((self.identity(&s.username, s.uid).await?, s.csrf_token))),
            None => Ok(None),
        }
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        let mut conn = self.db.acquire().await?;
        db::sessions::delete(conn.conn(), &token_hash(token)).await?;
        Ok(())
    }

    /// The `Set-Cookie` value for a session token (`None` clears the cookie).
    pub fn cookie(&self, token: Option<&str>) -> String {
        let secure = if self.config.base_url.starts_with("https://") { "; Secure" } else { "" };
        match token {
            Some(t) => format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{secure}"),
            None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
