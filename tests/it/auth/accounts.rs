//! Setup, login, sessions (sliding, capped), remember-me, passwords, users, ownership.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::fixture::router::*;

#[tokio::test]
async fn setup_login_me_logout() {
    let env = env().await;
    assert_eq!(env.send(get("/auth/setup")).await.json()["needed"], true);
    // Bad input gets the contract's error body.
    let r =
        env.send(json_req(Method::POST, "/auth/setup", &json!({"username": "a b", "password": "longenough"}))).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    let r = env.send(json_req(Method::POST, "/auth/setup", &json!({"username": "ann", "password": "short"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r =
        env.send(json_req(Method::POST, "/auth/setup", &json!({"username": "ann", "password": "ann-password"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["is_admin"], true);
    let (session, full) = r.cookie("session").unwrap();
    assert!(full.contains("HttpOnly") && full.contains("SameSite=Lax") && full.contains("Path=/"), "{full}");
    assert!(!full.contains("Secure"), "no TLS here: {full}");
    assert_eq!(env.send(get("/auth/setup")).await.json()["needed"], false);

    // Setup is closed once a user exists.
    let r =
        env.send(json_req(Method::POST, "/auth/setup", &json!({"username": "eve", "password": "eve-password"}))).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));

    let me = env.send(with_cookie(get("/auth/me"), &format!("session={session}"))).await;
    assert_eq!(me.status, StatusCode::OK);
    let me = me.json();
    assert_eq!(me["username"], "ann");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    for k in ["id", "email", "is_admin"] {
        assert!(me.get(k).is_some(), "{k}");
    }

    let r = env.login("ann", "wrong-password", false).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let r = env.login("nobody", "wrong-password", false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = env.login("ANN", "ann-password", false).await;
    assert_eq!(r.status, StatusCode::OK, "usernames ignore case");
    assert!(r.cookie("remember").is_none());
    let second = r.cookie("session").unwrap().0;
    assert_ne!(second, session);

    // The database keeps only a hash of the token.
    let stored: i64 = env
        .state
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM sessions WHERE token_hash = ?1 OR token_hash = ?2", [&session, &second], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, 0);

    // Logout destroys the session on the server: the old cookie no longer works.
    let out =
        env.send(with_cookie(json_req(Method::POST, "/auth/logout", &json!({})), &format!("session={second}"))).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.cookie("session").unwrap().1.contains("Max-Age=0"));
    let r = env.send(with_cookie(get("/auth/me"), &format!("session={second}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The other session lives on.
    assert_eq!(env.send(with_cookie(get("/auth/me"), &format!("session={session}"))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn secure_cookie_behind_tls_proxy() {
    let env = env_with(|c| c.auth.behind_tls_proxy = true).await;
    env.add_user("ann", "ann-password", true);
    let r = env.login("ann", "ann-password", true).await;
    assert!(r.cookie("session").unwrap().1.contains("; Secure"));
    assert!(r.cookie("remember").unwrap().1.contains("; Secure"));
}

#[tokio::test]
async fn sessions_slide_up_to_the_absolute_cap() {
    let env = env_with(|c| {
        c.auth.session_idle_minutes = 60;
        c.auth.session_absolute_hours = 5;
    })
    .await;
    env.add_user("ann", "ann-password", false);
    let s = env.login("ann", "ann-password", false).await.cookie("session").unwrap().0;
    let me = || with_cookie(get("/auth/me"), &format!("session={s}"));
    // Requests every 50 minutes keep it alive past the idle timeout ...
    for _ in 0..5 {
        env.clock.advance_secs(50 * 60);
        assert_eq!(env.send(me()).await.status, StatusCode::OK);
    }
    // ... (250 minutes in) but not past the absolute cap of 5 hours.
    env.clock.advance_secs(49 * 60);
    assert_eq!(env.send(me()).await.status, StatusCode::OK);
    env.clock.advance_secs(2 * 60);
    assert_eq!(env.send(me()).await.status, StatusCode::UNAUTHORIZED, "past the absolute cap");

    // A session idle for the timeout ends.
    let s2 = env.login("ann", "ann-password", false).await.cookie("session").unwrap().0;
    let me2 = || with_cookie(get("/auth/me"), &format!("session={s2}"));
    env.clock.advance_secs(59 * 60);
    assert_eq!(env.send(me2()).await.status, StatusCode::OK);
    env.clock.advance_secs(60 * 60);
    assert_eq!(env.send(me2()).await.status, StatusCode::UNAUTHORIZED, "idle too long");
}

#[test]
fn absolute_cap_is_below_seven_days() {
    let mut c = swarmcast::config::Config::default();
    assert!(c.auth.session_absolute_hours < 7 * 24);
    c.auth.session_absolute_hours = 168;
    assert!(c.validate().is_err());
}

#[tokio::test]
async fn remember_me_rotates_and_detects_theft() {
    let env = env_with(|c| c.auth.session_idle_minutes = 30).await;
    env.add_user("ann", "ann-password", false);
    let r = env.login("ann", "ann-password", true).await;
    let (remember1, full) = r.cookie("remember").unwrap();
    assert!(full.contains("HttpOnly") && full.contains("Max-Age="), "{full}");

    // The session idles out; the remember cookie opens a new one and rotates.
    env.clock.advance_secs(31 * 60);
    let r = env.send(with_cookie(get("/auth/me"), &format!("session=gone; remember={remember1}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let remember2 = r.cookie("remember").expect("rotated").0;
    let session2 = r.cookie("session").expect("new session").0;
    assert_ne!(remember1, remember2);
    assert_eq!(remember1.split(':').next(), remember2.split(':').next(), "same series");
    assert_eq!(env.send(with_cookie(get("/auth/me"), &format!("session={session2}"))).await.status, StatusCode::OK);

    // The stored token is a hash, not the cookie's token.
    let token2 = remember2.split(':').nth(1).unwrap().to_string();
    let plain: i64 = env
        .state
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM remember_tokens WHERE token_hash = ?1", [&token2], |r| r.get(0))
        .unwrap();
    assert_eq!(plain, 0);

    // Requests the browser sent at the same time with the old cookie still pass,
    // for a few seconds, without another rotation.
    env.clock.advance_secs(2);
    let r = env.send(with_cookie(get("/auth/me"), &format!("remember={remember1}"))).await;
    assert_eq!(r.status, StatusCode::OK, "rotation grace");
    assert!(r.cookie("remember").is_none() && r.cookie("session").is_some());

    // Later, a thief replays the old cookie: refused, and the whole series dies,
    // with the session it made.
    env.clock.advance_secs(60);
    let r = env.send(with_cookie(get("/auth/me"), &format!("remember={remember1}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = env.send(with_cookie(get("/auth/me"), &format!("remember={remember2}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the series is revoked");
    let r = env.send(with_cookie(get("/auth/me"), &format!("session={session2}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the series' session is revoked");
}

#[tokio::test]
async fn password_change_ends_other_sessions() {
    let env = env().await;
    env.add_user("ann", "ann-password", false);
    let a = env.login("ann", "ann-password", false).await.cookie("session").unwrap().0;
    let b = env.login("ann", "ann-password", true).await.cookie("session").unwrap().0;
    let r = env
        .send(with_cookie(
            json_req(
                Method::PATCH,
                "/auth/password",
                &json!({"current_password": "wrong-one", "new_password": "new-password"}),
            ),
            &format!("session={a}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = env
        .send(with_cookie(
            json_req(
                Method::PATCH,
                "/auth/password",
                &json!({"current_password": "ann-password", "new_password": "new-password"}),
            ),
            &format!("session={a}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(env.send(with_cookie(get("/auth/me"), &format!("session={a}"))).await.status, StatusCode::OK);
    assert_eq!(env.send(with_cookie(get("/auth/me"), &format!("session={b}"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.login("ann", "ann-password", false).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.login("ann", "new-password", false).await.status, StatusCode::OK);
}

#[tokio::test]
async fn register_and_admin_user_management() {
    let env = env().await;
    let admin = env.setup_admin("root", "root-password").await;
    let ck = format!("session={admin}");
    let body = json!({"username": "bob", "password": "bob-password", "email": "bob@example.net"});
    // Without credentials, registration is closed.
    let r = env.send(json_req(Method::POST, "/auth/register", &body)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = env.send(with_cookie(json_req(Method::POST, "/auth/register", &body), &ck)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let bob_id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["is_admin"], false);
    let r = env.send(with_cookie(json_req(Method::POST, "/auth/register", &body), &ck)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::CONFLICT, "CONFLICT"));

    let bob = env.login("bob", "bob-password", false).await.cookie("session").unwrap().0;
    let bck = format!("session={bob}");
    // Plain users may not manage users or register others.
    assert_eq!(env.send(with_cookie(get("/api/users"), &bck)).await.status, StatusCode::FORBIDDEN);
    let r = env
        .send(with_cookie(
            json_req(Method::POST, "/auth/register", &json!({"username": "x", "password": "x-password"})),
            &bck,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let users = env.send(with_cookie(get("/api/users"), &ck)).await.json();
    assert_eq!(users.as_array().unwrap().len(), 2);
    // The admin resets bob's password: bob's sessions end.
    let r = env
        .send(with_cookie(
            json_req(Method::PATCH, &format!("/api/users/{bob_id}"), &json!({"password": "reset-password"})),
            &ck,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(env.send(with_cookie(get("/auth/me"), &bck)).await.status, StatusCode::UNAUTHORIZED);
    // The last admin cannot be demoted or deleted.
    let root_id = users[0]["id"].as_i64().unwrap();
    let r = env
        .send(with_cookie(json_req(Method::PATCH, &format!("/api/users/{root_id}"), &json!({"is_admin": false})), &ck))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let del = |id: i64| with_cookie(req(Method::DELETE, &format!("/api/users/{id}")).body(Body::empty()).unwrap(), &ck);
    assert_eq!(env.send(del(root_id)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(env.send(del(bob_id)).await.status, StatusCode::OK);
    assert_eq!(env.send(del(bob_id)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(env.login("bob", "reset-password", false).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn open_registration_makes_plain_users_only() {
    let env = env_with(|c| c.auth.open_registration = true).await;
    env.add_user("root", "root-password", true);
    let r = env
        .send(json_req(Method::POST, "/auth/register", &json!({"username": "guest", "password": "guest-password"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["is_admin"], false);
    let r = env
        .send(json_req(
            Method::POST,
            "/auth/register",
            &json!({"username": "evil", "password": "evil-password", "is_admin": true}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_manage_only_their_own_torrents() {
    let env = env().await;
    let admin = env.setup_admin("root", "root-password").await;
    env.add_user("bob", "bob-password", false);
    env.add_user("carol", "carol-password", false);
    let bob = format!("session={}", env.login("bob", "bob-password", false).await.cookie("session").unwrap().0);
    let carol = format!("session={}", env.login("carol", "carol-password", false).await.cookie("session").unwrap().0);
    let hash = "179b3b176a2df09e1d1deee9b52e78ad85ec270c";
    let r = env
        .send(with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"info_hash": hash, "start": false})), &bob))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let stop = |ck: &str| with_cookie(json_req(Method::POST, &format!("/api/torrents/{hash}/stop"), &json!({})), ck);
    // Carol can see the shared library but not change bob's torrent.
    assert_eq!(env.send(with_cookie(get(&format!("/api/torrents/{hash}")), &carol)).await.status, StatusCode::OK);
    let r = env.send(stop(&carol)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let r = env
        .send(with_cookie(
            req(Method::DELETE, &format!("/api/torrents/{hash}"))
                .header("x-requested-with", "fetch")
                .body(Body::empty())
                .unwrap(),
            &carol,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("owner"), "{}", r.json());
    assert_eq!(env.send(stop(&bob)).await.status, StatusCode::OK);
    assert_eq!(env.send(stop(&format!("session={admin}"))).await.status, StatusCode::OK);
    let r = env
        .send(with_cookie(
            req(Method::DELETE, &format!("/api/torrents/{hash}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::empty())
                .unwrap(),
            &format!("session={admin}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
