//! `[web] public_html`: a folder whose files are served before the built-in ones (a custom
//! `robots.txt`, a logo, extra pages), as 0.8.9's public_html was. Nothing outside the folder
//! is ever served: a path with `.` or `..` segments or encoded separators is refused before
//! the file system is asked, and what it names is canonicalised (resolving symlinks) and must
//! still lie inside the folder. The server's own routes (`/api/`, `/change_hook/`, `/healthz`)
//! are never shadowed.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use poem::http::{Method, StatusCode, header};
use poem::web::StaticFileRequest;
use poem::{Endpoint, FromRequest, IntoResponse, Request, Response};

/// First path segments that always reach the server's own routes.
const SERVER_ROUTES: &[&str] = &["api", "change_hook", "healthz"];

/// What a request path names in the folder.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// This file (a directory's `index.html` for a directory).
    File(PathBuf),
    /// A directory with an `index.html`, asked for without its trailing slash: its relative
    /// links only work from `path/`.
    AddSlash,
    /// Nothing here: the built-in routes answer.
    NotHere,
    /// A path that tries to leave the folder (`..`, encoded separators, NUL): 400.
    BadPath,
    /// A name inside the folder that resolves outside it (a symlink out): 404.
    Outside,
}

/// The `public_html` folder.
#[derive(Clone, Debug)]
pub struct PublicHtml {
    /// The folder, canonical when it existed at start.
    root: PathBuf,
}

/// The decoded segments of a raw (still percent-encoded) request path, or `None` when one
/// of them could name something outside the folder.
fn segments(raw: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let lower = segment.to_ascii_lowercase();
        if ["%2f", "%5c", "%00"].iter().any(|e| lower.contains(e)) {
            return None;
        }
        let decoded = percent_decode_str(segment).decode_utf8().ok()?;
        if decoded == "." || decoded == ".." || decoded.contains(['/', '\\', '\0']) {
            return None;
        }
        out.push(decoded.into_owned());
    }
    Some(out)
}

impl PublicHtml {
    /// The folder at `dir` (checked to exist when the configuration was loaded).
    pub fn new(dir: &Path) -> PublicHtml {
        PublicHtml { root: dir.canonicalize().unwrap_or_else(|_| dir.to_owned()) }
    }

    /// Whether the first segment is one of the server's own routes.
    fn reserved(segments: &[String]) -> bool {
        segments.first().is_some_and(|s| SERVER_ROUTES.contains(&s.as_str()))
    }

    /// A canonical path inside the folder, or why not.
    fn inside(&self, path: &Path) -> Result<PathBuf, Lookup> {
        let real = path.canonicalize().map_err(|_| Lookup::NotHere)?;
        if real.starts_with(&self.root) { Ok(real) } else { Err(Lookup::Outside) }
    }

    /// What the raw request path `raw` (as sent, percent-encoded) names in the folder.
    pub fn lookup(&self, raw: &str) -> Lookup {
        let Some(segments) = segments(raw) else { return Lookup::BadPath };
        if Self::reserved(&segments) {
            return Lookup::NotHere;
        }
        let candidate = segments.iter().fold(self.root.clone(), |p, s| p.join(s));
        let real = match self.inside(&candidate) {
            Ok(real) => real,
            Err(answer) => return answer,
        };
        if real.is_file() {
            return Lookup::File(real);
        }
        if !real.is_dir() {
            return Lookup::NotHere;
        }
        match self.inside(&real.join("index.html")) {
            Ok(index) if index.is_file() && !raw.ends_with('/') => Lookup::AddSlash,
            Ok(index) if index.is_file() => Lookup::File(index),
            Ok(_) => Lookup::NotHere,
            Err(answer) => answer,
        }
    }
}

fn refuse(status: StatusCode) -> Response {
    Response::builder().status(status).content_type("text/plain; charset=utf-8").body(match status {
        StatusCode::BAD_REQUEST => "This path is not allowed.\n",
        _ => "Not found.\n",
    })
}

/// Middleware: answers GET and HEAD requests for files in the folder, passes the rest on.
pub async fn serve<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let Some(folder) = req.data::<PublicHtml>().cloned() else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let raw = req.original_uri().path().to_owned();
    match folder.lookup(&raw) {
        Lookup::NotHere => next.call(req).await.map(IntoResponse::into_response),
        Lookup::BadPath => Ok(refuse(StatusCode::BAD_REQUEST)),
        Lookup::Outside => Ok(refuse(StatusCode::NOT_FOUND)),
        Lookup::AddSlash => {
            let query = req.original_uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            Ok(Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, format!("{raw}/{query}"))
                .finish())
        }
        Lookup::File(path) => {
            let (req, mut body) = req.split();
            let conditions = StaticFileRequest::from_request(&req, &mut body).await?;
            // `no-cache`: browsers revalidate (cheaply, by ETag), so edited files show at once.
            match conditions.create_response(&path, true, true) {
                Ok(file) => Ok(file.into_response()),
                Err(e) => Ok(poem::Error::from(e).into_response()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn folder() -> (tempfile::TempDir, PublicHtml) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public_html");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("robots.txt"), "User-agent: *\n").unwrap();
        std::fs::write(root.join("docs/index.html"), "<p>docs</p>").unwrap();
        std::fs::write(root.join("a b.txt"), "spaced").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink("robots.txt", root.join("inside.txt")).unwrap();
        let html = PublicHtml::new(&root);
        (dir, html)
    }

    #[test]
    fn files_and_directory_indexes_are_found() {
        let (_dir, html) = folder();
        assert!(matches!(html.lookup("/robots.txt"), Lookup::File(p) if p.ends_with("robots.txt")));
        assert!(matches!(html.lookup("/a%20b.txt"), Lookup::File(p) if p.ends_with("a b.txt")));
        assert!(matches!(html.lookup("/docs/"), Lookup::File(p) if p.ends_with("docs/index.html")));
        assert_eq!(html.lookup("/docs"), Lookup::AddSlash);
        assert!(matches!(html.lookup("/inside.txt"), Lookup::File(p) if p.ends_with("robots.txt")));
        assert_eq!(html.lookup("/empty/"), Lookup::NotHere);
        assert_eq!(html.lookup("/"), Lookup::NotHere);
        assert_eq!(html.lookup("/waterfall"), Lookup::NotHere);
    }

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        let (_dir, html) = folder();
        for path in [
            "/../secret.txt",
            "/docs/../../secret.txt",
            "/./robots.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/..%2fsecret.txt",
            "/..%2Fsecret.txt",
            "/..%5csecret.txt",
            "/docs%2f..%2f..%2fsecret.txt",
            "/robots.txt%00.html",
            "/..\\secret.txt",
        ] {
            assert_eq!(html.lookup(path), Lookup::BadPath, "{path}");
        }
        assert_eq!(html.lookup("/escape.txt"), Lookup::Outside);
    }

    #[test]
    fn the_servers_own_routes_are_never_shadowed() {
        let (dir, html) = folder();
        let root = dir.path().join("public_html");
        std::fs::create_dir_all(root.join("api/v1")).unwrap();
        std::fs::write(root.join("api/v1/builders"), "shadow").unwrap();
        std::fs::write(root.join("healthz"), "shadow").unwrap();
        assert_eq!(html.lookup("/api/v1/builders"), Lookup::NotHere);
        assert_eq!(html.lookup("/%61pi/v1/builders"), Lookup::NotHere);
        assert_eq!(html.lookup("/healthz"), Lookup::NotHere);
    }
}
