//! The single-page app, built by Vite into `frontend/dist` and embedded in the binary.
//! Every SPA route (0.8.9's URL space, so old bookmarks work) answers with its index.html.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Request, Response, handler};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Assets;

/// First path segments the SPA routes (DESIGN §6).
const SPA_ROUTES: &[&str] = &[
    "",
    "waterfall",
    "grid",
    "tgrid",
    "console",
    "builders",
    "buildstatus",
    "changes",
    "workers",
    "buildslaves",
    "one_line_per_build",
    "users",
    "about",
    "login",
    "hooks",
    "outbox",
];

/// Whether a path is one of the SPA's routes.
pub fn is_spa_route(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    SPA_ROUTES.contains(&first)
}

fn index(status: StatusCode) -> Response {
    match Assets::get("index.html") {
        Some(file) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(file.data.into_owned()),
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("text/plain; charset=utf-8")
            .body("The web UI was not built into this binary: run `make build` (or `npm run build` in frontend/) and restart.\nThe JSON API is at /api/v1 and its documentation at /api/docs.\n"),
    }
}

/// Serves an embedded asset, or index.html for SPA routes, or the SPA's not-found page.
#[handler]
pub fn serve(req: &Request) -> Response {
    let path = req.uri().path();
    let file = path.trim_start_matches('/');
    if !file.is_empty()
        && let Some(asset) = Assets::get(file)
    {
        let mime = mime_guess::from_path(file).first_or_octet_stream();
        // Vite puts content hashes in asset names, so they never change.
        let cache = if file.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
        return Response::builder()
            .header(header::CONTENT_TYPE, mime.as_ref())
            .header(header::CACHE_CONTROL, cache)
            .body(asset.data.into_owned());
    }
    if is_spa_route(path) { index(StatusCode::OK) } else { index(StatusCode::NOT_FOUND) }
}

/// `/robots.txt`: keep crawlers off the dynamic pages, as 0.8.9 did.
#[handler]
pub fn robots() -> impl IntoResponse {
    "User-agent: *\nDisallow: /waterfall\nDisallow: /grid\nDisallow: /tgrid\nDisallow: /console\nDisallow: /builders\nDisallow: /changes\nDisallow: /workers\nDisallow: /buildslaves\nDisallow: /one_line_per_build\nDisallow: /buildstatus\nDisallow: /users\nDisallow: /api\nDisallow: /change_hook\nDisallow: /plots\nDisallow: /json\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spa_routes_cover_the_old_url_space() {
        for p in [
            "/",
            "/waterfall",
            "/builders/a/builds/3",
            "/builders/a/builds/3/steps/1/logs/stdio",
            "/buildslaves",
            "/users/table/1",
            "/outbox",
        ] {
            assert!(is_spa_route(p), "{p}");
        }
        assert!(!is_spa_route("/nope"));
    }
}
