//! `/badges/{builder}.svg` and `.png`, the README badges (shields' look, 0.8.9's colours),
//! and 0.8.9's `/png?builder=&number=|revision=&size=`. Badges are fetched by every view of
//! every page that shows them, so both halves of an answer are cached: the state through
//! the engine's page cache (one indexed query per builder and branch until the next event)
//! and the drawn image here, by everything that decides its bytes. An answer carries its
//! image's entity tag, and a client that has it gets a 304.
//!
//! An unknown builder's badge answers 404 (shields answers 200 so that proxies that refuse
//! errors, such as GitHub's image proxy, still show it); its body is still a badge, saying
//! "not found", so a browser shows what is wrong.

use std::sync::Arc;

use bytes::Bytes;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::images::{self, Badge, RenderError, Style};
use super::status_png::{self, Size};
use super::{arg, conditional, etag_of, failed, plain, query_args};
use crate::config::AuthzRule;
use crate::engine::views::badge::{BadgeState, WhichBuild};
use crate::engine::{Engine, EngineError};

/// How many drawn images are kept.
const RENDERS_KEPT: usize = 4096;

/// What a badge's right side says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Message {
    /// The builder's state.
    State(BadgeState),
    /// No such builder.
    NotFound,
}

/// Everything that decides an image's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RenderKey {
    /// A README badge.
    Badge { png: bool, style: Style, label: String, message: Message },
    /// A `/png` image.
    Status { size: Size, state: BadgeState },
}

/// A drawn image and its entity tag.
#[derive(Clone, Debug)]
struct Rendered {
    body: Bytes,
    etag: HeaderValue,
}

/// The images drawn so far.
pub struct Renders {
    kept: quick_cache::sync::Cache<RenderKey, Rendered>,
}

impl Default for Renders {
    fn default() -> Self {
        Renders { kept: quick_cache::sync::Cache::new(RENDERS_KEPT) }
    }
}

impl std::fmt::Debug for Renders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renders").field("kept", &self.kept.len()).finish()
    }
}

impl Renders {
    /// The image for `key`, drawn (PNGs on the blocking pool) unless it was before.
    async fn get(&self, key: RenderKey) -> Result<Rendered, RenderError> {
        if let Some(kept) = self.kept.get(&key) {
            return Ok(kept);
        }
        let body = match key.clone() {
            RenderKey::Badge { png: false, style, label, message } => {
                images::badge_svg(&badge(style, label, message))?.into_bytes()
            }
            RenderKey::Badge { png: true, style, label, message } => {
                blocking(move || images::badge_png(&badge(style, label, message))).await?
            }
            RenderKey::Status { size, state } => blocking(move || status_png::status_png(state, size)).await?,
        };
        let rendered = Rendered { etag: etag_of(&body), body: Bytes::from(body) };
        self.kept.insert(key, rendered.clone());
        Ok(rendered)
    }
}

async fn blocking(
    draw: impl FnOnce() -> Result<Vec<u8>, RenderError> + Send + 'static,
) -> Result<Vec<u8>, RenderError> {
    tokio::task::spawn_blocking(draw).await.map_err(|e| RenderError::Draw(format!("drawing task failed: {e}")))?
}

fn badge(style: Style, label: String, message: Message) -> Badge {
    let (message, state) = match message {
        Message::State(state) => (state.name().to_owned(), state),
        Message::NotFound => ("not found".to_owned(), BadgeState::Unknown),
    };
    Badge { label, message, colours: images::colours(state), style }
}

/// Badges may be kept a little while by browsers and proxies; privately when viewing needs
/// a login.
fn badge_cache_control(engine: &Engine) -> &'static str {
    if engine.config().authz.view == AuthzRule::Allow { "public, max-age=10" } else { "private, max-age=10" }
}

