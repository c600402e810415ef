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

/// An argon2id hash (of a password nobody has, with the default parameters) verified when
/// the user name is unknown, so that an unknown name costs the same time as a wrong
/// password and timing does not tell which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$tTZWcKhtXCjzgvg8CIkr5Q$nrJWHSFEt8b5zIlVHGX/GSE/TM2TrLx1eWr/Fvxdur8";

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
    /// How many password hashes were verified, whatever the outcome.
    verifications: std::sync::atomic::AtomicU64,
}

impl Auth {
    /// The sources `config` enables.
    pub fn new(config: Arc<Config>, db: Db) -> Auth {
        let htpasswd = config.auth.htpasswd.clone().map(htpasswd::Htpasswd::new);
        Auth { config, db, htpasswd, limiter: limiter::Limiter::default(), verifications: Default::default() }
    }

    /// Whether this is what `config` asks for (its `[auth]` and base URL are the ones
    /// served), so a reconfiguration that left them alone keeps it, and its memory of
    /// failed logins.
    pub fn serves(&self, config: &Config) -> bool {
        self.config.auth == config.auth && self.config.base_url == config.base_url
    }

    /// How many password hashes this has verified, right or wrong, known user or not.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a user name and password can log in at all here.
    pub fn password_login(&self) -> bool {
        !self.config.auth.users.is_empty() || self.htpasswd.is_some() || self.config.auth.db_users
    }

