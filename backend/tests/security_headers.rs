//! Every response carries the security headers, whoever answered it: a master process with a
//! plain and a TLS listener is walked over routes of every kind (API, SPA and its assets,
//! hooks, badges, feeds, plots, docs, errors, 404s), and each answer is checked for each
//! header; HSTS comes over TLS only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::process::{Master, config, self_signed};
use reqwest::Method;

/// Requests of every kind the master answers, with the status each must get.
fn routes(asset: &str) -> Vec<(Method, String, u16)> {
    let get = |path: &str, status| (Method::GET, path.to_owned(), status);
    vec![
        get("/", 200),
        get("/waterfall", 200),
        get("/builders/app/builds/1", 200),
        get(asset, 200),
        get("/no/such/page", 404),
        get("/api/v1/builders", 200),
        get("/api/v1/builders/nope", 404),
        get("/api/v1/builds?limit=many", 400),
        (Method::POST, "/api/v1/builds/stop".into(), 403),
        (Method::POST, "/api/v1/login".into(), 400),
        get("/api/v1/session", 200),
        get("/api/v1/events", 200),
        get("/api/v1/worker/connect", 400),
        get("/api/openapi.json", 200),
        get("/api/docs/", 200),
        get("/api/docs/init.js", 200),
        get("/api/docs/swagger-ui-bundle.js", 200),
        (Method::POST, "/change_hook/base".into(), 400),
        (Method::POST, "/change_hook/github".into(), 404),
        get("/badges/app.svg", 200),
        get("/badges/nope.svg", 404),
        get("/png?builder=app", 200),
        get("/plots/builders/app/durations.png", 200),
        get("/builders/app/builds/1/steps/1/logs/stdio/text", 404),
        get("/rss", 200),
        get("/atom", 200),
        get("/json", 200),
        get("/json/help", 200),
        get("/metrics", 200),
        get("/robots.txt", 200),
        get("/healthz", 200),
        (Method::DELETE, "/healthz".into(), 405),
    ]
}

/// Walks every route on `base` and checks each header of each answer.
async fn walk(client: &reqwest::Client, base: &str, asset: &str, tls: bool) {
    let base = base.trim_end_matches('/');
    for (method, path, status) in routes(asset) {
        let mut req = client.request(method.clone(), format!("{base}{path}"));
        if method == Method::POST {
            req = req.header("content-type", "application/json").body("{}");
        }
        let resp = req.send().await.unwrap();
        let at = format!("{method} {base}{path}");
        assert_eq!(resp.status().as_u16(), status, "{at}");
        let h = resp.headers();
        let csp = h.get("content-security-policy").unwrap_or_else(|| panic!("{at}: no CSP")).to_str().unwrap();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        // Scripts only from this origin, or none at all on a page that needs none.
        match directives.iter().find(|d| d.starts_with("script-src")) {
            Some(script) => assert_eq!(*script, "script-src 'self'", "{at}: {csp}"),
            None => assert!(directives.contains(&"default-src 'none'"), "{at}: {csp}"),
        }
        assert!(directives.contains(&"frame-ancestors 'none'"), "{at}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{at}: {csp}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{at}");
        assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{at}");
        assert_eq!(h.get("referrer-policy").map(|v| v.to_str().unwrap()), Some("same-origin"), "{at}");
        let hsts = h.get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned());
        if tls {
            assert!(hsts.as_deref().is_some_and(|v| v.starts_with("max-age=")), "{at}: {hsts:?}");
        } else {
            assert_eq!(hsts, None, "{at}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_hsts_only_over_tls() {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path());
    let web =
        r#"listen = ["127.0.0.1:0", { addr = "127.0.0.1:0", tls = { cert = "server.pem", key = "server.key" } }]"#;
    let text = format!("{}[change_hook]\ndialects = {{ base = {{}} }}\n", config(&tdb.url, web));
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, text).unwrap();
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &[], 2)).await.unwrap();
    let (plain, tls) = (master.urls[0].clone(), master.urls[1].clone());

    // A real asset of the SPA's build, named with its content hash.
    let index = reqwest::get(format!("{plain}waterfall")).await.unwrap().text().await.unwrap();
    let start = index.find("/assets/").expect("the SPA is built into the binary");
    let asset = &index[start..start + index[start..].find('"').unwrap()];
    for tag in index.split("<script").skip(1).map(|rest| &rest[..rest.find('>').unwrap()]) {
        assert!(tag.contains(" src="), "an inline script in index.html: <script{tag}>");
    }
    assert!(!index.contains("<style"), "an inline style sheet in index.html:\n{index}");

    let pem = std::fs::read(dir.path().join("server.pem")).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    walk(&reqwest::Client::new(), &plain, asset, false).await;
    walk(&trusting, &tls, asset, true).await;
}
