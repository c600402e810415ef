//! A master serving HTTPS: a TLS listener answers clients that trust its certificate and
//! refuses the others, while a plain listener of the same configuration keeps answering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::process::{Master, config, self_signed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_listener_answers_only_clients_that_trust_its_certificate() {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path());
    let web =
        r#"listen = ["127.0.0.1:0", { addr = "127.0.0.1:0", tls = { cert = "server.pem", key = "server.key" } }]"#;
    let path = dir.path().join("cascade.toml");
    std::fs::write(&path, config(&tdb.url, web)).unwrap();
    let master = tokio::task::spawn_blocking(move || Master::start(&path, &[], 2)).await.unwrap();
    let (plain, tls) = (&master.urls[0], &master.urls[1]);
    assert!(plain.starts_with("http://127.0.0.1:"), "{plain}");
    assert!(tls.starts_with("https://127.0.0.1:"), "{tls}");

    let pem = std::fs::read(dir.path().join("server.pem")).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let resp = trusting.get(format!("{tls}healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    let builders = trusting.get(format!("{tls}api/v1/builders")).send().await.unwrap();
    assert_eq!(builders.status(), 200);

    let stranger = reqwest::Client::new();
    let refused = stranger.get(format!("{tls}healthz")).send().await;
    assert!(refused.is_err(), "a client without the certificate got {refused:?}");

    let resp = reqwest::get(format!("{plain}healthz")).await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.text().await.unwrap()), (200, "ok".to_owned()));
}
