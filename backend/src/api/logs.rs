//! A step's log: as numbered lines, as raw text streamed chunk by chunk, searched, and the
//! markers of its collapsible sections. Also 0.8.9's plain-text log URL, which lives outside
//! `/api/v1` and answers in plain text even when it fails. A step is addressed by its number
//! or its name, as 0.8.9's URLs did.

use poem::Body;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Response, handler};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::{ApiError, Tag, page};
use crate::engine::log_scan::{self, Syntax};
use crate::engine::logs;
use crate::engine::{Engine, EngineError};
use crate::model::{self, LogInfo};

/// The logs resource.
#[derive(Debug, Default)]
pub struct LogsApi;

/// Where a line came from.
#[derive(Debug, Enum, Clone, Copy)]
#[oai(rename_all = "lowercase")]
pub enum Channel {
    /// Standard output.
    O,
    /// Standard error.
    E,
    /// Written by the master about the command.
    H,
}

/// One line.
#[derive(Debug, Object)]
pub struct LogLine {
    /// Line number, from 0.
    pub number: i64,
    /// Its channel.
    pub channel: Channel,
    /// Its text.
    pub text: String,
}

/// A window of a log.
#[derive(Debug, Object)]
pub struct LogLines {
    /// The lines.
    pub lines: Vec<LogLine>,
    /// Number of the first line asked for.
    pub offset: i64,
    /// Lines in the log so far.
    pub total: i64,
    /// Whether the log is finished.
    pub complete: bool,
}

/// The raw log.
#[derive(ApiResponse)]
pub enum RawLog {
    /// The log's stdout and stderr as plain text.
    #[oai(status = 200, content_type = "text/plain; charset=utf-8")]
    Ok(Binary<Body>),
}

/// Lines of a log matching a search, a page at a time.
#[derive(Debug, Object)]
pub struct LogSearch {
    /// Numbers of the matching lines, in order.
    pub lines: Vec<i64>,
    /// Where the next page starts (`from=`).
    pub next: i64,
    /// Whether this page reached the last stored line; a running log may grow past it.
    pub at_end: bool,
    /// Lines in the log so far.
    pub total: i64,
    /// Whether the log is finished.
    pub complete: bool,
}

/// The folding syntax of a section marker.
#[derive(Debug, Enum, Clone, Copy)]
#[oai(rename_all = "lowercase")]
pub enum SectionSyntax {
    /// GitHub Actions: `::group::NAME` to `::endgroup::`.
    Github,
    /// GitLab: `section_start:TIME:NAME[collapsed=true]` to `section_end:TIME:NAME`.
    Gitlab,
    /// Buildkite: `--- NAME` (folded), `+++ NAME` (open), `~~~ NAME` (folded), each up to the next.
    Buildkite,
}

/// A line opening or closing a collapsible section.
#[derive(Debug, Object)]
pub struct LogMarker {
    /// Its line number.
    pub line: i64,
    /// Whether it opens a section (else it closes one).
    pub start: bool,
    /// Its syntax.
    pub syntax: SectionSyntax,
    /// The section's name; GitLab's ends name the section they close.
    pub name: String,
    /// The heading shown for the section (empty for an end).
    pub title: String,
    /// Whether the section starts folded.
    pub collapsed: bool,
}

/// Section markers of a log, a page at a time.
#[derive(Debug, Object)]
pub struct LogMarkers {
    /// The markers, in line order.
    pub markers: Vec<LogMarker>,
    /// Where the next page starts (`from=`).
    pub next: i64,
    /// Whether this page reached the last stored line; a running log may grow past it.
    pub at_end: bool,
    /// Lines in the log so far.
    pub total: i64,
    /// Whether the log is finished.
    pub complete: bool,
}

impl LogsApi {
    async fn log(engine: &Engine, name: &str, number: i64, step: &str, log: &str) -> Result<LogInfo, ApiError> {
        Ok(logs::find(&engine.db, name, number, step, log).await?)
    }
}

