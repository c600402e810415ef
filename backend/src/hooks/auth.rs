//! `[change_hook] auth`: HTTP Basic in front of every dialect, from an htpasswd file or
//! from users listed in the configuration (Buildbot's `change_hook_auth`).

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Request, Response};

use crate::auth::htpasswd::{self, Htpasswd};
use crate::config::{ChangeHookConfig, HookAuth, HookUser};

/// The check in front of the hooks.
#[derive(Debug)]
pub enum HookGuard {
    /// Anyone may post.
    Open,
    /// Users of an htpasswd file (re-read when it changes).
    File(Htpasswd),
    /// Users listed in the configuration.
    Users(Vec<HookUser>),
}

impl HookGuard {
    /// The guard `[change_hook] auth` asks for.
    pub fn new(cfg: &ChangeHookConfig) -> HookGuard {
        match &cfg.auth {
            None => HookGuard::Open,
            Some(HookAuth::Htpasswd(path)) => HookGuard::File(Htpasswd::new(path.clone())),
            Some(HookAuth::Users(users)) => HookGuard::Users(users.clone()),
        }
    }

    /// `Err(401 answer)` unless the request carries valid Basic credentials (or the hooks are open).
    pub async fn check(&self, req: &Request) -> Result<(), Response> {
        if matches!(self, HookGuard::Open) {
            return Ok(());
        }
        let ok = match basic(req) {
            None => false,
            Some((user, password)) => match self {
                HookGuard::Open => true,
                HookGuard::File(file) => match file.hash_of(&user) {
                    Some(hash) => {
                        tokio::task::spawn_blocking(move || htpasswd::verify(&password, &hash)).await.unwrap_or(false)
                    }
                    None => false,
                },
                HookGuard::Users(users) => users.iter().any(|u| {
                    u.username == user
                        && u.password
                            .resolve()
                            .is_ok_and(|p| crate::auth::constant_time_eq(p.as_bytes(), password.as_bytes()))
                }),
            },
        };
        if ok {
            return Ok(());
        }
        let body = serde_json::json!({ "error": "unauthorized", "message": "the change hooks need HTTP Basic credentials ([change_hook] auth)" });
        Err((StatusCode::UNAUTHORIZED, poem::web::Json(body))
            .with_header(header::WWW_AUTHENTICATE, r#"Basic realm="cascade change hooks""#)
            .into_response())
    }
}

fn basic(req: &Request) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
