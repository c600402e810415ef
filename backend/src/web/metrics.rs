//! `/metrics`: this master's counts for Prometheus, with the gauges read from the database
//! and the engine at scrape time, and the middleware that counts HTTP requests by the route
//! they matched. The metrics themselves are defined in [`crate::metrics`].

use std::sync::Arc;
use std::time::Instant;

use poem::PathPattern;
use poem::http::header;
use poem::web::Data;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, handler};

use super::failed;
use crate::db;
use crate::engine::{Engine, EngineError};
use crate::metrics::{CONTENT_TYPE, Metrics, Scrape, method_label};

/// The metrics, as OpenMetrics text.
#[handler]
pub async fn metrics_text(engine: Data<&Arc<Engine>>) -> Response {
    let scrape = match scrape(&engine).await {
        Ok(s) => s,
        Err(e) => return failed("reading the metrics' gauges", &e),
    };
    match engine.metrics.encode(&scrape) {
        Ok(text) => Response::builder().header(header::CONTENT_TYPE, CONTENT_TYPE).body(text),
        Err(e) => failed("encoding the metrics", &e),
    }
}

/// The gauges, read now: two cheap grouped counts and the engine's own state.
async fn scrape(engine: &Engine) -> Result<Scrape, EngineError> {
    let mut conn = engine.db.acquire().await?;
    let pending = db::buildrequests::pending_counts(conn.conn()).await?;
    let outbox_pending = db::outbox::pending_by_reporter(conn.conn()).await?;
    drop(conn);
    // Every configured builder has a series, at 0 when nothing waits for it.
    let pending_requests = engine
        .config()
        .builders
        .iter()
        .map(|b| {
            let n = engine.builder_id(&b.name).and_then(|id| pending.get(&id.0)).copied().unwrap_or(0);
            (b.name.clone(), n)
        })
        .collect();
    let workers_connected = engine.workers.statuses().iter().filter(|w| w.connected).count();
    Ok(Scrape {
        pending_requests,
        workers_connected: i64::try_from(workers_connected).unwrap_or(i64::MAX),
        builds_running: i64::try_from(engine.shutdown_status().1).unwrap_or(i64::MAX),
        outbox_pending,
        pool: engine.db.connections(),
    })
}

/// Counts every request by method, the pattern of the route that matched it (poem leaves
/// it on the response), and status, and times it until its headers are ready. Requests no
/// route matched, such as `public_html` files, count as route `other`.
pub struct HttpMetrics(pub Arc<Metrics>);

impl<E: Endpoint> Middleware<E> for HttpMetrics {
    type Output = HttpMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HttpMetricsEndpoint { inner, metrics: self.0.clone() }
    }
}

/// The endpoint [`HttpMetrics`] makes.
pub struct HttpMetricsEndpoint<E> {
    inner: E,
    metrics: Arc<Metrics>,
}

impl<E: Endpoint> Endpoint for HttpMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let method = method_label(req.method().as_str());
        let started = Instant::now();
        let result = self.inner.call(req).await.map(IntoResponse::into_response);
        let (status, pattern) = match &result {
            Ok(resp) => (resp.status(), resp.data::<PathPattern>()),
            Err(err) => (err.status(), err.data::<PathPattern>()),
        };
        let route = pattern.map_or_else(|| self.metrics.no_route(), |p| p.0.clone());
        self.metrics.http_request(method, route, status.as_u16(), started.elapsed().as_secs_f64());
        result
    }
}
