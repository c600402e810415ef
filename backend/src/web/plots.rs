//! `/plots/builders/{builder}/durations.png`, `results.png` and `steps.png`: a builder's
//! recent history drawn with plotters (see `charts.rs`), `width=` and `height=` pixels, over
//! its `last=N` finished builds or its last `days=D` days. A plot drawn once serves until
//! the next event, through the engine's page cache.

use std::sync::Arc;

use bytes::Bytes;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::charts::{self, Canvas};
use super::images::RenderError;
use super::{arg, conditional, etag_of, failed, plain, query_args};
use crate::db::{self, history::Range};
use crate::engine::{Engine, EngineError};

/// Width and height bounds and defaults, in pixels.
const WIDTH: (u32, u32, u32) = (200, 640, 2000);
const HEIGHT: (u32, u32, u32) = (120, 320, 1200);
/// The most builds `last=` takes, and the most a `days=` plot draws.
const MAX_BUILDS: u32 = 1000;
/// The most days `days=` takes.
const MAX_DAYS: u32 = 366;

/// The three plots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plot {
    Durations,
    Results,
    Steps,
}

/// What a plot shows and how big, from its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlotArgs {
    canvas: Canvas,
    /// `last=`, when `days=` is absent.
    last: u32,
    /// `days=`.
    days: Option<u32>,
}

impl PlotArgs {
    /// Reads `width=`, `height=`, `last=` and `days=`: numbers out of bounds are brought
    /// within them; what is not a number is an error. The pass rate looks back 30 days by
    /// default, the others 50 builds.
    fn parse(args: &[(String, String)], plot: Plot) -> Result<PlotArgs, String> {
        let number = |name: &str, (min, default, max): (u32, u32, u32)| -> Result<u32, String> {
            match arg(args, name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(|n| n.clamp(min, max))
                    .map_err(|_| format!("{name} is a whole number from {min} to {max}, not `{v}`\n")),
            }
        };
        let canvas = Canvas { width: number("width", WIDTH)?, height: number("height", HEIGHT)? };
        let last = number("last", (1, 50, MAX_BUILDS))?;
        let days = match (arg(args, "days"), arg(args, "last"), plot) {
            (Some(_), _, _) => Some(number("days", (1, 30, MAX_DAYS))?),
            (None, None, Plot::Results) => Some(30),
            _ => None,
        };
        Ok(PlotArgs { canvas, last, days })
    }

    /// The builds it covers at `now`.
    fn range(&self, now: i64) -> Range {
        match self.days {
            Some(days) => Range { since: now - i64::from(days) * 86400, limit: i64::from(MAX_BUILDS) },
            None => Range { since: 0, limit: i64::from(self.last) },
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PlotError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl From<db::DbError> for PlotError {
    fn from(e: db::DbError) -> Self {
        PlotError::Engine(e.into())
    }
}

/// One query for the rows, then the drawing on the blocking pool.
async fn draw(engine: &Engine, plot: Plot, builder: &str, range: Range, canvas: Canvas) -> Result<Bytes, PlotError> {
    let id =
        engine.builder_id(builder).ok_or_else(|| EngineError::NotFound(format!("no builder named `{builder}`")))?;
    let name = builder.to_owned();
    let mut conn = engine.db.acquire().await?;
    let drawn = match plot {
        Plot::Durations => {
            let rows = db::history::durations(conn.conn(), id, range).await?;
            blocking(move || charts::durations(&name, &rows, canvas)).await
        }
        Plot::Results => {
            let rows = db::history::results_per_day(conn.conn(), id, range).await?;
            blocking(move || charts::results(&name, &rows, canvas)).await
        }
        Plot::Steps => {
            let rows = db::history::step_times(conn.conn(), id, range).await?;
            blocking(move || charts::steps(&name, &rows, canvas)).await
        }
    };
    Ok(Bytes::from(drawn?))
}

async fn blocking(
    draw: impl FnOnce() -> Result<Vec<u8>, RenderError> + Send + 'static,
) -> Result<Vec<u8>, RenderError> {
    tokio::task::spawn_blocking(draw).await.map_err(|e| RenderError::Draw(format!("drawing task failed: {e}")))?
}

/// `/plots/builders/{builder}/{plot}.png`.
#[handler]
pub async fn builder_plot(
    engine: Data<&Arc<Engine>>,
    Path((builder, file)): Path<(String, String)>,
    req: &Request,
) -> Response {
    let plot = match file.as_str() {
        "durations.png" => Plot::Durations,
        "results.png" => Plot::Results,
        "steps.png" => Plot::Steps,
        _ => return plain(StatusCode::NOT_FOUND, "a builder's plots are durations.png, results.png and steps.png\n"),
    };
    let args = match PlotArgs::parse(&query_args(req), plot) {
        Ok(args) => args,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let range = args.range(engine.clock.now());
    let key = format!("plot {plot:?} {builder}\n{args:?}");
    let body = engine.pages.get_or_build(key, draw(&engine, plot, &builder, range, args.canvas)).await;
    match body {
        Ok(body) => {
            let head =
                Response::builder().header(header::CONTENT_TYPE, "image/png").header(header::CACHE_CONTROL, "no-cache");
            let etag = etag_of(&body);
            conditional(req, StatusCode::OK, head, body, etag)
        }
        Err(PlotError::Engine(EngineError::NotFound(message))) => plain(StatusCode::NOT_FOUND, format!("{message}\n")),
        Err(e) => failed("drawing a plot", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn sizes_and_ranges_are_bounded_and_defaulted() {
        let a = PlotArgs::parse(&[], Plot::Durations).unwrap();
        assert_eq!((a.canvas.width, a.canvas.height, a.last, a.days), (640, 320, 50, None));
        assert_eq!(a.range(1000), Range { since: 0, limit: 50 });
        let a = PlotArgs::parse(&[], Plot::Results).unwrap();
        assert_eq!(a.days, Some(30), "the pass rate looks back 30 days");
        let a = PlotArgs::parse(&args(&[("width", "5"), ("height", "99999"), ("last", "0")]), Plot::Steps).unwrap();
        assert_eq!((a.canvas.width, a.canvas.height, a.last), (200, 1200, 1));
        let a = PlotArgs::parse(&args(&[("days", "7"), ("last", "3")]), Plot::Durations).unwrap();
        assert_eq!(a.range(10 * 86400), Range { since: 3 * 86400, limit: i64::from(MAX_BUILDS) });
        assert_eq!(PlotArgs::parse(&args(&[("last", "9")]), Plot::Results).unwrap().days, None);
        assert!(PlotArgs::parse(&args(&[("width", "wide")]), Plot::Durations).is_err());
    }
}