    /// The header a trusted proxy sets, if configured and `client` (the address the request
    /// came from) is one of `[auth] trusted_proxies`: anyone else could set it to any name.
    pub fn trusted_header_from(&self, client: Option<std::net::IpAddr>) -> Option<&str> {
        let header = self.config.auth.trusted_header.as_deref()?;
        let client = client?.to_canonical();
        self.config.auth.trusted_proxies.iter().any(|net| net.contains(&client)).then_some(header)
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
            let ok = self.verify(password, user.password_hash.clone()).await;
            return Ok(ok.then_some(None));
        }
        if let Some(file) = &self.htpasswd
            && let Some(hash) = file.hash_of(username)
        {
            return Ok(self.verify_htpasswd(password, hash).await.then_some(None));
        }
        if self.config.auth.db_users {
            let mut conn = self.db.acquire().await?;
            if let Some(user) = db::users::by_username(conn.conn(), username).await?
                && let Some(hash) = user.password_hash
            {
                let ok = self.verify(password, hash).await;
                return Ok(ok.then_some(Some(user.uid)));
            }
        }
        // Spend the same time on an unknown name as on a wrong password: against one of the
        // htpasswd file's own hashes when that file is where the users are.
        match self.htpasswd_stand_in() {
            Some(hash) => self.verify_htpasswd(password, hash).await,
            None => self.verify(password, DUMMY_HASH.to_owned()).await,
        };
        Ok(None)
    }

    /// The htpasswd hash an unknown name is verified against, when the users are in that
    /// file (and not also in the database, whose hashes are argon2 like the dummy).
    fn htpasswd_stand_in(&self) -> Option<String> {
        self.htpasswd.as_ref().filter(|_| !self.config.auth.db_users).and_then(htpasswd::Htpasswd::sample_hash)
    }

    /// Verifies `password` against an htpasswd hash (on the blocking pool), counted.
    async fn verify_htpasswd(&self, password: &str, hash: String) -> bool {
        let password = password.to_owned();
        self.verifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::spawn_blocking(move || htpasswd::verify(&password, &hash)).await.unwrap_or(false)
    }

    /// Verifies `password` against an argon2 hash (on the blocking pool), counted.
    async fn verify(&self, password: &str, hash: String) -> bool {
        self.verifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        password::verify_async(password.to_owned(), hash).await
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

    /// Which sessions are live at `now` under `[auth] session_idle_timeout` and
    /// `session_lifetime`.
    fn window(&self, now: i64) -> db::sessions::Window {
        let auth = &self.config.auth;
        db::sessions::Window {
            now,
            created_after: now.saturating_sub(auth.session_lifetime),
            seen_after: now.saturating_sub(auth.session_idle_timeout),
        }
    }

    /// Starts a session with fresh tokens; returns the cookie token and the CSRF token.
    /// `replaced` is the cookie the browser sent, if any: that session ends, so a token
    /// known before the login (one planted by someone else) never carries the login.
    pub async fn login(&self, who: &Identity, replaced: Option<&str>, now: i64) -> Result<(String, String), AuthError> {
        let (token, csrf) = (random_token(), random_token());
        let session = db::sessions::Session {
            uid: who.uid,
            username: who.username.clone(),
            csrf_token: csrf.clone(),
            expires_at: now.saturating_add(self.config.auth.session_lifetime),
        };
        let mut conn = self.db.acquire().await?;
        db::sessions::purge_expired(conn.conn(), self.window(now)).await?;
        if let Some(old) = replaced {
            db::sessions::delete(conn.conn(), &token_hash(old)).await?;
        }
        db::sessions::insert(conn.conn(), &token_hash(&token), &session, now).await?;
        Ok((token, csrf))
    }

    /// The identity and CSRF token of a live session, which counts as used now.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<(Identity, String)>, AuthError> {
        let hash = token_hash(token);
        let session = {
            let mut conn = self.db.acquire().await?;
            let session = db::sessions::get(conn.conn(), &hash, self.window(now)).await?;
            // Each use need not be written: a note every few seconds (at most a minute)
            // keeps the idle limit to within that much, without a write per request.
            let step = (self.config.auth.session_idle_timeout / 8).clamp(1, 60);
            if let Some(s) = &session
                && now - s.last_seen_at >= step
            {
                db::sessions::touch(conn.conn(), &hash, now).await?;
            }
            session
        };
        match session {
            Some(s) => Ok(Some((self.identity(&s.username, s.uid).await?, s.csrf_token))),
            None => Ok(None),
        }
    }

    /// Ends every session of a user, wherever they logged in; returns how many ended.
    pub async fn logout_everywhere(&self, username: &str, uid: Option<i64>) -> Result<u64, AuthError> {
        let mut conn = self.db.acquire().await?;
        Ok(db::sessions::delete_for_user(conn.conn(), username, uid).await?)
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
            Some(t) => {
                let max_age = self.config.auth.session_lifetime;
                format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
            }
            None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth(extra: &str) -> (Auth, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let hash = password::hash("right").unwrap();
        let text = format!(
            "[auth]\nusers = [{{ username = \"ann\", password_hash = \"{hash}\" }}]\n{extra}\n\
             [[workers]]\nname = \"w\"\nembedded = true\n\
             [[builders]]\nname = \"b\"\nworkers = [\"w\"]\nsteps = [{{ name = \"s\", command = \"true\" }}]\n"
        );
        let config = crate::config::parse(&text, &dir.path().join("cascade.toml")).unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
        db.migrate().await.unwrap();
        (Auth::new(Arc::new(config), db), dir)
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        assert!(DUMMY_HASH.starts_with("$argon2id$"));
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!password::verify("", DUMMY_HASH));
    }

    #[tokio::test]
    async fn an_unknown_user_costs_a_hash_verification_as_a_wrong_password_does() {
        for extra in ["", "db_users = true"] {
            let (auth, _dir) = auth(extra).await;
            assert_eq!(auth.verifications(), 0);
            let wrong = auth.check_password("ann", "wrong", "a1").await;
            assert!(matches!(wrong, Err(AuthError::BadCredentials)), "{wrong:?}");
            assert_eq!(auth.verifications(), 1, "a wrong password is verified ({extra})");
            let unknown = auth.check_password("nobody", "wrong", "a2").await;
            assert!(matches!(unknown, Err(AuthError::BadCredentials)), "{unknown:?}");
            assert_eq!(auth.verifications(), 2, "an unknown user is verified against the dummy hash ({extra})");
            assert!(auth.check_password("ann", "right", "a3").await.is_ok());
            assert_eq!(auth.verifications(), 3);
        }
    }

    #[tokio::test]
    async fn an_unknown_name_costs_what_the_htpasswd_files_hashes_cost() {
        let bcrypt = "$2b$12$vAjigT9GEThiV/S0xsx2OeG2frBrFI.9PRojDoZZ5xgziRAWwL4Ni";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.htpasswd");
        std::fs::write(&file, format!("zed:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob:{bcrypt}\n")).unwrap();
        let (file_only, _dir) = auth(&format!("htpasswd = \"{}\"", file.display())).await;
        assert_eq!(file_only.htpasswd_stand_in().as_deref(), Some(bcrypt), "the first name's hash stands in");
        let unknown = file_only.check_password("nobody", "secret", "a1").await;
        assert!(matches!(unknown, Err(AuthError::BadCredentials)), "{unknown:?}");
        assert_eq!(file_only.verifications(), 1);
        assert!(file_only.check_password("bob", "secret", "a2").await.is_ok());
        let (both, _dir) = auth(&format!("htpasswd = \"{}\"\ndb_users = true", file.display())).await;
        assert_eq!(both.htpasswd_stand_in(), None, "database users are argon2, as the dummy is");
    }

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