/// `/badges/{builder}.svg` and `/badges/{builder}.png`: the state of the builder's newest
/// build (of `branch=`), `running` while it runs, `unknown` before its first; `label=`
/// (default the builder's name) and `style=flat|plastic|flat-square`.
#[handler]
pub async fn badge_image(
    engine: Data<&Arc<Engine>>,
    renders: Data<&Arc<Renders>>,
    Path(file): Path<String>,
    req: &Request,
) -> Response {
    let (builder, png) = match file.rsplit_once('.') {
        Some((builder, "svg")) => (builder, false),
        Some((builder, "png")) => (builder, true),
        _ => return plain(StatusCode::NOT_FOUND, "a badge is /badges/BUILDER.svg or /badges/BUILDER.png\n"),
    };
    let args = query_args(req);
    let (status, message) = match engine.builder_badge(builder, arg(&args, "branch")).await {
        Ok(state) => (StatusCode::OK, Message::State(state)),
        Err(EngineError::NotFound(_)) => (StatusCode::NOT_FOUND, Message::NotFound),
        Err(e) => return failed("reading a badge's state", &e),
    };
    let label = arg(&args, "label").unwrap_or(builder).to_owned();
    let key = RenderKey::Badge { png, style: Style::parse(arg(&args, "style")), label, message };
    let rendered = match renders.get(key).await {
        Ok(rendered) => rendered,
        Err(e) => return failed("drawing a badge", &e),
    };
    let content_type = if png { "image/png" } else { "image/svg+xml; charset=utf-8" };
    let head = Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, badge_cache_control(&engine));
    conditional(req, status, head, rendered.body, rendered.etag)
}

/// Which build `/png`'s arguments name: `number=` (`-1`, the default, is the last finished
/// build), else `revision=`, else the last finished; `None` for a number that is not one.
fn which_build(number: Option<&str>, revision: Option<&str>) -> Option<WhichBuild> {
    match (number, revision) {
        (Some(n), _) => match n.trim().parse::<i64>() {
            Ok(-1) => Some(WhichBuild::Last),
            Ok(n) => Some(WhichBuild::Number(n)),
            Err(_) => None,
        },
        (None, Some(revision)) => Some(WhichBuild::Revision(revision.to_owned())),
        (None, None) => Some(WhichBuild::Last),
    }
}

/// 0.8.9's `/png?builder=B[&number=N|&revision=R][&size=small|normal|large]`: the build's
/// result as a small image, `unknown` when there is no such builder or build or it has not
/// finished.
#[handler]
pub async fn png_status(engine: Data<&Arc<Engine>>, renders: Data<&Arc<Renders>>, req: &Request) -> Response {
    let args = query_args(req);
    let size = Size::parse(arg(&args, "size"));
    let which = which_build(arg(&args, "number"), arg(&args, "revision"));
    let state = match (arg(&args, "builder"), which) {
        (Some(builder), Some(which)) => match engine.build_badge(builder, &which).await {
            Ok(state) => state,
            Err(e) => return failed("reading a build's state", &e),
        },
        _ => BadgeState::Unknown,
    };
    let rendered = match renders.get(RenderKey::Status { size, state }).await {
        Ok(rendered) => rendered,
        Err(e) => return failed("drawing a status image", &e),
    };
    let disposition = format!("inline; filename=\"{}_{}.png\"", state.name(), size.name());
    let head = Response::builder()
        .header(header::CONTENT_TYPE, "image/png")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::CONTENT_DISPOSITION, disposition);
    conditional(req, StatusCode::OK, head, rendered.body, rendered.etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_takes_the_number_before_the_revision() {
        assert_eq!(which_build(None, None), Some(WhichBuild::Last));
        assert_eq!(which_build(Some("-1"), Some("abc")), Some(WhichBuild::Last));
        assert_eq!(which_build(Some("3"), Some("abc")), Some(WhichBuild::Number(3)));
        assert_eq!(which_build(None, Some("abc")), Some(WhichBuild::Revision("abc".into())));
        assert_eq!(which_build(Some("x"), None), None);
    }
}
