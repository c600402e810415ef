//! The HTTP server: one listener (or several, plain or TLS) serving the API, the hooks and
//! the SPA, with a graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::{Acceptor, AcceptorExt, BoxAcceptor, Listener, RustlsCertificate, RustlsConfig, TcpListener};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{EndpointExt, Route, get, handler, post};

use crate::auth::Auth;
use crate::config::{Listen, TlsFiles};
use crate::engine::Engine;
use crate::{api, hooks, web};

#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// The whole HTTP surface of a master: the routes, the `public_html` files before them, and
/// the access log around everything.
pub fn app(engine: Arc<Engine>) -> BoxEndpoint<'static> {
    let web = &engine.config.web;
    let public_html = web.public_html.as_deref().map(web::public_html::PublicHtml::new);
    let access_log = web.access_log.as_ref().and_then(|cfg| match web::access_log::AccessLog::start(cfg) {
        Ok(log) => Some(Arc::new(log)),
        Err(e) => {
            tracing::error!(error = %e, path = %cfg.path.display(), "cannot open the access log");
            None
        }
    });
    let metrics = engine.metrics.clone();
    let mut app = routes(engine).around(web::public_html::serve).boxed();
    if let Some(folder) = public_html {
        app = app.data(folder).boxed();
    }
    app = app
        .with(web::metrics::HttpMetrics(metrics))
        .around(web::request_id::trace)
        .around(web::access_log::record)
        .boxed();
    if let Some(log) = access_log {
        app = app.data(log).boxed();
    }
    app
}

fn routes(engine: Arc<Engine>) -> BoxEndpoint<'static> {
    let service = api::service();
    let spec = service.spec_endpoint();
    let docs = service.swagger_ui();
    let auth = Arc::new(Auth::new(engine.config.clone(), engine.db.clone()));
    let hook_guard = Arc::new(hooks::auth::HookGuard::new(&engine.config.change_hook));
    // The pages outside the API that show what the master knows answer only those who may
    // view, as the API does.
    let view = api::caller::view_guard;
    Route::new()
        .at("/api/v1/worker/connect", get(api::worker_socket::connect))
        .nest("/api/v1", service.around(api::caller::view_guard))
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .at("/change_hook/:dialect", post(hooks::change_hook).get(hooks::change_hook))
        .at("/healthz", get(healthz))
        .at("/robots.txt", get(web::spa::robots))
        .at("/builders/:builder/builds/:number/steps/:step/logs/:log/text", get(api::logs::log_text).around(view))
        .at("/rss", get(web::feeds::rss_feed).around(view))
        .at("/atom", get(web::feeds::atom_feed).around(view))
        .at("/png", get(web::badges::png_status).around(view))
        .at("/badges/:file", get(web::badges::badge_image).around(view))
        .at("/plots/builders/:builder/:plot", get(web::plots::builder_plot).around(view))
        .at("/json", get(web::json::json_status).around(view))
        .at("/json/*path", get(web::json::json_status).around(view))
        .at("/metrics", get(web::metrics::metrics_text).around(view))
        .at("/*", get(web::spa::serve))
        .at("/", get(web::spa::serve))
        .data(engine)
        .data(auth)
        .data(hook_guard)
        .data(Arc::new(web::badges::Renders::default()))
        .boxed()
}

/// Binds every listen address, with TLS where configured, and returns the acceptor and the
/// addresses actually bound, in the order of `listen` (a port of 0 picks a free one).
pub async fn bind(listen: &[Listen]) -> std::io::Result<(impl Acceptor + 'static, Vec<String>)> {
    let mut entries = listen.iter();
    let first = entries.next().ok_or_else(|| std::io::Error::other("no listen address configured"))?;
    let mut acceptor = acceptor(first).await?;
    for entry in entries {
        acceptor = acceptor.combine(self::acceptor(entry).await?).boxed();
    }
    let bound =
        acceptor.local_addr().iter().map(|a| a.to_string().trim_start_matches("socket://").to_owned()).collect();
    Ok((acceptor, bound))
}

/// One bound socket; a TLS one reads its certificate and key now (see [`tls_config`]).
async fn acceptor(entry: &Listen) -> std::io::Result<BoxAcceptor> {
    let tcp = TcpListener::bind(entry.addr.clone()).into_acceptor().await?;
    Ok(match &entry.tls {
        None => tcp.boxed(),
        Some(files) => {
            let config = futures::stream::once(std::future::ready(tls_config(files)?));
            ConfigFirst { inner: tcp, waited: false }.rustls(config).boxed()
        }
    })
}

/// Holds back the first accept by one turn of the scheduler. poem's rustls acceptor races its
/// configuration stream against the socket and refuses a connection that wins before the
/// configuration is loaded; clients that connect as soon as the address is printed would be
/// reset. Yielding once lets the configuration, ready at once, win that first race.
struct ConfigFirst<A> {
    inner: A,
    waited: bool,
}

impl<A: Acceptor> Acceptor for ConfigFirst<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(A::Io, LocalAddr, RemoteAddr, Scheme)> {
        if !self.waited {
            tokio::task::yield_now().await;
            self.waited = true;
        }
        self.inner.accept().await
    }
}

/// Reads a listener's certificate and key into a rustls configuration. Kept apart so that a
/// reconfiguration can call it again to serve renewed certificates.
pub fn tls_config(files: &TlsFiles) -> std::io::Result<RustlsConfig> {
    let pem = files.load().map_err(std::io::Error::other)?;
    Ok(RustlsConfig::new().fallback(RustlsCertificate::new().cert(pem.cert).key(pem.key)))
}

/// Serves until `shutdown` resolves, then lets open requests finish for a few seconds.
pub async fn serve(
    acceptor: impl Acceptor + 'static,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app(engine), shutdown, Some(Duration::from_secs(5)))
        .await
}
