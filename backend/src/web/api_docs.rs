//! `/api/docs`: Swagger UI over the API's document. poem-openapi writes the whole UI (its
//! script, its style sheet and a script that starts it) into one HTML page, which the
//! Content-Security-Policy would refuse to run; here the script and the style sheet are
//! taken out of that page once and served as files of their own, and a small script file
//! starts the UI on `/api/openapi.json`, so the page carries no inline code.

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::http::header;
use poem::{EndpointExt, Response, Route, get, handler};

/// Starts Swagger UI on the API's document.
const INIT_JS: &str =
    "SwaggerUIBundle({ dom_id: '#ui', url: '/api/openapi.json', filter: false, deepLinking: true });\n";

/// The page: the UI's style sheet and scripts, by address.
const PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
    <title>Cascade API</title>\n<link rel=\"stylesheet\" href=\"/api/docs/swagger-ui.css\">\n</head>\n<body>\n\
    <div id=\"ui\"></div>\n<script src=\"/api/docs/swagger-ui-bundle.js\"></script>\n\
    <script src=\"/api/docs/init.js\"></script>\n</body>\n</html>\n";

/// The UI's script and style sheet, cut out of poem-openapi's page.
#[derive(Debug)]
struct Files {
    script: String,
    style: String,
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
        Some(Files { script: script.to_owned(), style: style.to_owned() })
    }
}

fn file(content_type: &'static str, body: String) -> Response {
    Response::builder().header(header::CONTENT_TYPE, content_type).header(header::CACHE_CONTROL, "no-cache").body(body)
}

#[handler]
fn page_html() -> Response {
    file("text/html; charset=utf-8", PAGE.to_owned())
}

#[handler]
fn init_js() -> Response {
    file("text/javascript; charset=utf-8", INIT_JS.to_owned())
}

#[handler]
fn bundle_js(files: poem::web::Data<&Arc<Files>>) -> Response {
    file("text/javascript; charset=utf-8", files.script.clone())
}

#[handler]
fn bundle_css(files: poem::web::Data<&Arc<Files>>) -> Response {
    file("text/css; charset=utf-8", files.style.clone())
}

/// The docs' routes, to nest at `/api/docs`, from poem-openapi's page (`swagger_ui_html`).
/// Should a new poem-openapi lay its page out otherwise, the page says so instead of
/// serving a broken UI.
pub fn endpoint(swagger_html: &str) -> BoxEndpoint<'static> {
    match Files::cut(swagger_html) {
        Some(files) => Route::new()
            .at("/", get(page_html))
            .at("/init.js", get(init_js))
            .at("/swagger-ui-bundle.js", get(bundle_js))
            .at("/swagger-ui.css", get(bundle_css))
            .data(Arc::new(files))
            .boxed(),
        None => {
            tracing::error!("poem-openapi's Swagger UI page has an unexpected layout; /api/docs is off");
            Route::new()
                .at(
                    "/",
                    get(poem::endpoint::make_sync(
                        |_| "The API's documentation is not available; the API is described at /api/openapi.json\n",
                    )),
                )
                .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_is_cut_out_of_poem_openapis_page() {
        let html = crate::api::service().swagger_ui_html();
        let files = Files::cut(&html).unwrap();
        assert!(files.script.contains("SwaggerUIBundle"));
        assert!(files.style.contains(".swagger-ui"));
        assert!(!PAGE.contains("<script>") && !PAGE.contains("<style"));
    }
}
