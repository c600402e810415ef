//! The HTTP server: one listener (or several, plain or TLS) serving the API, the hooks and
//! the SPA, with a graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::{Acceptor, AcceptorExt, BoxAcceptor, Listener, RustlsCertificate, RustlsConfig, TcpListener};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, Route, get, handler, post};

use crate::auth::Auth;
use crate::config::{Config, Listen, TlsFiles};
use crate::engine::Configured;
use crate::engine::Engine;
use crate::web::slow_clients::{ClientTimeouts, WriteDeadline};
use crate::{api, hooks, web};

#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// The whole HTTP surface of a master, made again from each configuration a reconfiguration
/// puts in place: a request is served whole by the surface of the configuration that was in
/// place when it arrived, so open event streams and worker connections carry on.
pub fn app(engine: Arc<Engine>) -> BoxEndpoint<'static> {
    let mut configs = engine.watch_configuration();
    let mut parts = Parts::default();
    let (current, endpoint) = tokio::sync::watch::channel(Arc::new(build(&engine, &mut parts)));
    let closing = engine.closing();
    tokio::spawn(async move {
        tokio::select! {
            _ = closing => {}
            _ = async {
                while configs.changed().await.is_ok() {
                    current.send_replace(Arc::new(build(&engine, &mut parts)));
                }
            } => {}
        }
    });
    Live { endpoint }.boxed()
}

/// What one surface hands to the next when unchanged: the access log's writer (one writer
/// per file) and the login limiter's memory of failed attempts.
#[derive(Default)]
struct Parts {
    access_log: Option<(crate::config::AccessLog, Arc<web::access_log::AccessLog>)>,
    auth: Option<Arc<Auth>>,
}

/// Serves each request with the surface in place when it arrives.
struct Live {
    endpoint: tokio::sync::watch::Receiver<Arc<BoxEndpoint<'static>>>,
}

impl poem::Endpoint for Live {
    type Output = poem::Response;

    async fn call(&self, req: poem::Request) -> poem::Result<poem::Response> {
        let endpoint = self.endpoint.borrow().clone();
        endpoint.call(req).await
    }
}

/// The surface of the configuration in place: the routes, the `public_html` files before
/// them, the access log around everything, and the security headers on every answer.
fn build(engine: &Arc<Engine>, parts: &mut Parts) -> BoxEndpoint<'static> {
    let config = engine.config();
    let web = &config.web;
    let public_html = web.public_html.as_deref().map(web::public_html::PublicHtml::new);
    let access_log = match (&web.access_log, parts.access_log.take()) {
        (Some(cfg), Some((old, log))) if *cfg == old => Some((old, log)),
        (Some(cfg), _) => match web::access_log::AccessLog::start(cfg) {
            Ok(log) => Some((cfg.clone(), Arc::new(log))),
            Err(e) => {
                tracing::error!(error = %e, path = %cfg.path.display(), "cannot open the access log");
                None
            }
        },
        (None, _) => None,
    };
    parts.access_log = access_log.clone();
    let auth = match parts.auth.take() {
        Some(auth) if auth.serves(&config) => auth,
        _ => Arc::new(Auth::new(config.clone(), engine.db.clone())),
    };
    parts.auth = Some(auth.clone());
    let metrics = engine.metrics.clone();
    let mut app = routes(engine.clone(), &config, auth)
        .around(web::public_html::serve)
        .around(api::limits::refuse_oversized)
        .boxed();
    if let Some(folder) = public_html {
        app = app.data(folder).boxed();
    }
    app = app
        .with(web::metrics::HttpMetrics(metrics))
        .around(web::request_id::trace)
        .around(web::access_log::record)
        .around(web::headers::secure)
        .boxed();
    if let Some((_, log)) = access_log {
        app = app.data(log).boxed();
    }
    app
}

fn routes(engine: Arc<Engine>, config: &Config, auth: Arc<Auth>) -> BoxEndpoint<'static> {
    let service = api::service();
    let hook_guard = Arc::new(hooks::auth::HookGuard::new(&config.change_hook));
    // The pages outside the API that show what the master knows answer only those who may
    // view, as the API does.
    let view = api::caller::view_guard;
    Route::new()
        .at("/api/v1/worker/connect", get(api::worker_socket::connect))
        .nest("/api/v1", service.around(api::caller::view_guard).around(api::limits::guard_api))
        .at("/api/openapi.json", get(web::api_docs::openapi_json))
        .nest("/api/docs", web::api_docs::endpoint())
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
/// addresses actually bound, in the order of `listen` (a port of 0 picks a free one). Each
/// TLS listener reads its certificate and key again at every reconfiguration, and each
/// connection gets the `[web] write_timeout` in place when it arrives.
pub async fn bind(
    listen: &[Listen],
    reloads: tokio::sync::watch::Receiver<Arc<Configured>>,
) -> std::io::Result<(impl Acceptor + 'static, Vec<String>)> {
    let mut entries = listen.iter().enumerate();
    let (_, first) = entries.next().ok_or_else(|| std::io::Error::other("no listen address configured"))?;
    let mut acceptor = acceptor(first, 0, reloads.clone()).await?;
    for (index, entry) in entries {
        acceptor = acceptor.combine(self::acceptor(entry, index, reloads.clone()).await?).boxed();
    }
    let bound =
        acceptor.local_addr().iter().map(|a| a.to_string().trim_start_matches("socket://").to_owned()).collect();
    Ok((acceptor, bound))
}

