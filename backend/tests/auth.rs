//! Logins, sessions and the authorization of every action route, in-process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

use common::TestDb;

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    engine: Arc<Engine>,
    _db: TestDb,
    dir: tempfile::TempDir,
}

fn builders() -> &'static str {
    r#"
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
"#
}

/// A master whose config has `extra` (auth, authz sections) and users ann (role dev) and
/// eve, both with the password "pw".
async fn api(extra: &str) -> Api {
    let tdb = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let hash = cascade::auth::password::hash("pw").unwrap();
    let body = format!(
        "{}\n{extra}\n",
        builders()
    )
    .replace("USERS", &format!("users = [{{ username = \"ann\", password_hash = \"{hash}\" }}, {{ username = \"eve\", password_hash = \"{hash}\" }}]"));
    // The common config opens force_build; these tests set [authz] themselves.
    let path = dir.path().join("cascade.toml");
    let text = format!(
        "title = \"t\"\nbase_url = \"BASE\"\n[web]\nlisten = [\"127.0.0.1:0\"]\n[[workers]]\nname = \"local\"\nembedded = true\n{body}"
    )
    .replace("BASE", if extra.contains("#https") { "https://ci.example.org/" } else { "http://127.0.0.1/" });
    std::fs::write(&path, text).unwrap();
    let mut cfg = cascade::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.db.url = tdb.url.clone();
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    Api { client: TestClient::new(cascade::server::app(engine.clone())), engine, _db: tdb, dir }
}

async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

/// A logged-in browser: its cookie and CSRF token.
struct Login {
    cookie: String,
    csrf: String,
    set_cookie: String,
}

async fn login(a: &Api, user: &str, password: &str) -> Result<Login, (StatusCode, Value)> {
    let resp = a.client.post("/api/v1/login").body_json(&json!({"username": user, "password": password})).send().await;
    let status = resp.0.status();
    let set_cookie = resp.0.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = json_of(resp).await;
    if status != StatusCode::OK {
        return Err((status, body));
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Ok(Login { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned(), set_cookie })
}

const USERS_AUTH: &str = "[auth]\nUSERS\n[authz]\nforce_build = \"auth\"\nroles = { dev = [\"ann\"] }\n";

#[tokio::test]
async fn a_login_sets_a_safe_cookie_and_logout_ends_the_session() {
    let a = api(USERS_AUTH).await;
    let anon = json_of(a.client.get("/api/v1/session").send().await).await;
    assert_eq!(anon["username"], Value::Null);
    assert_eq!(anon["actions"]["force_build"], json!(false));
    assert_eq!(anon["actions"]["view"], json!(true));
    assert_eq!(anon["password_login"], json!(true));

    let s = login(&a, "ann", "pw").await.unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(s.set_cookie.contains(flag), "{flag} missing in {}", s.set_cookie);
    }
    assert!(!s.set_cookie.contains("Secure"), "not over plain HTTP");
    let me = json_of(a.client.get("/api/v1/session").header("cookie", &s.cookie).send().await).await;
    assert_eq!((me["username"].clone(), me["roles"].clone()), (json!("ann"), json!(["dev"])));
    assert_eq!(me["actions"]["force_build"], json!(true));
    assert_eq!(me["csrf_token"], json!(s.csrf));

    let out = a.client.post("/api/v1/logout").header("cookie", &s.cookie).header("x-csrf-token", &s.csrf).send().await;
    out.assert_status_is_ok();
    let cleared = out.0.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let after = json_of(a.client.get("/api/v1/session").header("cookie", &s.cookie).send().await).await;
    assert_eq!(after["username"], Value::Null, "the old cookie no longer works");
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let a = api(&format!("{USERS_AUTH}#https")).await;
    assert!(login(&a, "ann", "pw").await.unwrap().set_cookie.contains("; Secure"));
}

