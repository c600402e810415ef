//! `/api/docs`: Swagger UI over the API's document. poem-openapi writes the whole UI (its
//! script, its style sheet and a script that starts it) into one HTML page, which the
//! Content-Security-Policy would refuse to run; here the script and the style sheet are
//! taken out of that page once and served as files of their own, and a small script file
//! starts the UI on `/api/openapi.json`, so the page carries no inline code.

use std::sync::OnceLock;

use bytes::Bytes;
use poem::endpoint::BoxEndpoint;
use poem::http::{StatusCode, header};
use poem::{EndpointExt, Response, Route, get, handler};

/// Starts Swagger UI on the API's document.
const INIT_JS: &str =
    "SwaggerUIBundle({ dom_id: '#ui', url: '/api/openapi.json', filter: false, deepLinking: true });\n";

/// The page: the UI's style sheet and scripts, by address.
const PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
    <title>Cascade API</title>\n<link rel=\"stylesheet\" href=\"/api/docs/swagger-ui.css\">\n</head>\n<body>\n\
    <div id=\"ui\"></div>\n<script src=\"/api/docs/swagger-ui-bundle.js\"></script>\n\
    <script src=\"/api/docs/init.js\"></script>\n</body>\n</html>\n";

/// What `/api/docs` says when poem-openapi's page could not be cut up.
const UNAVAILABLE: &str = "The API's documentation is not available; the API is described at /api/openapi.json\n";

/// The UI's script and style sheet, cut out of poem-openapi's page.
#[derive(Debug)]
struct Files {
    script: Bytes,
    style: Bytes,
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

impl Files {
    fn cut(html: &str) -> Option<Files> {
        let style = between(html, "<style charset=\"UTF-8\">", "</style>")?;
        let script = between(html, "<script charset=\"UTF-8\">", "</script>")?;
        Some(Files {
            script: Bytes::copy_from_slice(script.as_bytes()),
            style: Bytes::copy_from_slice(style.as_bytes()),
        })
    }

    /// The files, cut from poem-openapi's page the first time they are asked for rather than
    /// at start: the page holds the whole UI and the whole document, megabytes a master that
    /// nobody reads the docs of need not keep. `None` should a new poem-openapi lay its page
    /// out otherwise: the docs then say so instead of serving a broken UI.
    fn get() -> Option<&'static Files> {
        static FILES: OnceLock<Option<Files>> = OnceLock::new();
        FILES
            .get_or_init(|| {
                let files = Files::cut(&swagger_page());
                if files.is_none() {
                    tracing::error!("poem-openapi's Swagger UI page has an unexpected layout; /api/docs is off");
                }
                files
            })
            .as_ref()
    }
}

/// poem-openapi's Swagger UI page, around the document of an empty API: only its script and
/// style sheet are kept, so the whole document need not be made for it.
fn swagger_page() -> String {
    poem_openapi::OpenApiService::new((), "", "").swagger_ui_html()
}

fn file(content_type: &'static str, body: impl Into<poem::Body>) -> Response {
    Response::builder().header(header::CONTENT_TYPE, content_type).header(header::CACHE_CONTROL, "no-cache").body(body)
}

#[handler]
fn page_html() -> Response {
    match Files::get() {
        Some(_) => file("text/html; charset=utf-8", PAGE),
        None => file("text/plain; charset=utf-8", UNAVAILABLE),
    }
}

#[handler]
fn init_js() -> Response {
    file("text/javascript; charset=utf-8", INIT_JS)
}

/// One of the cut files, or 404 when there are none.
fn cut_file(content_type: &'static str, pick: fn(&Files) -> &Bytes) -> Response {
    match Files::get() {
        Some(files) => file(content_type, pick(files).clone()),
        None => Response::builder().status(StatusCode::NOT_FOUND).body(UNAVAILABLE),
    }
}

#[handler]
fn bundle_js() -> Response {
    cut_file("text/javascript; charset=utf-8", |f| &f.script)
}

#[handler]
fn bundle_css() -> Response {
    cut_file("text/css; charset=utf-8", |f| &f.style)
}

/// The docs' routes, to nest at `/api/docs`.
pub fn endpoint() -> BoxEndpoint<'static> {
    Route::new()
        .at("/", get(page_html))
        .at("/init.js", get(init_js))
        .at("/swagger-ui-bundle.js", get(bundle_js))
        .at("/swagger-ui.css", get(bundle_css))
        .boxed()
}

/// `/api/openapi.json`: the API's document, made on the first request rather than at start.
#[handler]
pub fn openapi_json() -> Response {
    static SPEC: OnceLock<Bytes> = OnceLock::new();
    let spec = SPEC.get_or_init(|| Bytes::from(crate::api::spec_json()));
    Response::builder().content_type("application/json").body(spec.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_is_cut_out_of_poem_openapis_page() {
        let files = Files::cut(&swagger_page()).unwrap();
        let text = |b: &Bytes| String::from_utf8(b.to_vec()).unwrap();
        assert!(text(&files.script).contains("SwaggerUIBundle"));
        assert!(text(&files.style).contains(".swagger-ui"));
        assert!(!PAGE.contains("<script>") && !PAGE.contains("<style"));
    }
}
