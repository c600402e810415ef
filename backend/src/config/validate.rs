//! Turns the document into a [`Config`]: deserializes each section and array element on its
//! own (through `Doc`), then checks what serde cannot: name syntax, duplicates, references
//! between workers, builders and schedulers, URLs and ranges. Every problem is recorded and
//! checking goes on. Builders and steps are in `validate/builders.rs`, schedulers and the
//! change hook in `validate/schedulers.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::doc::{Doc, KeyPath};
use super::listen::{Listen, TlsFiles};
use super::raw::{RawAccessLog, RawAuth, RawAuthz, RawConfig, RawDb, RawListen, RawTls, RawWeb, RawWorker};
use super::types::{AccessLog, AuthConfig, AuthzConfig, Config, DbConfig, Revlink, WebConfig, WorkerConfig};

mod builders;
mod change_sources;
mod reporters;
mod schedulers;

pub use reporters::percent_to_jinja;

/// Checks the whole document; `None` only if issues were recorded.
pub(crate) fn validate(doc: &mut Doc<'_>, path: PathBuf, dir: PathBuf) -> Option<Config> {
    let mut v = Validator { doc, dir };
    let root = KeyPath::default();
    let top = v.doc.unit::<RawConfig>(&root);
    let base_url = top.as_ref().map(|t| v.base_url(&t.base_url, &root.key("base_url")));
    if let Some(url) = top.as_ref().and_then(|t| t.title_url.as_deref())
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        v.doc.issue(&root.key("title_url"), "must start with http:// or https://");
    }
    let db = v.db();
    let web = v.web();
    let auth = v.auth();
    let authz = v.authz();
    let workers = v.workers();
    let builders = v.builders();
    let schedulers = v.schedulers();
    let change_hook = v.change_hook();
    let change_sources = v.change_sources();
    let reporters = v.reporters();
    let dir = v.dir;
    let top = top?;
    Some(Config {
        path,
        dir,
        title: top.title,
        title_url: top.title_url,
        base_url: base_url??,
        db: db?,
        web: web?,
        auth: auth?,
        authz: authz?,
        workers: workers?,
        builders: builders?,
        schedulers: schedulers?,
        change_hook: change_hook?,
        change_sources: change_sources?,
        reporters: reporters?,
    })
}

pub(crate) struct Validator<'d, 'i> {
    pub(crate) doc: &'d mut Doc<'i>,
    pub(crate) dir: PathBuf,
}