#[tokio::test]
async fn a_state_change_with_the_cookie_needs_the_csrf_token() {
    let a = api(USERS_AUTH).await;
    let s = login(&a, "eve", "pw").await.unwrap();
    let no_token =
        a.client.post("/api/v1/builders/app/force").header("cookie", &s.cookie).body_json(&json!({})).send().await;
    no_token.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(json_of(no_token).await["error"], json!("csrf"));
    let wrong = a
        .client
        .post("/api/v1/builders/app/force")
        .header("cookie", &s.cookie)
        .header("x-csrf-token", "nope")
        .body_json(&json!({}))
        .send()
        .await;
    wrong.assert_status(StatusCode::FORBIDDEN);
    let ok = a
        .client
        .post("/api/v1/builders/app/force")
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .body_json(&json!({}))
        .send()
        .await;
    ok.assert_status(StatusCode::ACCEPTED);
    let anon = a.client.post("/api/v1/builders/app/force").body_json(&json!({})).send().await;
    anon.assert_status(StatusCode::UNAUTHORIZED);
    assert!(json_of(anon).await["message"].as_str().unwrap().contains("log in at /login"));
}

#[tokio::test]
async fn failed_logins_are_refused_then_rate_limited() {
    let a = api(USERS_AUTH).await;
    let (status, body) = login(&a, "ann", "wrong").await.err().unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], json!("unauthorized"));
    let (status, _) = login(&a, "nobody", "pw").await.err().unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unknown user looks like a wrong password");
    for _ in 0..4 {
        let _ = login(&a, "ann", "wrong").await;
    }
    let (status, body) = login(&a, "ann", "pw").await.err().unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits: {body}");
    assert!(body["message"].as_str().unwrap().contains("try again in"));
}

#[tokio::test]
async fn htpasswd_database_users_and_basic_auth_all_work() {
    let a = api("[auth]\nhtpasswd = \"users.htpasswd\"\ndb_users = true\n[authz]\nforce_build = \"auth\"\nshow_users_page = \"auth\"\n").await;
    std::fs::write(a.dir.path().join("users.htpasswd"), "hal:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    login(&a, "hal", "secret").await.unwrap();
    assert!(login(&a, "hal", "Secret").await.is_err());

    let change = cascade::auth::users::UserChange {
        username: Some("dora".into()),
        password: Some("db-pw".into()),
        attributes: vec![cascade::auth::users::parse_attribute("role=ops").unwrap()],
        ..Default::default()
    };
    cascade::auth::users::add(&a.engine.db, &change).await.unwrap();
    let s = login(&a, "dora", "db-pw").await.unwrap();
    let me = json_of(a.client.get("/api/v1/session").header("cookie", &s.cookie).send().await).await;
    assert_eq!(me["roles"], json!(["ops"]), "roles come from user attributes");
    assert_eq!(me["user"]["username"], json!("dora"));

    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("dora:db-pw"));
    a.client
        .post("/api/v1/builders/app/force")
        .header("authorization", &basic)
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::ACCEPTED);
    let bad = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("dora:nope"));
    a.client
        .post("/api/v1/builders/app/force")
        .header("authorization", &bad)
        .body_json(&json!({}))
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    a.client.get("/api/v1/users").send().await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn view_auth_hides_everything_from_anonymous_clients() {
    let a = api("[auth]\nUSERS\nlogin_url = \"https://sso.example.org/\"\n[authz]\nview = \"auth\"\n").await;
    for path in [
        "/api/v1/builds",
        "/api/v1/builders",
        "/api/v1/changes",
        "/api/v1/views/waterfall",
        "/api/v1/events",
        "/api/v1/workers",
    ] {
        let resp = a.client.get(path).send().await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        assert!(json_of(resp).await["message"].as_str().unwrap().contains("https://sso.example.org/"), "{path}");
    }
    let anon = json_of(a.client.get("/api/v1/session").send().await).await;
    assert_eq!(anon["login_url"], json!("https://sso.example.org/"));
    let s = login(&a, "ann", "pw").await.unwrap();
    a.client.get("/api/v1/builds").header("cookie", &s.cookie).send().await.assert_status_is_ok();
}

