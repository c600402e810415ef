//! `[web] access_log`: one line per request in the Combined Log Format, as 0.8.9's http.log
//! kept, in a file rotated by size (`path` → `path.1` → `path.2` …, keeping
//! `max_rotated_files` of them). Requests never wait on the disk: lines go through a bounded
//! queue to a writer thread, and when the disk cannot keep up lines are dropped and counted
//! rather than slowing the master down.
//!
//! A line is written when its response has been sent (or the client went away), so that it
//! can say how many bytes were sent, as Apache's does; a live event stream is logged when it
//! ends. The user is the one the request was authenticated as, else `-`.

use std::fs::OpenOptions;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use http_body::{Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use poem::http::header;
use poem::{Body, Endpoint, Request, Response};

use crate::api::caller::AuthenticatedAs;
use crate::config::AccessLog as AccessLogConfig;

/// Lines waiting for the writer thread; past this many they are dropped.
const QUEUE: usize = 8192;

/// One request as the log records it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The client's address, if known.
    pub remote: Option<String>,
    /// The user the request was authenticated as.
    pub user: Option<String>,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// `GET /path?query HTTP/1.1`.
    pub request: String,
    /// The response's status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// The `Referer` header.
    pub referer: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Escapes what would break a quoted field or the line: quotes and backslashes get a
/// backslash, other control and non-ASCII bytes become `\xHH`, as Apache writes them.
fn escape(text: &str, space_too: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            b' ' if space_too => out.push_str("\\x20"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// The Combined Log Format line of an entry, newline included:
/// `host - user [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 2326 "referer" "agent"`.
pub fn line(e: &Entry) -> String {
    let field = |v: &Option<String>, space_too: bool| match v.as_deref() {
        Some(v) if !v.is_empty() => escape(v, space_too),
        _ => "-".to_owned(),
    };
    let bytes = if e.bytes == 0 { "-".to_owned() } else { e.bytes.to_string() };
    format!(
        "{} - {} [{}] \"{}\" {} {} \"{}\" \"{}\"\n",
        field(&e.remote, true),
        field(&e.user, true),
        e.at.format("%d/%b/%Y:%H:%M:%S %z"),
        escape(&e.request, false),
        e.status,
        bytes,
        field(&e.referer, false),
        field(&e.user_agent, false),
    )
}

/// The access log: a queue to its writer thread.
#[derive(Debug)]
pub struct AccessLog {
    queue: SyncSender<String>,
    dropped: AtomicU64,
}

impl AccessLog {
    /// Opens (creating it and its folder if needed) the log file, so that a path that cannot
    /// be written stops the start with its reason rather than losing every line.
    pub fn check(cfg: &AccessLogConfig) -> std::io::Result<()> {
        if let Some(dir) = cfg.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        OpenOptions::new().create(true).append(true).open(&cfg.path).map(drop)
    }

    /// Starts the writer thread; it ends once the log is dropped and its queue is written.
    pub fn start(cfg: &AccessLogConfig) -> std::io::Result<AccessLog> {
        Self::check(cfg)?;
        let limit = usize::try_from(cfg.rotate_length).unwrap_or(usize::MAX).max(1);
        let file = FileRotate::new(
            &cfg.path,
            AppendCount::new(cfg.max_rotated_files as usize),
            // Rotate once the file has reached the length, between whole lines.
            ContentLimit::BytesSurpassed(limit.saturating_sub(1).max(1)),
            Compression::None,
            None,
        );
        let (queue, lines) = sync_channel(QUEUE);
        std::thread::Builder::new().name("access-log".into()).spawn(move || write_lines(file, lines))?;
        Ok(AccessLog { queue, dropped: AtomicU64::new(0) })
    }

    /// Queues a line; never waits.
    pub fn write(&self, line: String) {
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "the access log cannot keep up; lines were dropped");
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::error!("the access log's writer has stopped; lines are lost");
                }
            }
        }
    }
}

fn write_lines(mut file: FileRotate<AppendCount>, lines: Receiver<String>) {
    let mut failing = false;
    for line in lines {
        // One write per line: the file rotates between lines, never inside one.
        match file.write_all(line.as_bytes()) {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::error!(error = %e, "cannot write the access log");
            }
            Err(_) => {}
        }
    }
    let _ = file.flush();
}

/// A response body that counts what it sends and logs its request when it is dropped.
struct Counted {
    inner: BoxBody<Bytes, std::io::Error>,
    sent: u64,
    entry: Option<Entry>,
    user: AuthenticatedAs,
    log: Arc<AccessLog>,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.sent += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.bytes = self.sent;
            entry.user = self.user.get().map(str::to_owned);
            self.log.write(line(&entry));
        }
    }
}

fn header_text(req: &Request, name: header::HeaderName) -> Option<String> {
    req.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Middleware around the whole route tree: logs every request once its response is sent.
pub async fn record<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let Some(log) = req.data::<Arc<AccessLog>>().cloned() else {
        return Ok(next.get_response(req).await);
    };
    let user = AuthenticatedAs::default();
    req.extensions_mut().insert(user.clone());
    let target = req.original_uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let entry = Entry {
        remote: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
        user: None,
        at: Utc::now(),
        request: format!("{} {target} {:?}", req.method(), req.version()),
        status: 0,
        bytes: 0,
        referer: header_text(&req, header::REFERER),
        user_agent: header_text(&req, header::USER_AGENT),
    };
    let mut resp = next.get_response(req).await;
    let inner: BoxBody<Bytes, std::io::Error> = resp.take_body().into();
    let entry = Some(Entry { status: resp.status().as_u16(), ..entry });
    resp.set_body(Body::from(BoxBody::new(Counted { inner, sent: 0, entry, user, log })));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry() -> Entry {
        Entry {
            remote: Some("127.0.0.1".into()),
            user: None,
            at: Utc.with_ymd_and_hms(2000, 10, 10, 13, 55, 36).single().unwrap_or_default(),
            request: "GET /waterfall?builder=a HTTP/1.1".into(),
            status: 200,
            bytes: 2326,
            referer: Some("http://ci.example.org/".into()),
            user_agent: Some("Mozilla/5.0 (X11)".into()),
        }
    }

    #[test]
    fn a_line_is_in_the_combined_log_format() {
        assert_eq!(
            line(&entry()),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /waterfall?builder=a HTTP/1.1\" 200 2326 \
             \"http://ci.example.org/\" \"Mozilla/5.0 (X11)\"\n"
        );
        let e = Entry { user: Some("ann".into()), bytes: 0, referer: None, user_agent: None, remote: None, ..entry() };
        assert_eq!(
            line(&e),
            "- - ann [10/Oct/2000:13:55:36 +0000] \"GET /waterfall?builder=a HTTP/1.1\" 200 - \"-\" \"-\"\n"
        );
    }

    #[test]
    fn quotes_and_control_characters_cannot_forge_a_line() {
        let e = Entry {
            user: Some("ann lee".into()),
            user_agent: Some("evil\" 200 1 \"x\n127.0.0.2 - - [".into()),
            request: "GET /a\"b HTTP/1.1".into(),
            ..entry()
        };
        let l = line(&e);
        assert_eq!(l.matches('\n').count(), 1, "{l}");
        assert!(l.contains(" ann\\x20lee ["), "{l}");
        assert!(l.contains("\"GET /a\\\"b HTTP/1.1\""), "{l}");
        assert!(l.ends_with("\"evil\\\" 200 1 \\\"x\\x0a127.0.0.2 - - [\"\n"), "{l}");
    }
}
