//! The guard: rate limits, login brute force, Host, cross-site posts, bypass, CORS.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::fixture::router::*;

#[tokio::test]
async fn rate_limits_per_address_and_class() {
    let env = env_with(|c| {
        c.auth.rate_limit.reads_per_min = 10;
        c.auth.rate_limit.writes_per_min = 3;
        c.auth.rate_limit.announces_per_min = 4;
    })
    .await;
    let a = "10.1.1.1:5000";
    for i in 0..10 {
        assert_eq!(env.send_from(a, get("/api/health")).await.status, StatusCode::OK, "read {i}");
    }
    let r = env.send_from(a, get("/api/health")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"));
    let retry: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    // Another address has its own budget; so does another class.
    assert_eq!(env.send_from("10.1.1.2:5000", get("/api/health")).await.status, StatusCode::OK);
    for _ in 0..3 {
        let r = env.send_from(a, json_req(Method::POST, "/api/torrents", &json!({}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = env.send_from(a, json_req(Method::POST, "/api/torrents", &json!({}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Stream segments and raw file streaming are never limited.
    for _ in 0..30 {
        let r = env.send_from(a, get("/api/stream/179b3b176a2df09e1d1deee9b52e78ad85ec270c/seg-00001.ts")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = env.send_from(a, get("/api/torrents/179b3b176a2df09e1d1deee9b52e78ad85ec270c/files/0")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Tracker announces have their own class (no Host check there).
    for _ in 0..4 {
        let r = env
            .send_from(
                "10.1.1.3:6000",
                req_host(Method::GET, "/announce", "whatever.example").body(Body::empty()).unwrap(),
            )
            .await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_ne!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(env.send_from("10.1.1.3:6000", get("/announce")).await.status, StatusCode::TOO_MANY_REQUESTS);
    // The window refills.
    env.clock.advance_secs(60);
    assert_eq!(env.send_from(a, get("/api/health")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn login_brute_force_is_slowed_per_username_and_address() {
    let env = env().await;
    env.add_user("owner", "owner-password", true);
    let guest = "192.168.1.66:40000";
    let owner_pc = "192.168.1.10:40000";
    let login = |pw: &str| json_req(Method::POST, "/auth/login", &json!({"username": "owner", "password": pw}));
    for i in 0..5 {
        let r = env.send_from(guest, login(&format!("guess-{i}-xx"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The sixth try within five minutes is refused before the password is checked,
    // even with the right password.
    let r = env.send_from(guest, login("owner-password")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"));
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // The owner, from another address, is not locked out.
    assert_eq!(env.send_from(owner_pc, login("owner-password")).await.status, StatusCode::OK);
    // The guest may try another account name (its own budget), but still slowly.
    let r = env
        .send_from(
            guest,
            json_req(Method::POST, "/auth/login", &json!({"username": "Owner", "password": "x-password"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "usernames are compared without case");
    // One attempt comes back per minute.
    env.clock.advance_secs(61);
    assert_eq!(env.send_from(guest, login("owner-password")).await.status, StatusCode::OK);
    assert_eq!(env.send_from(guest, login("owner-password")).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn foreign_host_is_refused() {
    let env = env_with(|c| c.auth.allowed_hosts = vec!["box.example.net".into()]).await;
    let with_host = |h: &str, path: &str| req_host(Method::GET, path, h).body(Body::empty()).unwrap();
    for bad in ["evil.example", "evil.example:6991", "rebind.attacker.net:6991"] {
        let r = env.send(with_host(bad, "/api/health")).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{bad}");
        assert_eq!(env.send(with_host(bad, "/")).await.status, StatusCode::FORBIDDEN, "web UI too: {bad}");
        assert_eq!(env.send(with_host(bad, "/auth/login")).await.status, StatusCode::FORBIDDEN);
    }
    for good in [
        "localhost:6991",
        "127.0.0.1:6991",
        "192.168.1.20:6991",
        "[::1]:6991",
        "swarmcast.local:6991",
        "box.example.net",
    ] {
        assert_eq!(env.send(with_host(good, "/api/health")).await.status, StatusCode::OK, "{good}");
    }
    // Two Host headers, one of them foreign: refused.
    let two = req(Method::GET, "/api/health").header(header::HOST, "evil.example").body(Body::empty()).unwrap();
    assert_eq!(env.send(two).await.status, StatusCode::FORBIDDEN);
    // The tracker answers any Host (torrent clients announce by whatever name).
    assert_ne!(env.send(with_host("evil.example", "/announce")).await.status, StatusCode::FORBIDDEN);
    assert_ne!(env.send(with_host("evil.example", "/scrape")).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_site_form_post_fails() {
    let env = env().await;
    let s = format!("session={}", env.setup_admin("root", "root-password").await);
    let hash = "179b3b176a2df09e1d1deee9b52e78ad85ec270c";
    // What a hostile page's <form method=post> sends: a form body, the cookie, its Origin.
    let form = |origin: Option<&str>, ct: &str| {
        let mut b = req(Method::POST, "/api/torrents/").header(header::CONTENT_TYPE, ct).header(header::COOKIE, &s);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::from(format!("info_hash={hash}"))).unwrap()
    };
    for ct in ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"] {
        let r = env.send(form(Some("http://evil.example"), ct)).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{ct}");
        let r = env.send(form(None, ct)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{ct} without Origin");
    }
    // JSON from a foreign origin is refused too (it could only come through CORS).
    let mut r = with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"info_hash": hash})), &s);
    r.headers_mut().insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(env.send(r).await.status, StatusCode::FORBIDDEN);
    let mut r = with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"info_hash": hash})), &s);
    r.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(env.send(r).await.status, StatusCode::FORBIDDEN);
    assert!(env.state.engine.list().unwrap().is_empty(), "nothing was added");
    // The web UI's own request: JSON, same origin.
    let mut r = with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"info_hash": hash, "start": false})), &s);
    r.headers_mut().insert(header::ORIGIN, "http://localhost:6991".parse().unwrap());
    let r = env.send(r).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    // A form-free state change (no body) passes with the custom header.
    let r = with_cookie(
        req(Method::POST, &format!("/api/torrents/{hash}/stop"))
            .header("x-requested-with", "swarmcast")
            .body(Body::empty())
            .unwrap(),
        &s,
    );
    assert_eq!(env.send(r).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bypass_is_off_by_default_and_scoped_when_on() {
    let env = env().await;
    assert_eq!(env.send_from("127.0.0.1:1", get("/api/stats")).await.status, StatusCode::UNAUTHORIZED);

    let env = env_with(|c| {
        c.auth.bypass_localhost = true;
        c.auth.bypass_subnets = vec!["10.9.0.0/16".into()];
    })
    .await;
    assert_eq!(env.send_from("127.0.0.1:1", get("/api/stats")).await.status, StatusCode::OK);
    assert_eq!(env.send_from("[::1]:1", get("/api/stats")).await.status, StatusCode::OK);
    assert_eq!(env.send_from("10.9.3.4:1", get("/api/users")).await.status, StatusCode::OK);
    assert_eq!(env.send_from("10.8.3.4:1", get("/api/stats")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.send_from("192.168.1.5:1", get("/api/stats")).await.status, StatusCode::UNAUTHORIZED);
    let me = env.send_from("127.0.0.1:1", get("/auth/me")).await.json();
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["auth_bypass"], json!({"localhost": true, "subnets": ["10.9.0.0/16"]}), "for the UI's warning");
    // Still no cross-site form posts from a browser on a bypassed machine (it sends
    // its Origin); scripts without one may post any body.
    let form = || req(Method::POST, "/api/torrents/").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let r = form().header(header::ORIGIN, "http://evil.example").body(Body::from("uri=x")).unwrap();
    assert_eq!(env.send_from("127.0.0.1:1", r).await.status, StatusCode::FORBIDDEN);
    let r = form().header("sec-fetch-site", "cross-site").body(Body::from("uri=x")).unwrap();
    assert_eq!(env.send_from("127.0.0.1:1", r).await.status, StatusCode::FORBIDDEN);
    let r = form().body(Body::from("uri=x")).unwrap();
    assert_eq!(env.send_from("127.0.0.1:1", r).await.status, StatusCode::BAD_REQUEST, "past the guard, a bad body");
}

#[tokio::test]
async fn cors_is_off_unless_configured() {
    let preflight = || {
        req(Method::OPTIONS, "/api/stats")
            .header(header::ORIGIN, "http://tv.local:8080")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let env = env().await;
    let r = env.send(preflight()).await;
    assert!(!r.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let r = env
        .send(
            req(Method::GET, "/api/health").header(header::ORIGIN, "http://tv.local:8080").body(Body::empty()).unwrap(),
        )
        .await;
    assert!(!r.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

    let env = env_with(|c| c.auth.cors_origins = vec!["http://tv.local:8080".into()]).await;
    let r = env.send(preflight()).await;
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://tv.local:8080");
    let r = env
        .send(
            req(Method::OPTIONS, "/api/stats")
                .header(header::ORIGIN, "http://evil.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!r.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}