#[tokio::test]
async fn users_are_listed_shown_and_managed_through_the_api() {
    let a = api("[auth]\nUSERS\n[authz]\nshow_users_page = \"auth\"\nroles = { admins = [\"ann\"] }\n").await;
    let admin = login(&a, "ann", "pw").await.unwrap();
    let other = login(&a, "eve", "pw").await.unwrap();
    let create = |s: &Login, body: Value| {
        a.client
            .post("/api/v1/users")
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .body_json(&body)
            .send()
    };
    create(&other, json!({"identifier": "x"})).await.assert_status(StatusCode::FORBIDDEN);
    let resp = create(
        &admin,
        json!({"username": "zed", "password": "z", "attributes": [{"type": "email", "value": "zed@example.org"}]}),
    )
    .await;
    resp.assert_status(StatusCode::CREATED);
    let zed = json_of(resp).await;
    assert_eq!(zed["identifier"], json!("zed"));
    create(&admin, json!({"username": "zed"})).await.assert_status(StatusCode::CONFLICT);
    create(&admin, json!({})).await.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let uid = zed["uid"].as_i64().unwrap();
    let list = json_of(a.client.get("/api/v1/users").header("cookie", &other.cookie).send().await).await;
    assert_eq!(list["users"][0]["attributes"][0]["value"], json!("zed@example.org"));
    let patched = a
        .client
        .patch(format!("/api/v1/users/{uid}"))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body_json(&json!({"attributes": [{"type": "irc", "value": "zed"}]}))
        .send()
        .await;
    patched.assert_status_is_ok();
    assert_eq!(json_of(patched).await["attributes"].as_array().unwrap().len(), 2);
    a.client
        .delete(format!("/api/v1/users/{uid}"))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .send()
        .await
        .assert_status_is_ok();
    a.client
        .get(format!("/api/v1/users/{uid}"))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

/// Every state-changing route of the OpenAPI document, against every authz mode and
/// caller: a route added without going through the authorization point fails here.
#[tokio::test]
async fn every_action_route_is_guarded_in_every_mode() {
    let spec: Value = serde_json::from_str(&cascade::api::spec_json()).unwrap();
    let mut routes = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            if method == "get" || ["login", "logout"].contains(&id) {
                continue;
            }
            let concrete = format!("/api/v1{path}")
                .replace("{name}", "app")
                .replace("{number}", "1")
                .replace("{id}", "1")
                .replace("{uid}", "1");
            routes.push((method.clone(), concrete, id.to_owned()));
        }
    }
    assert!(routes.len() >= 15, "{routes:?}");
    let keys = cascade::auth::authz::Action::ALL.map(|a| a.key());
    let modes = [("false", "denied"), ("true", "open"), ("\"auth\"", "auth"), ("{ roles = [\"dev\"] }", "roles")];
    for (value, mode) in modes {
        let authz: String = keys.iter().filter(|k| **k != "view").map(|k| format!("{k} = {value}\n")).collect();
        let a = api(&format!("[auth]\nUSERS\n[authz]\n{authz}roles = {{ dev = [\"ann\"] }}\n")).await;
        let dev = login(&a, "ann", "pw").await.unwrap();
        let plain = login(&a, "eve", "pw").await.unwrap();
        for (method, path, id) in &routes {
            for (who, session) in [("anonymous", None), ("eve", Some(&plain)), ("ann (dev)", Some(&dev))] {
                let req = match method.as_str() {
                    "post" => a.client.post(path),
                    "delete" => a.client.delete(path),
                    "patch" => a.client.patch(path),
                    other => panic!("unexpected method {other}"),
                };
                let req = match session {
                    Some(s) => req.header("cookie", &s.cookie).header("x-csrf-token", &s.csrf),
                    None => req,
                };
                let body = if id == "shutdown_master" { json!({"mode": "stop"}) } else { json!({}) };
                let status = req.body_json(&body).send().await.0.status();
                let expected = match (mode, who) {
                    ("denied", _) => Some(StatusCode::FORBIDDEN),
                    ("open", _) => None,
                    ("auth", "anonymous") | ("roles", "anonymous") => Some(StatusCode::UNAUTHORIZED),
                    ("auth", _) => None,
                    ("roles", "eve") => Some(StatusCode::FORBIDDEN),
                    _ => None,
                };
                match expected {
                    Some(code) => assert_eq!(status, code, "{mode}: {who} {method} {path} ({id})"),
                    None => assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{mode}: {who} {method} {path} ({id}) was refused with {status}"
                    ),
                }
            }
        }
    }
}