#[OpenApi(tag = "Tag::Logs")]
impl LogsApi {
    /// Lines of a log; a negative offset counts from the end (`-1000` is the last 1,000).
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/builders/:name/builds/:number/steps/:step/logs/:log/lines",
        method = "get",
        operation_id = "get_log_lines"
    )]
    async fn get_log_lines(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
        /// The step's number or its name.
        step: Path<String>,
        log: Path<String>,
        /// First line (from 0), or negative to count from the end.
        offset: Query<Option<i64>>,
        /// Lines to return (default 1000, at most 1000).
        limit: Query<Option<i64>>,
    ) -> Result<Json<LogLines>, ApiError> {
        let info = Self::log(&engine, &name, number.0, &step, &log).await?;
        let limit = page(limit.0, 1000);
        let offset = match offset.0.unwrap_or(0) {
            o if o < 0 => (info.num_lines + o).max(0),
            o => o,
        };
        let lines = logs::read_lines(&engine.db, info.id, offset, limit).await?;
        let lines = lines
            .into_iter()
            .map(|l| LogLine {
                number: l.number,
                channel: match l.channel {
                    model::Channel::Stdout => Channel::O,
                    model::Channel::Stderr => Channel::E,
                    model::Channel::Header => Channel::H,
                },
                text: l.text,
            })
            .collect();
        Ok(Json(LogLines { lines, offset, total: info.num_lines, complete: info.complete }))
    }

    /// The whole log as plain text (header lines left out), streamed.
    #[oai(
        path = "/builders/:name/builds/:number/steps/:step/logs/:log/raw",
        method = "get",
        operation_id = "get_log_raw"
    )]
    async fn get_log_raw(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
        /// The step's number or its name.
        step: Path<String>,
        log: Path<String>,
    ) -> Result<RawLog, ApiError> {
        let info = Self::log(&engine, &name, number.0, &step, &log).await?;
        let stream = logs::stream_text(engine.db.clone(), info.id);
        Ok(RawLog::Ok(Binary(Body::from_bytes_stream(stream))))
    }

    /// Lines whose text (as shown: escape sequences removed) contains `q`, ignoring case,
    /// from line `from` on; a page reads a bounded part of the log, so follow `next` until
    /// `at_end`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/builders/:name/builds/:number/steps/:step/logs/:log/search",
        method = "get",
        operation_id = "search_log"
    )]
    async fn search_log(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
        /// The step's number or its name.
        step: Path<String>,
        log: Path<String>,
        /// What to look for (1 to 1000 characters).
        #[oai(validator(min_length = 1, max_length = 1000))]
        q: Query<String>,
        /// First line to look at (default 0).
        from: Query<Option<i64>>,
        /// Matches to return at most (default 1000, at most 1000).
        limit: Query<Option<i64>>,
    ) -> Result<Json<LogSearch>, ApiError> {
        if q.is_empty() || q.chars().count() > 1000 {
            return Err(ApiError::bad_request("q must have 1 to 1000 characters"));
        }
        let info = Self::log(&engine, &name, number.0, &step, &log).await?;
        let limit = page(limit.0, 1000) as usize;
        let scan = log_scan::search(&engine.db, info.id, &q, from.0.unwrap_or(0), limit).await?;
        Ok(Json(LogSearch {
            lines: scan.found,
            next: scan.next,
            at_end: scan.at_end,
            total: info.num_lines,
            complete: info.complete,
        }))
    }

    /// The lines opening and closing collapsible sections (GitHub Actions groups, GitLab
    /// sections, Buildkite headers) from line `from` on; a page reads a bounded part of the
    /// log, so follow `next` until `at_end`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/builders/:name/builds/:number/steps/:step/logs/:log/markers",
        method = "get",
        operation_id = "get_log_markers"
    )]
    async fn get_log_markers(
        &self,
        engine: Data<&Arc<Engine>>,
        name: Path<String>,
        number: Path<i64>,
        /// The step's number or its name.
        step: Path<String>,
        log: Path<String>,
        /// First line to look at (default 0).
        from: Query<Option<i64>>,
        /// Markers to return at most (default 1000, at most 1000).
        limit: Query<Option<i64>>,
    ) -> Result<Json<LogMarkers>, ApiError> {
        let info = Self::log(&engine, &name, number.0, &step, &log).await?;
        let limit = page(limit.0, 1000) as usize;
        let scan = log_scan::markers(&engine.db, info.id, from.0.unwrap_or(0), limit).await?;
        let markers = scan
            .found
            .into_iter()
            .map(|m| LogMarker {
                line: m.line,
                start: m.start,
                syntax: match m.syntax {
                    Syntax::Github => SectionSyntax::Github,
                    Syntax::Gitlab => SectionSyntax::Gitlab,
                    Syntax::Buildkite => SectionSyntax::Buildkite,
                },
                name: m.name,
                title: m.title,
                collapsed: m.collapsed,
            })
            .collect();
        Ok(Json(LogMarkers {
            markers,
            next: scan.next,
            at_end: scan.at_end,
            total: info.num_lines,
            complete: info.complete,
        }))
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    Response::builder().status(status).content_type("text/plain; charset=utf-8").body(text)
}

/// `/builders/{b}/builds/{n}/steps/{s}/logs/{l}/text`: 0.8.9's plain-text log (stdout and
/// stderr, header lines left out), streamed; failures answer in plain text too.
#[handler]
pub async fn log_text(
    engine: Data<&Arc<Engine>>,
    poem::web::Path((builder, number, step, log)): poem::web::Path<(String, String, String, String)>,
) -> Response {
    let Ok(number) = number.parse::<i64>() else {
        return plain(StatusCode::NOT_FOUND, format!("builder `{builder}` has no build `{number}`\n"));
    };
    match logs::find(&engine.db, &builder, number, &step, &log).await {
        Ok(info) => {
            let stream = logs::stream_text(engine.db.clone(), info.id);
            Response::builder().content_type("text/plain; charset=utf-8").body(Body::from_bytes_stream(stream))
        }
        Err(EngineError::NotFound(message)) => plain(StatusCode::NOT_FOUND, format!("{message}\n")),
        Err(e) => {
            tracing::error!(error = ?e, "reading a log failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the master's log\n".to_owned())
        }
    }
}