impl Validator<'_, '_> {
    fn base_url(&mut self, url: &str, at: &KeyPath) -> Option<String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.doc.issue(at, "must start with http:// or https://");
            return None;
        }
        Some(if url.ends_with('/') { url.to_owned() } else { format!("{url}/") })
    }

    fn db(&mut self) -> Option<DbConfig> {
        let at = KeyPath::default().key("db");
        let raw = self.doc.unit::<RawDb>(&at)?;
        let mut ok = true;
        if raw.heartbeat == 0 {
            self.doc.issue(&at.key("heartbeat"), "must be a positive number of seconds");
            ok = false;
        }
        if raw.lost_after < raw.heartbeat.saturating_mul(3) {
            let message = format!(
                "must be at least three heartbeats ({} seconds), or a busy master would be declared lost",
                raw.heartbeat.saturating_mul(3)
            );
            self.doc.issue(&at.key("lost_after"), message);
            ok = false;
        }
        match db_url(&raw.url, &self.dir) {
            Ok(url) => ok.then_some(DbConfig { url, heartbeat: raw.heartbeat, lost_after: raw.lost_after }),
            Err(message) => {
                self.doc.issue(&at.key("url"), message);
                None
            }
        }
    }

    fn web(&mut self) -> Option<WebConfig> {
        let at = KeyPath::default().key("web");
        let raw = self.doc.unit::<RawWeb>(&at)?;
        let mut ok = true;
        if raw.listen.is_empty() {
            self.doc.issue(&at.key("listen"), "needs at least one address such as \"127.0.0.1:8010\"");
            ok = false;
        }
        let mut listen = Vec::with_capacity(raw.listen.len());
        for (i, entry) in raw.listen.iter().enumerate() {
            match self.listen(entry, &at.key("listen").index(i)) {
                Some(l) => listen.push(l),
                None => ok = false,
            }
        }
        ok &= self.web_links(&raw, &at);
        if raw.num_events == 0 || raw.num_events > raw.num_events_max {
            let message = format!("must be between 1 and num_events_max ({})", raw.num_events_max);
            self.doc.issue(&at.key("num_events"), message);
            ok = false;
        }
        if raw.num_builds == 0 {
            self.doc.issue(&at.key("num_builds"), "must be at least 1");
            ok = false;
        }
        for (key, value) in [("write_timeout", raw.write_timeout), ("request_timeout", raw.request_timeout)] {
            if value == 0 {
                self.doc.issue(&at.key(key), "must be at least 1 (seconds)");
                ok = false;
            }
        }
        if raw.access_log.as_ref().is_some_and(|log| log.rotate_length == 0) {
            self.doc.issue(&at.key("access_log").key("rotate_length"), "must be at least 1 (bytes)");
            ok = false;
        }
        let access_log = raw.access_log.map(|RawAccessLog { path, rotate_length, max_rotated_files }| AccessLog {
            path: self.absolute(path),
            rotate_length,
            max_rotated_files,
        });
        ok.then(|| WebConfig {
            listen,
            public_html: raw.public_html.map(|p| self.absolute(p)),
            num_builds: raw.num_builds,
            num_events: raw.num_events,
            num_events_max: raw.num_events_max,
            order_console_by_time: raw.order_console_by_time,
            revlink: raw.revlink,
            changecommentlink: raw.changecommentlink,
            projects: raw.projects,
            repositories: raw.repositories,
            access_log,
            write_timeout: raw.write_timeout,
            request_timeout: raw.request_timeout,
        })
    }

    /// One `web.listen` entry; a TLS one has its files read now, so `checkconfig` finds a
    /// missing file or a key that does not fit its certificate.
    fn listen(&mut self, raw: &RawListen, at: &KeyPath) -> Option<Listen> {
        // A plain string is the entry itself; a table has its address under `addr`.
        let addr_at = if self.doc.table_keys(at).is_empty() { at.clone() } else { at.key("addr") };
        if raw.addr.parse::<SocketAddr>().is_err() {
            let message = format!("`{}` is not a socket address such as \"127.0.0.1:8010\"", raw.addr);
            self.doc.issue(&addr_at, message);
            return None;
        }
        let tls = match &raw.tls {
            None => None,
            Some(RawTls { cert, key }) => {
                let files = TlsFiles { cert: self.absolute(cert.clone()), key: self.absolute(key.clone()) };
                if let Err(e) = files.load() {
                    self.doc.issue(&at.key("tls").key(e.field()), e.to_string());
                    return None;
                }
                Some(files)
            }
        };
        Some(Listen { addr: raw.addr.clone(), tls })
    }

    /// `revlink`, `changecommentlink`, `projects` and `repositories` must make links.
    fn web_links(&mut self, raw: &RawWeb, at: &KeyPath) -> bool {
        let mut checks: Vec<(KeyPath, String)> = Vec::new();
        let web_url = |url: &str| url.starts_with("http://") || url.starts_with("https://");
        let mut format = |key: KeyPath, f: &str| {
            if !web_url(f) {
                checks.push((key.clone(), format!("the link `{f}` must start with http:// or https://")));
            }
            if !f.contains("%s") {
                checks.push((key, "needs `%s` where the revision goes".into()));
            }
        };
        match &raw.revlink {
            Some(Revlink::Format(f)) => format(at.key("revlink"), f),
            Some(Revlink::PerRepository(table)) => {
                for (repo, f) in table {
                    format(at.key("revlink").key(repo), f);
                }
            }
            None => {}
        }
        if let Some(link) = &raw.changecommentlink {
            let key = at.key("changecommentlink");
            if let Err(e) = regex::Regex::new(&link.regex) {
                checks.push((key.key("regex"), format!("is not a valid regular expression: {e}")));
            }
            if !(web_url(&link.url) || link.url.starts_with('/')) {
                checks.push((key.key("url"), "must start with http://, https:// or /".into()));
            }
        }
        for (section, table) in [("projects", &raw.projects), ("repositories", &raw.repositories)] {
            for (name, url) in table {
                if !web_url(url) {
                    checks.push((
                        at.key(section).key(name),
                        format!("the link `{url}` must start with http:// or https://"),
                    ));
                }
            }
        }
        let ok = checks.is_empty();
        for (key, message) in checks {
            self.doc.issue(&key, message);
        }
        ok
    }

    fn auth(&mut self) -> Option<AuthConfig> {
        let at = KeyPath::default().key("auth");
        let raw = self.doc.unit::<RawAuth>(&at)?;
        let mut ok = true;
        let mut proxies = Vec::new();
        for (i, text) in raw.trusted_proxies.iter().enumerate() {
            match proxy_net(text) {
                Some(net) => proxies.push(net),
                None => {
                    let message = format!("`{text}` is not an IP address or a CIDR block (such as 10.0.0.0/8)");
                    self.doc.issue(&at.key("trusted_proxies").index(i), message);
                    ok = false;
                }
            }
        }
        match (&raw.trusted_header, raw.trusted_proxies.is_empty()) {
            (Some(_), true) => {
                let message = "needs `trusted_proxies`: the header is believed only from the addresses listed \
                    there (IPs or CIDR blocks), such as those your reverse proxy connects from";
                self.doc.issue(&at.key("trusted_header"), message);
                ok = false;
            }
            (None, false) => {
                self.doc.issue(&at.key("trusted_proxies"), "has no effect without `trusted_header`");
                ok = false;
            }
            _ => {}
        }
        let (idle, lifetime) = (raw.session_idle_timeout, raw.session_lifetime);
        for (key, value) in [("session_idle_timeout", idle), ("session_lifetime", lifetime)] {
            if value == 0 || value > MAX_SESSION_SECONDS {
                self.doc.issue(&at.key(key), format!("must be between 1 and {MAX_SESSION_SECONDS} seconds"));
                ok = false;
            }
        }
        if idle > lifetime {
            let message = format!("{idle} s is longer than `session_lifetime` ({lifetime} s), so it would never apply");
            self.doc.issue(&at.key("session_idle_timeout"), message);
            ok = false;
        }
        ok.then(|| AuthConfig {
            users: raw.users,
            htpasswd: raw.htpasswd.map(|p| self.absolute(p)),
            db_users: raw.db_users,
            trusted_header: raw.trusted_header,
            trusted_proxies: proxies,
            login_url: raw.login_url,
            session_idle_timeout: i64::try_from(idle).unwrap_or(i64::MAX),
            session_lifetime: i64::try_from(lifetime).unwrap_or(i64::MAX),
        })
    }

    fn authz(&mut self) -> Option<AuthzConfig> {
        let r = self.doc.unit::<RawAuthz>(&KeyPath::default().key("authz"))?;
        Some(AuthzConfig {
            view: r.view,
            force_build: r.force_build,
            force_all_builds: r.force_all_builds,
            ping_builder: r.ping_builder,
            graceful_shutdown: r.graceful_shutdown,
            pause_worker: r.pause_worker,
            stop_build: r.stop_build,
            stop_all_builds: r.stop_all_builds,
            cancel_pending_build: r.cancel_pending_build,
            cancel_all_pending_builds: r.cancel_all_pending_builds,
            stop_change: r.stop_change,
            clean_shutdown: r.clean_shutdown,
            show_users_page: r.show_users_page,
            manage_users: r.manage_users,
            hook_deliveries: r.hook_deliveries,
            manage_outbox: r.manage_outbox,
            reconfig: r.reconfig,
            roles: r.roles,
        })
    }

    fn workers(&mut self) -> Option<Vec<WorkerConfig>> {
        let list = KeyPath::default().key("workers");
        let mut workers = Some(Vec::new());
        for i in 0..self.doc.array_len(&list) {
            let at = list.index(i);
            let worker = self.doc.unit::<RawWorker>(&at).and_then(|raw| self.worker(raw, &at));
            push_or_fail(&mut workers, worker);
        }
        self.check_unique("worker", &list);
        workers
    }

    fn worker(&mut self, raw: RawWorker, at: &KeyPath) -> Option<WorkerConfig> {
        let mut ok = self.check_name(&raw.name, &at.key("name"));
        if raw.max_builds == 0 {
            self.doc.issue(&at.key("max_builds"), "must be at least 1");
            ok = false;
        }
        match (&raw.password, raw.embedded) {
            (None, false) => {
                let message = "missing required key `password` (workers that are not embedded log in with it)";
                self.doc.issue(&at.key("password"), message);
                ok = false;
            }
            (Some(_), true) => {
                self.doc.issue(&at.key("password"), "an embedded worker takes no password");
                ok = false;
            }
            _ => {}
        }
        let password = raw.password.map(|s| s.relative_to(&self.dir));
        ok.then_some(WorkerConfig { name: raw.name, embedded: raw.embedded, max_builds: raw.max_builds, password })
    }

    /// Names are used in URLs, so they are limited to letters, digits, `-`, `_` and `.`.
    pub(crate) fn check_name(&mut self, name: &str, at: &KeyPath) -> bool {
        let ok = !name.is_empty()
            && name.chars().any(|c| c != '.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            let message = format!("invalid name `{name}`: use letters, digits, `-`, `_` and `.` only");
            self.doc.issue(at, message);
        }
        ok
    }

    /// The string `name`s of the tables in the array at `list`, straight from the document so
    /// that an entry with some other mistake still counts as defined.
    pub(crate) fn names(&self, list: &KeyPath) -> Vec<String> {
        let mut names = Vec::new();
        for i in 0.. {
            let Some(entry) = self.doc.get(&list.index(i)) else {
                break;
            };
            if let Some(name) = entry.get_ref().get("name").and_then(|n| n.get_ref().as_str()) {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// Reports every entry of the array at `list` whose name an earlier entry already used.
    pub(crate) fn check_unique(&mut self, what: &str, list: &KeyPath) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for i in 0.. {
            let Some(entry) = self.doc.get(&list.index(i)) else {
                break;
            };
            let Some(name) = entry.get_ref().get("name").and_then(|n| n.get_ref().as_str()) else {
                continue;
            };
            let name = name.to_owned();
            if let Some(first) = seen.get(&name) {
                let message = format!("duplicate {what} name `{name}` (first used by {list}[{first}])");
                self.doc.issue(&list.index(i).key("name"), message);
            } else {
                seen.insert(name, i);
            }
        }
    }

    pub(crate) fn absolute(&self, path: PathBuf) -> PathBuf {
        if path.is_relative() { self.dir.join(path) } else { path }
    }
}

/// The longest session either `[auth]` session key allows: a year.
const MAX_SESSION_SECONDS: u64 = 366 * 86_400;

/// A proxy's address as a network: a CIDR block as written, a single address as a /32 (or
/// /128).
fn proxy_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .ok()
        .map(|n| n.trunc())
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Adds `item` to the list, or marks the list failed for good once an item failed.
pub(crate) fn push_or_fail<T>(list: &mut Option<Vec<T>>, item: Option<T>) {
    match (list.as_mut(), item) {
        (Some(items), Some(item)) => items.push(item),
        _ => *list = None,
    }
}

/// Checks the scheme and makes a relative SQLite path absolute. Messages never repeat the URL,
/// which may hold a password.
fn db_url(url: &str, dir: &Path) -> Result<String, String> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "postgres" | "postgresql" => Ok(url.to_owned()),
        "sqlite" => {
            let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or_default();
            let (file, query) = match rest.split_once('?') {
                Some((file, query)) => (file, format!("?{query}")),
                None => (rest, String::new()),
            };
            if file.is_empty() {
                return Err("a SQLite URL needs a file, e.g. \"sqlite://cascade.sqlite\"".into());
            }
            if file == ":memory:" || Path::new(file).is_absolute() {
                return Ok(url.to_owned());
            }
            Ok(format!("sqlite://{}{query}", dir.join(file).display()))
        }
        "" => Err("not a database URL: expected sqlite://FILE or postgres://…".into()),
        other => Err(format!("unsupported database URL scheme `{other}:` (expected sqlite: or postgres:)")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn db_url_makes_relative_sqlite_paths_absolute() {
        let dir = Path::new("/srv/ci");
        assert_eq!(db_url("sqlite://cascade.sqlite", dir).unwrap(), "sqlite:///srv/ci/cascade.sqlite");
        assert_eq!(
            db_url("sqlite:state/db.sqlite?mode=rwc", dir).unwrap(),
            "sqlite:///srv/ci/state/db.sqlite?mode=rwc"
        );
        assert_eq!(db_url("sqlite:///var/db.sqlite", dir).unwrap(), "sqlite:///var/db.sqlite");
        assert_eq!(db_url("sqlite::memory:", dir).unwrap(), "sqlite::memory:");
        assert_eq!(db_url("postgres://u:p@h/db", dir).unwrap(), "postgres://u:p@h/db");
        assert_eq!(db_url("postgresql://h/db", dir).unwrap(), "postgresql://h/db");
    }

    #[test]
    fn db_url_rejects_other_schemes_without_echoing_the_url() {
        let e = db_url("mysql://root:hunter2@h/db", Path::new("/")).unwrap_err();
        assert!(e.contains("`mysql:`") && !e.contains("hunter2"), "{e}");
        assert!(db_url("cascade.sqlite", Path::new("/")).is_err());
        assert!(db_url("sqlite://", Path::new("/")).is_err());
    }
}