#[tokio::test]
async fn the_outbox_is_for_admins_who_can_list_retry_and_drop() {
    let a = api("[auth]\nUSERS\n[authz]\nroles = { admins = [\"ann\"] }\n").await;
    let (sent, failed, pending) = {
        let mut tx = a.engine.db.begin().await.unwrap();
        let mut ids = Vec::new();
        for n in 0..3 {
            let key = format!("k{n}");
            ids.push(cascade::db::outbox::enqueue(tx.conn(), "mail", &key, &json!({ "n": n }), 1000).await.unwrap());
        }
        cascade::db::outbox::mark_sent(tx.conn(), ids[0], 1001).await.unwrap();
        cascade::db::outbox::mark_failed(tx.conn(), ids[1], "550 no such user", None, 1002).await.unwrap();
        tx.commit().await.unwrap();
        (ids[0], ids[1], ids[2])
    };

    // Denied by default: anonymous visitors are asked to log in, other users refused.
    a.client.get("/api/v1/outbox").send().await.assert_status(StatusCode::UNAUTHORIZED);
    let eve = login(&a, "eve", "pw").await.unwrap();
    a.client.get("/api/v1/outbox").header("cookie", &eve.cookie).send().await.assert_status(StatusCode::FORBIDDEN);
    a.client
        .post(format!("/api/v1/outbox/{failed}/retry"))
        .header("cookie", &eve.cookie)
        .header("x-csrf-token", &eve.csrf)
        .send()
        .await
        .assert_status(StatusCode::FORBIDDEN);

    let ann = login(&a, "ann", "pw").await.unwrap();
    let list = |query: &'static str| {
        let ann = &ann;
        let a = &a;
        async move {
            let v = json_of(a.client.get(format!("/api/v1/outbox{query}")).header("cookie", &ann.cookie).send().await)
                .await;
            v["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, [pending, failed, sent]);
    assert_eq!(list("?state=failed").await, [failed]);
    assert_eq!(list("?reporter=irc").await, Vec::<i64>::new());
    assert_eq!(list("?limit=1&offset=1").await, [failed]);
    a.client
        .get("/api/v1/outbox?state=lost")
        .header("cookie", &ann.cookie)
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    let post =
        |path: String| a.client.post(path).header("cookie", &ann.cookie).header("x-csrf-token", &ann.csrf).send();
    let retried = post(format!("/api/v1/outbox/{failed}/retry")).await;
    retried.assert_status_is_ok();
    let retried = json_of(retried).await;
    assert_eq!(retried["state"], json!("pending"));
    assert_eq!(retried["last_error"], json!("550 no such user"));
    post(format!("/api/v1/outbox/{sent}/retry")).await.assert_status(StatusCode::NOT_FOUND);

    let delete = |id: i64| {
        a.client
            .delete(format!("/api/v1/outbox/{id}"))
            .header("cookie", &ann.cookie)
            .header("x-csrf-token", &ann.csrf)
            .send()
    };
    delete(sent).await.assert_status_is_ok();
    delete(sent).await.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(list("").await, [pending, failed]);
}
