//! Who is calling: resolved once per request from a trusted proxy's header (believed only
//! from `[auth] trusted_proxies`), HTTP Basic credentials or the session cookie, by the
//! `Caller` extractor that action handlers take.

use std::sync::Arc;

use poem::http::Method;
use poem::{FromRequest, Request, RequestBody};

use crate::auth::{Auth, AuthError, COOKIE, Identity};

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// Nothing: anonymous.
    Nobody,
    /// The trusted proxy's header.
    Header,
    /// HTTP Basic on this request.
    Basic,
    /// The session cookie; state-changing requests must carry its CSRF token.
    Session {
        /// The session's cookie token.
        token: String,
        /// The CSRF token the request must echo.
        csrf: String,
        /// Whether it did.
        csrf_ok: bool,
    },
}

/// The caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who, if anyone.
    pub identity: Option<Identity>,
    /// How.
    pub via: Via,
    /// Credentials were offered but refused (wrong password, rate-limited, store down).
    pub refused: Option<Arc<AuthError>>,
}

impl Caller {
    fn anonymous() -> Caller {
        Caller { identity: None, via: Via::Nobody, refused: None }
    }

    /// The caller's user name, if logged in.
    pub fn username(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.username.as_str())
    }

    /// The answer to give a caller whose credentials were refused.
    pub fn refusal(&self) -> Option<super::ApiError> {
        self.refused.as_deref().map(super::ApiError::from)
    }

    /// The caller's roles.
    pub fn roles(&self) -> &[String] {
        self.identity.as_ref().map(|i| i.roles.as_slice()).unwrap_or(&[])
    }
}

/// The value of cookie `name` the request carries.
pub(super) fn cookie_value(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = req.headers().get(poem::http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The client's address, for rate limiting.
pub fn client_addr(req: &Request) -> String {
    req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

/// Where the access log learns who a request was authenticated as: its middleware puts an
/// empty one in the request's extensions, and [`resolve`] fills it in.
#[derive(Clone, Debug, Default)]
pub struct AuthenticatedAs(Arc<std::sync::OnceLock<String>>);

impl AuthenticatedAs {
    /// The user, once a login was checked.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Notes that `req` was authenticated as `user`.
    pub fn note(req: &Request, user: &str) {
        if let Some(slot) = req.extensions().get::<AuthenticatedAs>() {
            let _ = slot.0.set(user.to_owned());
        }
    }
}

/// Resolves the caller of `req`.
pub async fn resolve(req: &Request, auth: &Auth) -> Caller {
    let caller = identify(req, auth).await;
    if let Some(user) = caller.username() {
        AuthenticatedAs::note(req, user);
    }
    caller
}

async fn identify(req: &Request, auth: &Auth) -> Caller {
    let mut caller = Caller::anonymous();
    let refuse = |caller: &mut Caller, e: AuthError| caller.refused = Some(Arc::new(e));
    // From an address not listed in `trusted_proxies` the header is ignored, whatever it says.
    if let Some(header) = auth.trusted_header_from(req.remote_addr().as_socket_addr().map(|a| a.ip()))
        && let Some(user) = req.headers().get(header).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty())
    {
        match auth.identity(user, None).await {
            Ok(identity) => {
                caller.identity = Some(identity);
                caller.via = Via::Header;
            }
            Err(e) => refuse(&mut caller, e),
        }
        return caller;
    }
    if let Some((user, password)) = basic_credentials(req) {
        match auth.check_password(&user, &password, &client_addr(req)).await {
            Ok(identity) => {
                caller.identity = Some(identity);
                caller.via = Via::Basic;
            }
            Err(e) => refuse(&mut caller, e),
        }
        return caller;
    }
    if let Some(token) = cookie_value(req, COOKIE) {
        match auth.session(&token, chrono::Utc::now().timestamp()).await {
            Ok(Some((identity, csrf))) => {
                let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
                let csrf_ok = safe || crate::auth::constant_time_eq(sent.as_bytes(), csrf.as_bytes());
                caller.identity = Some(identity);
                caller.via = Via::Session { token, csrf, csrf_ok };
            }
            Ok(None) => {}
            Err(e) => refuse(&mut caller, e),
        }
    }
    caller
}

impl<'a> FromRequest<'a> for Caller {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        // The view guard may have resolved it already; credentials are checked once.
        if let Some(caller) = req.extensions().get::<Caller>() {
            return Ok(caller.clone());
        }
        match req.data::<Arc<Auth>>() {
            Some(auth) => Ok(resolve(req, auth).await),
            None => Ok(Caller::anonymous()),
        }
    }
}

/// Paths under `/api/v1` that anonymous clients reach even when `view` needs a login: the
/// session and login endpoints (how else would they log in?) and the workers' socket,
/// which has its own password check.
fn open_path(path: &str) -> bool {
    // Inside the nested API service the `/api/v1` prefix is already stripped.
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    ["/session", "/login", "/logout", "/worker/connect"].contains(&path)
}

/// Middleware: when `[authz] view` is not open to everybody, API requests from callers who
/// may not view are answered 401/403 before reaching any handler.
pub async fn view_guard<E: poem::Endpoint>(next: E, mut req: Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    let (Some(engine), Some(auth)) =
        (req.data::<Arc<crate::engine::Engine>>().cloned(), req.data::<Arc<Auth>>().cloned())
    else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    if engine.config().authz.view == crate::config::AuthzRule::Allow || open_path(req.uri().path()) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let caller = resolve(&req, &auth).await;
    if let Err(e) = super::authz::require(&engine, &caller, crate::auth::authz::Action::View, None) {
        return Ok(e.into_response());
    }
    req.extensions_mut().insert(caller);
    next.call(req).await.map(IntoResponse::into_response)
}
