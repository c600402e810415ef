//! Login sessions: a login always starts a new session (no fixation), a session ends when
//! left idle and at its absolute lifetime, and a user can be logged out everywhere by
//! themself or by a user manager. In-process over the real app; the clock is moved by
//! ageing the stored session rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use cascade::auth::users::{UserChange, add, parse_attribute};
use cascade::db::Db;
use cascade::engine::Engine;
use cascade::engine::clock::SystemClock;
use poem::http::StatusCode;
use poem::test::TestClient;
use serde_json::{Value, json};

struct Api {
    client: TestClient<poem::endpoint::BoxEndpoint<'static>>,
    tdb: common::TestDb,
    uids: std::collections::HashMap<&'static str, i64>,
    _engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

/// A master with database users ann, eve (password "pw") and root (role admins), whose
/// sessions idle out after 600 s and end after 3600 s.
async fn api() -> Api {
    let tdb = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let body = "[auth]\ndb_users = true\nsession_idle_timeout = 600\nsession_lifetime = 3600\n[[builders]]\nname = \"app\"\nworkers = [\"local\"]\nsteps = [ { name = \"s\", command = \"true\" } ]\n";
    let cfg = common::config(dir.path(), body, &tdb.url);
    let engine = Engine::start(Arc::new(cfg), tdb.db.clone(), Arc::new(SystemClock)).await.unwrap();
    let mut uids = std::collections::HashMap::new();
    for (name, role) in [("ann", None), ("eve", None), ("root", Some("role=admins"))] {
        let change = UserChange {
            username: Some(name.into()),
            password: Some("pw".into()),
            attributes: role.map(|r| parse_attribute(r).unwrap()).into_iter().collect(),
            ..Default::default()
        };
        uids.insert(name, add(&engine.db, &change).await.unwrap().user.uid);
    }
    Api { client: TestClient::new(cascade::server::app(engine.clone())), tdb, uids, _engine: engine, _dir: dir }
}

/// A browser's session: the cookie it sends and its CSRF token.
#[derive(Clone, Debug)]
struct Login {
    cookie: String,
    csrf: String,
    set_cookie: String,
}

/// Logs in, sending `presented` as the cookie when given.
async fn login(a: &Api, user: &str, presented: Option<&str>) -> Login {
    let mut req = a.client.post("/api/v1/login").body_json(&json!({ "username": user, "password": "pw" }));
    if let Some(cookie) = presented {
        req = req.header("cookie", cookie);
    }
    let resp = req.send().await;
    resp.assert_status_is_ok();
    let set_cookie = resp.0.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    let body: Value = resp.0.into_body().into_json().await.unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Login { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned(), set_cookie }
}

/// Who the cookie logs in as now, if anyone.
async fn whoami(a: &Api, cookie: &str) -> Option<String> {
    let resp = a.client.get("/api/v1/session").header("cookie", cookie).send().await;
    resp.assert_status_is_ok();
    let body: Value = resp.0.into_body().into_json().await.unwrap();
    body["username"].as_str().map(str::to_owned)
}

/// Moves every stored session `idle` seconds further from its last use and `age` seconds
/// further from its login, as if that much time had passed.
async fn age(db: &Db, idle: i64, age: i64) {
    const SQL: &str = "update sessions set last_seen_at = last_seen_at - $1, created_at = created_at - $2";
    match db {
        Db::Sqlite(pool, _) => sqlx::query(SQL).bind(idle).bind(age).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(SQL).bind(idle).bind(age).execute(pool).await.map(|_| ()),
    }
    .unwrap();
}

async fn logout_everywhere(a: &Api, uid: i64, as_: Option<&Login>) -> (StatusCode, Value) {
    let mut req = a.client.post(format!("/api/v1/users/{uid}/logout"));
    if let Some(s) = as_ {
        req = req.header("cookie", &s.cookie).header("x-csrf-token", &s.csrf);
    }
    let resp = req.send().await;
    let status = resp.0.status();
    (status, resp.0.into_body().into_json().await.unwrap())
}

#[tokio::test]
async fn a_login_never_keeps_a_token_presented_before_it() {
    let a = api().await;
    let planted = "cascade_session=chosen-by-someone-else";
    let s = login(&a, "ann", Some(planted)).await;
    assert_ne!(s.cookie, planted);
    assert_eq!(whoami(&a, planted).await, None, "the planted token carries no login");
    assert_eq!(whoami(&a, &s.cookie).await.as_deref(), Some("ann"));

    let again = login(&a, "ann", Some(&s.cookie)).await;
    assert_ne!(again.cookie, s.cookie, "a second login gets a new token");
    assert_ne!(again.csrf, s.csrf, "and a new CSRF token");
    assert_eq!(whoami(&a, &s.cookie).await, None, "the token presented at login ended");
    assert_eq!(whoami(&a, &again.cookie).await.as_deref(), Some("ann"));
}

#[tokio::test]
async fn an_idle_session_ends_and_a_used_one_lives_on() {
    let a = api().await;
    let s = login(&a, "ann", None).await;
    for _ in 0..3 {
        age(&a.tdb.db, 500, 0).await;
        assert_eq!(whoami(&a, &s.cookie).await.as_deref(), Some("ann"), "used within the idle timeout");
    }
    age(&a.tdb.db, 601, 0).await;
    assert_eq!(whoami(&a, &s.cookie).await, None, "idle for longer than session_idle_timeout");
}

#[tokio::test]
async fn a_session_ends_at_its_lifetime_however_busy() {
    let a = api().await;
    let s = login(&a, "ann", None).await;
    assert!(s.set_cookie.contains("Max-Age=3600"), "{}", s.set_cookie);
    age(&a.tdb.db, 0, 3500).await;
    assert_eq!(whoami(&a, &s.cookie).await.as_deref(), Some("ann"));
    age(&a.tdb.db, 0, 101).await;
    assert_eq!(whoami(&a, &s.cookie).await, None, "older than session_lifetime");
}

#[tokio::test]
async fn users_log_themselves_out_everywhere_and_admins_anyone() {
    let a = api().await;
    let (ann, eve, root) = (a.uids["ann"], a.uids["eve"], a.uids["root"]);
    let (ann1, ann2) = (login(&a, "ann", None).await, login(&a, "ann", None).await);
    let (eve1, root1) = (login(&a, "eve", None).await, login(&a, "root", None).await);

    assert_eq!(logout_everywhere(&a, ann, None).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = logout_everywhere(&a, ann, Some(&eve1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "eve may not log ann out: {body}");
    let no_csrf = Login { csrf: "wrong".into(), ..ann1.clone() };
    let (status, body) = logout_everywhere(&a, ann, Some(&no_csrf)).await;
    assert_eq!((status, body["error"].clone()), (StatusCode::FORBIDDEN, json!("csrf")));
    assert_eq!(whoami(&a, &ann2.cookie).await.as_deref(), Some("ann"), "refused requests end nothing");

    let (status, body) = logout_everywhere(&a, ann, Some(&ann1)).await;
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(2)), "{body}");
    assert_eq!(whoami(&a, &ann1.cookie).await, None);
    assert_eq!(whoami(&a, &ann2.cookie).await, None);
    assert_eq!(whoami(&a, &eve1.cookie).await.as_deref(), Some("eve"), "other users stay logged in");

    let (status, body) = logout_everywhere(&a, eve, Some(&root1)).await;
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(1)), "{body}");
    assert_eq!(whoami(&a, &eve1.cookie).await, None);
    assert_eq!(whoami(&a, &root1.cookie).await.as_deref(), Some("root"));
    assert_eq!(logout_everywhere(&a, 9999, Some(&root1)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(logout_everywhere(&a, root, Some(&root1)).await.0, StatusCode::OK);
    assert_eq!(whoami(&a, &root1.cookie).await, None);
}

#[tokio::test]
async fn a_new_password_or_login_name_ends_the_users_sessions() {
    let a = api().await;
    let (ann, eve) = (a.uids["ann"], a.uids["eve"]);
    let (ann1, eve1, root1) =
        (login(&a, "ann", None).await, login(&a, "eve", None).await, login(&a, "root", None).await);
    let update = |uid: i64, body: Value| {
        a.client
            .patch(format!("/api/v1/users/{uid}"))
            .header("cookie", &root1.cookie)
            .header("x-csrf-token", &root1.csrf)
            .body_json(&body)
            .send()
    };

    update(ann, json!({ "attributes": [{ "type": "email", "value": "ann@example.org" }] })).await.assert_status_is_ok();
    assert_eq!(whoami(&a, &ann1.cookie).await.as_deref(), Some("ann"), "other changes end nothing");

    update(ann, json!({ "password": "new" })).await.assert_status_is_ok();
    assert_eq!(whoami(&a, &ann1.cookie).await, None, "a new password ends the sessions of the old one");
    assert_eq!(whoami(&a, &eve1.cookie).await.as_deref(), Some("eve"), "other users stay logged in");
    assert_eq!(whoami(&a, &root1.cookie).await.as_deref(), Some("root"));

    update(eve, json!({ "username": "eve2" })).await.assert_status_is_ok();
    assert_eq!(whoami(&a, &eve1.cookie).await, None, "a renamed user logs in again under the new name");
}
