//! The master's Prometheus metrics: the counters and histograms the engine, the hooks, the
//! outbox senders, the event streams and the HTTP layer update as things happen, and the
//! encoding of them, with the gauges read at scrape time, as OpenMetrics text. Each
//! [`crate::engine::Engine`] owns one [`Metrics`], so several masters in one process
//! (as in the tests) never share counts. What an event means for the counts lives with the
//! code that publishes it; reading the database for the gauges lives in `web::metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The media type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Builds and steps last from seconds to hours.
const DURATION_BUCKETS: [f64; 14] =
    [1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0];

/// Most HTTP answers take milliseconds; log pages and plots may take seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A builder.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuilderLabels {
    /// Its name.
    pub builder: String,
}

/// A builder and a build's result (`success`, `failure`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// The builder's name.
    pub builder: String,
    /// The result's name.
    pub result: String,
}

/// What a hook delivery came to.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    /// The dialect, or `other` for a name that is no dialect.
    pub dialect: String,
    /// `accepted` (changes stored), `ignored` (no change in it) or `refused`.
    pub outcome: String,
    /// The answer's status class: `2xx`, `4xx` or `5xx`.
    pub status: String,
}

/// A failed delivery of a reporter's message.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The reporter's name.
    pub reporter: String,
    /// `transient` (retried later) or `permanent` (given up).
    pub kind: String,
}

/// A reporter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReporterLabels {
    /// Its name.
    pub reporter: String,
}

/// An HTTP request, by the route that matched rather than its path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The method, or `OTHER` for an unusual one.
    pub method: &'static str,
    /// The route's pattern, e.g. `/rss` or `/api/v1/builders/:builder_name`; `other` when no
    /// route matched. Shared with the router, so counting a request allocates nothing.
    pub route: Arc<str>,
}

/// An answered HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// As in [`RouteLabels`].
    pub method: &'static str,
    /// As in [`RouteLabels`].
    pub route: Arc<str>,
    /// The status code.
    pub status: u16,
}

/// A database pool's connections in one state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `in_use`, `idle` or `max`.
    pub state: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn durations() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn latencies() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What is read when the metrics are scraped rather than counted as it happens.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Unclaimed build requests, by builder.
    pub pending_requests: Vec<(String, i64)>,
    /// Workers connected to this master.
    pub workers_connected: i64,
    /// Builds running on this master.
    pub builds_running: i64,
    /// Outbox messages neither sent nor given up, by reporter.
    pub outbox_pending: Vec<(String, i64)>,
    /// Database connections in use, idle, and the most the pool opens.
    pub pool: (i64, i64, i64),
}

