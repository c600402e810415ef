//! A step's log: as numbered lines, or as raw text streamed chunk by chunk.

use poem::Body;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::{ApiError, Tag, page};
use crate::db;
use crate::engine::Engine;
use crate::engine::logs;
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

impl LogsApi {
    async fn log(engine: &Engine, name: &str, number: i64, step: i64, log: &str) -> Result<LogInfo, ApiError> {
        let mut conn = engine.db.acquire().await?;
        match db::logs::get(conn.conn(), name, number, step, log).await {
            Err(db::DbError::NotFound) => {
                Err(ApiError::not_found(format!("no log `{log}` in step {step} of build {number} of builder `{name}`")))
            }
            other => Ok(other?),
        }
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
        step: Path<i64>,
        log: Path<String>,
        /// First line (from 0), or negative to count from the end.
        offset: Query<Option<i64>>,
        /// Lines to return (default 1000, at most 1000).
        limit: Query<Option<i64>>,
    ) -> Result<Json<LogLines>, ApiError> {
        let info = Self::log(&engine, &name, number.0, step.0, &log).await?;
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
        step: Path<i64>,
        log: Path<String>,
    ) -> Result<RawLog, ApiError> {
        let info = Self::log(&engine, &name, number.0, step.0, &log).await?;
        let stream = logs::stream_text(engine.db.clone(), info.id);
        Ok(RawLog::Ok(Binary(Body::from_bytes_stream(stream))))
    }
}