/// One bound socket, the `index`th of `listen`; a TLS one reads its certificate and key now
/// (see [`tls_config`]) and again after each reconfiguration.
async fn acceptor(
    entry: &Listen,
    index: usize,
    mut reloads: tokio::sync::watch::Receiver<Arc<Configured>>,
) -> std::io::Result<BoxAcceptor> {
    // Under TLS too: the deadline watches the socket, whatever is written on it.
    let tcp = TcpListener::bind(entry.addr.clone()).into_acceptor().await?;
    let tcp = WriteDeadline::new(tcp, ClientTimeouts(reloads.clone()));
    Ok(match &entry.tls {
        None => tcp.boxed(),
        Some(files) => {
            let first = tls_config(files)?;
            let configs = async_stream::stream! {
                yield first;
                while reloads.changed().await.is_ok() {
                    let files = reloads.borrow().config.web.listen.get(index).and_then(|l| l.tls.clone());
                    match files.map(|f| tls_config(&f)) {
                        Some(Ok(config)) => {
                            tracing::info!(index, "TLS certificate and key read again");
                            yield config;
                        }
                        Some(Err(error)) => tracing::error!(%error, "the TLS certificate or key cannot be read again; the old ones stay"),
                        None => {}
                    }
                }
                // The acceptor keeps the last configuration while the stream is pending.
                std::future::pending::<()>().await;
            };
            ConfigFirst { inner: tcp, waited: false }.rustls(Box::pin(configs)).boxed()
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

/// The largest request head (request line and headers) a connection takes, Tomcat's and
/// Jetty's default; a larger one is answered 431, and HTTP/2 holds its header lists to the
/// same size. On HTTP/1 it is also the ceiling of the connection's read buffer, and that is
/// why it is this size, hyper's smallest: the protocol check before hyper reads hands it a
/// connection's first 24 bytes on their own, and with room to grow, the 8 kB buffer those went
/// into doubled to take the rest, 16 kB held for as long as the connection stays open (an
/// event stream's whole life).
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long open requests may take to finish once the server stops.
const GRACE: Duration = Duration::from_secs(5);

/// Serves until `shutdown` resolves, then lets open requests finish for [`GRACE`].
///
/// Each connection is served by hyper and dropped as soon as hyper is done with it, with the
/// answer it was sending: an event stream or a followed log whose client went away ends at
/// once. (poem's own server serves a connection again after hyper gave it up, which kept such
/// answers open until their next write, up to a keep-alive period later.)
pub async fn serve(
    mut acceptor: impl Acceptor + 'static,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let endpoint = Arc::new(app(engine));
    let connections = tokio_util::task::TaskTracker::new();
    let stopping = tokio_util::sync::CancellationToken::new();
    let abandon = tokio_util::sync::CancellationToken::new();
    for addr in acceptor.local_addr() {
        tracing::info!(%addr, "listening");
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    let endpoint = endpoint.clone();
                    connections.spawn(connection(io, (local, remote, scheme), endpoint, stopping.clone(), abandon.clone()));
                }
                // A handshake that failed or a connection reset before it was accepted.
                Err(error) => tracing::debug!(%error, "a connection could not be accepted"),
            }
        }
    }
    drop(acceptor);
    stopping.cancel();
    connections.close();
    if tokio::time::timeout(GRACE, connections.wait()).await.is_err() {
        tracing::info!(connections = connections.len(), "closing the connections still open after the grace period");
        abandon.cancel();
        connections.wait().await;
    }
    Ok(())
}

/// Serves one connection until hyper is done with it, or until the server stops: then
/// the request under way may finish, until `abandon`.
async fn connection<Io>(
    io: Io,
    (local, remote, scheme): (LocalAddr, RemoteAddr, Scheme),
    endpoint: Arc<BoxEndpoint<'static>>,
    stopping: tokio_util::sync::CancellationToken,
    abandon: tokio_util::sync::CancellationToken,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let endpoint = endpoint.clone();
        let request = poem::Request::from((request, local.clone(), remote.clone(), scheme.clone()));
        // Boxed: hyper keeps a slot the size of this future for the connection's whole life,
        // so that an open event stream holds a pointer instead of the request's state.
        Box::pin(async move {
            let response = endpoint.get_response(request).await;
            Ok::<_, std::convert::Infallible>(hyper::Response::<http_body_util::combinators::BoxBody<_, _>>::from(
                response,
            ))
        })
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.http1().max_buf_size(MAX_REQUEST_HEAD);
    builder.http2().max_header_list_size(MAX_REQUEST_HEAD as u32);
    let connection = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        // Ended, or failed (the client went away): dropped, with whatever it was sending.
        _ = connection.as_mut() => return,
        _ = stopping.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection => {}
        _ = abandon.cancelled() => {}
    }
}