/// The counters and histograms of one master.
pub struct Metrics {
    registry: Registry,
    builds_started: Family<BuilderLabels, Counter>,
    builds_finished: Family<ResultLabels, Counter>,
    build_duration: Histograms<BuilderLabels>,
    step_duration: Histograms<BuilderLabels>,
    hook_deliveries: Family<HookLabels, Counter>,
    outbox_failures: Family<FailureLabels, Counter>,
    sse_clients: Gauge,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    /// The route label of a request no route matched.
    no_route: Arc<str>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty counts, registered under the `cascade_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("cascade");
        let m = Metrics {
            builds_started: Family::default(),
            builds_finished: Family::default(),
            build_duration: Family::new_with_constructor(durations),
            step_duration: Family::new_with_constructor(durations),
            hook_deliveries: Family::default(),
            outbox_failures: Family::default(),
            sse_clients: Gauge::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latencies),
            no_route: Arc::from("other"),
            registry: Registry::default(),
        };
        registry.register("builds_started", "Builds started on this master, by builder", m.builds_started.clone());
        registry.register(
            "builds_finished",
            "Builds finished on this master, by builder and result",
            m.builds_finished.clone(),
        );
        let (build, step) = (m.build_duration.clone(), m.step_duration.clone());
        registry.register_with_unit("build_duration", "How long finished builds took", Unit::Seconds, build);
        registry.register_with_unit("step_duration", "How long finished steps took", Unit::Seconds, step);
        registry.register(
            "hook_deliveries",
            "Change hook requests, by dialect, outcome and status class",
            m.hook_deliveries.clone(),
        );
        registry.register(
            "outbox_delivery_failures",
            "Failed deliveries of reporters' messages, by reporter and kind",
            m.outbox_failures.clone(),
        );
        registry.register("sse_clients", "Event streams open now", m.sse_clients.clone());
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            m.http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer HTTP requests (until the headers), by method and route",
            Unit::Seconds,
            m.http_duration.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The route label of a request no route matched (`public_html` files).
    pub fn no_route(&self) -> Arc<str> {
        self.no_route.clone()
    }

    /// A build started on `builder`.
    pub fn build_started(&self, builder: &str) {
        self.builds_started.get_or_create(&BuilderLabels { builder: builder.to_owned() }).inc();
    }

    /// A build of `builder` finished with `result` after `secs` seconds.
    pub fn build_finished(&self, builder: &str, result: &str, secs: i64) {
        let labels = ResultLabels { builder: builder.to_owned(), result: result.to_owned() };
        self.builds_finished.get_or_create(&labels).inc();
        let builder = BuilderLabels { builder: builder.to_owned() };
        self.build_duration.get_or_create(&builder).observe(secs.max(0) as f64);
    }

    /// A step of a build of `builder` finished after `secs` seconds.
    pub fn step_finished(&self, builder: &str, secs: i64) {
        self.step_duration.get_or_create(&BuilderLabels { builder: builder.to_owned() }).observe(secs.max(0) as f64);
    }

    /// A hook delivery to `dialect` was answered `status`; `changes` is how many it stored.
    pub fn hook_delivery(&self, dialect: &str, status: u16, changes: usize) {
        let outcome = match (status, changes) {
            (200..=299, 0) => "ignored",
            (200..=299, _) => "accepted",
            _ => "refused",
        };
        let labels = HookLabels {
            dialect: dialect.to_owned(),
            outcome: outcome.to_owned(),
            status: format!("{}xx", status / 100),
        };
        self.hook_deliveries.get_or_create(&labels).inc();
    }

    /// A delivery of `reporter`'s message(s) failed; `permanent` when it is given up.
    pub fn outbox_failure(&self, reporter: &str, permanent: bool) {
        let kind = if permanent { "permanent" } else { "transient" };
        self.outbox_failures
            .get_or_create(&FailureLabels { reporter: reporter.to_owned(), kind: kind.to_owned() })
            .inc();
    }

    /// An event stream opened; it counts as open until the guard is dropped.
    pub fn sse_opened(&self) -> SseGuard {
        self.sse_clients.inc();
        SseGuard(self.sse_clients.clone())
    }

    /// An HTTP request matching `route` was answered `status` after `secs` seconds.
    pub fn http_request(&self, method: &'static str, route: Arc<str>, status: u16, secs: f64) {
        let labels = RouteLabels { method, route };
        self.http_duration.get_or_create(&labels).observe(secs);
        let RouteLabels { method, route } = labels;
        self.http_requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }

    /// Everything, the gauges of `scrape` included, as OpenMetrics text.
    pub fn encode(&self, scrape: &Scrape) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode_registry(&mut out, &self.registry)?;
        encode_registry(&mut out, &scraped(scrape))?;
        encode_eof(&mut out)?;
        Ok(out)
    }
}

/// The gauges read at scrape time, in a registry of their own made for one scrape, so a
/// builder or reporter with nothing pending any more is not left at its old value.
fn scraped(s: &Scrape) -> Registry {
    let mut registry = Registry::with_prefix("cascade");
    let pending = Family::<BuilderLabels, Gauge>::default();
    for (builder, n) in &s.pending_requests {
        pending.get_or_create(&BuilderLabels { builder: builder.clone() }).set(*n);
    }
    registry.register("build_requests_pending", "Build requests waiting for a worker, by builder", pending);
    let gauge = |v: i64| {
        let g = Gauge::<i64>::default();
        g.set(v);
        g
    };
    registry.register("workers_connected", "Workers connected to this master", gauge(s.workers_connected));
    registry.register("builds_running", "Builds running on this master", gauge(s.builds_running));
    let backlog = Family::<ReporterLabels, Gauge>::default();
    for (reporter, n) in &s.outbox_pending {
        backlog.get_or_create(&ReporterLabels { reporter: reporter.clone() }).set(*n);
    }
    registry.register("outbox_pending", "Reporters' messages not yet sent nor given up, by reporter", backlog);
    let pool = Family::<PoolLabels, Gauge>::default();
    let (in_use, idle, max) = s.pool;
    for (state, n) in [("in_use", in_use), ("idle", idle), ("max", max)] {
        pool.get_or_create(&PoolLabels { state: state.to_owned() }).set(n);
    }
    registry.register("db_connections", "Database pool connections: in use, idle, and the most it opens", pool);
    registry
}

/// Counts an event stream as open while it lives.
#[derive(Debug)]
pub struct SseGuard(Gauge);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Keeps the label of a request's method among a known few, whatever a client sends.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.iter().find(|m| **m == method).copied().unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_encode_with_prefix_units_and_eof() {
        let m = Metrics::new();
        m.build_started("app");
        m.build_finished("app", "success", 42);
        let text = m.encode(&Scrape { workers_connected: 2, ..Scrape::default() }).unwrap();
        assert!(text.contains("cascade_builds_started_total{builder=\"app\"} 1\n"), "{text}");
        assert!(text.contains("cascade_build_duration_seconds_bucket{le=\"60.0\",builder=\"app\"} 1\n"), "{text}");
        assert!(text.contains("cascade_build_duration_seconds_bucket{le=\"30.0\",builder=\"app\"} 0\n"), "{text}");
        assert!(text.contains("cascade_workers_connected 2\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn hook_outcomes_follow_status_and_changes() {
        let m = Metrics::new();
        m.hook_delivery("github", 202, 1);
        m.hook_delivery("github", 200, 0);
        m.hook_delivery("github", 403, 0);
        let text = m.encode(&Scrape::default()).unwrap();
        for outcome in ["accepted\",status=\"2xx", "ignored\",status=\"2xx", "refused\",status=\"4xx"] {
            assert!(text.contains(&format!("dialect=\"github\",outcome=\"{outcome}\"}} 1")), "{outcome}: {text}");
        }
    }

    #[test]
    fn an_sse_guard_counts_while_it_lives() {
        let m = Metrics::new();
        let a = m.sse_opened();
        let b = m.sse_opened();
        assert_eq!(m.sse_clients.get(), 2);
        drop(a);
        drop(b);
        assert_eq!(m.sse_clients.get(), 0);
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "OTHER");
    }
}
